package main

import (
	"bytes"
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// liveFiles reads every file of the setup that a registry reads or a run
// rewrites, by path, leaving out what a dry run stages beside them.
func liveFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if info.IsDir() && (rel == "data" || rel == "dry-run") {
			return filepath.SkipDir
		}
		if info.Mode().IsRegular() && rel != ".lock" {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			files[rel] = info.Mode().String() + " " + string(data)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestRefusedAndDryRunsLeaveTheLiveSetup runs what must not change a live
// registry: a run refused after its checks, and dry runs that would rotate
// the passwords and the certificate. The live files stay byte-identical, the
// old passwords still log in, and a user of the refused run does not.
func TestRefusedAndDryRunsLeaveTheLiveSetup(t *testing.T) {
	s := newFaultSetup(t, filepath.Join(t.TempDir(), "setup"), []string{"PAXSETUP_ADMIN_PASSWORD=" + adminPW, "PAXSETUP_READER_PASSWORD=" + readerPW})
	dir, port, base := s.dir, s.port, s.base
	before := liveFiles(t, dir)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
	}{
		{"a new admin and a name the certificate lacks", []string{"--admin-user", "newadmin", "--san", "other.example"}, 2, "--force"},
		{"a dry run with --force", []string{"--dry-run", "--force"}, 0, "the live setup in " + dir + " is untouched"},
		{"a dry run with another log level", []string{"--dry-run", "--log-level", "debug"}, 0, "dry-run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runBinary(t, []string{"PAXSETUP_ADMIN_PASSWORD=another-password-0000"}, append(append([]string{}, base...), tt.args...)...)
			if r.code != tt.wantCode || !strings.Contains(r.stdout+r.stderr, tt.wantOut) {
				t.Fatalf("exit %d, want %d and %q:\n%s%s", r.code, tt.wantCode, tt.wantOut, r.stdout, r.stderr)
			}
			after := liveFiles(t, dir)
			for f, v := range before {
				if after[f] != v {
					t.Errorf("%s changed", f)
				}
			}
			for f := range after {
				if _, ok := before[f]; !ok {
					t.Errorf("%s appeared", f)
				}
			}
			c := registryClient(t, filepath.Join(dir, "certs", "ca.crt"), e2eHost, port)
			if got := status(t, c, "https://"+e2eHost+"/v2/", "admin", adminPW); got != 200 {
				t.Errorf("the old admin password: %d", got)
			}
			if got := status(t, c, "https://"+e2eHost+"/v2/", "newadmin", "another-password-0000"); got != 401 {
				t.Errorf("a user of the refused run logs in: %d", got)
			}
		})
	}
}

// TestSymlinkInTheSetupIsRefused links auth/htpasswd-basic to a file outside
// the setup: init and users refuse it, naming --dir, and neither the link
// nor its target changes.
func TestSymlinkInTheSetupIsRefused(t *testing.T) {
	work := t.TempDir()
	dir := filepath.Join(work, "setup")
	if err := os.MkdirAll(filepath.Join(dir, "auth"), 0o755); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(work, "other-htpasswd")
	content := "someone:$2y$04$3OPlxGRs5MhndtxzSnaU7OhVKYjOLjfD7mTjePA/MX0KjuY9zI2Kq\n"
	if err := os.WriteFile(target, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "auth", "htpasswd-basic")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	pw := writeSecret(t, work, "pw", "a-new-password-1234")
	for _, args := range [][]string{
		{"init", "--yes", "--host", e2eHost, "--dir", dir, "--dry-run"},
		{"users", "add", "viewer", "--password-file", pw, "--dir", dir},
	} {
		r := runBinary(t, nil, args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, "--dir") || !strings.Contains(r.stderr, "symbolic link") {
			t.Errorf("%v: exit %d, want %d naming --dir and the link:\n%s%s", args, r.code, exitUsage, r.stdout, r.stderr)
		}
		if got, err := os.Readlink(link); err != nil || got != target {
			t.Errorf("%v: the link is now %q (%v)", args, got, err)
		}
		if data, _ := os.ReadFile(target); string(data) != content {
			t.Errorf("%v: the link's target changed: %q", args, data)
		}
	}
}

// servedCert is the certificate the registry presents on 127.0.0.1:port.
func servedCert(t *testing.T, port int) []byte {
	t.Helper()
	conn, err := tls.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), &tls.Config{InsecureSkipVerify: true, ServerName: e2eHost})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].Raw
}

// TestFailedRunPutsTheFilesBack replaces the certificate and the admin's
// password in a run whose new image crashes: the previous registry comes
// back with the previous files, byte for byte, so its old password and
// certificate are what it serves, and the run leaves no copy behind.
func TestFailedRunPutsTheFilesBack(t *testing.T) {
	img := standInImage(t)
	s := newLifecycleSetup(t)
	if r := s.init(img); r.code != 0 {
		t.Fatalf("init exited %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	before := liveFiles(t, s.dir)
	cert := servedCert(t, s.port)
	broken := s.buildImage("paxsetup-test-broken:"+strings.TrimPrefix(s.name, "paxsetup-test-"), "FROM "+img+"\nCMD [\"serve\", \"/missing.yml\"]\n")
	newPW := writeSecret(t, t.TempDir(), "new.pw", "a-brand-new-password-77")
	r := runBinary(t, nil, "init", "--yes", "--host", e2eHost, "--san", "127.0.0.1", "--port", strconv.Itoa(s.port),
		"--dir", s.dir, "--image", broken, "--pull", "never", "--name", s.name, "--force", "--timeout", "30s",
		"--admin-password-file", newPW, "--reader-password-file", s.readerFile, "--no-color")
	if r.code != exitError || !strings.Contains(r.stderr, "previous registry was restored") {
		t.Fatalf("exit %d, want %d and the previous registry restored:\n%s%s", r.code, exitError, r.stdout, r.stderr)
	}
	after := liveFiles(t, s.dir)
	for f, v := range before {
		if after[f] != v {
			t.Errorf("%s was not put back", f)
		}
	}
	for f := range after {
		if _, ok := before[f]; !ok {
			t.Errorf("%s was left by the failed run", f)
		}
	}
	for _, left := range []string{".previous", "swap-journal.json"} {
		if _, err := os.Stat(filepath.Join(s.dir, left)); !os.IsNotExist(err) {
			t.Errorf("%s is left behind: %v", left, err)
		}
	}
	if !serves(t, s.dir, s.port, 15*time.Second) {
		t.Fatal("the previous registry does not serve")
	}
	if got := servedCert(t, s.port); !bytes.Equal(got, cert) {
		t.Error("the previous registry serves another certificate than before")
	}
	c := registryClient(t, filepath.Join(s.dir, "certs", "ca.crt"), e2eHost, s.port)
	if got := status(t, c, "https://"+e2eHost+"/v2/", "admin", adminPW); got != 200 {
		t.Errorf("the old admin password: %d", got)
	}
	if got := status(t, c, "https://"+e2eHost+"/v2/", "admin", "a-brand-new-password-77"); got != 401 {
		t.Errorf("the failed run's password logs in: %d", got)
	}
}
