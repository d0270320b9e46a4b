// Package verify checks a running pack registry the way Palette will use it,
// and turns each failure into its cause and the fix.
package verify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Status is the outcome of one check.
type Status string

// Outcomes of a check.
const (
	OK   Status = "ok"
	Warn Status = "warn"
	Fail Status = "fail"
)

// Check is one verified property of the registry, with what to do when it failed.
type Check struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// Report is the outcome of Run.
type Report struct {
	Endpoint string  `json:"endpoint"`
	Checks   []Check `json:"checks"`
}

// OK reports whether no check failed.
func (r Report) OK() bool {
	for _, c := range r.Checks {
		if c.Status == Fail {
			return false
		}
	}
	return true
}

// Failed returns the checks that failed.
func (r Report) Failed() []Check {
	var out []Check
	for _, c := range r.Checks {
		if c.Status == Fail {
			out = append(out, c)
		}
	}
	return out
}

// Options say which registry to check and how to reach it.
type Options struct {
	// Endpoint is the registry's URL as Palette knows it: https://host:port.
	Endpoint string
	// DialAddr, when set, is the address to connect to instead of resolving
	// the endpoint's host: a setup checked on its own host dials the local
	// port while still presenting, and checking the certificate for, the
	// endpoint's name.
	DialAddr string
	// RootCAs are the only CAs trusted; nil means the system's.
	RootCAs *x509.CertPool
	// CAFile names where RootCAs came from, for messages.
	CAFile string
	// Insecure skips certificate verification, like Palette's
	// "Insecure Skip TLS Verify".
	Insecure bool
	// User and Password, when set, must be able to read the catalog.
	User, Password string
	// Timeout bounds how long Run waits for the registry to answer /health.
	Timeout time.Duration
	// ContainerName, when known, goes into the fixes (`docker logs NAME`).
	ContainerName string
}

// Run waits for the registry's /health, then checks the catalog: that it asks
// for credentials, and that the given user can read it.
func Run(ctx context.Context, opts Options) Report {
	rep := Report{Endpoint: opts.Endpoint}
	u, err := url.Parse(opts.Endpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		rep.Checks = append(rep.Checks, Check{Name: "endpoint", Status: Fail,
			Detail: fmt.Sprintf("%q is not a registry URL", opts.Endpoint),
			Fix:    "give --endpoint as https://HOST:PORT"})
		return rep
	}
	c := newClient(u, opts)

	health := waitHealth(ctx, c, u, opts)
	rep.Checks = append(rep.Checks, health)
	if health.Status == Fail {
		return rep
	}
	rep.Checks = append(rep.Checks, checkAuthRequired(ctx, c, u))
	if opts.User != "" {
		rep.Checks = append(rep.Checks, checkLogin(ctx, c, u, opts.User, opts.Password))
	}
	return rep
}

func newClient(u *url.URL, opts Options) *http.Client {
	host := u.Hostname()
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{
			RootCAs:            opts.RootCAs,
			ServerName:         host,
			InsecureSkipVerify: opts.Insecure,
			MinVersion:         tls.VersionTLS12,
		},
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: 10 * time.Second,
		DisableKeepAlives:     false,
		MaxIdleConnsPerHost:   2,
	}
	d := &net.Dialer{Timeout: 3 * time.Second}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if opts.DialAddr != "" {
			addr = opts.DialAddr
		}
		return d.DialContext(ctx, network, addr)
	}
	return &http.Client{Transport: tr, Timeout: 15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Polling starts fast so that a registry is noticed within 50 ms of
// listening, and backs off so a slow start does not flood the engine's proxy.
const (
	firstPoll = 50 * time.Millisecond
	maxPoll   = time.Second
)

func waitHealth(ctx context.Context, c *http.Client, u *url.URL, opts Options) Check {
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	target := u.JoinPath("/health").String()
	delay := firstPoll
	var lastErr error
	var lastStatus int
	for {
		status, body, err := get(ctx, c, target, "", "")
		switch {
		case err == nil && status == http.StatusOK:
			if !healthUp(body) {
				return Check{Name: "health", Status: Warn,
					Detail: fmt.Sprintf("GET /health answered 200 but not {\"status\":\"UP\"}: %.80q", body)}
			}
			return Check{Name: "health", Status: OK, Detail: "GET /health: 200 {\"status\":\"UP\"}"}
		case err != nil && !retryable(err):
			detail, fix := Diagnose(err, u, opts)
			return Check{Name: "health", Status: Fail, Detail: detail, Fix: fix}
		}
		lastErr, lastStatus = err, status
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			if lastErr == nil && lastStatus != 0 {
				return Check{Name: "health", Status: Fail,
					Detail: fmt.Sprintf("GET /health answered %d, not 200", lastStatus),
					Fix:    "the server on this port is not a pack registry, or it is not ready: check `docker logs " + containerName(opts) + "`"}
			}
			if lastErr == nil {
				lastErr = ctx.Err()
			}
			detail, fix := Diagnose(lastErr, u, opts)
			return Check{Name: "health", Status: Fail, Detail: fmt.Sprintf("no answer within %s: %s", timeout, detail), Fix: fix}
		case <-t.C:
		}
		delay = min(delay*2, maxPoll)
	}
}

func healthUp(body []byte) bool {
	var h struct{ Status string }
	return json.Unmarshal(body, &h) == nil && strings.EqualFold(h.Status, "UP")
}

func checkAuthRequired(ctx context.Context, c *http.Client, u *url.URL) Check {
	status, _, err := get(ctx, c, u.JoinPath("/v1/_catalog").String(), "", "")
	name := "auth required"
	switch {
	case err != nil:
		return Check{Name: name, Status: Fail, Detail: "GET /v1/_catalog: " + err.Error()}
	case status == http.StatusUnauthorized:
		return Check{Name: name, Status: OK, Detail: "GET /v1/_catalog without credentials: 401"}
	case status == http.StatusNotFound:
		return notPackRegistry(name)
	case status == http.StatusOK:
		return Check{Name: name, Status: Fail, Detail: "GET /v1/_catalog answers 200 without credentials: anyone can read the packs",
			Fix: "turn on htpasswd auth (REGISTRY_AUTH=htpasswd): re-run paxsetup init"}
	default:
		return Check{Name: name, Status: Fail, Detail: fmt.Sprintf("GET /v1/_catalog without credentials: %d, want 401", status)}
	}
}

func checkLogin(ctx context.Context, c *http.Client, u *url.URL, user, password string) Check {
	name := "catalog as " + user
	status, body, err := get(ctx, c, u.JoinPath("/v1/_catalog").String(), user, password)
	switch {
	case err != nil:
		return Check{Name: name, Status: Fail, Detail: "GET /v1/_catalog: " + err.Error()}
	case status == http.StatusOK:
		var cat struct{ Repositories []string }
		n := ""
		if json.Unmarshal(body, &cat) == nil {
			n = fmt.Sprintf(" (%d repositories)", len(cat.Repositories))
		}
		return Check{Name: name, Status: OK, Detail: "GET /v1/_catalog as " + user + ": 200" + n}
	case status == http.StatusUnauthorized:
		return Check{Name: name, Status: Fail,
			Detail: fmt.Sprintf("user %q was refused (401): wrong password, a user missing from htpasswd-basic, or a non-bcrypt entry the registry ignores", user),
			Fix:    "set the password again with bcrypt: re-run paxsetup init with the password file, or check auth/htpasswd-basic"}
	case status == http.StatusNotFound:
		return notPackRegistry(name)
	default:
		return Check{Name: name, Status: Fail, Detail: fmt.Sprintf("GET /v1/_catalog as %s: %d, want 200", user, status)}
	}
}

func notPackRegistry(name string) Check {
	return Check{Name: name, Status: Fail,
		Detail: "GET /v1/_catalog: 404: this is not a pack registry (a plain distribution registry serves only /v2/)",
		Fix:    "run the spectro-registry image (--image)"}
}

func get(ctx context.Context, c *http.Client, target, user, password string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return 0, nil, err
	}
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, body, err
}

// retryable reports whether waiting may fix err: the registry may still be
// starting. A certificate problem will not go away by waiting.
func retryable(err error) bool {
	var certErr *tls.CertificateVerificationError
	if errors.As(err, &certErr) {
		return false
	}
	var hostErr x509.HostnameError
	var authErr x509.UnknownAuthorityError
	var invErr x509.CertificateInvalidError
	var recErr tls.RecordHeaderError
	if errors.As(err, &hostErr) || errors.As(err, &authErr) || errors.As(err, &invErr) || errors.As(err, &recErr) {
		return false
	}
	if strings.Contains(err.Error(), "server gave HTTP response to HTTPS client") {
		return false
	}
	return true
}

func containerName(opts Options) string {
	if opts.ContainerName != "" {
		return opts.ContainerName
	}
	return "spectro-registry"
}

// Diagnose turns a connection error into what is wrong and what to do.
func Diagnose(err error, u *url.URL, opts Options) (detail, fix string) {
	host := u.Hostname()
	var hostErr x509.HostnameError
	var authErr x509.UnknownAuthorityError
	var invErr x509.CertificateInvalidError
	var recErr tls.RecordHeaderError
	switch {
	case errors.As(err, &hostErr):
		cert := hostErr.Certificate
		names := certNames(cert)
		if ip := net.ParseIP(host); ip != nil && len(cert.IPAddresses) == 0 {
			return fmt.Sprintf("the certificate has no IP SANs, so it cannot be used for %s (it has: %s)", host, names),
				fmt.Sprintf("issue a new certificate with the IP: paxsetup init --force --san %s, or reach the registry by its DNS name", host)
		}
		if len(cert.DNSNames) == 0 && len(cert.IPAddresses) == 0 {
			return fmt.Sprintf("the certificate has no SANs, only the legacy Common Name %q, which Go clients ignore", cert.Subject.CommonName),
				"issue a certificate with SANs: paxsetup init --force"
		}
		return fmt.Sprintf("the certificate does not cover %s (it has: %s)", host, names),
			fmt.Sprintf("use one of those names, or issue a new certificate: paxsetup init --force --san %s", host)
	case errors.As(err, &authErr):
		issuer := "an unknown issuer"
		if authErr.Cert != nil {
			issuer = fmt.Sprintf("%q", authErr.Cert.Issuer.CommonName)
		}
		against := "the system's CAs"
		if opts.CAFile != "" {
			against = opts.CAFile
		}
		return fmt.Sprintf("certificate signed by unknown authority: it was signed by %s, which %s does not contain", issuer, against),
			"trust the CA that signed it (--ca-file), or re-run paxsetup init so the registry serves a certificate from the setup's CA"
	case errors.As(err, &invErr):
		if invErr.Reason == x509.Expired {
			return "the certificate is expired or not yet valid: " + invErr.Error(),
				"issue a new certificate: paxsetup init --force (and check the clock of both hosts)"
		}
		return "the certificate is not valid: " + invErr.Error(), "issue a new certificate: paxsetup init --force"
	case errors.As(err, &recErr) || strings.Contains(err.Error(), "first record does not look like a TLS handshake"):
		return "the server speaks plain HTTP on this port, not HTTPS",
			"use http:// if this is a lab registry, or start the registry with TLS (paxsetup init)"
	case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return "the server speaks plain HTTP on this port, not HTTPS",
			"use http:// if this is a lab registry, or start the registry with TLS (paxsetup init)"
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("connection refused at %s: nothing listens there", dialTarget(u, opts)),
			fmt.Sprintf("check the container: paxsetup status, docker logs %s", containerName(opts))
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return fmt.Sprintf("no answer from %s", dialTarget(u, opts)),
			"a firewall may drop the traffic, or the registry is still starting: check the host firewall and `docker logs " + containerName(opts) + "`"
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return fmt.Sprintf("%s does not resolve: %v", host, dnsErr),
			"add the name to DNS (or /etc/hosts), or use the IP"
	}
	return err.Error(), ""
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func dialTarget(u *url.URL, opts Options) string {
	if opts.DialAddr != "" {
		return opts.DialAddr
	}
	return u.Host
}

func certNames(c *x509.Certificate) string {
	var names []string
	names = append(names, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 {
		return "no SANs"
	}
	return strings.Join(names, ", ")
}
