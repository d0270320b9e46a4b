package verify

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/paxsetup/paxsetup/internal/htpasswd"
)

// speaksHTTPS recognises a TLS server answering a plain HTTP request: Go
// servers (the registry) answer 400 "Client sent an HTTP request to an HTTPS
// server", nginx "The plain HTTP request was sent to HTTPS port", and a bare
// TLS stack a TLS alert record (0x15 0x03) that the HTTP client cannot parse.
func speaksHTTPS(a answer) bool {
	if a.err != nil {
		return strings.Contains(a.err.Error(), `malformed HTTP response "\x15\x03`)
	}
	return a.status == http.StatusBadRequest && bytes.Contains(bytes.ToLower(a.body), []byte("https"))
}

// plainHTTP checks an http:// endpoint: that the server does not in fact
// speak TLS, and that running without it is a choice.
func (r *runner) plainHTTP(health answer) Check {
	if speaksHTTPS(health) {
		https := *r.u
		https.Scheme = "https"
		return Check{Name: CheckTLS, Status: Fail,
			Detail: "the server speaks HTTPS on this port, but the endpoint says http://",
			Fix:    fmt.Sprintf("use --endpoint %s", https.String())}
	}
	return Check{Name: CheckTLS, Status: Warn,
		Detail: "plain HTTP: passwords and packs cross the network unencrypted (lab use only)",
		Fix:    "serve TLS: paxsetup init --mode selfsigned (or letsencrypt, custom)"}
}

func (r *runner) checkHealth(a answer) Check {
	after := ""
	if a.waited >= time.Second {
		after = fmt.Sprintf(" (after %s)", a.waited.Round(100*time.Millisecond))
	}
	switch {
	case a.err != nil:
		detail, fix := Diagnose(a.err, r.u, r.opts)
		if a.timedOut {
			detail = fmt.Sprintf("no answer within %s: %s", a.waited.Round(time.Millisecond), detail)
		}
		return Check{Name: CheckHealth, Status: Fail, Detail: "GET /health: " + detail, Fix: fix}
	case a.status == http.StatusOK && healthUp(a.body):
		return Check{Name: CheckHealth, Status: OK, Detail: `GET /health: 200 {"status":"UP"}` + after}
	case a.status == http.StatusOK:
		return Check{Name: CheckHealth, Status: Warn,
			Detail: fmt.Sprintf(`GET /health answered 200 but not {"status":"UP"}: %.80q`, a.body),
			Fix:    "the registry reports a problem: check `docker logs " + r.containerName() + "`"}
	case a.status == http.StatusNotFound:
		return Check{Name: CheckHealth, Status: Fail,
			Detail: "GET /health: 404: the server on this port has no /health: it is not a pack registry (a plain distribution registry serves only /v2/)",
			Fix:    "run the spectro-registry image (--image), or point --endpoint at the pack registry"}
	case a.timedOut:
		return Check{Name: CheckHealth, Status: Fail,
			Detail: fmt.Sprintf("GET /health answered %d, not 200, for %s", a.status, a.waited.Round(time.Millisecond)),
			Fix:    "the registry is not ready or a proxy in front of it fails: check `docker logs " + r.containerName() + "`"}
	}
	return Check{Name: CheckHealth, Status: Fail,
		Detail: fmt.Sprintf("GET /health answered %d, want 200", a.status),
		Fix:    "the server on this port is not a pack registry, or it is misconfigured: check `docker logs " + r.containerName() + "`"}
}

func healthUp(body []byte) bool {
	var h struct{ Status string }
	return json.Unmarshal(body, &h) == nil && strings.EqualFold(h.Status, "UP")
}

func (r *runner) checkAuthRequired(a answer) Check {
	switch {
	case a.err != nil:
		detail, fix := Diagnose(a.err, r.u, r.opts)
		return Check{Name: CheckAuthRequired, Status: Fail, Detail: "GET /v1/_catalog: " + detail, Fix: fix}
	case a.status == http.StatusUnauthorized:
		return Check{Name: CheckAuthRequired, Status: OK, Detail: "GET /v1/_catalog without credentials: 401"}
	case a.status == http.StatusNotFound:
		return notPackRegistry(CheckAuthRequired)
	case a.status == http.StatusOK:
		return Check{Name: CheckAuthRequired, Status: Fail, Detail: "GET /v1/_catalog answers 200 without credentials: anyone can read the packs",
			Fix: "turn on htpasswd auth (REGISTRY_AUTH=htpasswd): re-run paxsetup init"}
	}
	return Check{Name: CheckAuthRequired, Status: Fail, Detail: fmt.Sprintf("GET /v1/_catalog without credentials: %d, want 401", a.status),
		Fix: "check `docker logs " + r.containerName() + "`"}
}

func (r *runner) checkLogin(ctx context.Context, user, password string) Check {
	name := CheckCatalogAs + user
	a := r.get(ctx, r.u.JoinPath("/v1/_catalog").String(), user, password)
	switch {
	case a.err != nil:
		detail, fix := Diagnose(a.err, r.u, r.opts)
		return Check{Name: name, Status: Fail, Detail: "GET /v1/_catalog: " + detail, Fix: fix}
	case a.status == http.StatusOK:
		var cat struct{ Repositories []string }
		n := ""
		if json.Unmarshal(a.body, &cat) == nil {
			n = fmt.Sprintf(" (%d repositories)", len(cat.Repositories))
			if len(cat.Repositories) == 1 {
				n = " (1 repository)"
			}
		}
		return Check{Name: name, Status: OK, Detail: "GET /v1/_catalog as " + user + ": 200" + n}
	case a.status == http.StatusUnauthorized:
		detail, fix := r.diagnose401(user, password)
		return Check{Name: name, Status: Fail, Detail: detail, Fix: fix}
	case a.status == http.StatusNotFound:
		return notPackRegistry(name)
	}
	return Check{Name: name, Status: Fail, Detail: fmt.Sprintf("GET /v1/_catalog as %s: %d, want 200", user, a.status),
		Fix: "check `docker logs " + r.containerName() + "`"}
}

func notPackRegistry(name string) Check {
	return Check{Name: name, Status: Fail,
		Detail: "GET /v1/_catalog: 404: this is not a pack registry (a plain distribution registry serves only /v2/)",
		Fix:    "run the spectro-registry image (--image), or point --endpoint at the pack registry"}
}

// diagnose401 explains a refused login. With the registry's htpasswd file at
// hand it tells a wrong password from a missing user and from an entry the
// registry ignores because it is not bcrypt.
func (r *runner) diagnose401(user, password string) (detail, fix string) {
	refused := fmt.Sprintf("user %q was refused (401)", user)
	reset := "set the password again with bcrypt: re-run paxsetup init with --force or the password file"
	file := r.opts.HtpasswdFile
	if file == "" {
		return refused + ": wrong password, a user missing from the registry's htpasswd file, or a non-bcrypt entry the registry ignores",
			reset + "; or check the registry's htpasswd file"
	}
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Sprintf("%s: %s does not exist, so the registry knows no user", refused, file),
			"re-run paxsetup init: it writes the file"
	}
	if err != nil {
		return fmt.Sprintf("%s; %v", refused, err), reset
	}
	line, users := htpasswdLine(data, user)
	if line == "" {
		has := "no user"
		if len(users) > 0 {
			has = strings.Join(users, ", ")
		}
		return fmt.Sprintf("%s: %s has no entry for %q (it has: %s)", refused, file, user, has),
			fmt.Sprintf("use one of those users, or add %q: paxsetup init --reader-user/--admin-user", user)
	}
	f, err := htpasswd.Parse(strings.NewReader(line))
	if errors.Is(err, htpasswd.ErrNotBcrypt) {
		return fmt.Sprintf("%s: its entry in %s is not bcrypt, and the registry ignores any other hash (%v)", refused, file, err),
			reset
	}
	if err != nil {
		return fmt.Sprintf("%s: its entry in %s is broken (%v)", refused, file, err), reset
	}
	switch err := f.Verify(user, password); {
	case errors.Is(err, htpasswd.ErrMismatch):
		return fmt.Sprintf("%s: wrong password: it does not match the entry for %q in %s", refused, user, file),
			"use the password set for this user (see the setup's credentials file or your password file), or set a new one: paxsetup init --force"
	case err != nil:
		return fmt.Sprintf("%s: %v", refused, err), reset
	}
	return fmt.Sprintf("%s, although the password matches its entry in %s: the registry reads another file, or has not seen the change", refused, file),
		fmt.Sprintf("check the /auth mount of the container and restart it: docker restart %s", r.containerName())
}

// htpasswdLine finds user's line as the registry reads the file (trimmed,
// the last entry wins), and lists the users present.
func htpasswdLine(data []byte, user string) (string, []string) {
	var found string
	var users []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		t := strings.TrimSpace(sc.Text())
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		u, _, ok := strings.Cut(t, ":")
		if !ok {
			continue
		}
		users = append(users, u)
		if u == user {
			found = t
		}
	}
	return found, users
}

// securityHeaders are what the image's default config sets on every
// registry response (http.headers); a config file passed to serve replaces
// that default and may drop them.
var securityHeaders = []struct{ name, want string }{
	{"X-Content-Type-Options", "nosniff"},
	{"X-Frame-Options", "DENY"},
	{"Strict-Transport-Security", ""},
}

func (r *runner) checkHeaders(a answer) Check {
	if a.header == nil {
		return Check{Name: CheckHeaders, Status: Warn, Detail: "no response to check the headers of"}
	}
	var missing, present []string
	for _, h := range securityHeaders {
		if h.name == "Strict-Transport-Security" && r.u.Scheme != "https" {
			continue
		}
		got := a.header.Get(h.name)
		switch {
		case got == "":
			missing = append(missing, h.name)
		case h.want != "" && !strings.EqualFold(got, h.want):
			missing = append(missing, fmt.Sprintf("%s (is %q, want %q)", h.name, got, h.want))
		default:
			present = append(present, h.name+": "+got)
		}
	}
	if len(missing) > 0 {
		return Check{Name: CheckHeaders, Status: Warn,
			Detail: "the registry does not send " + strings.Join(missing, ", "),
			Fix:    "the image's default config sets them under http.headers; a config file given to serve replaces the default, so copy its http.headers section into it"}
	}
	return Check{Name: CheckHeaders, Status: OK, Detail: strings.Join(present, "; ")}
}
