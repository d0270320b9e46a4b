package setup

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/paxsetup/paxsetup/internal/certgen"
	"github.com/paxsetup/paxsetup/internal/config"
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
	// A node serves the certificate its bundle installed, and has no CA
	// key to issue another (keepNodeCert).
	if a.Mode != config.ModeSelfSigned || a.Node != nil {
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
// nothing: writeUsers writes the result in its place in the run. A node
// joining from a bundle installs the bundle's users instead: nil.
func startUsers(l Layout, opts Options) *pendingUsers {
	if opts.Install != nil {
		return nil
	}
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

// readerCheck is the second user's login check. Run hands start to the
// container step, which calls it once the registry the run leaves in place
// (the kept one or the new one) answers /health: the check then goes on
// beside the first user's, and the registry checks both bcrypt hashes at
// once. Not earlier: a client that connects to the port while the engine is
// still starting the container delays the registry's first answer by most
// of a second (Docker 20.10: the port proxy's connection to the container
// stays in SYN-SENT until TCP's first retransmission, and `docker run` with
// a curl loop begun before it shows the same). Its result is read after the
// container step, as before; when start was not called, result runs the
// check then.
type readerCheck struct {
	ctx       context.Context
	opts      Options
	vopts     verify.Options
	generated map[string]string

	once    sync.Once
	started atomic.Bool
	done    chan error
}

func newReaderCheck(ctx context.Context, opts Options, vopts verify.Options, generated map[string]string) *readerCheck {
	return &readerCheck{ctx: ctx, opts: opts, vopts: vopts, generated: generated, done: make(chan error, 1)}
}

// start starts the check in the background; later calls do nothing.
func (c *readerCheck) start() {
	c.once.Do(func() {
		c.started.Store(true)
		go func() { c.done <- checkReader(c.ctx, c.opts, c.vopts, c.generated) }()
	})
}

// result is the check's outcome: the started one's, or the check run now.
func (c *readerCheck) result() error {
	if c.started.Load() {
		return <-c.done
	}
	return checkReader(c.ctx, c.opts, c.vopts, c.generated)
}
