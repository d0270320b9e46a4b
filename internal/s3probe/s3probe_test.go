package s3probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestProbeRequests checks the requests a probe makes, in order: a signed
// list under the prefix, a PUT of one object there and the DELETE of the
// same object. MinIO answering them is proven end to end in cmd/paxsetup.
func TestProbeRequests(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		auth := r.Header.Get("Authorization")
		if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKEXAMPLE/") || !strings.Contains(auth, "/eu-west-1/s3/aws4_request") {
			t.Errorf("%s %s: Authorization %q", r.Method, r.URL, auth)
		}
		if r.Header.Get("X-Amz-Content-Sha256") == "" {
			t.Errorf("%s %s: no X-Amz-Content-Sha256", r.Method, r.URL)
		}
		got = append(got, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
	}))
	defer srv.Close()
	_, err := Probe(context.Background(), srv.Client(), Target{
		Endpoint: srv.URL, Region: "eu-west-1", Bucket: "packs", Prefix: "/registry",
		AccessKey: "AKEXAMPLE", SecretKey: "secret",
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0] != "GET /packs?list-type=2&max-keys=1&prefix=registry%2F" ||
		!strings.HasPrefix(got[1], "PUT /packs/registry/.paxsetup-probe-") ||
		strings.TrimPrefix(got[2], "DELETE ") != strings.TrimPrefix(got[1], "PUT ") {
		t.Errorf("requests = %q", got)
	}
}

// TestProbeErrors maps S3's error answers to the step that failed.
func TestProbeErrors(t *testing.T) {
	s3err := func(status int, code string, hdr map[string]string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			for k, v := range hdr {
				w.Header().Set(k, v)
			}
			w.WriteHeader(status)
			fmt.Fprintf(w, "<?xml version=\"1.0\"?><Error><Code>%s</Code><Message>m</Message></Error>", code)
		}
	}
	tests := []struct {
		name    string
		h       http.HandlerFunc
		want    Step
		wantMsg string
	}{
		{"unknown key", s3err(403, "InvalidAccessKeyId", nil), StepCredentials, "403 InvalidAccessKeyId"},
		{"wrong secret", s3err(403, "SignatureDoesNotMatch", nil), StepCredentials, "SignatureDoesNotMatch"},
		{"no bucket", s3err(404, "NoSuchBucket", nil), StepBucket, "NoSuchBucket"},
		{"other region", s3err(301, "PermanentRedirect", map[string]string{"X-Amz-Bucket-Region": "eu-central-1"}), StepRegion, "PermanentRedirect"},
		{"list denied", s3err(403, "AccessDenied", nil), StepList, "AccessDenied"},
		{"write denied", func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPut {
				s3err(403, "AccessDenied", nil)(w, r)
			}
		}, StepWrite, "PUT s3://packs/.paxsetup-probe-"},
		{"not S3", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "<html>proxy says no</html>", http.StatusBadGateway)
		}, StepReach, "does not answer like S3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.h)
			defer srv.Close()
			_, err := Probe(context.Background(), srv.Client(), Target{Endpoint: srv.URL, Bucket: "packs", AccessKey: "AK", SecretKey: "SK"})
			var pe *Error
			if !errors.As(err, &pe) || pe.Step != tt.want || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("err = %v (%+v), want step %s with %q", err, pe, tt.want, tt.wantMsg)
			}
			if tt.want == StepRegion && pe.Region != "eu-central-1" {
				t.Errorf("region = %q, want the bucket's from X-Amz-Bucket-Region", pe.Region)
			}
		})
	}
}

func TestProbeUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, err = Probe(context.Background(), nil, Target{Endpoint: "http://" + addr, Bucket: "packs", AccessKey: "AK", SecretKey: "SK"})
	var pe *Error
	if !errors.As(err, &pe) || pe.Step != StepReach || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("err = %v, want StepReach with connection refused", err)
	}
}
