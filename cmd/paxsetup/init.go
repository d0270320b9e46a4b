package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/fatih/color"
	"github.com/spf13/cobra"

	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/hostinfo"
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
	// Accessible asks with plain line prompts (also ACCESSIBLE=1).
	Accessible bool
	// ConfigFile replays an answers file instead of <dir>/paxsetup.yaml.
	ConfigFile string
	// Flags holds the flag values; Changed says which the operator gave.
	Flags   config.Answers
	Changed func(string) bool
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
once the new one answers.`,
		Example: `  paxsetup init --yes --host registry.example.com --san 10.0.0.5
  paxsetup init --yes --dir /srv/pax --port 8443 --admin-password-file /run/secrets/admin`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dir = g.Dir
			opts.Changed = cmd.Flags().Changed
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
	fl.StringVar(&opts.Flags.Mode, "mode", d.Mode, "selfsigned (letsencrypt, custom and http come later)")
	fl.StringVar(&opts.Flags.Host, "host", "", "the registry's DNS name: certificate CN and Palette endpoint (default this machine's FQDN)")
	fl.StringArrayVar(&opts.Flags.SANs, "san", nil, "extra DNS name or IP for the certificate, repeatable (the host's own IPs are always added)")
	fl.IntVar(&opts.Flags.Port, "port", d.Port, "host port for HTTPS")
	fl.StringVar(&opts.Flags.Image, "image", d.Image, "registry image")
	fl.StringVar(&opts.Flags.Pull, "pull", d.Pull, "when to pull the image: always, missing or never")
	fl.StringVar(&opts.Flags.Name, "name", d.Name, "container name")
	fl.StringVar(&opts.Flags.AdminUser, "admin-user", d.AdminUser, "the read-write user")
	fl.StringVar(&opts.Flags.ReaderUser, "reader-user", d.ReaderUser, "the read-only user")
	fl.StringVar(&opts.Flags.AdminPasswordFile, "admin-password-file", "", "file holding the admin's password (or env PAXSETUP_ADMIN_PASSWORD)")
	fl.StringVar(&opts.Flags.ReaderPasswordFile, "reader-password-file", "", "file holding the read-only user's password (or env PAXSETUP_READER_PASSWORD)")
	fl.StringVar(&opts.Flags.Storage, "storage", d.Storage, "pack storage: filesystem (under <dir>/data)")
	fl.IntVar(&opts.Flags.Days, "days", d.Days, "server certificate validity in days")
	fl.BoolVar(&opts.Force, "force", false, "replace existing certificates and generated passwords")
	fl.DurationVar(&opts.Timeout, "timeout", 60*time.Second, "how long to wait for the registry to answer")
	return cmd
}

func runInit(ctx context.Context, opts *InitOptions) error {
	f := opts.Factory
	interactive := !opts.Yes
	if interactive && !opts.IO.Interactive() {
		return notInteractiveError()
	}

	saved, ok, err := loadAnswers(opts)
	if err != nil {
		return err
	}
	src := wizard.Sources{Flags: opts.Flags, Changed: opts.Changed}
	if ok {
		src.Saved = &saved
	}
	if !opts.Changed("host") && src.Saved == nil {
		if src.DefaultHost, err = hostinfo.FQDN(ctx); err != nil {
			return &wizard.FlagError{Flag: "host", Err: fmt.Errorf("cannot tell this machine's name (%v): give --host", err)}
		}
	}
	a := wizard.Merge(src)
	if !interactive {
		if err := wizard.Validate(a); err != nil {
			return err
		}
	}
	// Saved paths must still work when the next run starts elsewhere.
	for _, p := range []*string{&a.AdminPasswordFile, &a.ReaderPasswordFile} {
		if *p != "" {
			if *p, err = filepath.Abs(*p); err != nil {
				return err
			}
		}
	}
	adminPW, err := wizard.ReadPassword("admin-password-file", a.AdminPasswordFile, wizard.EnvAdminPassword, a.AdminUser, f.Getenv)
	if err != nil {
		return err
	}
	readerPW, err := wizard.ReadPassword("reader-password-file", a.ReaderPasswordFile, wizard.EnvReaderPassword, a.ReaderUser, f.Getenv)
	if err != nil {
		return err
	}

	// The host's own addresses are always in the certificate, since clients
	// on the site reach the registry by IP when DNS lacks the name. They are
	// not saved with the answers: a replay on another host uses that host's.
	ips, err := hostinfo.IPs()
	if err != nil {
		return fmt.Errorf("list this host's addresses: %w", err)
	}
	var hostIPs []string
	for _, ip := range ips {
		hostIPs = append(hostIPs, ip.String())
	}

	eng, err := f.Docker(ctx)
	if err != nil {
		return err
	}
	defer eng.Close()

	var chosen wizard.Result
	if interactive {
		if chosen, err = askInteractive(ctx, opts, eng, a, ok, adminPW, readerPW, hostIPs); err != nil {
			return err
		}
		a, adminPW, readerPW = chosen.Answers, chosen.AdminPassword, chosen.ReaderPassword
	}

	out := opts.IO.Out
	fmt.Fprintf(out, "Setting up %s in %s\n", setup.Endpoint(a), opts.Dir)
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
	})
	if err != nil {
		return err
	}
	text, err := res.Palette.Render()
	if err != nil {
		return err
	}
	if err := savePaletteText(opts.Dir, res.Palette); err != nil {
		return err
	}
	green := color.New(color.FgGreen, color.Bold).SprintFunc()
	fmt.Fprintf(out, "\n%s registry %s (container %s, %s)\n\n%s", green("Ready:"), setup.Endpoint(a), a.Name, res.ContainerAction, text)
	return nil
}
