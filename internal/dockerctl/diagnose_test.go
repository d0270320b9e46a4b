package dockerctl

import (
	"strings"
	"testing"
)

func TestDiagnose(t *testing.T) {
	// Log lines as the distribution registry (v3) prints them, through
	// logrus or, for configuration errors, straight to stderr.
	tests := []struct {
		name      string
		c         Container
		logs      string
		wantCause []string
		wantFix   []string
	}{
		{
			name:      "certificate and Let's Encrypt together",
			logs:      `time="2026-05-07T21:09:36Z" level=fatal msg="cannot specify both certificate and Let's Encrypt"`,
			wantCause: []string{"its own certificate", "Let's Encrypt at once"},
			wantFix:   []string{"paxsetup init --mode letsencrypt"},
		},
		{
			name: "serve given a config that is not there",
			logs: "configuration error: open /missing.yml: no such file or directory\n" +
				"Usage:\n  registry serve <config> [flags]\nFlags:\n  -h, --help   help for serve\n",
			wantCause: []string{"/missing.yml", "does not exist inside the container"},
			wantFix:   []string{"config/ is mounted", "paxsetup init"},
		},
		{
			name:      "certificate file missing",
			logs:      `time="2026-05-07T21:09:36Z" level=fatal msg="open /certs/tls.crt: no such file or directory"`,
			wantCause: []string{"certificate file /certs/tls.crt is missing"},
			wantFix:   []string{"re-run `paxsetup init`", "certs/"},
		},
		{
			name:      "htpasswd unreadable by a non-root image",
			logs:      `time="2026-05-07T21:09:36Z" level=fatal msg="open /auth/htpasswd-basic: permission denied"`,
			wantCause: []string{"may not read or write /auth/htpasswd-basic"},
			wantFix:   []string{"as root", "ausearch"},
		},
		{
			name:      "address in use",
			logs:      `time="2026-05-07T21:09:36Z" level=fatal msg="listen tcp :5000: bind: address already in use"`,
			wantCause: []string{"already listens on :5000"},
			wantFix:   []string{"ss -ltnp", "--port"},
		},
		{
			name:      "engine could not publish the port",
			c:         Container{Error: "driver failed programming external connectivity on endpoint r: Error starting userland proxy: listen tcp4 0.0.0.0:443: bind: address already in use"},
			wantCause: []string{"already listens on 0.0.0.0:443"},
		},
		{
			name:      "broken key pair",
			logs:      `time="2026-05-07T21:09:36Z" level=fatal msg="tls: private key does not match public key"`,
			wantCause: []string{"do not belong together"},
			wantFix:   []string{"paxsetup init --force"},
		},
		{
			name:      "config that does not parse",
			logs:      "configuration error: error parsing /etc/spectropaxconfig/myconfig.yml: yaml: line 3: did not find expected key",
			wantCause: []string{"cannot parse its config /etc/spectropaxconfig/myconfig.yml", "line 3"},
		},
		{
			name:      "out of memory",
			c:         Container{OOMKilled: true, ExitCode: 137},
			wantCause: []string{"too much memory"},
		},
		{
			name:      "wrong architecture",
			logs:      "exec /bin/registry: exec format error",
			wantCause: []string{"another CPU architecture"},
		},
		{
			name:      "an image without the registry as entrypoint",
			c:         Container{Error: `failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "serve": executable file not found in $PATH: unknown`},
			wantCause: []string{"ENTRYPOINT"},
		},
		{
			name: "nothing known",
			logs: `time="2026-05-07T21:09:36Z" level=info msg="listening on [::]:5000, tls"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Diagnose(tt.c, tt.logs)
			if len(tt.wantCause) == 0 {
				if len(got) != 0 {
					t.Errorf("Diagnose = %+v, want nothing", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("Diagnose = %+v, want one cause", got)
			}
			for _, w := range tt.wantCause {
				if !strings.Contains(got[0].Cause, w) {
					t.Errorf("cause %q lacks %q", got[0].Cause, w)
				}
			}
			for _, w := range tt.wantFix {
				if !strings.Contains(got[0].Fix, w) {
					t.Errorf("fix %q lacks %q", got[0].Fix, w)
				}
			}
			if got[0].Evidence == "" {
				t.Error("no evidence given")
			}
		})
	}
}

func TestDiagnoseRestartLoopReportsOnce(t *testing.T) {
	// A container under restart=always repeats its fatal line each run.
	line := `time="2026-05-07T21:09:36Z" level=fatal msg="open /certs/tls.crt: no such file or directory"` + "\n"
	if got := Diagnose(Container{}, strings.Repeat(line, 5)); len(got) != 1 {
		t.Errorf("Diagnose = %+v, want the cause once", got)
	}
}
