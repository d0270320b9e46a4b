// Package secretenv names the environment variables that carry paxsetup's
// secrets, and gives the programs paxsetup runs an environment without them.
package secretenv

import (
	"os"
	"slices"
	"strings"
)

// The variables that carry secrets into unattended runs, so that they never
// appear on a command line.
const (
	AdminPassword  = "PAXSETUP_ADMIN_PASSWORD"
	ReaderPassword = "PAXSETUP_READER_PASSWORD"
	// Password is verify's password for --user.
	Password    = "PAXSETUP_PASSWORD"
	S3AccessKey = "PAXSETUP_S3_ACCESS_KEY"
	S3SecretKey = "PAXSETUP_S3_SECRET_KEY"
	// BundlePassphrase opens (init --join) or seals (export) a node bundle.
	BundlePassphrase = "PAXSETUP_BUNDLE_PASSPHRASE"
)

// Names are every variable above.
var Names = []string{AdminPassword, ReaderPassword, Password, S3AccessKey, S3SecretKey, BundlePassphrase}

// Environ is this process's environment without the secret variables: what
// a child process (firewall-cmd, ufw, a credential helper, chroot) gets. A
// child has no use for them, and some log their environment or pass it on.
func Environ() []string {
	return Without(os.Environ())
}

// Without returns env (KEY=VALUE entries) without the secret variables.
func Without(env []string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return slices.Contains(Names, name)
	})
}
