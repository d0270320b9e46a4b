package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/fatih/color"
	"github.com/spf13/cobra"

	"github.com/paxsetup/paxsetup/internal/answers"
	"github.com/paxsetup/paxsetup/internal/bundle"
	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/fsutil"
	"github.com/paxsetup/paxsetup/internal/hostinfo"
	"github.com/paxsetup/paxsetup/internal/htpasswd"
	"github.com/paxsetup/paxsetup/internal/render"
	"github.com/paxsetup/paxsetup/internal/setup"
)

// ExportOptions are the inputs of `paxsetup export`.
type ExportOptions struct {
	IO      *IOStreams
	Factory *Factory
	Dir     string

	Out            string
	PassphraseFile string
	Force          bool
}

// NewCmdExport writes a node bundle. runF replaces the run in flag tests.
func NewCmdExport(f *Factory, g *globalOptions, runF func(context.Context, *ExportOptions) error) *cobra.Command {
	opts := &ExportOptions{IO: f.IO, Factory: f}
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write an encrypted bundle from which another node serves the same registry",
		Long: `export writes one file, encrypted with a passphrase, from which
` + "`paxsetup init --join FILE`" + ` sets up another node of this registry: the
answers, the certificate and its key (ca.crt, tls.crt, tls.key, chain.pem),
the users (auth/htpasswd-basic), the generated passwords (credentials), the
S3 keys and the registry's http secret. Nodes behind a load balancer must
share all of them. The CA key (certs/ca.key) stays here: a node serves the
certificate and never issues one, so renewing it happens on this host, and
each node then joins again from a new bundle.

Only a setup whose packs are in S3 (--storage s3) can be exported: every node
must see the same packs.

The passphrase comes from --passphrase-file, or ` + EnvBundlePassphrase + `, or is
asked twice on the terminal; at least 16 characters, since anyone with a
copy of the file can guess offline. The file is written with mode 0600, and
opens with age (age -d) as well as with paxsetup.`,
		Example: `  paxsetup export --out /root/registry.bundle --passphrase-file /root/bundle.pass
  # then, on the other host:
  paxsetup init --join registry.bundle --passphrase-file bundle.pass`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dir = g.Dir
			if opts.Out == "" {
				return flagError("out", errors.New("give the file to write, e.g. --out /root/registry.bundle"))
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runExport(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Out, "out", "", "the bundle file to write (mode 0600)")
	fl.StringVar(&opts.PassphraseFile, "passphrase-file", "", "file holding the passphrase, at least 16 characters (or env "+EnvBundlePassphrase+"; else asked on the terminal)")
	fl.BoolVar(&opts.Force, "force", false, "replace an existing --out file")
	return cmd
}

func runExport(ctx context.Context, opts *ExportOptions) error {
	f := opts.Factory
	out, err := filepath.Abs(opts.Out)
	if err != nil {
		return &answers.FlagError{Flag: "out", Err: err}
	}
	if err := checkExportOut(out, opts.Force); err != nil {
		return err
	}
	a, ok, err := config.LoadIfExists(opts.Dir)
	if err != nil {
		return err
	}
	if !ok {
		return &answers.FlagError{Flag: "dir", Err: fmt.Errorf("no setup in %s (no %s): give the --dir of the registry to export, set up with paxsetup init --storage s3", opts.Dir, config.FileName)}
	}
	if err := exportable(opts.Dir, a); err != nil {
		return err
	}
	pass, err := readPassphrase(ctx, f, opts.PassphraseFile, "Passphrase for the bundle", true)
	if err != nil {
		return err
	}
	// Read under the lock, so that the users and the certificate are those
	// of one moment, not of a run half done.
	lock, err := lockSetup(ctx, f, opts.Dir, "export")
	if err != nil {
		return err
	}
	defer lock.Release()
	if a, err = config.Load(opts.Dir); err != nil {
		return err
	}
	if err := exportable(opts.Dir, a); err != nil {
		return err
	}
	l := setup.Layout{Dir: opts.Dir}
	for _, p := range []string{l.Journal(), l.Previous()} {
		if fsutil.Exists(p) {
			return fmt.Errorf("a run in %s did not finish (%s is there): run paxsetup init --yes%s to finish it, then export", opts.Dir, p, dirArg(f, opts.Dir))
		}
	}
	files, err := setup.ReadShared(opts.Dir, a)
	if err != nil {
		return err
	}
	secrets, err := setup.SavedSecrets(opts.Dir)
	if err != nil {
		return err
	}
	if secrets.HTTPSecret == "" {
		return fmt.Errorf("%s has no http secret, which the nodes must share: run paxsetup init --yes%s once to make it, then export", setup.Layout{Dir: opts.Dir}.ConfigFile(), dirArg(f, opts.Dir))
	}
	origin, err := hostinfo.FQDN(ctx)
	if err != nil {
		origin = "an unnamed host"
	}
	b := &bundle.Bundle{
		Created:  f.Now().UTC(),
		Origin:   origin,
		Producer: "paxsetup " + versionString(),
		Answers:  a,
		Files:    files,
		Secrets: bundle.Secrets{
			S3AccessKey: secrets.S3Keys.AccessKey, S3SecretKey: secrets.S3Keys.SecretKey,
			HTTPSecret: secrets.HTTPSecret,
		},
	}
	if err := bundle.Write(out, b, pass.value, opts.Force); err != nil {
		if errors.Is(err, fsutil.ErrExists) {
			return &answers.FlagError{Flag: "out", Err: fmt.Errorf("%s appeared while the bundle was made: give another --out, or --force to replace it", out)}
		}
		return err
	}
	printExported(opts, out, pass, a, b)
	return nil
}

// checkExportOut refuses an --out that cannot be written, or that exists
// without --force.
func checkExportOut(out string, force bool) error {
	fi, err := os.Stat(out)
	switch {
	case err == nil && fi.IsDir():
		return &answers.FlagError{Flag: "out", Err: fmt.Errorf("%s is a folder: give the path of the file to write, e.g. %s", out, filepath.Join(out, "registry.bundle"))}
	case err == nil && !force:
		return &answers.FlagError{Flag: "out", Err: fmt.Errorf("%s exists: give another --out, or --force to replace it", out)}
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return &answers.FlagError{Flag: "out", Err: err}
	}
	if fi, err := os.Stat(filepath.Dir(out)); err != nil || !fi.IsDir() {
		return &answers.FlagError{Flag: "out", Err: fmt.Errorf("the folder %s does not exist: create it, or give --out in another", filepath.Dir(out))}
	}
	return nil
}

// exportable refuses a setup that another node could not serve as it is.
func exportable(dir string, a config.Answers) error {
	if a.Storage != render.StorageS3 {
		where := "in the registry container's memory (--storage inmemory)"
		if a.Storage != render.StorageInMemory {
			where = fmt.Sprintf("in %s (--storage %s)", setup.Layout{Dir: dir}.Data(), a.Storage)
		}
		return &answers.FlagError{Flag: "dir", Err: fmt.Errorf("the setup in %s keeps its packs %s, which no other node sees: only a setup with --storage s3 can be exported; move it to S3 with paxsetup init --yes --storage s3 --s3-bucket BUCKET ... (packs already pushed are not copied: push them again), then export", dir, where)}
	}
	if a.Mode == config.ModeLetsEncrypt {
		return &answers.FlagError{Flag: "dir", Err: fmt.Errorf("the setup in %s gets its certificate from an ACME CA (--mode letsencrypt): each node would order its own, and the CA's check (TLS-ALPN-01) reaches whichever node the load balancer picks; serve one certificate from every node instead: --mode custom with a certificate for the balancer's name, or --mode selfsigned", dir)}
	}
	return nil
}

// printExported says what the bundle holds (names, never a secret) and
// the next step.
func printExported(opts *ExportOptions, out string, pass passphrase, a config.Answers, b *bundle.Bundle) {
	w := opts.IO.Out
	green := color.New(color.FgGreen, color.Bold).SprintFunc()
	fmt.Fprintf(w, "%s %s (mode 0600), encrypted with the passphrase from %s.\nIt holds:\n", green("Wrote"), out, pass.source)
	bucket := ""
	if a.S3 != nil {
		bucket = " (bucket " + a.S3.Bucket + ")"
	}
	fmt.Fprintf(w, "  the answers: %s, mode %s, storage s3%s\n", a.Endpoint(), a.Mode, bucket)
	names := make([]string, 0, len(b.Files))
	for n := range b.Files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		note := ""
		switch n {
		case "auth/htpasswd-basic":
			if hf, err := htpasswd.Parse(strings.NewReader(string(b.Files[n]))); err == nil {
				note = " (users " + strings.Join(hf.Users(), ", ") + ")"
			}
		case setup.CredentialsFile:
			note = " (the passwords paxsetup generated)"
		case "certs/tls.key":
			note = " (the server certificate's key)"
		}
		fmt.Fprintf(w, "  %s%s\n", n, note)
	}
	if b.Secrets.S3AccessKey != "" {
		fmt.Fprintln(w, "  the S3 access keys")
	} else {
		fmt.Fprintln(w, "  no S3 keys: the registry uses its host's own AWS credentials, such as an\n  instance role; give every node that access")
	}
	fmt.Fprintln(w, "  the registry's http secret")
	switch {
	case a.Node != nil:
		fmt.Fprintf(w, "This node was joined from a bundle exported on %s: the certificate is renewed there.\n", a.Node.Origin)
	case a.Mode == config.ModeSelfSigned:
		fmt.Fprintf(w, "Not the CA key (%s): renew the certificate on this host, then export again.\n", setup.Layout{Dir: opts.Dir}.CertFiles().CAKey())
	}
	fmt.Fprintf(w, "\nOn the other host, copy the bundle there and run:\n  paxsetup init --join %s --passphrase-file FILE\n", render.ShellQuote(filepath.Base(out)))
	fmt.Fprintf(w, "with FILE holding the passphrase (or set %s,\nor type it when asked). On this same host, give the node its own --dir,\n--port and --name.\n", EnvBundlePassphrase)
}
