package verify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

func newClient(u *url.URL, opts Options) *http.Client {
	handshake := opts.HandshakeTimeout
	if handshake <= 0 {
		handshake = 5 * time.Second
	}
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{
			RootCAs:            opts.RootCAs,
			ServerName:         u.Hostname(),
			InsecureSkipVerify: opts.Insecure,
			MinVersion:         tls.VersionTLS12,
		},
		TLSHandshakeTimeout:   handshake,
		ResponseHeaderTimeout: 10 * time.Second,
		MaxIdleConnsPerHost:   2,
		// A proxy between this host and the registry would answer for it:
		// the checks must see the registry itself.
		Proxy: nil,
	}
	d := &net.Dialer{Timeout: 3 * time.Second}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if opts.DialAddr != "" {
			addr = opts.DialAddr
		}
		return d.DialContext(ctx, network, addr)
	}
	return &http.Client{Transport: tr, Timeout: max(15*time.Second, handshake+10*time.Second),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Polling starts at firstPoll so a registry started just before Run is
// noticed within 50 ms of listening. While nothing listens the connection is
// refused at once, which costs the host nothing, so polling stays that fast;
// other failures (a port proxy accepting for a registry that is not up yet,
// a slow answer) back off to maxPoll so a slow start is not flooded.
const (
	firstPoll = 50 * time.Millisecond
	maxPoll   = 500 * time.Millisecond
)

// answer is one HTTP exchange, or the error that prevented it.
type answer struct {
	status int
	header http.Header
	body   []byte
	err    error
	// timedOut is set when Run gave up waiting: err, or the status, is the
	// last one seen.
	timedOut bool
	// waited is how long Run waited for it.
	waited time.Duration
	// tls is the connection's TLS state, for an answer over HTTPS.
	tls *tls.ConnectionState
}

// wait polls GET /health until the registry answers it, an error that
// waiting cannot fix occurs, or the timeout passes.
func (r *runner) wait(ctx context.Context) answer {
	timeout := r.opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	target := r.u.JoinPath("/health").String()
	delay := firstPoll
	for {
		a := r.get(ctx, target, "", "")
		a.waited = time.Since(start)
		if a.err == nil && !retryableStatus(a.status) {
			return a
		}
		if a.err != nil && !retryable(a.err) {
			return a
		}
		pause := delay
		if a.err != nil && errors.Is(a.err, syscall.ECONNREFUSED) {
			pause = firstPoll
		} else {
			delay = min(delay*2, maxPoll)
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			a.timedOut = true
			a.waited = time.Since(start)
			return a
		case <-t.C:
		}
	}
}

// retryableStatus: a registry behind a proxy answers 502 or 503 while it
// starts; any other status is the registry's own answer.
func retryableStatus(status int) bool {
	return status >= 500 || status == http.StatusTooManyRequests
}

func (r *runner) get(ctx context.Context, target, user, password string) answer {
	return r.do(ctx, http.MethodGet, target, user, password)
}

// retryable reports whether waiting may fix err: the registry may still be
// starting. A certificate problem, or the wrong protocol, will not go away by
// waiting.
func retryable(err error) bool {
	var certErr *tls.CertificateVerificationError
	var hostErr x509.HostnameError
	var authErr x509.UnknownAuthorityError
	var invErr x509.CertificateInvalidError
	var recErr tls.RecordHeaderError
	switch {
	case errors.As(err, &certErr), errors.As(err, &hostErr), errors.As(err, &authErr),
		errors.As(err, &invErr), errors.As(err, &recErr):
		return false
	case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"),
		// A TLS alert from the server: it refuses this handshake, and will
		// refuse the next. crypto/tls exports no type for received alerts.
		strings.Contains(err.Error(), "remote error: tls:"):
		return false
	}
	return true
}
