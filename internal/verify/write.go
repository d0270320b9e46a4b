package verify

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// ScratchRepo is the repository the write probe starts its upload in: a name
// no pack uses, so a probe can never touch a pack's tags.
const ScratchRepo = "paxsetup-verify/write-probe"

// Texts of the write probe, for scripts that read --output json.
const (
	CanWrite    = "second user can write: the registry does not enforce read-only access"
	CannotWrite = "second user cannot write"
)

// checkWrite finds out whether the registry lets user write, instead of
// assuming a role the registry may not enforce: the distribution registry's
// htpasswd access controller (registry/auth/htpasswd/access.go) checks the
// password only and gives every valid user push rights. It starts a blob
// upload in ScratchRepo (POST /v2/<repo>/blobs/uploads/, the first request
// of every push) and cancels it at once (DELETE of the Location it
// returned): no blob, manifest or tag is written, and the repository does not
// appear in the catalog, which lists only repositories with manifests. The
// distribution registry does keep one thing: it saves the upload's hash
// state when a request ends, after the cancel removed the upload's folder
// (registry/handlers/blobupload.go closes the writer after the handler), so
// a hashstates file of about 100 bytes stays in the scratch repository's
// _uploads until the registry's upload purging (by default: uploads older
// than a week, checked daily) removes it.
func (r *runner) checkWrite(ctx context.Context, user, password string) Check {
	name := CheckWriteAs + user
	probe := r.u.JoinPath("/v2", ScratchRepo, "blobs/uploads/")
	a := r.do(ctx, http.MethodPost, probe.String(), user, password)
	what := fmt.Sprintf("POST /v2/%s/blobs/uploads/ as %s", ScratchRepo, user)
	switch {
	case a.err != nil:
		detail, fix := Diagnose(a.err, r.u, r.opts)
		return Check{Name: name, Status: Warn, Detail: "could not find out whether the second user can write: " + what + ": " + detail, Fix: fix}
	case a.status == http.StatusAccepted:
		cancelled := r.cancelUpload(ctx, a.header.Get("Location"), user, password)
		return Check{Name: name, Status: Warn,
			Detail: fmt.Sprintf("%s (%s: 202, a blob upload was started; %s)", CanWrite, what, cancelled),
			Fix: "every user of this registry may push and overwrite tags: give " + user + "'s password only to Palette and readers you trust, " +
				"and change it if it leaks: paxsetup users passwd " + user}
	case a.status == http.StatusUnauthorized, a.status == http.StatusForbidden, a.status == http.StatusMethodNotAllowed:
		return Check{Name: name, Status: OK, Detail: fmt.Sprintf("%s (%s: %d)", CannotWrite, what, a.status)}
	}
	return Check{Name: name, Status: Warn,
		Detail: fmt.Sprintf("could not find out whether the second user can write: %s answered %d (want 202, or 401/403/405 for a refusal)", what, a.status),
		Fix:    "check `docker logs " + r.containerName() + "`"}
}

// cancelUpload deletes the upload the probe started and says how that went.
// The Location is sent to the endpoint's own scheme and host: a proxy's
// idea of the registry's address must not send the cancel elsewhere.
func (r *runner) cancelUpload(ctx context.Context, location, user, password string) string {
	if location == "" {
		return "the registry gave no Location to cancel it with; it expires by itself (distribution purges uploads after a week)"
	}
	loc, err := url.Parse(location)
	if err != nil {
		return fmt.Sprintf("its Location %q is not a URL, so it was not cancelled; it expires by itself", location)
	}
	target := r.u.ResolveReference(&url.URL{Path: loc.Path, RawPath: loc.RawPath, RawQuery: loc.RawQuery})
	a := r.do(ctx, http.MethodDelete, target.String(), user, password)
	switch {
	case a.err != nil:
		return fmt.Sprintf("cancelling it failed (%v); it expires by itself", a.err)
	case a.status == http.StatusNoContent || a.status == http.StatusOK || a.status == http.StatusAccepted:
		return "cancelled at once: no blob, manifest or tag stored"
	}
	return fmt.Sprintf("cancelling it answered %d; it expires by itself", a.status)
}

// do makes one request without a body and reads at most 1 MiB of the answer.
func (r *runner) do(ctx context.Context, method, target, user, password string) answer {
	req, err := http.NewRequestWithContext(ctx, method, target, nil)
	if err != nil {
		return answer{err: err}
	}
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	return r.send(req)
}

// send makes one request and reads at most 1 MiB of the answer.
func (r *runner) send(req *http.Request) answer {
	resp, err := r.client.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return answer{status: resp.StatusCode, header: resp.Header, body: body, err: err, tls: resp.TLS}
}
