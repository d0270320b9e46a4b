package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/fatih/color"
	"github.com/spf13/cobra"

	"github.com/paxsetup/paxsetup/internal/certgen"
	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/setup"
	"github.com/paxsetup/paxsetup/internal/verify"
	"github.com/paxsetup/paxsetup/internal/wizard"
)

// VerifyOptions are the inputs of `paxsetup verify`.
type VerifyOptions struct {
	IO      *IOStreams
	Factory *Factory
	Dir     string

	Endpoint     string
	CAFile       string
	User         string
	PasswordFile string
	Insecure     bool
	Timeout      time.Duration
	Output       string
}

// NewCmdVerify checks a running registry. runF replaces the run in flag tests.
func NewCmdVerify(f *Factory, g *globalOptions, runF func(context.Context, *VerifyOptions) error) *cobra.Command {
	opts := &VerifyOptions{IO: f.IO, Factory: f}
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check a running registry the way Palette uses it, and say how to fix what fails",
		Long: `verify checks the registry set up in --dir, or any pack registry given with
--endpoint: /health answers {"status":"UP"} over TLS trusting only the
setup's CA, /v1/_catalog refuses a request without credentials, and the user
can read the catalog.

The password comes from --password-file, PAXSETUP_PASSWORD, or, for a user
whose password paxsetup generated or read from a file, from the setup.

Exit codes: 0 every check passed; 3 a check failed; 1 verify could not run;
2 invalid flags.`,
		Example: `  paxsetup verify
  paxsetup verify --endpoint https://registry.example.com --ca-file chain.pem --user admin --password-file pw`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dir = g.Dir
			if opts.Output != "text" && opts.Output != "json" {
				return flagError("output", fmt.Errorf("%q: use text or json", opts.Output))
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runVerify(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Endpoint, "endpoint", "", "registry URL, https://HOST:PORT (default: the setup's)")
	fl.StringVar(&opts.CAFile, "ca-file", "", "PEM file of the CAs to trust (default: the setup's certs/ca.crt)")
	fl.StringVar(&opts.User, "user", "", "user that must be able to read the catalog (default: the setup's admin)")
	fl.StringVar(&opts.PasswordFile, "password-file", "", "file holding the user's password (or env PAXSETUP_PASSWORD)")
	fl.BoolVar(&opts.Insecure, "insecure", false, "do not verify the certificate (like Palette's Insecure Skip TLS Verify)")
	fl.DurationVar(&opts.Timeout, "timeout", 60*time.Second, "how long to wait for the registry to answer")
	fl.StringVar(&opts.Output, "output", "text", "text or json")
	return cmd
}

func runVerify(ctx context.Context, opts *VerifyOptions) error {
	vopts, err := verifyOptionsFor(opts)
	if err != nil {
		return err
	}
	rep := verify.Run(ctx, vopts)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if opts.Output == "json" {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		printReport(opts.IO, rep)
	}
	if !rep.OK() {
		return errCheckFailed
	}
	return nil
}

// verifyOptionsFor starts from the setup in --dir, when there is one, and
// lets each flag override.
func verifyOptionsFor(opts *VerifyOptions) (verify.Options, error) {
	saved, haveSetup, err := config.LoadIfExists(opts.Dir)
	if err != nil {
		return verify.Options{}, err
	}
	var v verify.Options
	switch {
	case haveSetup:
		if v, err = setup.VerifyOptions(opts.Dir, saved); err != nil {
			return v, err
		}
	case opts.Endpoint == "":
		return v, flagError("endpoint", fmt.Errorf("no setup in %s (no %s): run paxsetup init, pass --dir, or give --endpoint", opts.Dir, config.FileName))
	}
	if opts.Endpoint != "" {
		v.Endpoint = strings.TrimRight(opts.Endpoint, "/")
		v.DialAddr = ""
	}
	v.Timeout = opts.Timeout
	v.Insecure = opts.Insecure
	if opts.CAFile != "" {
		pool, err := certgen.LoadCertPool(opts.CAFile)
		if err != nil {
			return v, flagError("ca-file", err)
		}
		v.RootCAs, v.CAFile = pool, opts.CAFile
	}

	user := opts.User
	if user == "" && haveSetup {
		user = saved.AdminUser
	}
	if user == "" {
		return v, nil
	}
	pw, err := verifyPassword(opts, saved, haveSetup, user)
	if err != nil {
		return v, err
	}
	if pw != "" {
		v.User, v.Password = user, pw
	} else if opts.User != "" {
		return v, flagError("password-file", fmt.Errorf("no password for %q: give --password-file or PAXSETUP_PASSWORD", user))
	}
	return v, nil
}

func verifyPassword(opts *VerifyOptions, saved config.Answers, haveSetup bool, user string) (string, error) {
	file := opts.PasswordFile
	if file == "" && haveSetup {
		switch user {
		case saved.AdminUser:
			file = saved.AdminPasswordFile
		case saved.ReaderUser:
			file = saved.ReaderPasswordFile
		}
	}
	if opts.PasswordFile == "" {
		if pw := opts.Factory.Getenv("PAXSETUP_PASSWORD"); pw != "" {
			return pw, nil
		}
	}
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return "", &wizard.FlagError{Flag: "password-file", Err: fmt.Errorf("cannot read the password file: %v", err)}
		}
		return strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r"), nil
	}
	if haveSetup {
		if pw, ok := setup.LoadCredentials(opts.Dir, user); ok {
			return pw, nil
		}
	}
	return "", nil
}

func printReport(io *IOStreams, rep verify.Report) {
	marks := map[verify.Status]string{
		verify.OK:   color.New(color.FgGreen).Sprint("ok  "),
		verify.Warn: color.New(color.FgYellow).Sprint("warn"),
		verify.Fail: color.New(color.FgRed, color.Bold).Sprint("FAIL"),
	}
	fmt.Fprintf(io.Out, "Checking %s\n", rep.Endpoint)
	width := 0
	for _, c := range rep.Checks {
		width = max(width, len(c.Name))
	}
	for _, c := range rep.Checks {
		fmt.Fprintf(io.Out, "%s %-*s  %s\n", marks[c.Status], width, c.Name, c.Detail)
		if c.Fix != "" {
			fmt.Fprintf(io.Out, "     %-*s  fix: %s\n", width, "", c.Fix)
		}
	}
	if rep.OK() {
		fmt.Fprintln(io.Out, "All checks passed.")
	}
}
