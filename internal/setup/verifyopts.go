package setup

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strconv"

	"github.com/paxsetup/paxsetup/internal/certgen"
	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/templates"
	"github.com/paxsetup/paxsetup/internal/verify"
	"github.com/paxsetup/paxsetup/internal/wizard"
)

// Endpoint is the registry's URL as Palette wants it.
func Endpoint(a config.Answers) string {
	return (&url.URL{Scheme: "https", Host: HostPort(a)}).String()
}

// HostPort is the registry's address as the spectro CLI and docker want it.
func HostPort(a config.Answers) string {
	return net.JoinHostPort(a.Host, strconv.Itoa(a.Port))
}

// VerifyOptions are the checks of the setup in dir, made from this host: they
// dial the local port but present and check the registry's name, so they see
// the certificate exactly as Palette will, whether or not DNS already knows
// the name.
func VerifyOptions(dir string, a config.Answers) (verify.Options, error) {
	caFile := filepath.Join(dir, "certs", "ca.crt")
	pool, err := certgen.LoadCertPool(caFile)
	if err != nil {
		return verify.Options{}, fmt.Errorf("load the setup's CA: %w", err)
	}
	return verify.Options{
		Endpoint:      Endpoint(a),
		DialAddr:      net.JoinHostPort("127.0.0.1", strconv.Itoa(a.Port)),
		RootCAs:       pool,
		CAFile:        caFile,
		ContainerName: a.Name,
	}, nil
}

// adminCredentials returns the admin's login for verification: the password
// given this run, one paxsetup generated, or the one in the saved file.
func adminCredentials(dir string, a config.Answers, given wizard.Password, generated map[string]string) (string, string, error) {
	return userCredentials(dir, a.AdminUser, given, generated)
}

func userCredentials(dir, user string, given wizard.Password, generated map[string]string) (string, string, error) {
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

// checkReader proves the read-only user can log in too.
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

// PaletteFor is what the operator enters in Palette for the setup in dir.
func PaletteFor(dir string, a config.Answers, generated map[string]string) templates.Palette {
	p := templates.Palette{
		Endpoint:   Endpoint(a),
		HostPort:   HostPort(a),
		AdminUser:  a.AdminUser,
		ReaderUser: a.ReaderUser,
		ChainFile:  filepath.Join(dir, "certs", "chain.pem"),
		CAFile:     filepath.Join(dir, "certs", "ca.crt"),
	}
	_, p.AdminInCredentials = LoadCredentials(dir, a.AdminUser)
	if p.AdminInCredentials || len(generated) > 0 {
		p.CredentialsFile = filepath.Join(dir, CredentialsFile)
	}
	p.GeneratedPassword = generated
	return p
}
