package verify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"
)

// Diagnose turns a connection error into what is wrong and what to do.
func Diagnose(err error, u *url.URL, opts Options) (detail, fix string) {
	host := u.Hostname()
	target := dialTarget(u, opts)
	r := &runner{opts: opts, u: u}
	var hostErr x509.HostnameError
	var authErr x509.UnknownAuthorityError
	var invErr x509.CertificateInvalidError
	var recErr tls.RecordHeaderError
	var dnsErr *net.DNSError
	msg := err.Error()
	switch {
	case errors.As(err, &hostErr):
		return diagnoseName(hostErr.Certificate, host)
	case errors.As(err, &authErr):
		if authErr.Cert != nil {
			return r.unknownAuthority(authErr.Cert)
		}
		return "certificate signed by unknown authority", "trust the CA that signed it (--ca-file)"
	case errors.As(err, &invErr):
		if invErr.Reason == x509.Expired {
			return "the certificate is expired or not yet valid: " + invErr.Error(),
				"issue a new certificate: paxsetup init --force (and check the clock of both hosts)"
		}
		return r.diagnoseTrust(invErr.Cert, err)
	case errors.As(err, &recErr) || strings.Contains(msg, "first record does not look like a TLS handshake") ||
		strings.Contains(msg, "server gave HTTP response to HTTPS client"):
		http := *u
		http.Scheme = "http"
		return "the server speaks plain HTTP on this port, not HTTPS",
			fmt.Sprintf("start the registry with TLS (paxsetup init), or, for a lab registry without TLS, use --endpoint %s", http.String())
	case strings.Contains(msg, "remote error: tls:"):
		return "the server refused the TLS handshake: " + msg[strings.Index(msg, "remote error: tls:"):],
			"check that the endpoint's name is one the server serves, and the server's TLS settings: `docker logs " + r.containerName() + "`"
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("connection refused at %s: nothing listens there", target),
			fmt.Sprintf("start the registry and check it: paxsetup status, docker logs %s (is --port right?)", r.containerName())
	case errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Sprintf("%s accepted the connection and closed it without an answer: a port proxy with no registry behind it (the container is not ready, or crashed), or a server that is not a registry", target),
			fmt.Sprintf("check the container: paxsetup status, docker logs %s", r.containerName())
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("%s does not resolve: %v", host, dnsErr),
			"add the name to DNS (or /etc/hosts), or use the IP"
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return fmt.Sprintf("no answer from %s", target),
			"a firewall may drop the traffic (on this host: firewall-cmd, ufw or nft; or on the way), or the registry is still starting: check `docker logs " + r.containerName() + "`"
	case errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH):
		return fmt.Sprintf("no route to %s: %v", target, err),
			"check the address and the network path (routes, VPN); a firewall may reject the traffic"
	}
	return msg, ""
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
