package trust

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paxsetup/paxsetup/internal/certgen"
)

// fakeRunner records the commands it is asked to run; run, when set,
// decides what each returns.
type fakeRunner struct {
	Runner
	calls []string
	run   func(root string, argv []string) ([]byte, error)
}

func (f *fakeRunner) Run(_ context.Context, root string, argv []string) ([]byte, error) {
	f.calls = append(f.calls, root+": "+strings.Join(argv, " "))
	if f.run != nil {
		return f.run(root, argv)
	}
	return nil, nil
}

func testCA(t *testing.T, cn string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fakeRoot makes a filesystem root holding the given folders.
func fakeRoot(t *testing.T, dirs ...string) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func stepStrings(root string, steps []Step) []string {
	var out []string
	for _, s := range steps {
		out = append(out, strings.ReplaceAll(s.String(), root, "ROOT"))
	}
	return out
}

func TestNewPlan(t *testing.T) {
	ca := []*x509.Certificate{testCA(t, "Plan CA")}
	debian := "/usr/local/share/ca-certificates"
	tests := []struct {
		name    string
		dirs    []string
		opts    Options
		want    []string
		wantErr string
	}{
		{
			name: "all targets on Debian, port 443",
			dirs: []string{debian},
			opts: Options{Hosts: []string{"registry.test"}, Port: 443},
			want: []string{
				"write ROOT/etc/docker/certs.d/registry.test:443/ca.crt",
				"write ROOT/etc/docker/certs.d/registry.test/ca.crt",
				"write ROOT/etc/spectro/certs.d/registry.test:443/ca.crt",
				"write ROOT/etc/spectro/certs.d/registry.test/ca.crt",
				"write ROOT/usr/local/share/ca-certificates/paxsetup-registry.test_443.crt",
				"run chroot ROOT update-ca-certificates",
			},
		},
		{
			name: "docker only, another port, two hosts, IPv6",
			opts: Options{Hosts: []string{"registry.test", "2001:db8::5"}, Port: 5000, Targets: []Target{Docker}},
			want: []string{
				"write ROOT/etc/docker/certs.d/registry.test:5000/ca.crt",
				"write ROOT/etc/docker/certs.d/[2001:db8::5]:5000/ca.crt",
			},
		},
		{
			name: "uninstall on Debian refreshes",
			dirs: []string{debian},
			opts: Options{Hosts: []string{"registry.test"}, Port: 8443, Uninstall: true, Targets: []Target{Spectro, System}},
			want: []string{
				"remove ROOT/etc/spectro/certs.d/registry.test:8443/ca.crt",
				"remove ROOT/usr/local/share/ca-certificates/paxsetup-registry.test_8443.crt",
				"run chroot ROOT update-ca-certificates --fresh",
			},
		},
		{
			name: "RHEL/Fedora",
			dirs: []string{"/etc/pki/ca-trust/source/anchors"},
			opts: Options{Hosts: []string{"10.0.0.5"}, Port: 443, Targets: []Target{System}},
			want: []string{"write ROOT/etc/pki/ca-trust/source/anchors/paxsetup-10.0.0.5_443.pem", "run chroot ROOT update-ca-trust extract"},
		},
		{
			name: "Arch",
			dirs: []string{"/etc/ca-certificates/trust-source/anchors"},
			opts: Options{Hosts: []string{"registry.test"}, Port: 443, Targets: []Target{System}, Uninstall: true},
			want: []string{"remove ROOT/etc/ca-certificates/trust-source/anchors/paxsetup-registry.test_443.crt", "run chroot ROOT trust extract-compat"},
		},
		{
			name: "SUSE",
			dirs: []string{"/usr/share/pki/trust/anchors"},
			opts: Options{Hosts: []string{"registry.test"}, Port: 443, Targets: []Target{System}},
			want: []string{"write ROOT/etc/pki/trust/anchors/paxsetup-registry.test_443.pem", "run chroot ROOT update-ca-certificates"},
		},
		{
			name: "RHEL wins over a Debian layout, as in mkcert",
			dirs: []string{debian, "/etc/pki/ca-trust/source/anchors"},
			opts: Options{Hosts: []string{"registry.test"}, Port: 443, Targets: []Target{System}},
			want: []string{"write ROOT/etc/pki/ca-trust/source/anchors/paxsetup-registry.test_443.pem", "run chroot ROOT update-ca-trust extract"},
		},
		{name: "no store", opts: Options{Hosts: []string{"registry.test"}, Port: 443}, wantErr: "no known OS trust store under ROOT"},
		{name: "no host", opts: Options{Port: 443}, wantErr: "no registry host"},
		{name: "bad port", opts: Options{Hosts: []string{"registry.test"}, Port: 0}, wantErr: "port 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := fakeRoot(t, tt.dirs...)
			opts := tt.opts
			opts.Root = root
			if !opts.Uninstall {
				opts.CA = ca
			}
			steps, err := NewPlan(opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(strings.ReplaceAll(err.Error(), root, "ROOT"), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := stepStrings(root, steps); !slices.Equal(got, tt.want) {
				t.Errorf("plan:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if entries, _ := os.ReadDir(root); len(entries) != len(topLevel(tt.dirs)) {
				t.Errorf("planning changed the root: it holds %d entries", len(entries))
			}
		})
	}
	t.Run("the real root runs commands directly", func(t *testing.T) {
		s := Step{Kind: RunCommand, Command: []string{"update-ca-certificates"}, Root: "/"}
		if s.String() != "run update-ca-certificates" {
			t.Errorf("String() = %q", s.String())
		}
	})
	t.Run("no store wraps the sentinel", func(t *testing.T) {
		_, err := NewPlan(Options{Root: t.TempDir(), Hosts: []string{"r.test"}, Port: 443, CA: ca, Targets: []Target{System}})
		if !errors.Is(err, ErrNoSystemStore) {
			t.Errorf("err = %v, want ErrNoSystemStore", err)
		}
	})
}

func topLevel(dirs []string) map[string]bool {
	m := map[string]bool{}
	for _, d := range dirs {
		m[strings.Split(strings.TrimPrefix(d, "/"), "/")[0]] = true
	}
	return m
}

func TestApply(t *testing.T) {
	ctx := context.Background()
	ca := testCA(t, "Apply CA")
	root := fakeRoot(t, "/usr/local/share/ca-certificates")
	opts := Options{Root: root, CA: []*x509.Certificate{ca}, Hosts: []string{"registry.test"}, Port: 8443}
	steps, err := NewPlan(opts)
	if err != nil {
		t.Fatal(err)
	}
	runner := &fakeRunner{}
	var done []string
	if err := Apply(ctx, steps, runner, func(s Step) { done = append(done, s.String()) }); err != nil {
		t.Fatal(err)
	}
	if len(done) != len(steps) {
		t.Errorf("done reported %d steps, want %d", len(done), len(steps))
	}
	if want := []string{root + ": update-ca-certificates"}; !slices.Equal(runner.calls, want) {
		t.Errorf("ran %q, want %q", runner.calls, want)
	}
	files := []string{
		"etc/docker/certs.d/registry.test:8443/ca.crt",
		"etc/spectro/certs.d/registry.test:8443/ca.crt",
		"usr/local/share/ca-certificates/paxsetup-registry.test_8443.crt",
	}
	for _, f := range files {
		path := filepath.Join(root, f)
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o644 {
			t.Errorf("%s mode %v, want 0644", f, fi.Mode().Perm())
		}
		certs, err := certgen.LoadCertificates(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(certs) != 1 || !certs[0].Equal(ca) {
			t.Errorf("%s does not hold exactly the CA", f)
		}
	}

	// An operator's client certificate next to ca.crt keeps its folder.
	keep := filepath.Join(root, "etc/docker/certs.d/registry.test:8443/client.cert")
	if err := os.WriteFile(keep, []byte("client"), 0o644); err != nil {
		t.Fatal(err)
	}
	opts.Uninstall, opts.CA = true, nil
	steps, err = NewPlan(opts)
	if err != nil {
		t.Fatal(err)
	}
	runner.calls = nil
	if err := Apply(ctx, steps, runner, nil); err != nil {
		t.Fatal(err)
	}
	if want := []string{root + ": update-ca-certificates --fresh"}; !slices.Equal(runner.calls, want) {
		t.Errorf("ran %q, want %q", runner.calls, want)
	}
	for _, f := range files {
		if _, err := os.Stat(filepath.Join(root, f)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still there after uninstall (%v)", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "etc/spectro/certs.d/registry.test:8443")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the emptied spectro folder is still there")
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("uninstall removed the operator's client certificate: %v", err)
	}

	t.Run("uninstall twice is fine", func(t *testing.T) {
		if err := Apply(ctx, steps, &fakeRunner{}, nil); err != nil {
			t.Errorf("second uninstall: %v", err)
		}
	})
}

func TestApplyFailures(t *testing.T) {
	ctx := context.Background()
	step := Step{Target: System, Kind: RunCommand, Command: []string{"update-ca-certificates"}, Root: "/", Package: "ca-certificates"}
	tests := []struct {
		name    string
		run     func(string, []string) ([]byte, error)
		wantErr string
	}{
		{"missing tool", func(string, []string) ([]byte, error) {
			return nil, &exec.Error{Name: "update-ca-certificates", Err: exec.ErrNotFound}
		}, "update-ca-certificates is not installed: install the ca-certificates package"},
		{"tool fails", func(string, []string) ([]byte, error) {
			return []byte("E: cannot write bundle\n"), errors.New("exit status 1")
		}, "update-ca-certificates failed (exit status 1):\nE: cannot write bundle"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Apply(ctx, []Step{step}, &fakeRunner{run: tt.run}, nil)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
	t.Run("a file where the folder should be", func(t *testing.T) {
		root := t.TempDir()
		if err := os.MkdirAll(filepath.Join(root, "etc/docker"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "etc/docker/certs.d"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		steps, err := NewPlan(Options{Root: root, CA: []*x509.Certificate{testCA(t, "x")}, Hosts: []string{"r.test"}, Port: 5000, Targets: []Target{Docker, Spectro}})
		if err != nil {
			t.Fatal(err)
		}
		var done []Step
		err = Apply(ctx, steps, &fakeRunner{}, func(s Step) { done = append(done, s) })
		if err == nil || !strings.Contains(err.Error(), "certs.d") {
			t.Errorf("err = %v, want one naming certs.d", err)
		}
		if len(done) != 0 {
			t.Errorf("reported %d steps done before the failure, want 0", len(done))
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		r := &fakeRunner{}
		if err := Apply(cctx, []Step{step}, r, nil); !errors.Is(err, context.Canceled) || len(r.calls) != 0 {
			t.Errorf("err = %v, calls %q; want context.Canceled and nothing run", err, r.calls)
		}
	})
}

func TestExecRunner(t *testing.T) {
	ctx := context.Background()
	out, err := ExecRunner{}.Run(ctx, "/", []string{"sh", "-c", "echo on the host; exit 3"})
	if err == nil || !strings.Contains(string(out), "on the host") {
		t.Errorf("out %q, err %v; want the output and the exit status", out, err)
	}
	// Another root goes through chroot: in an empty root there is no sh,
	// and chroot (or, without the privilege, the kernel) says so.
	out, err = ExecRunner{}.Run(ctx, t.TempDir(), []string{"sh", "-c", "true"})
	if err == nil || !strings.Contains(string(out), "chroot") {
		t.Errorf("out %q, err %v; want chroot's complaint", out, err)
	}
}

func TestParseTarget(t *testing.T) {
	for _, tt := range []struct {
		in, want, wantErr string
	}{
		{"docker", "docker", ""}, {" System ", "system", ""}, {"spectro", "spectro", ""},
		{"containerd", "", `unknown target "containerd": use docker, spectro or system`},
	} {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseTarget(tt.in)
			if string(got) != tt.want || (err == nil) != (tt.wantErr == "") || err != nil && err.Error() != tt.wantErr {
				t.Errorf("ParseTarget(%q) = %q, %v; want %q, %q", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// debianRunner runs the real update-ca-certificates against a store that
// lives entirely under root, through the tool's own folder options, so the
// test never touches the host's store.
type debianRunner struct {
	Runner
	t *testing.T
}

func (d debianRunner) Run(ctx context.Context, root string, argv []string) ([]byte, error) {
	if argv[0] != "update-ca-certificates" {
		return nil, fmt.Errorf("unexpected command %q", argv)
	}
	tool, err := exec.LookPath("update-ca-certificates")
	if err != nil {
		d.t.Fatalf("update-ca-certificates is needed for this test (on Debian/Ubuntu: apt-get install ca-certificates): %v", err)
	}
	args := append(argv[1:],
		"--certsconf", filepath.Join(root, "etc/ca-certificates.conf"),
		"--certsdir", filepath.Join(root, "usr/share/ca-certificates"),
		"--localcertsdir", filepath.Join(root, "usr/local/share/ca-certificates"),
		"--etccertsdir", filepath.Join(root, "etc/ssl/certs"),
		"--hooksdir", filepath.Join(root, "etc/ca-certificates/update.d"),
	)
	cmd := exec.CommandContext(ctx, tool, args...)
	cmd.Env = append(os.Environ(), "TMPDIR="+d.t.TempDir())
	return cmd.CombinedOutput()
}

// TestDebianRoundTrip installs a CA with Debian's own tool into a store
// under a temporary root, checks it landed in the bundle every client
// reads, then uninstalls it and checks it is gone.
func TestDebianRoundTrip(t *testing.T) {
	ctx := context.Background()
	root := fakeRoot(t, "usr/local/share/ca-certificates", "usr/share/ca-certificates", "etc/ssl/certs")
	// Not empty: update-ca-certificates treats an empty list as --fresh,
	// which a real host's never is.
	if err := os.WriteFile(filepath.Join(root, "etc/ca-certificates.conf"), []byte("# no packaged CAs in this store\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A CA already in the store must survive our install and uninstall.
	other := testCA(t, "Someone Else's CA")
	otherPath := filepath.Join(root, "usr/local/share/ca-certificates/other.crt")
	if err := os.WriteFile(otherPath, pemOf([]*x509.Certificate{other}), 0o644); err != nil {
		t.Fatal(err)
	}
	ca := testCA(t, "paxsetup local CA round trip")
	opts := Options{Root: root, CA: []*x509.Certificate{ca}, Hosts: []string{"registry.test"}, Port: 443, Targets: []Target{System}}
	bundle := filepath.Join(root, "etc/ssl/certs/ca-certificates.crt")
	link := filepath.Join(root, "etc/ssl/certs/paxsetup-registry.test_443.pem")
	runner := debianRunner{t: t}

	inBundle := func(c *x509.Certificate) bool {
		t.Helper()
		certs, err := certgen.LoadCertificates(bundle)
		if err != nil {
			t.Fatalf("read the bundle: %v", err)
		}
		return slices.ContainsFunc(certs, c.Equal)
	}

	steps, err := NewPlan(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := Apply(ctx, steps, runner, nil); err != nil {
		t.Fatalf("install: %v", err)
	}
	if !inBundle(ca) || !inBundle(other) {
		t.Fatalf("after install: our CA in the bundle = %v, the other CA = %v; want both", inBundle(ca), inBundle(other))
	}
	if _, err := os.Stat(link); err != nil {
		t.Errorf("update-ca-certificates made no link for our CA: %v", err)
	}
	// Go reads the bundle as the system pool does.
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(mustRead(t, bundle)) {
		t.Fatal("the bundle holds no certificate Go can read")
	}
	if _, err := ca.Verify(x509.VerifyOptions{Roots: pool}); err != nil {
		t.Errorf("the CA does not verify against the bundle: %v", err)
	}

	opts.Uninstall, opts.CA = true, nil
	if steps, err = NewPlan(opts); err != nil {
		t.Fatal(err)
	}
	if err := Apply(ctx, steps, runner, nil); err != nil {
		t.Fatalf("uninstall: %v", err)
	}
	if inBundle(ca) {
		t.Error("our CA is still in the bundle after uninstall")
	}
	if !inBundle(other) {
		t.Error("uninstall removed another CA from the bundle")
	}
	if _, err := os.Lstat(link); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("our CA's link is still in etc/ssl/certs (%v)", err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
