package verify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// CheckDownloads is the check of who serves a layer download.
const CheckDownloads = "layer downloads"

// Media types a manifest GET accepts: an image manifest or an index, OCI or
// Docker.
const manifestAccept = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, " +
	"application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json"

// checkDownloads downloads one blob of a pack the way a client does and
// looks at who answers: the registry itself (200), or a redirect to the
// storage behind it (S3's presigned URL), which every client must then
// reach. A redirect is followed from this host, with a one-byte range, to
// learn whether this host reaches it. A registry with no pack yet says
// what its configuration promises (Options.Downloads).
func (r *runner) checkDownloads(ctx context.Context, user, password string) Check {
	c := Check{Name: CheckDownloads, Status: OK}
	repo, digest, why := r.firstBlob(ctx, user, password)
	if digest == "" {
		c.Detail = "no pack to download yet (" + why + "); by the registry's config, " + r.opts.Downloads
		return c
	}
	blob := r.u.JoinPath("/v2", repo, "blobs", digest)
	a := r.do(ctx, http.MethodGet, blob.String(), user, password)
	what := "GET /v2/" + repo + "/blobs/" + digest[:min(len(digest), 19)] + "..."
	switch {
	case a.err != nil:
		c.Status, c.Detail = Warn, what+": "+a.err.Error()
		return c
	case a.status == http.StatusOK:
		c.Detail = what + ": 200 from the registry itself: clients need to reach only the registry"
		return c
	case a.status/100 != 3:
		c.Status, c.Detail = Warn, fmt.Sprintf("%s: %d", what, a.status)
		c.Fix = "check `docker logs " + r.containerName() + "`"
		return c
	}
	loc, err := url.Parse(a.header.Get("Location"))
	if err != nil || loc.Host == "" {
		c.Status, c.Detail = Warn, fmt.Sprintf("%s: %d with no usable Location", what, a.status)
		return c
	}
	storage := loc.Scheme + "://" + loc.Host
	c.Detail = fmt.Sprintf("%s: %d to %s: each client downloads the layers from there itself", what, a.status, storage)
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil}}
	defer hc.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, loc.String(), nil)
	if err == nil {
		req.Header.Set("Range", "bytes=0-0")
		var resp *http.Response
		if resp, err = hc.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode/100 != 2 {
				err = fmt.Errorf("it answered %d", resp.StatusCode)
			}
		}
	}
	if err != nil {
		// A warning, not a failure: clients elsewhere may reach what this
		// host does not.
		c.Status = Warn
		c.Detail += fmt.Sprintf("; from this host that fails (%v), so pulls from here fail", err)
		c.Fix = "make " + storage + " reachable for every client, or have the registry serve the layers itself: paxsetup init --yes --s3-redirect=false"
		return c
	}
	c.Detail += "; this host reaches it, and so must Palette and every other client"
	return c
}

// firstBlob finds one blob of one pack: the config blob of the first tag of
// the first repository in the catalog. Without one, why says what is
// missing.
func (r *runner) firstBlob(ctx context.Context, user, password string) (repo, digest, why string) {
	var cat struct {
		Repositories []string `json:"repositories"`
	}
	q := url.Values{"n": {"1"}}
	a := r.do(ctx, http.MethodGet, r.u.JoinPath("/v2/_catalog").String()+"?"+q.Encode(), user, password)
	if a.err != nil || a.status != http.StatusOK || json.Unmarshal(a.body, &cat) != nil || len(cat.Repositories) == 0 {
		return "", "", "the catalog lists no repository"
	}
	repo = cat.Repositories[0]
	var tags struct {
		Tags []string `json:"tags"`
	}
	a = r.do(ctx, http.MethodGet, r.u.JoinPath("/v2", repo, "tags/list").String()+"?"+q.Encode(), user, password)
	if a.err != nil || a.status != http.StatusOK || json.Unmarshal(a.body, &tags) != nil || len(tags.Tags) == 0 {
		return repo, "", repo + " has no tag"
	}
	ref := tags.Tags[0]
	// An index names manifests; one level down is an image manifest.
	for range 2 {
		a = r.manifest(ctx, repo, ref, user, password)
		var m struct {
			Config struct {
				Digest string `json:"digest"`
			} `json:"config"`
			Manifests []struct {
				Digest string `json:"digest"`
			} `json:"manifests"`
		}
		if a.err != nil || a.status != http.StatusOK || json.Unmarshal(a.body, &m) != nil {
			return repo, "", "the manifest of " + repo + ":" + tags.Tags[0] + " did not load"
		}
		if m.Config.Digest != "" {
			return repo, m.Config.Digest, ""
		}
		if len(m.Manifests) == 0 {
			break
		}
		ref = m.Manifests[0].Digest
	}
	return repo, "", repo + ":" + tags.Tags[0] + " has no image manifest"
}

func (r *runner) manifest(ctx context.Context, repo, ref, user, password string) answer {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.u.JoinPath("/v2", repo, "manifests", ref).String(), nil)
	if err != nil {
		return answer{err: err}
	}
	req.Header.Set("Accept", manifestAccept)
	req.SetBasicAuth(user, password)
	return r.send(req)
}
