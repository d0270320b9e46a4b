package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/htpasswd"
	"github.com/paxsetup/paxsetup/internal/setup"
	"github.com/paxsetup/paxsetup/internal/termtest"
)

// startWizard runs the built binary on a pseudo-terminal of cols x rows,
// rendered by a terminal emulator, the way an operator's terminal runs it.
func startWizard(t *testing.T, cols, rows int, env []string, args ...string) *termtest.Term {
	t.Helper()
	cmd := exec.Command(paxsetupBinary(t), args...)
	cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "TERM=") || strings.HasPrefix(kv, "PAXSETUP_")
	}), env...)
	return termtest.Start(t, cmd, cols, rows)
}

// rowOf returns the first row that starts with prefix, or -1.
func rowOf(rows []string, prefix string) int {
	for i, r := range rows {
		if strings.HasPrefix(r, prefix) {
			return i
		}
	}
	return -1
}

// formBorder starts every line of the question being answered.
const formBorder = "┃"

// question waits until the question titled title is the one being asked,
// and checks how it is drawn: the title right after the form's border at the
// left edge, every line of the question starting at that border, nothing
// staircased, everything within the screen.
func question(t *testing.T, tm *termtest.Term, title string) {
	t.Helper()
	tm.WaitUntil("question "+title, func(rows []string) bool { return rowOf(rows, formBorder+" "+title) >= 0 })
	rows := tm.Screen()
	i := rowOf(rows, formBorder+" "+title)
	for j := i + 1; j < len(rows) && rows[j] != "" && !strings.HasPrefix(rows[j], " *"); j++ {
		if !strings.HasPrefix(rows[j], formBorder) {
			t.Errorf("question %q: row %d does not start at the form's border:\n%s", title, j, tm.ScreenString())
			break
		}
	}
	if st := termtest.Staircase(rows); len(st) > 0 {
		t.Errorf("question %q: rows %v staircase:\n%s", title, st, tm.ScreenString())
	}
}

// confirmPlan waits for the plan and the question after it, and checks that
// both fit: the summary's lines at most 80 columns, the question's buttons on
// screen.
func confirmPlan(t *testing.T, tm *termtest.Term, title string) {
	t.Helper()
	question(t, tm, title)
	tm.WaitUntil("the Yes and No buttons", func(rows []string) bool {
		i := rowOf(rows, formBorder+" "+title)
		for _, r := range rows[i+1:] {
			if strings.Contains(r, "Yes") && strings.Contains(r, "No") {
				return true
			}
		}
		return false
	})
	rows := tm.Screen()
	i := rowOf(rows, formBorder+" Registry   http")
	if i < 0 || i < rowOf(rows, formBorder+" "+title) {
		t.Errorf("the plan is not shown under %q:\n%s", title, tm.ScreenString())
	}
	for _, r := range rows {
		if n := len([]rune(r)); strings.HasPrefix(r, formBorder) && n > 80 {
			t.Errorf("a row of %d columns: %q", n, r)
		}
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

// finish waits for the program to end, and checks that it succeeded saying
// want (which may have scrolled off the screen since).
func finish(t *testing.T, tm *termtest.Term, want string) {
	t.Helper()
	if code := tm.Wait(); code != 0 || !strings.Contains(tm.History(), want) {
		t.Fatalf("exit %d, want 0 and %q:\n%s", code, want, tm.History())
	}
}

// The questions of a first run, in order, when every default is taken.
const (
	qMode     = "How should the registry get its certificate?"
	qHost     = "Registry host name"
	qSANs     = "Other names for the certificate"
	qAdvanced = "Change advanced settings?"
	qSetUp    = "Set it up now?"
)

// TestWizardTakingDefaults takes every default with Enter on an 80x24
// terminal, with an Enter pressed before the first question (while the
// checks run), and types only the two passwords, twice each. Every question
// and the plan are checked as drawn.
func TestWizardTakingDefaults(t *testing.T) {
	cli := dockerClient(t)
	img := standInImage(t)
	s := newWizardSetup(t, cli)
	tm := startWizard(t, 80, 24, nil, append([]string{"init"}, s.flags(img)...)...)
	tm.Send(termtest.Enter) // pressed during the checks: must choose nothing

	question(t, tm, qMode)
	if rows := tm.Screen(); rowOf(rows, formBorder+" > Self-signed") < 0 {
		t.Errorf("the mode question does not start on self-signed:\n%s", tm.ScreenString())
	}
	tm.Send(termtest.Enter)
	question(t, tm, qHost) // this machine's name, offered
	tm.Send(termtest.Enter)
	question(t, tm, qSANs)
	tm.Send(termtest.Enter)
	question(t, tm, qAdvanced)
	tm.Send(termtest.Enter)
	before := tm.Keys()
	question(t, tm, "Password for admin")
	tm.Type(adminPW)
	tm.Send(termtest.Enter)
	question(t, tm, "Password for admin again")
	tm.Type(adminPW)
	tm.Send(termtest.Enter)
	question(t, tm, "Password for spectro")
	tm.Type(readerPW)
	tm.Send(termtest.Enter)
	question(t, tm, "Password for spectro again")
	tm.Type(readerPW)
	tm.Send(termtest.Enter)
	passwordKeys := tm.Keys() - before
	confirmPlan(t, tm, qSetUp)
	tm.Send(termtest.Enter)
	finish(t, tm, "Ready:")
	other := tm.Keys() - passwordKeys
	t.Logf("keys: %d besides the passwords (one of them during the checks)", other)
	if other > 6 {
		t.Errorf("taking the defaults took %d keys besides the passwords, want at most 6", other)
	}
	if h := tm.History(); strings.Contains(h, adminPW) || strings.Contains(h, readerPW) {
		t.Error("a typed password is on the screen")
	}
	palette, err := os.ReadFile(filepath.Join(s.dir, setup.PaletteFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(palette), "Endpoint:     https://") {
		t.Errorf("PALETTE.txt:\n%s", palette)
	}
	want := newWizardSetup(t, cli)
	yesRun(t, want, img, []string{"PAXSETUP_ADMIN_PASSWORD=" + adminPW, "PAXSETUP_READER_PASSWORD=" + readerPW})
	sameSetup(t, cli, s, want, map[string]string{"admin": adminPW, "spectro": readerPW})
}

// TestWizardTypingAhead presses Enter the ways people do: one every 50 ms
// from the start, and bursts; each run must end on the defaults with a
// registry that serves, and no Enter may be lost or count twice.
func TestWizardTypingAhead(t *testing.T) {
	cli := dockerClient(t)
	img := standInImage(t)
	tests := []struct {
		name string
		keys func(t *testing.T, tm *termtest.Term) int // returns the Enters pressed once the first question was up
	}{
		{
			name: "an Enter every 50 ms",
			keys: func(t *testing.T, tm *termtest.Term) int {
				tick := time.NewTicker(50 * time.Millisecond)
				defer tick.Stop()
				first := -1
				deadline := time.Now().Add(time.Minute)
				for time.Now().Before(deadline) && !tm.Exited() {
					rows := tm.Screen()
					if first < 0 && rowOf(rows, formBorder+" "+qMode) >= 0 {
						first = tm.Keys()
					}
					if strings.Contains(strings.Join(rows, "\n"), "Setting up") {
						return tm.Keys() - first
					}
					tm.Send(termtest.Enter)
					<-tick.C
				}
				t.Fatalf("the wizard did not get to the setup:\n%s", tm.History())
				return 0
			},
		},
		{
			name: "a burst of five Enters, then one per question",
			keys: func(t *testing.T, tm *termtest.Term) int {
				question(t, tm, qMode)
				start := tm.Keys()
				// mode, names, advanced settings, two passwords
				tm.Send(termtest.Enter, termtest.Enter, termtest.Enter, termtest.Enter, termtest.Enter)
				confirmPlan(t, tm, qSetUp)
				tm.Send(termtest.Enter)
				return tm.Keys() - start
			},
		},
		{
			name: "Enters during the checks, then every Enter at once",
			keys: func(t *testing.T, tm *termtest.Term) int {
				// Typed during the checks: discarded, so the wizard
				// then waits at its first question.
				tm.Send(strings.Repeat(termtest.Enter, 6))
				question(t, tm, qMode)
				start := tm.Keys()
				tm.Send(strings.Repeat(termtest.Enter, 6))
				return tm.Keys() - start
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newWizardSetup(t, cli)
			tm := startWizard(t, 80, 24, nil, append([]string{"init", "--host", "registry.local"}, s.flags(img)...)...)
			enters := tt.keys(t, tm)
			finish(t, tm, "Ready:")
			// The bursts are exact: five Enters reach the plan, or the
			// wait for it fails. At a 50 ms cadence the count also holds
			// the Enters sent while the run starts, before its first line
			// is seen, which depends on the machine's load: it is logged,
			// not asserted.
			t.Logf("%d Enters from the first question to the setup", enters)
			a, err := config.Load(s.dir)
			if err != nil {
				t.Fatal(err)
			}
			if a.Mode != config.ModeSelfSigned || a.Host != "registry.local" || len(a.SANs) != 0 || a.Storage != "filesystem" {
				t.Errorf("answers are not the defaults: %+v", a)
			}
			var creds struct{ Users map[string]string }
			readYAML(t, filepath.Join(s.dir, "credentials"), &creds)
			c := registryClient(t, filepath.Join(s.dir, "certs", "ca.crt"), "registry.local", s.port)
			if got := status(t, c, "https://registry.local/v2/", "spectro", creds.Users["spectro"]); got != 200 {
				t.Errorf("GET /v2/ as spectro = %d", got)
			}
		})
	}
}

// TestWizardGoingBack goes back with Shift-Tab from a refused answer to the
// mode question, changes the mode, and gets the questions of the new mode.
func TestWizardGoingBack(t *testing.T) {
	cli := dockerClient(t)
	img := standInImage(t)
	s := newWizardSetup(t, cli)
	tm := startWizard(t, 80, 24, nil, append([]string{"init", "--dry-run"}, s.flags(img)...)...)
	question(t, tm, qMode)
	tm.Send(termtest.Down, termtest.Enter)
	question(t, tm, qHost)
	tm.Type("10.0.0.1")
	tm.Send(termtest.Enter)
	tm.WaitFor("is an IP address: Let's Encrypt")
	tm.Send(termtest.ShiftTab)
	question(t, tm, qMode)
	tm.Send(termtest.Up, termtest.Enter)
	question(t, tm, qHost)
	tm.WaitFor("certificate is made for it") // the help of the new mode
	tm.Send(termtest.Enter)                  // 10.0.0.1 is a fine name for a self-signed certificate
	question(t, tm, qSANs)
	tm.Send(termtest.Enter)
	question(t, tm, qAdvanced)
	tm.Send(termtest.Enter)
	question(t, tm, "Password for admin")
	tm.Send(termtest.Enter)
	question(t, tm, "Password for spectro")
	tm.Send(termtest.Enter)
	confirmPlan(t, tm, "Write the files and show the plan (dry run)?")
	tm.Send(termtest.Enter)
	if code := tm.Wait(); code != 0 || !strings.Contains(tm.History(), "Dry run:") {
		t.Fatalf("exit %d:\n%s", code, tm.History())
	}
	a, err := config.Load(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	if a.Mode != config.ModeSelfSigned || a.Host != "10.0.0.1" || a.Email != "" {
		t.Errorf("answers = %+v", a)
	}
}

// TestWizardCtrlC interrupts the wizard at each question of a first run:
// exit 130, one closing line, nothing written, no container.
func TestWizardCtrlC(t *testing.T) {
	cli := dockerClient(t)
	img := standInImage(t)
	walk := []string{qMode, qSANs, qAdvanced, "Password for admin", "Password for admin again", "Password for spectro", qSetUp}
	for n, at := range walk {
		t.Run(at, func(t *testing.T) {
			s := newWizardSetup(t, cli)
			tm := startWizard(t, 80, 24, nil, append([]string{"init", "--host", "registry.local"}, s.flags(img)...)...)
			for _, q := range walk[:n] {
				question(t, tm, q)
				if strings.HasPrefix(q, "Password for admin") {
					tm.Type(adminPW)
				}
				tm.Send(termtest.Enter)
			}
			question(t, tm, at)
			tm.Type("half")
			tm.Send(termtest.CtrlC)
			if code := tm.Wait(); code != exitInterrupt {
				t.Fatalf("exit %d, want %d:\n%s", code, exitInterrupt, tm.History())
			}
			lines := strings.Split(strings.TrimSpace(tm.History()), "\n")
			if last := lines[len(lines)-1]; strings.TrimSpace(last) != "interrupted" {
				t.Errorf("want one closing line saying interrupted, got %q:\n%s", last, tm.History())
			}
			if _, err := os.Stat(s.dir); !os.IsNotExist(err) {
				t.Errorf("the setup folder exists after Ctrl-C: %v", err)
			}
			if _, err := cli.ContainerInspect(context.Background(), s.name, client.ContainerInspectOptions{}); err == nil {
				t.Error("a container exists after Ctrl-C")
			}
		})
	}
}

// TestWizardDeclined answers No to the plan: nothing written, and an exit
// code that is not an interruption's.
func TestWizardDeclined(t *testing.T) {
	cli := dockerClient(t)
	img := standInImage(t)
	s := newWizardSetup(t, cli)
	tm := startWizard(t, 80, 24, nil, append([]string{"init", "--host", "registry.local"}, s.flags(img)...)...)
	for _, q := range []string{qMode, qSANs, qAdvanced, "Password for admin", "Password for spectro"} {
		question(t, tm, q)
		tm.Send(termtest.Enter)
	}
	confirmPlan(t, tm, qSetUp)
	tm.Send("n")
	code := tm.Wait()
	if code == 0 || code == exitInterrupt {
		t.Fatalf("exit %d, want neither 0 nor %d:\n%s", code, exitInterrupt, tm.History())
	}
	if !strings.Contains(tm.History(), "nothing was changed") {
		t.Errorf("the answer No is not acknowledged:\n%s", tm.History())
	}
	if _, err := os.Stat(s.dir); !os.IsNotExist(err) {
		t.Errorf("the setup folder exists after No: %v", err)
	}
}

// TestWizardAnsweringEverything answers every question, advanced ones too,
// on a 120x40 terminal.
func TestWizardAnsweringEverything(t *testing.T) {
	cli := dockerClient(t)
	img := standInImage(t)
	s := newWizardSetup(t, cli)
	// No --port and no --image: both are asked for in the advanced settings.
	tm := startWizard(t, 120, 40, nil, "init", "--dir", s.dir, "--name", s.name, "--pull", "never", "--no-color")
	answer := func(q, text string) {
		t.Helper()
		question(t, tm, q)
		if text != "" {
			tm.Type(text)
		}
		tm.Send(termtest.Enter)
	}
	question(t, tm, qMode)
	tm.Send(termtest.Enter)
	question(t, tm, qHost)
	tm.Send(strings.Repeat(termtest.Backspace, 8))
	answer(qHost, "registry.local")
	answer(qSANs, "127.0.0.1, registry")
	question(t, tm, qAdvanced)
	tm.Send("y")
	answer("Port for the registry", strconv.Itoa(s.port))
	answer("Your login name", "root")
	question(t, tm, "Second login, for Palette")
	if !strings.Contains(strings.Join(tm.Screen(), " "), "same rights") {
		t.Errorf("the second login's help does not say what it can do:\n%s", tm.ScreenString())
	}
	tm.Type("viewer")
	tm.Send(termtest.Enter)
	question(t, tm, "Registry image")
	tm.Type(img)
	tm.Send(termtest.Enter)
	answer("Where are packs stored?", "")
	answer("Password for root", adminPW)
	answer("Password for root again", adminPW)
	answer("Password for viewer", readerPW)
	answer("Password for viewer again", readerPW)
	confirmPlan(t, tm, qSetUp)
	tm.Send(termtest.Enter)
	finish(t, tm, "Ready:")

	want := newWizardSetup(t, cli)
	yesRun(t, want, img, []string{"PAXSETUP_ADMIN_PASSWORD=" + adminPW, "PAXSETUP_READER_PASSWORD=" + readerPW},
		"--host", "registry.local", "--san", "127.0.0.1", "--san", "registry", "--admin-user", "root", "--reader-user", "viewer")
	sameSetup(t, cli, s, want, map[string]string{"root": adminPW, "viewer": readerPW})
	c := registryClient(t, filepath.Join(s.dir, "certs", "ca.crt"), "registry.local", s.port)
	if got := status(t, c, "https://registry.local/v1/_catalog", "viewer", readerPW); got != 200 {
		t.Errorf("catalog as viewer = %d", got)
	}
}

// TestWizardAccessible answers plain line prompts, as a screen reader user
// would, sees the help and the plan, and gets the same setup as --yes.
func TestWizardAccessible(t *testing.T) {
	cli := dockerClient(t)
	img := standInImage(t)
	s := newWizardSetup(t, cli)
	tm := startWizard(t, 80, 24, []string{"ACCESSIBLE=1"}, append([]string{"init", "--host", "registry.local"}, s.flags(img)...)...)
	tm.WaitFor("Enter a number between 1 and 4")
	tm.Send("1", termtest.Enter)
	tm.WaitFor(qSANs)
	if !strings.Contains(tm.History(), "comma-separated") {
		t.Errorf("accessible mode does not show the help:\n%s", tm.History())
	}
	tm.Send("127.0.0.1", termtest.Enter)
	tm.WaitFor(qAdvanced)
	tm.Send("n", termtest.Enter)
	tm.WaitFor("Password for admin")
	tm.Send(adminPW, termtest.Enter)
	tm.WaitFor("Password for admin again")
	tm.Send(adminPW, termtest.Enter)
	tm.WaitFor("Password for spectro")
	tm.Send(termtest.Enter)
	tm.WaitFor(qSetUp)
	if h := tm.History(); !strings.Contains(h, "Registry   https://registry.local:") || !strings.Contains(h, "Packs") || !strings.Contains(h, "comma-separated") {
		t.Errorf("accessible mode does not show the plan:\n%s", h)
	}
	tm.Send("y", termtest.Enter)
	finish(t, tm, "Ready:")
	if strings.ContainsAny(string(tm.Raw()), "⠋⠙⠹") {
		t.Error("accessible mode must not animate spinners")
	}
	var creds struct{ Users map[string]string }
	readYAML(t, filepath.Join(s.dir, "credentials"), &creds)
	generated := creds.Users["spectro"]
	if generated == "" {
		t.Fatal("Enter on the second login's password must generate one")
	}
	want := newWizardSetup(t, cli)
	yesRun(t, want, img, []string{"PAXSETUP_ADMIN_PASSWORD=" + adminPW, "PAXSETUP_READER_PASSWORD=" + generated},
		"--host", "registry.local", "--san", "127.0.0.1")
	sameSetup(t, cli, s, want, map[string]string{"admin": adminPW, "spectro": generated})
}

// TestWizardAccessibleCtrlC interrupts a line prompt: Ctrl-C is a signal
// there, and must end the wizard as in the full-screen form.
func TestWizardAccessibleCtrlC(t *testing.T) {
	cli := dockerClient(t)
	img := standInImage(t)
	s := newWizardSetup(t, cli)
	tm := startWizard(t, 80, 24, []string{"ACCESSIBLE=1"}, append([]string{"init", "--host", "registry.local"}, s.flags(img)...)...)
	tm.WaitFor("Enter a number between 1 and 4")
	tm.Send(termtest.CtrlC)
	if code := tm.Wait(); code != exitInterrupt {
		t.Fatalf("exit %d, want %d:\n%s", code, exitInterrupt, tm.History())
	}
	if _, err := os.Stat(s.dir); !os.IsNotExist(err) {
		t.Errorf("the setup folder exists after Ctrl-C: %v", err)
	}
}

// TestWizardLetsEncryptDryRun walks the Let's Encrypt questions to the
// plan and a dry run, and compares the files with an unattended dry run.
func TestWizardLetsEncryptDryRun(t *testing.T) {
	cli := dockerClient(t)
	img := standInImage(t)
	s := newWizardSetup(t, cli)
	tm := startWizard(t, 80, 24, nil, append([]string{"init", "--dry-run"}, s.flags(img)...)...)
	question(t, tm, qMode)
	tm.Send(termtest.Down, termtest.Enter)
	question(t, tm, qHost)
	tm.Send(strings.Repeat(termtest.Backspace, 8))
	tm.Type("10.0.0.1")
	tm.Send(termtest.Enter)
	tm.WaitFor("is an IP address: Let's Encrypt")
	tm.Send(strings.Repeat(termtest.Backspace, len("10.0.0.1")))
	tm.Type("registry.example.com")
	tm.Send(termtest.Enter)
	question(t, tm, "Email for Let's Encrypt")
	tm.Type("ops@example.com")
	tm.Send(termtest.Enter)
	question(t, tm, qAdvanced)
	tm.Send(termtest.Enter)
	question(t, tm, "Password for admin")
	tm.Send(termtest.Enter)
	question(t, tm, "Password for spectro")
	tm.Send(termtest.Enter)
	confirmPlan(t, tm, "Write the files and show the plan (dry run)?")
	if h := strings.Join(strings.Fields(strings.ReplaceAll(tm.History(), formBorder, "")), " "); !strings.Contains(h, "from Let's Encrypt for registry.example.com, notices to ops@example.com") {
		t.Errorf("the plan does not say where the certificate comes from:\n%s", tm.History())
	}
	tm.Send(termtest.Enter)
	if code := tm.Wait(); code != 0 || !strings.Contains(tm.History(), "Dry run:") {
		t.Fatalf("exit %d:\n%s", code, tm.History())
	}
	if !strings.Contains(tm.History(), "docker run") {
		t.Errorf("the dry run does not show the docker command:\n%s", tm.History())
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

// TestWizardTypedAnswersInOneBurst types several answers in one go, as a
// paste or a fast typist does while the form is busy: each answer must land
// in its own question, none in the one before.
func TestWizardTypedAnswersInOneBurst(t *testing.T) {
	cli := dockerClient(t)
	img := standInImage(t)
	s := newWizardSetup(t, cli)
	tm := startWizard(t, 80, 24, nil, append([]string{"init", "--dry-run"}, s.flags(img)...)...)
	question(t, tm, qMode)
	tm.Send(termtest.Enter)
	question(t, tm, qHost)
	tm.Send(strings.Repeat(termtest.Backspace, 8) + "reg.example.com" + termtest.Enter + "10.1.2.3,reg" + termtest.Enter + termtest.Enter)
	question(t, tm, "Password for admin")
	tm.Send(termtest.Enter)
	question(t, tm, "Password for spectro")
	tm.Send(termtest.Enter)
	confirmPlan(t, tm, "Write the files and show the plan (dry run)?")
	tm.Send(termtest.Enter)
	finish(t, tm, "Dry run:")
	a, err := config.Load(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	if a.Host != "reg.example.com" || !slices.Equal(a.SANs, []string{"10.1.2.3", "reg"}) {
		t.Errorf("host %q, names %v: want reg.example.com and [10.1.2.3 reg]", a.Host, a.SANs)
	}
}

// TestWizardReadsOnAnyBackground checks the colours of what a person must
// read: an option not chosen, a question's help, the placeholder and the
// unchosen button are in the terminal's own foreground, which reads on a
// light terminal and a dark one alike. (Fixed greys made the options white on
// a white xterm.)
func TestWizardReadsOnAnyBackground(t *testing.T) {
	cli := dockerClient(t)
	img := standInImage(t)
	s := newWizardSetup(t, cli)
	tm := startWizard(t, 80, 24, nil, append([]string{"init", "--dry-run"}, s.flags(img)...)...)
	ownColours := func(what, text string) {
		t.Helper()
		rows := tm.Screen()
		for y, r := range rows {
			x := strings.Index(r, text)
			if x < 0 {
				continue
			}
			col := len([]rune(r[:x]))
			for i := range len([]rune(text)) {
				if fg, bg := tm.Colors(col+i, y); fg != nil || bg != nil {
					t.Errorf("%s: column %d of %q has colours %v on %v, not the terminal's own", what, col+i, text, fg, bg)
					return
				}
			}
			return
		}
		t.Errorf("%s: %q is not on the screen:\n%s", what, text, tm.ScreenString())
	}
	question(t, tm, qMode)
	ownColours("an option not chosen", "Plain HTTP, no TLS")
	tm.Send(termtest.Enter)
	question(t, tm, qHost)
	ownColours("the help", "The name Palette and the spectro CLI use")
	tm.Send(termtest.Enter)
	question(t, tm, qSANs)
	tm.Send(termtest.Enter)
	question(t, tm, qAdvanced)
	ownColours("the unchosen button", "Yes")
}

// TestUsersPasswordOnATerminal: users add asks for the new password on the
// terminal, at 80x24, without showing what is typed; a short one is refused
// on the screen as it is typed, and the hash written verifies against the
// password typed twice.
func TestUsersPasswordOnATerminal(t *testing.T) {
	dir := t.TempDir()
	tm := startWizard(t, 80, 24, nil, "users", "add", "carol", "--dir", dir)
	tm.WaitFor("New password for carol")
	tm.Type("short")
	tm.Send(termtest.Enter)
	tm.WaitFor("is 5 characters; use at least 12")
	for range len("short") {
		tm.Send(termtest.Backspace)
	}
	const pw = "carol-typed-password-1"
	tm.Type(pw)
	tm.Send(termtest.Enter)
	tm.WaitFor("Type it again")
	tm.Type(pw)
	tm.Send(termtest.Enter)
	if code := tm.Wait(); code != 0 {
		t.Fatalf("users add exited %d:\n%s", code, tm.History())
	}
	if h := tm.History(); strings.Contains(h, pw) || strings.Contains(h, "short") {
		t.Errorf("the password was shown on the terminal:\n%s", h)
	}
	for _, row := range tm.Screen() {
		if len([]rune(row)) > 80 {
			t.Errorf("row wider than 80: %q", row)
		}
	}
	f, err := htpasswd.Load(filepath.Join(dir, "auth", "htpasswd-basic"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Verify("carol", pw); err != nil {
		t.Errorf("carol's hash does not verify against the typed password: %v", err)
	}
}
