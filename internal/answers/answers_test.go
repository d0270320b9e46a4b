package answers

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/paxsetup/paxsetup/internal/config"
)

func changed(flags ...string) func(string) bool {
	return func(f string) bool { return slices.Contains(flags, f) }
}

func TestMergeOrder(t *testing.T) {
	saved := config.Answers{Host: "saved.example.com", Port: 8443, Image: "saved/image:1", SANs: []string{"10.0.0.9"}}
	tests := []struct {
		name  string
		src   Sources
		check func(t *testing.T, a config.Answers)
	}{
		{
			name: "defaults on a first run",
			src:  Sources{Changed: changed(), DefaultHost: "host.example.com"},
			check: func(t *testing.T, a config.Answers) {
				want := config.Defaults()
				want.Host = "host.example.com"
				if !equal(a, want) {
					t.Errorf("got %+v, want %+v", a, want)
				}
			},
		},
		{
			name: "saved answers beat defaults",
			src:  Sources{Changed: changed(), Saved: &saved, DefaultHost: "host.example.com"},
			check: func(t *testing.T, a config.Answers) {
				if a.Host != "saved.example.com" || a.Port != 8443 || a.Image != "saved/image:1" {
					t.Errorf("got %+v", a)
				}
				if a.Name != config.DefaultName {
					t.Errorf("a value missing from the saved file must keep its default, got name %q", a.Name)
				}
			},
		},
		{
			name: "a joined node stays one",
			src:  Sources{Changed: changed("port"), Flags: config.Answers{Port: 9443}, Saved: &config.Answers{Host: "saved.example.com", Node: &config.Node{Host: "node2.example.com"}}},
			check: func(t *testing.T, a config.Answers) {
				if a.Node == nil || a.Node.Host != "node2.example.com" || a.Port != 9443 {
					t.Errorf("got node %+v port %d", a.Node, a.Port)
				}
			},
		},
		{
			name: "flags beat saved answers, even zero",
			src: Sources{
				Flags:   config.Answers{Host: "flag.example.com", Port: 0, Image: "ignored:1", SANs: []string{"flag.san"}},
				Changed: changed("host", "port", "san"),
				Saved:   &saved,
			},
			check: func(t *testing.T, a config.Answers) {
				if a.Host != "flag.example.com" || a.Port != 0 {
					t.Errorf("got host %q port %d", a.Host, a.Port)
				}
				if a.Image != "saved/image:1" {
					t.Errorf("a flag not given must not override: image %q", a.Image)
				}
				if !slices.Equal(a.SANs, []string{"10.0.0.9", "flag.san"}) {
					t.Errorf("SANs = %v, want saved then flag", a.SANs)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.check(t, Merge(tt.src)) })
	}
}

func equal(a, b config.Answers) bool {
	return a.Mode == b.Mode && a.Host == b.Host && slices.Equal(a.SANs, b.SANs) && a.Port == b.Port &&
		a.Image == b.Image && a.Pull == b.Pull && a.Name == b.Name && a.AdminUser == b.AdminUser &&
		a.ReaderUser == b.ReaderUser && a.Storage == b.Storage && a.Days == b.Days
}

func TestValidate(t *testing.T) {
	good := config.Defaults()
	good.Host = "registry.example.com"
	tests := []struct {
		name     string
		edit     func(a *config.Answers)
		wantFlag string
		wantErr  string
	}{
		{"valid", func(a *config.Answers) {}, "", ""},
		{"IP as host", func(a *config.Answers) { a.Host = "10.1.2.3" }, "", ""},
		{"unknown mode", func(a *config.Answers) { a.Mode = "tls" }, "mode", "unknown mode"},
		{"letsencrypt without email", func(a *config.Answers) { a.Mode = "letsencrypt" }, "email", "contact address"},
		{"empty host", func(a *config.Answers) { a.Host = "" }, "host", "--host registry"},
		{"underscore host", func(a *config.Answers) { a.Host = "a_b.example.com" }, "host", "_"},
		{"wildcard host", func(a *config.Answers) { a.Host = "*.example.com" }, "host", "--san"},
		{"bad SAN", func(a *config.Answers) { a.SANs = []string{"ok.example.com", "not ok"} }, "san", "not ok"},
		{"wildcard SAN", func(a *config.Answers) { a.SANs = []string{"*.example.com"} }, "", ""},
		{"port high", func(a *config.Answers) { a.Port = 65536 }, "port", "65535"},
		{"image with space", func(a *config.Answers) { a.Image = "a b" }, "image", "image reference"},
		{"pull", func(a *config.Answers) { a.Pull = "sometimes" }, "pull", "never"},
		{"container name", func(a *config.Answers) { a.Name = "-x" }, "name", "container name"},
		{"user with colon", func(a *config.Answers) { a.AdminUser = "ad:min" }, "admin-user", ":"},
		{"reader same as admin", func(a *config.Answers) { a.ReaderUser = a.AdminUser }, "reader-user", "differ"},
		{"storage", func(a *config.Answers) { a.Storage = "nfs" }, "storage", "filesystem"},
		{"days", func(a *config.Answers) { a.Days = -1 }, "days", "out of range: use 1 to 3650"},
		{"days overflowing", func(a *config.Answers) { a.Days = 200000 }, "days", "out of range: use 1 to 3650"},
		{"too many SANs", func(a *config.Answers) { a.SANs = make([]string, 101) }, "san", "101 values: give at most 100"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := good
			tt.edit(&a)
			err := Validate(a)
			if tt.wantFlag == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var fe *FlagError
			if !errors.As(err, &fe) || fe.Flag != tt.wantFlag {
				t.Fatalf("err = %v, want a FlagError for --%s", err, tt.wantFlag)
			}
			if !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "--"+tt.wantFlag+": ") {
				t.Errorf("err = %q, want it to start with --%s and contain %q", err, tt.wantFlag, tt.wantErr)
			}
		})
	}
}

func TestReadPassword(t *testing.T) {
	dir := t.TempDir()
	file := func(content string) string {
		p := filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_"))
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == EnvAdminPassword {
				return v
			}
			return ""
		}
	}
	tests := []struct {
		name    string
		file    func() string
		env     string
		want    string
		wantErr string
	}{
		{"file with trailing newline", func() string { return file("correct-horse-battery\n") }, "", "correct-horse-battery", ""},
		{"file with CRLF", func() string { return file("correct-horse-battery\r\n") }, "", "correct-horse-battery", ""},
		{"file wins over env", func() string { return file("from-the-file-123") }, "from-the-env-456", "from-the-file-123", ""},
		{"env", func() string { return "" }, "from-the-env-456", "from-the-env-456", ""},
		{"none", func() string { return "" }, "", "", ""},
		{"missing file", func() string { return filepath.Join(dir, "absent") }, "", "", "--admin-password-file: cannot read"},
		{"too short", func() string { return file("short") }, "", "", "12"},
		{"too long from env", func() string { return "" }, strings.Repeat("é", 40), "", "72"},
		{"same as user", func() string { return file("administrator") }, "", "", "user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user := "admin"
			if tt.name == "same as user" {
				user = "administrator"
			}
			p, err := ReadPassword("admin-password-file", tt.file(), EnvAdminPassword, user, env(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), tt.env) && tt.env != "" {
					t.Errorf("the error shows the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Value != tt.want {
				t.Errorf("password = %q, want %q", p.Value, tt.want)
			}
		})
	}
}
