package setup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/paxsetup/paxsetup/internal/answers"
	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/dockerctl"
	"github.com/paxsetup/paxsetup/internal/htpasswd"
	"github.com/paxsetup/paxsetup/internal/render"
	"github.com/paxsetup/paxsetup/internal/verify"
)

// Users are the logins of the setup in a folder (auth/htpasswd-basic),
// loaded for one listing or one change.
type Users struct {
	dir string
	f   *htpasswd.File
	// missing: there is no user file yet.
	missing   bool
	saved     config.Answers
	haveSetup bool
}

// LoadUsers reads the users of the setup in dir. A missing file is no
// error for a listing or an addition (create is true): it holds no one.
func LoadUsers(dir string, create bool) (*Users, error) {
	u := &Users{dir: dir}
	f, err := htpasswd.Load(Layout{Dir: dir}.Htpasswd())
	u.missing = errors.Is(err, fs.ErrNotExist)
	switch {
	case u.missing && create:
		f = &htpasswd.File{}
	case err != nil:
		return nil, err
	}
	u.f = f
	if u.saved, u.haveSetup, err = config.LoadIfExists(dir); err != nil {
		return nil, err
	}
	return u, nil
}

// Missing reports that the setup has no user file.
func (u *Users) Missing() bool { return u.missing }

// UserLine is one user as `users list` shows it.
type UserLine struct {
	Name string
	Cost int
	// Role is the setup's use of it: admin, second login, or none.
	Role string
}

// List returns the users in file order.
func (u *Users) List() []UserLine {
	var out []UserLine
	for _, name := range u.f.Users() {
		l := UserLine{Name: name}
		l.Cost, _ = u.f.Cost(name)
		if u.haveSetup && name == u.saved.AdminUser {
			l.Role = "the setup's admin user"
		} else if u.haveSetup && name == u.saved.ReaderUser {
			l.Role = "the setup's second login (for Palette and other readers; same rights as every user)"
		}
		out = append(out, l)
	}
	return out
}

// Check says whether action (add, passwd, remove) can be done to user,
// before a password is asked for: an error is a mistake in the call.
func (u *Users) Check(action, user string) error {
	path := Layout{Dir: u.dir}.Htpasswd()
	switch action {
	case "add":
		if err := htpasswd.ValidateUser(user); err != nil {
			return fmt.Errorf("NAME: %w", err)
		}
		if u.f.Has(user) {
			return fmt.Errorf("user %q is already in %s: set its password with paxsetup users passwd %s", user, path, user)
		}
	case "passwd", "remove":
		if !u.f.Has(user) {
			return fmt.Errorf("no user %q in %s (it has: %s)", user, path, strings.Join(u.f.Users(), ", "))
		}
	}
	return nil
}

// UserChange is one change of the users.
type UserChange struct {
	// Action is add, passwd or remove.
	Action, User string
	// Password is the new password (add, passwd).
	Password string
	// Cost is the bcrypt cost; zero takes the setup's.
	Cost int
	// Timeout bounds the wait for the registry after a restart.
	Timeout time.Duration
}

// Apply makes the change in the user file and sees that the running
// registry, if any, uses it: a registry that reads the file only at start
// is restarted, and a new password checked against it. connect reaches the
// engine; what happens is told on out.
func (u *Users) Apply(ctx context.Context, ch UserChange, connect func(context.Context) (UsersEngine, error), out io.Writer) error {
	l := Layout{Dir: u.dir}
	path := l.Htpasswd()
	f, user := u.f, ch.User
	var reg *runningRegistry
	if u.haveSetup {
		var err error
		if reg, err = findRunningRegistry(ctx, u.dir, u.saved, connect, out, ch.Timeout); err != nil {
			return err
		}
	}
	if reg != nil {
		defer reg.eng.Close()
	}

	probeUser, probePassword := user, ch.Password
	if ch.Action == "remove" {
		// The removed user's password is unknown, so whether the registry
		// re-reads the file is tested with a random password set for a
		// moment: nobody can log in with it, and the registry's answer to
		// it tells whether it sees changes.
		if reg != nil {
			canary, err := GeneratePassword()
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
		cost := ch.Cost
		if cost == 0 && u.haveSetup && u.saved.BcryptCost != 0 {
			cost = u.saved.BcryptCost
		}
		if cost == 0 {
			cost = htpasswd.DefaultCost
		}
		if err := f.Set(user, ch.Password, cost); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(l.Auth(), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", l.Auth(), err)
	}
	if err := f.Write(path); err != nil {
		return err
	}
	if err := ForgetGeneratedPassword(u.dir, user); err != nil {
		return err
	}
	done := map[string]string{"add": "Added %q to %s.\n", "passwd": "Set the password of %q in %s.\n", "remove": "Removed %q from %s.\n"}[ch.Action]
	fmt.Fprintf(out, done, user, path)
	if ch.Action == "remove" && u.haveSetup && (user == u.saved.AdminUser || user == u.saved.ReaderUser) {
		fmt.Fprintf(out, "note %q was the setup's %s user: paxsetup init would add it again; run init with --admin-user or --reader-user naming another user.\n",
			user, map[bool]string{true: "admin", false: "second (reader)"}[user == u.saved.AdminUser])
	}

	if reg != nil {
		if ch.Action != "remove" {
			reg.reread = reg.probe(ctx, probeUser, probePassword)
		}
		if err := reg.apply(ctx, ch.Action != "remove", probeUser, probePassword); err != nil {
			return err
		}
	}
	if u.haveSetup && u.saved.Storage == render.StorageS3 {
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

// UsersEngine is what a change of users needs from the engine.
type UsersEngine interface {
	Inspect(ctx context.Context, nameOrID string) (dockerctl.Container, error)
	Stop(ctx context.Context, id string, timeout time.Duration) error
	Start(ctx context.Context, id string) error
	Close() error
}

// runningRegistry is the setup's registry container, running, and how to
// reach it from this host.
type runningRegistry struct {
	eng     UsersEngine
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
func findRunningRegistry(ctx context.Context, dir string, a config.Answers, connect func(context.Context) (UsersEngine, error), out io.Writer, timeout time.Duration) (*runningRegistry, error) {
	eng, err := connect(ctx)
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
	case !c.OwnedBy(dir):
		eng.Close()
		fmt.Fprintf(out, "The container %s is not this setup's (labels %s=true, %s=%s): left alone.\n", a.Name, LabelManaged, LabelDir, dir)
		return nil, nil
	case !c.Running:
		eng.Close()
		fmt.Fprintf(out, "The container %s is stopped: the registry reads the file when it starts.\n", a.Name)
		return nil, nil
	}
	vopts, err := VerifyOptions(dir, a)
	if err != nil {
		eng.Close()
		return nil, err
	}
	return &runningRegistry{eng: eng, c: c, vopts: vopts, out: out, timeout: timeout}, nil
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

// writeUsers makes sure both users are in the htpasswd file, with the
// entries prepared beside the run's checks when there are (opts.users). It
// returns the passwords it generated.
func writeUsers(ctx context.Context, l Layout, opts Options) (map[string]string, error) {
	var u *userChanges
	var err error
	if opts.users != nil {
		u, err = opts.users.wait(ctx)
	} else {
		u, err = prepareUsers(l, opts)
	}
	if err != nil {
		return nil, err
	}
	return u.write(l, opts)
}

// userChanges are the htpasswd file and the generated passwords a run
// writes.
type userChanges struct {
	file      *htpasswd.File
	creds     map[string]string
	generated map[string]string
}

// prepareUsers decides both users' entries, and writes nothing. A password
// given by file or environment is set; a user already present keeps its
// password unless Force; any other is generated.
func prepareUsers(l Layout, opts Options) (*userChanges, error) {
	a := opts.Answers
	f, err := htpasswd.Load(l.Htpasswd())
	if errors.Is(err, fs.ErrNotExist) {
		f = &htpasswd.File{}
	} else if err != nil {
		return nil, fmt.Errorf("%w (fix or remove the file, then re-run)", err)
	}
	creds, err := loadCredentials(opts.Dir)
	if err != nil {
		return nil, err
	}
	generated := map[string]string{}
	for _, u := range []struct {
		name string
		pw   answers.Password
	}{{a.AdminUser, opts.AdminPassword}, {a.ReaderUser, opts.ReaderPassword}} {
		switch {
		case u.pw.Value != "":
			if f.Verify(u.name, u.pw.Value) != nil || !hasCost(f, u.name, costOf(a)) {
				if err := f.Set(u.name, u.pw.Value, costOf(a)); err != nil {
					return nil, err
				}
			}
			delete(creds, u.name)
		case f.Has(u.name) && !opts.Force:
		default:
			pw, err := GeneratePassword()
			if err != nil {
				return nil, err
			}
			if err := f.Set(u.name, pw, costOf(a)); err != nil {
				return nil, err
			}
			creds[u.name] = pw
			generated[u.name] = pw
		}
	}
	return &userChanges{file: f, creds: creds, generated: generated}, nil
}

// write saves the users' entries and the generated passwords.
func (u *userChanges) write(l Layout, opts Options) (map[string]string, error) {
	// The hashes are written in full first, beside the live file, so that
	// a full disk fails before either file changes; then the credentials
	// go in place before the hashes: a crash between the two renames leaves
	// a password the operator can read, never a hash nobody knows the
	// password of.
	staged, err := u.file.Stage(l.Htpasswd())
	if err != nil {
		return nil, err
	}
	if err := saveCredentials(opts.Dir, u.creds); err != nil {
		staged.Abort()
		return nil, err
	}
	if err := staged.Commit(); err != nil {
		return nil, err
	}
	return u.generated, nil
}
