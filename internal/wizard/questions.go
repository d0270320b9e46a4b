package wizard

// kind is how a question is answered.
type kind int

const (
	kindInput kind = iota
	kindPassword
	kindSelect
	kindConfirm
)

// question is one thing init may ask. The flow decides which questions there
// are and when each is asked; a Prompter, or one form on a terminal, asks
// them.
type question struct {
	kind  kind
	title func() string
	help  func() string
	// deps are the answers that title and help are computed from, so that
	// a form redraws them when an earlier answer changes.
	deps any
	// def is the answer taken on Enter (shown as the placeholder of an
	// input), and the option a select starts on.
	def      string
	options  []Option
	validate func(string) error
	// when reports whether the question is asked, from the answers before
	// it; nil means always.
	when func() bool

	text *string // what was typed or chosen
	yes  *bool   // a confirm's answer
	// confirm marks the question that starts the run: Yes is its default.
	confirm bool
	// reserve is how many lines a computed help may take: a form sizes its
	// questions before that help is first computed, and cuts what does not
	// fit.
	reserve int
}

func static(s string) func() string { return func() string { return s } }

func (q *question) asked() bool { return q.when == nil || q.when() }

// value is what was typed, or the default for an empty answer.
func (q *question) value() string {
	if *q.text == "" {
		return q.def
	}
	return *q.text
}

// answer is the value if the question is asked, else the default: an answer
// typed before the operator went back and took another path no longer counts.
func (q *question) answer() string {
	if !q.asked() {
		return q.def
	}
	return q.value()
}

// check runs validate on the value as it will be taken.
func (q *question) check(s string) error {
	if q.validate == nil {
		return nil
	}
	if s == "" && q.kind == kindInput {
		s = q.def
	}
	return q.validate(s)
}

// formRunner asks a whole list of questions at once, on one screen that
// lets the operator go back. A question is asked when its when() holds at
// the moment the operator reaches it.
type formRunner interface {
	runForm(qs []*question) error
}

// askEach asks the questions one after the other through p.
func askEach(p Prompter, qs []*question) error {
	for _, q := range qs {
		if !q.asked() {
			continue
		}
		var err error
		switch q.kind {
		case kindInput:
			*q.text, err = p.Input(q.title(), q.help(), q.def, q.validate)
		case kindPassword:
			*q.text, err = p.Password(q.title(), q.help(), q.validate)
		case kindSelect:
			*q.text, err = p.Select(q.title(), q.help(), q.options, q.def)
		case kindConfirm:
			if q.validate != nil {
				if err := q.validate(""); err != nil {
					return err
				}
			}
			*q.yes, err = p.Confirm(q.title(), q.help(), q.confirm)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
