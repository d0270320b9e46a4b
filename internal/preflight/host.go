package preflight

import (
	"context"
	"net"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/disk"
	"github.com/shirou/gopsutil/v4/mem"
	gnet "github.com/shirou/gopsutil/v4/net"
	"github.com/shirou/gopsutil/v4/process"

	"github.com/paxsetup/paxsetup/internal/hostinfo"
	"github.com/paxsetup/paxsetup/internal/s3probe"
	"github.com/paxsetup/paxsetup/internal/secretenv"
)

// withDefaults fills every nil field with the real host.
func (d Deps) withDefaults() Deps {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Listen == nil {
		d.Listen = net.Listen
	}
	if d.PortHolders == nil {
		d.PortHolders = portHolders
	}
	if d.CPUs == nil {
		d.CPUs = func(ctx context.Context) (int, error) { return cpu.CountsWithContext(ctx, true) }
	}
	if d.Memory == nil {
		d.Memory = func(ctx context.Context) (uint64, error) {
			v, err := mem.VirtualMemoryWithContext(ctx)
			if err != nil {
				return 0, err
			}
			return v.Total, nil
		}
	}
	if d.DiskFree == nil {
		d.DiskFree = func(ctx context.Context, path string) (uint64, error) {
			u, err := disk.UsageWithContext(ctx, path)
			if err != nil {
				return 0, err
			}
			return u.Free, nil
		}
	}
	if d.ProbeS3 == nil {
		d.ProbeS3 = func(ctx context.Context, t s3probe.Target) (s3probe.Result, error) {
			return s3probe.Probe(ctx, nil, t)
		}
	}
	if d.LookupHost == nil {
		d.LookupHost = net.DefaultResolver.LookupHost
	}
	if d.HostIPs == nil {
		d.HostIPs = hostinfo.IPs
	}
	if d.ReadFile == nil {
		d.ReadFile = os.ReadFile
	}
	if d.LookPath == nil {
		d.LookPath = exec.LookPath
	}
	if d.Command == nil {
		d.Command = func(ctx context.Context, name string, args ...string) (string, error) {
			cmd := exec.CommandContext(ctx, name, args...)
			cmd.Env = secretenv.Environ()
			out, err := cmd.CombinedOutput()
			return string(out), err
		}
	}
	return d
}

// portHolders finds the processes with a TCP socket listening on port. The
// owner of a socket is found through /proc/PID/fd, which only root can read
// for other users' processes: those come back with PID 0.
func portHolders(ctx context.Context, port int) ([]Process, error) {
	conns, err := gnet.ConnectionsWithContext(ctx, "tcp")
	if err != nil {
		return nil, err
	}
	seen := map[int32]bool{}
	var out []Process
	for _, c := range conns {
		if c.Status != "LISTEN" || int(c.Laddr.Port) != port || seen[c.Pid] {
			continue
		}
		seen[c.Pid] = true
		p := Process{PID: c.Pid}
		if c.Pid > 0 {
			if proc, err := process.NewProcessWithContext(ctx, c.Pid); err == nil {
				p.Name, _ = proc.NameWithContext(ctx)
			}
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PID < out[j].PID })
	return out, nil
}

// readTrimmed reads a one-value file of /proc or /sys.
func (e *env) readTrimmed(path string) (string, error) {
	b, err := e.d.ReadFile(path)
	return strings.TrimSpace(string(b)), err
}
