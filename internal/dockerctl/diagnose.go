package dockerctl

import (
	"fmt"
	"regexp"
	"strings"
)

// Diagnosis is a known reason for a registry container to stop, read from
// its state and its last log lines, with what to do about it.
type Diagnosis struct {
	// Evidence is the log line or engine state that gives the cause away.
	Evidence string
	Cause    string
	Fix      string
}

// crashRule recognises one known failure in a log line. The messages are the
// CNCF distribution registry's own (registry/registry.go and its
// configuration parser, v3), which the vendor's image runs unchanged.
type crashRule struct {
	match func(line string) []string
	diag  func(m []string) Diagnosis
}

func contains(s string) func(string) []string {
	return func(line string) []string {
		if strings.Contains(line, s) {
			return []string{line}
		}
		return nil
	}
}

func matches(re *regexp.Regexp) func(string) []string {
	return re.FindStringSubmatch
}

var (
	reConfigMissing = regexp.MustCompile(`configuration error: open (\S+): no such file or directory`)
	reFileMissing   = regexp.MustCompile(`open (\S+): no such file or directory`)
	reDenied        = regexp.MustCompile(`(?:open|mkdir|stat) (/\S+): permission denied`)
	reAddrInUse     = regexp.MustCompile(`listen tcp\S* (\S+): bind: address already in use`)
	reParse         = regexp.MustCompile(`error parsing (\S+): (.*)`)
)

var crashRules = []crashRule{
	{
		match: contains("cannot specify both certificate and Let's Encrypt"),
		diag: func([]string) Diagnosis {
			return Diagnosis{
				Cause: "the registry was given its own certificate (http.tls.certificate or REGISTRY_HTTP_TLS_CERTIFICATE) and Let's Encrypt at once, and refuses both",
				Fix:   "keep one: for Let's Encrypt, re-run `paxsetup init --mode letsencrypt`, which sets no certificate; for your own certificate, remove http.tls.letsencrypt from the config",
			}
		},
	},
	{
		match: matches(reConfigMissing),
		diag: func(m []string) Diagnosis {
			return Diagnosis{
				Cause: fmt.Sprintf("the config file the registry was told to serve, %s, does not exist inside the container", m[1]),
				Fix:   "check that the image's command names a config that exists (`paxsetup status` shows the image) and that config/ is mounted; re-run `paxsetup init`, which writes the files and the command together",
			}
		},
	},
	{
		match: matches(reFileMissing),
		diag: func(m []string) Diagnosis {
			file := m[1]
			switch {
			case strings.HasPrefix(file, "/certs/"):
				return Diagnosis{
					Cause: fmt.Sprintf("the certificate file %s is missing inside the container", file),
					Fix:   "re-run `paxsetup init`, which writes certs/ before starting the registry; check that certs/ under the setup's folder holds tls.crt and tls.key",
				}
			case strings.HasPrefix(file, "/auth/"):
				return Diagnosis{
					Cause: fmt.Sprintf("the password file %s is missing inside the container", file),
					Fix:   "re-run `paxsetup init`, which writes auth/htpasswd-basic before starting the registry",
				}
			}
			return Diagnosis{
				Cause: fmt.Sprintf("the file %s is missing inside the container", file),
				Fix:   "re-run `paxsetup init`, which writes every file the registry reads before starting it",
			}
		},
	},
	{
		match: contains("failed to open htpasswd path"),
		diag: func([]string) Diagnosis {
			return Diagnosis{
				Cause: "the registry cannot open its htpasswd file",
				Fix:   "re-run `paxsetup init`, which writes auth/htpasswd-basic and hands it to the image's user",
			}
		},
	},
	{
		match: matches(reDenied),
		diag: func(m []string) Diagnosis {
			return Diagnosis{
				Cause: fmt.Sprintf("the registry's user may not read or write %s", m[1]),
				Fix: "the image runs as a non-root user: re-run `paxsetup init` as root, which hands the mounted files to that user; " +
					"on an SELinux host, check `ausearch -m avc -ts recent` (paxsetup relabels mounts with :Z when the engine reports SELinux)",
			}
		},
	},
	{
		match: matches(reAddrInUse),
		diag: func(m []string) Diagnosis {
			return Diagnosis{
				Cause: fmt.Sprintf("another program already listens on %s, where the registry wants to listen", m[1]),
				Fix:   "stop that program (`ss -ltnp` names it) or pick another --port; the registry itself always listens on its container port",
			}
		},
	},
	{
		match: contains("address already in use"),
		diag: func([]string) Diagnosis {
			return Diagnosis{
				Cause: "the port is already in use",
				Fix:   "stop the program holding it (`ss -ltnp` names it) or pick another --port",
			}
		},
	},
	{
		match: matches(reParse),
		diag: func(m []string) Diagnosis {
			return Diagnosis{
				Cause: fmt.Sprintf("the registry cannot parse its config %s: %s", m[1], m[2]),
				Fix:   "re-run `paxsetup init` to write the config again; if you edited it, check it against the registry's documentation",
			}
		},
	},
	{
		match: contains("configuration path unspecified"),
		diag: func([]string) Diagnosis {
			return Diagnosis{
				Cause: "the registry was started without a config file",
				Fix:   "the image's command must be `serve CONFIG`: use the vendor's image, or re-run `paxsetup init`",
			}
		},
	},
	{
		match: func(line string) []string {
			for _, s := range []string{"tls: failed to find any PEM data", "tls: private key does not match public key", "tls: failed to parse private key"} {
				if strings.Contains(line, s) {
					return []string{line}
				}
			}
			return nil
		},
		diag: func([]string) Diagnosis {
			return Diagnosis{
				Cause: "the server certificate or key is unreadable, or they do not belong together",
				Fix:   "run `paxsetup init --force` to issue a new server certificate from the same CA",
			}
		},
	},
	{
		// The engine's words when the command is not a program in the
		// image: an image without the registry as its ENTRYPOINT, given
		// `serve CONFIG` as its command.
		match: contains("executable file not found"),
		diag: func([]string) Diagnosis {
			return Diagnosis{
				Cause: "the container's command is not a program in the image: paxsetup passes `serve CONFIG`, which needs the registry as the image's ENTRYPOINT",
				Fix:   "use the vendor's spectro-registry image (its ENTRYPOINT is the registry), or an image built the same way",
			}
		},
	},
	{
		match: contains("exec format error"),
		diag: func([]string) Diagnosis {
			return Diagnosis{
				Cause: "the image is built for another CPU architecture than this host's",
				Fix:   "use the image for this host's architecture (`docker image inspect IMAGE --format '{{.Architecture}}'`)",
			}
		},
	},
}

// Diagnose maps a stopped container's state and its last log lines to known
// causes, most specific first, each cause once. It returns nil when nothing
// is recognised: the log lines are then the operator's best guide.
func Diagnose(c Container, logs string) []Diagnosis {
	var out []Diagnosis
	seen := map[string]bool{}
	add := func(d Diagnosis) {
		if !seen[d.Cause] {
			seen[d.Cause] = true
			out = append(out, d)
		}
	}
	if c.OOMKilled {
		add(Diagnosis{
			Evidence: "the engine reports OOMKilled",
			Cause:    "the kernel killed the registry for using too much memory",
			Fix:      "give the host or the container more memory",
		})
	}
	lines := strings.Split(strings.ReplaceAll(logs, "\r\n", "\n"), "\n")
	if c.Error != "" {
		lines = append(lines, c.Error)
	}
	for _, line := range lines {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		for _, r := range crashRules {
			if m := r.match(line); m != nil {
				d := r.diag(m)
				d.Evidence = line
				add(d)
				// One cause per line: the first rule is the most specific.
				break
			}
		}
	}
	return out
}
