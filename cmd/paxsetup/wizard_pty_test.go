package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/moby/moby/client"

	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/htpasswd"
)

// terminal runs the built binary on a real pseudo-terminal, the way an
// operator's shell runs it, and lets a test wait for text and type keys.
type terminal struct {
	t    *testing.T
	cmd  *exec.Cmd
	pty  *os.File
	mu   sync.Mutex
	out  bytes.Buffer
	seen int // offset in the stripped output past the last expected text
	done chan struct{}
	keys int // keystrokes typed, for the closing count
}

func startTerminal(t *testing.T, env []string, args ...string) *terminal {
	t.Helper()
	cmd := exec.Command(paxsetupBinary(t), args...)
	cmd.Env = append(os.Environ(), append([]string{"TERM=xterm-256color"}, env...)...)
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 50, Cols: 160})
	if err != nil {
		t.Fatal(err)
	}
	tm := &terminal{t: t, cmd: cmd, pty: f, done: make(chan struct{})}
	go func() {
		defer close(tm.done)
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			tm.mu.Lock()
			tm.out.Write(buf[:n])
			tm.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
		f.Close()
	})
	return tm
}

var ansi = regexp.MustCompile(`\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[=>NOPc78]`)

func (tm *terminal) text() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return ansi.ReplaceAllString(tm.out.String(), "")
}

// expect waits until s appears in the output after the previous expected text.
func (tm *terminal) expect(s string) {
	tm.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		// Whether the program has ended is read before the output, so that
		// output read just before the end is not missed.
		ended := false
		select {
		case <-tm.done:
			ended = true
		default:
		}
		txt := tm.text()
		if i := strings.Index(txt[tm.seen:], s); i >= 0 {
			tm.seen += i + len(s)
			// A form draws its question before it reads keys; a short pause
			// lets it start reading, as a person's reaction time would.
			time.Sleep(150 * time.Millisecond)
			return
		}
		if ended {
			tm.t.Fatalf("the program ended before printing %q; output:\n%s", s, txt)
		}
		time.Sleep(20 * time.Millisecond)
	}
	tm.t.Fatalf("timed out waiting for %q; output:\n%s", s, tm.text())
}

// typeLine types s and presses Enter; keystrokes count each character.
func (tm *terminal) typeLine(s string) {
	tm.t.Helper()
	tm.send(s)
	tm.send("\r")
}

func (tm *terminal) send(s string) {
	tm.t.Helper()
	for _, r := range s {
		if _, err := tm.pty.Write([]byte(string(r))); err != nil {
			tm.t.Fatal(err)
		}
		tm.keys++
	}
}

func (tm *terminal) wait() int {
	tm.t.Helper()
	errc := make(chan error, 1)
	go func() { errc <- tm.cmd.Wait() }()
	select {
	case err := <-errc:
		<-tm.done
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			tm.t.Fatal(err)
		}
		return 0
	case <-time.After(2 * time.Minute):
		tm.t.Fatalf("the program did not end; output:\n%s", tm.text())
		return -1
	}
}

// wizardSetup is one setup for a wizard test: its folder, container and port.
type wizardSetup struct {
	dir, name string
	port      int
}

func newWizardSetup(t *testing.T, cli *client.Client) wizardSetup {
	s := wizardSetup{dir: filepath.Join(t.TempDir(), "setup"), name: uniqueName(t), port: freePort(t)}
	removeContainer(t, cli, s.name)
	return s
}

func (s wizardSetup) flags(img string) []string {
	return []string{"--dir", s.dir, "--name", s.name, "--port", strconv.Itoa(s.port), "--image", img, "--pull", "never", "--no-color"}
}

// sameSetup checks that a wizard run and a --yes run made equivalent files
// and containers: answers, certificate names, users, and how the engine runs it.
func sameSetup(t *testing.T, cli *client.Client, got, want wizardSetup, passwords map[string]string) {
	t.Helper()
	ga, err := config.Load(got.dir)
	if err != nil {
		t.Fatal(err)
	}
	wa, err := config.Load(want.dir)
	if err != nil {
		t.Fatal(err)
	}
	ga.Name, ga.Port, ga.AdminPasswordFile, ga.ReaderPasswordFile = "", 0, "", ""
	wa.Name, wa.Port, wa.AdminPasswordFile, wa.ReaderPasswordFile = "", 0, "", ""
	if g, w := strings.TrimSpace(mustYAML(t, ga)), strings.TrimSpace(mustYAML(t, wa)); g != w {
		t.Errorf("answers differ:\nwizard:\n%s\n--yes:\n%s", g, w)
	}
	gc := readCert(t, filepath.Join(got.dir, "certs", "tls.crt"))
	wc := readCert(t, filepath.Join(want.dir, "certs", "tls.crt"))
	if gc.Subject.CommonName != wc.Subject.CommonName || !slices.Equal(gc.DNSNames, wc.DNSNames) || len(gc.IPAddresses) != len(wc.IPAddresses) {
		t.Errorf("certificates differ: wizard %s %v %v, --yes %s %v %v", gc.Subject.CommonName, gc.DNSNames, gc.IPAddresses,
			wc.Subject.CommonName, wc.DNSNames, wc.IPAddresses)
	}
	for _, d := range []string{got.dir, want.dir} {
		f, err := htpasswd.Load(filepath.Join(d, "auth", "htpasswd-basic"))
		if err != nil {
			t.Fatal(err)
		}
		for user, pw := range passwords {
			if err := f.Verify(user, pw); err != nil {
				t.Errorf("%s: %s: %v", d, user, err)
			}
		}
	}
	gi, err := cli.ContainerInspect(context.Background(), got.name, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wi, err := cli.ContainerInspect(context.Background(), want.name, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	g, w := gi.Container, wi.Container
	if !g.State.Running || !w.State.Running {
		t.Errorf("running: wizard %v, --yes %v", g.State.Running, w.State.Running)
	}
	if !slices.Equal(g.Config.Env, w.Config.Env) || g.HostConfig.RestartPolicy.Name != w.HostConfig.RestartPolicy.Name || g.Config.Image != w.Config.Image {
		t.Errorf("containers differ: env %v vs %v, restart %v vs %v", g.Config.Env, w.Config.Env, g.HostConfig.RestartPolicy.Name, w.HostConfig.RestartPolicy.Name)
	}
	gm, wm := map[string]bool{}, map[string]bool{}
	for _, m := range g.Mounts {
		gm[m.Destination] = m.RW
	}
	for _, m := range w.Mounts {
		wm[m.Destination] = m.RW
	}
	if len(gm) != len(wm) {
		t.Errorf("mounts differ: %v vs %v", gm, wm)
	}
	for k, v := range wm {
		if gm[k] != v {
			t.Errorf("mount %s: wizard rw=%v, --yes rw=%v", k, gm[k], v)
		}
	}
}

func mustYAML(t *testing.T, a config.Answers) string {
	t.Helper()
	dir := t.TempDir()
	if err := config.Save(dir, a); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(config.Path(dir))
	if err != nil {
		t.Fatal(err)
	}
	// The header names the folder; only the answers are compared.
	_, body, _ := strings.Cut(string(data), "\n")
	return body
}

// yesRun sets up the same registry unattended, for comparison.
func yesRun(t *testing.T, s wizardSetup, img string, env []string, extra ...string) {
	t.Helper()
	r := runBinary(t, env, append(append([]string{"init", "--yes"}, s.flags(img)...), extra...)...)
	if r.code != 0 {
		t.Fatalf("init --yes exited %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestWizardTakingDefaults takes every default with Enter and types only the
// two passwords, twice each; it counts the keystrokes.
func TestWizardTakingDefaults(t *testing.T) {
	cli := dockerClient(t)
	img := standInImage(t)
	s := newWizardSetup(t, cli)
	tm := startTerminal(t, nil, append([]string{"init"}, s.flags(img)...)...)

	tm.expect("How should the registry get its certificate?")
	tm.typeLine("")
	tm.expect("Registry host name")
	tm.typeLine("")
	tm.expect("Other names for the certificate")
	tm.typeLine("")
	tm.expect("Change advanced settings?")
	tm.typeLine("")
	enters := tm.keys
	tm.expect("Password for admin")
	tm.typeLine(adminPW)
	tm.expect("Password for admin again")
	tm.typeLine(adminPW)
	tm.expect("Password for spectro")
	tm.typeLine(readerPW)
	tm.expect("Password for spectro again")
	tm.typeLine(readerPW)
	passwordKeys := tm.keys - enters
	tm.expect("Set it up now?")
	tm.typeLine("")
	tm.expect("Ready:")
	if code := tm.wait(); code != 0 {
		t.Fatalf("exit %d; output:\n%s", code, tm.text())
	}
	other := tm.keys - passwordKeys
	t.Logf("keystrokes: %d besides the passwords (%d for two passwords typed twice)", other, passwordKeys)
	if other > 10 {
		t.Errorf("taking the defaults took %d keystrokes besides the passwords, want at most 10", other)
	}
	out := tm.text()
	if strings.Contains(out, adminPW) || strings.Contains(out, readerPW) {
		t.Error("a typed password was echoed")
	}
	palette, err := os.ReadFile(filepath.Join(s.dir, PaletteFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(palette), "Endpoint:     https://") || !strings.Contains(string(palette), "spectro registry login") {
		t.Errorf("PALETTE.txt:\n%s", palette)
	}

	want := newWizardSetup(t, cli)
	yesRun(t, want, img, []string{"PAXSETUP_ADMIN_PASSWORD=" + adminPW, "PAXSETUP_READER_PASSWORD=" + readerPW})
	sameSetup(t, cli, s, want, map[string]string{"admin": adminPW, "spectro": readerPW})
}

// TestWizardAnsweringEverything answers every question, advanced ones too.
func TestWizardAnsweringEverything(t *testing.T) {
	cli := dockerClient(t)
	img := standInImage(t)
	s := newWizardSetup(t, cli)
	// No --port and no --image: both are asked for in the advanced settings.
	tm := startTerminal(t, nil, "init", "--dir", s.dir, "--name", s.name, "--pull", "never", "--no-color")

	tm.expect("How should the registry get its certificate?")
	tm.typeLine("")
	tm.expect("Registry host name")
	tm.typeLine("registry.local")
	tm.expect("Other names for the certificate")
	tm.typeLine("127.0.0.1, registry")
	tm.expect("Change advanced settings?")
	tm.send("y")
	tm.expect("Port for the registry")
	tm.typeLine(strconv.Itoa(s.port))
	tm.expect("Read-write user")
	tm.typeLine("root")
	tm.expect("Read-only user")
	tm.typeLine("viewer")
	tm.expect("Registry image")
	tm.typeLine(img)
	tm.expect("Where are packs stored?")
	tm.typeLine("")
	tm.expect("Password for root")
	tm.typeLine(adminPW)
	tm.expect("Password for root again")
	tm.typeLine(adminPW)
	tm.expect("Password for viewer")
	tm.typeLine(readerPW)
	tm.expect("Password for viewer again")
	tm.typeLine(readerPW)
	tm.expect("Set it up now?")
	tm.typeLine("")
	tm.expect("Ready:")
	if code := tm.wait(); code != 0 {
		t.Fatalf("exit %d; output:\n%s", code, tm.text())
	}

	want := newWizardSetup(t, cli)
	yesRun(t, want, img, []string{"PAXSETUP_ADMIN_PASSWORD=" + adminPW, "PAXSETUP_READER_PASSWORD=" + readerPW},
		"--host", "registry.local", "--san", "127.0.0.1", "--san", "registry", "--admin-user", "root", "--reader-user", "viewer")
	sameSetup(t, cli, s, want, map[string]string{"root": adminPW, "viewer": readerPW})
	c := registryClient(t, filepath.Join(s.dir, "certs", "ca.crt"), "registry.local", s.port)
	if got := status(t, c, "https://registry.local/v1/_catalog", "viewer", readerPW); got != 200 {
		t.Errorf("catalog as viewer = %d", got)
	}
}

// TestWizardCtrlC interrupts the wizard at the password question: exit 130,
// one line, nothing written, no container.
func TestWizardCtrlC(t *testing.T) {
	cli := dockerClient(t)
	img := standInImage(t)
	s := newWizardSetup(t, cli)
	tm := startTerminal(t, nil, append([]string{"init", "--host", "registry.local"}, s.flags(img)...)...)
	tm.expect("How should the registry get its certificate?")
	tm.typeLine("")
	tm.expect("Other names for the certificate")
	tm.typeLine("")
	tm.expect("Change advanced settings?")
	tm.typeLine("")
	tm.expect("Password for admin")
	tm.send("half-typed")
	tm.send("\x03")
	if code := tm.wait(); code != exitInterrupt {
		t.Fatalf("exit %d, want %d; output:\n%s", code, exitInterrupt, tm.text())
	}
	tail := strings.TrimSpace(tm.text()[tm.seen:])
	if lines := strings.Split(tail, "\n"); !strings.Contains(lines[len(lines)-1], "interrupted") {
		t.Errorf("want one closing line saying interrupted, got:\n%s", tail)
	}
	if _, err := os.Stat(s.dir); !os.IsNotExist(err) {
		t.Errorf("the setup folder exists after Ctrl-C in the wizard: %v", err)
	}
	if _, err := cli.ContainerInspect(context.Background(), s.name, client.ContainerInspectOptions{}); err == nil {
		t.Error("a container exists after Ctrl-C in the wizard")
	}
}

// TestWizardAccessible answers plain line prompts, as a screen reader user
// would, and gets the same setup as --yes.
func TestWizardAccessible(t *testing.T) {
	cli := dockerClient(t)
	img := standInImage(t)
	s := newWizardSetup(t, cli)
	tm := startTerminal(t, []string{"ACCESSIBLE=1"}, append([]string{"init", "--host", "registry.local"}, s.flags(img)...)...)
	tm.expect("Enter a number between 1 and 4")
	tm.typeLine("1")
	tm.expect("Other names for the certificate")
	tm.typeLine("127.0.0.1")
	tm.expect("Change advanced settings?")
	tm.typeLine("n")
	tm.expect("Password for admin")
	tm.typeLine(adminPW)
	tm.expect("Password for admin again")
	tm.typeLine(adminPW)
	tm.expect("Password for spectro")
	tm.typeLine("")
	tm.expect("Set it up now?")
	tm.typeLine("y")
	tm.expect("Ready:")
	if code := tm.wait(); code != 0 {
		t.Fatalf("exit %d; output:\n%s", code, tm.text())
	}
	if strings.ContainsAny(tm.text(), "⠋⠙⠹") {
		t.Error("accessible mode must not animate spinners")
	}
	var creds struct{ Users map[string]string }
	readYAML(t, filepath.Join(s.dir, "credentials"), &creds)
	generated := creds.Users["spectro"]
	if generated == "" {
		t.Fatal("Enter on the reader's password must generate one")
	}
	want := newWizardSetup(t, cli)
	yesRun(t, want, img, []string{"PAXSETUP_ADMIN_PASSWORD=" + adminPW, "PAXSETUP_READER_PASSWORD=" + generated},
		"--host", "registry.local", "--san", "127.0.0.1")
	sameSetup(t, cli, s, want, map[string]string{"admin": adminPW, "spectro": generated})
}

// TestWizardLetsEncryptDryRun walks the Let's Encrypt questions to the
// summary and a dry run, and compares the files with an unattended dry run.
func TestWizardLetsEncryptDryRun(t *testing.T) {
	cli := dockerClient(t)
	img := standInImage(t)
	s := newWizardSetup(t, cli)
	tm := startTerminal(t, nil, append([]string{"init", "--dry-run"}, s.flags(img)...)...)
	tm.expect("How should the registry get its certificate?")
	tm.send("\x1b[B")
	tm.typeLine("")
	tm.expect("Registry host name")
	tm.typeLine("10.0.0.1")
	tm.expect("Let's Encrypt issues certificates only for DNS names")
	tm.send(strings.Repeat("\x7f", len("10.0.0.1")))
	tm.typeLine("registry.example.com")
	tm.expect("Email for Let's Encrypt")
	tm.typeLine("ops@example.com")
	tm.expect("Change advanced settings?")
	tm.typeLine("")
	tm.expect("Password for admin")
	tm.typeLine("")
	tm.expect("Password for spectro")
	tm.typeLine("")
	tm.expect("Set it up now?")
	tm.expect("Let's Encrypt for registry.example.com, notices to ops@example.com")
	tm.expect("docker run")
	tm.typeLine("")
	tm.expect("Dry run:")
	if code := tm.wait(); code != 0 {
		t.Fatalf("exit %d; output:\n%s", code, tm.text())
	}
	if _, err := cli.ContainerInspect(context.Background(), s.name, client.ContainerInspectOptions{}); err == nil {
		t.Error("a dry run started a container")
	}

	want := newWizardSetup(t, cli)
	r := runBinary(t, nil, append([]string{"init", "--yes", "--dry-run", "--mode", "letsencrypt", "--host", "registry.example.com",
		"--email", "ops@example.com"}, want.flags(img)...)...)
	if r.code != 0 {
		t.Fatalf("init --yes --dry-run exited %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	ga, err := config.Load(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	wa, err := config.Load(want.dir)
	if err != nil {
		t.Fatal(err)
	}
	ga.Name, ga.Port, wa.Name, wa.Port = "", 0, "", 0
	if g, w := mustYAML(t, ga), mustYAML(t, wa); g != w {
		t.Errorf("answers differ:\nwizard:\n%s\n--yes:\n%s", g, w)
	}
	gc, err := os.ReadFile(filepath.Join(s.dir, "config", "myconfig.yml"))
	if err != nil {
		t.Fatal(err)
	}
	wc, err := os.ReadFile(filepath.Join(want.dir, "config", "myconfig.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(gc, wc) {
		t.Errorf("myconfig.yml differs:\nwizard:\n%s\n--yes:\n%s", gc, wc)
	}
}
