// Package config reads and writes paxsetup.yaml, the answers of an init run.
// It never holds a secret: passwords live in the htpasswd file and, when
// paxsetup generated them, in the 0600 credentials file.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/paxsetup/paxsetup/internal/fsutil"
)

// FileName is the answers file's name inside the setup's folder.
const FileName = "paxsetup.yaml"

// Version is the answers file's format version.
const Version = 1

// Modes a setup can run in.
const (
	ModeSelfSigned  = "selfsigned"
	ModeLetsEncrypt = "letsencrypt"
	ModeCustom      = "custom"
	ModeHTTP        = "http"
)

// Defaults for values the operator did not give.
const (
	DefaultMode       = ModeSelfSigned
	DefaultPort       = 443
	DefaultImage      = "us-docker.pkg.dev/palette-images/palette/spectro-registry:4.7.0"
	DefaultPull       = "missing"
	DefaultName       = "spectro-registry"
	DefaultAdminUser  = "admin"
	DefaultReaderUser = "spectro"
	DefaultStorage    = "filesystem"
	DefaultDays       = 825
)

// Answers are the choices of an init run, saved so that `init --yes` can
// replay them and `verify` can find the registry.
type Answers struct {
	Version int    `yaml:"version"`
	Mode    string `yaml:"mode"`
	Host    string `yaml:"host"`
	// SANs are the operator's extra names; the host's own IPs are added at
	// run time and not saved, so a replay on another host uses its own.
	SANs  []string `yaml:"sans,omitempty"`
	Email string   `yaml:"email,omitempty"`
	// ACMEDirectory is an ACME directory URL other than Let's Encrypt's.
	ACMEDirectory string `yaml:"acme_directory,omitempty"`
	// ACMECAFile is the CA of the ACME directory's own HTTPS certificate,
	// for a private ACME CA whose TLS the system roots do not trust.
	ACMECAFile string `yaml:"acme_ca_file,omitempty"`
	// CertFile, KeyFile and CAFile are the operator's own certificate
	// (custom mode). In letsencrypt mode CAFile alone is the root a private
	// ACME CA issues from, which clients and Palette must trust.
	CertFile string `yaml:"cert_file,omitempty"`
	KeyFile  string `yaml:"key_file,omitempty"`
	CAFile   string `yaml:"ca_file,omitempty"`

	AdminUser          string `yaml:"admin_user"`
	ReaderUser         string `yaml:"reader_user"`
	AdminPasswordFile  string `yaml:"admin_password_file,omitempty"`
	ReaderPasswordFile string `yaml:"reader_password_file,omitempty"`
	BcryptCost         int    `yaml:"bcrypt_cost,omitempty"`

	Port int `yaml:"port"`
	// Bind is the host address the port is published on; empty means all.
	Bind string `yaml:"bind,omitempty"`
	// Network is an existing Docker network the registry joins, with Host
	// as its alias there, so that containers on it (a reverse proxy, an
	// ACME CA validating the name) reach it by name.
	Network string `yaml:"network,omitempty"`
	Image   string `yaml:"image"`
	// ImageID is the image the registry runs, recorded so that an upgrade
	// is a deliberate act.
	ImageID      string `yaml:"image_id,omitempty"`
	Pull         string `yaml:"pull"`
	ImageArchive string `yaml:"image_archive,omitempty"`
	Name         string `yaml:"name"`
	LogLevel     string `yaml:"log_level,omitempty"`

	Storage string    `yaml:"storage"`
	S3      *S3Config `yaml:"s3,omitempty"`

	Days int `yaml:"days"`

	// Node is set on a node set up from another node's bundle (`init
	// --join`): its certificate, users and secrets are the shared
	// registry's, and a run keeps them as the bundle gave them.
	Node *Node `yaml:"node,omitempty"`
}

// Node says where a joined node's shared files came from. It holds no
// secret: those are in the 0600 files the bundle installed.
type Node struct {
	// Host is this node's own name, as this machine gave it at the join.
	Host string `yaml:"host"`
	// Origin is the host the bundle was exported on, and Exported when.
	Origin   string    `yaml:"origin"`
	Exported time.Time `yaml:"exported"`
	// Joined is when this node last installed a bundle.
	Joined time.Time `yaml:"joined"`
}

// S3Config is S3 (or MinIO) pack storage. The access keys are secrets and
// are never saved here: they come from the environment or a file.
type S3Config struct {
	Region         string `yaml:"region,omitempty"`
	Bucket         string `yaml:"bucket,omitempty"`
	RootDirectory  string `yaml:"rootdirectory,omitempty"`
	RegionEndpoint string `yaml:"regionendpoint,omitempty"`
	Encrypt        bool   `yaml:"encrypt,omitempty"`
	Secure         *bool  `yaml:"secure,omitempty"`
	// Redirect says clients reach the endpoint themselves, so the
	// registry may send them there for blob downloads.
	Redirect bool `yaml:"redirect,omitempty"`
	// CredentialsFile holds the access key and secret (never saved inline).
	CredentialsFile string `yaml:"credentials_file,omitempty"`
}

// Defaults returns the answers used where neither a flag nor a saved answer
// gives a value. Host and SANs depend on the machine and are filled elsewhere.
func Defaults() Answers {
	return Answers{
		Version:    Version,
		Mode:       DefaultMode,
		Port:       DefaultPort,
		Image:      DefaultImage,
		Pull:       DefaultPull,
		Name:       DefaultName,
		AdminUser:  DefaultAdminUser,
		ReaderUser: DefaultReaderUser,
		Storage:    DefaultStorage,
		Days:       DefaultDays,
	}
}

// Path returns where the answers file of the setup in dir lives.
func Path(dir string) string { return filepath.Join(dir, FileName) }

// Load reads the answers saved in dir. A missing file returns an error
// wrapping fs.ErrNotExist, so callers can tell a first run from a broken file.
func Load(dir string) (Answers, error) {
	return LoadFile(Path(dir))
}

// LoadFile reads an answers file at path, for replaying another site's
// answers with `init --config`.
func LoadFile(path string) (Answers, error) {
	data, err := fsutil.ReadRegularFile(path, fsutil.MaxConfigFile)
	if err != nil {
		return Answers{}, err
	}
	return Parse(data, path)
}

// Parse reads answers in the format of paxsetup.yaml from data; name says
// where they came from, in errors.
func Parse(data []byte, name string) (Answers, error) {
	var a Answers
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&a); err != nil {
		return Answers{}, fmt.Errorf("read %s: %w (fix the file or remove it to start from defaults)", name, err)
	}
	if a.Version > Version {
		return Answers{}, fmt.Errorf("read %s: format version %d is newer than this paxsetup understands (%d): upgrade paxsetup", name, a.Version, Version)
	}
	return a, nil
}

// LoadIfExists is Load that returns ok=false, and no error, on a first run.
func LoadIfExists(dir string) (a Answers, ok bool, err error) {
	a, err = Load(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return Answers{}, false, nil
	}
	return a, err == nil, err
}

// Marshal encodes the answers in the format of paxsetup.yaml, which Parse
// reads.
func Marshal(a Answers) ([]byte, error) {
	a.Version = Version
	data, err := yaml.Marshal(a)
	if err != nil {
		return nil, fmt.Errorf("encode answers: %w", err)
	}
	return data, nil
}

// Save writes the answers to dir atomically, mode 0644: they hold no secret.
func Save(dir string, a Answers) error {
	data, err := Marshal(a)
	if err != nil {
		return err
	}
	header := []byte("# paxsetup answers: `paxsetup init --yes --dir " + dir + "` replays them. No secrets here.\n")
	return fsutil.WriteFileAtomic(Path(dir), append(header, data...), 0o644)
}

// Endpoint is the registry's URL as Palette is given it: https://host:port
// (http in http mode).
func (a Answers) Endpoint() string {
	return (&url.URL{Scheme: a.Scheme(), Host: a.HostPort()}).String()
}

// Scheme is how clients speak to the registry: https, or http in the
// plain-HTTP lab mode.
func (a Answers) Scheme() string {
	if a.Mode == ModeHTTP {
		return "http"
	}
	return "https"
}

// HostPort is the registry's address as the spectro CLI and docker want it.
func (a Answers) HostPort() string { return net.JoinHostPort(a.Host, strconv.Itoa(a.Port)) }
