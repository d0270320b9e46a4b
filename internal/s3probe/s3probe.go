// Package s3probe finds out, before a registry is started on it, whether an
// S3 bucket is what the registry needs: reachable, the keys accepted, and
// writable under the registry's key prefix. It makes the requests the
// registry's own S3 driver makes (list, put, delete), signed with AWS
// Signature Version 4 by the AWS SDK's signer.
package s3probe

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Target is the bucket as the registry is configured to use it.
type Target struct {
	// Endpoint is an S3-compatible service's URL (MinIO); empty means AWS,
	// in Region.
	Endpoint string
	Region   string
	Bucket   string
	// Prefix is the registry's root directory in the bucket, e.g.
	// /registry; empty means the bucket's root.
	Prefix string
	// AccessKey and SecretKey sign the requests.
	AccessKey, SecretKey string
}

// Step is what a probe found wrong, in the order it finds out.
type Step string

// Steps of a probe.
const (
	StepReach       Step = "reach"       // no HTTP answer from the service
	StepCredentials Step = "credentials" // the keys are refused
	StepRegion      Step = "region"      // the bucket is in another region
	StepBucket      Step = "bucket"      // no such bucket
	StepList        Step = "list"        // the keys may not list the bucket
	StepWrite       Step = "write"       // the keys may not write or delete
)

// Error is a failed probe: the step, and what the service said.
type Error struct {
	Step Step
	// Request is what was asked, e.g. "PUT s3://packs/registry/x".
	Request string
	// Status is the HTTP status; 0 when none came.
	Status int
	// Code and Message are S3's error code and text, when it sent them;
	// Region is the bucket's region, when S3 told it.
	Code, Message, Region string
	Err                   error
}

func (e *Error) Error() string {
	switch {
	case e.Err != nil:
		return fmt.Sprintf("%s: %v", e.Request, e.Err)
	case e.Code != "":
		msg := e.Code
		if e.Message != "" {
			msg += ": " + e.Message
		}
		return fmt.Sprintf("%s: %d %s", e.Request, e.Status, msg)
	}
	return fmt.Sprintf("%s: HTTP %d", e.Request, e.Status)
}

func (e *Error) Unwrap() error { return e.Err }

// Result is what a successful probe did.
type Result struct {
	// URL is the bucket's URL the probe used.
	URL string
	// Took is the probe's wall time.
	Took time.Duration
}

// DefaultRegion is what the registry's driver signs with when no region is
// given with an endpoint.
const DefaultRegion = "us-east-1"

// Probe lists the bucket under the prefix, writes a small object there and
// deletes it again. client may be nil for http.DefaultClient. The object's
// name starts with .paxsetup-probe- and is removed before Probe returns; a
// failed delete is reported as StepWrite, naming the object.
func Probe(ctx context.Context, client *http.Client, t Target) (Result, error) {
	start := time.Now()
	if client == nil {
		client = http.DefaultClient
	}
	if t.Region == "" {
		t.Region = DefaultRegion
	}
	base, err := bucketURL(t)
	if err != nil {
		return Result{}, err
	}
	res := Result{URL: base.String()}
	prefix := strings.Trim(t.Prefix, "/")
	if prefix != "" {
		prefix += "/"
	}

	list := *base
	q := url.Values{"list-type": {"2"}, "max-keys": {"1"}, "prefix": {prefix}}
	list.RawQuery = q.Encode()
	if err := do(ctx, client, t, http.MethodGet, &list, nil, "list s3://"+t.Bucket+"/"+prefix, StepList); err != nil {
		return res, err
	}

	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	key := prefix + ".paxsetup-probe-" + hex.EncodeToString(rnd[:])
	obj := base.JoinPath(key)
	body := []byte("paxsetup preflight: this object is deleted at once\n")
	if err := do(ctx, client, t, http.MethodPut, obj, body, "PUT s3://"+t.Bucket+"/"+key, StepWrite); err != nil {
		return res, err
	}
	// The delete runs even when ctx is done: the object must not stay.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := do(dctx, client, t, http.MethodDelete, obj, nil, "DELETE s3://"+t.Bucket+"/"+key, StepWrite); err != nil {
		return res, err
	}
	res.Took = time.Since(start)
	return res, nil
}

// bucketURL is the bucket's URL: path style on an endpoint (as the registry
// is configured with one: forcepathstyle), virtual-hosted on AWS.
func bucketURL(t Target) (*url.URL, error) {
	if t.Endpoint != "" {
		u, err := url.Parse(t.Endpoint)
		if err != nil || u.Host == "" {
			return nil, &Error{Step: StepReach, Request: t.Endpoint, Err: fmt.Errorf("not a URL: %v", err)}
		}
		return u.JoinPath(t.Bucket), nil
	}
	return &url.URL{Scheme: "https", Host: t.Bucket + ".s3." + t.Region + ".amazonaws.com", Path: "/"}, nil
}

// s3Error is the XML body of an S3 error answer.
type s3Error struct {
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
	Region  string `xml:"Region"`
}

func do(ctx context.Context, client *http.Client, t Target, method string, u *url.URL, body []byte, what string, deniedStep Step) error {
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return &Error{Step: StepReach, Request: what, Err: err}
	}
	if body == nil {
		req.Body, req.GetBody, req.ContentLength = http.NoBody, nil, 0
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", hash)
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	creds := aws.Credentials{AccessKeyID: t.AccessKey, SecretAccessKey: t.SecretKey}
	if err := signer.SignHTTP(ctx, creds, req, hash, "s3", t.Region, time.Now()); err != nil {
		return &Error{Step: StepReach, Request: what, Err: err}
	}
	// A redirect from S3 means another region: it is reported, not followed.
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		return &Error{Step: StepReach, Request: what, Err: unwrapURL(err)}
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	e := &Error{Request: what, Status: resp.StatusCode}
	var se s3Error
	if xml.Unmarshal(data, &se) == nil {
		e.Code, e.Message, e.Region = se.Code, se.Message, se.Region
	}
	if e.Region == "" {
		e.Region = resp.Header.Get("X-Amz-Bucket-Region")
	}
	switch {
	case e.Code == "InvalidAccessKeyId" || e.Code == "SignatureDoesNotMatch" || e.Code == "InvalidToken" || e.Code == "ExpiredToken":
		e.Step = StepCredentials
	case e.Code == "NoSuchBucket":
		e.Step = StepBucket
	case e.Code == "PermanentRedirect" || e.Code == "AuthorizationHeaderMalformed" || e.Code == "IllegalLocationConstraintException" ||
		resp.StatusCode == http.StatusMovedPermanently || (e.Region != "" && e.Region != t.Region):
		e.Step = StepRegion
	case resp.StatusCode == http.StatusForbidden:
		e.Step = deniedStep
	default:
		e.Step = deniedStep
		if e.Code == "" {
			e.Step = StepReach
			e.Err = fmt.Errorf("HTTP %d from something that does not answer like S3: %s", resp.StatusCode, firstLine(data))
		}
	}
	return e
}

func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func firstLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	if s == "" {
		return "(empty body)"
	}
	return s
}
