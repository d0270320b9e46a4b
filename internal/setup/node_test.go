package setup

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paxsetup/paxsetup/internal/answers"
	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/dockerctl"
	"github.com/paxsetup/paxsetup/internal/htpasswd"
)

const sharedHost = "registry.example.com"

// sharedFiles are a first node's shared files: a CA, a certificate it
// issued for sharedHost valid until notAfter, two users and a generated
// password.
func sharedFiles(t *testing.T, notAfter time.Time) map[string][]byte {
	t.Helper()
	ca := issue(t, "Test CA", nil, true, testNow.Add(365*24*time.Hour))
	leaf := issue(t, sharedHost, ca, false, notAfter, sharedHost, "node1.example.com", "node2.example.com")
	var hf htpasswd.File
	for _, u := range []string{"admin", "spectro"} {
		if err := hf.Set(u, u+"-password-0123", htpasswd.MinCost); err != nil {
			t.Fatal(err)
		}
	}
	// As the first node's init wrote it.
	first := t.TempDir()
	if err := saveCredentials(first, map[string]string{"spectro": "spectro-password-0123"}); err != nil {
		t.Fatal(err)
	}
	creds, err := os.ReadFile(filepath.Join(first, CredentialsFile))
	if err != nil {
		t.Fatal(err)
	}
	return map[string][]byte{
		"auth/htpasswd-basic": hf.Bytes(),
		CredentialsFile:       creds,
		"certs/ca.crt":        pemOf(ca),
		"certs/tls.crt":       pemOf(leaf),
		"certs/tls.key":       keyPEMOf(t, leaf),
		"certs/chain.pem":     pemOf(leaf, ca),
	}
}

// nodeAnswers are the answers of a node joined to an S3 registry.
func nodeAnswers(port int) config.Answers {
	a := config.Defaults()
	a.Host, a.Port, a.Name, a.Storage = sharedHost, port, "reg", "s3"
	a.SANs = []string{"node1.example.com", "node2.example.com"}
	a.S3 = &config.S3Config{Region: "eu-west-1", Bucket: "packs"}
	a.Node = &config.Node{Host: "node2.example.com", Origin: "node1.example.com", Exported: testNow, Joined: testNow}
	return a
}

var nodeKeys = S3Keys{AccessKey: "AKIANODEKEY", SecretKey: "node-secret-key-0123"}

const nodeSecret = "shared-http-secret-0123"

func joinOptions(dir string, a config.Answers, files map[string][]byte) Options {
	return Options{Dir: dir, Answers: a, Install: files, S3Keys: nodeKeys, HTTPSecret: nodeSecret,
		Now: func() time.Time { return testNow }, HealthTimeout: 2 * time.Second}
}

// checkInstalled fails unless dir holds exactly the shared files, with
// their modes, and the registry config carries the bundle's secrets.
func checkInstalled(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for _, f := range SharedFiles {
		p := filepath.Join(dir, f.Name)
		data, err := os.ReadFile(p)
		want, ok := files[f.Name]
		switch {
		case !ok && !errors.Is(err, fs.ErrNotExist):
			t.Errorf("%s: %v, want no file", f.Name, err)
		case ok && !bytes.Equal(data, want):
			t.Errorf("%s is not the bundle's (%v)", f.Name, err)
		case ok:
			if fi, _ := os.Stat(p); fi.Mode().Perm() != f.Perm {
				t.Errorf("%s has mode %v, want %v", f.Name, fi.Mode().Perm(), f.Perm)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "certs", "ca.key")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a node has a CA key: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(ClientCertDir(dir), "ca.crt")); !bytes.Equal(got, files["certs/ca.crt"]) {
		t.Errorf("certs/client/ca.crt is not the shared CA")
	}
	s, err := SavedSecrets(dir)
	if err != nil || s.HTTPSecret != nodeSecret || s.S3Keys != nodeKeys {
		t.Errorf("the registry config's secrets: %+v, %v", s, err)
	}
	answersFile, _ := os.ReadFile(config.Path(dir))
	for _, secret := range []string{nodeSecret, nodeKeys.SecretKey, nodeKeys.AccessKey, "password-0123"} {
		if bytes.Contains(answersFile, []byte(secret)) {
			t.Errorf("paxsetup.yaml holds the secret %q", secret)
		}
	}
}

// TestJoinInstallsTheSharedFiles: a node's dry run writes the bundle's
// files exactly, generating no user, password or certificate; a later run
// without a bundle keeps them, and refuses --force, which would need the
// CA key the node does not have.
func TestJoinInstallsTheSharedFiles(t *testing.T) {
	dir := t.TempDir()
	files := sharedFiles(t, testNow.Add(90*24*time.Hour))
	a := nodeAnswers(18998)
	res, err := Run(context.Background(), nil, func() Options { o := joinOptions(dir, a, files); o.DryRun = true; return o }())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Generated) != 0 {
		t.Errorf("a join generated passwords: %v", res.Generated)
	}
	checkInstalled(t, dir, files)
	saved, err := config.Load(dir)
	if err != nil || saved.Node == nil || saved.Node.Origin != "node1.example.com" {
		t.Fatalf("saved answers: %+v, %v", saved.Node, err)
	}

	// Replayed without the bundle (init --yes, upgrade): the installed
	// files stay; the plan is staged beside the live setup.
	replay := Options{Dir: dir, Answers: saved, DryRun: true, Now: func() time.Time { return testNow }, HostIPs: []string{"10.9.9.9"}}
	res, err = Run(context.Background(), nil, replay)
	if err != nil {
		t.Fatal(err)
	}
	if res.Plan.Staged == "" || len(res.Generated) != 0 {
		t.Fatalf("replay plan %+v, generated %v", res.Plan, res.Generated)
	}
	checkInstalled(t, res.Plan.Staged, files)
	checkInstalled(t, dir, files)

	replay.Force = true
	_, err = Run(context.Background(), nil, replay)
	var fe *answers.FlagError
	if !errors.As(err, &fe) || fe.Flag != "force" || !strings.Contains(err.Error(), "node1.example.com") {
		t.Errorf("--force on a node: %v", err)
	}
}

// TestJoinRefusesABundleItCannotServe: a bundle whose files a node cannot
// serve is refused before anything is written.
func TestJoinRefusesABundleItCannotServe(t *testing.T) {
	good := sharedFiles(t, testNow.Add(90*24*time.Hour))
	other := sharedFiles(t, testNow.Add(90*24*time.Hour))
	edit := func(f func(m map[string][]byte)) map[string][]byte {
		m := maps.Clone(good)
		f(m)
		return m
	}
	tests := []struct {
		name  string
		files map[string][]byte
		edit  func(a *config.Answers)
		want  string
	}{
		{"expired certificate", sharedFiles(t, testNow.Add(time.Hour)), nil, "expires on"},
		{"another host's certificate", good, func(a *config.Answers) { a.Host = "elsewhere.example.com" }, "elsewhere.example.com"},
		{"a key that is not the certificate's", edit(func(m map[string][]byte) { m["certs/tls.key"] = other["certs/tls.key"] }), nil, "do not go together"},
		{"another CA", edit(func(m map[string][]byte) { m["certs/ca.crt"] = other["certs/ca.crt"] }), nil, "unknown authority"},
		{"no key", edit(func(m map[string][]byte) { delete(m, "certs/tls.key") }), nil, "lacks certs/tls.key"},
		{"no users", edit(func(m map[string][]byte) { delete(m, "auth/htpasswd-basic") }), nil, "lacks auth/htpasswd-basic"},
		{"a CA key", edit(func(m map[string][]byte) { m["certs/ca.key"] = []byte("key") }), nil, "certs/ca.key, which is no file a node shares"},
		{"users the registry cannot read", edit(func(m map[string][]byte) { m["auth/htpasswd-basic"] = []byte("admin:{SHA}x\n") }), nil, "auth/htpasswd-basic"},
		{"certificates for plain HTTP", good, func(a *config.Answers) { a.Mode = config.ModeHTTP }, "mode http does not use"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "node")
			a := nodeAnswers(18997)
			if tt.edit != nil {
				tt.edit(&a)
			}
			o := joinOptions(dir, a, tt.files)
			o.DryRun = true
			_, err := Run(context.Background(), nil, o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the refused join wrote %s", dir)
			}
		})
	}
}

// TestFailedJoinPutsTheNodeBack: a re-join whose new registry does not
// start leaves the node's files as the previous join installed them.
func TestFailedJoinPutsTheNodeBack(t *testing.T) {
	dir := t.TempDir()
	port := 18996
	before := sharedFiles(t, testNow.Add(90*24*time.Hour))
	o := joinOptions(dir, nodeAnswers(port), before)
	o.DryRun = true
	if _, err := Run(context.Background(), nil, o); err != nil {
		t.Fatal(err)
	}
	after := sharedFiles(t, testNow.Add(90*24*time.Hour))
	delete(after, CredentialsFile)
	eng := publishingNothing{&lifeEngine{
		images: map[string]string{config.DefaultImage: "sha256:img"},
		logs:   "level=fatal msg=\"bad config\"",
		inspectFn: func(id string) (dockerctl.Container, error) {
			if id == "new" {
				return dockerctl.Container{ID: id, Status: "exited", ExitCode: 1}, nil
			}
			return dockerctl.Container{}, dockerctl.ErrNotFound
		},
	}}
	_, err := Run(context.Background(), eng, joinOptions(dir, nodeAnswers(port), after))
	if !errors.Is(err, ErrContainerCrash) {
		t.Fatalf("err = %v, want the crash", err)
	}
	checkInstalled(t, dir, before)
	if _, err := os.Stat(filepath.Join(dir, PreviousDir)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the copy of the previous files is left: %v", err)
	}
}

// publishingNothing is a lifeEngine on which no container publishes a port.
type publishingNothing struct{ *lifeEngine }

func (publishingNothing) ContainersPublishing(context.Context, int) ([]dockerctl.Container, error) {
	return nil, nil
}

// TestPaletteForSharedRegistry: the several-nodes text is for packs in S3
// served with a certificate or plain HTTP, never for Let's Encrypt (each
// node would order its own), and a joined node is named with its port.
func TestPaletteForSharedRegistry(t *testing.T) {
	a := nodeAnswers(8443)
	p := PaletteFor("/srv/node", a, nil)
	if p.SharedEndpoint != "https://"+sharedHost || p.Node != "node2.example.com (container reg, port 8443)" ||
		p.Origin != "node1.example.com" || p.Exported != "2026-06-01 12:00 UTC" {
		t.Errorf("palette = %+v", p)
	}
	a.Node = nil
	if p := PaletteFor("/srv/first", a, nil); p.Node != "" || p.SharedEndpoint == "" {
		t.Errorf("the first node: %+v", p)
	}
	a.Mode, a.Email = config.ModeLetsEncrypt, "ops@example.com"
	if p := PaletteFor("/srv/first", a, nil); p.SharedEndpoint != "" {
		t.Errorf("letsencrypt: %+v", p)
	}
	a.Mode, a.Host = config.ModeHTTP, "fd00::5"
	if p := PaletteFor("/srv/first", a, nil); p.SharedEndpoint != "http://[fd00::5]" {
		t.Errorf("http on IPv6: %q", p.SharedEndpoint)
	}
	a.Storage, a.S3 = "filesystem", nil
	if p := PaletteFor("/srv/first", a, nil); p.SharedEndpoint != "" {
		t.Errorf("filesystem storage: %+v", p)
	}
}
