package verify

import (
	"context"
	"crypto/x509"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paxsetup/paxsetup/internal/certgen"
)

// uploadRegistry is registry plus the start of a push: POST
// /v2/<repo>/blobs/uploads/ answers postStatus (202 with a Location, like
// the distribution registry, when it accepts), and DELETE of that Location
// cancels. It records what it was asked.
type uploadRegistry struct {
	registry
	postStatus int

	mu      sync.Mutex
	posts   []string // path, as user
	deletes []string // path?query, as user
}

const uploadLocation = "/v2/" + ScratchRepo + "/blobs/uploads/5f1c?_state=signed"

func (reg *uploadRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/v2/") {
		reg.registry.ServeHTTP(w, r)
		return
	}
	u, p, ok := r.BasicAuth()
	if !ok || reg.users[u] == "" || reg.users[u] != p {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	reg.mu.Lock()
	defer reg.mu.Unlock()
	switch r.Method {
	case http.MethodPost:
		reg.posts = append(reg.posts, r.URL.Path+" as "+u)
		if reg.postStatus == http.StatusAccepted {
			// Absolute, with a host the client cannot reach: the cancel
			// must still go to the endpoint.
			w.Header().Set("Location", "https://proxy.invalid:1"+uploadLocation)
		}
		w.WriteHeader(reg.postStatus)
	case http.MethodDelete:
		reg.deletes = append(reg.deletes, r.URL.RequestURI()+" as "+u)
		w.WriteHeader(http.StatusNoContent)
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

func TestRunProbesSecondUserWrite(t *testing.T) {
	const admin, adminPW, reader, readerPW = "admin", "right-password", "spectro", "reader-password"
	users := map[string]string{admin: adminPW, reader: readerPW}
	ca := newCA(t, "paxsetup CA")
	leaf := issue(t, ca, certgen.LeafOptions{Host: "registry.local", SANs: []string{"127.0.0.1"}})
	probePath := "/v2/" + ScratchRepo + "/blobs/uploads/ as " + reader

	tests := []struct {
		name        string
		postStatus  int
		noReader    bool
		wantStatus  Status
		wantDetail  []string
		wantDeletes []string
	}{
		{name: "registry lets every user write", postStatus: http.StatusAccepted, wantStatus: Warn,
			wantDetail:  []string{CanWrite, "202", "cancelled at once: no blob, manifest or tag stored"},
			wantDeletes: []string{uploadLocation + " as " + reader}},
		{name: "forbidden", postStatus: http.StatusForbidden, wantStatus: OK, wantDetail: []string{CannotWrite, "403"}},
		{name: "unauthorized for pushes", postStatus: http.StatusUnauthorized, wantStatus: OK, wantDetail: []string{CannotWrite, "401"}},
		{name: "method not allowed (a read-only mirror)", postStatus: http.StatusMethodNotAllowed, wantStatus: OK, wantDetail: []string{CannotWrite, "405"}},
		{name: "server error tells nothing", postStatus: http.StatusInternalServerError, wantStatus: Warn,
			wantDetail: []string{"could not find out", "500"}},
		{name: "no second user, no probe", postStatus: http.StatusAccepted, noReader: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := &uploadRegistry{registry: registry{users: users}, postStatus: tt.postStatus}
			srv := tlsServer(t, reg, leaf)
			opts := Options{Endpoint: "https://registry.local:" + port(srv), DialAddr: srv.Listener.Addr().String(),
				RootCAs: pool(ca.Cert), SystemRoots: x509.NewCertPool(), Timeout: time.Second,
				User: admin, Password: adminPW}
			if !tt.noReader {
				opts.ReaderUser, opts.ReaderPassword = reader, readerPW
			}
			rep := Run(context.Background(), opts)
			if !rep.OK() {
				t.Fatalf("a write probe never fails verify: %+v", rep.Checks)
			}
			c, found := rep.Find(CheckWriteAs + reader)
			reg.mu.Lock()
			defer reg.mu.Unlock()
			if tt.noReader {
				if found || len(reg.posts) != 0 {
					t.Fatalf("probed without a second user: %+v, posts %v", c, reg.posts)
				}
				return
			}
			if !found {
				t.Fatalf("no %q check: %+v", CheckWriteAs+reader, rep.Checks)
			}
			if c.Status != tt.wantStatus {
				t.Errorf("status = %s, want %s: %+v", c.Status, tt.wantStatus, c)
			}
			for _, w := range tt.wantDetail {
				if !strings.Contains(c.Detail, w) {
					t.Errorf("detail %q lacks %q", c.Detail, w)
				}
			}
			if len(reg.posts) != 1 || reg.posts[0] != probePath {
				t.Errorf("posts = %v, want one %q", reg.posts, probePath)
			}
			if strings.Join(reg.deletes, "|") != strings.Join(tt.wantDeletes, "|") {
				t.Errorf("deletes = %v, want %v", reg.deletes, tt.wantDeletes)
			}
			// The check comes right after the second user's login.
			for i, cc := range rep.Checks {
				if cc.Name == CheckCatalogAs+reader && (i+1 >= len(rep.Checks) || rep.Checks[i+1].Name != c.Name) {
					t.Errorf("write probe not right after %q: %+v", cc.Name, rep.Checks)
				}
			}
		})
	}
}
