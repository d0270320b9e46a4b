package check

import "testing"

func TestChecks(t *testing.T) {
	cs := Checks{
		{Name: "a", Status: OK},
		{Name: "b", Status: Warn, Detail: "soon"},
		{Name: "c", Status: Fail, Detail: "broken", Fix: "mend it"},
		{Name: "d", Status: Fail},
	}
	if cs.OK() {
		t.Error("OK with failed checks")
	}
	if got := cs.Failed(); len(got) != 2 || got[0].Name != "c" || got[1].Name != "d" {
		t.Errorf("Failed = %+v", got)
	}
	if got := cs.Warnings(); len(got) != 1 || got[0].Name != "b" {
		t.Errorf("Warnings = %+v", got)
	}
	if c, ok := cs.Find("c"); !ok || c.Fix != "mend it" {
		t.Errorf("Find(c) = %+v, %v", c, ok)
	}
	if _, ok := cs.Find("z"); ok {
		t.Error("Find found a check that is not there")
	}
	if !(Checks{{Name: "a", Status: OK}, {Name: "b", Status: Warn}}).OK() {
		t.Error("warnings alone must not fail")
	}
}
