package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/paxsetup/paxsetup/internal/answers"
	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/dockerctl"
	"github.com/paxsetup/paxsetup/internal/fsutil"
	"github.com/paxsetup/paxsetup/internal/htpasswd"
	"github.com/paxsetup/paxsetup/internal/setup"
	"github.com/paxsetup/paxsetup/internal/templates"
	"github.com/paxsetup/paxsetup/internal/verify"
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
	l := setup.Layout{Dir: opts.Dir}
	path := l.Htpasswd()
	f, err := htpasswd.Load(path)
	missing := errors.Is(err, fs.ErrNotExist)
	switch {
	case missing && (opts.Action == "add" || opts.Action == "list"):
		f = &htpasswd.File{}
	case err != nil:
		return err
	}
	saved, haveSetup, err := config.LoadIfExists(opts.Dir)
	if err != nil {
		return err
	}
	out := opts.IO.Out

	if opts.Action == "list" {
		if missing {
			fmt.Fprintf(out, "No users: %s does not exist. Run paxsetup init, or paxsetup users add NAME.\n", path)
			return nil
		}
		for _, u := range f.Users() {
			note := ""
			if haveSetup && u == saved.AdminUser {
				note = ", the setup's admin user"
			} else if haveSetup && u == saved.ReaderUser {
				note = ", the setup's second login (for Palette and other readers; same rights as every user)"
			}
			cost, _ := f.Cost(u)
			fmt.Fprintf(out, "%s\t(bcrypt cost %d%s)\n", u, cost, note)
		}
		return nil
	}

	user := opts.User
	var newPassword string
	switch opts.Action {
	case "add":
		if err := htpasswd.ValidateUser(user); err != nil {
			return &usageError{err: fmt.Errorf("NAME: %w", err)}
		}
		if f.Has(user) {
			return &usageError{err: fmt.Errorf("user %q is already in %s: set its password with paxsetup users passwd %s", user, path, user)}
		}
	case "passwd", "remove":
		if !f.Has(user) {
			return &usageError{err: fmt.Errorf("no user %q in %s (it has: %s)", user, path, strings.Join(f.Users(), ", "))}
		}
	}
	if opts.Action == "add" || opts.Action == "passwd" {
		if newPassword, err = readNewPassword(opts, user); err != nil {
			return err
		}
	}

	reg, err := findRunningRegistry(ctx, opts, saved, haveSetup)
	if err != nil {
		return err
	}
	if reg != nil {
		defer reg.eng.Close()
	}

	probeUser, probePassword := user, newPassword
	if opts.Action == "remove" {
		// The removed user's password is unknown, so whether the registry
		// re-reads the file is tested with a random password set for a
		// moment: nobody can log in with it, and the registry's answer to
		// it tells whether it sees changes.
		if reg != nil {
			canary, err := setup.GeneratePassword()
			if err != nil {
				return err
			}
			if err := f.Set(user, canary, htpasswd.MinCost); err != nil {
				return err
			}
			if err := f.Write(path); err != nil {
				return err
			}
			probePassword = canary
			reg.reread = reg.probe(ctx, user, canary)
		}
		f.Remove(user)
	} else {
		cost := opts.BcryptCost
		if cost == 0 && haveSetup && saved.BcryptCost != 0 {
			cost = saved.BcryptCost
		}
		if cost == 0 {
			cost = htpasswd.DefaultCost
		}
		if err := f.Set(user, newPassword, cost); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(l.Auth(), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", l.Auth(), err)
	}
	if err := f.Write(path); err != nil {
		return err
	}
	if err := setup.ForgetGeneratedPassword(opts.Dir, user); err != nil {
		return err
	}
	done := map[string]string{"add": "Added %q to %s.\n", "passwd": "Set the password of %q in %s.\n", "remove": "Removed %q from %s.\n"}[opts.Action]
	fmt.Fprintf(out, done, user, path)
	if opts.Action == "remove" && haveSetup && (user == saved.AdminUser || user == saved.ReaderUser) {
		fmt.Fprintf(out, "note %q was the setup's %s user: paxsetup init would add it again; run init with --admin-user or --reader-user naming another user.\n",
			user, map[bool]string{true: "admin", false: "second (reader)"}[user == saved.AdminUser])
	}

	if reg != nil {
		if opts.Action != "remove" {
			reg.reread = reg.probe(ctx, probeUser, probePassword)
		}
		if err := reg.apply(ctx, opts.Action != "remove", probeUser, probePassword); err != nil {
			return err
		}
	}
	if haveSetup && saved.Storage == templates.StorageS3 {
		fmt.Fprint(out, nodesNote)
	}
	return nil
}

// nodesNote is said after a change of users in a setup whose packs are in
// S3, which other nodes may serve: the users are a file of each node's.
const nodesNote = `note the packs are in S3, but each node of this registry keeps its own copy
of the users (auth/htpasswd-basic): if other nodes serve it (paxsetup init
--join), make the same change on each of them, or run paxsetup export here
and paxsetup init --join with the new bundle on each.
`

// readNewPassword takes the password from --password-file, stdin, or a
// terminal prompt typed twice, and applies the password policy.
func readNewPassword(opts *UsersOptions, user string) (string, error) {
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
	in, ok := opts.IO.In.(*os.File)
	if !ok || !opts.IO.StdinTTY {
		return "", &answers.FlagError{Flag: "password-file", Err: errors.New("no terminal to ask for the password on: give --password-file or --password-stdin")}
	}
	w := opts.IO.ErrOut
	for attempt := 1; ; attempt++ {
		fmt.Fprintf(w, "New password for %s: ", user)
		first, err := term.ReadPassword(int(in.Fd()))
		fmt.Fprintln(w)
		if err != nil {
			return "", fmt.Errorf("read the password: %w", err)
		}
		problem := htpasswd.ValidatePassword(user, string(first))
		if problem == nil {
			fmt.Fprintf(w, "Type it again: ")
			second, err := term.ReadPassword(int(in.Fd()))
			fmt.Fprintln(w)
			if err != nil {
				return "", fmt.Errorf("read the password: %w", err)
			}
			if string(second) == string(first) {
				return string(first), nil
			}
			problem = errors.New("the two passwords differ")
		}
		if attempt == 3 {
			return "", fmt.Errorf("no password set: %w", problem)
		}
		fmt.Fprintf(w, "%v; try again.\n", problem)
	}
}

// usersEngine is what `users` needs from the engine.
type usersEngine interface {
	Inspect(ctx context.Context, nameOrID string) (dockerctl.Container, error)
	Stop(ctx context.Context, id string, timeout time.Duration) error
	Start(ctx context.Context, id string) error
	Close() error
}

// runningRegistry is the setup's registry container, running, and how to
// reach it from this host.
type runningRegistry struct {
	eng     usersEngine
	c       dockerctl.Container
	vopts   verify.Options
	out     io.Writer
	timeout time.Duration
	// reread is whether the registry answered with the new file.
	reread bool
	// unreachable says why the registry could not be asked, if it could not.
	unreachable string
}

// findRunningRegistry returns the setup's running container: the one named
// in paxsetup.yaml that carries this setup's labels. nil means there is no
// registry to update; the reason is printed.
func findRunningRegistry(ctx context.Context, opts *UsersOptions, a config.Answers, haveSetup bool) (*runningRegistry, error) {
	out := opts.IO.Out
	if !haveSetup {
		return nil, nil
	}
	eng, err := opts.Factory.Docker(ctx)
	if err != nil {
		fmt.Fprintf(out, "Could not ask the Docker engine about the registry (%v).\nIf the registry does not take the change, restart it: docker restart %s\n", err, a.Name)
		return nil, nil
	}
	c, err := eng.Inspect(ctx, a.Name)
	switch {
	case errors.Is(err, dockerctl.ErrNotFound):
		eng.Close()
		fmt.Fprintf(out, "No container %s: the registry reads the file when paxsetup init starts it.\n", a.Name)
		return nil, nil
	case err != nil:
		eng.Close()
		return nil, err
	case !c.OwnedBy(opts.Dir):
		eng.Close()
		fmt.Fprintf(out, "The container %s is not this setup's (labels %s=true, %s=%s): left alone.\n", a.Name, setup.LabelManaged, setup.LabelDir, opts.Dir)
		return nil, nil
	case !c.Running:
		eng.Close()
		fmt.Fprintf(out, "The container %s is stopped: the registry reads the file when it starts.\n", a.Name)
		return nil, nil
	}
	vopts, err := setup.VerifyOptions(opts.Dir, a)
	if err != nil {
		eng.Close()
		return nil, err
	}
	return &runningRegistry{eng: eng, c: c, vopts: vopts, out: out, timeout: opts.Timeout}, nil
}

// probe reports whether the registry accepts user with password right now;
// a registry it cannot reach is noted in r.unreachable.
func (r *runningRegistry) probe(ctx context.Context, user, password string) bool {
	v := r.vopts
	v.User, v.Password = user, password
	v.Timeout = 10 * time.Second
	rep := verify.Run(ctx, v)
	r.unreachable = ""
	for _, c := range rep.Checks {
		switch {
		case c.Name == "health" && c.Status == verify.Fail:
			r.unreachable = c.Detail
		case c.Name == "catalog as "+user:
			return c.Status == verify.OK
		}
	}
	return false
}

// apply makes sure the running registry uses the new file: when it did not
// accept the probe, its container is restarted (the registry then reads the
// file at start) and, for a new password, the login is checked again.
func (r *runningRegistry) apply(ctx context.Context, recheck bool, user, password string) error {
	if r.reread {
		fmt.Fprintf(r.out, "The running registry (container %s) re-read auth/htpasswd-basic on its own: it checks the file at every login, so no restart was needed.\n", r.c.Name)
		return nil
	}
	if r.unreachable != "" {
		fmt.Fprintf(r.out, "Could not ask the running registry (container %s) whether it took the change (%s): restarting it, so it reads auth/htpasswd-basic again.\n", r.c.Name, r.unreachable)
	} else {
		fmt.Fprintf(r.out, "The running registry (container %s) did not take the change: restarting it, as it reads auth/htpasswd-basic only at start.\n", r.c.Name)
	}
	// Stopped and started past an operator's Ctrl-C, each with a deadline of
	// its own: a restart cut between the two leaves no registry at all.
	held, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if err := r.eng.Stop(held, r.c.ID, 10*time.Second); err != nil {
		_ = r.eng.Start(held, r.c.ID)
		return fmt.Errorf("restart the registry: %w", err)
	}
	if err := r.eng.Start(held, r.c.ID); err != nil {
		return fmt.Errorf("restart the registry: %w (start it with: docker start %s)", err, r.c.Name)
	}
	v := r.vopts
	v.Timeout = r.timeout
	if recheck {
		v.User, v.Password = user, password
	}
	rep := verify.Run(ctx, v)
	if !rep.OK() {
		var parts []string
		for _, c := range rep.Failed() {
			parts = append(parts, c.Name+": "+c.Detail)
		}
		return fmt.Errorf("restarted container %s, but the registry does not answer as it should: %s (check: paxsetup verify, docker logs %s)", r.c.Name, strings.Join(parts, "; "), r.c.Name)
	}
	fmt.Fprintf(r.out, "Restarted container %s; the registry now uses the new file.\n", r.c.Name)
	return nil
}
