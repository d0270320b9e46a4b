package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/fatih/color"
	"github.com/spf13/cobra"

	"github.com/paxsetup/paxsetup/internal/answers"
	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/dockerctl"
	"github.com/paxsetup/paxsetup/internal/hostinfo"
	"github.com/paxsetup/paxsetup/internal/preflight"
	"github.com/paxsetup/paxsetup/internal/setup"
	"github.com/paxsetup/paxsetup/internal/wizard"
)

// PreflightOptions are the inputs of `paxsetup preflight`.
type PreflightOptions struct {
	IO      *IOStreams
	Factory *Factory
	Dir     string

	Mode  string
	Host  string
	SANs  []string
	Email string
	// ACMEDirectory is another ACME CA's directory (letsencrypt mode).
	ACMEDirectory string
	Port          int
	Bind          string
	CertFile      string
	KeyFile       string
	CAFile        string
	Output        string
	// Changed says which flags the operator gave; the others come from the
	// setup in Dir, when there is one.
	Changed func(string) bool
}

var modes = []string{config.ModeSelfSigned, config.ModeLetsEncrypt, config.ModeCustom, config.ModeHTTP}

// NewCmdPreflight checks whether this host can run the registry. runF
// replaces the run in flag tests.
func NewCmdPreflight(f *Factory, g *globalOptions, runF func(context.Context, *PreflightOptions) error) *cobra.Command {
	opts := &PreflightOptions{IO: f.IO, Factory: f}
	cmd := &cobra.Command{
		Use:   "preflight",
		Short: "Check that this host can run the registry, before anything is written",
		Long: `preflight checks the prerequisites of a registry on this host and writes
nothing. Each check says ok, warn or fail, why, and the fix:

  docker        the engine answers, its version and API, rootless or not,
                and that this user may use it
  port N        the port is free on the bind address, or who holds it (a
                container by name, a process by pid and name); below 1024
                with rootless Docker, the sysctl that allows it
  cpu, memory   at least 1 CPU and 2 GiB (the vendor's minimum)
  disk          free space where data/ will live
  host name     it resolves, to which addresses, and whether one is this host's
  letsencrypt   (--mode letsencrypt) a DNS name, resolving publicly, an
                email, and inbound 443 from the internet
  certificate   (--mode custom) the certificate lint: key, names, chain, validity
  s3 bucket     (--storage s3) the bucket answers, takes the keys, and lets
                them list, write and delete under the prefix (a probe object,
                deleted at once)
  s3 downloads  (--storage s3) who serves the layers: the registry, or the
                bucket itself (--s3-redirect)
  clock         this host's clock against the engine's
  selinux       enforcing SELinux and the label the mounts need
  firewall      firewalld, ufw or nftables rules that may block the port

Answers come from flags, then from the setup in --dir (when there is one),
then from init's defaults.

Exit codes: 0 no check failed (warnings allowed); 3 a check failed;
1 preflight could not run; 2 invalid flags.`,
		Example: `  paxsetup preflight
  paxsetup preflight --port 8443 --host registry.example.com
  paxsetup preflight --mode letsencrypt --host registry.example.com --email ops@example.com --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dir = g.Dir
			opts.Changed = cmd.Flags().Changed
			if err := checkOutput(opts.Output); err != nil {
				return err
			}
			if opts.Changed("mode") && !slices.Contains(modes, opts.Mode) {
				return flagError("mode", fmt.Errorf("%q: use one of %s", opts.Mode, strings.Join(modes, ", ")))
			}
			if opts.Changed("port") && (opts.Port < 1 || opts.Port > 65535) {
				return flagError("port", fmt.Errorf("%d: use a port from 1 to 65535", opts.Port))
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runPreflight(cmd.Context(), opts)
		},
	}
	d := config.Defaults()
	fl := cmd.Flags()
	fl.StringVar(&opts.Mode, "mode", d.Mode, "selfsigned, letsencrypt, custom or http")
	fl.StringVar(&opts.Host, "host", "", "the registry's DNS name or IP (default: the setup's, else this machine's FQDN)")
	fl.StringSliceVar(&opts.SANs, "san", nil, "extra DNS name or IP the certificate must cover (custom mode), repeatable")
	fl.StringVar(&opts.Email, "email", "", "Let's Encrypt account email")
	fl.StringVar(&opts.ACMEDirectory, "acme-directory", "", "another ACME CA's directory URL: the name must then resolve for that CA, not publicly (letsencrypt mode)")
	decimalIntVar(fl, &opts.Port, "port", d.Port, "host port for the registry")
	fl.StringVar(&opts.Bind, "bind", "", "host address the port is published on (default: all)")
	fl.StringVar(&opts.CertFile, "cert-file", "", "your server certificate and its chain, PEM (custom mode)")
	fl.StringVar(&opts.KeyFile, "key-file", "", "the certificate's private key, PEM (custom mode)")
	fl.StringVar(&opts.CAFile, "ca-file", "", "the CA that issued your certificate, PEM (custom mode)")
	addOutputFlag(fl, &opts.Output)
	return cmd
}

func runPreflight(ctx context.Context, opts *PreflightOptions) error {
	popts, err := preflightOptionsFor(ctx, opts)
	if err != nil {
		return err
	}
	var api dockerctl.API
	rep := preflight.Run(ctx, preflightDeps(opts.Factory, func(ctx context.Context) (dockerctl.API, error) {
		a, err := opts.Factory.Docker(ctx)
		if err != nil {
			// Factory.Docker may return a typed nil with its error.
			return nil, err
		}
		api = a
		return a, nil
	}), popts)
	if api != nil {
		api.Close()
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err := writeOutput(opts.IO.Out, opts.Output, rep, func() { printPreflight(opts.IO, popts, rep) }); err != nil {
		return err
	}
	if !rep.OK() {
		return errCheckFailed
	}
	return nil
}

// preflightDeps wires preflight to this process's clock and to the engine
// connect gives (init passes the one it already has, with its connection
// error if any).
func preflightDeps(f *Factory, connect func(context.Context) (dockerctl.API, error)) preflight.Deps {
	var api dockerctl.API
	return preflight.Deps{
		Now: f.Now,
		Engine: func(ctx context.Context) (preflight.Engine, error) {
			a, err := connect(ctx)
			if err != nil {
				return nil, err
			}
			api = a
			return a, nil
		},
		EngineClock: func(ctx context.Context) (time.Time, error) {
			if api == nil {
				return time.Time{}, errors.New("no engine")
			}
			info, err := api.Engine(ctx)
			if err != nil {
				return time.Time{}, err
			}
			if info.SystemTime.IsZero() {
				return time.Time{}, errors.New("the engine did not report its clock")
			}
			return info.SystemTime, nil
		},
	}
}

// printPreflight shows a preflight report for the setup checked.
func printPreflight(ios *IOStreams, o preflight.Options, rep preflight.Report) {
	rows := make([]checkRow, len(rep.Checks))
	for i, c := range rep.Checks {
		rows[i] = checkRow{string(c.Status), c.Name, c.Detail, c.Fix}
	}
	printChecks(ios, "Preflight for "+describeTarget(o), rows)
}

func describeTarget(o preflight.Options) string {
	bind := o.Bind
	if bind == "" {
		bind = "all addresses"
	}
	return fmt.Sprintf("%s (%s mode, port %d on %s)", o.Host, o.Mode, o.Port, bind)
}

// preflightOptionsFor starts from init's defaults, takes the setup in --dir
// over them, and each flag given over both.
func preflightOptionsFor(ctx context.Context, opts *PreflightOptions) (preflight.Options, error) {
	a := config.Defaults()
	saved, ok, err := config.LoadIfExists(opts.Dir)
	if err != nil {
		return preflight.Options{}, err
	}
	if ok {
		a = saved
	}
	changed := opts.Changed
	if changed == nil {
		changed = func(string) bool { return true }
	}
	set := func(flag string, dst *string, v string) {
		if changed(flag) {
			*dst = v
		}
	}
	set("mode", &a.Mode, opts.Mode)
	set("host", &a.Host, opts.Host)
	set("email", &a.Email, opts.Email)
	set("acme-directory", &a.ACMEDirectory, opts.ACMEDirectory)
	set("bind", &a.Bind, opts.Bind)
	set("cert-file", &a.CertFile, opts.CertFile)
	set("key-file", &a.KeyFile, opts.KeyFile)
	set("ca-file", &a.CAFile, opts.CAFile)
	if changed("port") {
		a.Port = opts.Port
	}
	if changed("san") {
		a.SANs = opts.SANs
	}
	if a.Host == "" {
		if a.Host, err = hostinfo.FQDN(ctx); err != nil {
			return preflight.Options{}, flagError("host", fmt.Errorf("this machine's name is unknown (%v): give --host", err))
		}
	}
	if a.Port == 0 {
		a.Port = config.DefaultPort
	}
	// init's own rules: a host or name preflight passed must not be one
	// init then refuses.
	if err := answers.Validate(a); err != nil {
		return preflight.Options{}, err
	}
	p := preflight.FromAnswers(opts.Dir, a)
	keys, err := setup.ReadS3Keys(s3CredentialsFile(a), opts.Factory.Getenv)
	if err != nil {
		return preflight.Options{}, err
	}
	return p, addS3Keys(&p, opts.Dir, keys)
}

// checkRow is one line of a check report, from preflight or verify.
type checkRow struct{ Status, Name, Detail, Fix string }

// printChecks shows checks as an aligned, coloured table on a terminal and
// as plain lines otherwise (one "status name: detail" line per check, and a
// "fix:" line under each that has one), then a one-line summary.
func printChecks(ios *IOStreams, title string, rows []checkRow) {
	w := ios.Out
	marks := map[string]func(...any) string{
		"ok":   color.New(color.FgGreen).SprintFunc(),
		"warn": color.New(color.FgYellow).SprintFunc(),
		"fail": color.New(color.FgRed, color.Bold).SprintFunc(),
	}
	label := func(s string) string {
		l := map[string]string{"ok": "ok", "warn": "warn", "fail": "FAIL"}[s]
		if l == "" {
			l = s
		}
		return l
	}
	fmt.Fprintln(w, title)
	failed, warned := 0, 0
	for _, r := range rows {
		switch r.Status {
		case "fail":
			failed++
		case "warn":
			warned++
		}
	}
	if ios.StdoutTTY {
		width := len("CHECK")
		for _, r := range rows {
			width = max(width, len(r.Name))
		}
		fmt.Fprintf(w, "%-6s %-*s  %s\n", "STATUS", width, "CHECK", "RESULT")
		for _, r := range rows {
			mark := label(r.Status)
			pad := strings.Repeat(" ", max(0, 6-len(mark)))
			if f, ok := marks[r.Status]; ok {
				mark = f(mark)
			}
			fmt.Fprintf(w, "%s%s %-*s  %s\n", mark, pad, width, r.Name, r.Detail)
			if r.Fix != "" {
				fmt.Fprintf(w, "%-6s %-*s  %s %s\n", "", width, "", marks["warn"]("fix:"), r.Fix)
			}
		}
	} else {
		for _, r := range rows {
			fmt.Fprintf(w, "%-4s %s: %s\n", label(r.Status), r.Name, r.Detail)
			if r.Fix != "" {
				fmt.Fprintf(w, "     fix: %s\n", r.Fix)
			}
		}
	}
	summary(w, failed, warned)
}

func summary(w io.Writer, failed, warned int) {
	switch {
	case failed > 0 && warned > 0:
		fmt.Fprintf(w, "%s failed, %s.\n", count(failed, "check"), count(warned, "warning"))
	case failed > 0:
		fmt.Fprintf(w, "%s failed.\n", count(failed, "check"))
	case warned > 0:
		fmt.Fprintf(w, "No check failed; %s.\n", count(warned, "warning"))
	default:
		fmt.Fprintln(w, "All checks passed.")
	}
}

func count(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// initPreflight checks the host before anything is written, and shows what
// is not right. A failed check stops an unattended run; on a terminal a
// taken port does not, since the wizard offers another.
func initPreflight(ctx context.Context, opts *InitOptions, eng dockerctl.API, a config.Answers, s3Keys setup.S3Keys, interactive bool) error {
	popts := preflight.FromAnswers(opts.Dir, a)
	if err := addS3Keys(&popts, opts.Dir, s3Keys); err != nil {
		return err
	}
	rep := preflight.Run(ctx, preflightDeps(opts.Factory, func(context.Context) (dockerctl.API, error) { return eng, nil }), popts)
	out := opts.IO.Out
	// Wrapped for the terminal, so that no word is cut at its edge.
	width := terminalWidth(out)
	if width == 0 {
		width = 1 << 20
	}
	for _, c := range rep.Checks {
		// Where the packs go and who downloads them is said even when
		// all is well: it is a decision, not a host fact.
		if c.Status == preflight.OK && c.Name != preflight.CheckS3Bucket && c.Name != preflight.CheckS3Downloads {
			continue
		}
		fmt.Fprint(out, wizard.WrapIndented(string(c.Status), 5, c.Name+": "+c.Detail, width))
		if c.Fix != "" {
			fmt.Fprint(out, wizard.WrapIndented("", 5, "fix: "+c.Fix, width))
		}
	}
	for _, c := range rep.Failed() {
		// On a terminal the wizard offers another port.
		if c.Flag == "port" && interactive {
			continue
		}
		msg := c.Detail
		if c.Fix != "" {
			msg += "; " + c.Fix
		}
		// A check that a flag can fix is reported as that flag's error.
		switch c.Flag {
		case "":
			return fmt.Errorf("preflight %s: %s", c.Name, msg)
		case "port":
			return &answers.FlagError{Flag: c.Flag, Err: fmt.Errorf("%w: %s", setup.ErrPortInUse, msg)}
		}
		return &answers.FlagError{Flag: c.Flag, Err: fmt.Errorf("preflight %s: %s", c.Name, msg)}
	}
	return nil
}

// addS3Keys gives the preflight bucket check the keys the run will use:
// those given now, else those the setup in dir already has.
func addS3Keys(p *preflight.Options, dir string, keys setup.S3Keys) error {
	if p.S3 == nil {
		return nil
	}
	if keys == (setup.S3Keys{}) {
		saved, err := setup.SavedSecrets(dir)
		if err != nil {
			return err
		}
		keys = saved.S3Keys
	}
	p.S3.Target.AccessKey, p.S3.Target.SecretKey = keys.AccessKey, keys.SecretKey
	return nil
}
