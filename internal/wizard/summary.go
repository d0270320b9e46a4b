package wizard

import (
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/paxsetup/paxsetup/internal/config"
)

// Summary tells the operator everything an init run with res will do, before
// it does it; dockerRun is the equivalent `docker run` command, if known.
func Summary(dir string, res Result, hostIPs []string, dockerRun string) string {
	a := res.Answers
	var b strings.Builder
	scheme := "https"
	if a.Mode == config.ModeHTTP {
		scheme = "http"
	}
	fmt.Fprintf(&b, "Registry  %s://%s (%s mode)\n", scheme, net.JoinHostPort(a.Host, strconv.Itoa(a.Port)), a.Mode)
	fmt.Fprintf(&b, "Users     %s (read-write) %s, %s (read-only) %s\n",
		a.AdminUser, passwordPlan(res.AdminPassword, res), a.ReaderUser, passwordPlan(res.ReaderPassword, res))
	fmt.Fprintf(&b, "Files     %s\n", filepath.Join(dir, "auth", "htpasswd-basic"))
	switch a.Mode {
	case config.ModeSelfSigned:
		names := Union(append([]string{a.Host}, a.SANs...), hostIPs)
		cert := "reused if it still fits"
		if res.RenewCert || res.Force {
			cert = "new, from the same CA"
		}
		fmt.Fprintf(&b, "          %s (CA, server certificate %s; names %s)\n",
			filepath.Join(dir, "certs"), cert, strings.Join(names, ", "))
	case config.ModeCustom:
		fmt.Fprintf(&b, "          %s (copied from %s)\n", filepath.Join(dir, "certs"), a.CertFile)
	case config.ModeLetsEncrypt:
		fmt.Fprintf(&b, "          %s (Let's Encrypt for %s, notices to %s)\n", filepath.Join(dir, "config"), a.Host, a.Email)
	}
	fmt.Fprintf(&b, "          %s (answers, no secrets)\n", filepath.Join(dir, config.FileName))
	storage := filepath.Join(dir, "data") + " (kept across restarts, never deleted)"
	switch a.Storage {
	case "inmemory":
		storage = "in memory: every pack is lost when the container restarts"
	case "s3":
		if a.S3 != nil {
			storage = "S3 bucket " + a.S3.Bucket
		}
	}
	fmt.Fprintf(&b, "Packs     %s\n", storage)
	fmt.Fprintf(&b, "Container %s from %s, port %d -> 5000, restart always\n", a.Name, a.Image, a.Port)
	fmt.Fprintf(&b, "Replay    paxsetup init --yes --dir %s", dir)
	if dockerRun != "" {
		fmt.Fprintf(&b, "\nLike      %s", dockerRun)
	}
	return b.String()
}

func passwordPlan(p Password, res Result) string {
	switch {
	case p.Source == SourceTyped:
		return "with the password you typed"
	case p.Value != "":
		return "with the password from " + p.Source
	case res.Rerun && !res.Force:
		return "keeping its password"
	default:
		return "with a generated password"
	}
}
