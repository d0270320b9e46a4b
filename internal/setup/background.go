package setup

import (
	"context"

	"github.com/paxsetup/paxsetup/internal/certgen"
	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/dockerctl"
	"github.com/paxsetup/paxsetup/internal/verify"
)

// A first run spends most of its time making two RSA-4096 keys and two
// bcrypt hashes, none of which writes anything. The keys are started as soon
// as the answers are known (by `init --yes` before its preflight, else when
// Run begins), the hashes when Run begins, and both go on beside the checks
// that can refuse the run (preflight, container name, port, network, image,
// certificate). Their results are written where they always were: after
// those checks, in the same order, under the same copy of the previous
// files. Whoever waits for one honours the run's context, so Ctrl-C still
// ends the run at once; a goroutine cut off that way finishes its
// computation and drops it.

// Keys are the certificate keys of a self-signed run, made ahead of its
// certificate step (StartKeys). They only save time: that step decides from
// the files whether it needs new keys, and makes its own when these do not
// fit.
type Keys struct {
	ca, leaf *certgen.PendingKey
}

// StartKeys starts making the keys a run with answers a in dir will need,
// and returns at once: none when it keeps the server certificate there (or
// refuses one that does not fit), the server's alone when the CA is there to
// be reused, both otherwise. replace is the run's Force or RenewCert. It
// returns nil when no key is needed.
func StartKeys(dir string, a config.Answers, replace bool) *Keys {
	ca, leaf := keysNeeded(dir, a, replace)
	if !leaf {
		return nil
	}
	k := &Keys{}
	// The default key type cannot be refused.
	k.leaf, _ = certgen.StartKey("")
	if ca {
		k.ca, _ = certgen.StartKey("")
	}
	return k
}

// keysNeeded tells which keys the certificate step of a run will make, as
// ensureCerts and certgen.Generate decide it.
func keysNeeded(dir string, a config.Answers, replace bool) (ca, leaf bool) {
	if a.Mode != config.ModeSelfSigned {
		return false, false
	}
	files := certgen.Files{Dir: Layout{Dir: dir}.Certs()}
	// As keepCert: a server certificate or key that is there is kept or
	// refused, unless the run replaces it.
	if !replace && (fileExists(files.TLSCert()) || fileExists(files.TLSKey())) {
		return false, false
	}
	// A CA is reused when both its files are there.
	return !fileExists(files.CACert()) || !fileExists(files.CAKey()), true
}

// pending returns the keys for certgen, nil ones when none were started.
func (k *Keys) pending() (ca, leaf *certgen.PendingKey) {
	if k == nil {
		return nil, nil
	}
	return k.ca, k.leaf
}

// pendingUsers are the users' entries being prepared in the background.
type pendingUsers struct {
	done chan struct{}
	u    *userChanges
	err  error
}

// startUsers prepares the users' entries (reading the htpasswd file and the
// credentials, generating passwords, hashing) in the background. It writes
// nothing: writeUsers writes the result in its place in the run.
func startUsers(l Layout, opts Options) *pendingUsers {
	p := &pendingUsers{done: make(chan struct{})}
	go func() {
		defer close(p.done)
		p.u, p.err = prepareUsers(l, opts)
	}()
	return p
}

// wait returns the prepared entries, or ctx.Err() itself when ctx ends
// first.
func (p *pendingUsers) wait(ctx context.Context) (*userChanges, error) {
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-p.done:
		return p.u, p.err
	}
}

// readerBeside starts the second user's check, which waits for the registry
// to answer, beside the container step, so that the registry checks both
// logins (a bcrypt each) at once. Only when nothing but the run's registry
// can answer meanwhile: on a first run (the port was found free) or when the
// container is kept. Not when a container is replaced, whose predecessor
// answers until it is stopped, with its own users; and not in Let's Encrypt
// mode, where each further handshake before the certificate is issued may
// start another order, which the CA counts. It returns nil when the check is
// left to follow the container step; its result is read only once that step
// has passed, and ctx ends it with the run.
func readerBeside(ctx context.Context, opts Options, vopts verify.Options, generated map[string]string, existing *dockerctl.Container, spec dockerctl.Spec) <-chan error {
	if opts.Answers.Mode == config.ModeLetsEncrypt || (existing != nil && existing.Labels[LabelSpec] != spec.Labels[LabelSpec]) {
		return nil
	}
	done := make(chan error, 1)
	go func() {
		timeout := vopts.Timeout
		if timeout <= 0 {
			timeout = defaultHealthTimeout
		}
		waitHealthFast(ctx, vopts, min(fastPollFor, timeout))
		done <- checkReader(ctx, opts, vopts, generated)
	}()
	return done
}
