package wizard

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/paxsetup/paxsetup/internal/certgen"
	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/htpasswd"
	"github.com/paxsetup/paxsetup/internal/templates"
)

// Checks are what the wizard asks of the host while it asks the operator,
// so that a problem is caught at the question that can fix it.
type Checks struct {
	// PortProblem says why the port cannot be used, or returns nil.
	PortProblem func(port int) error
	// FreePort suggests a free port at or after from.
	FreePort func(from int) int
	// LintCertificate checks the operator's own certificate (custom mode)
	// for host and returns an error that says what is wrong.
	LintCertificate func(certFile, keyFile, caFile, host string) error
}

// Existing is what an earlier run left, shown before a re-run.
type Existing struct {
	Container    string // e.g. "running since 2026-11-22 08:44", "stopped", "absent"
	CertDaysLeft int    // < 0 when there is no readable certificate
	Users        []string
}

// Re-run choices.
const (
	RerunKeep      = "keep"
	RerunRenew     = "renew"
	RerunPasswords = "passwords"
	RerunImage     = "image"
	RerunStartOver = "start-over"
)

// Result is what the operator chose.
type Result struct {
	Answers        config.Answers
	AdminPassword  Password
	ReaderPassword Password
	// RenewCert issues a new server certificate from the same CA.
	RenewCert bool
	// Force replaces the certificate and the generated passwords.
	Force bool
	// Rerun is set when the setup existed before.
	Rerun bool
}

// SourceTyped marks a password the operator typed in the wizard.
const SourceTyped = "typed"

// Flow asks the questions of `paxsetup init` that no flag answered.
type Flow struct {
	P       Prompter
	Changed func(flag string) bool
	Checks  Checks
	// HostIPs are added to the certificate whatever the answers; shown in help.
	HostIPs []string
}

func (f *Flow) given(flag string) bool { return f.Changed != nil && f.Changed(flag) }

var modeOptions = []Option{
	{config.ModeSelfSigned, "Self-signed: paxsetup makes a CA and the certificate (most sites; upload chain.pem to Palette)"},
	{config.ModeLetsEncrypt, "Let's Encrypt: a public DNS name and port 443 reachable from the internet"},
	{config.ModeCustom, "Own certificate: you have a certificate from your company's CA"},
	{config.ModeHTTP, "Plain HTTP: labs only, clients need --insecure"},
}

// Ask runs the questions. a holds the merged answers (flags, then saved
// answers, then defaults), which are the defaults offered; existing is nil on
// a first run; admin and reader are passwords already given by file or
// environment, whose questions are skipped.
func (f *Flow) Ask(a config.Answers, existing *Existing, admin, reader Password) (Result, error) {
	res := Result{Answers: a, AdminPassword: admin, ReaderPassword: reader, Rerun: existing != nil}
	if existing != nil {
		choice, err := f.P.Select("This host already has a pack registry set up",
			describeExisting(a, existing),
			[]Option{
				{RerunKeep, "Keep it and verify it"},
				{RerunRenew, "Renew the server certificate (same CA, clients keep trusting it)"},
				{RerunPasswords, "Change passwords"},
				{RerunImage, "Change the registry image (upgrade)"},
				{RerunStartOver, "Start over: answer every question again (packs in data/ are kept)"},
			}, RerunKeep)
		if err != nil {
			return res, err
		}
		switch choice {
		case RerunKeep:
			return res, nil
		case RerunRenew:
			res.RenewCert = true
			return res, nil
		case RerunPasswords:
			return res, f.askPasswords(&res, true)
		case RerunImage:
			img, err := f.P.Input("Registry image", "The new image; the old container keeps running until the new one answers.", a.Image, validImage)
			if err != nil {
				return res, err
			}
			res.Answers.Image = img
			return res, nil
		case RerunStartOver:
			res.Force = true
		}
	}

	if err := f.askMode(&res.Answers); err != nil {
		return res, err
	}
	if err := f.askPort(&res.Answers); err != nil {
		return res, err
	}
	// Users may be renamed in the advanced settings: passwords come after.
	if err := f.askAdvanced(&res.Answers); err != nil {
		return res, err
	}
	if err := f.askPasswords(&res, existing != nil && !res.Force); err != nil {
		return res, err
	}
	return res, nil
}

func describeExisting(a config.Answers, e *Existing) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s mode), container %q: %s", net.JoinHostPort(a.Host, strconv.Itoa(a.Port)), a.Mode, a.Name, e.Container)
	if e.CertDaysLeft >= 0 {
		fmt.Fprintf(&b, "; certificate: %d days left", e.CertDaysLeft)
	}
	if len(e.Users) > 0 {
		fmt.Fprintf(&b, "; users: %s", strings.Join(e.Users, ", "))
	}
	return b.String()
}

func (f *Flow) askMode(a *config.Answers) error {
	var err error
	if !f.given("mode") {
		if a.Mode, err = f.P.Select("How should the registry get its certificate?", "", modeOptions, a.Mode); err != nil {
			return err
		}
	}
	if !f.given("host") {
		help := "The name Palette and the spectro CLI use to reach the registry: the certificate's CN."
		validate := certgen.ValidateHost
		if a.Mode == config.ModeLetsEncrypt {
			help = "A public DNS name that resolves to this host (Let's Encrypt does not issue for IPs)."
			validate = templates.ValidateACMEHost
		}
		if a.Host, err = f.P.Input("Registry host name", help, a.Host, validate); err != nil {
			return err
		}
	}
	switch a.Mode {
	case config.ModeSelfSigned:
		if !f.given("san") {
			help := "Comma-separated DNS names or IPs clients also use."
			if len(f.HostIPs) > 0 {
				help += " This host's addresses are always included: " + strings.Join(f.HostIPs, ", ") + "."
			}
			sans, err := f.P.Input("Other names for the certificate", help, strings.Join(a.SANs, ","), validateSANList)
			if err != nil {
				return err
			}
			a.SANs = splitList(sans)
		}
	case config.ModeLetsEncrypt:
		if !f.given("email") {
			if a.Email, err = f.P.Input("Email for Let's Encrypt", "Expiry notices go here.", a.Email, templates.ValidateEmail); err != nil {
				return err
			}
		}
	case config.ModeCustom:
		if err := f.askCustom(a); err != nil {
			return err
		}
	}
	return nil
}

func (f *Flow) askCustom(a *config.Answers) error {
	var err error
	if !f.given("cert-file") {
		if a.CertFile, err = f.P.Input("Server certificate (PEM file)", "The certificate, then any intermediates.", a.CertFile, fileExists); err != nil {
			return err
		}
	}
	if !f.given("key-file") {
		if a.KeyFile, err = f.P.Input("Its private key (PEM file)", "", a.KeyFile, fileExists); err != nil {
			return err
		}
	}
	if !f.given("ca-file") {
		lint := func(path string) error {
			if err := fileExists(path); err != nil {
				return err
			}
			if f.Checks.LintCertificate == nil {
				return nil
			}
			return f.Checks.LintCertificate(a.CertFile, a.KeyFile, path, a.Host)
		}
		if a.CAFile, err = f.P.Input("The CA chain that signed it (PEM file)", "Palette gets the full chain; the certificate is checked now.", a.CAFile, lint); err != nil {
			return err
		}
	}
	return nil
}

// askPort asks for the port only when the chosen one cannot be used, and
// offers a free one: the check runs before the question that can fix it.
func (f *Flow) askPort(a *config.Answers) error {
	if f.Checks.PortProblem == nil {
		return nil
	}
	problem := f.Checks.PortProblem(a.Port)
	if problem == nil {
		return nil
	}
	suggest := a.Port
	if f.Checks.FreePort != nil {
		suggest = f.Checks.FreePort(a.Port)
	}
	v, err := f.P.Input("Port for the registry", problem.Error(), strconv.Itoa(suggest), func(s string) error {
		p, err := strconv.Atoi(s)
		if err != nil || p < 1 || p > 65535 {
			return fmt.Errorf("%q is not a port: use 1 to 65535", s)
		}
		return f.Checks.PortProblem(p)
	})
	if err != nil {
		return err
	}
	a.Port, _ = strconv.Atoi(v)
	return nil
}

// askPasswords asks for each password not given by file or environment.
// Enter generates one, or, for a user the setup already has, keeps it.
func (f *Flow) askPasswords(res *Result, keepable bool) error {
	for _, u := range []struct {
		user *string
		pw   *Password
		flag string
	}{
		{&res.Answers.AdminUser, &res.AdminPassword, "admin-password-file"},
		{&res.Answers.ReaderUser, &res.ReaderPassword, "reader-password-file"},
	} {
		if u.pw.Value != "" || f.given(u.flag) {
			continue
		}
		pw, err := f.askPassword(*u.user, keepable)
		if err != nil {
			return err
		}
		if pw != "" {
			*u.pw = Password{Value: pw, Source: SourceTyped}
		}
	}
	return nil
}

func (f *Flow) askPassword(user string, keepable bool) (string, error) {
	help := "Enter alone: paxsetup generates one and shows it once."
	if keepable {
		help = "Enter alone keeps the current password."
	}
	pw, err := f.P.Password("Password for "+user, help, func(s string) error {
		if s == "" {
			return nil
		}
		return htpasswd.ValidatePassword(user, s)
	})
	if err != nil || pw == "" {
		return "", err
	}
	_, err = f.P.Password("Password for "+user+" again", "", func(s string) error {
		if s != pw {
			return errors.New("the passwords differ: type the same one again")
		}
		return nil
	})
	return pw, err
}

func (f *Flow) askAdvanced(a *config.Answers) error {
	more, err := f.P.Confirm("Change advanced settings?",
		fmt.Sprintf("port %d, users %s and %s, image %s, storage %s", a.Port, a.AdminUser, a.ReaderUser, a.Image, a.Storage), false)
	if err != nil || !more {
		return err
	}
	if !f.given("port") {
		v, err := f.P.Input("Port for the registry", "The host port Palette connects to.", strconv.Itoa(a.Port), func(s string) error {
			p, err := strconv.Atoi(s)
			if err != nil || p < 1 || p > 65535 {
				return fmt.Errorf("%q is not a port: use 1 to 65535", s)
			}
			if f.Checks.PortProblem != nil {
				return f.Checks.PortProblem(p)
			}
			return nil
		})
		if err != nil {
			return err
		}
		a.Port, _ = strconv.Atoi(v)
	}
	if !f.given("admin-user") {
		if a.AdminUser, err = f.P.Input("Read-write user", "", a.AdminUser, htpasswd.ValidateUser); err != nil {
			return err
		}
	}
	if !f.given("reader-user") {
		if a.ReaderUser, err = f.P.Input("Read-only user", "", a.ReaderUser, func(s string) error {
			if s == a.AdminUser {
				return fmt.Errorf("the read-only user must differ from %q", a.AdminUser)
			}
			return htpasswd.ValidateUser(s)
		}); err != nil {
			return err
		}
	}
	if !f.given("image") {
		if a.Image, err = f.P.Input("Registry image", "", a.Image, validImage); err != nil {
			return err
		}
	}
	if !f.given("storage") {
		if a.Storage, err = f.P.Select("Where are packs stored?", "", []Option{
			{"filesystem", "On this host, in data/ (kept across restarts)"},
			{"inmemory", "In memory: every pack is lost when the container restarts (tests only)"},
			{"s3", "S3 or MinIO bucket"},
		}, a.Storage); err != nil {
			return err
		}
		if a.Storage == "s3" {
			return f.askS3(a)
		}
	}
	return nil
}

func (f *Flow) askS3(a *config.Answers) error {
	if a.S3 == nil {
		a.S3 = &config.S3Config{}
	}
	s := a.S3
	nonEmpty := func(what string) func(string) error {
		return func(v string) error {
			if strings.TrimSpace(v) == "" {
				return fmt.Errorf("%s is required", what)
			}
			return nil
		}
	}
	var err error
	if s.Bucket, err = f.P.Input("S3 bucket", "", s.Bucket, nonEmpty("the bucket")); err != nil {
		return err
	}
	if s.Region, err = f.P.Input("S3 region", "", s.Region, nonEmpty("the region")); err != nil {
		return err
	}
	if s.RegionEndpoint, err = f.P.Input("S3 endpoint URL", "Only for MinIO and other S3-compatible stores; empty for AWS.", s.RegionEndpoint, nil); err != nil {
		return err
	}
	s.CredentialsFile, err = f.P.Input("File with the access key and secret", "Two lines: access key, then secret. Never typed here, never saved.", s.CredentialsFile, fileExists)
	return err
}

func validImage(s string) error {
	if strings.TrimSpace(s) == "" || strings.ContainsAny(s, " \t\n") {
		return fmt.Errorf("%q is not an image reference", s)
	}
	return nil
}

func validateSANList(s string) error {
	for _, v := range splitList(s) {
		if err := certgen.ValidateSAN(v); err != nil {
			return err
		}
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		out = append(out, v)
	}
	return out
}

func fileExists(p string) error {
	if p == "" {
		return errors.New("a file is required")
	}
	fi, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("cannot read %s: %v", p, err)
	}
	if fi.IsDir() {
		return fmt.Errorf("%s is a folder, not a file", p)
	}
	return nil
}
