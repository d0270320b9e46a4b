package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/paxsetup/paxsetup/internal/answers"
	"github.com/paxsetup/paxsetup/internal/certgen"
	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/setup"
	"github.com/paxsetup/paxsetup/internal/trust"
)

// TrustOptions are the inputs of `paxsetup trust`.
type TrustOptions struct {
	IO      *IOStreams
	Factory *Factory
	Dir     string

	CAFile    string
	Hosts     []string
	Port      int
	Targets   []string
	DryRun    bool
	Uninstall bool
	Root      string
	// Changed says which flags the operator gave.
	Changed func(string) bool
	// Runner runs the trust store's command; nil means the real one.
	Runner trust.Runner
}

// NewCmdTrust installs the setup's CA where clients look for it. runF
// replaces the run in flag tests.
func NewCmdTrust(f *Factory, g *globalOptions, runF func(context.Context, *TrustOptions) error) *cobra.Command {
	opts := &TrustOptions{IO: f.IO, Factory: f}
	cmd := &cobra.Command{
		Use:   "trust",
		Short: "Install the registry's CA where clients look for it",
		Long: `trust installs the CA certificate (default: <dir>/certs/ca.crt) where this
host's clients of the registry look for it, so they stop failing with
"x509: certificate signed by unknown authority":

  docker   /etc/docker/certs.d/<host:port>/ca.crt (and <host>/ for port 443)
  spectro  /etc/spectro/certs.d/<host:port>/ca.crt (and <host>/ for port 443)
  system   the OS trust store: Debian/Ubuntu, RHEL/Fedora, SUSE or Arch,
           then its update command (update-ca-certificates, update-ca-trust,
           trust extract-compat)

--host defaults to every name and IP address the setup's server certificate
covers (Docker looks for the CA under the address exactly as the client
spells it, so reaching the registry by IP needs its own folder), --port to
the setup's. --dry-run prints what would be written and run. What trust
writes is recorded in <dir>/trust-installed.json, and --uninstall removes
exactly that: files still holding what trust wrote (a file trust replaced
gets its old content back), and the folders trust created, once empty.
Run it on every machine that pulls from the registry (as root).`,
		Example: `  sudo paxsetup trust
  sudo paxsetup trust --host registry.example.com --port 443 --ca-file ca.crt --target docker,spectro
  paxsetup trust --dry-run
  sudo paxsetup trust --uninstall`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dir = g.Dir
			opts.Changed = cmd.Flags().Changed
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runTrust(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.CAFile, "ca-file", "", "the CA certificate(s) to trust, PEM (default <dir>/certs/ca.crt)")
	fl.StringArrayVar(&opts.Hosts, "host", nil, "the registry's name or IP as clients write it, repeatable (default: every name and IP of the setup's server certificate)")
	decimalIntVar(fl, &opts.Port, "port", 0, "the registry's port (default: the setup's, else 443)")
	fl.StringSliceVar(&opts.Targets, "target", []string{"docker", "spectro", "system"}, "where to install: docker, spectro, system (comma-separated or repeated)")
	fl.BoolVar(&opts.DryRun, "dry-run", false, "print what would be written and run, and change nothing")
	fl.BoolVar(&opts.Uninstall, "uninstall", false, "remove what trust installed for --host and --port")
	fl.StringVar(&opts.Root, "root", "/", "install under this folder instead of / (an image or chroot being prepared)")
	return cmd
}

func runTrust(ctx context.Context, opts *TrustOptions) error {
	// The ledger of what trust installed lives in the setup folder.
	if !opts.DryRun {
		lock, err := lockSetup(ctx, opts.Factory, opts.Dir, "trust")
		if err != nil {
			return err
		}
		defer lock.Release()
	}
	changed := opts.Changed
	if changed == nil {
		changed = func(string) bool { return false }
	}
	saved, haveSetup, err := config.LoadIfExists(opts.Dir)
	if err != nil {
		return err
	}
	hosts, port := opts.Hosts, opts.Port
	if len(hosts) == 0 && haveSetup {
		hosts = certificateHosts(opts.Dir, saved.Host)
	}
	if len(hosts) == 0 {
		return &answers.FlagError{Flag: "host", Err: fmt.Errorf("no host name and no setup in %s: give the registry's name, e.g. --host registry.example.com", opts.Dir)}
	}
	for _, h := range hosts {
		if err := certgen.ValidateHost(h); err != nil {
			return &answers.FlagError{Flag: "host", Err: err}
		}
	}
	if port == 0 && !changed("port") {
		port = config.DefaultPort
		if haveSetup && saved.Port != 0 {
			port = saved.Port
		}
	}
	if port < 1 || port > 65535 {
		return &answers.FlagError{Flag: "port", Err: fmt.Errorf("%d is not a port: use 1 to 65535", port)}
	}
	var targets []trust.Target
	for _, s := range opts.Targets {
		t, err := trust.ParseTarget(s)
		if err != nil {
			return &answers.FlagError{Flag: "target", Err: err}
		}
		targets = append(targets, t)
	}
	if len(targets) == 0 {
		return &answers.FlagError{Flag: "target", Err: errors.New("no target: use docker, spectro or system")}
	}
	root := opts.Root
	if root == "" {
		root = "/"
	}
	if !filepath.IsAbs(root) {
		return &answers.FlagError{Flag: "root", Err: fmt.Errorf("%q is not an absolute path", root)}
	}

	popts := trust.Options{Root: root, Hosts: hosts, Port: port, Targets: targets, Uninstall: opts.Uninstall}
	if opts.Uninstall {
		// Without a ledger entry (an install by an older paxsetup), a file
		// goes only when it holds this CA.
		if caFile := setupCAFile(opts, saved, haveSetup); caFile != "" {
			popts.CA, _ = certgen.LoadCertificates(caFile)
		}
	} else {
		caFile := setupCAFile(opts, saved, haveSetup)
		if popts.CA, err = certgen.LoadCertificates(caFile); err != nil {
			hint := "run paxsetup certs gen (or init) first, or give --ca-file"
			if opts.CAFile != "" {
				hint = "give the CA's PEM certificate"
			}
			return &answers.FlagError{Flag: "ca-file", Err: fmt.Errorf("%v: %s", err, hint)}
		}
	}

	out := opts.IO.Out
	steps, err := trust.NewPlan(popts)
	if errors.Is(err, trust.ErrNoSystemStore) && !changed("target") {
		// Asked for nothing in particular: do what can be done here.
		fmt.Fprintf(opts.IO.ErrOut, "note: no known OS trust store under %s, so only docker and spectro (install the ca-certificates package for the system store)\n", root)
		popts.Targets = []trust.Target{trust.Docker, trust.Spectro}
		steps, err = trust.NewPlan(popts)
	}
	if errors.Is(err, trust.ErrNoSystemStore) {
		return &answers.FlagError{Flag: "target", Err: err}
	}
	if err != nil {
		return err
	}

	if opts.DryRun {
		fmt.Fprintln(out, "Would:")
		for _, s := range steps {
			fmt.Fprintf(out, "  %s\n", s)
		}
		return nil
	}
	ledger, err := trust.LoadLedger(setup.Layout{Dir: opts.Dir}.TrustLedger())
	if err != nil {
		return err
	}
	err = trust.ApplyRecorded(ctx, steps, opts.Runner, ledger, func(s trust.Step) { fmt.Fprintln(out, doneLine(s)) })
	if err != nil {
		return err
	}
	if opts.Uninstall {
		fmt.Fprintf(out, "Removed the CA for %s.\n", strings.Join(trust.Addresses(hosts, port), ", "))
	} else {
		fmt.Fprintf(out, "Clients on this host now trust the registry at %s.\n", strings.Join(trust.Addresses(hosts, port), ", "))
	}
	return nil
}

// setupCAFile is the CA trust installs: --ca-file, else the setup's.
func setupCAFile(opts *TrustOptions, saved config.Answers, haveSetup bool) string {
	if opts.CAFile != "" {
		return opts.CAFile
	}
	if haveSetup && saved.CAFile != "" {
		return saved.CAFile
	}
	return setup.Layout{Dir: opts.Dir}.CertFiles().CACert()
}

// certificateHosts are the names clients may use for the setup's registry:
// its host first (it names the OS store's file), then every DNS name and IP
// address of the server certificate, since Docker looks for the CA under
// the address exactly as a client spells it. Wildcard names cannot name a
// certs.d folder and are left out. Without a readable certificate (Let's
// Encrypt keeps its own) it is the host alone.
func certificateHosts(dir, host string) []string {
	hosts := []string{host}
	certs, err := certgen.LoadCertificates(setup.Layout{Dir: dir}.CertFiles().TLSCert())
	if err != nil || len(certs) == 0 {
		return hosts
	}
	for _, n := range certs[0].DNSNames {
		if !strings.Contains(n, "*") && !slices.Contains(hosts, n) {
			hosts = append(hosts, n)
		}
	}
	for _, ip := range certs[0].IPAddresses {
		if s := ip.String(); !slices.Contains(hosts, s) {
			hosts = append(hosts, s)
		}
	}
	return hosts
}

func doneLine(s trust.Step) string {
	switch {
	case s.Outcome == "kept":
		return "kept    " + s.Path + " (not what trust wrote)"
	case s.Outcome == "preexisting":
		return "kept    " + s.Path + " (it was there before trust)"
	case s.Outcome == "absent":
		return "absent  " + s.Path
	case s.Outcome == "restored":
		return "restored " + s.Path + " (as it was before trust)"
	case s.Kind == trust.WriteFile:
		return "wrote   " + s.Path
	case s.Kind == trust.RemoveFile:
		return "removed " + s.Path
	}
	return "ran     " + strings.TrimPrefix(s.String(), "run ")
}
