package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"

	"github.com/paxsetup/paxsetup/internal/answers"
	"github.com/paxsetup/paxsetup/internal/certgen"
	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/dockerctl"
	"github.com/paxsetup/paxsetup/internal/htpasswd"
	"github.com/paxsetup/paxsetup/internal/setup"
	"github.com/paxsetup/paxsetup/internal/wizard"
)

func notInteractiveError() error {
	return fmt.Errorf("%w: for example `paxsetup init --yes --host registry.example.com` "+
		"(passwords from --admin-password-file/--reader-password-file or PAXSETUP_ADMIN_PASSWORD/PAXSETUP_READER_PASSWORD, else generated)",
		answers.ErrNotInteractive)
}

// loadAnswers reads the answers to replay: --config when given, else the
// setup's own paxsetup.yaml.
func loadAnswers(opts *InitOptions) (config.Answers, bool, error) {
	if opts.ConfigFile == "" {
		return config.LoadIfExists(opts.Dir)
	}
	a, err := config.LoadFile(opts.ConfigFile)
	if err != nil {
		return a, false, flagError("config", err)
	}
	return a, true, nil
}

func accessible(opts *InitOptions) bool {
	return opts.Accessible || wizard.AccessibleFromEnv(opts.Factory.Getenv)
}

// askInteractive asks what no flag answered, shows the plan and asks to go on.
func askInteractive(ctx context.Context, opts *InitOptions, eng dockerctl.API, a config.Answers, rerun bool,
	admin, reader answers.Password, hostIPs []string) (wizard.Result, error) {
	p := opts.Factory.prompter(ctx, opts.Accessible)
	var existing *wizard.Existing
	if rerun && opts.ConfigFile == "" {
		existing = describeSetup(ctx, eng, opts.Dir, a, opts.Factory.Now())
	}
	flow := &wizard.Flow{
		P:       p,
		Changed: opts.Changed,
		HostIPs: hostIPs,
		Checks: wizard.Checks{
			PortProblem: func(port int) error { return setup.PortProblem(ctx, eng, port, a.Name, opts.Dir) },
			FreePort:    func(from int) int { return setup.FreePort(ctx, eng, from, a.Name, opts.Dir) },
			LintCertificate: func(certFile, keyFile, caFile, host string) error {
				c := a
				c.CertFile, c.KeyFile, c.CAFile, c.Host = certFile, keyFile, caFile, host
				return setup.CheckCustomCert(c, opts.Factory.Now())
			},
		},
	}
	flow.PlanTitle = "Set it up now?"
	if opts.DryRun {
		flow.PlanTitle = "Write the files and show the plan (dry run)?"
	}
	flow.Plan = func(res wizard.Result, width int) (string, error) {
		if err := answers.Validate(res.Answers); err != nil {
			return "", err
		}
		return wizard.Summary(opts.Dir, res, hostIPs, width), nil
	}
	res, err := flow.Ask(a, existing, admin, reader)
	if errors.Is(err, wizard.ErrDeclined) && !opts.DryRun {
		fmt.Fprintf(opts.IO.Out, "To see the plan as a docker run command: paxsetup init --dry-run%s\n", dirArg(opts.Factory, opts.Dir))
	}
	if err != nil {
		return res, err
	}
	if err := answers.Validate(res.Answers); err != nil {
		return res, err
	}
	if !accessible(opts) {
		// The form is gone from the screen: the plan stays in the
		// scrollback, above what the run prints.
		fmt.Fprintf(opts.IO.Out, "%s\n", wizard.Summary(opts.Dir, res, hostIPs, terminalWidth(opts.IO.Out)))
	}
	return res, nil
}

// terminalWidth is the width of out when it is a terminal, else 0.
func terminalWidth(out io.Writer) int {
	if f, ok := out.(*os.File); ok {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil {
			return w
		}
	}
	return 0
}

// describeSetup tells what an earlier run left: the container, the
// certificate and the users.
func describeSetup(ctx context.Context, eng dockerctl.API, dir string, a config.Answers, now time.Time) *wizard.Existing {
	e := &wizard.Existing{Container: "absent", CertDaysLeft: -1}
	if c, err := eng.Inspect(ctx, a.Name); err == nil {
		e.Container = "stopped"
		if c.Running {
			e.Container = "running since " + c.StartedAt.Local().Format("2006-01-02 15:04")
		}
	}
	l := setup.Layout{Dir: dir}
	if data, err := os.ReadFile(l.CertFiles().TLSCert()); err == nil {
		if certs, err := certgen.ParseCertificatesPEM(data); err == nil && len(certs) > 0 {
			e.CertDaysLeft = max(0, int(certs[0].NotAfter.Sub(now).Hours()/24))
		}
	}
	if f, err := htpasswd.Load(l.Htpasswd()); err == nil {
		e.Users = f.Users()
	}
	return e
}
