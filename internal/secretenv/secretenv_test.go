package secretenv

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

func TestWithout(t *testing.T) {
	env := []string{"PATH=/usr/bin", AdminPassword + "=a", ReaderPassword + "=r", Password + "=p",
		S3AccessKey + "=k", S3SecretKey + "=s", BundlePassphrase + "=b", "PAXSETUP_DIR=/srv/pax", "HOME=/root", "X=" + AdminPassword}
	got := Without(env)
	want := []string{"PATH=/usr/bin", "PAXSETUP_DIR=/srv/pax", "HOME=/root", "X=" + AdminPassword}
	if !slices.Equal(got, want) {
		t.Errorf("Without = %q, want %q", got, want)
	}
	if len(env) != 10 {
		t.Error("Without changed its argument")
	}
}

// TestEnvironReachesNoChild runs a real child with Environ and reads its
// environment back.
func TestEnvironReachesNoChild(t *testing.T) {
	for _, n := range Names {
		t.Setenv(n, "secret-value-0123")
	}
	t.Setenv("PAXSETUP_KEEP", "kept")
	cmd := exec.Command("env")
	cmd.Env = Environ()
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "secret-value-0123") {
		t.Errorf("a secret reached the child:\n%s", out)
	}
	if !strings.Contains(string(out), "PAXSETUP_KEEP=kept") {
		t.Errorf("the rest of the environment is missing:\n%s", out)
	}
}
