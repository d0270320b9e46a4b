package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/paxsetup/paxsetup/internal/answers"
	"github.com/paxsetup/paxsetup/internal/fsutil"
	"github.com/paxsetup/paxsetup/internal/htpasswd"
	"github.com/paxsetup/paxsetup/internal/setup"
)

// UsersOptions are the inputs of `paxsetup users`.
type UsersOptions struct {
	IO      *IOStreams
	Factory *Factory
	Dir     string

	// Action is list, add, passwd or remove; User is its argument.
	Action string
	User   string

	PasswordFile  string
	PasswordStdin bool
	// BcryptCost is the cost for the new hash; zero takes the setup's.
	BcryptCost int
	// Timeout bounds the wait for the registry after a restart.
	Timeout time.Duration
}

// NewCmdUsers manages the users of auth/htpasswd-basic. runF replaces the
// run in flag tests.
func NewCmdUsers(f *Factory, g *globalOptions, runF func(context.Context, *UsersOptions) error) *cobra.Command {
	opts := &UsersOptions{IO: f.IO, Factory: f}
	cmd := &cobra.Command{
		Use:   "users",
		Short: "List, add, re-password and remove the registry's users",
		Long: `users edits <dir>/auth/htpasswd-basic, the bcrypt user file the registry
reads. Lines paxsetup did not write (users made with Apache's htpasswd,
comments) are kept as they are.

Passwords come from a prompt on the terminal (typed twice), --password-file
or --password-stdin; never from the command line. They must be at least 12
characters, at most 72 bytes (bcrypt reads no more), and not the user name.

After a change, paxsetup checks that the running registry uses the new file:
distribution 3.x re-reads it when it changes, older registries only at
start. If the registry still answers with the old users, paxsetup restarts
its container and says so.`,
		Example: `  paxsetup users list
  paxsetup users add ci --password-file /run/secrets/ci
  printf '%s\n' "$PW" | paxsetup users passwd spectro --password-stdin
  paxsetup users remove ci`,
	}
	sub := func(use, short string, args cobra.PositionalArgs, withPassword bool) *cobra.Command {
		c := &cobra.Command{
			Use:   use,
			Short: short,
			Args:  args,
			RunE: func(c *cobra.Command, args []string) error {
				opts.Dir = g.Dir
				opts.Action = c.Name()
				if len(args) > 0 {
					opts.User = args[0]
				}
				if withPassword {
					if opts.PasswordFile != "" && opts.PasswordStdin {
						return flagError("password-stdin", errors.New("give --password-file or --password-stdin, not both"))
					}
					if c.Flags().Changed("bcrypt-cost") {
						if err := htpasswd.ValidateCost(opts.BcryptCost); err != nil {
							return flagError("bcrypt-cost", errors.New(strings.TrimPrefix(err.Error(), "--bcrypt-cost ")))
						}
					}
				}
				if runF != nil {
					return runF(c.Context(), opts)
				}
				return runUsers(c.Context(), opts)
			},
		}
		if withPassword {
			fl := c.Flags()
			fl.StringVar(&opts.PasswordFile, "password-file", "", "file holding the password (one trailing newline is ignored)")
			fl.BoolVar(&opts.PasswordStdin, "password-stdin", false, "read the password from standard input")
			fl.IntVar(&opts.BcryptCost, "bcrypt-cost", 0, fmt.Sprintf("bcrypt cost, %d to %d (default: the setup's, else %d)", htpasswd.MinCost, htpasswd.MaxCost, htpasswd.DefaultCost))
		}
		if use != "list" {
			c.Flags().DurationVar(&opts.Timeout, "timeout", 60*time.Second, "how long to wait for the registry after a restart")
		}
		return c
	}
	cmd.AddCommand(
		sub("list", "List the users in auth/htpasswd-basic", cobra.NoArgs, false),
		sub("add NAME", "Add a user", cobra.ExactArgs(1), true),
		sub("passwd NAME", "Set a user's password", cobra.ExactArgs(1), true),
		sub("remove NAME", "Remove a user", cobra.ExactArgs(1), false),
	)
	return cmd
}

func runUsers(ctx context.Context, opts *UsersOptions) error {
	if opts.Action != "list" {
		lock, err := lockSetup(ctx, opts.Factory, opts.Dir, "users "+opts.Action)
		if err != nil {
			return err
		}
		defer lock.Release()
	}
	users, err := setup.LoadUsers(opts.Dir, opts.Action == "add" || opts.Action == "list")
	if err != nil {
		return err
	}
	out := opts.IO.Out
	if opts.Action == "list" {
		if users.Missing() {
			fmt.Fprintf(out, "No users: %s does not exist. Run paxsetup init, or paxsetup users add NAME.\n", setup.Layout{Dir: opts.Dir}.Htpasswd())
			return nil
		}
		for _, u := range users.List() {
			note := ""
			if u.Role != "" {
				note = ", " + u.Role
			}
			fmt.Fprintf(out, "%s\t(bcrypt cost %d%s)\n", u.Name, u.Cost, note)
		}
		return nil
	}
	if err := users.Check(opts.Action, opts.User); err != nil {
		return &usageError{err: err}
	}
	ch := setup.UserChange{Action: opts.Action, User: opts.User, Cost: opts.BcryptCost, Timeout: opts.Timeout}
	if opts.Action == "add" || opts.Action == "passwd" {
		if ch.Password, err = readNewPassword(ctx, opts, opts.User); err != nil {
			return err
		}
	}
	connect := func(ctx context.Context) (setup.UsersEngine, error) { return opts.Factory.Docker(ctx) }
	return users.Apply(ctx, ch, connect, out)
}

// readNewPassword takes the password from --password-file, stdin, or a
// terminal prompt typed twice, and applies the password policy.
func readNewPassword(ctx context.Context, opts *UsersOptions, user string) (string, error) {
	trim := func(b []byte) string {
		return strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	}
	check := func(flag, pw string) (string, error) {
		if err := htpasswd.ValidatePassword(user, pw); err != nil {
			return "", &answers.FlagError{Flag: flag, Err: err}
		}
		return pw, nil
	}
	switch {
	case opts.PasswordFile != "":
		data, err := fsutil.ReadRegularFile(opts.PasswordFile, fsutil.MaxSecretFile)
		if err != nil {
			return "", &answers.FlagError{Flag: "password-file", Err: fmt.Errorf("cannot read the password file: %v", err)}
		}
		return check("password-file", trim(data))
	case opts.PasswordStdin:
		data, err := io.ReadAll(io.LimitReader(opts.IO.In, 4096))
		if err != nil {
			return "", &answers.FlagError{Flag: "password-stdin", Err: fmt.Errorf("read standard input: %v", err)}
		}
		return check("password-stdin", trim(data))
	}
	if opts.Factory.Prompter == nil && !opts.IO.Interactive() {
		return "", &answers.FlagError{Flag: "password-file", Err: errors.New("no terminal to ask for the password on: give --password-file or --password-stdin")}
	}
	p := opts.Factory.prompter(ctx, false)
	policy := fmt.Sprintf("At least %d characters, at most %d bytes (bcrypt's limit), not the user name.", htpasswd.MinPasswordChars, htpasswd.MaxPasswordBytes)
	return askNewSecret(p, opts.IO.ErrOut, "New password for "+user, policy, func(s string) error { return htpasswd.ValidatePassword(user, s) })
}
