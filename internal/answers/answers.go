// Package answers is the one model of an init run's answers, whether they
// come from flags (`init --yes`) or from the wizard's questions: merged from
// flags, then the answers saved by the previous run, then defaults; the
// passwords given by file or environment; and the rules every answer is
// validated by, before anything is written or started.
package answers

import (
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/distribution/reference"

	"github.com/paxsetup/paxsetup/internal/certgen"
	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/dockerctl"
	"github.com/paxsetup/paxsetup/internal/fsutil"
	"github.com/paxsetup/paxsetup/internal/htpasswd"
	"github.com/paxsetup/paxsetup/internal/render"
	"github.com/paxsetup/paxsetup/internal/secretenv"
)

// ErrNotInteractive is returned when a question would have to be asked but
// there is no terminal to ask it on.
var ErrNotInteractive = errors.New("--yes required when not running interactively")

// FlagError is an invalid answer; it names the flag that sets it.
type FlagError struct {
	Flag string
	Err  error
}

func (e *FlagError) Error() string { return "--" + e.Flag + ": " + e.Err.Error() }
func (e *FlagError) Unwrap() error { return e.Err }

func flagErr(flag, format string, args ...any) error {
	return &FlagError{Flag: flag, Err: fmt.Errorf(format, args...)}
}

// Sources are where answers come from, strongest first.
type Sources struct {
	// Flags holds the command line's values; Changed says which were given.
	Flags   config.Answers
	Changed func(flag string) bool
	// Saved are the answers of the previous run, if any.
	Saved *config.Answers
	// DefaultHost is detected from the machine.
	DefaultHost string
}

// Merge takes each answer from the flags when given, else from the saved
// answers, else the default.
func Merge(s Sources) config.Answers {
	a := config.Defaults()
	a.Host = s.DefaultHost
	a.BcryptCost = htpasswd.DefaultCost
	if s.Saved != nil {
		// A value missing from the file keeps its default.
		overlay(&a, *s.Saved, func(_ string, zero bool) bool { return !zero })
		// No flag sets it: a node stays one until it is joined afresh.
		a.Node = s.Saved.Node
	}
	// A flag given on the command line wins even when it is empty or zero:
	// `--port 0` must be refused, not quietly replaced.
	overlay(&a, s.Flags, func(flag string, _ bool) bool { return s.Changed(flag) })
	dropUnused(&a, s.Changed)
	return a
}

// overlay copies each answer of src for which use says yes.
func overlay(dst *config.Answers, src config.Answers, use func(flag string, zero bool) bool) {
	str := func(flag string, d *string, v string) {
		if use(flag, v == "") {
			*d = v
		}
	}
	num := func(flag string, d *int, v int) {
		if use(flag, v == 0) {
			*d = v
		}
	}
	str("mode", &dst.Mode, src.Mode)
	str("host", &dst.Host, src.Host)
	str("image", &dst.Image, src.Image)
	str("pull", &dst.Pull, src.Pull)
	str("image-archive", &dst.ImageArchive, src.ImageArchive)
	str("bind", &dst.Bind, src.Bind)
	str("name", &dst.Name, src.Name)
	str("admin-user", &dst.AdminUser, src.AdminUser)
	str("reader-user", &dst.ReaderUser, src.ReaderUser)
	str("admin-password-file", &dst.AdminPasswordFile, src.AdminPasswordFile)
	str("reader-password-file", &dst.ReaderPasswordFile, src.ReaderPasswordFile)
	str("storage", &dst.Storage, src.Storage)
	str("email", &dst.Email, src.Email)
	str("acme-directory", &dst.ACMEDirectory, src.ACMEDirectory)
	str("acme-ca-file", &dst.ACMECAFile, src.ACMECAFile)
	str("network", &dst.Network, src.Network)
	str("cert-file", &dst.CertFile, src.CertFile)
	str("key-file", &dst.KeyFile, src.KeyFile)
	str("ca-file", &dst.CAFile, src.CAFile)
	str("log-level", &dst.LogLevel, src.LogLevel)
	num("bcrypt-cost", &dst.BcryptCost, src.BcryptCost)
	overlayS3(dst, src.S3, use)
	num("port", &dst.Port, src.Port)
	num("days", &dst.Days, src.Days)
	if use("san", len(src.SANs) == 0) {
		dst.SANs = Union(dst.SANs, src.SANs)
	}
}

// CertSANs are the extra names the server certificate of a setup with
// answers a must cover: the --san names and, since clients on the site reach
// the registry by IP when DNS lacks its name, this host's own addresses.
func CertSANs(a config.Answers, hostIPs []string) []string { return Union(a.SANs, hostIPs) }

// Union returns a followed by the values of b not in a, without duplicates.
func Union(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range append(append([]string{}, a...), b...) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// containerName is Docker's own rule for container names.
var containerName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// Validate checks every answer and returns the first problem as a FlagError.
func Validate(a config.Answers) error {
	switch a.Mode {
	case config.ModeSelfSigned, config.ModeLetsEncrypt, config.ModeCustom, config.ModeHTTP:
	default:
		return flagErr("mode", "unknown mode %q: use selfsigned, letsencrypt, custom or http", a.Mode)
	}
	if a.Host == "" {
		return flagErr("host", "no host name: give the registry's DNS name, e.g. --host registry.example.com")
	}
	if err := certgen.ValidateHost(a.Host); err != nil {
		return &FlagError{Flag: "host", Err: err}
	}
	if err := certgen.ValidateSANs(a.SANs); err != nil {
		return &FlagError{Flag: "san", Err: err}
	}
	if a.Port < 1 || a.Port > 65535 {
		return flagErr("port", "%d is out of range: use a port from 1 to 65535 (443 is the default)", a.Port)
	}
	if err := ValidateImage(a.Image); err != nil {
		return flagErr("image", "%v: use e.g. %s", err, config.DefaultImage)
	}
	if _, err := dockerctl.ParsePullPolicy(a.Pull); err != nil {
		return &FlagError{Flag: "pull", Err: err}
	}
	if a.ImageArchive != "" {
		fi, err := os.Stat(a.ImageArchive)
		switch {
		case err != nil:
			return flagErr("image-archive", "%v: give the `docker save` tarball (plain or gzip) that holds %s", err, a.Image)
		case !fi.Mode().IsRegular():
			return flagErr("image-archive", "%s is not a file: give the `docker save` tarball (plain or gzip) that holds %s", a.ImageArchive, a.Image)
		}
	}
	if a.Bind != "" && net.ParseIP(a.Bind) == nil {
		return flagErr("bind", "%q is not an IP address: give one of this host's addresses, e.g. --bind 10.0.0.5 (default: all addresses)", a.Bind)
	}
	if !containerName.MatchString(a.Name) {
		return flagErr("name", "%q is not a valid container name: use letters, digits, '_', '.', '-', starting with a letter or digit", a.Name)
	}
	if err := htpasswd.ValidateUser(a.AdminUser); err != nil {
		return &FlagError{Flag: "admin-user", Err: err}
	}
	if err := htpasswd.ValidateUser(a.ReaderUser); err != nil {
		return &FlagError{Flag: "reader-user", Err: err}
	}
	if a.AdminUser == a.ReaderUser {
		return flagErr("reader-user", "the second login must differ from the admin user %q", a.AdminUser)
	}
	if err := validateModes(a); err != nil {
		return err
	}
	if err := certgen.ValidateDays(a.Days); err != nil {
		return &FlagError{Flag: "days", Err: err}
	}
	return nil
}

// ValidateImage checks an image reference as typed, with the parser the
// engine and the registry use, so that a reference refused here is one the
// engine would refuse later, after files were written.
func ValidateImage(s string) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("no image reference")
	}
	if _, err := reference.ParseNormalizedNamed(s); err != nil {
		return fmt.Errorf("%q is not an image reference (%v)", s, err)
	}
	return nil
}

// ErrURLUserinfo is a URL that holds a user name or password.
var ErrURLUserinfo = errors.New("the URL holds a user name or password")

// CheckURLUserinfo refuses a URL with userinfo (https://user:pw@host). The
// error never repeats what comes before the "@": a password typed there
// must not reach the terminal, a log or paxsetup.yaml. The text is cut by
// hand rather than by url.Parse, whose errors quote the whole URL.
func CheckURLUserinfo(raw string) error {
	rest := raw
	if _, after, ok := strings.Cut(rest, "://"); ok {
		rest = after
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.LastIndex(rest, "@"); i >= 0 {
		return fmt.Errorf("%w in front of %q; remove it", ErrURLUserinfo, "@"+rest[i+1:])
	}
	return nil
}

// overlayS3 copies the --s3-* answers of src for which use says yes.
func overlayS3(dst *config.Answers, src *config.S3Config, use func(flag string, zero bool) bool) {
	if src == nil {
		src = &config.S3Config{}
	}
	s3 := func() *config.S3Config {
		if dst.S3 == nil {
			dst.S3 = &config.S3Config{}
		}
		return dst.S3
	}
	for _, f := range []struct {
		flag string
		v    string
		set  func(*config.S3Config, string)
	}{
		{"s3-region", src.Region, func(c *config.S3Config, v string) { c.Region = v }},
		{"s3-bucket", src.Bucket, func(c *config.S3Config, v string) { c.Bucket = v }},
		{"s3-rootdirectory", src.RootDirectory, func(c *config.S3Config, v string) { c.RootDirectory = v }},
		{"s3-regionendpoint", src.RegionEndpoint, func(c *config.S3Config, v string) { c.RegionEndpoint = v }},
		{"s3-credentials-file", src.CredentialsFile, func(c *config.S3Config, v string) { c.CredentialsFile = v }},
	} {
		if use(f.flag, f.v == "") {
			f.set(s3(), f.v)
		}
	}
	if use("s3-encrypt", !src.Encrypt) {
		s3().Encrypt = src.Encrypt
	}
	if use("s3-redirect", !src.Redirect) {
		s3().Redirect = src.Redirect
	}
	if use("s3-secure", src.Secure == nil) {
		s3().Secure = src.Secure
	}
}

// dropUnused forgets saved answers that the chosen mode and storage do not
// use, so that switching modes needs no clean-up; answers given as flags
// stay, for Validate to refuse.
func dropUnused(a *config.Answers, changed func(string) bool) {
	forget := func(flag string, v *string) {
		if !changed(flag) {
			*v = ""
		}
	}
	if a.Mode != config.ModeLetsEncrypt {
		forget("email", &a.Email)
		forget("acme-directory", &a.ACMEDirectory)
		forget("acme-ca-file", &a.ACMECAFile)
	}
	if a.Mode == config.ModeLetsEncrypt && !changed("san") {
		// A certificate's IP SANs saved by another mode are no names
		// Let's Encrypt can issue for.
		a.SANs = slices.DeleteFunc(slices.Clone(a.SANs), func(s string) bool { return render.ValidateACMEHost(s) != nil })
	}
	if a.Mode != config.ModeCustom {
		forget("cert-file", &a.CertFile)
		forget("key-file", &a.KeyFile)
	}
	if a.Mode != config.ModeCustom && a.Mode != config.ModeLetsEncrypt {
		forget("ca-file", &a.CAFile)
	}
	if a.Storage != render.StorageS3 && !slices.ContainsFunc(s3Flags, changed) {
		a.S3 = nil
	}
}

// networkName is Docker's rule for network names, the same as for
// containers.
var networkName = containerName

// checkPEMFile refuses a path that is no regular file of a PEM file's size.
func checkPEMFile(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("cannot read %s: %v", p, errors.Unwrap(err))
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a file", p)
	}
	if fi.Size() > fsutil.MaxPEMFile {
		return fmt.Errorf("%s is larger than %s, more than any certificate chain or key: give the PEM file", p, fsutil.Size(fsutil.MaxPEMFile))
	}
	return nil
}

// checkCertFile refuses a file that holds no certificate: a CA file the
// registry or verify would read as trusting nothing.
func checkCertFile(p string) error {
	if err := checkPEMFile(p); err != nil {
		return err
	}
	if _, err := certgen.LoadCertificates(p); err != nil {
		return err
	}
	return nil
}

// s3Flags set the S3 answers.
var s3Flags = []string{"s3-region", "s3-bucket", "s3-rootdirectory", "s3-regionendpoint", "s3-encrypt", "s3-redirect", "s3-secure", "s3-credentials-file"}

// certFlags are the operator's own certificate, for custom mode.
var certFlags = []struct {
	flag string
	get  func(config.Answers) string
}{
	{"cert-file", func(a config.Answers) string { return a.CertFile }},
	{"key-file", func(a config.Answers) string { return a.KeyFile }},
	{"ca-file", func(a config.Answers) string { return a.CAFile }},
}

// validateModes checks the answers that depend on the mode and the storage:
// each flag is used by one mode or storage only, and what that mode needs is
// there. The registry's own values are checked by render.Registry, which
// writes them.
func validateModes(a config.Answers) error {
	// Zero is an answer that was never set: the default cost. Merge fills
	// in the default, so a zero typed as --bcrypt-cost is refused by init.
	if a.BcryptCost != 0 {
		if err := htpasswd.ValidateCost(a.BcryptCost); err != nil {
			return &FlagError{Flag: "bcrypt-cost", Err: errors.New(strings.TrimPrefix(err.Error(), "--bcrypt-cost "))}
		}
	}
	if !slices.Contains(render.StorageDrivers, a.Storage) {
		return flagErr("storage", "unknown storage %q: use filesystem (packs under <dir>/data), inmemory (lost on restart) or s3", a.Storage)
	}
	if a.Storage != render.StorageS3 && a.S3 != nil {
		return flagErr("storage", "--s3-* flags are for --storage s3, not %s: add --storage s3 or drop them", a.Storage)
	}
	if err := CheckURLUserinfo(a.ACMEDirectory); err != nil {
		return flagErr("acme-directory", "%v: give the directory's URL alone", err)
	}
	if a.S3 != nil {
		if err := CheckURLUserinfo(a.S3.RegionEndpoint); err != nil {
			return flagErr("s3-regionendpoint", "%v: give the keys with --s3-credentials-file or %s and %s", err, secretenv.S3AccessKey, secretenv.S3SecretKey)
		}
	}
	if a.Mode != config.ModeLetsEncrypt {
		if a.Email != "" {
			return flagErr("email", "the email is Let's Encrypt's account contact: use it with --mode letsencrypt, or drop it")
		}
		if a.ACMEDirectory != "" {
			return flagErr("acme-directory", "the ACME directory is for --mode letsencrypt: drop it or add --mode letsencrypt")
		}
		if a.ACMECAFile != "" {
			return flagErr("acme-ca-file", "the ACME directory's CA is for --mode letsencrypt: drop it or add --mode letsencrypt")
		}
	}
	if a.Network != "" && !networkName.MatchString(a.Network) {
		return flagErr("network", "%q is not a Docker network name: give the name of an existing network (docker network ls)", a.Network)
	}
	if slices.Contains([]string{"bridge", "host", "none"}, a.Network) {
		// The engine gives aliases only on user-defined networks, and host
		// or none would leave the published port unreachable.
		return flagErr("network", "%q is one of the engine's own networks, on which the registry cannot have --host as its name: give a network made with docker network create, or drop --network", a.Network)
	}
	switch a.Mode {
	case config.ModeLetsEncrypt:
		for _, c := range certFlags[:2] {
			if c.get(a) != "" {
				return flagErr(c.flag, "--mode letsencrypt obtains its certificate itself; drop --cert-file and --key-file (--ca-file is the root of a private ACME CA), or use --mode custom to serve your own")
			}
		}
		if a.CAFile != "" {
			if err := checkCertFile(a.CAFile); err != nil {
				return flagErr("ca-file", "%v: give the PEM root the private ACME CA issues from", err)
			}
		}
		if a.ACMEDirectory == "" && a.ACMECAFile != "" {
			return flagErr("acme-ca-file", "Let's Encrypt's directory has a public certificate: give --acme-directory with it, or drop it")
		}
		if a.ACMECAFile != "" {
			if err := checkCertFile(a.ACMECAFile); err != nil {
				return flagErr("acme-ca-file", "%v: give the PEM CA of the ACME directory's HTTPS certificate", err)
			}
		}
	case config.ModeCustom:
		// A joined node serves the certificate its bundle installed; the
		// operator's files stay on the host that exported it.
		if a.Node != nil {
			break
		}
		for _, c := range certFlags {
			p := c.get(a)
			if p == "" {
				return flagErr(c.flag, "--mode custom serves your own certificate: give --cert-file (server certificate, PEM), --key-file (its key) and --ca-file (the CA chain)")
			}
			if err := checkPEMFile(p); err != nil {
				return &FlagError{Flag: c.flag, Err: err}
			}
		}
	default:
		for _, c := range certFlags {
			if c.get(a) != "" {
				return flagErr(c.flag, "the certificate flags are for --mode custom; with --mode %s paxsetup makes the certificate", a.Mode)
			}
		}
	}
	if a.Storage == render.StorageS3 && a.S3 == nil {
		a.S3 = &config.S3Config{}
	}
	if err := render.FromAnswers(a).Validate(); err != nil {
		var ve *render.ValueError
		if errors.As(err, &ve) {
			return &FlagError{Flag: ve.Flag, Err: ve.Err}
		}
		return err
	}
	return nil
}
