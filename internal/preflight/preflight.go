// Package preflight checks, before anything is written, whether this host can
// run the registry: the Docker engine, the ports, CPU, memory and disk, the
// host name, the mode's own needs (Let's Encrypt, the operator's
// certificate), the clock, SELinux and the host firewall. Each check says
// ok, warn or fail, why in one line, and the fix.
//
// `paxsetup preflight` runs it alone and `paxsetup init` as its first step.
// The engine and every host fact come through Deps, so each check can be
// tested with fakes.
package preflight

import (
	"context"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/paxsetup/paxsetup/internal/check"
	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/dockerctl"
	"github.com/paxsetup/paxsetup/internal/s3probe"
)

// Status is the outcome of one check.
type Status = check.Status

// Outcomes of a check.
const (
	OK   = check.OK
	Warn = check.Warn
	Fail = check.Fail
)

// Check is one checked property, with what to do when it is not OK.
type Check = check.Check

// Report is the outcome of Run, checks in a fixed order.
type Report struct {
	check.Checks `json:"checks"`
}

// Options are the setup being checked: what init is about to do.
type Options struct {
	// Mode is one of config's modes; "" means selfsigned.
	Mode string
	// Host is the registry's name (or IP) as Palette will reach it.
	Host string
	// Email is the Let's Encrypt account (letsencrypt mode).
	Email string
	// ACMEDirectory is another ACME CA's directory URL (letsencrypt mode):
	// that CA, not the internet, must resolve and reach the host.
	ACMEDirectory string
	// Port is the host port the registry is published on.
	Port int
	// ExtraPorts are further host ports the mode needs.
	ExtraPorts []int
	// Bind is the host address the ports are published on; "" means all.
	Bind string
	// Dir is the setup's home; packs go to Dir/data.
	Dir string
	// Storage is filesystem, inmemory or s3; only filesystem needs disk.
	Storage string
	// S3 is the bucket, with S3 storage; nil skips the bucket checks.
	S3 *S3
	// SANs are the extra names the certificate must cover (custom mode).
	SANs []string
	// CertFile, KeyFile and CAFile are the operator's own certificate
	// (custom mode).
	CertFile, KeyFile, CAFile string
	// Joined is a node set up from another node's bundle: its certificate
	// is the shared registry's, installed from the bundle and checked
	// there, so no operator's file is linted.
	Joined bool
}

// FromAnswers are the options that check the setup in dir with answers a,
// as init is about to make it.
func FromAnswers(dir string, a config.Answers) Options {
	return Options{
		Mode: a.Mode, Host: a.Host, SANs: a.SANs, Email: a.Email, ACMEDirectory: a.ACMEDirectory,
		Port: a.Port, Bind: a.Bind, Dir: dir, Storage: a.Storage, S3: s3FromAnswers(a),
		CertFile: a.CertFile, KeyFile: a.KeyFile, CAFile: a.CAFile,
		Joined: a.Node != nil,
	}
}

// Engine is what preflight asks of the Docker engine; *dockerctl.Client
// (and any dockerctl.API) has both methods.
type Engine interface {
	Engine(ctx context.Context) (dockerctl.EngineInfo, error)
	ContainersPublishing(ctx context.Context, hostPort int) ([]dockerctl.Container, error)
}

// Process is a program on this host.
type Process struct {
	PID  int32
	Name string
}

// Deps are the engine and the host facts the checks read. A nil field means
// the real one (see the defaults in host.go), so a test sets only what it
// fakes.
type Deps struct {
	// Engine connects to the Docker engine. Its error is reported by the
	// engine check; the checks that need the engine then say they could
	// not run. nil means no engine is known.
	Engine func(ctx context.Context) (Engine, error)
	// EngineClock reads the engine host's clock; nil skips the clock check.
	EngineClock func(ctx context.Context) (time.Time, error)
	// Now is this host's clock.
	Now func() time.Time
	// Listen opens a listener, to learn whether a port is free.
	Listen func(network, address string) (net.Listener, error)
	// PortHolders are the processes listening on TCP port.
	PortHolders func(ctx context.Context, port int) ([]Process, error)
	// CPUs is the number of logical CPUs.
	CPUs func(ctx context.Context) (int, error)
	// Memory is the total memory in bytes.
	Memory func(ctx context.Context) (uint64, error)
	// DiskFree is the space free to unprivileged users on path's filesystem.
	DiskFree func(ctx context.Context, path string) (uint64, error)
	// LookupHost resolves a host name to addresses.
	LookupHost func(ctx context.Context, host string) ([]string, error)
	// HostIPs are this host's own addresses, loopback excluded.
	HostIPs func() ([]net.IP, error)
	// ReadFile reads the one-value files of /proc and /sys.
	ReadFile func(path string) ([]byte, error)
	// LookPath finds a command, to learn which firewall tools exist.
	LookPath func(file string) (string, error)
	// Command runs a command and returns its combined output.
	Command func(ctx context.Context, name string, args ...string) (string, error)
	// ProbeS3 tries a bucket the way the registry will use it.
	ProbeS3 func(ctx context.Context, t s3probe.Target) (s3probe.Result, error)
}

// checkTimeout bounds each check that asks the engine, the resolver or a
// command, so one stuck question does not hold up the report.
const checkTimeout = 5 * time.Second

// Run makes every check that applies to opts and returns them in a fixed
// order: engine, ports, CPU, memory, disk, host name, the mode's checks,
// the S3 bucket, clock, SELinux, firewall. Checks run concurrently; Run
// returns when all are done, within a few seconds.
func Run(ctx context.Context, deps Deps, opts Options) Report {
	d := deps.withDefaults()
	if opts.Mode == "" {
		opts.Mode = config.ModeSelfSigned
	}
	env := &env{d: d, opts: opts}
	env.connect(ctx)

	groups := []func(context.Context) []Check{
		env.engineChecks,
		env.portChecks,
		one(env.checkCPU),
		one(env.checkMemory),
		one(env.checkDisk),
		one(env.checkHostName),
		env.modeChecks,
		env.storageChecks,
		env.clockChecks,
		one(env.checkSELinux),
		env.firewallChecks,
	}
	results := make([][]Check, len(groups))
	var wg sync.WaitGroup
	for i, g := range groups {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, checkTimeout)
			defer cancel()
			results[i] = g(cctx)
		})
	}
	wg.Wait()
	var rep Report
	for _, r := range results {
		for _, c := range r {
			if c.Status == Fail && c.Flag == "" {
				c.Flag = fixedBy(c.Name)
			}
			rep.Checks = append(rep.Checks, c)
		}
	}
	return rep
}

// fixedBy names the flag that fixes a failed check of the name, where one
// does: another --port, or another certificate (--cert-file and its key
// and chain). The S3 checks name theirs themselves.
func fixedBy(name string) string {
	switch {
	case strings.HasPrefix(name, "port "):
		return "port"
	case name == CheckCertificate:
		return "cert-file"
	}
	return ""
}

func one(f func(context.Context) Check) func(context.Context) []Check {
	return func(ctx context.Context) []Check { return []Check{f(ctx)} }
}

// env is one Run's inputs and what the engine told it.
type env struct {
	d    Deps
	opts Options

	eng     Engine
	engErr  error
	info    dockerctl.EngineInfo
	infoErr error

	resolveOnce sync.Once
	resolved    resolution
}

// connect asks the engine once, up front: the port and clock checks need
// its answers too.
func (e *env) connect(ctx context.Context) {
	if e.d.Engine == nil {
		e.engErr = errNoEngine
		return
	}
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	e.eng, e.engErr = e.d.Engine(ctx)
	if e.engErr != nil {
		return
	}
	e.info, e.infoErr = e.eng.Engine(ctx)
}

// engineUsable reports whether the engine answered both questions.
func (e *env) engineUsable() bool { return e.engErr == nil && e.infoErr == nil }
