package wizard

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/paxsetup/paxsetup/internal/answers"
	"github.com/paxsetup/paxsetup/internal/certgen"
	"github.com/paxsetup/paxsetup/internal/config"
)

// result turns the answers into what init runs with.
func (q *questions) result() Result {
	res := Result{Answers: q.a, AdminPassword: q.admin, ReaderPassword: q.reader, Rerun: q.existing != nil}
	a := &res.Answers
	if q.existing != nil {
		switch q.rerun.answer() {
		case RerunKeep:
			return res
		case RerunRenew:
			res.RenewCert = true
			return res
		case RerunImage:
			a.Image = q.upgradeImage.answer()
			return res
		case RerunStartOver:
			res.Force = true
		}
	}
	set := func(q *question, v *string) {
		if q.asked() {
			*v = q.answer()
		}
	}
	set(q.mode, &a.Mode)
	set(q.host, &a.Host)
	if q.sans.asked() {
		a.SANs = splitList(q.sans.answer())
	}
	set(q.email, &a.Email)
	set(q.certFile, &a.CertFile)
	set(q.keyFile, &a.KeyFile)
	set(q.caFile, &a.CAFile)
	if q.port.asked() {
		a.Port, _ = parsePort(q.port.answer())
	}
	set(q.adminUser, &a.AdminUser)
	set(q.readerUser, &a.ReaderUser)
	set(q.image, &a.Image)
	set(q.storage, &a.Storage)
	if q.s3Bucket.asked() {
		s3 := config.S3Config{}
		if a.S3 != nil {
			s3 = *a.S3
		}
		s3.Bucket, s3.Region = q.s3Bucket.answer(), q.s3Region.answer()
		s3.RegionEndpoint, s3.CredentialsFile = q.s3Endpoint.answer(), q.s3Keys.answer()
		a.S3 = &s3
	}
	for _, p := range []struct {
		q  *question
		pw *answers.Password
	}{{q.adminPW, &res.AdminPassword}, {q.readerPW, &res.ReaderPassword}} {
		if v := p.q.answer(); v != "" {
			*p.pw = answers.Password{Value: v, Source: SourceTyped}
		}
	}
	return res
}

func describeExisting(a config.Answers, e *Existing) string {
	if e == nil {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s mode), container %q: %s", a.HostPort(), a.Mode, a.Name, e.Container)
	if e.CertDaysLeft >= 0 {
		fmt.Fprintf(&b, "; certificate: %d days left", e.CertDaysLeft)
	}
	if len(e.Users) > 0 {
		fmt.Fprintf(&b, "; logins: %s", strings.Join(e.Users, ", "))
	}
	return b.String()
}

// parsePort reads a port as a person types it: decimal, 1 to 65535.
func parsePort(s string) (int, error) {
	p, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("%q is not a port: use 1 to 65535", s)
	}
	return p, nil
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
