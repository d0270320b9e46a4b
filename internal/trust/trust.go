// Package trust installs a registry's CA certificate where the registry's
// clients look for it: the Docker engine's certs.d, the spectro CLI's
// certs.d, and the operating system's trust store. It plans first and acts
// second, so a dry run shows exactly what a real one does; the filesystem
// root and the command runner are injectable, so tests need neither root
// nor the host's real trust store.
package trust

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Target is one place clients look for trusted CAs.
type Target string

// The targets trust knows.
const (
	// Docker is the Docker engine's per-registry CA folder
	// (https://docs.docker.com/engine/security/certificates/); containerd
	// run by Docker uses it too.
	Docker Target = "docker"
	// Spectro is the spectro CLI's per-registry CA folder.
	Spectro Target = "spectro"
	// System is the operating system's trust store: curl, Go programs
	// and most other clients on the host.
	System Target = "system"
)

// Targets lists every target, in the order they are installed.
func Targets() []Target { return []Target{Docker, Spectro, System} }

// ParseTarget reads a --target value.
func ParseTarget(s string) (Target, error) {
	t := Target(strings.ToLower(strings.TrimSpace(s)))
	for _, known := range Targets() {
		if t == known {
			return t, nil
		}
	}
	return "", fmt.Errorf("unknown target %q: use docker, spectro or system", s)
}

// certsDirs are the per-registry CA folders, by target.
var certsDirs = map[Target]string{
	Docker:  "/etc/docker/certs.d",
	Spectro: "/etc/spectro/certs.d",
}

// CAFileName is the name Docker and the spectro CLI look for in a
// registry's certs.d folder (Docker reads every *.crt there as a CA).
const CAFileName = "ca.crt"

// ErrNoSystemStore is returned by NewPlan when the System target is asked
// for and no known trust store is found under the root.
var ErrNoSystemStore = errors.New("no known OS trust store")

// Store is one family of Linux trust stores: where a local CA goes and the
// command that rebuilds the store from it. The table follows mkcert's
// (https://github.com/FiloSottile/mkcert/blob/master/truststore_linux.go).
type Store struct {
	// Name is the distribution family, for messages.
	Name string
	// Detect lists folders whose presence marks the family.
	Detect []string
	// Dir is where local CA files go.
	Dir string
	// Ext is the file name extension the store's tool picks up.
	Ext string
	// Update rebuilds the store after a CA file was added.
	Update []string
	// Refresh rebuilds the store after a CA file was removed; nil means
	// Update.
	Refresh []string
	// Package provides Update, for the message when it is missing.
	Package string
}

// Stores are the known trust stores, in the order they are looked for (a
// host with several layouts is taken as the first).
var Stores = []Store{
	{
		Name:    "RHEL/Fedora",
		Detect:  []string{"/etc/pki/ca-trust/source/anchors"},
		Dir:     "/etc/pki/ca-trust/source/anchors",
		Ext:     ".pem",
		Update:  []string{"update-ca-trust", "extract"},
		Package: "ca-certificates",
	},
	{
		Name:   "Debian/Ubuntu",
		Detect: []string{"/usr/local/share/ca-certificates"},
		Dir:    "/usr/local/share/ca-certificates",
		// update-ca-certificates reads only *.crt files there.
		Ext:    ".crt",
		Update: []string{"update-ca-certificates"},
		// Without --fresh the CA leaves the bundle but its symlink in
		// /etc/ssl/certs stays behind, dangling.
		Refresh: []string{"update-ca-certificates", "--fresh"},
		Package: "ca-certificates",
	},
	{
		Name:    "Arch",
		Detect:  []string{"/etc/ca-certificates/trust-source/anchors"},
		Dir:     "/etc/ca-certificates/trust-source/anchors",
		Ext:     ".crt",
		Update:  []string{"trust", "extract-compat"},
		Package: "p11-kit",
	},
	{
		Name: "SUSE",
		// mkcert detects SUSE by the packages' anchor folder; a local CA
		// belongs in /etc/pki/trust/anchors, the administrator's one
		// (update-ca-certificates(8) on openSUSE), which packages never
		// touch.
		Detect:  []string{"/etc/pki/trust/anchors", "/usr/share/pki/trust/anchors"},
		Dir:     "/etc/pki/trust/anchors",
		Ext:     ".pem",
		Update:  []string{"update-ca-certificates"},
		Package: "ca-certificates",
	},
}

// DetectStore finds the trust store under root ("" means "/").
func DetectStore(root string) (*Store, error) {
	root = rootOrDefault(root)
	for i := range Stores {
		for _, d := range Stores[i].Detect {
			if fi, err := os.Stat(filepath.Join(root, d)); err == nil && fi.IsDir() {
				return &Stores[i], nil
			}
		}
	}
	var names []string
	for _, s := range Stores {
		names = append(names, s.Name)
	}
	return nil, fmt.Errorf("%w under %s (known: %s): install the ca-certificates package, or leave out the system target",
		ErrNoSystemStore, root, strings.Join(names, ", "))
}

// Options says what to install or remove, and where.
type Options struct {
	// Root is the filesystem root to install under; "" means "/". Another
	// root is for an image or chroot being prepared: the store's command
	// then runs inside it (chroot).
	Root string
	// CA holds the certificates to trust; required unless Uninstall.
	CA []*x509.Certificate
	// Hosts are the registry's names as clients spell them; the first also
	// names the OS trust store's file.
	Hosts []string
	// Port is the registry's port.
	Port int
	// Targets are where to install; nil means all.
	Targets []Target
	// Uninstall removes what an install with the same Hosts and Port
	// added.
	Uninstall bool
}

// StepKind is what a Step does.
type StepKind string

// The kinds of Step.
const (
	WriteFile  StepKind = "write"
	RemoveFile StepKind = "remove"
	RunCommand StepKind = "run"
)

// Step is one action of a plan: write or remove a file, or run a command.
type Step struct {
	Target Target   `json:"target"`
	Kind   StepKind `json:"kind"`
	// Path is the file's full path, Root included.
	Path string `json:"path,omitempty"`
	// Data is what WriteFile writes (mode 0644); for RemoveFile, when set,
	// the content a file must have to be removed without a ledger entry.
	Data []byte `json:"-"`
	// PruneDir makes RemoveFile also remove the file's folder once empty.
	PruneDir bool `json:"-"`
	// Command is what RunCommand runs, inside Root.
	Command []string `json:"command,omitempty"`
	Root    string   `json:"root,omitempty"`
	// Package provides Command, for the message when it is missing.
	Package string `json:"-"`
	// Outcome is set by Apply when a step did something else than its
	// kind says: "restored" (a file trust had replaced got its old content
	// back), "kept" (the file is not what trust wrote, so it stays),
	// "preexisting" (the file held this CA before trust: it stays),
	// "absent" (nothing to remove).
	Outcome string `json:"-"`
}

// String describes the step for a plan or a dry run.
func (s Step) String() string {
	switch s.Kind {
	case WriteFile:
		return "write " + s.Path
	case RemoveFile:
		return "remove " + s.Path
	}
	cmd := strings.Join(s.Command, " ")
	if r := rootOrDefault(s.Root); r != "/" {
		cmd = "chroot " + r + " " + cmd
	}
	return "run " + cmd
}

// FileMode is the mode of every file trust writes: CA certificates are
// public.
const FileMode os.FileMode = 0o644

// NewPlan lists the steps that install (or, with Uninstall, remove) the CA
// for the targets. It reads nothing but the store layout under Root and
// changes nothing. With the System target and no known store it returns an
// error wrapping ErrNoSystemStore.
func NewPlan(opts Options) ([]Step, error) {
	if len(opts.Hosts) == 0 {
		return nil, errors.New("no registry host given")
	}
	if opts.Port < 1 || opts.Port > 65535 {
		return nil, fmt.Errorf("port %d is not 1 to 65535", opts.Port)
	}
	if !opts.Uninstall && len(opts.CA) == 0 {
		return nil, errors.New("no CA certificate to install")
	}
	root := rootOrDefault(opts.Root)
	targets := opts.Targets
	if targets == nil {
		targets = Targets()
	}
	data := pemOf(opts.CA)

	var steps []Step
	for _, t := range Targets() {
		if !slices.Contains(targets, t) {
			continue
		}
		if t == System {
			store, err := DetectStore(root)
			if err != nil {
				return nil, err
			}
			path := filepath.Join(root, store.Dir, anchorName(opts.Hosts[0], opts.Port)+store.Ext)
			cmd := store.Update
			if opts.Uninstall {
				steps = append(steps, Step{Target: t, Kind: RemoveFile, Path: path, Data: caData(opts.CA)})
				if store.Refresh != nil {
					cmd = store.Refresh
				}
			} else {
				steps = append(steps, Step{Target: t, Kind: WriteFile, Path: path, Data: data})
			}
			steps = append(steps, Step{Target: t, Kind: RunCommand, Command: cmd, Root: root, Package: store.Package})
			continue
		}
		for _, addr := range Addresses(opts.Hosts, opts.Port) {
			path := filepath.Join(root, certsDirs[t], addr, CAFileName)
			if opts.Uninstall {
				steps = append(steps, Step{Target: t, Kind: RemoveFile, Path: path, PruneDir: true, Data: caData(opts.CA)})
			} else {
				steps = append(steps, Step{Target: t, Kind: WriteFile, Path: path, Data: data})
			}
		}
	}
	return steps, nil
}

// Addresses are the certs.d folder names for hosts and port: host:port
// ([v6]:port for IPv6), and for port 443 the bare host as well, since
// Docker looks up the folder as the image reference spells the registry,
// and references to a registry on 443 usually leave the port out.
func Addresses(hosts []string, port int) []string {
	var out []string
	for _, h := range hosts {
		out = append(out, net.JoinHostPort(h, strconv.Itoa(port)))
		if port == 443 {
			out = append(out, h)
		}
	}
	return out
}

// anchorName names the OS store's file after the registry, so that a
// re-install replaces the CA it installed before rather than adding one.
// A DNS name holds no "_", so the name cannot collide with another's.
func anchorName(host string, port int) string {
	return "paxsetup-" + strings.ReplaceAll(host, ":", "_") + "_" + strconv.Itoa(port)
}
