package setup

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/paxsetup/paxsetup/internal/dockerctl"
)

func TestRecoverSwap(t *testing.T) {
	tests := []struct {
		name      string
		journal   *swapJournal
		holder    dockerctl.Container // what holds the registry's name
		wantCalls []string
		wantSay   string
	}{
		{
			name:      "killed after the new one was created: it goes, the old one comes back",
			journal:   &swapJournal{Name: "reg", Old: "old", OldRunning: true, Aside: "reg-previous-1", New: "new", Step: swapCreated},
			wantCalls: []string{"remove new", "rename old reg", "start old"},
			wantSay:   "put the previous registry back",
		},
		{
			name:      "killed after the old one was set aside",
			journal:   &swapJournal{Name: "reg", Old: "old", OldRunning: true, Aside: "reg-previous-1", Step: swapAside},
			wantCalls: []string{"rename old reg", "start old"},
			wantSay:   "put the previous registry back",
		},
		{
			name:      "killed after create, before the journal knew the new one's ID",
			journal:   &swapJournal{Name: "reg", Old: "old", OldRunning: true, Aside: "reg-previous-1", Step: swapAside},
			holder:    dockerctl.Container{ID: "unrecorded", Name: "reg", Labels: map[string]string{LabelManaged: "true"}},
			wantCalls: []string{"remove unrecorded", "rename old reg", "start old"},
			wantSay:   "put the previous registry back",
		},
		{
			name:      "a stopped registry stays stopped",
			journal:   &swapJournal{Name: "reg", Old: "old", OldRunning: false, Aside: "reg-previous-1", New: "new", Step: swapCreated},
			wantCalls: []string{"remove new", "rename old reg"},
			wantSay:   "put the previous registry back",
		},
		{
			name:      "killed after the new one answered: the old one goes",
			journal:   &swapJournal{Name: "reg", Old: "old", OldRunning: true, Aside: "reg-previous-1", New: "new", Step: swapVerified},
			wantCalls: []string{"remove old"},
			wantSay:   "removed the previous one",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.journal.path = journalPath(dir)
			if err := tt.journal.save(tt.journal.Step); err != nil {
				t.Fatal(err)
			}
			f := &fakeEngine{inspectFn: func(id string) (dockerctl.Container, error) {
				switch id {
				case "old":
					return dockerctl.Container{ID: "old", Name: "reg-previous-1"}, nil
				case "reg":
					if tt.holder.ID != "" {
						return tt.holder, nil
					}
				}
				return dockerctl.Container{}, dockerctl.ErrNotFound
			}}
			var out bytes.Buffer
			found, err := RecoverSwap(context.Background(), f, dir, &out)
			if err != nil || !found {
				t.Fatalf("found %v, err %v", found, err)
			}
			if !slices.Equal(f.calls, tt.wantCalls) {
				t.Errorf("calls %v, want %v", f.calls, tt.wantCalls)
			}
			if !strings.Contains(out.String(), tt.wantSay) {
				t.Errorf("said %q, want it to say %q", out.String(), tt.wantSay)
			}
			if _, err := os.Stat(journalPath(dir)); !os.IsNotExist(err) {
				t.Errorf("the journal is still there: %v", err)
			}
		})
	}

	t.Run("no journal, nothing to do", func(t *testing.T) {
		f := &fakeEngine{}
		found, err := RecoverSwap(context.Background(), f, t.TempDir(), nil)
		if found || err != nil || len(f.calls) != 0 {
			t.Errorf("found %v, err %v, calls %v", found, err, f.calls)
		}
	})
	t.Run("a journal it cannot read is reported, not guessed at", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(journalPath(dir), []byte("{not json"), 0o600); err != nil {
			t.Fatal(err)
		}
		f := &fakeEngine{}
		if _, err := RecoverSwap(context.Background(), f, dir, nil); err == nil || !strings.Contains(err.Error(), "by hand") {
			t.Errorf("err = %v", err)
		}
		if len(f.calls) != 0 {
			t.Errorf("calls %v", f.calls)
		}
	})
	t.Run("a foreign container holding the name is left alone", func(t *testing.T) {
		dir := t.TempDir()
		j := &swapJournal{path: journalPath(dir), Name: "reg", Old: "old", OldRunning: true, Aside: "reg-previous-1"}
		if err := j.save(swapAside); err != nil {
			t.Fatal(err)
		}
		f := &fakeEngine{inspectFn: func(id string) (dockerctl.Container, error) {
			return dockerctl.Container{ID: "theirs", Name: "reg"}, nil
		}}
		if _, err := RecoverSwap(context.Background(), f, dir, nil); err == nil || !strings.Contains(err.Error(), "did not make") {
			t.Errorf("err = %v", err)
		}
		if len(f.calls) != 0 {
			t.Errorf("calls %v", f.calls)
		}
	})
}

func TestRecoverPreviousFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, content string) {
		t.Helper()
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("auth/htpasswd-basic", "old hashes\n")
	write("certs/tls.crt", "old cert\n")
	prev, err := keepPrevious(dir)
	if err != nil || prev == nil {
		t.Fatalf("keepPrevious: %v, %v", prev, err)
	}
	// The run writes its files, then dies before any swap.
	write("auth/htpasswd-basic", "new hashes\n")
	write("certs/tls.crt", "new cert\n")
	write("certs/client/ca.crt", "a file the run added\n")

	var out bytes.Buffer
	found, err := RecoverSwap(context.Background(), &fakeEngine{}, dir, &out)
	if err != nil || !found {
		t.Fatalf("found %v, err %v", found, err)
	}
	for rel, want := range map[string]string{"auth/htpasswd-basic": "old hashes\n", "certs/tls.crt": "old cert\n"} {
		if got, _ := os.ReadFile(filepath.Join(dir, rel)); string(got) != want {
			t.Errorf("%s = %q, want %q", rel, got, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "certs/client/ca.crt")); !os.IsNotExist(err) {
		t.Errorf("the file the run added is still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, PreviousDir)); !os.IsNotExist(err) {
		t.Errorf("the copy is still there: %v", err)
	}
	if !strings.Contains(out.String(), "put the previous files back") {
		t.Errorf("said %q", out.String())
	}
	if found, err := RecoverSwap(context.Background(), &fakeEngine{}, dir, nil); found || err != nil {
		t.Errorf("a second recovery found %v, %v", found, err)
	}
}

// lateCreate is an engine on which a create sent by a killed run lands
// after recovery first looked at the name.
type lateCreate struct {
	*fakeEngine
	renames int
}

func (e *lateCreate) Rename(ctx context.Context, id, name string) error {
	e.renames++
	if e.renames == 1 {
		e.record("rename " + id + " " + name + " (taken)")
		return fmt.Errorf("rename: %w", dockerctl.ErrConflict)
	}
	return e.fakeEngine.Rename(ctx, id, name)
}

func TestRecoverSwapCreateStillUnderWay(t *testing.T) {
	dir := t.TempDir()
	j := &swapJournal{path: journalPath(dir), Name: "reg", Old: "old", OldRunning: true, Aside: "reg-previous-1"}
	if err := j.save(swapAside); err != nil {
		t.Fatal(err)
	}
	looks := 0
	f := &fakeEngine{inspectFn: func(id string) (dockerctl.Container, error) {
		switch id {
		case "old":
			return dockerctl.Container{ID: "old", Name: "reg-previous-1"}, nil
		case "reg":
			looks++
			if looks > 1 {
				return dockerctl.Container{ID: "late", Name: "reg", Labels: map[string]string{LabelManaged: "true"}}, nil
			}
		}
		return dockerctl.Container{}, dockerctl.ErrNotFound
	}}
	e := &lateCreate{fakeEngine: f}
	if _, err := RecoverSwap(context.Background(), e, dir, nil); err != nil {
		t.Fatal(err)
	}
	want := []string{"rename old reg (taken)", "remove late", "rename old reg", "start old"}
	if !slices.Equal(f.calls, want) {
		t.Errorf("calls %v, want %v", f.calls, want)
	}
}
