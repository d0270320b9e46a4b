package config

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestSaveLoadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	want := Defaults()
	want.Host = "registry.example.com"
	want.SANs = []string{"10.0.0.5", "registry", "weird: value # with\nnewline"}
	want.Port = 18443
	want.AdminPasswordFile = "/secrets/admin pw"
	want.Node = &Node{Host: "node2.example.com", Origin: "node1.example.com",
		Exported: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC), Joined: time.Date(2026, 5, 2, 11, 30, 0, 0, time.UTC)}
	if err := Save(dir, want); err != nil {
		t.Fatal(err)
	}
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
	}
	fi, err := os.Stat(Path(dir))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode = %v, want 0644", fi.Mode().Perm())
	}
}

func TestLoadIfExistsFirstRun(t *testing.T) {
	_, ok, err := LoadIfExists(t.TempDir())
	if err != nil || ok {
		t.Fatalf("first run: ok=%v err=%v, want false, nil", ok, err)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name    string
		content string
		wantErr string
	}{
		{"unknown field", "version: 1\nhots: x\n", "field hots not found"},
		{"newer version", "version: 99\n", "upgrade paxsetup"},
		{"not yaml", "version: [\n", "paxsetup.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(Path(dir), []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(dir)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}
