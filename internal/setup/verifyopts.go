package setup

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/paxsetup/paxsetup/internal/answers"
	"github.com/paxsetup/paxsetup/internal/certgen"
	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/render"
	"github.com/paxsetup/paxsetup/internal/verify"
)

// VerifyOptions are the checks of the setup in dir, made from this host: they
// dial the local port but present and check the registry's name, so they see
// the certificate exactly as Palette will, whether or not DNS already knows
// the name.
//
// A Let's Encrypt certificate is checked against the system's CAs, as
// Palette checks it, or against the private ACME CA's root (--ca-file,
// copied to certs/ca.crt); plain HTTP has none to check.
func VerifyOptions(dir string, a config.Answers) (verify.Options, error) {
	v := verify.Options{
		Endpoint:      a.Endpoint(),
		DialAddr:      net.JoinHostPort(dialHost(a.Bind), strconv.Itoa(a.Port)),
		ContainerName: a.Name,
	}
	if a.Storage == render.StorageS3 && a.S3 != nil {
		v.Downloads = "the registry serves the layers itself (storage.redirect.disable)"
		if a.S3.Redirect {
			v.Downloads = "it redirects layer downloads to the S3 endpoint (--s3-redirect), which every client must reach"
		}
	}
	switch {
	case a.Mode == config.ModeLetsEncrypt:
		v.HandshakeTimeout = ACMEHandshakeTimeout
		if a.CAFile == "" {
			return v, nil
		}
	case a.Mode == config.ModeHTTP:
		return v, nil
	}
	caFile := Layout{Dir: dir}.CertFiles().CACert()
	pool, err := certgen.LoadCertPool(caFile)
	if err != nil {
		return verify.Options{}, fmt.Errorf("load the setup's CA: %w", err)
	}
	v.RootCAs, v.CAFile = pool, caFile
	return v, nil
}

// ACMEHandshakeTimeout is how long a handshake may wait while the registry
// orders its certificate: the ACME CA validates the name (TLS-ALPN-01, a
// connection back to the registry) and issues, within seconds when it is
// well; autocert itself gives up after 5 minutes, and a handshake that
// times out is simply retried while the order goes on.
const ACMEHandshakeTimeout = 30 * time.Second

// dialHost is where this host reaches the registry: its --bind address,
// when the port is published on one address only, else loopback.
func dialHost(bind string) string {
	if ip := net.ParseIP(bind); ip != nil && !ip.IsUnspecified() {
		return bind
	}
	return "127.0.0.1"
}

// adminCredentials returns the admin's login for verification: the password
// given this run, one paxsetup generated, or the one in the saved file.
func adminCredentials(dir string, a config.Answers, given answers.Password, generated map[string]string) (string, string, error) {
	return userCredentials(dir, a.AdminUser, given, generated)
}

func userCredentials(dir, user string, given answers.Password, generated map[string]string) (string, string, error) {
	if given.Value != "" {
		return user, given.Value, nil
	}
	if pw, ok := generated[user]; ok {
		return user, pw, nil
	}
	if pw, ok := LoadCredentials(dir, user); ok {
		return user, pw, nil
	}
	// The password was given in an earlier run and is not known now: the
	// registry's own check (401 without credentials) still runs.
	return "", "", nil
}

// checkReader proves the second user (the login for Palette) can log in too.
func checkReader(ctx context.Context, opts Options, vopts verify.Options, generated map[string]string) error {
	user, pw, err := userCredentials(opts.Dir, opts.Answers.ReaderUser, opts.ReaderPassword, generated)
	if err != nil || user == "" {
		return err
	}
	vopts.User, vopts.Password = user, pw
	rep := verify.Run(ctx, vopts)
	if !rep.OK() {
		return fmt.Errorf("%w: %s", ErrVerifyFailed, describeFailures(rep))
	}
	return nil
}
