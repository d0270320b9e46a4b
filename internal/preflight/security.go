package preflight

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

const selinuxEnforce = "/sys/fs/selinux/enforce"

func (e *env) checkSELinux(context.Context) Check {
	v, err := e.readTrimmed(selinuxEnforce)
	switch {
	case err != nil:
		return Check{Name: CheckSELinux, Status: OK, Detail: "SELinux is not enabled"}
	case v == "0":
		return Check{Name: CheckSELinux, Status: OK, Detail: "SELinux is permissive"}
	case e.engineUsable() && e.info.SELinux:
		// init relabels the bind mounts (:Z) on an engine that labels
		// containers (setup sets dockerctl.Spec.Relabel from it).
		return Check{Name: CheckSELinux, Status: OK,
			Detail: "SELinux is enforcing and the engine labels containers: init relabels the bind mounts (:Z) so the registry can read them"}
	case e.engineUsable():
		return Check{Name: CheckSELinux, Status: OK,
			Detail: "SELinux is enforcing, but the engine does not label containers (no --selinux-enabled): the mounts need no label"}
	}
	dir := e.opts.Dir
	if dir == "" {
		dir = "the setup's folder"
	}
	return Check{Name: CheckSELinux, Status: Warn,
		Detail: "SELinux is enforcing, and whether the engine labels containers is unknown: a labelled registry can read its bind-mounted folders (auth, certs, data) only if they carry a container label",
		Fix: fmt.Sprintf("label them once: sudo semanage fcontext -a -t container_file_t '%s(/.*)?' && sudo restorecon -R %s (or sudo chcon -R -t container_file_t %s)",
			dir, dir, dir)}
}

// firewallChecks look at the host firewalls that may drop connections to
// the registry's ports: firewalld, else ufw, else a bare nftables ruleset
// (firewalld and ufw write nftables rules too, which are theirs to manage).
// Docker's own rules let published ports through many setups, so a closed
// port here is a warning: clients may still fail to connect.
func (e *env) firewallChecks(ctx context.Context) []Check {
	ports := e.ports()
	if len(ports) == 0 {
		return nil
	}
	if c, ok := e.firewalld(ctx, ports); ok {
		return []Check{c}
	}
	if c, ok := e.ufw(ctx, ports); ok {
		return []Check{c}
	}
	if c, ok := e.nftables(ctx, ports); ok {
		return []Check{c}
	}
	return []Check{{Name: CheckFirewall, Status: OK, Detail: "no active host firewall found (firewalld, ufw, nftables)"}}
}

func (e *env) have(cmd string) bool {
	_, err := e.d.LookPath(cmd)
	return err == nil
}

func portList(ports []int) string {
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = strconv.Itoa(p) + "/tcp"
	}
	return strings.Join(s, ", ")
}

func (e *env) firewalld(ctx context.Context, ports []int) (Check, bool) {
	if !e.have("firewall-cmd") {
		return Check{}, false
	}
	state, _ := e.d.Command(ctx, "firewall-cmd", "--state")
	if strings.TrimSpace(state) != "running" {
		return Check{}, false
	}
	services := map[int]string{80: "http", 443: "https"}
	var closed, cmds []string
	for _, p := range ports {
		out, _ := e.d.Command(ctx, "firewall-cmd", "--query-port="+strconv.Itoa(p)+"/tcp")
		open := strings.TrimSpace(out) == "yes"
		if svc, ok := services[p]; ok && !open {
			out, _ := e.d.Command(ctx, "firewall-cmd", "--query-service="+svc)
			open = strings.TrimSpace(out) == "yes"
		}
		if !open {
			closed = append(closed, strconv.Itoa(p)+"/tcp")
			cmds = append(cmds, "--add-port="+strconv.Itoa(p)+"/tcp")
		}
	}
	if len(closed) == 0 {
		return Check{Name: CheckFirewall, Status: OK, Detail: "firewalld is running and allows " + portList(ports)}, true
	}
	return Check{Name: CheckFirewall, Status: Warn,
		Detail: fmt.Sprintf("firewalld is running and its default zone does not open %s: clients may not reach the registry", strings.Join(closed, ", ")),
		Fix:    fmt.Sprintf("sudo firewall-cmd --permanent %s && sudo firewall-cmd --reload", strings.Join(cmds, " "))}, true
}

func (e *env) ufw(ctx context.Context, ports []int) (Check, bool) {
	if !e.have("ufw") {
		return Check{}, false
	}
	out, err := e.d.Command(ctx, "ufw", "status")
	switch {
	case strings.Contains(out, "Status: inactive"):
		return Check{}, false
	case err != nil || !strings.Contains(out, "Status: active"):
		return Check{Name: CheckFirewall, Status: OK,
			Detail: "ufw is installed; its rules could not be read without root (if it is active: sudo ufw allow " + strconv.Itoa(ports[0]) + "/tcp)"}, true
	}
	var closed, cmds []string
	for _, p := range ports {
		if !ufwAllows(out, p) {
			closed = append(closed, strconv.Itoa(p)+"/tcp")
			cmds = append(cmds, "sudo ufw allow "+strconv.Itoa(p)+"/tcp")
		}
	}
	if len(closed) == 0 {
		return Check{Name: CheckFirewall, Status: OK, Detail: "ufw is active and allows " + portList(ports)}, true
	}
	return Check{Name: CheckFirewall, Status: Warn,
		Detail: fmt.Sprintf("ufw is active and has no rule allowing %s: clients may not reach the registry", strings.Join(closed, ", ")),
		Fix:    strings.Join(cmds, " && ")}, true
}

// ufwAllows reads `ufw status` lines such as "443/tcp  ALLOW  Anywhere",
// "443  ALLOW IN  Anywhere" or "8000:8100/tcp  ALLOW  Anywhere".
func ufwAllows(status string, port int) bool {
	for _, line := range strings.Split(status, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || !strings.Contains(line, "ALLOW") {
			continue
		}
		spec, proto, _ := strings.Cut(f[0], "/")
		if proto != "" && proto != "tcp" {
			continue
		}
		if portIn(spec, ":", port) {
			return true
		}
	}
	return false
}

// portIn reads "443", or a range "8000<sep>8100", and reports whether port
// is in it.
func portIn(spec, sep string, port int) bool {
	lo, hi, isRange := strings.Cut(spec, sep)
	a, err := strconv.Atoi(lo)
	if err != nil {
		if p, ok := servicePorts[lo]; ok && !isRange {
			return p == port
		}
		return false
	}
	if !isRange {
		return a == port
	}
	b, err := strconv.Atoi(hi)
	return err == nil && a <= port && port <= b
}

// servicePorts are the service names nft and ufw print for the ports a
// registry uses.
var servicePorts = map[string]int{"http": 80, "https": 443, "http-alt": 8080, "pcsync-https": 8443}

func (e *env) nftables(ctx context.Context, ports []int) (Check, bool) {
	if !e.have("nft") {
		return Check{}, false
	}
	out, err := e.d.Command(ctx, "nft", "list", "ruleset")
	if err != nil {
		return Check{Name: CheckFirewall, Status: OK,
			Detail: "the nftables ruleset could not be read without root; not checked"}, true
	}
	chains := parseNft(out)
	var msgs, cmds []string
	dropping := 0
	for _, ch := range chains {
		if !ch.inputDrop {
			continue
		}
		dropping++
		for _, p := range ports {
			if !ch.accepts(p) {
				msgs = append(msgs, fmt.Sprintf("%d/tcp by chain %s %s %s", p, ch.family, ch.table, ch.name))
				cmds = append(cmds, fmt.Sprintf("sudo nft add rule %s %s %s tcp dport %d accept", ch.family, ch.table, ch.name, p))
			}
		}
	}
	switch {
	case dropping == 0:
		return Check{}, false
	case len(msgs) == 0:
		return Check{Name: CheckFirewall, Status: OK, Detail: "nftables drops input by default and accepts " + portList(ports)}, true
	}
	return Check{Name: CheckFirewall, Status: Warn,
		Detail: "nftables drops incoming connections by default, and no rule accepts " + strings.Join(msgs, "; ") + ": clients may not reach the registry",
		Fix:    strings.Join(cmds, " && ") + " (and add the rule to /etc/nftables.conf to keep it)"}, true
}

// nftChain is a base chain of `nft list ruleset`, as far as the firewall
// check needs it.
type nftChain struct {
	family, table, name string
	inputDrop           bool
	accepted            []string // dport specs of accept rules
}

func (c nftChain) accepts(port int) bool {
	for _, spec := range c.accepted {
		if portIn(spec, "-", port) {
			return true
		}
	}
	return false
}

// parseNft reads the chains of `nft list ruleset`: which hook the input
// with a drop policy, and the destination ports their rules accept.
func parseNft(ruleset string) []nftChain {
	var chains []nftChain
	var family, table string
	cur := -1
	depth := 0
	for _, raw := range strings.Split(ruleset, "\n") {
		line := strings.TrimSpace(raw)
		f := strings.Fields(line)
		switch {
		case depth == 0 && len(f) >= 3 && f[0] == "table":
			family, table = f[1], f[2]
		case depth == 1 && len(f) >= 2 && f[0] == "chain":
			chains = append(chains, nftChain{family: family, table: table, name: f[1]})
			cur = len(chains) - 1
		case depth == 2 && cur >= 0:
			ch := &chains[cur]
			if strings.Contains(line, "hook input") && strings.Contains(line, "policy drop") {
				ch.inputDrop = true
			}
			if strings.HasSuffix(line, "accept") {
				ch.accepted = append(ch.accepted, dports(f)...)
			}
		}
		depth += strings.Count(line, "{") - strings.Count(line, "}")
		if depth < 2 {
			cur = -1
		}
	}
	return chains
}

// dports returns the port specs after "dport" in a rule's fields: "443",
// "8000-8100", "https", or each member of "{ 22, 443 }".
func dports(f []string) []string {
	for i, w := range f {
		if w != "dport" || i+1 >= len(f) {
			continue
		}
		if f[i+1] != "{" {
			return []string{f[i+1]}
		}
		var out []string
		for _, m := range f[i+2:] {
			if m == "}" {
				break
			}
			out = append(out, strings.TrimSuffix(m, ","))
		}
		return out
	}
	return nil
}
