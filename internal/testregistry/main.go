// Command testregistry stands in for the vendor's spectro-registry image in
// end-to-end tests, where that image cannot be pulled.
//
// It is the CNCF distribution registry, run through the registry's own
// command line (so "serve CONFIG" and the REGISTRY_* environment overrides
// behave as upstream), plus the two routes the vendor adds: GET /health
// without auth, and GET /v1/_catalog behind the registry's configured auth.
// It has the storage drivers paxsetup configures: filesystem, inmemory and
// s3 (the s3-aws driver, which MinIO answers in the S3 tests).
package main

import (
	"net/http"
	"os"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry"
	_ "github.com/distribution/distribution/v3/registry/auth/htpasswd"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/s3-aws"
)

const (
	healthPath    = "/health"
	v1CatalogPath = "/v1/_catalog"
	v2CatalogPath = "/v2/_catalog"
)

// healthBody is the vendor image's answer on /health.
const healthBody = `{"status":"UP"}`

func main() {
	registry.RegisterHandler(vendorRoutes)
	// The serve command exits the process itself on configuration and
	// listen errors, with the registry's own messages; only cobra's usage
	// errors come back here.
	if err := registry.RootCmd.Execute(); err != nil {
		os.Exit(1)
	}
}

// vendorRoutes adds the vendor's routes in front of the registry's handler.
// /v1/_catalog is served by the registry's own /v2/_catalog route, so the
// configured access controller answers it exactly as it answers v2 clients:
// the same 401 challenge, the same pagination, the same JSON.
func vendorRoutes(_ *configuration.Configuration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case healthPath:
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				w.Header().Set("Allow", "GET, HEAD")
				http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "no-cache")
			w.WriteHeader(http.StatusOK)
			if r.Method == http.MethodGet {
				_, _ = w.Write([]byte(healthBody))
			}
		case v1CatalogPath:
			next.ServeHTTP(w, withPath(r, v2CatalogPath))
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// withPath returns a copy of r addressed to path, keeping the query
// (n= and last= paginate the catalog).
func withPath(r *http.Request, path string) *http.Request {
	r2 := r.Clone(r.Context())
	r2.URL.Path = path
	r2.URL.RawPath = ""
	r2.RequestURI = r2.URL.RequestURI()
	return r2
}
