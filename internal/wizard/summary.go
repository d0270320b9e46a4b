package wizard

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/paxsetup/paxsetup/internal/answers"
	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/layout"
)

// SummaryWidth is the width the summary is wrapped to: it must read on an
// 80-column terminal.
const SummaryWidth = 80

// summaryIndent is where the values of the summary start.
const summaryIndent = 11

// Summary tells the operator everything an init run with res will do, before
// it does it, as plain lines of at most width columns (SummaryWidth when 0).
func Summary(dir string, res Result, hostIPs []string, width int) string {
	if width <= 0 || width > SummaryWidth {
		width = SummaryWidth
	}
	a := res.Answers
	var b strings.Builder
	line := func(label, format string, args ...any) {
		b.WriteString(WrapIndented(label, summaryIndent, fmt.Sprintf(format, args...), width))
	}
	line("Registry", "%s (%s mode)", a.Endpoint(), a.Mode)
	line("Logins", "%s %s; %s, for Palette, %s. The registry gives every login the same rights.",
		a.AdminUser, passwordPlan(res.AdminPassword, res), a.ReaderUser, passwordPlan(res.ReaderPassword, res))
	switch a.Mode {
	case config.ModeSelfSigned:
		names := append([]string{a.Host}, answers.CertSANs(a, hostIPs)...)
		cert := "a new CA and server certificate"
		switch {
		case res.RenewCert || res.Force && res.Rerun:
			cert = "a new server certificate from the same CA"
		case res.Rerun:
			cert = "the CA and server certificate already there, renewed only if they no longer fit"
		}
		line("TLS", "%s, for %s", cert, strings.Join(names, ", "))
	case config.ModeCustom:
		line("TLS", "your certificate %s, checked and copied", a.CertFile)
	case config.ModeLetsEncrypt:
		line("TLS", "from Let's Encrypt for %s, notices to %s; port 443 must be reachable from the internet", a.Host, a.Email)
	case config.ModeHTTP:
		line("TLS", "none: plain HTTP, for labs")
	}
	storage := layout.Layout{Dir: dir}.Data() + " (kept across restarts, never deleted)"
	switch a.Storage {
	case "inmemory":
		storage = "in memory: every pack is lost when the container restarts"
	case "s3":
		if a.S3 != nil {
			storage = "S3 bucket " + a.S3.Bucket + "; the registry serves the layers itself"
			if a.S3.Redirect {
				storage = "S3 bucket " + a.S3.Bucket + "; clients download layers from " + s3Endpoint(a.S3) + " directly"
			}
		}
	}
	line("Packs", "%s", storage)
	line("Container", "%s, port %d, restarts always; image %s", a.Name, a.Port, a.Image)
	line("Files", "in %s; answers in %s (no secrets)", dir, config.FileName)
	return b.String()
}

// WrapIndented writes label and text as lines of at most width columns, the
// text starting at column indent on every line (after the label on the
// first). A word too long for a line (a long image name) is cut into pieces
// that each fill one.
func WrapIndented(label string, indent int, text string, width int) string {
	var b strings.Builder
	pad := strings.Repeat(" ", indent)
	room := max(width-indent, 10)
	cur := label + strings.Repeat(" ", max(1, indent-utf8.RuneCountInString(label)))
	used := 0 // columns of text on the current line
	flush := func() {
		b.WriteString(strings.TrimRight(cur, " ") + "\n")
		cur, used = pad, 0
	}
	for _, w := range strings.Fields(text) {
		runes := []rune(w)
		if used > 0 && used+1+len(runes) > room {
			flush()
		}
		for len(runes) > room {
			if used > 0 {
				flush()
			}
			cur += string(runes[:room])
			runes = runes[room:]
			used = room
			flush()
		}
		if len(runes) == 0 {
			continue
		}
		if used > 0 {
			cur += " "
			used++
		}
		cur += string(runes)
		used += len(runes)
	}
	flush()
	return b.String()
}

func passwordPlan(p answers.Password, res Result) string {
	switch {
	case p.Source == SourceTyped:
		return "with the password you typed"
	case p.Value != "":
		return "with the password from " + p.Source
	case res.Rerun && !res.Force:
		return "keeping its password"
	default:
		return "with a password paxsetup makes and shows once"
	}
}

// s3Endpoint is where the S3 client of the registry goes: the endpoint
// given, or AWS's for the region.
func s3Endpoint(s *config.S3Config) string {
	if s.RegionEndpoint != "" {
		return s.RegionEndpoint
	}
	return "S3 in " + s.Region
}
