package setup

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/paxsetup/paxsetup/internal/dockerctl"
	"github.com/paxsetup/paxsetup/internal/verify"
)

// watchInterval is how often a starting registry is checked for having
// exited: well within the restart policy's first back-off, so a crash is
// reported within a fraction of a second.
const watchInterval = 200 * time.Millisecond

// waitReady verifies the registry while watching the container: a registry
// that exits is reported at once with its last log lines and their known
// causes, not after the verification's timeout. Under restart=always a
// crashed registry is restarted by the engine, so a restart (the count
// passing restarts, the engine's Restarting state) counts as a crash too.
// healthy, when set, is called as soon as /health answers.
func waitReady(ctx context.Context, eng Engine, id string, vopts verify.Options, restarts int, healthy func()) (verify.Report, error) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan verify.Report, 1)
	go func() {
		timeout := vopts.Timeout
		if timeout <= 0 {
			timeout = defaultHealthTimeout
		}
		start := time.Now()
		if waitHealthFast(wctx, vopts, min(fastPollFor, timeout)) && healthy != nil {
			healthy()
		}
		// The whole wait stays within the timeout the operator gave.
		vopts.Timeout = max(timeout-time.Since(start), time.Second)
		done <- verify.Run(wctx, vopts)
	}()

	tick := time.NewTicker(watchInterval)
	defer tick.Stop()
	for {
		select {
		case rep := <-done:
			if err := ctx.Err(); err != nil {
				return rep, err
			}
			if !rep.OK() {
				// More lines than are shown: an ACME failure is logged once,
				// then buried under the handshakes that waited for it.
				logs, _ := eng.Logs(context.WithoutCancel(ctx), id, acmeLogLines)
				return rep, fmt.Errorf("%w: %s%s%s", ErrVerifyFailed, describeFailures(rep), acmeSection(logs, vopts.Endpoint), logSection(lastLines(logs, crashLogLines)))
			}
			return rep, nil
		case <-tick.C:
			c, err := eng.Inspect(wctx, id)
			if err != nil {
				if ctx.Err() != nil {
					<-done
					return verify.Report{}, ctx.Err()
				}
				return verify.Report{}, err
			}
			if !c.Running || c.Restarting || c.RestartCount > restarts {
				cancel()
				<-done
				logs, _ := eng.Logs(context.WithoutCancel(ctx), id, crashLogLines)
				return verify.Report{}, crashError(c, logs)
			}
		}
	}
}

// Polling of a registry that has just been started: every 50 ms for its
// first seconds, as an operator's curl loop would. verify.Run backs off
// (50 ms doubling to 1 s), which suits a registry that is slow to answer but
// makes a fresh one that boots in 0.6 s wait until the 0.75 s poll, or the
// 1.55 s one; after fastPollFor, verify.Run's own schedule takes over.
const (
	fastPoll    = 50 * time.Millisecond
	fastPollFor = 10 * time.Second
	// defaultHealthTimeout is verify.Run's own default.
	defaultHealthTimeout = 60 * time.Second
)

// waitHealthFast returns once GET /health answers 200, reporting true, or
// after limit; the verification that follows reports whatever is wrong.
func waitHealthFast(ctx context.Context, vopts verify.Options, limit time.Duration) bool {
	u, err := url.Parse(vopts.Endpoint)
	if err != nil || u.Host == "" {
		return false
	}
	dialer := &net.Dialer{Timeout: time.Second}
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{
			RootCAs: vopts.RootCAs, ServerName: u.Hostname(),
			InsecureSkipVerify: vopts.Insecure, // the operator's --insecure
			MinVersion:         tls.VersionTLS12,
		},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if vopts.DialAddr != "" {
				addr = vopts.DialAddr
			}
			return dialer.DialContext(ctx, network, addr)
		},
		// A connection the engine's proxy accepted before the registry
		// listened is dead: never reuse one.
		DisableKeepAlives: true,
	}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 2 * time.Second}
	health := u.JoinPath("/health").String()
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	tick := time.NewTicker(fastPoll)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, health, nil)
		if err != nil {
			return false
		}
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
		} else if strings.Contains(err.Error(), "remote error: tls:") {
			// The registry refused the handshake (a TLS alert), which
			// waiting will not change. In Let's Encrypt mode each new
			// handshake after a failed order starts another order, and the
			// CA counts failed validations (Let's Encrypt: 5 an hour).
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
	}
}

// crashError reports a registry that exited: its exit code, the known causes
// in its logs with their fixes, and its last log lines.
func crashError(c dockerctl.Container, logs string) error {
	var b strings.Builder
	if c.Running && !c.Restarting {
		// Restarted by the engine already: its state no longer holds the
		// exit code.
		fmt.Fprintf(&b, "%v right after starting and was restarted by the engine", ErrContainerCrash)
	} else {
		fmt.Fprintf(&b, "%v with code %d right after starting", ErrContainerCrash, c.ExitCode)
	}
	for _, d := range dockerctl.Diagnose(c, logs) {
		fmt.Fprintf(&b, "\n  cause: %s\n  fix:   %s", d.Cause, d.Fix)
	}
	b.WriteString(logSection(logs))
	return &crash{msg: b.String()}
}

// crash is ErrContainerCrash with its report.
type crash struct{ msg string }

func (e *crash) Error() string { return e.msg }
func (e *crash) Unwrap() error { return ErrContainerCrash }

// acmeLogLines is how much of the registry's log is searched for an ACME
// error.
const acmeLogLines = 2000

// acmeSection is the cause and fix of an ACME failure in the registry's
// log, when there is one.
func acmeSection(logs, endpoint string) string {
	host := endpoint
	if u, err := url.Parse(endpoint); err == nil {
		host = u.Hostname()
	}
	var b strings.Builder
	for _, d := range dockerctl.DiagnoseACME(logs, host, "") {
		fmt.Fprintf(&b, "\n  the registry could not get its certificate: %s\n  fix:   %s\n  log:   %s", d.Cause, d.Fix, d.Evidence)
	}
	return b.String()
}

// lastLines is the end of logs, n lines at most.
func lastLines(logs string, n int) string {
	lines := strings.Split(strings.TrimRight(logs, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func logSection(logs string) string {
	if strings.TrimSpace(logs) == "" {
		return ""
	}
	return fmt.Sprintf("\n  its last log lines:\n%s", indent(indent(logs)))
}

func describeFailures(rep verify.Report) string {
	var parts []string
	for _, c := range rep.Failed() {
		s := c.Name + ": " + c.Detail
		if c.Fix != "" {
			s += " (fix: " + c.Fix + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return "  (no output)"
	}
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}
