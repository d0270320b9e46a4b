package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/dockerctl"
	"github.com/paxsetup/paxsetup/internal/htpasswd"
	"github.com/paxsetup/paxsetup/internal/setup"
	"github.com/paxsetup/paxsetup/internal/wizard"
)

// answeringPrompter answers down's questions as a test says, and records
// them.
type answeringPrompter struct {
	wizard.Prompter
	confirm bool
	typed   string
	asked   []string
}

func (p *answeringPrompter) Confirm(title, _ string, _ bool) (bool, error) {
	p.asked = append(p.asked, title)
	return p.confirm, nil
}

func (p *answeringPrompter) Input(title, _, _ string, _ func(string) error) (string, error) {
	p.asked = append(p.asked, title)
	return p.typed, nil
}

// downEngine holds the setup's one container and records what down does.
type downEngine struct {
	dockerctl.API
	c     dockerctl.Container
	calls []string
}

func (d *downEngine) FindByLabel(context.Context, string, string) ([]dockerctl.Container, error) {
	return []dockerctl.Container{d.c}, nil
}
func (d *downEngine) Stop(_ context.Context, id string, _ time.Duration) error {
	d.calls = append(d.calls, "stop "+id)
	return nil
}
func (d *downEngine) Remove(_ context.Context, id string) error {
	d.calls = append(d.calls, "remove "+id)
	return nil
}
func (d *downEngine) Close() error { return nil }

// TestDownAsksThroughThePrompter: down's two questions (stop the registry?
// and, with --delete-data, the folder path typed back) come from the
// Factory's Prompter; a No or a wrong path changes nothing, the right
// answers stop, remove and delete.
func TestDownAsksThroughThePrompter(t *testing.T) {
	tests := []struct {
		name       string
		deleteData bool
		confirm    bool
		typed      func(dir string) string
		wantErr    error
		wantCalls  []string
		wantData   bool
	}{
		{"no to stopping", false, false, nil, errNotConfirmed, nil, true},
		{"yes to stopping", false, true, nil, nil, []string{"stop c1", "remove c1"}, true},
		{"wrong path typed", true, true, func(string) string { return "/somewhere/else" }, errNotConfirmed, nil, true},
		{"nothing typed", true, true, func(string) string { return "" }, errNotConfirmed, nil, true},
		{"path typed back", true, true, func(dir string) string { return dir + "/" }, nil, []string{"stop c1", "remove c1"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			a := config.Defaults()
			a.Host, a.Name = "registry.example.com", "reg"
			if err := config.Save(dir, a); err != nil {
				t.Fatal(err)
			}
			data := setup.Layout{Dir: dir}.Data()
			if err := os.MkdirAll(filepath.Join(data, "pack"), 0o755); err != nil {
				t.Fatal(err)
			}
			p := &answeringPrompter{confirm: tt.confirm}
			if tt.typed != nil {
				p.typed = tt.typed(dir)
			}
			eng := &downEngine{c: dockerctl.Container{ID: "c1", Name: "reg", Running: true,
				Labels: map[string]string{dockerctl.LabelManaged: "true", dockerctl.LabelDir: dir}}}
			f, _, _ := newTestFactory(nil)
			f.Prompter = p
			f.Docker = func(context.Context) (dockerctl.API, error) { return eng, nil }
			err := runDown(context.Background(), &DownOptions{IO: f.IO, Factory: f, Dir: dir, DeleteData: tt.deleteData, Timeout: time.Second})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if !slices.Equal(eng.calls, tt.wantCalls) {
				t.Errorf("engine calls %q, want %q", eng.calls, tt.wantCalls)
			}
			if _, err := os.Stat(data); (err == nil) != tt.wantData {
				t.Errorf("data/ exists: %v, want %v", err == nil, tt.wantData)
			}
			if len(p.asked) == 0 {
				t.Error("down asked nothing")
			}
		})
	}
}

// passwordPrompter types passwords, one per question, and records the
// questions.
type passwordPrompter struct {
	wizard.Prompter
	typed []string
	asked []string
}

func (p *passwordPrompter) Password(title, _ string, validate func(string) error) (string, error) {
	p.asked = append(p.asked, title)
	for len(p.typed) > 0 {
		pw := p.typed[0]
		p.typed = p.typed[1:]
		if validate == nil || validate(pw) == nil {
			return pw, nil
		}
	}
	return "", wizard.ErrAborted
}

// TestUsersAsksThroughThePrompter: without --password-file or
// --password-stdin, users add asks twice through the Factory's Prompter; a
// password the policy refuses is asked again, two that differ start over,
// and the hash written verifies against what was typed.
func TestUsersAsksThroughThePrompter(t *testing.T) {
	dir := t.TempDir()
	p := &passwordPrompter{typed: []string{"short", "first-password-1", "mistyped-password", "carol-password-0", "carol-password-0"}}
	f, _, _ := newTestFactory(nil)
	f.Prompter = p
	opts := &UsersOptions{IO: f.IO, Factory: f, Dir: dir, Action: "add", User: "carol"}
	if err := runUsers(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	want := []string{"New password for carol", "Type it again", "New password for carol", "Type it again"}
	if !slices.Equal(p.asked, want) {
		t.Errorf("asked %q, want %q", p.asked, want)
	}
	file, err := htpasswd.Load(setup.Layout{Dir: dir}.Htpasswd())
	if err != nil {
		t.Fatal(err)
	}
	if err := file.Verify("carol", "carol-password-0"); err != nil {
		t.Errorf("carol's hash does not verify against the password typed twice: %v", err)
	}
}

// TestBundlePassphraseAsked: without --passphrase-file or the environment,
// export asks for the passphrase through the Factory's Prompter, refusing a
// short one as it is typed and asking twice; join asks once, and a
// mistyped passphrase may be typed again. The bundle opens with what was
// typed.
func TestBundlePassphraseAsked(t *testing.T) {
	s := newSharedSetup(t)
	out := filepath.Join(s.work, "typed.bundle")
	p := &passwordPrompter{typed: []string{"too-short", bundlePass, bundlePass}}
	f, stdout, stderr := newTestFactory(map[string]string{EnvBundlePassphrase: ""})
	f.Prompter = p
	if code := Main([]string{"export", "--dir", s.dir, "--out", out}, f); code != 0 {
		t.Fatalf("export exit %d\n%s%s", code, stdout, stderr)
	}
	if want := []string{"Passphrase for the bundle", "Type it again"}; !slices.Equal(p.asked, want) {
		t.Errorf("export asked %q, want %q", p.asked, want)
	}

	node := filepath.Join(s.work, "node")
	p = &passwordPrompter{typed: []string{"not-the-passphrase-at-all", bundlePass}}
	f, stdout, stderr = newTestFactory(map[string]string{EnvBundlePassphrase: ""})
	f.Prompter = p
	f.Docker = func(context.Context) (dockerctl.API, error) { return nil, errors.New("no engine in this test") }
	if code := Main([]string{"init", "--join", out, "--dir", node, "--port", "18444", "--dry-run"}, f); code != 0 {
		t.Fatalf("join exit %d\n%s%s", code, stdout, stderr)
	}
	if len(p.asked) != 2 || !strings.HasPrefix(p.asked[0], "Passphrase of typed.bundle") {
		t.Errorf("join asked %q, want the passphrase twice (a wrong one first)", p.asked)
	}
	for _, f := range []string{"certs/tls.crt", "auth/htpasswd-basic"} {
		a, _ := os.ReadFile(filepath.Join(s.dir, f))
		b, err := os.ReadFile(filepath.Join(node, f))
		if err != nil || len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s of the node is not the first node's (%v)", f, err)
		}
	}
}
