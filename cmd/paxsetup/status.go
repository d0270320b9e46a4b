package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fatih/color"
	"github.com/spf13/cobra"

	"github.com/paxsetup/paxsetup/internal/certgen"
	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/dockerctl"
	"github.com/paxsetup/paxsetup/internal/setup"
	"github.com/paxsetup/paxsetup/internal/verify"
)

// StatusOptions are the inputs of `paxsetup status`.
type StatusOptions struct {
	IO      *IOStreams
	Factory *Factory
	Dir     string

	Timeout time.Duration
	Output  string
}

// NewCmdStatus shows the registry container's state. runF replaces the run
// in flag tests.
func NewCmdStatus(f *Factory, g *globalOptions, runF func(context.Context, *StatusOptions) error) *cobra.Command {
	opts := &StatusOptions{IO: f.IO, Factory: f}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the registry container: running or not, since when, image, ports, health, certificate",
		Long: `status shows the registry container of the setup in --dir: whether it runs
and since when, its image, published ports and restart count, whether
/health answers, and how many days the server certificate has left.

The container is found by the labels paxsetup puts on it, so a renamed
container is still found.

Exit codes: 0 running and healthy; 3 not running, not answering, or no
container; 1 status could not be read.`,
		Example: `  paxsetup status
  paxsetup status --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dir = g.Dir
			if err := checkOutput(opts.Output); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runStatus(cmd.Context(), opts)
		},
	}
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 3*time.Second, "how long to wait for /health")
	addOutputFlag(cmd.Flags(), &opts.Output)
	return cmd
}

// Status is what `paxsetup status --output json` prints.
type Status struct {
	Dir      string `json:"dir"`
	Endpoint string `json:"endpoint"`
	// State is the engine's word (running, restarting, exited, created),
	// or "absent" when the setup has no container.
	State        string     `json:"state"`
	Running      bool       `json:"running"`
	Container    string     `json:"container,omitempty"`
	ID           string     `json:"id,omitempty"`
	Since        *time.Time `json:"since,omitempty"`
	ExitCode     *int       `json:"exit_code,omitempty"`
	Image        string     `json:"image,omitempty"`
	ImageID      string     `json:"image_id,omitempty"`
	Ports        []string   `json:"ports,omitempty"`
	RestartCount int        `json:"restart_count"`
	Health       *Health    `json:"health,omitempty"`
	Certificate  *CertState `json:"certificate,omitempty"`
	Engine       string     `json:"engine,omitempty"`
	// Others are further containers of this setup, such as a previous
	// registry an interrupted upgrade left set aside.
	Others []string `json:"others,omitempty"`
	// Interrupted is set when a run died while replacing the registry or
	// its files: the next init or upgrade puts things right.
	Interrupted bool `json:"interrupted,omitempty"`
}

// Health is the outcome of GET /health.
type Health struct {
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// CertState is the server certificate's remaining validity.
type CertState struct {
	File     string    `json:"file"`
	NotAfter time.Time `json:"not_after"`
	DaysLeft int       `json:"days_left"`
}

func runStatus(ctx context.Context, opts *StatusOptions) error {
	a, err := setup.Load(opts.Dir)
	if err != nil {
		return err
	}
	eng, err := opts.Factory.Docker(ctx)
	if err != nil {
		return err
	}
	defer eng.Close()

	st, err := readStatus(ctx, eng, opts.Dir, a, opts.Timeout, opts.Factory.Now())
	if err != nil {
		return err
	}
	for _, left := range []string{setup.JournalFile, setup.PreviousDir} {
		if _, err := os.Stat(filepath.Join(opts.Dir, left)); err == nil {
			st.Interrupted = true
		}
	}
	if err := writeOutput(opts.IO.Out, opts.Output, st, func() { printStatus(opts.IO.Out, st) }); err != nil {
		return err
	}
	if !st.Running || (st.Health != nil && !st.Health.OK) {
		return errCheckFailed
	}
	return nil
}

// findRegistry returns the setup's containers, found by their labels rather
// than their name: the registry first (the one with the setup's name, else a
// running one, else the newest), then any others, such as a previous
// registry set aside by an upgrade that was interrupted.
func findRegistry(ctx context.Context, eng dockerctl.API, dir, name string) ([]dockerctl.Container, error) {
	found, err := eng.FindByLabel(ctx, setup.LabelDir, dir)
	if err != nil {
		return nil, err
	}
	var ours []dockerctl.Container
	for _, c := range found {
		if c.Managed() {
			ours = append(ours, c)
		}
	}
	rank := func(c dockerctl.Container) int {
		switch {
		case c.Name == name:
			return 0
		case c.Running:
			return 1
		}
		return 2
	}
	slices.SortStableFunc(ours, func(x, y dockerctl.Container) int {
		if d := rank(x) - rank(y); d != 0 {
			return d
		}
		return y.CreatedAt.Compare(x.CreatedAt)
	})
	return ours, nil
}

func readStatus(ctx context.Context, eng dockerctl.API, dir string, a config.Answers, timeout time.Duration, now time.Time) (Status, error) {
	st := Status{Dir: dir, Endpoint: a.Endpoint(), State: "absent"}
	// Only a line of the report: not worth waiting for an engine that is
	// slow to describe itself (Podman can take seconds).
	ectx, cancel := context.WithTimeout(ctx, 2*time.Second)
	if info, err := eng.Engine(ectx); err == nil {
		st.Engine = fmt.Sprintf("%s: engine %s, API %s", info.Host, info.Version, info.ClientAPIVersion)
	}
	cancel()
	ctrs, err := findRegistry(ctx, eng, dir, a.Name)
	if err != nil {
		return st, err
	}
	st.Certificate = certState(dir, now)
	if len(ctrs) == 0 {
		return st, nil
	}
	c := ctrs[0]
	for _, o := range ctrs[1:] {
		st.Others = append(st.Others, o.Name)
	}
	st.State, st.Running, st.Container, st.ID = c.Status, c.Running && !c.Restarting, c.Name, c.ID
	st.Image, st.ImageID = c.Image, c.ImageID
	if ref := c.Labels[setup.LabelImage]; ref != "" {
		st.Image = ref
	}
	st.Ports, st.RestartCount = c.Ports, c.RestartCount
	switch {
	case c.Running && !c.StartedAt.IsZero():
		st.Since = &c.StartedAt
	case !c.FinishedAt.IsZero():
		st.Since = &c.FinishedAt
		code := c.ExitCode
		st.ExitCode = &code
	case !c.CreatedAt.IsZero():
		st.Since = &c.CreatedAt
	}
	if !st.Running {
		return st, nil
	}
	vopts, err := setup.VerifyOptions(dir, a)
	if err != nil {
		st.Health = &Health{Detail: err.Error()}
		return st, nil
	}
	vopts.Timeout = timeout
	rep := verify.Run(ctx, vopts)
	if err := ctx.Err(); err != nil {
		return st, err
	}
	for _, chk := range rep.Checks {
		if chk.Name == "health" {
			st.Health = &Health{OK: chk.Status == verify.OK, Detail: chk.Detail}
			if chk.Fix != "" {
				st.Health.Detail += " (fix: " + chk.Fix + ")"
			}
		}
	}
	if st.Health == nil && len(rep.Checks) > 0 {
		first := rep.Checks[0]
		st.Health = &Health{Detail: first.Detail}
	}
	if st.Health != nil && !st.Health.OK {
		for _, chk := range acmeChecks(ctx, eng, c.ID, a) {
			st.Health.Detail += "; " + chk.Detail + " (fix: " + chk.Fix + ")"
		}
	}
	return st, nil
}

// certState reads the server certificate's expiry; modes without a
// certificate file (Let's Encrypt keeps its own, plain HTTP has none) give
// nil.
func certState(dir string, now time.Time) *CertState {
	path := setup.Layout{Dir: dir}.CertFiles().TLSCert()
	certs, err := certgen.LoadCertificates(path)
	if err != nil || len(certs) == 0 {
		return nil
	}
	na := certs[0].NotAfter
	return &CertState{File: path, NotAfter: na, DaysLeft: int(na.Sub(now).Hours() / 24)}
}

func printStatus(w io.Writer, st Status) {
	green := color.New(color.FgGreen).SprintFunc()
	red := color.New(color.FgRed, color.Bold).SprintFunc()
	yellow := color.New(color.FgYellow).SprintFunc()
	row := func(k, format string, args ...any) {
		fmt.Fprintf(w, "%-12s %s\n", k, fmt.Sprintf(format, args...))
	}
	row("Registry", "%s (setup in %s)", st.Endpoint, st.Dir)
	if st.State == "absent" {
		row("Container", "%s: no container of this setup; start it with `paxsetup init --yes --dir %s`", red("none"), st.Dir)
	} else {
		state := green(st.State)
		if !st.Running {
			state = red(st.State)
		}
		since := ""
		if st.Since != nil {
			since = fmt.Sprintf(" since %s (%s)", st.Since.Local().Format("2006-01-02 15:04:05 MST"), ago(time.Since(*st.Since)))
		}
		if st.ExitCode != nil {
			since += fmt.Sprintf(", exit code %d", *st.ExitCode)
		}
		row("Container", "%s (%s) %s%s", st.Container, shortID(st.ID), state, since)
		row("Image", "%s (%s)", st.Image, shortID(st.ImageID))
		ports := strings.Join(st.Ports, ", ")
		if ports == "" {
			ports = "none published"
		}
		row("Ports", "%s", ports)
		restarts := fmt.Sprint(st.RestartCount)
		if st.RestartCount > 0 {
			restarts = yellow(restarts) + " (see `paxsetup logs`)"
		}
		row("Restarts", "%s", restarts)
	}
	switch {
	case st.Health == nil:
		row("Health", "not checked: the registry is not running")
	case st.Health.OK:
		row("Health", "%s %s", green("ok"), st.Health.Detail)
	default:
		row("Health", "%s %s", red("FAIL"), st.Health.Detail)
	}
	if c := st.Certificate; c != nil {
		days := fmt.Sprintf("%d days left", c.DaysLeft)
		switch {
		case c.DaysLeft < 0:
			days = red("expired") + " (renew with `paxsetup init --force`)"
		case c.DaysLeft < 30:
			days = yellow(days) + " (renew with `paxsetup init --force`)"
		}
		row("Certificate", "%s, until %s", days, c.NotAfter.Format("2006-01-02"))
	}
	for _, o := range st.Others {
		row("Also", "%s, another container of this setup (an interrupted replacement leaves the previous registry so: `docker rm %s` once the registry works)", o, o)
	}
	if st.Interrupted {
		row("Interrupted", "%s: a run died while replacing the registry or its files; `paxsetup init --yes --dir %s` finishes or undoes it", yellow("yes"), st.Dir)
	}
	if st.Engine != "" {
		row("Engine", "%s", st.Engine)
	}
}

func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// ago rounds a duration the way an operator reads uptime.
func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return d.Round(time.Second).String() + " ago"
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm ago", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}
