// Package check is the shape shared by paxsetup's diagnoses (preflight,
// verify): each check has an outcome, a one-line reason and, when it is not
// OK, what to do.
package check

// Status is the outcome of one check.
type Status string

// Outcomes of a check. Warn means things work but something may bite later.
const (
	OK   Status = "ok"
	Warn Status = "warn"
	Fail Status = "fail"
)

// Check is one checked property: its outcome, the reason in one line, and
// the fix when it is not OK.
type Check struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
	// Flag is the flag that fixes a failed check, when one does.
	Flag string `json:"flag,omitempty"`
}

// Checks are the checks of one run, in the order they were made.
type Checks []Check

// OK reports whether no check failed.
func (cs Checks) OK() bool { return len(cs.Failed()) == 0 }

// Failed returns the checks that failed.
func (cs Checks) Failed() []Check { return cs.with(Fail) }

// Warnings returns the checks that warn.
func (cs Checks) Warnings() []Check { return cs.with(Warn) }

func (cs Checks) with(s Status) []Check {
	var out []Check
	for _, c := range cs {
		if c.Status == s {
			out = append(out, c)
		}
	}
	return out
}

// Find returns the first check named name.
func (cs Checks) Find(name string) (Check, bool) {
	for _, c := range cs {
		if c.Name == name {
			return c, true
		}
	}
	return Check{}, false
}
