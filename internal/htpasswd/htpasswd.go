// Package htpasswd makes and edits the bcrypt htpasswd file that the
// registry's basic auth reads, in the format Apache's `htpasswd -B` writes, so
// either tool can maintain a file the other made.
package htpasswd

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// Bounds for --bcrypt-cost. Each step doubles the work of every login, so the
// upper bound keeps a registry on a small host answering in well under a
// second; the lower bound is the smallest cost bcrypt allows.
const (
	// DefaultCost is the cost used when the operator does not choose one;
	// it matches bcrypt.DefaultCost.
	DefaultCost = 10
	// MinCost is the cheapest accepted cost.
	MinCost = 4
	// MaxCost is the most expensive accepted cost.
	MaxCost = 14
)

// MaxPasswordBytes is the most bcrypt reads of a password; it ignores any
// further bytes, so a longer password is refused rather than truncated.
const MaxPasswordBytes = 72

// MinPasswordChars is the shortest password ValidatePassword accepts, counted
// in characters (runes), not bytes.
const MinPasswordChars = 12

// maxUserBytes is the limit of Apache's htpasswd ("username too long (> 255)"),
// kept so that its tool can still edit every file paxsetup writes.
const maxUserBytes = 255

// apacheBcryptPrefix is what Apache's `htpasswd -B` writes. Go's bcrypt writes
// $2a$: the variants mark fixes to bugs of C implementations (crypt_blowfish's
// 8-bit sign bug, OpenBSD's length wrap past 255 bytes) that Go's bcrypt never
// had, so for passwords of at most 72 bytes the hash is the same under any of
// the three prefixes.
const apacheBcryptPrefix = "$2y$"

var bcryptPrefixes = []string{"$2a$", "$2b$", "$2y$"}

// Errors that callers branch on; each is wrapped with the user, line or value
// concerned.
var (
	// ErrNotBcrypt marks an entry whose hash is not bcrypt: the registry
	// ignores it, so that user cannot log in.
	ErrNotBcrypt = errors.New("not a bcrypt hash")
	// ErrUnknownUser is returned by Verify for a user not in the file.
	ErrUnknownUser = errors.New("user not in the htpasswd file")
	// ErrMismatch is returned by Verify when the password does not match.
	ErrMismatch = errors.New("password does not match")
	// ErrInvalidUser marks a user name the file cannot hold or the registry
	// cannot match.
	ErrInvalidUser = errors.New("invalid user name")
	// ErrInvalidPassword marks a password that fails ValidatePassword, so a
	// prompt can ask again.
	ErrInvalidPassword = errors.New("password rejected")
	// ErrPasswordTooLong marks a password longer than bcrypt reads.
	ErrPasswordTooLong = errors.New("password too long for bcrypt")
)

// ValidateCost checks a --bcrypt-cost value against MinCost and MaxCost.
func ValidateCost(cost int) error {
	if cost < MinCost || cost > MaxCost {
		return fmt.Errorf("--bcrypt-cost %d is out of range: use %d to %d (default %d)", cost, MinCost, MaxCost, DefaultCost)
	}
	return nil
}

// Hash returns the bcrypt hash of password at cost, with the $2y$ prefix that
// Apache's `htpasswd -B` writes.
func Hash(password string, cost int) (string, error) {
	if err := ValidateCost(cost); err != nil {
		return "", err
	}
	if len(password) > MaxPasswordBytes {
		return "", fmt.Errorf("hash password: %w: it is %d bytes and bcrypt reads only the first %d; use a shorter password",
			ErrPasswordTooLong, len(password), MaxPasswordBytes)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return apacheBcryptPrefix + strings.TrimPrefix(string(h), "$2a$"), nil
}

// ValidateUser checks that name can be a user in an htpasswd file and be
// matched by the registry.
func ValidateUser(name string) error {
	if name == "" {
		return fmt.Errorf("%w: the user name is empty; choose one such as %q", ErrInvalidUser, "admin")
	}
	if len(name) > maxUserBytes {
		return fmt.Errorf("%w: user name %.20q... is %d bytes; use at most %d (the limit of Apache's htpasswd)",
			ErrInvalidUser, name, len(name), maxUserBytes)
	}
	if strings.Contains(name, ":") {
		return fmt.Errorf("%w: user name %q contains %q, the field separator of htpasswd lines; remove it", ErrInvalidUser, name, ":")
	}
	// The registry skips lines starting with "#" as comments, so such a
	// user could never log in.
	if strings.HasPrefix(name, "#") {
		return fmt.Errorf("%w: user name %q starts with %q, which the registry reads as a comment line; choose another name", ErrInvalidUser, name, "#")
	}
	if strings.ContainsAny(name, "\r\n") {
		return fmt.Errorf("%w: user name %q contains a newline, which would split its htpasswd line; remove it", ErrInvalidUser, name)
	}
	// The registry trims each line, and a client may trim what the operator
	// typed: a space or invisible character makes a name that never matches.
	if !utf8.ValidString(name) {
		return fmt.Errorf("%w: user name %q is not valid UTF-8; use letters, digits, '.', '-' or '_'", ErrInvalidUser, name)
	}
	for _, r := range name {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return fmt.Errorf("%w: user name %q contains whitespace or a control character (%U); use letters, digits, '.', '-' or '_'",
				ErrInvalidUser, name, r)
		}
		// Format characters (U+200B zero width space, U+202E right-to-left
		// override) are invisible or reorder the text shown: two names
		// that print alike would be different logins.
		if unicode.Is(unicode.Cf, r) || !unicode.IsGraphic(r) {
			return fmt.Errorf("%w: user name %q contains an invisible or format character (%U); use letters, digits, '.', '-' or '_'",
				ErrInvalidUser, name, r)
		}
	}
	return nil
}

// ValidatePassword applies the policy for passwords paxsetup sets for user:
// long enough to resist guessing, short enough that bcrypt reads all of it.
func ValidatePassword(user, password string) error {
	if strings.ContainsAny(password, "\r\n") {
		return fmt.Errorf("%w: password for %q contains a newline; passwords read from a file or stdin end at the first newline, so remove it",
			ErrInvalidPassword, user)
	}
	if n := utf8.RuneCountInString(password); n < MinPasswordChars {
		return fmt.Errorf("%w: password for %q is %d characters; use at least %d", ErrInvalidPassword, user, n, MinPasswordChars)
	}
	if n := len(password); n > MaxPasswordBytes {
		return fmt.Errorf("%w: password for %q is %d bytes; bcrypt reads only the first %d, so use at most %d",
			ErrInvalidPassword, user, n, MaxPasswordBytes, MaxPasswordBytes)
	}
	if strings.EqualFold(password, user) {
		return fmt.Errorf("%w: password for %q is the user name; choose a different one", ErrInvalidPassword, user)
	}
	return nil
}

// Entry is one user and its bcrypt hash.
type Entry struct {
	User string
	Hash string
}

// line is one line of the file as it was read, terminator included: an
// entry, or anything else (a comment, a blank line) kept verbatim, so that
// editing a hand-made or Apache-made file changes only the users edited.
type line struct {
	Entry // User is empty for a line that is not an entry
	raw   string
}

// File is an htpasswd file in memory. It keeps lines in their original order
// and bytes (CRLF endings, blank lines, comments) so that editing a file made
// by Apache's htpasswd changes only the users edited. The zero value is an
// empty file ready to use.
type File struct {
	lines []line
	eol   string // the file's line ending, for lines added: "\n" or "\r\n"
}

// bom is the UTF-8 byte order mark some editors put at the start of a file.
const bom = "\ufeff"

// Parse reads an htpasswd file: one user:hash per line, blank lines and
// lines starting with "#" kept as they are. Every entry must be bcrypt,
// because the registry ignores any other and that user could not log in. A
// byte order mark at the start is dropped: the registry would read it as
// part of the first user's name, and that user could not log in.
func Parse(r io.Reader) (*File, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read htpasswd file: %w", err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("the htpasswd file is over %d MiB: that is no list of registry users", MaxFileSize>>20)
	}
	text := strings.TrimPrefix(string(data), bom)
	f := &File{eol: "\n"}
	if strings.Contains(text, "\r\n") {
		f.eol = "\r\n"
	}
	seen := map[string]int{}
	n := 0
	for raw := range strings.SplitAfterSeq(text, "\n") {
		if raw == "" {
			continue
		}
		n++
		// Trimmed as the registry trims, so both read the same user and hash.
		t := strings.TrimSpace(raw)
		if t == "" || strings.HasPrefix(t, "#") {
			f.lines = append(f.lines, line{raw: raw})
			continue
		}
		user, hash, ok := strings.Cut(t, ":")
		if !ok {
			return nil, fmt.Errorf("line %d: no %q between user and hash; each line must be user:hash", n, ":")
		}
		// Only emptiness is checked, not ValidateUser: a name Apache's tool
		// accepted (a space inside, say) still works, and refusing it would
		// make the whole file uneditable.
		if user == "" {
			return nil, fmt.Errorf("line %d: empty user name before %q; remove the line or add the user", n, ":")
		}
		if first, dup := seen[user]; dup {
			return nil, fmt.Errorf("line %d: user %q is also on line %d; the registry uses the last and Apache's htpasswd the first, so remove one",
				n, user, first)
		}
		if !isBcrypt(hash) {
			return nil, fmt.Errorf("line %d: user %q: %w (%s); the registry ignores such entries, so %q cannot log in until the password is set again with bcrypt",
				n, user, ErrNotBcrypt, scheme(hash), user)
		}
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return nil, fmt.Errorf("line %d: user %q: malformed bcrypt hash (%v); set the password again", n, user, err)
		}
		seen[user] = n
		f.lines = append(f.lines, line{Entry: Entry{User: user, Hash: hash}, raw: raw})
	}
	return f, nil
}

// MaxFileSize bounds the htpasswd file read: thousands of users fit many
// times over, and a file given by mistake (a disk image) is refused rather
// than read into memory.
const MaxFileSize = 16 << 20

// Load reads and parses the htpasswd file at path. A missing file is an error
// wrapping fs.ErrNotExist.
func Load(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read htpasswd file: %w", err)
	}
	defer fh.Close()
	f, err := Parse(fh)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

func isBcrypt(hash string) bool {
	for _, p := range bcryptPrefixes {
		if strings.HasPrefix(hash, p) {
			return true
		}
	}
	return false
}

// scheme names the hash scheme for the operator, from the prefixes Apache's
// htpasswd and crypt(3) write.
func scheme(hash string) string {
	switch {
	case strings.HasPrefix(hash, "$apr1$"):
		return "MD5 $apr1$"
	case strings.HasPrefix(hash, "{SHA}"):
		return "SHA-1 {SHA}"
	case strings.HasPrefix(hash, "$1$"):
		return "MD5-crypt $1$"
	case strings.HasPrefix(hash, "$5$"):
		return "SHA-256-crypt $5$"
	case strings.HasPrefix(hash, "$6$"):
		return "SHA-512-crypt $6$"
	case strings.HasPrefix(hash, "$2"):
		return "unsupported bcrypt variant " + hash[:min(len(hash), 4)]
	default:
		return "crypt or plain text"
	}
}

func (f *File) find(user string) int {
	for i, l := range f.lines {
		if l.User != "" && l.User == user {
			return i
		}
	}
	return -1
}

// Set adds user with a bcrypt hash of password, or changes the password of an
// existing user in place. It checks the user name but not the password policy:
// callers choose whether ValidatePassword applies.
func (f *File) Set(user, password string, cost int) error {
	if err := ValidateUser(user); err != nil {
		return err
	}
	h, err := Hash(password, cost)
	if err != nil {
		return fmt.Errorf("set password for %q: %w", user, err)
	}
	if i := f.find(user); i >= 0 {
		l := &f.lines[i]
		// The line keeps its own ending, and only its hash changes.
		ending := l.raw[len(strings.TrimRight(l.raw, "\r\n")):]
		l.Hash, l.raw = h, user+":"+h+ending
		return nil
	}
	eol := f.eol
	if eol == "" {
		eol = "\n"
	}
	if n := len(f.lines); n > 0 && !strings.HasSuffix(f.lines[n-1].raw, "\n") {
		f.lines[n-1].raw += eol
	}
	f.lines = append(f.lines, line{Entry: Entry{User: user, Hash: h}, raw: user + ":" + h + eol})
	return nil
}

// Remove deletes user and reports whether it was present.
func (f *File) Remove(user string) bool {
	i := f.find(user)
	if i < 0 {
		return false
	}
	f.lines = append(f.lines[:i], f.lines[i+1:]...)
	return true
}

// Users returns the user names in file order.
func (f *File) Users() []string {
	var users []string
	for _, l := range f.lines {
		if l.User != "" {
			users = append(users, l.User)
		}
	}
	return users
}

// Has reports whether user has an entry.
func (f *File) Has(user string) bool {
	return f.find(user) >= 0
}

// Verify checks password for user as the registry would: nil when it matches,
// else an error wrapping ErrUnknownUser or ErrMismatch.
func (f *File) Verify(user, password string) error {
	i := f.find(user)
	if i < 0 {
		return fmt.Errorf("verify %q: %w", user, ErrUnknownUser)
	}
	err := bcrypt.CompareHashAndPassword([]byte(f.lines[i].Hash), []byte(password))
	if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
		return fmt.Errorf("verify %q: %w", user, ErrMismatch)
	}
	if err != nil {
		return fmt.Errorf("verify %q: %w; set the password again", user, err)
	}
	return nil
}

// Bytes returns the file content: every line as it was read, but for the
// entries set since, which end as their line did (or as the file's lines do).
func (f *File) Bytes() []byte {
	var b strings.Builder
	for _, l := range f.lines {
		b.WriteString(l.raw)
	}
	return []byte(b.String())
}

// Cost returns the bcrypt cost of user's hash, so a caller can tell a
// password hashed at another --bcrypt-cost.
func (f *File) Cost(user string) (int, error) {
	i := f.find(user)
	if i < 0 {
		return 0, fmt.Errorf("cost of %q: %w", user, ErrUnknownUser)
	}
	return bcrypt.Cost([]byte(f.lines[i].Hash))
}
