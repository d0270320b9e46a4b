package answers

import (
	"fmt"
	"strings"

	"github.com/paxsetup/paxsetup/internal/fsutil"
	"github.com/paxsetup/paxsetup/internal/htpasswd"
	"github.com/paxsetup/paxsetup/internal/secretenv"
)

// Password is a user's password and where it came from; the value never
// leaves the process except as a bcrypt hash, or in the 0600 credentials file
// when paxsetup generated it.
type Password struct {
	Value  string
	Source string // "file PATH", "env NAME", or "" when none was given
}

// Env names the variables that carry passwords into unattended runs, so they
// never appear on a command line.
const (
	EnvAdminPassword  = secretenv.AdminPassword
	EnvReaderPassword = secretenv.ReaderPassword
)

// ReadPassword takes a user's password from the file given with flag, else
// from the environment variable env, and checks it against the policy. A
// zero Password means none was given: the caller keeps or generates one.
func ReadPassword(flag, file, env, user string, getenv func(string) string) (Password, error) {
	var p Password
	switch {
	case file != "":
		data, err := fsutil.ReadRegularFile(file, fsutil.MaxSecretFile)
		if err != nil {
			return Password{}, flagErr(flag, "cannot read the password file: %v", err)
		}
		// One trailing line break is the editor's, not the password's.
		v := strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r")
		p = Password{Value: v, Source: "file " + file}
	case getenv(env) != "":
		p = Password{Value: getenv(env), Source: "env " + env}
	default:
		return Password{}, nil
	}
	if err := htpasswd.ValidatePassword(user, p.Value); err != nil {
		return Password{}, &FlagError{Flag: flag, Err: fmt.Errorf("%w (from %s)", err, p.Source)}
	}
	return p, nil
}
