package wizard

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/paxsetup/paxsetup/internal/answers"
	"github.com/paxsetup/paxsetup/internal/certgen"
	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/htpasswd"
	"github.com/paxsetup/paxsetup/internal/render"
)

// Checks are what the wizard asks of the host while it asks the operator,
// so that a problem is caught at the question that can fix it.
type Checks struct {
	// PortProblem says why the port cannot be used, or returns nil.
	PortProblem func(port int) error
	// FreePort suggests a free port at or after from.
	FreePort func(from int) int
	// LintCertificate checks the operator's own certificate (custom mode)
	// for host and returns an error that says what is wrong.
	LintCertificate func(certFile, keyFile, caFile, host string) error
}

// Existing is what an earlier run left, shown before a re-run.
type Existing struct {
	Container    string // e.g. "running since 2026-11-22 08:44", "stopped", "absent"
	CertDaysLeft int    // < 0 when there is no readable certificate
	Users        []string
}

// Re-run choices.
const (
	RerunKeep      = "keep"
	RerunRenew     = "renew"
	RerunPasswords = "passwords"
	RerunImage     = "image"
	RerunStartOver = "start-over"
)

// Result is what the operator chose.
type Result struct {
	Answers        config.Answers
	AdminPassword  answers.Password
	ReaderPassword answers.Password
	// RenewCert issues a new server certificate from the same CA.
	RenewCert bool
	// Force replaces the certificate and the generated passwords.
	Force bool
	// Rerun is set when the setup existed before.
	Rerun bool
}

// SourceTyped marks a password the operator typed in the wizard.
const SourceTyped = "typed"

// Flow asks the questions of `paxsetup init` that no flag answered.
type Flow struct {
	P       Prompter
	Changed func(flag string) bool
	Checks  Checks
	// HostIPs are added to the certificate whatever the answers; shown in help.
	HostIPs []string
	// Plan, when set, makes the last question "go ahead?" under the plan
	// it describes for the answers so far: the summary, or why the answers
	// cannot be set up (shown as the question's error, so that the operator
	// goes back and changes them). width is what the plan may use.
	Plan func(res Result, width int) (string, error)
	// PlanTitle is that last question.
	PlanTitle string
}

// ErrDeclined is the operator answering No to the plan: nothing was written.
var ErrDeclined = errors.New("nothing was changed: the answer to the plan was No; run paxsetup init again when you are ready")

func (f *Flow) given(flag string) bool { return f.Changed != nil && f.Changed(flag) }

var modeOptions = []Option{
	{config.ModeSelfSigned, "Self-signed: paxsetup makes its own CA (most sites)"},
	{config.ModeLetsEncrypt, "Let's Encrypt: a public DNS name, port 443 open to the internet"},
	{config.ModeCustom, "Your own certificate, from your company's CA"},
	{config.ModeHTTP, "Plain HTTP, no TLS: labs only"},
}

var storageOptions = []Option{
	{"filesystem", "On this host, in data/ (kept across restarts)"},
	{"inmemory", "In memory: lost at every restart (tests only)"},
	{"s3", "In an S3 or MinIO bucket"},
}

// Ask runs the questions. a holds the merged answers (flags, then saved
// answers, then defaults), which are the defaults offered; existing is nil on
// a first run; admin and reader are passwords already given by file or
// environment, whose questions are skipped.
//
// On a terminal the questions are one form: the operator can go back with
// Shift-Tab and change an answer, and the questions that follow adapt.
func (f *Flow) Ask(a config.Answers, existing *Existing, admin, reader answers.Password) (Result, error) {
	q := f.questions(a, existing, admin, reader)
	var err error
	if r, ok := f.P.(formRunner); ok {
		err = r.runForm(q.list)
	} else {
		err = askEach(f.P, q.list)
	}
	if err != nil {
		return Result{Answers: a, Rerun: existing != nil}, err
	}
	res := q.result()
	if q.plan != nil && !*q.plan.yes {
		return res, ErrDeclined
	}
	return res, nil
}

// questions holds every question init may ask, each knowing when it is
// asked from the answers given before it.
type questions struct {
	a                   config.Answers
	existing            *Existing
	admin, reader       answers.Password
	list                []*question
	rerun, mode         *question
	host, sans, email   *question
	certFile, keyFile   *question
	caFile              *question
	advanced, port      *question
	adminUser           *question
	readerUser, image   *question
	upgradeImage        *question
	storage             *question
	s3Bucket, s3Region  *question
	s3Endpoint, s3Keys  *question
	adminPW, adminPW2   *question
	readerPW, readerPW2 *question
	plan                *question
}

// planWidth leaves room for the form's border within 80 columns.
const planWidth = SummaryWidth - 4

func (f *Flow) questions(a config.Answers, existing *Existing, admin, reader answers.Password) *questions {
	q := &questions{a: a, existing: existing, admin: admin, reader: reader}
	add := func(n *question) *question {
		n.text, n.yes = new(string), new(bool)
		if n.kind == kindSelect {
			*n.text = n.def
		}
		q.list = append(q.list, n)
		return n
	}
	always := func() bool { return true }
	// full is a first run, or a re-run that starts over: every question.
	full := func() bool { return existing == nil || q.rerun.answer() == RerunStartOver }
	ask := func(flag string, also func() bool) func() bool {
		return func() bool { return full() && !f.given(flag) && also() }
	}
	isMode := func(m string) func() bool { return func() bool { return q.mode.answer() == m } }
	advanced := func() bool { return q.advanced.asked() && *q.advanced.yes }

	q.rerun = add(&question{kind: kindSelect,
		title: static("This host already has a pack registry. What now?"),
		help:  static(describeExisting(a, existing)),
		options: []Option{
			{RerunKeep, "Keep it as it is, and check it"},
			{RerunRenew, "Renew the server certificate (same CA: clients keep trusting it)"},
			{RerunPasswords, "Change passwords"},
			{RerunImage, "Move to another registry image (upgrade)"},
			{RerunStartOver, "Answer every question again (packs in data/ are kept)"},
		},
		def:  RerunKeep,
		when: func() bool { return existing != nil },
	})
	q.upgradeImage = add(&question{kind: kindInput,
		title:    static("Which registry image?"),
		help:     static("The old container keeps running until the new one answers."),
		def:      a.Image,
		validate: answers.ValidateImage,
		when:     func() bool { return existing != nil && q.rerun.answer() == RerunImage },
	})
	q.mode = add(&question{kind: kindSelect,
		title:   static("How should the registry get its certificate?"),
		help:    static(""),
		options: modeOptions,
		def:     a.Mode,
		when:    ask("mode", always),
	})
	q.host = add(&question{kind: kindInput,
		title: static("Registry host name"),
		help: func() string {
			if q.mode.answer() == config.ModeLetsEncrypt {
				return "A public DNS name that resolves to this host (Let's Encrypt does not issue for IP addresses)."
			}
			return "The name Palette and the spectro CLI use to reach the registry; the certificate is made for it."
		},
		deps: q.mode.text,
		def:  a.Host,
		validate: func(s string) error {
			if q.mode.answer() == config.ModeLetsEncrypt {
				return render.ValidateACMEHost(s)
			}
			return certgen.ValidateHost(s)
		},
		when: ask("host", always),
	})
	sansHelp := "Other DNS names or IP addresses clients use, comma-separated; Enter for none."
	if len(f.HostIPs) > 0 {
		sansHelp = "Other DNS names or IP addresses clients use, comma-separated. This host's addresses are always in: " + strings.Join(f.HostIPs, ", ") + "."
	}
	q.sans = add(&question{kind: kindInput,
		title:    static("Other names for the certificate"),
		help:     static(sansHelp),
		def:      strings.Join(a.SANs, ","),
		validate: validateSANList,
		when:     ask("san", isMode(config.ModeSelfSigned)),
	})
	q.email = add(&question{kind: kindInput,
		title:    static("Email for Let's Encrypt"),
		help:     static("Let's Encrypt sends notices about the certificate here."),
		def:      a.Email,
		validate: render.ValidateEmail,
		when:     ask("email", isMode(config.ModeLetsEncrypt)),
	})
	q.certFile = add(&question{kind: kindInput,
		title:    static("Server certificate (PEM file)"),
		help:     static("The certificate, then any intermediates."),
		def:      a.CertFile,
		validate: fileExists,
		when:     ask("cert-file", isMode(config.ModeCustom)),
	})
	q.keyFile = add(&question{kind: kindInput,
		title:    static("Its private key (PEM file)"),
		help:     static("Unencrypted PEM."),
		def:      a.KeyFile,
		validate: fileExists,
		when:     ask("key-file", isMode(config.ModeCustom)),
	})
	q.caFile = add(&question{kind: kindInput,
		title: static("The CA chain that signed it (PEM file)"),
		help:  static("Palette gets the full chain; the certificate is checked now."),
		def:   a.CAFile,
		validate: func(path string) error {
			if err := fileExists(path); err != nil {
				return err
			}
			if f.Checks.LintCertificate == nil {
				return nil
			}
			return f.Checks.LintCertificate(q.certFile.answer(), q.keyFile.answer(), path, q.host.answer())
		},
		when: ask("ca-file", isMode(config.ModeCustom)),
	})
	q.advanced = add(&question{kind: kindConfirm,
		title: static("Change advanced settings?"),
		help: static(fmt.Sprintf("Port %d, logins %s and %s, storage %s, image %s.",
			a.Port, a.AdminUser, a.ReaderUser, a.Storage, a.Image)),
		when: full,
	})
	// The port is asked when the chosen one cannot be used, with a free
	// one offered: the check runs before the question that can fix it.
	var portProblem error
	if f.Checks.PortProblem != nil {
		portProblem = f.Checks.PortProblem(a.Port)
	}
	portDef, portHelp := a.Port, "The port on this host that Palette connects to."
	if portProblem != nil {
		portHelp = portProblem.Error()
		if f.Checks.FreePort != nil {
			portDef = f.Checks.FreePort(a.Port)
		}
	}
	q.port = add(&question{kind: kindInput,
		title: static("Port for the registry"),
		help:  static(portHelp),
		def:   strconv.Itoa(portDef),
		validate: func(s string) error {
			p, err := parsePort(s)
			if err != nil || f.Checks.PortProblem == nil {
				return err
			}
			return f.Checks.PortProblem(p)
		},
		when: func() bool { return full() && (portProblem != nil || advanced() && !f.given("port")) },
	})
	q.adminUser = add(&question{kind: kindInput,
		title:    static("Your login name"),
		help:     static("The operator's login, for pushing packs."),
		def:      a.AdminUser,
		validate: htpasswd.ValidateUser,
		when:     ask("admin-user", advanced),
	})
	q.readerUser = add(&question{kind: kindInput,
		title: static("Second login, for Palette"),
		help: static("A separate login for Palette and other readers, so your own password never leaves you. " +
			"The registry grants every login the same rights."),
		def: a.ReaderUser,
		validate: func(s string) error {
			if s == q.adminUser.answer() {
				return fmt.Errorf("the second login must differ from %q", s)
			}
			return htpasswd.ValidateUser(s)
		},
		when: ask("reader-user", advanced),
	})
	q.image = add(&question{kind: kindInput,
		title:    static("Registry image"),
		help:     static("The spectro-registry image to run."),
		def:      a.Image,
		validate: answers.ValidateImage,
		when:     ask("image", advanced),
	})
	q.storage = add(&question{kind: kindSelect,
		title:   static("Where are packs stored?"),
		help:    static(""),
		options: storageOptions,
		def:     a.Storage,
		when:    ask("storage", advanced),
	})
	s3 := a.S3
	if s3 == nil {
		s3 = &config.S3Config{}
	}
	isS3 := func() bool { return q.storage.answer() == render.StorageS3 }
	nonEmpty := func(what string) func(string) error {
		return func(v string) error {
			if strings.TrimSpace(v) == "" {
				return fmt.Errorf("%s is required", what)
			}
			return nil
		}
	}
	q.s3Bucket = add(&question{kind: kindInput, title: static("S3 bucket"), help: static(""),
		def: s3.Bucket, validate: nonEmpty("the bucket"), when: ask("storage", func() bool { return advanced() && isS3() })})
	q.s3Region = add(&question{kind: kindInput, title: static("S3 region"), help: static(""),
		def: s3.Region, validate: nonEmpty("the region"), when: q.s3Bucket.when})
	q.s3Endpoint = add(&question{kind: kindInput, title: static("S3 endpoint URL"),
		help: static("Only for MinIO and other S3-compatible stores; Enter for AWS."),
		def:  s3.RegionEndpoint, when: q.s3Bucket.when})
	q.s3Keys = add(&question{kind: kindInput, title: static("File with the access key and secret"),
		help: static("An AWS credentials file. The keys are never typed here and never saved in paxsetup.yaml."),
		def:  s3.CredentialsFile, validate: fileExists, when: q.s3Bucket.when})

	passwordsAsked := func() bool { return full() || q.rerun.answer() == RerunPasswords }
	keepable := func() bool { return existing != nil && q.rerun.answer() != RerunStartOver }
	pwHelp := func() string {
		if keepable() {
			return "Enter alone keeps the current password."
		}
		return "At least 12 characters. Enter alone: paxsetup makes one and shows it once."
	}
	pair := func(user *question, given answers.Password, flag string) (*question, *question) {
		first := add(&question{kind: kindPassword,
			title: func() string { return "Password for " + user.answer() },
			help:  pwHelp,
			deps:  []*string{user.text, q.rerun.text},
			validate: func(s string) error {
				if s == "" {
					return nil
				}
				return htpasswd.ValidatePassword(user.answer(), s)
			},
			when: func() bool { return passwordsAsked() && given.Value == "" && !f.given(flag) },
		})
		again := add(&question{kind: kindPassword,
			title: func() string { return "Password for " + user.answer() + " again" },
			help:  static("The same password, to be sure of it."),
			deps:  user.text,
			validate: func(s string) error {
				if s != first.value() {
					return errors.New("the passwords differ: type the same one again")
				}
				return nil
			},
			when: func() bool { return first.when() && first.value() != "" },
		})
		return first, again
	}
	q.adminPW, q.adminPW2 = pair(q.adminUser, admin, "admin-password-file")
	q.readerPW, q.readerPW2 = pair(q.readerUser, reader, "reader-password-file")
	if f.Plan != nil {
		var every []any
		for _, n := range q.list {
			every = append(every, n.text, n.yes)
		}
		plan := func() (string, error) { return f.Plan(q.result(), planWidth) }
		q.plan = add(&question{kind: kindConfirm,
			title: static(f.PlanTitle),
			help: func() string {
				text, err := plan()
				if err != nil {
					return "Shift-Tab goes back to change the answers."
				}
				return strings.TrimRight(text, "\n")
			},
			deps:    every,
			confirm: true,
			validate: func(string) error {
				_, err := plan()
				return err
			},
		})
		*q.plan.yes = true
		// Room for the plan of other answers: a longer name, more names.
		if text, err := plan(); err == nil {
			q.plan.reserve = strings.Count(text, "\n") + 3
		} else {
			q.plan.reserve = 16
		}
	}
	return q
}
