package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	"github.com/paxsetup/paxsetup/internal/answers"
	"github.com/paxsetup/paxsetup/internal/bundle"
	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/fsutil"
	"github.com/paxsetup/paxsetup/internal/hostinfo"
	"github.com/paxsetup/paxsetup/internal/render"
	"github.com/paxsetup/paxsetup/internal/setup"
)

// nodeFlags are what a node may set for itself: where it lives on this
// host and how its container runs. Everything else is the shared
// registry's, and comes from the bundle.
var nodeFlags = []string{
	"dir", "no-color", "join", "passphrase-file", "yes", "accessible", "timeout", "dry-run",
	"port", "name", "bind", "network", "image", "pull", "image-archive", "log-level",
}

// sharedReason says why a flag cannot be given to a node.
func sharedReason(flag string) string {
	switch {
	case slices.Contains([]string{"mode", "host", "san", "days", "cert-file", "key-file", "ca-file", "email", "acme-directory", "acme-ca-file"}, flag):
		return "the name and the certificate are the shared registry's, from the bundle: change them where the registry was set up (the host with the CA key), then export and join again"
	case flag == "storage" || strings.HasPrefix(flag, "s3-"):
		return "the storage is the shared bucket, from the bundle with its keys"
	case slices.Contains([]string{"admin-user", "reader-user", "admin-password-file", "reader-password-file", "bcrypt-cost"}, flag):
		return "the users come from the bundle: change them with paxsetup users on every node, or on one and export and join again"
	case flag == "force":
		return "joining again replaces this node's files with the bundle's without it, and a node makes no certificate or password of its own"
	case flag == "config":
		return "the answers come from the bundle"
	}
	return "it is no setting of a single node"
}

// refuseSharedFlags refuses a flag that would make this node differ from
// the registry it serves; where says which node that is.
func refuseSharedFlags(given []string, where string) error {
	for _, flag := range given {
		if !slices.Contains(nodeFlags, flag) {
			return &answers.FlagError{Flag: flag, Err: fmt.Errorf("not %s: %s. A node takes only --dir, --port, --name, --bind, --network, --image, --pull, --image-archive and --log-level of its own", where, sharedReason(flag))}
		}
	}
	return nil
}

// runJoin sets this host up as a node of the registry a bundle describes:
// the bundle's answers, with this node's own flags on top, and its files
// and secrets installed by the run, inside its transaction.
func runJoin(ctx context.Context, opts *InitOptions) error {
	f := opts.Factory
	path, err := filepath.Abs(opts.Join)
	if err != nil {
		return &answers.FlagError{Flag: "join", Err: err}
	}
	b, err := openBundle(ctx, f, path, opts.PassphraseFile)
	if err != nil {
		return err
	}
	if err := joinable(path, b); err != nil {
		return err
	}

	lock, err := lockSetup(ctx, f, opts.Dir, "init --join")
	if err != nil {
		return err
	}
	defer lock.Release()
	saved, ok, err := config.LoadIfExists(opts.Dir)
	if err != nil {
		return err
	}
	// The folder where the registry was set up holds the CA key, the only
	// one: a join there would put another registry's certificate beside it.
	if ok && saved.Node == nil {
		return &answers.FlagError{Flag: "dir", Err: fmt.Errorf("%s holds a registry set up there, not a node joined from a bundle: joining would replace its users and certificate; give this node its own --dir", opts.Dir)}
	}
	if caKey := (setup.Layout{Dir: opts.Dir}).CertFiles().CAKey(); fsutil.Exists(caKey) {
		return &answers.FlagError{Flag: "dir", Err: fmt.Errorf("%s is a CA key, which a node does not have: this folder holds another registry's certificates; give this node its own --dir", caKey)}
	}
	var node *config.Answers
	if ok {
		node = &saved
	}
	a := nodeAnswers(b, node, opts)
	if a.Node.Host, err = hostinfo.FQDN(ctx); err != nil {
		a.Node.Host = "this host"
	}
	if err := answers.Validate(a); err != nil {
		return err
	}
	if err := checkModeFlags(opts, &a); err != nil {
		return err
	}
	keys := setup.S3Keys{AccessKey: b.Secrets.S3AccessKey, SecretKey: b.Secrets.S3SecretKey}
	eng, err := engineChecked(ctx, opts, a, keys, false)
	if err != nil {
		return err
	}
	if eng != nil {
		defer eng.Close()
	}

	fmt.Fprintf(opts.IO.Out, "Joining %s as a node, from the bundle exported on %s at %s, in %s\n",
		a.Endpoint(), b.Origin, b.Created.UTC().Format("2006-01-02 15:04 MST"), opts.Dir)
	res, err := setup.Run(ctx, eng, setup.Options{
		Dir:           opts.Dir,
		Answers:       a,
		Out:           stepWriter(opts, opts.IO.Out),
		HealthTimeout: opts.Timeout,
		Now:           f.Now,
		DryRun:        opts.DryRun,
		S3Keys:        keys,
		HTTPSecret:    b.Secrets.HTTPSecret,
		Install:       b.Files,
	})
	if err != nil {
		return err
	}
	return reportInit(opts, a, res)
}

// openBundle reads and decrypts the bundle at path. On a terminal a
// mistyped passphrase may be typed again, twice.
func openBundle(ctx context.Context, f *Factory, path, passFile string) (*bundle.Bundle, error) {
	for attempt := 1; ; attempt++ {
		pass, err := readPassphrase(ctx, f, passFile, "Passphrase of "+filepath.Base(path), false)
		if err != nil {
			return nil, err
		}
		b, err := bundle.Read(path, pass.value)
		if err == nil {
			return b, nil
		}
		if errors.Is(err, bundle.ErrPassphrase) && pass.terminal && attempt < 3 {
			fmt.Fprintln(f.IO.ErrOut, "That passphrase does not open it; try again.")
			continue
		}
		return nil, bundleError(path, pass, err)
	}
}

// bundleError names the flag a bundle's failure comes from, and the fix.
func bundleError(path string, pass passphrase, err error) error {
	join := func(format string, args ...any) error {
		return &answers.FlagError{Flag: "join", Err: fmt.Errorf(format, args...)}
	}
	switch {
	case errors.Is(err, bundle.ErrPassphrase):
		return &answers.FlagError{Flag: "passphrase-file", Err: fmt.Errorf("the passphrase from %s: %w; give the one paxsetup export was given", pass.source, err)}
	case errors.Is(err, bundle.ErrNotBundle):
		return join("%s: %v; give the file paxsetup export --out wrote", path, err)
	case errors.Is(err, bundle.ErrDamaged):
		return join("%s: %v; it was cut short or changed since paxsetup export wrote it: copy it again (sha256sum should match on both hosts), or export a new one", path, err)
	case errors.Is(err, bundle.ErrNewerFormat):
		return join("%s: %v; install a paxsetup on this host at least as new as the one that exported it", path, err)
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, fsutil.ErrNotRegular), errors.Is(err, fsutil.ErrTooLarge), errors.Is(err, fs.ErrPermission):
		return join("cannot read the bundle: %v; give the file paxsetup export --out wrote", err)
	}
	return err
}

// joinable refuses a bundle whose registry a node could not serve. A
// bundle is written by export, which refuses these already; the checks
// stand for a bundle of an older or altered paxsetup.
func joinable(path string, b *bundle.Bundle) error {
	a := b.Answers
	switch {
	case a.Storage != render.StorageS3:
		return &answers.FlagError{Flag: "join", Err: fmt.Errorf("%s describes a registry with --storage %s, whose packs no other node sees: only a setup with --storage s3 has nodes", path, a.Storage)}
	case a.Mode == config.ModeLetsEncrypt:
		return &answers.FlagError{Flag: "join", Err: fmt.Errorf("%s describes a registry that gets its certificate from an ACME CA, which every node would order on its own: export it from a setup in mode selfsigned or custom", path)}
	case b.Secrets.HTTPSecret == "":
		return &answers.FlagError{Flag: "join", Err: fmt.Errorf("%s holds no http secret, which the nodes must share: export it again", path)}
	}
	return nil
}

// nodeAnswers are this node's answers: the bundle's, without what belonged
// to the exporting host (its addresses, network, image ID and the paths of
// its files), then this node's own settings from its earlier join, then
// the flags.
func nodeAnswers(b *bundle.Bundle, node *config.Answers, opts *InitOptions) config.Answers {
	shared := b.Answers
	shared.Bind, shared.Network, shared.ImageArchive, shared.ImageID = "", "", "", ""
	shared.AdminPasswordFile, shared.ReaderPasswordFile = "", ""
	shared.CertFile, shared.KeyFile, shared.CAFile = "", "", ""
	if shared.S3 != nil {
		s3 := *shared.S3
		s3.CredentialsFile = ""
		shared.S3 = &s3
	}
	if node != nil {
		shared.Port, shared.Name, shared.Bind, shared.Network = node.Port, node.Name, node.Bind, node.Network
		shared.Image, shared.Pull, shared.LogLevel = node.Image, node.Pull, node.LogLevel
	}
	shared.Node = &config.Node{Origin: b.Origin, Exported: b.Created, Joined: opts.Factory.Now().UTC()}
	return answers.Merge(answers.Sources{Flags: opts.Flags, Changed: opts.Changed, Saved: &shared})
}
