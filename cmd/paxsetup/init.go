package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fatih/color"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/paxsetup/paxsetup/internal/answers"
	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/dockerctl"
	"github.com/paxsetup/paxsetup/internal/hostinfo"
	"github.com/paxsetup/paxsetup/internal/htpasswd"
	"github.com/paxsetup/paxsetup/internal/render"
	"github.com/paxsetup/paxsetup/internal/setup"
	"github.com/paxsetup/paxsetup/internal/wizard"
)

// InitOptions are the inputs of `paxsetup init`.
type InitOptions struct {
	IO      *IOStreams
	Factory *Factory
	Dir     string

	Yes     bool
	Force   bool
	Timeout time.Duration
	// DryRun writes the files and prints the plan and the docker command,
	// starting nothing.
	DryRun bool
	// Accessible asks with plain line prompts (also ACCESSIBLE=1).
	Accessible bool
	// ConfigFile replays an answers file instead of <dir>/paxsetup.yaml.
	ConfigFile string
	// Flags holds the flag values; Changed says which the operator gave,
	// and Given lists them.
	Flags   config.Answers
	Changed func(string) bool
	Given   []string
	// Join is a bundle written by paxsetup export: this host becomes a node
	// of the registry it describes. PassphraseFile holds its passphrase.
	Join           string
	PassphraseFile string
}

// NewCmdInit sets up the registry. runF replaces the run in flag tests.
func NewCmdInit(f *Factory, g *globalOptions, runF func(context.Context, *InitOptions) error) *cobra.Command {
	opts := &InitOptions{IO: f.IO, Factory: f}
	d := config.Defaults()
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Set up the pack registry: users, certificates, container, verification",
		Long: `init takes this host to a running, verified pack registry.

It checks the engine and the port, writes auth/htpasswd-basic (bcrypt) and a
CA and server certificate under --dir, starts the registry container, waits
for it to answer, checks the catalog as both users, and prints what to enter
in Palette.

Answers come from flags, then from the previous run's paxsetup.yaml, then
from defaults. Passwords never come from a flag value: use
--admin-password-file / --reader-password-file, or PAXSETUP_ADMIN_PASSWORD /
PAXSETUP_READER_PASSWORD; otherwise paxsetup generates them, saves them in
<dir>/credentials (mode 0600) and shows them once.

Re-running is safe: existing certificates and passwords are reused (unless
--force), data/ is never deleted, and a running registry is replaced only
once the new one answers.

With --join FILE, init sets this host up as another node of a registry whose
packs are in S3, from the bundle paxsetup export wrote: the same certificate,
users and secrets, with only --dir, --port, --name, --bind, --network, --image,
--pull, --image-archive and --log-level of its own. It asks nothing but the
bundle's passphrase.`,
		Example: `  paxsetup init --yes --host registry.example.com --san 10.0.0.5
  paxsetup init --yes --dir /srv/pax --port 8443 --admin-password-file /run/secrets/admin
  paxsetup init --join registry.bundle --passphrase-file bundle.pass`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dir = g.Dir
			opts.Changed = cmd.Flags().Changed
			opts.Given = nil
			cmd.Flags().Visit(func(fl *pflag.Flag) { opts.Given = append(opts.Given, fl.Name) })
			if opts.PassphraseFile != "" && opts.Join == "" {
				return flagError("passphrase-file", errors.New("opens the bundle of --join: give --join FILE with it"))
			}
			if opts.Join != "" {
				if err := refuseSharedFlags(opts.Given, "with --join"); err != nil {
					return err
				}
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runInit(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&opts.Yes, "yes", "y", false, "ask nothing: take flags, then saved answers, then defaults")
	fl.BoolVar(&opts.Accessible, "accessible", false, "plain line prompts for screen readers and dumb terminals (also ACCESSIBLE=1)")
	fl.StringVar(&opts.ConfigFile, "config", "", "replay an answers file (the format of paxsetup.yaml) instead of <dir>/paxsetup.yaml")
	fl.StringVar(&opts.Flags.Mode, "mode", d.Mode, "selfsigned (paxsetup's own CA), letsencrypt (the registry obtains a public certificate), custom (your certificate: --cert-file, --key-file, --ca-file) or http (plain HTTP, lab only)")
	fl.StringVar(&opts.Flags.Host, "host", "", "the registry's DNS name: certificate CN and Palette endpoint (default this machine's FQDN)")
	fl.StringArrayVar(&opts.Flags.SANs, "san", nil, "extra DNS name or IP for the certificate, repeatable (the host's own IPs are always added)")
	decimalIntVar(fl, &opts.Flags.Port, "port", d.Port, "host port for HTTPS (HTTP with --mode http)")
	fl.StringVar(&opts.Flags.Image, "image", d.Image, "registry image")
	fl.StringVar(&opts.Flags.Pull, "pull", d.Pull, "when to pull the image: always, missing or never")
	fl.StringVar(&opts.Flags.ImageArchive, "image-archive", "", "load the image from a `docker save` tarball (plain or gzip) first, for air-gapped hosts; it must hold --image")
	fl.StringVar(&opts.Flags.Bind, "bind", "", "host address to publish the port on, e.g. 10.0.0.5 (default all addresses)")
	fl.StringVar(&opts.Flags.Name, "name", d.Name, "container name")
	fl.StringVar(&opts.Flags.AdminUser, "admin-user", d.AdminUser, "the operator's login (the registry gives every user the same rights: pull, push, overwrite tags)")
	fl.StringVar(&opts.Flags.ReaderUser, "reader-user", d.ReaderUser, "a second login for Palette and other readers, so the admin password never leaves the operator (not read-only: the registry gives every user the same rights)")
	fl.StringVar(&opts.Flags.AdminPasswordFile, "admin-password-file", "", "file holding the admin's password (or env PAXSETUP_ADMIN_PASSWORD)")
	fl.StringVar(&opts.Flags.ReaderPasswordFile, "reader-password-file", "", "file holding the second user's password (or env PAXSETUP_READER_PASSWORD)")
	fl.StringVar(&opts.Flags.Storage, "storage", d.Storage, "pack storage: filesystem (under <dir>/data), inmemory (lost on restart: tests only) or s3 (with the --s3-* flags)")
	addModeFlags(fl, opts)
	decimalIntVar(fl, &opts.Flags.Days, "days", d.Days, "server certificate validity in days")
	fl.BoolVar(&opts.Force, "force", false, "replace existing certificates and generated passwords")
	fl.StringVar(&opts.Join, "join", "", "set this host up as another node of a registry with S3 storage, from the bundle `paxsetup export` wrote there (with --passphrase-file); only --dir, --port, --name, --bind, --network, --image, --pull, --image-archive and --log-level may differ")
	fl.StringVar(&opts.PassphraseFile, "passphrase-file", "", "file holding the --join bundle's passphrase (or env "+EnvBundlePassphrase+"; else asked on the terminal)")
	fl.DurationVar(&opts.Timeout, "timeout", 60*time.Second, "how long to wait for the registry to answer")
	return cmd
}

func runInit(ctx context.Context, opts *InitOptions) error {
	if opts.Join != "" {
		// A node asks nothing but the bundle's passphrase.
		return runJoin(ctx, opts)
	}
	f := opts.Factory
	interactive := !opts.Yes
	if interactive && !opts.IO.Interactive() {
		return notInteractiveError()
	}
	// Held from the first read of the saved answers: a run that waited
	// must see what the run before it wrote. A dry run writes files too.
	lock, err := lockSetup(ctx, f, opts.Dir, "init")
	if err != nil {
		return err
	}
	defer lock.Release()

	saved, ok, err := loadAnswers(opts)
	if err != nil {
		return err
	}
	if ok && saved.Node != nil {
		// A node keeps what it shares with the registry it joined; the
		// wizard would offer to change it.
		if err := refuseSharedFlags(opts.Given, "on this node (joined from the bundle exported on "+saved.Node.Origin+")"); err != nil {
			return err
		}
		interactive = false
	}
	src := answers.Sources{Flags: opts.Flags, Changed: opts.Changed}
	if ok {
		src.Saved = &saved
	}
	if !opts.Changed("host") && src.Saved == nil {
		if src.DefaultHost, err = hostinfo.FQDN(ctx); err != nil {
			return &answers.FlagError{Flag: "host", Err: fmt.Errorf("cannot tell this machine's name (%v): give --host", err)}
		}
	}
	a := answers.Merge(src)
	if !interactive {
		if err := answers.Validate(a); err != nil {
			return err
		}
	}
	if err := checkModeFlags(opts, &a); err != nil {
		return err
	}
	var keys *setup.Keys
	if !interactive && !opts.DryRun {
		// The answers are final: the certificate's keys are made while the
		// engine, the host and the image are checked.
		keys = setup.StartKeys(opts.Dir, a, opts.Force)
	}
	in, err := readRunInputs(f, a)
	if err != nil {
		return err
	}
	adminPW, readerPW, hostIPs, s3Keys := in.admin, in.reader, in.hostIPs, in.s3Keys
	eng, err := engineChecked(ctx, opts, a, s3Keys, interactive)
	if err != nil {
		return err
	}
	if eng != nil {
		defer eng.Close()
	}

	var chosen wizard.Result
	if interactive {
		if chosen, err = askInteractive(ctx, opts, eng, a, ok, adminPW, readerPW, hostIPs); err != nil {
			return err
		}
		a, adminPW, readerPW = chosen.Answers, chosen.AdminPassword, chosen.ReaderPassword
	}

	out := opts.IO.Out
	fmt.Fprintf(out, "Setting up %s in %s\n", a.Endpoint(), opts.Dir)
	res, err := setup.Run(ctx, eng, setup.Options{
		Dir:            opts.Dir,
		Answers:        a,
		AdminPassword:  adminPW,
		ReaderPassword: readerPW,
		HostIPs:        hostIPs,
		Force:          opts.Force || chosen.Force,
		RenewCert:      chosen.RenewCert,
		Out:            stepWriter(opts, out),
		HealthTimeout:  opts.Timeout,
		Now:            f.Now,
		DryRun:         opts.DryRun,
		S3Keys:         s3Keys,
		Keys:           keys,
	})
	if err != nil {
		return err
	}
	return reportInit(opts, a, res)
}

// reportInit prints what a run did: its plan, for a dry run, or the ready
// registry and what to enter in Palette, which PALETTE.txt keeps.
func reportInit(opts *InitOptions, a config.Answers, res *setup.Result) error {
	f, out := opts.Factory, opts.IO.Out
	if res.Plan != nil {
		return printPlan(opts, a, res)
	}
	res.Palette.DirArg = dirArg(f, opts.Dir)
	text, err := res.Palette.Render()
	if err != nil {
		return err
	}
	if err := setup.SavePalette(opts.Dir, res.Palette); err != nil {
		return err
	}
	green := color.New(color.FgGreen, color.Bold).SprintFunc()
	fmt.Fprintf(out, "\n%s registry %s (container %s, %s)\n\n%s", green("Ready:"), a.Endpoint(), a.Name, res.ContainerAction, text)
	return nil
}

// addModeFlags registers the flags of the modes, the storage and the files
// the registry reads.
func addModeFlags(fl *pflag.FlagSet, opts *InitOptions) {
	if opts.Flags.S3 == nil {
		opts.Flags.S3 = &config.S3Config{}
	}
	s3 := opts.Flags.S3
	fl.StringVar(&opts.Flags.Email, "email", "", "Let's Encrypt account email, for expiry notices (required with --mode letsencrypt)")
	fl.StringVar(&opts.Flags.ACMEDirectory, "acme-directory", "", "ACME directory URL of a CA other than Let's Encrypt (--mode letsencrypt)")
	fl.StringVar(&opts.Flags.ACMECAFile, "acme-ca-file", "", "CA of the ACME directory's own HTTPS certificate, PEM, for a private ACME CA; the registry trusts it to reach --acme-directory (--mode letsencrypt)")
	fl.StringVar(&opts.Flags.Network, "network", "", "an existing Docker network the registry also joins, with --host as its name there (e.g. where a reverse proxy or the ACME CA runs)")
	fl.StringVar(&opts.Flags.CertFile, "cert-file", "", "your server certificate, PEM, intermediates may follow (--mode custom)")
	fl.StringVar(&opts.Flags.KeyFile, "key-file", "", "the server certificate's private key, PEM, unencrypted (--mode custom)")
	fl.StringVar(&opts.Flags.CAFile, "ca-file", "", "the CA chain that issued it, PEM: what clients and Palette trust (--mode custom); with --mode letsencrypt, the root a private ACME CA issues from")
	fl.StringVar(&s3.Region, "s3-region", "", "S3 bucket region, e.g. eu-west-1 (--storage s3)")
	fl.StringVar(&s3.Bucket, "s3-bucket", "", "S3 bucket for the packs (--storage s3)")
	fl.StringVar(&s3.RootDirectory, "s3-rootdirectory", "", "key prefix inside the bucket, e.g. /registry (--storage s3)")
	fl.StringVar(&s3.RegionEndpoint, "s3-regionendpoint", "", "URL of an S3-compatible service such as MinIO, e.g. https://minio.example.com:9000 (--storage s3)")
	fl.BoolVar(&s3.Encrypt, "s3-encrypt", false, "have S3 encrypt the packs at rest (--storage s3)")
	fl.Var(boolPtr{&s3.Secure}, "s3-secure", "use TLS to reach S3 (default true; false only for a lab MinIO on http)")
	fl.Lookup("s3-secure").NoOptDefVal = "true"
	fl.BoolVar(&s3.Redirect, "s3-redirect", false, "let clients download pack layers straight from the S3 endpoint, which Palette and every client must then reach (default: the registry serves them itself) (--storage s3)")
	fl.StringVar(&s3.CredentialsFile, "s3-credentials-file", "", "file with the S3 keys (aws_access_key_id and aws_secret_access_key); or env "+setup.EnvS3AccessKey+" and "+setup.EnvS3SecretKey+"; neither uses the host's AWS role")
	fl.IntVar(&opts.Flags.BcryptCost, "bcrypt-cost", htpasswd.DefaultCost, fmt.Sprintf("bcrypt cost of the passwords set in this run, %d to %d: each step doubles what every login costs the registry", htpasswd.MinCost, htpasswd.MaxCost))
	fl.StringVar(&opts.Flags.LogLevel, "log-level", "", "registry log level: error, warn, info or debug (default info)")
	fl.BoolVar(&opts.DryRun, "dry-run", false, "write the files, print the plan and the equivalent docker run command, start nothing")
}

// boolPtr is a bool flag whose absence leaves the answer unset (nil), so a
// saved --s3-secure=false is not silently turned back on.
type boolPtr struct{ p **bool }

func (b boolPtr) String() string {
	if b.p == nil || *b.p == nil {
		return "true"
	}
	return strconv.FormatBool(**b.p)
}

func (b boolPtr) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	*b.p = &v
	return nil
}

func (b boolPtr) Type() string     { return "bool" }
func (b boolPtr) IsBoolFlag() bool { return true }

// checkModeFlags refuses what Validate cannot see (a zero typed as
// --bcrypt-cost) and makes the file paths absolute, so a saved answer still
// works when the next run starts elsewhere.
func checkModeFlags(opts *InitOptions, a *config.Answers) error {
	if opts.Changed("bcrypt-cost") {
		if err := htpasswd.ValidateCost(opts.Flags.BcryptCost); err != nil {
			return &answers.FlagError{Flag: "bcrypt-cost", Err: errors.New(strings.TrimPrefix(err.Error(), "--bcrypt-cost "))}
		}
	}
	// Saved paths must still work when the next run starts elsewhere.
	paths := []*string{&a.CertFile, &a.KeyFile, &a.CAFile, &a.ACMECAFile, &a.AdminPasswordFile, &a.ReaderPasswordFile, &a.ImageArchive}
	if a.S3 != nil {
		paths = append(paths, &a.S3.CredentialsFile)
	}
	for _, p := range paths {
		if *p != "" {
			abs, err := filepath.Abs(*p)
			if err != nil {
				return err
			}
			*p = abs
		}
	}
	return nil
}

func s3CredentialsFile(a config.Answers) string {
	if a.S3 == nil || a.Storage != render.StorageS3 {
		return ""
	}
	return a.S3.CredentialsFile
}

// engineChecked reaches the engine and, for a real run, finishes or undoes a
// swap a killed run left half done (it holds the port and the name), then
// runs preflight: the engine is nil for a dry run that goes on without one.
func engineChecked(ctx context.Context, opts *InitOptions, a config.Answers, s3Keys setup.S3Keys, interactive bool) (dockerctl.API, error) {
	eng, err := connectEngine(ctx, opts, interactive)
	if err != nil || eng == nil || opts.DryRun {
		return eng, err
	}
	fail := func(err error) (dockerctl.API, error) {
		eng.Close()
		return nil, err
	}
	if _, err := setup.RecoverSwap(ctx, eng, opts.Dir, opts.IO.Out); err != nil {
		return fail(err)
	}
	if err := initPreflight(ctx, opts, eng, a, s3Keys, interactive); err != nil {
		return fail(err)
	}
	return eng, nil
}

// connectEngine reaches the engine. A dry run goes on without one: it
// writes files and prints a command, and only skips the engine's checks.
func connectEngine(ctx context.Context, opts *InitOptions, interactive bool) (dockerctl.API, error) {
	eng, err := opts.Factory.Docker(ctx)
	if err == nil {
		return eng, nil
	}
	if opts.DryRun && !interactive {
		fmt.Fprintf(opts.IO.ErrOut, "note: %v\nThe dry run goes on without the engine's checks (container name, port, image).\n", err)
		return nil, nil
	}
	return nil, err
}

// printPlan reports a dry run: the files written, what a real run would do,
// and the equivalent docker command.
func printPlan(opts *InitOptions, a config.Answers, res *setup.Result) error {
	out := opts.IO.Out
	p := res.Plan
	bold := color.New(color.Bold).SprintFunc()
	if p.Staged != "" {
		fmt.Fprintf(out, "\n%s nothing was started, and the live setup in %s is untouched: the registry reads its files.\n"+
			"The plan's files are in %s; a real run (the same flags without --dry-run) writes them in %s.\n", bold("Dry run:"), opts.Dir, p.Staged, opts.Dir)
	} else {
		fmt.Fprintf(out, "\n%s nothing was started; the files are written in %s.\n", bold("Dry run:"), opts.Dir)
	}
	fmt.Fprintf(out, "A real run would %s the container %s:\n", map[string]string{
		"created": "create", "replaced": "replace", "unchanged": "keep",
	}[p.Action], a.Name)
	fmt.Fprintf(out, "  mode %s, storage %s, %s\n", a.Mode, a.Storage, a.Endpoint())
	image := a.Image
	switch {
	case !p.Engine:
		image += " (no engine was asked)"
	case p.ImageMissing:
		image += " (not on this engine: init pulls it per --pull, docker run pulls it; if it runs as a user other than root, its files need that owner)"
	}
	fmt.Fprintf(out, "  image %s\n", image)
	for _, m := range p.Spec.Mounts {
		ro := ""
		if m.ReadOnly {
			ro = " (read-only)"
		}
		fmt.Fprintf(out, "  %s -> %s%s\n", m.Source, m.Target, ro)
	}
	if len(p.Spec.Cmd) > 0 {
		fmt.Fprintf(out, "  command: %s\n", strings.Join(p.Spec.Cmd, " "))
	}
	if p.Staged != "" {
		fmt.Fprintf(out, "\nThe container it would run, as a command (no secret in it; with the plan's folders):\n\n%s", p.DockerRun)
	} else {
		fmt.Fprintf(out, "\nStart it with: paxsetup init --yes --dir %s\nor with the equivalent command (no secret in it):\n\n%s", render.ShellQuote(opts.Dir), p.DockerRun)
	}
	text, err := res.Palette.Render()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nOnce it runs:\n%s", text)
	return nil
}

// runInputs are what a run needs besides the answers.
type runInputs struct {
	admin, reader answers.Password
	// hostIPs are always in the certificate, since clients on the site
	// reach the registry by IP when DNS lacks the name. They are not saved
	// with the answers: a replay on another host uses that host's.
	hostIPs []string
	s3Keys  setup.S3Keys
}

// readRunInputs reads the passwords given by file or environment, this
// host's addresses, and the S3 keys.
func readRunInputs(f *Factory, a config.Answers) (runInputs, error) {
	var in runInputs
	var err error
	if in.admin, err = answers.ReadPassword("admin-password-file", a.AdminPasswordFile, answers.EnvAdminPassword, a.AdminUser, f.Getenv); err != nil {
		return in, err
	}
	if in.reader, err = answers.ReadPassword("reader-password-file", a.ReaderPasswordFile, answers.EnvReaderPassword, a.ReaderUser, f.Getenv); err != nil {
		return in, err
	}
	ips, err := hostinfo.IPs()
	if err != nil {
		return in, fmt.Errorf("list this host's addresses: %w", err)
	}
	for _, ip := range ips {
		in.hostIPs = append(in.hostIPs, ip.String())
	}
	in.s3Keys, err = setup.ReadS3Keys(s3CredentialsFile(a), f.Getenv)
	return in, err
}
