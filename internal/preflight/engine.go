package preflight

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/paxsetup/paxsetup/internal/dockerctl"
)

// errNoEngine stands for a Deps without an engine.
var errNoEngine = errors.New("no Docker engine was given to check")

// Check names that do not depend on the options. Port checks are named
// "port N"; the mode's checks are named after it.
const (
	CheckDocker   = "docker"
	CheckCPU      = "cpu"
	CheckMemory   = "memory"
	CheckDisk     = "disk"
	CheckHostName = "host name"
	CheckClock    = "clock"
	CheckSELinux  = "selinux"
	CheckFirewall = "firewall"
)

// minAPIVersion is the oldest engine API the moby client negotiates down to
// (Docker 19.03); an older engine refuses its requests.
const minAPIVersion = "1.40"

func (e *env) engineChecks(context.Context) []Check {
	if e.engErr != nil {
		return []Check{engineError(e.engErr)}
	}
	if e.infoErr != nil {
		return []Check{{Name: CheckDocker, Status: Fail,
			Detail: "the Docker engine answered, but not with its version: " + e.infoErr.Error(),
			Fix:    "check the engine with `docker info`; restart it (sudo systemctl restart docker)"}}
	}
	i := e.info
	mode := "rootful"
	if i.Rootless {
		mode = "rootless"
	}
	on := ""
	if i.OperatingSystem != "" {
		on = " on " + i.OperatingSystem
	}
	if i.Arch != "" {
		on += " (" + i.Arch + ")"
	}
	product := "Docker"
	if i.Podman {
		product = "Podman"
	}
	api := "API " + i.APIVersion
	if i.ClientAPIVersion != "" && i.ClientAPIVersion != i.APIVersion {
		api += ", using " + i.ClientAPIVersion
	}
	at := ""
	if i.Host != "" {
		at = " at " + i.Host
	}
	detail := fmt.Sprintf("%s %s (%s)%s%s, %s, usable by this user", product, i.Version, api, at, on, mode)
	switch {
	case i.OS != "" && i.OS != "linux":
		return []Check{{Name: CheckDocker, Status: Fail,
			Detail: fmt.Sprintf("the engine runs %s containers; the registry image is a Linux image", i.OS),
			Fix:    "switch the engine to Linux containers, or use a Linux host"}}
	case i.APIVersion != "" && versionLess(i.APIVersion, minAPIVersion):
		return []Check{{Name: CheckDocker, Status: Fail,
			Detail: fmt.Sprintf("Docker %s speaks API %s; paxsetup needs %s or later (Docker 19.03+)", i.Version, i.APIVersion, minAPIVersion),
			Fix:    "upgrade the Docker engine"}}
	}
	return []Check{{Name: CheckDocker, Status: OK, Detail: detail}}
}

// engineError turns a failure to reach the engine into its check; dockerctl
// has already named the address and the cause.
func engineError(err error) Check {
	c := Check{Name: CheckDocker, Status: Fail, Detail: err.Error()}
	switch {
	case errors.Is(err, dockerctl.ErrPermission):
		c.Detail = "this user may not use the Docker engine: " + cutFix(err.Error())
		c.Fix = "add the user to the docker group (sudo usermod -aG docker $USER) and log in again, or run paxsetup with sudo"
	case errors.Is(err, dockerctl.ErrEngineUnreachable):
		c.Detail = "no Docker engine answers: " + cutFix(err.Error())
		c.Fix = "start it (sudo systemctl start docker), install it if missing (Debian/Ubuntu: sudo apt install docker.io), or set DOCKER_HOST"
	case errors.Is(err, errNoEngine):
		c.Fix = "start a Docker engine and run paxsetup preflight again"
	case errors.Is(err, context.DeadlineExceeded):
		c.Detail = fmt.Sprintf("the Docker engine did not answer within %s: %v", checkTimeout, err)
		c.Fix = "check the engine: sudo systemctl status docker, docker info"
	default:
		c.Fix = "check DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH, then `docker info`"
	}
	return c
}

// cutFix drops the fix dockerctl appends after the cause ("...: start the
// Docker engine ..."), since the check has its own Fix field.
func cutFix(msg string) string {
	for _, marker := range []string{": start the Docker engine", ": add your user to the docker group"} {
		if i := strings.Index(msg, marker); i >= 0 {
			return msg[:i]
		}
	}
	return msg
}

// versionLess compares dotted API versions numerically ("1.9" < "1.40").
func versionLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(as), len(bs)); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}

// Clock skew limits. The engine's host stamps the registry's logs and, in
// Let's Encrypt mode, judges ACME certificates; paxsetup's certificates
// start an hour in the past (certgen backdates them), so beyond an hour of
// skew a fresh certificate is not yet valid on the engine's side.
const (
	clockWarn = time.Minute
	clockFail = time.Hour
)

func (e *env) clockChecks(ctx context.Context) []Check {
	if e.d.EngineClock == nil || !e.engineUsable() {
		return nil
	}
	before := e.d.Now()
	engine, err := e.d.EngineClock(ctx)
	after := e.d.Now()
	if err != nil {
		return []Check{{Name: CheckClock, Status: Warn, Detail: "could not read the engine's clock: " + err.Error()}}
	}
	// The engine read its clock somewhere during the request: compare with
	// the middle of it.
	local := before.Add(after.Sub(before) / 2)
	skew := engine.Sub(local)
	abs := skew.Abs()
	ahead := "ahead of"
	if skew < 0 {
		ahead = "behind"
	}
	detail := fmt.Sprintf("the engine's clock is %s %s this host's", abs.Round(time.Second), ahead)
	fix := "enable time sync on both hosts (timedatectl set-ntp true; chrony or systemd-timesyncd)"
	switch {
	case abs > clockFail:
		return []Check{{Name: CheckClock, Status: Fail, Detail: detail + ": certificates made now look not yet valid, or expired, on one side", Fix: fix}}
	case abs > clockWarn:
		return []Check{{Name: CheckClock, Status: Warn, Detail: detail + ": log times disagree, and larger skew breaks certificate validity", Fix: fix}}
	}
	return []Check{{Name: CheckClock, Status: OK, Detail: fmt.Sprintf("the engine's clock agrees with this host's (within %s)", max(abs.Round(time.Second), time.Second))}}
}
