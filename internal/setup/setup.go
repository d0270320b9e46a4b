// Package setup carries out an init run: it checks the host, writes the
// htpasswd file and the certificates, starts the registry container and
// verifies it. Every step is safe to repeat: what is there and still right is
// reused, and data/ is never touched.
package setup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/paxsetup/paxsetup/internal/answers"
	"github.com/paxsetup/paxsetup/internal/certgen"
	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/dockerctl"
	"github.com/paxsetup/paxsetup/internal/render"
	"github.com/paxsetup/paxsetup/internal/verify"
)

// Engine is what an init run needs from the Docker engine.
type Engine interface {
	EnsureImage(ctx context.Context, ref string, policy dockerctl.PullPolicy, progress io.Writer) error
	ImageExists(ctx context.Context, ref string) (bool, error)
	LoadImageArchive(ctx context.Context, path, ref string, progress io.Writer) error
	ImageID(ctx context.Context, ref string) (string, error)
	ImageConfig(ctx context.Context, ref string) (dockerctl.ImageConfig, error)
	Create(ctx context.Context, spec dockerctl.Spec) (string, error)
	Start(ctx context.Context, id string) error
	Stop(ctx context.Context, id string, timeout time.Duration) error
	Remove(ctx context.Context, id string) error
	Rename(ctx context.Context, id, newName string) error
	Inspect(ctx context.Context, nameOrID string) (dockerctl.Container, error)
	ContainersPublishing(ctx context.Context, hostPort int) ([]dockerctl.Container, error)
	Logs(ctx context.Context, id string, tail int) (string, error)
}

// Labels paxsetup puts on its containers.
const (
	LabelManaged = dockerctl.LabelManaged
	LabelDir     = dockerctl.LabelDir
	LabelSpec    = "io.paxsetup.spec"
)

// Sentinel errors callers map to exit codes and hints.
var (
	ErrPortInUse      = errors.New("port in use")
	ErrNameTaken      = errors.New("container name taken")
	ErrNotReady       = errors.New("registry not ready")
	ErrCertMismatch   = errors.New("existing certificate does not fit")
	ErrVerifyFailed   = errors.New("verification failed")
	ErrContainerCrash = errors.New("registry container exited")
)

// Options are the validated answers of a run plus what is not saved with them.
type Options struct {
	Dir            string // absolute
	Answers        config.Answers
	AdminPassword  answers.Password
	ReaderPassword answers.Password
	// HostIPs are this host's addresses, added to the certificate's SANs.
	HostIPs []string
	// Force replaces existing certificates and generated passwords.
	Force bool
	// RenewCert issues a new server certificate from the same CA.
	RenewCert bool
	// Out receives one line per step.
	Out io.Writer
	// HealthTimeout bounds the wait for the registry to answer.
	HealthTimeout time.Duration
	Now           func() time.Time
	// DryRun writes the files and plans the container, but changes nothing
	// in the engine (see DryRun); the engine may then be nil.
	DryRun bool
	// S3Keys are the S3 access keys of this run (--storage s3); empty
	// reuses the ones in the setup's config file, if any.
	S3Keys S3Keys
	// HTTPSecret is the http secret to use with S3 storage (a node set up
	// from another's bundle); empty keeps the setup's own, or makes one.
	HTTPSecret string
	// Install are the shared files of a node joining from a bundle (see
	// SharedFiles), by path in the setup folder: the run writes them in
	// place of the users and certificates it would make, after the checks
	// and inside the run's transaction, like every other file.
	Install map[string][]byte
	// Upgrade moves the registry to what the image reference names now,
	// even when paxsetup.yaml records another image ID, and loads
	// --image-archive even when the image is present.
	Upgrade bool
	// Keys are the certificate keys a caller started (StartKeys) as soon
	// as it knew the answers; nil starts them when the run begins.
	Keys *Keys

	// users are the users' entries, prepared beside the run's checks.
	users *pendingUsers
}

// Result tells the caller what the run did.
type Result struct {
	// Generated are the passwords made in this run, to be shown once.
	Generated       map[string]string
	ContainerID     string
	ContainerAction string // created, unchanged, started, replaced
	Report          verify.Report
	Palette         render.Palette
	// Plan is set by a dry run: what would be started.
	Plan *Plan
}

// Run carries out an init run.
func Run(ctx context.Context, eng Engine, opts Options) (*Result, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	for _, w := range Warnings(opts.Answers) {
		fmt.Fprintf(opts.Out, "warn %s\n", w)
	}
	if opts.DryRun {
		return dryRun(ctx, eng, opts)
	}
	a := opts.Answers
	l := Layout{Dir: opts.Dir}
	res := &Result{}

	// A swap that an earlier run left half done is finished or undone
	// first: the registry serves again before this run changes anything.
	if _, err := RecoverSwap(ctx, eng, opts.Dir, opts.Out); err != nil {
		return nil, err
	}
	// The keys and the users' hashes are made beside the checks, from the
	// files as the recovery left them (see background.go).
	if opts.Keys == nil {
		opts.Keys = StartKeys(opts.Dir, a, opts.Force || opts.RenewCert)
	}
	opts.users = startUsers(l, opts)
	// Nothing is written before the checks that can refuse the run.
	existing, err := ownContainer(ctx, eng, a.Name, opts.Dir)
	if err != nil {
		return nil, err
	}
	if err := step(opts.Out, "port "+strconv.Itoa(a.Port)+" free", func() error {
		return checkPort(ctx, eng, a.Port, existing)
	}); err != nil {
		return nil, err
	}
	if err := checkNetwork(ctx, eng, a); err != nil {
		return nil, err
	}
	img, err := ensureImage(ctx, eng, opts)
	if err != nil {
		return nil, err
	}
	imageID := img.ID
	// Recorded so that a later run keeps this image until told to upgrade.
	a.ImageID = img.ID
	// Not replayed: the engine holds the image now, and the tarball is
	// usually gone after the install (a saved path would fail validation).
	a.ImageArchive = ""

	// The last check that can refuse the run, before its first write.
	if _, err := keepCert(l, opts); err != nil {
		return nil, err
	}
	// Until its registry answers, a run that fails puts the live files back.
	prev, err := keepPrevious(opts.Dir)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*Result, error) {
		if rerr := prev.restore(); rerr != nil {
			return res, fmt.Errorf("%w; and putting the previous files back failed: %v (they are in %s)", err, rerr, l.Previous())
		}
		return res, err
	}
	if res.Generated, err = writeFiles(ctx, l, opts); err != nil {
		return fail(err)
	}

	spec, err := containerSpec(l, a, imageID)
	if err != nil {
		return fail(err)
	}
	applyImage(&spec, img)
	if err := handToImageUser(spec, img, defaultChown, opts.Out); err != nil {
		return fail(err)
	}
	vopts, err := VerifyOptions(opts.Dir, a)
	if err != nil {
		return fail(err)
	}
	vopts.Timeout = opts.HealthTimeout
	vopts.User, vopts.Password, err = adminCredentials(opts.Dir, a, opts.AdminPassword, res.Generated)
	if err != nil {
		return fail(err)
	}
	if a.Mode == config.ModeLetsEncrypt {
		dirURL := a.ACMEDirectory
		if dirURL == "" {
			dirURL = "Let's Encrypt"
		}
		fmt.Fprintf(opts.Out, "acme the registry orders its certificate for %s from %s at the first HTTPS request by that name; waiting up to %s for it\n", a.Host, dirURL, opts.HealthTimeout)
	}
	// Ended with the run: a failed container step leaves it unread.
	readerCtx, stopReader := context.WithCancel(ctx)
	defer stopReader()
	reader := newReaderCheck(readerCtx, opts, vopts, res.Generated)
	if err := step(opts.Out, "container "+a.Name, func() error {
		id, action, rep, err := runContainer(ctx, eng, spec, existing, vopts, opts.Dir, prev, reader.start)
		res.ContainerID, res.ContainerAction, res.Report = id, action, rep
		return err
	}); err != nil {
		return fail(err)
	}
	if err := prev.discard(); err != nil {
		return res, err
	}

	if err := step(opts.Out, "second user "+a.ReaderUser, reader.result); err != nil {
		return res, err
	}

	if err := config.Save(opts.Dir, a); err != nil {
		return res, err
	}
	res.Palette = PaletteFor(opts.Dir, a, res.Generated)
	return res, nil
}

// writeFiles writes every file of the setup, for a real run and a dry run
// alike: the folders, the users, and what the mode needs. It returns the
// passwords it generated.
func writeFiles(ctx context.Context, l Layout, opts Options) (generated map[string]string, err error) {
	for _, d := range []string{opts.Dir, l.Auth(), l.Certs(), l.Data()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("create %s: %w", d, err)
		}
	}
	if opts.Install != nil {
		return nil, step(opts.Out, "the shared registry's users, certificate and secrets from the bundle", func() error { return installNode(l, opts) })
	}
	if err := step(opts.Out, "users in auth/htpasswd-basic", func() error {
		generated, err = writeUsers(ctx, l, opts)
		return err
	}); err != nil {
		return nil, err
	}
	return generated, writeModeFiles(ctx, l, opts)
}

// step runs one step and reports it on one line with its duration.
func step(w io.Writer, name string, fn func() error) error {
	if r, ok := w.(StepReporter); ok {
		return r.Step(name, fn)
	}
	start := time.Now()
	err := fn()
	mark := "ok  "
	if err != nil {
		mark = "FAIL"
	}
	fmt.Fprintf(w, "%s %s (%s)\n", mark, name, time.Since(start).Round(time.Millisecond))
	return err
}

// StepReporter shows the steps of a run as they happen, e.g. with a spinner
// on a terminal. An Out writer that implements it reports every step;
// otherwise each step is one plain line.
type StepReporter interface {
	Step(name string, fn func() error) error
}

// ownContainer returns the container that holds the name, or nil when the
// name is free. A container paxsetup did not make for this setup is never
// touched.
func ownContainer(ctx context.Context, eng Engine, name, dir string) (*dockerctl.Container, error) {
	c, err := eng.Inspect(ctx, name)
	if errors.Is(err, dockerctl.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !c.OwnedBy(dir) {
		return nil, &answers.FlagError{Flag: "name", Err: fmt.Errorf("%w: a container named %q exists that this setup (%s) did not create: pick another --name, or remove it with `docker rm -f %s`", ErrNameTaken, name, dir, name)}
	}
	return &c, nil
}

// checkPort fails when another program or container holds the port. The
// setup's own container may hold it: a re-run replaces that one safely.
func checkPort(ctx context.Context, eng Engine, port int, own *dockerctl.Container) error {
	if own != nil && own.Running {
		for _, p := range own.HostPorts {
			if p == port {
				return nil
			}
		}
	}
	holders, err := eng.ContainersPublishing(ctx, port)
	if err != nil {
		return err
	}
	for _, h := range holders {
		if own == nil || h.ID != own.ID {
			return &answers.FlagError{Flag: "port", Err: fmt.Errorf("%w: port %d is published by container %q: stop it (docker stop %s) or pick another --port", ErrPortInUse, port, h.Name, h.Name)}
		}
	}
	ln, err := net.Listen("tcp", ":"+strconv.Itoa(port))
	if err != nil {
		if errors.Is(err, fs.ErrPermission) || strings.Contains(err.Error(), "permission denied") {
			// Docker, not this process, binds the port: a privileged port we
			// may not bind ourselves says nothing about whether it is free.
			return nil
		}
		return &answers.FlagError{Flag: "port", Err: fmt.Errorf("%w: port %d is taken by another program (%v): stop it or pick another --port", ErrPortInUse, port, err)}
	}
	return ln.Close()
}

// keepCert reports whether a self-signed run keeps the server certificate in
// certs/, and refuses one that no longer fits the host and SANs unless told
// to replace it. It writes nothing, so a run calls it before its first write:
// a refused run must leave every file as it was.
func keepCert(l Layout, opts Options) (bool, error) {
	if opts.Answers.Node != nil {
		return keepNodeCert(l, opts)
	}
	if opts.Answers.Mode != config.ModeSelfSigned || opts.Force || opts.RenewCert {
		return false, nil
	}
	files := certgen.Files{Dir: l.Certs()}
	if !fileExists(files.TLSCert()) && !fileExists(files.TLSKey()) {
		return false, nil
	}
	a := opts.Answers
	if err := certgen.CheckLeaf(l.Certs(), a.Host, answers.CertSANs(a, opts.HostIPs), opts.Now()); err != nil {
		return false, &answers.FlagError{Flag: "force", Err: fmt.Errorf("%w: %v; re-run with --force to issue a new certificate from the same CA", ErrCertMismatch, err)}
	}
	return true, nil
}

// ensureCerts reuses a certificate that still fits the host and SANs, and
// otherwise issues one, reusing the CA so clients that trust it keep working.
func ensureCerts(ctx context.Context, l Layout, opts Options) error {
	a := opts.Answers
	sans := answers.CertSANs(a, opts.HostIPs)
	if keep, err := keepCert(l, opts); keep || err != nil {
		return err
	}
	caKey, leafKey := opts.Keys.pending()
	_, err := certgen.Generate(ctx, certgen.GenerateOptions{
		Dir:          l.Certs(),
		Host:         a.Host,
		SANs:         sans,
		Days:         a.Days,
		Force:        opts.Force || opts.RenewCert,
		Now:          opts.Now,
		PendingCAKey: caKey,
		PendingKey:   leafKey,
	})
	return err
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// CheckNoLinks refuses a setup folder in which a file paxsetup reads or
// writes is a symbolic link (data/, the registry's own, is not looked at).
// Following one would read another file's users or keys and copy its owner;
// replacing it would silently cut the link. The operator decides instead.
func CheckNoLinks(dir string) error {
	for _, name := range append(liveNames, JournalFile) {
		root := filepath.Join(dir, name)
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) && p == root {
				return nil
			}
			if err != nil {
				return err
			}
			if d.Type()&fs.ModeSymlink != 0 {
				return &answers.FlagError{Flag: "dir", Err: fmt.Errorf("%s is a symbolic link: paxsetup reads and writes only the setup's own files; put the file itself there (cp --remove-destination \"$(readlink -f %s)\" %s), or use another --dir", p, p, p)}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}
