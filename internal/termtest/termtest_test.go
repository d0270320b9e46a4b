package termtest

import (
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func sh(script string, args ...string) *exec.Cmd {
	return exec.Command("sh", append([]string{"-c", script, "sh"}, args...)...)
}

func TestCookedOutputStartsLinesAtColumnZero(t *testing.T) {
	t.Parallel()
	term := Start(t, sh(`printf "one\ntwo\n"`), 80, 24)
	if code := term.Wait(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	if got := term.Screen()[:3]; !slices.Equal(got, []string{"one", "two", ""}) {
		t.Errorf("rows 0-2 = %q, want one, two at column 0\n%s", got, term.ScreenString())
	}
	if x, y := term.Cursor(); x != 0 || y != 2 {
		t.Errorf("cursor at %d,%d, want 0,2", x, y)
	}
	if n := BareLF(term.Raw()); n != 0 {
		t.Errorf("BareLF = %d in %q, want 0: the line discipline turns \\n into \\r\\n", n, term.Raw())
	}
	if s := Staircase(term.Screen()); len(s) != 0 {
		t.Errorf("Staircase = %v, want none", s)
	}
}

func TestOutputWithoutPostProcessingStaircases(t *testing.T) {
	t.Parallel()
	term := Start(t, sh(`stty -opost; printf "one\ntwo\n"`), 80, 24)
	term.Wait()
	if got := term.Screen()[1]; got != "   two" {
		t.Errorf("row 1 = %q, want two starting at column 3\n%s", got, term.ScreenString())
	}
	if n := BareLF(term.Raw()); n != 2 {
		t.Errorf("BareLF = %d in %q, want 2", n, term.Raw())
	}
	if s := Staircase(term.Screen()); !slices.Equal(s, []int{1}) {
		t.Errorf("Staircase = %v, want [1]\n%s", s, term.ScreenString())
	}
}

func TestTypedLineReachesTheProgram(t *testing.T) {
	t.Parallel()
	term := Start(t, sh(`read x; echo "got:$x"`), 80, 24)
	term.Type("abc")
	term.Send(Enter)
	term.WaitFor("got:abc")
	if got := term.Screen()[:2]; !slices.Equal(got, []string{"abc", "got:abc"}) {
		t.Errorf("rows 0-1 = %q, want the echo then the reply\n%s", got, term.ScreenString())
	}
	if term.Keys() != 4 {
		t.Errorf("Keys = %d, want 4", term.Keys())
	}
	if code := term.Wait(); code != 0 {
		t.Errorf("exit code %d", code)
	}
}

func TestSendCountsKeys(t *testing.T) {
	t.Parallel()
	term := Start(t, exec.Command("cat"), 80, 24)
	term.Send("héllo", Up, Esc, Tab, ShiftTab, Enter)
	if term.Keys() != 10 {
		t.Errorf("Keys = %d, want 5 for héllo and 1 for each of the others", term.Keys())
	}
}

func TestLongLineWraps(t *testing.T) {
	t.Parallel()
	line := strings.Repeat("a", 80)
	term := Start(t, sh(`printf '%s\n' "$1"`, line+"wrapped"), 80, 24)
	term.Wait()
	if got := term.Screen()[:2]; !slices.Equal(got, []string{line, "wrapped"}) {
		t.Errorf("rows 0-1 = %q, want 80 columns then the rest\n%s", got, term.ScreenString())
	}
}

func TestWaitForGivesUp(t *testing.T) {
	t.Parallel()
	always := func([]string) bool { return false }

	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		term := Start(t, exec.Command("cat"), 80, 24)
		err := term.waitFor("never", always, 100*time.Millisecond)
		if err == nil || errors.Is(err, errEnded) || !strings.Contains(err.Error(), "never") {
			t.Errorf("waitFor = %v, want a timeout naming what was awaited", err)
		}
	})

	t.Run("exited", func(t *testing.T) {
		t.Parallel()
		term := Start(t, sh(`echo hi`), 80, 24)
		start := time.Now()
		err := term.waitFor("never", always, time.Minute)
		if !errors.Is(err, errEnded) {
			t.Errorf("waitFor = %v, want %v", err, errEnded)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("waitFor took %v after the program exited", d)
		}
	})

	t.Run("fails the test with the screen", func(t *testing.T) {
		t.Parallel()
		term := Start(t, sh(`echo visible`), 80, 24)
		fake := &fatalTB{TB: t}
		term.tb = fake
		done := make(chan struct{})
		go func() {
			defer close(done)
			term.WaitFor("invisible")
		}()
		<-done
		if !strings.Contains(fake.msg, `"invisible"`) || !strings.Contains(fake.msg, "  0|visible ") {
			t.Errorf("failure message does not name the text and show the screen:\n%s", fake.msg)
		}
	})
}

// fatalTB records a fatal failure instead of failing the test it wraps.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestExitCode(t *testing.T) {
	t.Parallel()
	term := Start(t, sh(`exit 3`), 80, 24)
	if code := term.Wait(); code != 3 {
		t.Errorf("Wait = %d, want 3", code)
	}
	if !term.Exited() {
		t.Error("Exited = false after Wait")
	}
}

func TestHistoryKeepsScrolledLines(t *testing.T) {
	t.Parallel()
	term := Start(t, exec.Command("seq", "1", "30"), 80, 10)
	term.Wait()
	var want []string
	for i := 1; i <= 30; i++ {
		want = append(want, strconv.Itoa(i))
	}
	if got := term.History(); !slices.Equal(strings.Fields(got), want) || !strings.HasSuffix(got, "\n30") {
		t.Errorf("History = %q, want 1 to 30 on lines of their own, without the blank rows below", got)
	}
	if got := term.Screen()[0]; got != "22" {
		t.Errorf("top row = %q, want 22: 30 lines and the cursor's empty row on 10 rows", got)
	}
}

func TestQueriesAreAnswered(t *testing.T) {
	t.Parallel()
	// The shell asks where the cursor is, as Bubble Tea does at start, and
	// waits for the answer.
	term := Start(t, sh(`stty -icanon -echo min 1 time 0
printf 'abc\033[6n'
r=$(dd bs=1 count=6 2>/dev/null)
stty sane
[ "$r" = "$(printf '\033[1;4R')" ] && echo " answered" || echo " wrong answer"`), 80, 24)
	term.WaitFor("abc answered")
}

func TestTermIsTheEmulators(t *testing.T) {
	t.Setenv("TERM", "dumb")
	term := Start(t, sh(`echo "TERM=$TERM"`), 80, 24)
	term.WaitFor("TERM=xterm-256color")

	cmd := sh(`echo "TERM=$TERM"`)
	cmd.Env = []string{"TERM=vt100"}
	term = Start(t, cmd, 80, 24)
	term.WaitFor("TERM=vt100")
}

func TestStaircase(t *testing.T) {
	tests := []struct {
		name string
		rows []string
		want []int
	}{
		{"left-aligned", []string{"one", "two", "", "three", "a much longer line", "x"}, nil},
		{"bare line feeds", []string{"one", "   two", "      three"}, []int{1, 2}},
		{"across a blank row", []string{"one", "", "   two"}, []int{2}},
		{"wide characters end at their width", []string{"日本", "    two"}, []int{1}},
		{"indented less than the row above", []string{"Title", "  option"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Staircase(tt.rows); !slices.Equal(got, tt.want) {
				t.Errorf("Staircase = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestBareLF(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"one\r\ntwo\r\n", 0},
		{"one\ntwo\r\n", 1},
		{"\nx", 1},
		{"\r\r\n\n", 1},
	}
	for _, tt := range tests {
		if got := BareLF([]byte(tt.in)); got != tt.want {
			t.Errorf("BareLF(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}
