package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/credentials"
	"github.com/aws/aws-sdk-go/aws/session"
	"github.com/aws/aws-sdk-go/service/s3"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/paxsetup/paxsetup/internal/testregistry/image"
)

// minioImage builds the MinIO image once per test run (and once per
// machine: it is tagged by a hash of its inputs). scripts/test builds it
// before go test; a cold build here compiles MinIO, which takes minutes.
var minioImage = onceImage("MinIO", 30*time.Minute, image.BuildMinIO)

// onceImage returns a function that builds an image with build once per
// test run, within limit, and fails the calling test when that build did.
func onceImage[T any](what string, limit time.Duration, build func(context.Context, *client.Client, io.Writer) (T, error)) func(testing.TB) T {
	var (
		once sync.Once
		img  T
		err  error
	)
	return func(t testing.TB) T {
		t.Helper()
		cli := dockerClient(t)
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), limit)
			defer cancel()
			var log bytes.Buffer
			if img, err = build(ctx, cli, &log); err != nil {
				err = fmt.Errorf("%w\n%s", err, log.String())
			}
		})
		if err != nil {
			t.Fatalf("build the %s image: %v", what, err)
		}
		return img
	}
}

// minioServer is a running MinIO on a test network, with root credentials
// made for the test.
type minioServer struct {
	// Alias is MinIO's name on the test network.
	Alias string
	// InternalURL is where a container on the test network reaches the S3
	// API; HostURL is where the host does, through a loopback port.
	InternalURL, HostURL string
	// AddrURL is MinIO by its address on the test network: the host and
	// the containers on that network both reach it there.
	AddrURL string
	// AccessKey and SecretKey are the root user's S3 keys.
	AccessKey, SecretKey string

	s3 *s3.S3
}

var minioPort = network.MustParsePort(strconv.Itoa(image.MinIOPort) + "/tcp")

// startMinIO runs MinIO on netName under an alias no other test uses,
// publishes its S3 port on a loopback port the engine picks, and waits
// until MinIO says it is ready. The container goes when the test ends.
func startMinIO(t *testing.T, cli *client.Client, netName string) minioServer {
	t.Helper()
	img := minioImage(t)
	m := minioServer{Alias: "minio-" + randomHex(t, 4), AccessKey: "paxtest" + randomHex(t, 8), SecretKey: randomHex(t, 20)}
	m.InternalURL = "http://" + net.JoinHostPort(m.Alias, strconv.Itoa(image.MinIOPort))
	name := uniqueName(t) + "-" + m.Alias
	ctr, addr := runOnNetwork(t, cli, name, &container.Config{
		Image:        img.Ref,
		Env:          []string{image.MinIORootUserEnv + "=" + m.AccessKey, image.MinIORootPasswordEnv + "=" + m.SecretKey},
		ExposedPorts: network.PortSet{minioPort: {}},
	}, &container.HostConfig{
		PortBindings: network.PortMap{minioPort: {{HostIP: netip.MustParseAddr("127.0.0.1")}}},
	}, netName, m.Alias)
	var port string
	for _, b := range ctr.NetworkSettings.Ports[minioPort] {
		port = b.HostPort
	}
	if port == "" {
		t.Fatalf("MinIO publishes no host port for %s", minioPort)
	}
	m.AddrURL = "http://" + net.JoinHostPort(addr.String(), strconv.Itoa(image.MinIOPort))
	m.HostURL = "http://" + net.JoinHostPort("127.0.0.1", port)

	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{Proxy: nil}}
	t.Cleanup(hc.CloseIdleConnections)
	ready := m.HostURL + "/minio/health/ready"
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := hc.Get(ready)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
			err = fmt.Errorf("%s answered %d", ready, resp.StatusCode)
		}
		if time.Now().After(deadline) {
			logs, _ := containerLogs(cli, name)
			t.Fatalf("MinIO was not ready within a minute: %v\n%s", err, logs)
		}
		time.Sleep(100 * time.Millisecond)
	}

	sess, err := session.NewSessionWithOptions(session.Options{
		// Only what is given here: no AWS_* variable or ~/.aws file of the
		// machine running the tests.
		SharedConfigState: session.SharedConfigDisable,
		Config: aws.Config{
			Region:           aws.String("us-east-1"),
			Endpoint:         aws.String(m.HostURL),
			S3ForcePathStyle: aws.Bool(true),
			Credentials:      credentials.NewStaticCredentials(m.AccessKey, m.SecretKey, ""),
			HTTPClient:       hc,
			MaxRetries:       aws.Int(0),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	m.s3 = s3.New(sess)
	// /minio/health/ready can answer before the S3 API serves ("Server
	// not initialized yet"): ready means a signed S3 call succeeds.
	for {
		_, err := m.s3.ListBuckets(&s3.ListBucketsInput{})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			logs, _ := containerLogs(cli, name)
			t.Fatalf("MinIO's S3 API did not serve within a minute: %v\n%s", err, logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return m
}

// CreateBucket makes bucket through the S3 API.
func (m minioServer) CreateBucket(t *testing.T, bucket string) {
	t.Helper()
	if _, err := m.s3.CreateBucketWithContext(t.Context(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("create bucket %s in MinIO: %v", bucket, err)
	}
}

// Keys lists the keys of every object in bucket under prefix, through the
// S3 API.
func (m minioServer) Keys(t *testing.T, bucket, prefix string) []string {
	t.Helper()
	var keys []string
	err := m.s3.ListObjectsV2PagesWithContext(t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)},
		func(page *s3.ListObjectsV2Output, _ bool) bool {
			for _, o := range page.Contents {
				keys = append(keys, aws.StringValue(o.Key))
			}
			return true
		})
	if err != nil {
		t.Fatalf("list %s/%s in MinIO: %v", bucket, prefix, err)
	}
	return keys
}

// randomHex is n random bytes in hex.
func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
