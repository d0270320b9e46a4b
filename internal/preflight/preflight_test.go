package preflight

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/paxsetup/paxsetup/internal/certgen"
	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/dockerctl"
	"github.com/paxsetup/paxsetup/internal/s3probe"
)

// fakeEngine answers with fixed values.
type fakeEngine struct {
	info       dockerctl.EngineInfo
	infoErr    error
	publishing map[int][]dockerctl.Container
}

func (f *fakeEngine) Engine(context.Context) (dockerctl.EngineInfo, error) { return f.info, f.infoErr }
func (f *fakeEngine) ContainersPublishing(_ context.Context, p int) ([]dockerctl.Container, error) {
	return f.publishing[p], nil
}

type fakeListener struct{ net.Listener }

func (fakeListener) Close() error { return nil }

func listenErr(errno syscall.Errno) error {
	return &net.OpError{Op: "listen", Net: "tcp", Err: os.NewSyscallError("bind", errno)}
}

var now = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

// healthy is a host where every check passes: a rootful engine, free
// ports, 4 CPUs, 8 GiB, 100 GiB free, a name that resolves to the host.
func healthy(t *testing.T) (Deps, *fakeEngine, Options) {
	eng := &fakeEngine{info: dockerctl.EngineInfo{Version: "27.3.1", APIVersion: "1.47", OS: "linux", OperatingSystem: "Debian GNU/Linux 12"}}
	d := Deps{
		Engine:      func(context.Context) (Engine, error) { return eng, nil },
		EngineClock: func(context.Context) (time.Time, error) { return now, nil },
		Now:         func() time.Time { return now },
		Listen:      func(string, string) (net.Listener, error) { return fakeListener{}, nil },
		PortHolders: func(context.Context, int) ([]Process, error) { return nil, nil },
		CPUs:        func(context.Context) (int, error) { return 4, nil },
		Memory:      func(context.Context) (uint64, error) { return 8 * gib, nil },
		DiskFree:    func(context.Context, string) (uint64, error) { return 100 * gib, nil },
		LookupHost: func(_ context.Context, h string) ([]string, error) {
			if h == "registry.example.com" {
				return []string{"203.0.113.10"}, nil
			}
			return nil, &net.DNSError{Err: "no such host", Name: h, IsNotFound: true}
		},
		HostIPs:  func() ([]net.IP, error) { return []net.IP{net.ParseIP("203.0.113.10"), net.ParseIP("10.0.0.5")}, nil },
		ReadFile: func(p string) ([]byte, error) { return nil, os.ErrNotExist },
		LookPath: func(f string) (string, error) { return "", errors.New("not found") },
		Command:  func(context.Context, string, ...string) (string, error) { return "", errors.New("not found") },
	}
	opts := Options{Mode: config.ModeSelfSigned, Host: "registry.example.com", Port: 443, Dir: t.TempDir(), Storage: "filesystem"}
	return d, eng, opts
}

func TestRunHealthyHost(t *testing.T) {
	d, _, opts := healthy(t)
	rep := Run(context.Background(), d, opts)
	if !rep.OK() || len(rep.Warnings()) != 0 {
		t.Fatalf("want every check ok: %+v", rep.Checks)
	}
	var names []string
	for _, c := range rep.Checks {
		names = append(names, c.Name)
	}
	want := []string{CheckDocker, "port 443", CheckCPU, CheckMemory, CheckDisk, CheckHostName, CheckClock, CheckSELinux, CheckFirewall}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Errorf("checks = %v, want %v", names, want)
	}
}

// TestChecks changes one fact of a healthy host per case and expects the
// named check to report it, with its fix.
func TestChecks(t *testing.T) {
	tests := []struct {
		name       string
		change     func(d *Deps, e *fakeEngine, o *Options)
		check      string
		want       Status
		wantDetail string
		wantFix    string
	}{
		{name: "engine unreachable", check: CheckDocker, want: Fail,
			change: func(d *Deps, e *fakeEngine, o *Options) {
				d.Engine = func(context.Context) (Engine, error) {
					return nil, fmt.Errorf("cannot connect to the Docker engine at unix:///var/run/docker.sock (no such socket): start the Docker engine (sudo systemctl start docker) or set DOCKER_HOST: %w", dockerctl.ErrEngineUnreachable)
				}
			},
			wantDetail: "no Docker engine answers: cannot connect to the Docker engine at unix:///var/run/docker.sock (no such socket)", wantFix: "sudo systemctl start docker"},
		{name: "engine forbidden", check: CheckDocker, want: Fail,
			change: func(d *Deps, e *fakeEngine, o *Options) {
				d.Engine = func(context.Context) (Engine, error) {
					return nil, fmt.Errorf("permission denied on the Docker engine socket unix:///var/run/docker.sock: add your user to the docker group: %w", dockerctl.ErrPermission)
				}
			},
			wantDetail: "this user may not use the Docker engine", wantFix: "usermod -aG docker"},
		{name: "engine too old", check: CheckDocker, want: Fail,
			change:     func(d *Deps, e *fakeEngine, o *Options) { e.info.Version, e.info.APIVersion = "18.09.1", "1.39" },
			wantDetail: "API 1.39", wantFix: "upgrade"},
		{name: "windows engine", check: CheckDocker, want: Fail,
			change:     func(d *Deps, e *fakeEngine, o *Options) { e.info.OS = "windows" },
			wantDetail: "windows containers", wantFix: "Linux containers"},
		{name: "rootless engine", check: CheckDocker, want: OK,
			change:     func(d *Deps, e *fakeEngine, o *Options) { e.info.Rootless = true; o.Port = 8443 },
			wantDetail: "Docker 27.3.1 (API 1.47) on Debian GNU/Linux 12, rootless"},
		{name: "podman over a socket", check: CheckDocker, want: OK,
			change: func(d *Deps, e *fakeEngine, o *Options) {
				e.info.Podman, e.info.Version, e.info.APIVersion, e.info.ClientAPIVersion = true, "5.2.0", "1.41", "1.41"
				e.info.Host, e.info.Arch = "unix:///run/user/1000/podman/podman.sock", "arm64"
			},
			wantDetail: "Podman 5.2.0 (API 1.41) at unix:///run/user/1000/podman/podman.sock on Debian GNU/Linux 12 (arm64)"},

		{name: "port held by a container", check: "port 443", want: Fail,
			change: func(d *Deps, e *fakeEngine, o *Options) {
				e.publishing = map[int][]dockerctl.Container{443: {{Name: "web", Image: "nginx:1.27"}}}
			},
			wantDetail: `published by container "web" (image nginx:1.27)`, wantFix: "docker stop web"},
		{name: "port held by this setup's registry", check: "port 443", want: OK,
			change: func(d *Deps, e *fakeEngine, o *Options) {
				e.publishing = map[int][]dockerctl.Container{443: {{Name: "spectro-registry", Labels: map[string]string{dockerctl.LabelManaged: "true", dockerctl.LabelDir: o.Dir}}}}
				d.Listen = func(string, string) (net.Listener, error) { return nil, listenErr(syscall.EADDRINUSE) }
			},
			wantDetail: `this setup's registry "spectro-registry"`},
		{name: "port held by a process", check: "port 443", want: Fail,
			change: func(d *Deps, e *fakeEngine, o *Options) {
				d.Listen = func(_, addr string) (net.Listener, error) {
					if addr == ":443" {
						return nil, listenErr(syscall.EADDRINUSE)
					}
					return fakeListener{}, nil
				}
				d.PortHolders = func(context.Context, int) ([]Process, error) { return []Process{{PID: 1234, Name: "nginx"}}, nil }
			},
			wantDetail: "port 443 on all addresses is held by process 1234 (nginx)", wantFix: "kill 1234, or stop its service), or choose another port (--port 8443)"},
		{name: "port held by another user's process", check: "port 443", want: Fail,
			change: func(d *Deps, e *fakeEngine, o *Options) {
				d.Listen = func(string, string) (net.Listener, error) { return nil, listenErr(syscall.EADDRINUSE) }
				d.PortHolders = func(context.Context, int) ([]Process, error) { return []Process{{PID: 0}}, nil }
			},
			wantDetail: "a process this user cannot see", wantFix: "sudo ss -ltnp 'sport = :443'"},
		{name: "port held through docker-proxy", check: "port 443", want: Fail,
			change: func(d *Deps, e *fakeEngine, o *Options) {
				d.Listen = func(string, string) (net.Listener, error) { return nil, listenErr(syscall.EADDRINUSE) }
				d.PortHolders = func(context.Context, int) ([]Process, error) { return []Process{{PID: 77, Name: "docker-proxy"}}, nil }
			},
			wantDetail: "process 77 (docker-proxy), the engine's port proxy", wantFix: "docker ps --filter publish=443"},
		{name: "privileged port, not root, free", check: "port 443", want: OK,
			change: func(d *Deps, e *fakeEngine, o *Options) {
				d.Listen = func(string, string) (net.Listener, error) { return nil, listenErr(syscall.EACCES) }
			},
			wantDetail: "no program listens on it"},
		{name: "bind address not on this host", check: "port 443", want: Fail,
			change: func(d *Deps, e *fakeEngine, o *Options) {
				o.Bind = "192.0.2.1"
				d.Listen = func(string, string) (net.Listener, error) { return nil, listenErr(syscall.EADDRNOTAVAIL) }
			},
			wantDetail: "192.0.2.1 is not an address of this host", wantFix: "--bind one of this host's addresses (203.0.113.10, 10.0.0.5)"},
		{name: "rootless below the unprivileged start", check: "port 443", want: Fail,
			change: func(d *Deps, e *fakeEngine, o *Options) {
				e.info.Rootless = true
				d.ReadFile = func(p string) ([]byte, error) {
					if p == unprivilegedPortStart {
						return []byte("1024\n"), nil
					}
					return nil, os.ErrNotExist
				}
			},
			wantDetail: "rootless Docker cannot publish port 443", wantFix: "sudo sysctl -w net.ipv4.ip_unprivileged_port_start=443"},
		{name: "rootless allowed by the sysctl", check: "port 443", want: OK,
			change: func(d *Deps, e *fakeEngine, o *Options) {
				e.info.Rootless = true
				d.ReadFile = func(p string) ([]byte, error) { return []byte("0\n"), nil }
			},
			wantDetail: "free on all addresses"},
		{name: "extra port", check: "port 80", want: Fail,
			change: func(d *Deps, e *fakeEngine, o *Options) {
				o.ExtraPorts = []int{80}
				e.publishing = map[int][]dockerctl.Container{80: {{Name: "proxy", Image: "traefik"}}}
			},
			wantDetail: `container "proxy"`},

		{name: "no CPU", check: CheckCPU, want: Fail,
			change: func(d *Deps, e *fakeEngine, o *Options) {
				d.CPUs = func(context.Context) (int, error) { return 0, nil }
			}},
		{name: "memory far too small", check: CheckMemory, want: Fail,
			change: func(d *Deps, e *fakeEngine, o *Options) {
				d.Memory = func(context.Context) (uint64, error) { return 512 << 20, nil }
			},
			wantDetail: "512 MiB of memory", wantFix: "at least 2 GiB"},
		{name: "memory a little small", check: CheckMemory, want: Warn,
			change: func(d *Deps, e *fakeEngine, o *Options) {
				d.Memory = func(context.Context) (uint64, error) { return 1900 << 20, nil }
			},
			wantDetail: "1.9 GiB of memory, below the vendor's minimum of 2 GiB"},
		{name: "disk full", check: CheckDisk, want: Fail,
			change: func(d *Deps, e *fakeEngine, o *Options) {
				d.DiskFree = func(context.Context, string) (uint64, error) { return 100 << 20, nil }
			},
			wantDetail: "100 MiB free where", wantFix: "--dir"},
		{name: "disk small", check: CheckDisk, want: Warn,
			change: func(d *Deps, e *fakeEngine, o *Options) {
				d.DiskFree = func(context.Context, string) (uint64, error) { return 5 * gib, nil }
			}},
		{name: "disk not needed with s3", check: CheckDisk, want: OK,
			change: func(d *Deps, e *fakeEngine, o *Options) {
				o.Storage = "s3"
				d.DiskFree = func(context.Context, string) (uint64, error) { return 0, nil }
			},
			wantDetail: "S3"},

		{name: "s3 bucket tried", check: CheckS3Bucket, want: OK,
			change: func(d *Deps, e *fakeEngine, o *Options) {
				o.Storage, o.S3 = "s3", &S3{Target: s3probe.Target{Bucket: "packs", Prefix: "/registry", AccessKey: "AK", SecretKey: "SK"}}
				d.ProbeS3 = func(_ context.Context, t s3probe.Target) (s3probe.Result, error) {
					if t.Bucket != "packs" || t.AccessKey != "AK" {
						return s3probe.Result{}, fmt.Errorf("probed %+v", t)
					}
					return s3probe.Result{}, nil
				}
			},
			wantDetail: "s3://packs/registry: the keys list, write and delete"},
		{name: "s3 keys refused", check: CheckS3Bucket, want: Fail,
			change: func(d *Deps, e *fakeEngine, o *Options) {
				o.Storage, o.S3 = "s3", &S3{Target: s3probe.Target{Bucket: "packs", AccessKey: "AK", SecretKey: "SK"}}
				d.ProbeS3 = func(context.Context, s3probe.Target) (s3probe.Result, error) {
					return s3probe.Result{}, &s3probe.Error{Step: s3probe.StepCredentials, Request: "list s3://packs/", Status: 403, Code: "InvalidAccessKeyId"}
				}
			},
			wantDetail: "refused the keys", wantFix: "--s3-credentials-file"},
		{name: "s3 bucket missing", check: CheckS3Bucket, want: Fail,
			change: func(d *Deps, e *fakeEngine, o *Options) {
				o.Storage, o.S3 = "s3", &S3{Target: s3probe.Target{Bucket: "packs", AccessKey: "AK", SecretKey: "SK"}}
				d.ProbeS3 = func(context.Context, s3probe.Target) (s3probe.Result, error) {
					return s3probe.Result{}, &s3probe.Error{Step: s3probe.StepBucket, Request: "list s3://packs/", Status: 404, Code: "NoSuchBucket"}
				}
			},
			wantDetail: `no bucket "packs"`, wantFix: "create the bucket first"},
		{name: "s3 without keys", check: CheckS3Bucket, want: Warn,
			change: func(d *Deps, e *fakeEngine, o *Options) {
				o.Storage, o.S3 = "s3", &S3{Target: s3probe.Target{Bucket: "packs"}}
			},
			wantDetail: "instance role"},
		{name: "s3 endpoint only on the docker network", check: CheckS3Bucket, want: Warn,
			change: func(d *Deps, e *fakeEngine, o *Options) {
				o.Storage, o.S3 = "s3", &S3{Network: "lab", Target: s3probe.Target{Endpoint: "http://minio:9000", Bucket: "packs", AccessKey: "AK", SecretKey: "SK"}}
				d.LookupHost = func(context.Context, string) ([]string, error) { return nil, errors.New("no such host") }
			},
			wantDetail: "minio does not resolve on this host; the registry looks it up on Docker network lab"},
		{name: "s3 layers through the registry", check: CheckS3Downloads, want: OK,
			change: func(d *Deps, e *fakeEngine, o *Options) {
				o.Storage, o.S3 = "s3", &S3{Target: s3probe.Target{Bucket: "packs"}}
			},
			wantDetail: "storage.redirect.disable"},
		{name: "s3 layers redirected", check: CheckS3Downloads, want: Warn,
			change: func(d *Deps, e *fakeEngine, o *Options) {
				o.Storage, o.S3 = "s3", &S3{Redirect: true, Target: s3probe.Target{Endpoint: "http://minio:9000", Bucket: "packs"}}
			},
			wantDetail: "redirected to http://minio:9000", wantFix: "drop --s3-redirect"},

		{name: "host name does not resolve", check: CheckHostName, want: Warn,
			change:     func(d *Deps, e *fakeEngine, o *Options) { o.Host = "nowhere.example.com" },
			wantDetail: "nowhere.example.com does not resolve from this host (no such host)", wantFix: "add a DNS record for nowhere.example.com pointing to this host (203.0.113.10, 10.0.0.5)"},
		{name: "host name only in /etc/hosts", check: CheckHostName, want: Warn,
			change: func(d *Deps, e *fakeEngine, o *Options) {
				d.LookupHost = func(context.Context, string) ([]string, error) { return []string{"127.0.1.1"}, nil }
			},
			wantDetail: "resolves only to loopback (127.0.1.1)"},
		{name: "host name points elsewhere", check: CheckHostName, want: Warn,
			change: func(d *Deps, e *fakeEngine, o *Options) {
				d.LookupHost = func(context.Context, string) ([]string, error) { return []string{"198.51.100.7"}, nil }
			},
			wantDetail: "resolves to 198.51.100.7, none of which is this host's"},
		{name: "host is one of our IPs", check: CheckHostName, want: OK,
			change:     func(d *Deps, e *fakeEngine, o *Options) { o.Host = "10.0.0.5" },
			wantDetail: "10.0.0.5 is an address of this host"},
		{name: "host is a foreign IP", check: CheckHostName, want: Warn,
			change:     func(d *Deps, e *fakeEngine, o *Options) { o.Host = "192.0.2.44" },
			wantDetail: "192.0.2.44 is not an address of this host"},
		{name: "no host", check: CheckHostName, want: Fail,
			change: func(d *Deps, e *fakeEngine, o *Options) { o.Host = "" }, wantFix: "--host"},

		{name: "letsencrypt for an IP", check: CheckLEHost, want: Fail,
			change: func(d *Deps, e *fakeEngine, o *Options) {
				o.Mode, o.Host, o.Email = config.ModeLetsEncrypt, "203.0.113.10", "ops@example.com"
			},
			wantDetail: "Let's Encrypt issues certificates for DNS names only"},
		{name: "letsencrypt for a short name", check: CheckLEHost, want: Fail,
			change: func(d *Deps, e *fakeEngine, o *Options) {
				o.Mode, o.Host, o.Email = config.ModeLetsEncrypt, "registry", "ops@example.com"
			},
			wantFix: "registry.example.com"},
		{name: "letsencrypt name resolves privately", check: CheckLEDNS, want: Fail,
			change: func(d *Deps, e *fakeEngine, o *Options) {
				o.Mode, o.Email = config.ModeLetsEncrypt, "ops@example.com"
				d.LookupHost = func(context.Context, string) ([]string, error) { return []string{"10.0.0.5", "100.64.1.1"}, nil }
			},
			wantDetail: "resolves only to private addresses (10.0.0.5, 100.64.1.1)", wantFix: "--mode selfsigned"},
		{name: "letsencrypt name does not resolve", check: CheckLEDNS, want: Fail,
			change: func(d *Deps, e *fakeEngine, o *Options) {
				o.Mode, o.Host, o.Email = config.ModeLetsEncrypt, "new.example.com", "ops@example.com"
			},
			wantDetail: "new.example.com does not resolve", wantFix: "A (or AAAA) record"},
		{name: "letsencrypt name resolves publicly", check: CheckLEDNS, want: OK,
			change:     func(d *Deps, e *fakeEngine, o *Options) { o.Mode, o.Email = config.ModeLetsEncrypt, "ops@example.com" },
			wantDetail: "public address 203.0.113.10"},
		{name: "private ACME CA, name unknown here", check: CheckLEDNS, want: Warn,
			change: func(d *Deps, e *fakeEngine, o *Options) {
				o.Mode, o.Host, o.Email = config.ModeLetsEncrypt, "le.test.internal", "ops@example.com"
				o.ACMEDirectory = "https://pebble:14000/dir"
			},
			wantDetail: "the ACME CA at https://pebble:14000/dir must resolve it", wantFix: "--network"},
		{name: "private ACME CA, private address", check: CheckLEDNS, want: OK,
			change: func(d *Deps, e *fakeEngine, o *Options) {
				o.Mode, o.Email, o.ACMEDirectory = config.ModeLetsEncrypt, "ops@example.com", "https://ca.corp.example/dir"
				d.LookupHost = func(context.Context, string) ([]string, error) { return []string{"10.0.0.5"}, nil }
			},
			wantDetail: "resolves to 10.0.0.5 here"},
		{name: "private ACME CA inbound statement", check: CheckLEInbound, want: Warn,
			change: func(d *Deps, e *fakeEngine, o *Options) {
				o.Mode, o.Email, o.ACMEDirectory = config.ModeLetsEncrypt, "ops@example.com", "https://ca.corp.example/dir"
			},
			wantDetail: "the ACME CA at https://ca.corp.example/dir must reach registry.example.com on TCP 443"},
		{name: "letsencrypt without email", check: CheckLEEmail, want: Fail,
			change:  func(d *Deps, e *fakeEngine, o *Options) { o.Mode = config.ModeLetsEncrypt },
			wantFix: "--email"},
		{name: "letsencrypt with a broken email", check: CheckLEEmail, want: Fail,
			change:     func(d *Deps, e *fakeEngine, o *Options) { o.Mode, o.Email = config.ModeLetsEncrypt, "ops at example" },
			wantDetail: "not an email address"},
		{name: "letsencrypt inbound statement", check: CheckLEInbound, want: Warn,
			change:     func(d *Deps, e *fakeEngine, o *Options) { o.Mode, o.Email = config.ModeLetsEncrypt, "ops@example.com" },
			wantDetail: "Let's Encrypt must reach registry.example.com on TCP 443 from the internet", wantFix: "inbound TCP 443"},
		{name: "letsencrypt on another port", check: CheckLEInbound, want: Warn,
			change: func(d *Deps, e *fakeEngine, o *Options) {
				o.Mode, o.Email, o.Port = config.ModeLetsEncrypt, "ops@example.com", 8443
			},
			wantDetail: "listens on 8443", wantFix: "forward inbound TCP 443"},
		{name: "http mode", check: CheckPlainHTTPMode, want: Warn,
			change: func(d *Deps, e *fakeEngine, o *Options) { o.Mode = config.ModeHTTP }, wantDetail: "no TLS"},
		{name: "custom without files", check: CheckCertificate, want: Fail,
			change: func(d *Deps, e *fakeEngine, o *Options) { o.Mode = config.ModeCustom }, wantFix: "--cert-file"},

		{name: "clock far off", check: CheckClock, want: Fail,
			change: func(d *Deps, e *fakeEngine, o *Options) {
				d.EngineClock = func(context.Context) (time.Time, error) { return now.Add(2 * time.Hour), nil }
			},
			wantDetail: "the engine's clock is 2h0m0s ahead of this host's", wantFix: "timedatectl set-ntp true"},
		{name: "clock a little off", check: CheckClock, want: Warn,
			change: func(d *Deps, e *fakeEngine, o *Options) {
				d.EngineClock = func(context.Context) (time.Time, error) { return now.Add(-5 * time.Minute), nil }
			},
			wantDetail: "5m0s behind"},

		{name: "selinux enforcing, engine unknown", check: CheckSELinux, want: Warn,
			change: func(d *Deps, e *fakeEngine, o *Options) {
				d.Engine = nil
				d.ReadFile = enforcing
			},
			wantDetail: "enforcing", wantFix: "container_file_t"},
		{name: "selinux enforcing, engine labels", check: CheckSELinux, want: OK,
			change: func(d *Deps, e *fakeEngine, o *Options) {
				e.info.SELinux = true
				d.ReadFile = enforcing
			},
			wantDetail: "init relabels the bind mounts (:Z)"},
		{name: "selinux enforcing, engine does not label", check: CheckSELinux, want: OK,
			change:     func(d *Deps, e *fakeEngine, o *Options) { d.ReadFile = enforcing },
			wantDetail: "the mounts need no label"},
		{name: "selinux permissive", check: CheckSELinux, want: OK,
			change: func(d *Deps, e *fakeEngine, o *Options) {
				d.ReadFile = func(p string) ([]byte, error) { return []byte("0"), nil }
			},
			wantDetail: "permissive"},

		{name: "firewalld closed", check: CheckFirewall, want: Warn,
			change: func(d *Deps, e *fakeEngine, o *Options) {
				d.LookPath = only("firewall-cmd")
				d.Command = commands(map[string]string{"firewall-cmd --state": "running", "firewall-cmd --query-port=443/tcp": "no", "firewall-cmd --query-service=https": "no"})
			},
			wantDetail: "does not open 443/tcp", wantFix: "sudo firewall-cmd --permanent --add-port=443/tcp && sudo firewall-cmd --reload"},
		{name: "firewalld allows the service", check: CheckFirewall, want: OK,
			change: func(d *Deps, e *fakeEngine, o *Options) {
				d.LookPath = only("firewall-cmd")
				d.Command = commands(map[string]string{"firewall-cmd --state": "running", "firewall-cmd --query-port=443/tcp": "no", "firewall-cmd --query-service=https": "yes"})
			},
			wantDetail: "firewalld is running and allows 443/tcp"},
		{name: "ufw closed", check: CheckFirewall, want: Warn,
			change: func(d *Deps, e *fakeEngine, o *Options) {
				o.Port = 8443
				d.LookPath = only("ufw")
				d.Command = commands(map[string]string{"ufw status": "Status: active\n\nTo    Action  From\n--    ------  ----\n22/tcp  ALLOW  Anywhere\n8443/udp  ALLOW  Anywhere\n"})
			},
			wantDetail: "no rule allowing 8443/tcp", wantFix: "sudo ufw allow 8443/tcp"},
		{name: "ufw open by range", check: CheckFirewall, want: OK,
			change: func(d *Deps, e *fakeEngine, o *Options) {
				o.Port = 8443
				d.LookPath = only("ufw")
				d.Command = commands(map[string]string{"ufw status": "Status: active\n\nTo    Action  From\n8000:9000/tcp  ALLOW IN  Anywhere\n"})
			}},
		{name: "ufw inactive", check: CheckFirewall, want: OK,
			change: func(d *Deps, e *fakeEngine, o *Options) {
				d.LookPath = only("ufw")
				d.Command = commands(map[string]string{"ufw status": "Status: inactive\n"})
			},
			wantDetail: "no active host firewall"},
		{name: "nftables drops", check: CheckFirewall, want: Warn,
			change: func(d *Deps, e *fakeEngine, o *Options) {
				d.LookPath = only("nft")
				d.Command = commands(map[string]string{"nft list ruleset": nftDrop})
			},
			wantDetail: "443/tcp by chain inet filter input", wantFix: "sudo nft add rule inet filter input tcp dport 443 accept"},
		{name: "nftables accepts in a set", check: CheckFirewall, want: OK,
			change: func(d *Deps, e *fakeEngine, o *Options) {
				d.LookPath = only("nft")
				d.Command = commands(map[string]string{"nft list ruleset": strings.Replace(nftDrop, "tcp dport 22 accept", "tcp dport { 22, https } accept", 1)})
			}},
		{name: "nftables accepts by policy", check: CheckFirewall, want: OK,
			change: func(d *Deps, e *fakeEngine, o *Options) {
				d.LookPath = only("nft")
				d.Command = commands(map[string]string{"nft list ruleset": strings.Replace(nftDrop, "policy drop", "policy accept", 1)})
			},
			wantDetail: "no active host firewall"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, eng, opts := healthy(t)
			tt.change(&d, eng, &opts)
			rep := Run(context.Background(), d, opts)
			c, ok := rep.Find(tt.check)
			if !ok {
				t.Fatalf("no %q check in %+v", tt.check, rep.Checks)
			}
			if c.Status != tt.want {
				t.Errorf("status = %s, want %s: %+v", c.Status, tt.want, c)
			}
			if !strings.Contains(c.Detail, tt.wantDetail) {
				t.Errorf("detail = %q, want it to contain %q", c.Detail, tt.wantDetail)
			}
			if !strings.Contains(c.Fix, tt.wantFix) {
				t.Errorf("fix = %q, want it to contain %q", c.Fix, tt.wantFix)
			}
			if c.Status != OK && c.Fix == "" {
				t.Errorf("a %s check needs a fix: %+v", c.Status, c)
			}
			if rep.OK() != (len(rep.Failed()) == 0) {
				t.Error("OK disagrees with Failed")
			}
			// A failed port, certificate or S3 check names the flag that
			// fixes it; init reports it as that flag's error (exit 2).
			wantFlag := map[bool]string{true: "", false: fixedBy(c.Name)}[c.Status != Fail]
			if strings.HasPrefix(c.Name, "s3 ") && c.Status == Fail {
				wantFlag = c.Flag
				if !strings.HasPrefix(wantFlag, "s3-") {
					t.Errorf("failed %s check names flag %q, want an --s3-* flag", c.Name, wantFlag)
				}
			}
			if c.Flag != wantFlag {
				t.Errorf("flag = %q, want %q: %+v", c.Flag, wantFlag, c)
			}
		})
	}
}

// TestJoinedCustomNodeLintsNoFile: a node joined from a bundle in custom
// mode has no --cert-file of its own (the bundle installs the shared
// certificate), so preflight does not fail for the missing files.
func TestJoinedCustomNodeLintsNoFile(t *testing.T) {
	d, _, opts := healthy(t)
	opts.Mode = config.ModeCustom
	if c, ok := Run(context.Background(), d, opts).Find(CheckCertificate); !ok || c.Status != Fail {
		t.Fatalf("a standalone custom setup without files: %+v, want a failed certificate check", c)
	}
	opts.Joined = true
	rep := Run(context.Background(), d, opts)
	if c, ok := rep.Find(CheckCertificate); ok {
		t.Errorf("a joined node's certificate check: %+v", c)
	}
	if !rep.OK() {
		t.Errorf("failed: %+v", rep.Failed())
	}
}

func enforcing(p string) ([]byte, error) {
	if p == selinuxEnforce {
		return []byte("1\n"), nil
	}
	return nil, os.ErrNotExist
}

const nftDrop = `table inet filter {
	chain input {
		type filter hook input priority filter; policy drop;
		iif "lo" accept
		ct state established,related accept
		tcp dport 22 accept
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
	}
}
table ip nat {
	chain POSTROUTING {
		type nat hook postrouting priority srcnat; policy accept;
	}
}
`

func only(cmd string) func(string) (string, error) {
	return func(f string) (string, error) {
		if f == cmd {
			return "/usr/sbin/" + f, nil
		}
		return "", errors.New("not found")
	}
}

func commands(out map[string]string) func(context.Context, string, ...string) (string, error) {
	return func(_ context.Context, name string, args ...string) (string, error) {
		s, ok := out[strings.Join(append([]string{name}, args...), " ")]
		if !ok {
			return "", errors.New("exit status 1")
		}
		return s + "\n", nil
	}
}

func TestEngineDownSkipsWhatNeedsIt(t *testing.T) {
	d, _, opts := healthy(t)
	d.Engine = nil
	rep := Run(context.Background(), d, opts)
	if c, _ := rep.Find(CheckDocker); c.Status != Fail {
		t.Errorf("docker = %+v, want fail", c)
	}
	if _, ok := rep.Find(CheckClock); ok {
		t.Error("the clock check ran without an engine")
	}
	if c, _ := rep.Find("port 443"); c.Status != OK {
		t.Errorf("the port is still checked on the host: %+v", c)
	}
}

// TestCustomCertificate lints real certificate files with certgen.Lint.
func TestCustomCertificate(t *testing.T) {
	dir := t.TempDir()
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	ca, err := certgen.NewCA(certgen.CAOptions{Key: key(), CommonName: "Corp CA"})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue(certgen.LeafOptions{Host: "registry.example.com", Key: key()})
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	leafKey, _ := leaf.KeyPEM()
	other, _ := (&certgen.Leaf{Key: key()}).KeyPEM()
	certFile, keyFile, otherKey := write("tls.crt", leaf.CertPEM()), write("tls.key", leafKey), write("other.key", other)
	caFile := write("ca.crt", ca.CertPEM())
	tests := []struct {
		name       string
		opts       Options
		want       Status
		wantDetail string
	}{
		{"good", Options{CertFile: certFile, KeyFile: keyFile, CAFile: caFile, Host: "registry.example.com"}, OK, "passes the certificate lint for registry.example.com"},
		{"key mismatch", Options{CertFile: certFile, KeyFile: otherKey, CAFile: caFile, Host: "registry.example.com"}, Fail, "[key-mismatch]"},
		{"host not covered", Options{CertFile: certFile, KeyFile: keyFile, CAFile: caFile, Host: "registry.example.com", SANs: []string{"10.0.0.5"}}, Fail, "no IP SANs"},
		{"missing file", Options{CertFile: filepath.Join(dir, "nope.crt"), KeyFile: keyFile, Host: "registry.example.com"}, Fail, "read --cert-file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _, base := healthy(t)
			d.Now = time.Now
			tt.opts.Mode, tt.opts.Port, tt.opts.Dir = config.ModeCustom, 443, base.Dir
			rep := Run(context.Background(), d, tt.opts)
			var found bool
			for _, c := range rep.Checks {
				if c.Name == CheckCertificate && c.Status == tt.want && strings.Contains(c.Detail, tt.wantDetail) {
					found = true
				}
			}
			if !found {
				t.Errorf("want a %s certificate check with %q: %+v", tt.want, tt.wantDetail, rep.Checks)
			}
		})
	}
}

func TestParseNft(t *testing.T) {
	chains := parseNft(nftDrop)
	if len(chains) != 3 {
		t.Fatalf("chains = %+v", chains)
	}
	in := chains[0]
	if in.family != "inet" || in.table != "filter" || in.name != "input" || !in.inputDrop || !in.accepts(22) || in.accepts(443) {
		t.Errorf("input chain = %+v", in)
	}
	if chains[1].inputDrop || chains[2].inputDrop {
		t.Errorf("only the input chain hooks input: %+v", chains)
	}
}

// TestPortHoldersFindsThisProcess runs the real socket lookup against a
// listener of this test.
func TestPortHoldersFindsThisProcess(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	procs, err := portHolders(context.Background(), ln.Addr().(*net.TCPAddr).Port)
	if err != nil {
		t.Fatal(err)
	}
	if len(procs) != 1 || procs[0].PID != int32(os.Getpid()) || procs[0].Name == "" {
		t.Errorf("holders = %+v, want this process (%d)", procs, os.Getpid())
	}
}
