// Package wizard decides the answers of an init run: from flags, then the
// answers saved by the previous run, then defaults, and, on a terminal, from
// the operator through a Prompter. Every answer is validated here, before
// anything is written or started.
package wizard

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/paxsetup/paxsetup/internal/certgen"
	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/dockerctl"
	"github.com/paxsetup/paxsetup/internal/htpasswd"
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
	if s.Saved != nil {
		// A value missing from the file keeps its default.
		overlay(&a, *s.Saved, func(_ string, zero bool) bool { return !zero })
	}
	// A flag given on the command line wins even when it is empty or zero:
	// `--port 0` must be refused, not quietly replaced.
	overlay(&a, s.Flags, func(flag string, _ bool) bool { return s.Changed(flag) })
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
	str("name", &dst.Name, src.Name)
	str("admin-user", &dst.AdminUser, src.AdminUser)
	str("reader-user", &dst.ReaderUser, src.ReaderUser)
	str("admin-password-file", &dst.AdminPasswordFile, src.AdminPasswordFile)
	str("reader-password-file", &dst.ReaderPasswordFile, src.ReaderPasswordFile)
	str("storage", &dst.Storage, src.Storage)
	num("port", &dst.Port, src.Port)
	num("days", &dst.Days, src.Days)
	if use("san", len(src.SANs) == 0) {
		dst.SANs = Union(dst.SANs, src.SANs)
	}
}

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
	case config.ModeSelfSigned:
	case config.ModeLetsEncrypt, config.ModeCustom, config.ModeHTTP:
		return flagErr("mode", "mode %q is not available in this version; use --mode selfsigned", a.Mode)
	default:
		return flagErr("mode", "unknown mode %q: use selfsigned, letsencrypt, custom or http", a.Mode)
	}
	if a.Host == "" {
		return flagErr("host", "no host name: give the registry's DNS name, e.g. --host registry.example.com")
	}
	if err := certgen.ValidateHost(a.Host); err != nil {
		return &FlagError{Flag: "host", Err: err}
	}
	for _, s := range a.SANs {
		if err := certgen.ValidateSAN(s); err != nil {
			return &FlagError{Flag: "san", Err: err}
		}
	}
	if a.Port < 1 || a.Port > 65535 {
		return flagErr("port", "%d is out of range: use a port from 1 to 65535 (443 is the default)", a.Port)
	}
	if strings.TrimSpace(a.Image) == "" || strings.ContainsAny(a.Image, " \t\n") {
		return flagErr("image", "%q is not an image reference: use e.g. %s", a.Image, config.DefaultImage)
	}
	if _, err := dockerctl.ParsePullPolicy(a.Pull); err != nil {
		return &FlagError{Flag: "pull", Err: err}
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
		return flagErr("reader-user", "the read-only user must differ from the admin user %q", a.AdminUser)
	}
	if a.Storage != config.DefaultStorage {
		return flagErr("storage", "storage %q is not available in this version; use --storage filesystem", a.Storage)
	}
	if a.Days <= 0 {
		return flagErr("days", "%d days: the certificate must be valid for at least one day", a.Days)
	}
	return nil
}
