package wizard

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/paxsetup/paxsetup/internal/answers"
	"github.com/paxsetup/paxsetup/internal/config"
)

// fakePrompter answers questions by title. Each answer is a list of tries:
// every try but the last must be refused by the question's validation, as
// when an operator types something wrong and corrects it.
type fakePrompter struct {
	t       *testing.T
	answers map[string][]string
	asked   []string
	refused map[string][]string // title -> validation errors shown
}

func newFake(t *testing.T, answers map[string][]string) *fakePrompter {
	return &fakePrompter{t: t, answers: answers, refused: map[string][]string{}}
}

func (f *fakePrompter) answer(title string, validate func(string) error) (string, error) {
	f.asked = append(f.asked, title)
	tries, ok := f.answers[title]
	if !ok {
		return "", fmt.Errorf("unexpected question %q", title)
	}
	for i, try := range tries {
		var err error
		if validate != nil {
			err = validate(try)
		}
		last := i == len(tries)-1
		switch {
		case err != nil && last:
			return "", fmt.Errorf("question %q: the last try %q was refused: %v", title, try, err)
		case err == nil && !last:
			return "", fmt.Errorf("question %q: try %q should have been refused", title, try)
		case err != nil:
			f.refused[title] = append(f.refused[title], err.Error())
		default:
			return try, nil
		}
	}
	return "", fmt.Errorf("question %q has no tries", title)
}

func (f *fakePrompter) Input(title, help, def string, validate func(string) error) (string, error) {
	v, err := f.answer(title, func(s string) error {
		if s == "" {
			s = def
		}
		if validate == nil {
			return nil
		}
		return validate(s)
	})
	if v == "" {
		v = def
	}
	return v, err
}

func (f *fakePrompter) Password(title, help string, validate func(string) error) (string, error) {
	return f.answer(title, validate)
}

func (f *fakePrompter) Confirm(title, help string, def bool) (bool, error) {
	v, err := f.answer(title, nil)
	if v == "" {
		return def, err
	}
	return v == "yes", err
}

func (f *fakePrompter) Select(title, help string, options []Option, def string) (string, error) {
	v, err := f.answer(title, func(s string) error {
		if s == "" {
			return nil
		}
		for _, o := range options {
			if o.Value == s {
				return nil
			}
		}
		return fmt.Errorf("no option %q", s)
	})
	if v == "" {
		v = def
	}
	return v, err
}

func base() config.Answers {
	a := config.Defaults()
	a.Host = "registry.example.com"
	return a
}

const (
	qMode     = "How should the registry get its certificate?"
	qHost     = "Registry host name"
	qSANs     = "Other names for the certificate"
	qAdminPW  = "Password for admin"
	qAdminPW2 = "Password for admin again"
	qReadPW   = "Password for spectro"
	qReadPW2  = "Password for spectro again"
	qAdvanced = "Change advanced settings?"
	qRerun    = "This host already has a pack registry. What now?"
)

func TestFlowFirstRun(t *testing.T) {
	dir := t.TempDir()
	certFile := filepath.Join(dir, "tls.crt")
	keyFile := filepath.Join(dir, "tls.key")
	caFile := filepath.Join(dir, "ca.crt")
	for _, p := range []string{certFile, keyFile, caFile} {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		answers map[string][]string
		changed []string
		admin   answers.Password
		checks  Checks
		want    func(t *testing.T, r Result, f *fakePrompter)
	}{
		{
			name:    "every default with Enter, passwords generated",
			answers: map[string][]string{qMode: {""}, qHost: {""}, qSANs: {""}, qAdminPW: {""}, qReadPW: {""}, qAdvanced: {""}},
			want: func(t *testing.T, r Result, f *fakePrompter) {
				if r.Answers.Mode != config.ModeSelfSigned || r.Answers.Host != "registry.example.com" || len(r.Answers.SANs) != 0 {
					t.Errorf("answers = %+v", r.Answers)
				}
				if r.AdminPassword.Value != "" || r.ReaderPassword.Value != "" {
					t.Errorf("Enter alone must leave the password to be generated")
				}
				if slices.Contains(f.asked, qAdminPW2) {
					t.Errorf("no confirmation is asked for a generated password")
				}
			},
		},
		{
			name: "typed values with mistakes corrected",
			answers: map[string][]string{
				qMode: {""}, qHost: {"reg_1.local", "bad host", "reg1.example.com"}, qSANs: {"10.0.0.5, bad_name", "10.0.0.5, reg1"},
				qAdminPW: {"short", "admin", "admin-password-0123"}, qAdminPW2: {"admin-password-0124", "admin-password-0123"},
				qReadPW: {"reader-password-4567"}, qReadPW2: {"reader-password-4567"}, qAdvanced: {""},
			},
			want: func(t *testing.T, r Result, f *fakePrompter) {
				if r.Answers.Host != "reg1.example.com" || !slices.Equal(r.Answers.SANs, []string{"10.0.0.5", "reg1"}) {
					t.Errorf("answers = %+v", r.Answers)
				}
				if r.AdminPassword.Value != "admin-password-0123" || r.AdminPassword.Source != SourceTyped {
					t.Errorf("admin password = %+v", r.AdminPassword)
				}
				if got := f.refused[qHost]; len(got) != 2 || !strings.Contains(got[0], `"_"`) {
					t.Errorf("host errors shown = %v", got)
				}
				if got := f.refused[qAdminPW]; len(got) != 2 || !strings.Contains(got[0], "at least 12") {
					t.Errorf("password errors shown = %v", got)
				}
				if got := f.refused[qAdminPW2]; len(got) != 1 || !strings.Contains(got[0], "differ") {
					t.Errorf("confirmation errors shown = %v", got)
				}
			},
		},
		{
			name:    "flags given skip their questions",
			changed: []string{"mode", "host", "san", "admin-password-file"},
			admin:   answers.Password{Value: "from-a-file-1234", Source: "file /x"},
			answers: map[string][]string{qReadPW: {""}, qAdvanced: {""}},
			want: func(t *testing.T, r Result, f *fakePrompter) {
				if !slices.Equal(f.asked, []string{qAdvanced, qReadPW}) {
					t.Errorf("asked %v", f.asked)
				}
				if r.AdminPassword.Value != "from-a-file-1234" {
					t.Errorf("admin password = %+v", r.AdminPassword)
				}
			},
		},
		{
			name: "lets encrypt asks a DNS name and an email",
			answers: map[string][]string{
				qMode: {config.ModeLetsEncrypt}, qHost: {"10.0.0.1", "registry.example.com"},
				"Email for Let's Encrypt": {"nope", "ops@example.com"}, qAdminPW: {""}, qReadPW: {""}, qAdvanced: {""},
			},
			want: func(t *testing.T, r Result, f *fakePrompter) {
				if r.Answers.Mode != config.ModeLetsEncrypt || r.Answers.Email != "ops@example.com" {
					t.Errorf("answers = %+v", r.Answers)
				}
				if slices.Contains(f.asked, qSANs) {
					t.Error("Let's Encrypt certificates take no extra SANs here")
				}
				if got := f.refused[qHost]; len(got) != 1 || !strings.Contains(got[0], "IP address") {
					t.Errorf("host errors = %v", got)
				}
			},
		},
		{
			name: "own certificate is linted as soon as it is entered",
			answers: map[string][]string{
				qMode: {config.ModeCustom}, qHost: {""},
				"Server certificate (PEM file)":          {filepath.Join(dir, "absent.crt"), certFile},
				"Its private key (PEM file)":             {keyFile},
				"The CA chain that signed it (PEM file)": {caFile + ".bad", caFile},
				qAdminPW:                                 {""}, qReadPW: {""}, qAdvanced: {""},
			},
			checks: Checks{LintCertificate: func(cert, key, ca, host string) error {
				if cert != certFile || key != keyFile || host != "registry.example.com" {
					return fmt.Errorf("lint got %s %s %s", cert, key, host)
				}
				return nil
			}},
			want: func(t *testing.T, r Result, f *fakePrompter) {
				if r.Answers.CertFile != certFile || r.Answers.KeyFile != keyFile || r.Answers.CAFile != caFile {
					t.Errorf("answers = %+v", r.Answers)
				}
			},
		},
		{
			name: "own certificate refused by the lint",
			answers: map[string][]string{
				qMode: {config.ModeCustom}, qHost: {""},
				"Server certificate (PEM file)": {certFile}, "Its private key (PEM file)": {keyFile},
				"The CA chain that signed it (PEM file)": {caFile, caFile},
				qAdminPW:                                 {""}, qReadPW: {""}, qAdvanced: {""},
			},
			checks: Checks{LintCertificate: func() func(string, string, string, string) error {
				n := 0
				return func(string, string, string, string) error {
					n++
					if n == 1 {
						return errors.New("tls.crt does not cover registry.example.com")
					}
					return nil
				}
			}()},
			want: func(t *testing.T, r Result, f *fakePrompter) {
				if got := f.refused["The CA chain that signed it (PEM file)"]; len(got) != 1 || !strings.Contains(got[0], "does not cover") {
					t.Errorf("lint errors shown = %v", got)
				}
			},
		},
		{
			name:    "plain HTTP asks no certificate questions",
			answers: map[string][]string{qMode: {config.ModeHTTP}, qHost: {""}, qAdminPW: {""}, qReadPW: {""}, qAdvanced: {""}},
			want: func(t *testing.T, r Result, f *fakePrompter) {
				if r.Answers.Mode != config.ModeHTTP {
					t.Errorf("mode = %q", r.Answers.Mode)
				}
				if slices.Contains(f.asked, qSANs) || slices.Contains(f.asked, "Email for Let's Encrypt") {
					t.Errorf("asked %v", f.asked)
				}
				if s := Summary("/srv/pax", r, nil, 0); !strings.Contains(s, "http://registry.example.com:443 (http mode)") {
					t.Errorf("summary:\n%s", s)
				}
			},
		},
		{
			name: "a taken port offers a free one",
			answers: map[string][]string{
				qMode: {""}, qHost: {""}, qSANs: {""}, "Port for the registry": {"8080", ""},
				qAdminPW: {""}, qReadPW: {""}, qAdvanced: {""},
			},
			checks: Checks{
				PortProblem: func(p int) error {
					if p == 443 || p == 8080 {
						return fmt.Errorf("port %d is published by container \"web\"", p)
					}
					return nil
				},
				FreePort: func(int) int { return 8443 },
			},
			want: func(t *testing.T, r Result, f *fakePrompter) {
				if r.Answers.Port != 8443 {
					t.Errorf("port = %d, want the offered 8443", r.Answers.Port)
				}
			},
		},
		{
			name: "advanced settings",
			answers: map[string][]string{
				qMode: {""}, qHost: {""}, qSANs: {""}, qAdvanced: {"yes"},
				"Port for the registry": {"99999", "9443"}, "Your login name": {"ad:min", "root"}, "Second login, for Palette": {"root", "viewer"},
				"Registry image": {"my image", "registry.local/spectro-registry:4.7.0"}, "Where are packs stored?": {"inmemory"},
				"Password for root": {""}, "Password for viewer": {""},
			},
			want: func(t *testing.T, r Result, f *fakePrompter) {
				a := r.Answers
				if a.Port != 9443 || a.AdminUser != "root" || a.ReaderUser != "viewer" || a.Image != "registry.local/spectro-registry:4.7.0" || a.Storage != "inmemory" {
					t.Errorf("answers = %+v", a)
				}
			},
		},
		{
			name: "advanced S3 storage",
			answers: map[string][]string{
				qMode: {""}, qHost: {""}, qSANs: {""}, qAdminPW: {""}, qReadPW: {""}, qAdvanced: {"yes"},
				"Port for the registry": {""}, "Your login name": {""}, "Second login, for Palette": {""}, "Registry image": {""},
				"Where are packs stored?": {"s3"}, "S3 bucket": {"", "packs"}, "S3 region": {"us-east-1"},
				"S3 endpoint URL": {"http://minio:9000"}, "File with the access key and secret": {filepath.Join(dir, "none"), keyFile},
			},
			want: func(t *testing.T, r Result, f *fakePrompter) {
				s := r.Answers.S3
				if r.Answers.Storage != "s3" || s == nil || s.Bucket != "packs" || s.Region != "us-east-1" || s.RegionEndpoint != "http://minio:9000" || s.CredentialsFile != keyFile {
					t.Errorf("answers = %+v, s3 = %+v", r.Answers, s)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newFake(t, tt.answers)
			flow := &Flow{P: p, Changed: func(f string) bool { return slices.Contains(tt.changed, f) }, Checks: tt.checks}
			res, err := flow.Ask(base(), nil, tt.admin, answers.Password{})
			if err != nil {
				t.Fatal(err)
			}
			tt.want(t, res, p)
		})
	}
}

func TestFlowRerun(t *testing.T) {
	existing := &Existing{Container: "running since 2026-11-22 08:44", CertDaysLeft: 800, Users: []string{"admin", "spectro"}}
	tests := []struct {
		name    string
		answers map[string][]string
		want    func(t *testing.T, r Result, f *fakePrompter)
	}{
		{
			name:    "keep and verify asks nothing else",
			answers: map[string][]string{qRerun: {""}},
			want: func(t *testing.T, r Result, f *fakePrompter) {
				if len(f.asked) != 1 || r.RenewCert || r.Force || r.Answers.Host != "registry.example.com" {
					t.Errorf("asked %v, result %+v", f.asked, r)
				}
			},
		},
		{
			name:    "renew the certificate",
			answers: map[string][]string{qRerun: {RerunRenew}},
			want: func(t *testing.T, r Result, f *fakePrompter) {
				if !r.RenewCert || r.Force {
					t.Errorf("result %+v", r)
				}
			},
		},
		{
			name: "change passwords, Enter keeps one",
			answers: map[string][]string{qRerun: {RerunPasswords}, qAdminPW: {"new-admin-password-1"}, qAdminPW2: {"new-admin-password-1"},
				qReadPW: {""}},
			want: func(t *testing.T, r Result, f *fakePrompter) {
				if r.AdminPassword.Value != "new-admin-password-1" || r.ReaderPassword.Value != "" {
					t.Errorf("passwords %+v %+v", r.AdminPassword, r.ReaderPassword)
				}
			},
		},
		{
			name:    "change the image",
			answers: map[string][]string{qRerun: {RerunImage}, "Which registry image?": {"spectro registry", "spectro-registry:4.8.0"}},
			want: func(t *testing.T, r Result, f *fakePrompter) {
				if r.Answers.Image != "spectro-registry:4.8.0" {
					t.Errorf("image %q", r.Answers.Image)
				}
				if got := f.refused["Which registry image?"]; len(got) != 1 || !strings.Contains(got[0], "not an image reference") {
					t.Errorf("image errors shown = %v", got)
				}
			},
		},
		{
			name: "start over asks everything with the saved answers as defaults",
			answers: map[string][]string{qRerun: {RerunStartOver}, qMode: {""}, qHost: {""}, qSANs: {""},
				qAdminPW: {""}, qReadPW: {""}, qAdvanced: {""}},
			want: func(t *testing.T, r Result, f *fakePrompter) {
				if !r.Force || r.Answers.Host != "registry.example.com" {
					t.Errorf("result %+v", r)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newFake(t, tt.answers)
			res, err := (&Flow{P: p}).Ask(base(), existing, answers.Password{}, answers.Password{})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Rerun {
				t.Error("Rerun must be set on a re-run")
			}
			tt.want(t, res, p)
		})
	}
}

func TestFlowAbort(t *testing.T) {
	p := &abortingPrompter{fakePrompter: newFake(t, map[string][]string{qMode: {""}})}
	_, err := (&Flow{P: p}).Ask(base(), nil, answers.Password{}, answers.Password{})
	if !errors.Is(err, ErrAborted) {
		t.Fatalf("err = %v, want ErrAborted", err)
	}
}

type abortingPrompter struct{ *fakePrompter }

func (a *abortingPrompter) Input(string, string, string, func(string) error) (string, error) {
	return "", ErrAborted
}

func TestSummary(t *testing.T) {
	r := Result{Answers: base(), AdminPassword: answers.Password{Value: "x", Source: SourceTyped}}
	r.Answers.SANs = []string{"10.0.0.5"}
	s := Summary("/srv/pax", r, []string{"192.0.2.2"}, 0)
	flat := strings.Join(strings.Fields(s), " ")
	for _, want := range []string{
		"https://registry.example.com:443 (selfsigned mode)",
		"admin with the password you typed",
		"spectro, for Palette, with a password paxsetup makes and shows once",
		"every login the same rights",
		"a new CA and server certificate, for registry.example.com, 10.0.0.5, 192.0.2.2",
		"/srv/pax/data (kept across restarts, never deleted)",
		"port 443, restarts always",
	} {
		if !strings.Contains(flat, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(flat, "read-only") || strings.Contains(flat, "reused if it still fits") {
		t.Errorf("summary of a first run:\n%s", s)
	}
	s3 := r
	s3.Answers.Storage, s3.Answers.S3 = "s3", &config.S3Config{Bucket: "packs", RegionEndpoint: "http://minio:9000"}
	for redirect, want := range map[bool]string{
		false: "S3 bucket packs; the registry serves the layers itself",
		true:  "S3 bucket packs; clients download layers from http://minio:9000 directly",
	} {
		s3.Answers.S3.Redirect = redirect
		if flat := strings.Join(strings.Fields(Summary("/srv/pax", s3, nil, 0)), " "); !strings.Contains(flat, want) {
			t.Errorf("summary with S3 redirect %v lacks %q:\n%s", redirect, want, flat)
		}
	}
	for _, width := range []int{0, 80, 60} {
		want := width
		if want == 0 {
			want = SummaryWidth
		}
		long := r
		long.Answers.Image = "registry.internal.example.com/palette-images/palette/spectro-registry:4.7.0"
		for i, l := range strings.Split(Summary("/srv/pax", long, []string{"192.0.2.2", "198.51.100.7", "2001:db8::1"}, width), "\n") {
			if n := len([]rune(l)); n > want {
				t.Errorf("width %d: line %d is %d columns: %q", width, i, n, l)
			}
			if i > 0 && l != "" && !strings.HasPrefix(l, strings.Repeat(" ", summaryIndent)) && l[0] == ' ' {
				t.Errorf("width %d: a wrapped line does not start at the value column: %q", width, l)
			}
		}
	}
	r.Rerun = true
	if s := Summary("/srv/pax", r, nil, 0); !strings.Contains(s, "already there") {
		t.Errorf("a re-run keeps the certificate:\n%s", s)
	}
	r.AdminPassword.Value = "a-secret-typed-in"
	if s := Summary("/srv/pax", r, nil, 0); strings.Contains(s, "a-secret-typed-in") {
		t.Errorf("the summary shows a password:\n%s", s)
	}
	r.Answers.Storage = "inmemory"
	if s := Summary("/srv/pax", r, nil, 0); !strings.Contains(s, "lost when the container restarts") {
		t.Errorf("in-memory storage must carry its warning:\n%s", s)
	}
}

func TestFlowPlan(t *testing.T) {
	defaults := map[string][]string{qMode: {""}, qHost: {""}, qSANs: {""}, qAdminPW: {""}, qReadPW: {""}, qAdvanced: {""}}
	with := func(extra map[string][]string) map[string][]string {
		m := map[string][]string{}
		for k, v := range defaults {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name    string
		answers map[string][]string
		planErr error
		wantErr error
	}{
		{name: "Enter goes ahead", answers: with(map[string][]string{"Go?": {""}})},
		{name: "No changes nothing", answers: with(map[string][]string{"Go?": {"no"}}), wantErr: ErrDeclined},
		{name: "a plan that cannot be set up is not asked", answers: defaults, planErr: errors.New("--port: taken"), wantErr: errors.New("--port: taken")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newFake(t, tt.answers)
			var planned Result
			flow := &Flow{P: p, PlanTitle: "Go?", Plan: func(res Result, width int) (string, error) {
				planned = res
				if width > SummaryWidth {
					t.Errorf("the plan may use %d columns, more than %d", width, SummaryWidth)
				}
				return "the plan", tt.planErr
			}}
			_, err := flow.Ask(base(), nil, answers.Password{}, answers.Password{})
			if (err == nil) != (tt.wantErr == nil) || err != nil && err.Error() != tt.wantErr.Error() && !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if planned.Answers.Host != "registry.example.com" {
				t.Errorf("the plan was made for %+v", planned.Answers)
			}
		})
	}
}
