package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/paxsetup/paxsetup/internal/answers"
	"github.com/paxsetup/paxsetup/internal/certgen"
	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/fsutil"
	"github.com/paxsetup/paxsetup/internal/secretenv"
	"github.com/paxsetup/paxsetup/internal/setup"
	"github.com/paxsetup/paxsetup/internal/verify"
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
	// ReaderUser and ReaderPasswordFile name a second user that must be able
	// to read the catalog; a setup's second user (its login for Palette) is
	// checked by default, and whether the registry lets it write.
	ReaderUser         string
	ReaderPasswordFile string
	Insecure           bool
	Timeout            time.Duration
	Output             string
}

// NewCmdVerify checks a running registry. runF replaces the run in flag tests.
func NewCmdVerify(f *Factory, g *globalOptions, runF func(context.Context, *VerifyOptions) error) *cobra.Command {
	opts := &VerifyOptions{IO: f.IO, Factory: f}
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check a running registry the way Palette uses it, and say how to fix what fails",
		Long: `verify checks the registry set up in --dir, or any pack registry given with
--endpoint, the way Palette uses it. It waits up to --timeout for the registry
to answer (polling every 50 ms while nothing listens), then checks:

  tcp                 the port accepts connections
  tls                 the handshake, with the endpoint's name as SNI
  certificate trust   the chain verifies against --ca-file only (the chain
                      Palette is given), naming who signed it when it does not
  certificate name    the certificate covers the name or IP in the endpoint
  certificate expiry  days left (a warning under 30)
  system trust        whether the system trust store accepts it too (docker,
                      curl and the spectro CLI use it); a warning at most
  health              GET /health answers 200 {"status":"UP"}
  auth required       GET /v1/_catalog without credentials answers 401
  catalog as USER     the admin, and the second user, can read the catalog
  layer downloads     (S3 storage) one layer of a pack downloaded as a
                      client does: served by the registry, or redirected to
                      the bucket (--s3-redirect), which is then tried from
                      this host
  write as USER       whether the registry lets the second user write: it
                      starts a blob upload in a scratch repository and
                      cancels it at once (no blob, manifest or tag is
                      stored); a warning when it may: the registry
                      enforces no roles
  security headers    X-Content-Type-Options, X-Frame-Options,
                      Strict-Transport-Security

Each failure names its cause and the fix: connection refused, no answer
(firewall), plain HTTP on an HTTPS port or the reverse, unknown authority,
no IP SAN, a name the certificate lacks, a CN-only certificate, expired, a
refused login (for a setup on this host, read against its htpasswd file: a
wrong password, a missing user or a non-bcrypt entry), not a pack registry.

Passwords come from --password-file / --reader-password-file,
PAXSETUP_PASSWORD / PAXSETUP_READER_PASSWORD, or, for users whose password
paxsetup generated or read from a file, from the setup.

Exit codes: 0 no check failed (warnings allowed); 3 a check failed;
1 verify could not run; 2 invalid flags.`,
		Example: `  paxsetup verify
  paxsetup verify --endpoint https://registry.example.com --ca-file chain.pem --user admin --password-file pw`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dir = g.Dir
			if err := checkOutput(opts.Output); err != nil {
				return err
			}
			if err := answers.CheckURLUserinfo(opts.Endpoint); err != nil {
				return flagError("endpoint", fmt.Errorf("%w: give the user with --user and the password with --password-file or PAXSETUP_PASSWORD", err))
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
	fl.StringVar(&opts.ReaderUser, "reader-user", "", "a second user that must be able to read the catalog too, and is probed for write access (default: the setup's second user)")
	fl.StringVar(&opts.ReaderPasswordFile, "reader-password-file", "", "file holding the second user's password (or env PAXSETUP_READER_PASSWORD)")
	fl.BoolVar(&opts.Insecure, "insecure", false, "do not verify the certificate (like Palette's Insecure Skip TLS Verify)")
	fl.DurationVar(&opts.Timeout, "timeout", verify.DefaultTimeout, "how long to wait for the registry to answer")
	addOutputFlag(fl, &opts.Output)
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
	if !rep.OK() && opts.Endpoint == "" {
		rep.Checks = append(rep.Checks, verifyACMEChecks(ctx, opts)...)
	}
	if err := writeOutput(opts.IO.Out, opts.Output, rep, func() { printReport(opts.IO, rep) }); err != nil {
		return err
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

	if haveSetup && opts.Endpoint == "" {
		// The registry runs here, from the setup's files: a refused login
		// can be explained from its htpasswd file.
		v.HtpasswdFile = setup.Layout{Dir: opts.Dir}.Htpasswd()
	}

	user := opts.User
	if user == "" && haveSetup {
		user = saved.AdminUser
	}
	if user != "" {
		pw, err := verifyPassword(opts, saved, haveSetup, user, opts.PasswordFile, "password-file", secretenv.Password)
		if err != nil {
			return v, err
		}
		if pw != "" {
			v.User, v.Password = user, pw
		} else if opts.User != "" {
			return v, flagError("password-file", fmt.Errorf("no password for %q: give --password-file or PAXSETUP_PASSWORD", user))
		}
	}

	reader := opts.ReaderUser
	if reader == "" && haveSetup && opts.User == "" {
		reader = saved.ReaderUser
	}
	if reader == "" || reader == v.User {
		return v, nil
	}
	pw, err := verifyPassword(opts, saved, haveSetup, reader, opts.ReaderPasswordFile, "reader-password-file", "PAXSETUP_READER_PASSWORD")
	if err != nil {
		return v, err
	}
	if pw != "" {
		v.ReaderUser, v.ReaderPassword = reader, pw
	} else if opts.ReaderUser != "" {
		return v, flagError("reader-password-file", fmt.Errorf("no password for %q: give --reader-password-file or PAXSETUP_READER_PASSWORD", reader))
	}
	return v, nil
}

// verifyPassword finds user's password: the flag's file, then the
// environment variable, then what the setup knows of that user.
func verifyPassword(opts *VerifyOptions, saved config.Answers, haveSetup bool, user, flagFile, flag, envVar string) (string, error) {
	file := flagFile
	if file == "" && haveSetup {
		switch user {
		case saved.AdminUser:
			file = saved.AdminPasswordFile
		case saved.ReaderUser:
			file = saved.ReaderPasswordFile
		}
	}
	if flagFile == "" {
		if pw := opts.Factory.Getenv(envVar); pw != "" {
			return pw, nil
		}
	}
	if file != "" {
		data, err := fsutil.ReadRegularFile(file, fsutil.MaxSecretFile)
		if err != nil {
			return "", &answers.FlagError{Flag: flag, Err: fmt.Errorf("cannot read the password file: %v", err)}
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

func printReport(ios *IOStreams, rep verify.Report) {
	rows := make([]checkRow, len(rep.Checks))
	for i, c := range rep.Checks {
		rows[i] = checkRow{string(c.Status), c.Name, c.Detail, c.Fix}
	}
	printChecks(ios, "Checking "+rep.Endpoint, rows)
}

// verifyACMEChecks explain a failed verify of a letsencrypt setup from its
// registry's log. The engine is asked only then, and a missing engine only
// leaves the explanation out.
func verifyACMEChecks(ctx context.Context, opts *VerifyOptions) []verify.Check {
	a, ok, err := config.LoadIfExists(opts.Dir)
	if err != nil || !ok || a.Mode != config.ModeLetsEncrypt {
		return nil
	}
	eng, err := opts.Factory.Docker(ctx)
	if err != nil {
		return nil
	}
	defer eng.Close()
	return acmeChecks(ctx, eng, a.Name, a)
}
