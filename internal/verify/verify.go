// Package verify checks a running pack registry the way Palette will use it,
// and turns each failure into its cause and the fix.
package verify

import (
	"context"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/paxsetup/paxsetup/internal/check"
)

// Status is the outcome of one check.
type Status = check.Status

// Outcomes of a check.
const (
	OK   = check.OK
	Warn = check.Warn
	Fail = check.Fail
)

// Names of the checks, in the order Run makes them. A login check is named
// CheckCatalogAs + the user; the second user's write probe CheckWriteAs +
// the user.
const (
	CheckEndpoint     = "endpoint"
	CheckTCP          = "tcp"
	CheckTLS          = "tls"
	CheckTrust        = "certificate trust"
	CheckName         = "certificate name"
	CheckExpiry       = "certificate expiry"
	CheckSystemTrust  = "system trust"
	CheckHealth       = "health"
	CheckAuthRequired = "auth required"
	CheckCatalogAs    = "catalog as "
	CheckWriteAs      = "write as "
	CheckHeaders      = "security headers"
)

// WarnDays is how close to its end a certificate's validity earns a warning:
// time enough to renew it and upload the new chain to Palette.
const WarnDays = 30

// Check is one checked property, with what to do when it is not OK.
type Check = check.Check

// Report is the outcome of Run.
type Report struct {
	Endpoint     string `json:"endpoint"`
	check.Checks `json:"checks"`
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
	// RootCAs are the only CAs trusted (Palette's view: it trusts the chain
	// uploaded to it); nil means the system's.
	RootCAs *x509.CertPool
	// CAFile names where RootCAs came from, for messages; the certificates in
	// it are named when the server's certificate is signed by another CA.
	CAFile string
	// SystemRoots stand in for the system trust store, for tests; nil means
	// the host's.
	SystemRoots *x509.CertPool
	// Insecure skips certificate verification, like Palette's
	// "Insecure Skip TLS Verify": certificate problems become warnings.
	Insecure bool
	// User and Password, when set, must be able to read the catalog (the
	// admin, in a setup).
	User, Password string
	// ReaderUser and ReaderPassword, when set, must be able to read the
	// catalog too (a setup's second login, for Palette and other readers).
	// Run also finds out whether the registry lets it write.
	ReaderUser, ReaderPassword string
	// HtpasswdFile is the registry's htpasswd file when it is on this host:
	// a refused login is then explained from its entry for the user.
	HtpasswdFile string
	// Timeout bounds how long Run waits for the registry to answer /health;
	// 0 means 60 seconds.
	Timeout time.Duration
	// HandshakeTimeout bounds one TLS handshake; 0 means 5 seconds. A
	// registry that obtains its certificate from an ACME CA holds the first
	// handshake by name open while the CA validates it and issues.
	HandshakeTimeout time.Duration
	// Downloads, when set, has Run find out who serves layer downloads
	// (CheckDownloads) and says what the registry's config promises, for
	// a registry with no pack yet: set for S3 storage, where the registry
	// may redirect clients to the bucket.
	Downloads string
	// ContainerName, when known, goes into the fixes (`docker logs NAME`).
	ContainerName string
	// Now is the clock for certificate validity; nil means time.Now.
	Now func() time.Time
}

// DefaultTimeout is how long Run waits for a registry that does not answer yet.
const DefaultTimeout = 60 * time.Second

func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// Run waits for the registry to answer /health, then checks, in order: the
// TCP connection, the TLS handshake and the certificate (trusted by the
// given CA, covering the name used, days left, and whether the system trust
// store trusts it too), /health, that the catalog asks for credentials, that
// each given user can read it, whether the registry lets the second user
// write (checkWrite), and the security headers. It stops at the
// first failure that makes later checks meaningless, so the first failed
// check is the cause.
func Run(ctx context.Context, opts Options) Report {
	rep := Report{Endpoint: opts.Endpoint}
	u, err := url.Parse(opts.Endpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		rep.Checks = append(rep.Checks, Check{Name: CheckEndpoint, Status: Fail,
			Detail: fmt.Sprintf("%q is not a registry URL", opts.Endpoint),
			Fix:    "give --endpoint as https://HOST:PORT"})
		return rep
	}
	r := &runner{opts: opts, u: u, client: newClient(u, opts)}
	defer r.client.CloseIdleConnections()

	health := r.wait(ctx)
	add := func(cs ...Check) bool {
		rep.Checks = append(rep.Checks, cs...)
		for _, c := range cs {
			if c.Status == Fail {
				return false
			}
		}
		return true
	}
	if !add(r.checkTCP(ctx, health)) {
		return rep
	}
	if u.Scheme == "https" {
		if !add(r.checkTLS(ctx, health)...) {
			return rep
		}
	} else if !add(r.plainHTTP(health)) {
		return rep
	}
	if !add(r.checkHealth(health)) {
		return rep
	}
	noCreds := r.get(ctx, u.JoinPath("/v1/_catalog").String(), "", "")
	if !add(r.checkAuthRequired(noCreds)) {
		return rep
	}
	if opts.User != "" {
		if add(r.checkLogin(ctx, opts.User, opts.Password)) && opts.Downloads != "" {
			add(r.checkDownloads(ctx, opts.User, opts.Password))
		}
	}
	if opts.ReaderUser != "" && opts.ReaderUser != opts.User {
		if add(r.checkLogin(ctx, opts.ReaderUser, opts.ReaderPassword)) {
			add(r.checkWrite(ctx, opts.ReaderUser, opts.ReaderPassword))
		}
	}
	add(r.checkHeaders(noCreds))
	return rep
}

// runner holds what the checks of one Run share.
type runner struct {
	opts   Options
	u      *url.URL
	client *http.Client
}

func (r *runner) containerName() string {
	if r.opts.ContainerName != "" {
		return r.opts.ContainerName
	}
	return "spectro-registry"
}

// dialTarget is where connections go: DialAddr, or the endpoint's host:port.
func (r *runner) dialTarget() string {
	return dialTarget(r.u, r.opts)
}

func dialTarget(u *url.URL, opts Options) string {
	if opts.DialAddr != "" {
		return opts.DialAddr
	}
	if u.Port() == "" {
		return net.JoinHostPort(u.Hostname(), map[string]string{"https": "443", "http": "80"}[u.Scheme])
	}
	return u.Host
}
