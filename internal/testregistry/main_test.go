package main

import (
	"bytes"
	_ "embed"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/distribution/distribution/v3/configuration"
)

// defaultConfig is the image's built-in /etc/spectro/config.yml.
//
//go:embed config.yml
var defaultConfig []byte

// TestDefaultConfigParses reads the built-in config with the registry's own
// parser and checks the values the vendor documents for its image.
func TestDefaultConfigParses(t *testing.T) {
	cfg, err := configuration.Parse(bytes.NewReader(defaultConfig))
	if err != nil {
		t.Fatalf("parse config.yml: %v", err)
	}
	if got, want := cfg.HTTP.Addr, ":5000"; got != want {
		t.Errorf("http.addr = %q, want %q", got, want)
	}
	if got, want := cfg.Storage.Type(), "filesystem"; got != want {
		t.Errorf("storage type = %q, want %q", got, want)
	}
	if got, want := cfg.Storage.Parameters()["rootdirectory"], "/data/.spectro-server"; got != want {
		t.Errorf("storage rootdirectory = %v, want %q", got, want)
	}
	if got, want := cfg.Auth.Type(), "htpasswd"; got != want {
		t.Fatalf("auth type = %q, want %q", got, want)
	}
	params := cfg.Auth.Parameters()
	if got, want := params["realm"], "basic-realm"; got != want {
		t.Errorf("auth realm = %v, want %q", got, want)
	}
	if got, want := params["path"], "/auth/htpasswd-basic"; got != want {
		t.Errorf("auth path = %v, want %q", got, want)
	}
	if got := cfg.HTTP.Headers.Get("X-Frame-Options"); got != "DENY" {
		t.Errorf("header X-Frame-Options = %q, want DENY", got)
	}
}

func TestVendorRoutes(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		target     string
		wantStatus int
		wantBody   string
		wantType   string
		// wantNext is the request URI the registry's handler must see, or
		// "" when the route must answer without it.
		wantNext string
	}{
		{"health", http.MethodGet, "/health", http.StatusOK, `{"status":"UP"}`, "application/json", ""},
		{"health head", http.MethodHead, "/health", http.StatusOK, "", "application/json", ""},
		{"health post", http.MethodPost, "/health", http.StatusMethodNotAllowed, "Method Not Allowed\n", "text/plain; charset=utf-8", ""},
		{"v1 catalog", http.MethodGet, "/v1/_catalog", http.StatusTeapot, "", "", "/v2/_catalog"},
		{"v1 catalog paginated", http.MethodGet, "/v1/_catalog?n=2&last=a%2Fb", http.StatusTeapot, "", "", "/v2/_catalog?n=2&last=a%2Fb"},
		{"v2 untouched", http.MethodGet, "/v2/_catalog", http.StatusTeapot, "", "", "/v2/_catalog"},
		{"health subpath untouched", http.MethodGet, "/health/x", http.StatusTeapot, "", "", "/health/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gotNext string
			next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				gotNext = r.URL.RequestURI()
				if r.RequestURI != gotNext {
					t.Errorf("RequestURI %q disagrees with URL %q", r.RequestURI, gotNext)
				}
				w.WriteHeader(http.StatusTeapot)
			})
			rec := httptest.NewRecorder()
			vendorRoutes(&configuration.Configuration{}, next).ServeHTTP(rec, httptest.NewRequest(tt.method, tt.target, nil))

			if rec.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d", rec.Code, tt.wantStatus)
			}
			if got := rec.Body.String(); got != tt.wantBody {
				t.Errorf("body = %q, want %q", got, tt.wantBody)
			}
			if got := rec.Header().Get("Content-Type"); got != tt.wantType {
				t.Errorf("Content-Type = %q, want %q", got, tt.wantType)
			}
			if gotNext != tt.wantNext {
				t.Errorf("registry handler saw %q, want %q", gotNext, tt.wantNext)
			}
		})
	}
}
