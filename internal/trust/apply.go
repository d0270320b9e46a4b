package trust

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/paxsetup/paxsetup/internal/fsutil"
	"github.com/paxsetup/paxsetup/internal/secretenv"
)

// Runner runs a trust store's command inside root.
type Runner interface {
	Run(ctx context.Context, root string, argv []string) (output []byte, err error)
}

// ExecRunner runs commands with os/exec, through chroot when root is not
// "/".
type ExecRunner struct{}

// Run runs argv and returns its combined output.
func (ExecRunner) Run(ctx context.Context, root string, argv []string) ([]byte, error) {
	if r := rootOrDefault(root); r != "/" {
		argv = append([]string{"chroot", r}, argv...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = secretenv.Environ()
	return cmd.CombinedOutput()
}

// Apply carries out the steps in order and calls done after each one. It
// stops at the first failure; what was done before stays done, and running
// the same plan again finishes the job.
func Apply(ctx context.Context, steps []Step, r Runner, done func(Step)) error {
	return ApplyRecorded(ctx, steps, r, nil, done)
}

// ApplyRecorded is Apply keeping l up to date: every file written is
// recorded with what it takes to undo it, and a removal undoes exactly what
// was recorded (see Ledger). A removal the ledger knows nothing of (an
// install made before ledgers) removes the file only when it holds the
// step's Data, when given, and its folder only once empty. l nil is Apply.
func ApplyRecorded(ctx context.Context, steps []Step, r Runner, l *Ledger, done func(Step)) error {
	if r == nil {
		r = ExecRunner{}
	}
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		var err error
		if s, err = apply(ctx, s, r, l); err != nil {
			return err
		}
		if done != nil {
			done(s)
		}
	}
	return nil
}

func caData(certs []*x509.Certificate) []byte {
	if len(certs) == 0 {
		return nil
	}
	return pemOf(certs)
}

func writeFile(s Step) error {
	dir := filepath.Dir(s.Path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return withRootHint(fmt.Errorf("create %s: %w", dir, err))
	}
	return withRootHint(fsutil.WriteFileAtomic(s.Path, s.Data, FileMode))
}

func apply(ctx context.Context, s Step, r Runner, l *Ledger) (Step, error) {
	switch s.Kind {
	case WriteFile:
		if l != nil {
			return s, l.write(s)
		}
		return s, writeFile(s)
	case RemoveFile:
		if l != nil {
			handled, outcome, err := l.remove(s)
			if handled {
				s.Outcome = outcome
				return s, err
			}
		}
		return s, removeUnrecorded(&s)
	case RunCommand:
		return s, run(ctx, s, r)
	}
	return s, fmt.Errorf("unknown step kind %q", s.Kind)
}

// removeUnrecorded removes a file no ledger knows of: only if it holds
// s.Data (when set), and its folder once empty (PruneDir).
func removeUnrecorded(s *Step) error {
	cur, err := os.ReadFile(s.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		s.Outcome = "absent"
		return nil
	case err != nil:
		return withRootHint(err)
	case s.Data != nil && !bytes.Equal(cur, s.Data):
		s.Outcome = "kept"
		return nil
	}
	if err := os.Remove(s.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return withRootHint(err)
	}
	if s.PruneDir {
		// Only an empty folder goes: the operator may keep a client
		// certificate next to ca.crt.
		if entries, err := os.ReadDir(filepath.Dir(s.Path)); err == nil && len(entries) == 0 {
			if err := os.Remove(filepath.Dir(s.Path)); err != nil {
				return withRootHint(err)
			}
		}
	}
	return nil
}

func run(ctx context.Context, s Step, r Runner) error {
	out, err := r.Run(ctx, s.Root, s.Command)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(err, exec.ErrNotFound) {
		return fmt.Errorf("%s is not installed: install the %s package, then run this again", s.Command[0], s.Package)
	}
	msg := strings.TrimSpace(string(out))
	if msg != "" {
		msg = ":\n" + msg
	}
	err = fmt.Errorf("%s failed (%w)%s", strings.Join(s.Command, " "), err, msg)
	if os.Geteuid() != 0 {
		err = fmt.Errorf("%w\nrun this as root (sudo)", err)
	}
	return err
}

// withRootHint names the fix for the usual cause: the folders and the
// stores belong to root.
func withRootHint(err error) error {
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("%w: run this as root (sudo)", err)
	}
	return err
}

// pemOf encodes only the certificates, so that nothing else that was in the
// operator's file (a private key pasted by mistake) is copied around.
func pemOf(certs []*x509.Certificate) []byte {
	var buf bytes.Buffer
	for _, c := range certs {
		pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return buf.Bytes()
}

func rootOrDefault(root string) string {
	if root == "" {
		return "/"
	}
	return filepath.Clean(root)
}
