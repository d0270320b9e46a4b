package htpasswd_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/paxsetup/paxsetup/internal/htpasswd"
)

// fixedHash returns a bcrypt hash of password at MinCost with the given
// prefix, for files that must hold a real, verifiable entry.
func fixedHash(t *testing.T, prefix, password string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return prefix + strings.TrimPrefix(string(h), "$2a$")
}

func TestValidateCost(t *testing.T) {
	tests := []struct {
		name    string
		cost    int
		wantErr string
	}{
		{name: "min", cost: htpasswd.MinCost},
		{name: "default", cost: htpasswd.DefaultCost},
		{name: "max", cost: htpasswd.MaxCost},
		{name: "below min", cost: 3, wantErr: "--bcrypt-cost 3 is out of range: use 4 to 14"},
		{name: "above max", cost: 15, wantErr: "--bcrypt-cost 15 is out of range: use 4 to 14"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, htpasswd.ValidateCost(tt.cost), tt.wantErr)
		})
	}
}

func TestHash(t *testing.T) {
	tests := []struct {
		name     string
		password string
		cost     int
		wantErr  string
		wantIs   error
	}{
		{name: "ascii", password: "correct horse battery", cost: htpasswd.MinCost},
		{name: "cost is recorded", password: "correct horse battery", cost: 5},
		{name: "multibyte", password: "pässwörd-日本語-🔑", cost: htpasswd.MinCost},
		{name: "exactly 72 bytes", password: strings.Repeat("a", 72), cost: htpasswd.MinCost},
		{name: "73 bytes", password: strings.Repeat("a", 73), cost: htpasswd.MinCost,
			wantErr: "it is 73 bytes and bcrypt reads only the first 72", wantIs: htpasswd.ErrPasswordTooLong},
		{name: "cost too low", password: "x", cost: 3, wantErr: "--bcrypt-cost 3"},
		{name: "cost too high", password: "x", cost: 15, wantErr: "--bcrypt-cost 15"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := htpasswd.Hash(tt.password, tt.cost)
			checkErr(t, err, tt.wantErr)
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Fatalf("error %v does not wrap %v", err, tt.wantIs)
			}
			if err != nil {
				return
			}
			if !strings.HasPrefix(h, "$2y$") {
				t.Errorf("hash %q does not start with $2y$", h)
			}
			if err := bcrypt.CompareHashAndPassword([]byte(h), []byte(tt.password)); err != nil {
				t.Errorf("hash does not verify the password: %v", err)
			}
			// The last byte changes, not an added one: bcrypt ignores bytes past
			// 72, so an appended byte would still match the 72-byte case.
			last := len(tt.password) - 1
			wrong := tt.password[:last] + string(tt.password[last]^1)
			if err := bcrypt.CompareHashAndPassword([]byte(h), []byte(wrong)); err == nil {
				t.Errorf("hash verifies the wrong password %q", wrong)
			}
			if got, err := bcrypt.Cost([]byte(h)); err != nil || got != tt.cost {
				t.Errorf("cost = %d, %v; want %d", got, err, tt.cost)
			}
		})
	}
}

func TestHashSaltsEachCall(t *testing.T) {
	a, err := htpasswd.Hash("same password", htpasswd.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	b, err := htpasswd.Hash("same password", htpasswd.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Errorf("two hashes of one password are equal (%q): the salt is not random", a)
	}
}

func TestValidateUser(t *testing.T) {
	tests := []struct {
		name    string
		user    string
		wantErr string
	}{
		{name: "plain", user: "admin"},
		{name: "dots dashes underscores", user: "pack.reader-01_x"},
		{name: "hash inside", user: "a#b"},
		{name: "255 bytes", user: strings.Repeat("u", 255)},
		{name: "empty", user: "", wantErr: "user name is empty"},
		{name: "colon", user: "ad:min", wantErr: `user name "ad:min" contains ":"`},
		{name: "leading hash", user: "#admin", wantErr: `user name "#admin" starts with "#", which the registry reads as a comment`},
		{name: "newline", user: "ad\nmin", wantErr: `user name "ad\nmin" contains a newline`},
		{name: "carriage return", user: "admin\r", wantErr: "contains a newline"},
		{name: "space", user: "pack admin", wantErr: `user name "pack admin" contains whitespace or a control character (U+0020)`},
		{name: "tab", user: "admin\t", wantErr: "(U+0009)"},
		{name: "no-break space", user: "admin\u00a0", wantErr: "(U+00A0)"},
		{name: "control", user: "ad\x00min", wantErr: "(U+0000)"},
		{name: "256 bytes", user: strings.Repeat("u", 256), wantErr: "is 256 bytes; use at most 255"},
		{name: "letters beyond ASCII", user: "jürgen.ops"},
		{name: "zero width space", user: "ad\u200bmin", wantErr: "invisible or format character (U+200B)"},
		{name: "right-to-left override", user: "admin\u202e", wantErr: "(U+202E)"},
		{name: "byte order mark", user: "\ufeffadmin", wantErr: "(U+FEFF)"},
		{name: "invalid UTF-8", user: "ad\xffmin", wantErr: "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := htpasswd.ValidateUser(tt.user)
			checkErr(t, err, tt.wantErr)
			if err != nil && !errors.Is(err, htpasswd.ErrInvalidUser) {
				t.Errorf("error %v does not wrap ErrInvalidUser", err)
			}
		})
	}
}

func TestValidatePassword(t *testing.T) {
	tests := []struct {
		name     string
		user     string
		password string
		wantErr  string
	}{
		{name: "12 chars", user: "admin", password: "abcdefghijkl"},
		{name: "72 bytes", user: "admin", password: strings.Repeat("a", 72)},
		{name: "12 two-byte runes", user: "admin", password: strings.Repeat("é", 12)},
		{name: "contains the user name", user: "admin", password: "admin-but-longer"},
		{name: "11 chars", user: "admin", password: "abcdefghijk",
			wantErr: `password for "admin" is 11 characters; use at least 12`},
		{name: "8 chars", user: "admin", password: "abcdefgh",
			wantErr: `password for "admin" is 8 characters; use at least 12`},
		{name: "empty", user: "admin", password: "",
			wantErr: `password for "admin" is 0 characters; use at least 12`},
		// 22 bytes, but 11 characters: the rule counts what the operator typed.
		{name: "11 two-byte runes", user: "admin", password: strings.Repeat("é", 11),
			wantErr: `password for "admin" is 11 characters; use at least 12`},
		{name: "73 bytes", user: "admin", password: strings.Repeat("a", 73),
			wantErr: `password for "admin" is 73 bytes; bcrypt reads only the first 72, so use at most 72`},
		// 19 characters, but 76 bytes.
		{name: "19 four-byte runes", user: "admin", password: strings.Repeat("🔑", 19),
			wantErr: `is 76 bytes; bcrypt reads only the first 72`},
		{name: "equals the user name", user: "administrator", password: "administrator",
			wantErr: `password for "administrator" is the user name`},
		{name: "equals the user name in other case", user: "administrator", password: "AdministratoR",
			wantErr: `password for "administrator" is the user name`},
		{name: "newline", user: "admin", password: "abcdefghijkl\n",
			wantErr: `password for "admin" contains a newline`},
		{name: "carriage return", user: "admin", password: "abcdef\rghijkl",
			wantErr: "contains a newline"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := htpasswd.ValidatePassword(tt.user, tt.password)
			checkErr(t, err, tt.wantErr)
			if err != nil && !errors.Is(err, htpasswd.ErrInvalidPassword) {
				t.Errorf("error %v does not wrap ErrInvalidPassword", err)
			}
		})
	}
}

func TestParse(t *testing.T) {
	admin2a := fixedHash(t, "$2a$", "admin password")
	reader2b := fixedHash(t, "$2b$", "reader password")
	spectro2y := fixedHash(t, "$2y$", "spectro password")

	tests := []struct {
		name      string
		content   string
		wantUsers []string
		wantBytes string
	}{
		{name: "empty", content: ""},
		{name: "all bcrypt prefixes",
			content:   "admin:" + admin2a + "\nreader:" + reader2b + "\nspectro:" + spectro2y + "\n",
			wantUsers: []string{"admin", "reader", "spectro"},
			wantBytes: "admin:" + admin2a + "\nreader:" + reader2b + "\nspectro:" + spectro2y + "\n"},
		{name: "no final newline kept",
			content:   "admin:" + admin2a,
			wantUsers: []string{"admin"},
			wantBytes: "admin:" + admin2a},
		{name: "blank lines and CRLF kept",
			content:   "\n\nadmin:" + admin2a + "\r\n  \r\nspectro:" + spectro2y + "\r\n\n",
			wantUsers: []string{"admin", "spectro"},
			wantBytes: "\n\nadmin:" + admin2a + "\r\n  \r\nspectro:" + spectro2y + "\r\n\n"},
		{name: "a byte order mark is dropped, and the first user found",
			content:   "\ufeffadmin:" + admin2a + "\n",
			wantUsers: []string{"admin"},
			wantBytes: "admin:" + admin2a + "\n"},
		{name: "a line over 64 KiB",
			content:   "# " + strings.Repeat("x", 100<<10) + "\nadmin:" + admin2a + "\n",
			wantUsers: []string{"admin"},
			wantBytes: "# " + strings.Repeat("x", 100<<10) + "\nadmin:" + admin2a + "\n"},
		{name: "comments kept in place",
			content:   "# pack registry\nadmin:" + admin2a + "\n# second login, for Palette\nspectro:" + spectro2y + "\n",
			wantUsers: []string{"admin", "spectro"},
			wantBytes: "# pack registry\nadmin:" + admin2a + "\n# second login, for Palette\nspectro:" + spectro2y + "\n"},
		{name: "user Apache accepts but paxsetup would not create",
			content:   "pack admin:" + admin2a + "\n",
			wantUsers: []string{"pack admin"},
			wantBytes: "pack admin:" + admin2a + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := htpasswd.Parse(strings.NewReader(tt.content))
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Users(); !slices.Equal(got, tt.wantUsers) {
				t.Errorf("Users() = %q, want %q", got, tt.wantUsers)
			}
			if got := string(f.Bytes()); got != tt.wantBytes {
				t.Errorf("Bytes() = %q, want %q", got, tt.wantBytes)
			}
		})
	}

	t.Run("editing keeps every other byte", func(t *testing.T) {
		content := "# made by hand\r\n\r\nadmin:" + admin2a + "\r\n   \r\nspectro:" + spectro2y
		f, err := htpasswd.Parse(strings.NewReader(content))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Set("admin", "a-new-password-123", htpasswd.MinCost); err != nil {
			t.Fatal(err)
		}
		if err := f.Set("viewer", "a-viewer-password-1", htpasswd.MinCost); err != nil {
			t.Fatal(err)
		}
		got := string(f.Bytes())
		lines := strings.SplitAfter(got, "\r\n")
		// The last line gains the file's CRLF, as the new one ends with it.
		if len(lines) != 7 || lines[6] != "" || lines[0] != "# made by hand\r\n" || lines[1] != "\r\n" || lines[3] != "   \r\n" ||
			lines[4] != "spectro:"+spectro2y+"\r\n" || !strings.HasPrefix(lines[2], "admin:$2") || !strings.HasSuffix(lines[2], "\r\n") ||
			!strings.HasPrefix(lines[5], "viewer:$2") || !strings.HasSuffix(lines[5], "\r\n") {
			t.Errorf("after editing:\n%q", got)
		}
		again, err := htpasswd.Parse(strings.NewReader(got))
		if err != nil {
			t.Fatal(err)
		}
		if err := again.Verify("admin", "a-new-password-123"); err != nil {
			t.Error(err)
		}
		if err := again.Verify("viewer", "a-viewer-password-1"); err != nil {
			t.Error(err)
		}
	})

	t.Run("parsed entries verify", func(t *testing.T) {
		f, err := htpasswd.Parse(strings.NewReader("admin:" + admin2a + "\nreader:" + reader2b + "\nspectro:" + spectro2y + "\n"))
		if err != nil {
			t.Fatal(err)
		}
		for user, pw := range map[string]string{"admin": "admin password", "reader": "reader password", "spectro": "spectro password"} {
			if err := f.Verify(user, pw); err != nil {
				t.Errorf("Verify(%q): %v", user, err)
			}
		}
	})
}

func TestParseErrors(t *testing.T) {
	good := fixedHash(t, "$2y$", "admin password")
	tests := []struct {
		name    string
		content string
		wantErr string
		wantIs  error
	}{
		{name: "MD5 apr1",
			content: "admin:" + good + "\nbob:$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/\n",
			wantErr: `line 2: user "bob": not a bcrypt hash (MD5 $apr1$); the registry ignores such entries, so "bob" cannot log in until the password is set again with bcrypt`,
			wantIs:  htpasswd.ErrNotBcrypt},
		{name: "SHA",
			content: "carol:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n",
			wantErr: `line 1: user "carol": not a bcrypt hash (SHA-1 {SHA})`,
			wantIs:  htpasswd.ErrNotBcrypt},
		{name: "crypt",
			content: "\n\ndave:rqXexS6ZhobKA\n",
			wantErr: `line 3: user "dave": not a bcrypt hash (crypt or plain text)`,
			wantIs:  htpasswd.ErrNotBcrypt},
		{name: "plain text",
			content: "erin:secret\n",
			wantErr: `line 1: user "erin": not a bcrypt hash (crypt or plain text)`,
			wantIs:  htpasswd.ErrNotBcrypt},
		{name: "SHA-512 crypt",
			content: "frank:$6$salt$hash\n",
			wantErr: `not a bcrypt hash (SHA-512-crypt $6$)`,
			wantIs:  htpasswd.ErrNotBcrypt},
		{name: "other bcrypt variant",
			content: "gina:$2x$05$abcdefghijklmnopqrstuuNvD5y0iRNvNmfzDbnkSn2KoOzv0GHzS\n",
			wantErr: `not a bcrypt hash (unsupported bcrypt variant $2x$)`,
			wantIs:  htpasswd.ErrNotBcrypt},
		{name: "no colon",
			content: "admin:" + good + "\njust-a-name\n",
			wantErr: `line 2: no ":" between user and hash; each line must be user:hash`},
		{name: "empty user",
			content: ":" + good + "\n",
			wantErr: `line 1: empty user name before ":"`},
		{name: "duplicate",
			content: "admin:" + good + "\nspectro:" + good + "\nadmin:" + good + "\n",
			wantErr: `line 3: user "admin" is also on line 1`},
		{name: "truncated bcrypt",
			content: "admin:" + good[:40] + "\n",
			wantErr: `line 1: user "admin": malformed bcrypt hash`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := htpasswd.Parse(strings.NewReader(tt.content))
			checkErr(t, err, tt.wantErr)
			if f != nil {
				t.Errorf("Parse returned a file with an error")
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v does not wrap %v", err, tt.wantIs)
			}
			if tt.wantIs == nil && errors.Is(err, htpasswd.ErrNotBcrypt) {
				t.Errorf("error %v wraps ErrNotBcrypt", err)
			}
		})
	}
}

func TestFileEditing(t *testing.T) {
	f := &htpasswd.File{}
	for _, u := range []string{"admin", "spectro", "ci"} {
		if err := f.Set(u, u+" password", htpasswd.MinCost); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("set keeps insertion order", func(t *testing.T) {
		if got, want := f.Users(), []string{"admin", "spectro", "ci"}; !slices.Equal(got, want) {
			t.Errorf("Users() = %q, want %q", got, want)
		}
	})

	t.Run("set changes a password in place", func(t *testing.T) {
		if err := f.Set("spectro", "new spectro password", htpasswd.MinCost); err != nil {
			t.Fatal(err)
		}
		if got, want := f.Users(), []string{"admin", "spectro", "ci"}; !slices.Equal(got, want) {
			t.Errorf("Users() = %q, want %q", got, want)
		}
		if err := f.Verify("spectro", "new spectro password"); err != nil {
			t.Errorf("new password: %v", err)
		}
		if err := f.Verify("spectro", "spectro password"); !errors.Is(err, htpasswd.ErrMismatch) {
			t.Errorf("old password: got %v, want ErrMismatch", err)
		}
	})

	t.Run("set rejects an invalid user and leaves the file alone", func(t *testing.T) {
		before := string(f.Bytes())
		err := f.Set("bad:user", "some password", htpasswd.MinCost)
		checkErr(t, err, `user name "bad:user" contains ":"`)
		if !errors.Is(err, htpasswd.ErrInvalidUser) {
			t.Errorf("error %v does not wrap ErrInvalidUser", err)
		}
		if string(f.Bytes()) != before {
			t.Error("a failed Set changed the file")
		}
	})

	t.Run("set does not apply the password policy", func(t *testing.T) {
		g := &htpasswd.File{}
		if err := g.Set("admin", "admin", htpasswd.MinCost); err != nil {
			t.Fatalf("Set with a short password: %v", err)
		}
		if err := g.Verify("admin", "admin"); err != nil {
			t.Error(err)
		}
	})

	t.Run("set refuses a password bcrypt would truncate", func(t *testing.T) {
		g := &htpasswd.File{}
		err := g.Set("admin", strings.Repeat("p", 73), htpasswd.MinCost)
		checkErr(t, err, `set password for "admin"`)
		if !errors.Is(err, htpasswd.ErrPasswordTooLong) {
			t.Errorf("error %v does not wrap ErrPasswordTooLong", err)
		}
		if g.Has("admin") {
			t.Error("a failed Set added the user")
		}
	})

	t.Run("verify", func(t *testing.T) {
		tests := []struct {
			name     string
			user     string
			password string
			wantIs   error
		}{
			{name: "match", user: "admin", password: "admin password"},
			{name: "wrong password", user: "admin", password: "admin passwore", wantIs: htpasswd.ErrMismatch},
			{name: "other user's password", user: "admin", password: "ci password", wantIs: htpasswd.ErrMismatch},
			{name: "unknown user", user: "nobody", password: "admin password", wantIs: htpasswd.ErrUnknownUser},
			{name: "user name is case-sensitive", user: "Admin", password: "admin password", wantIs: htpasswd.ErrUnknownUser},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := f.Verify(tt.user, tt.password)
				if tt.wantIs == nil {
					if err != nil {
						t.Fatal(err)
					}
					return
				}
				if !errors.Is(err, tt.wantIs) {
					t.Fatalf("got %v, want %v", err, tt.wantIs)
				}
				if !strings.Contains(err.Error(), `"`+tt.user+`"`) {
					t.Errorf("error %q does not name user %q", err, tt.user)
				}
			})
		}
	})

	t.Run("remove keeps the others", func(t *testing.T) {
		if !f.Remove("spectro") {
			t.Fatal("Remove(spectro) = false")
		}
		if f.Remove("spectro") {
			t.Error("second Remove(spectro) = true")
		}
		if f.Has("spectro") {
			t.Error("Has(spectro) after Remove")
		}
		if got, want := f.Users(), []string{"admin", "ci"}; !slices.Equal(got, want) {
			t.Errorf("Users() = %q, want %q", got, want)
		}
		for _, u := range []string{"admin", "ci"} {
			if err := f.Verify(u, u+" password"); err != nil {
				t.Errorf("after Remove: %v", err)
			}
		}
	})

	t.Run("bytes round-trip through parse", func(t *testing.T) {
		b := f.Bytes()
		for i, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
			user, hash, ok := strings.Cut(l, ":")
			if !ok || user != f.Users()[i] || !strings.HasPrefix(hash, "$2y$") {
				t.Errorf("line %d = %q, want %s:$2y$...", i+1, l, f.Users()[i])
			}
		}
		g, err := htpasswd.Parse(strings.NewReader(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		if string(g.Bytes()) != string(b) {
			t.Errorf("round trip changed the file:\n%s\nwant:\n%s", g.Bytes(), b)
		}
	})
}

func TestWriteAndLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "htpasswd-basic")
	// An existing, wider-permissioned file must end up 0600 too.
	if err := os.WriteFile(path, []byte("old content\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := &htpasswd.File{}
	if err := f.Set("admin", "admin password", htpasswd.MinCost); err != nil {
		t.Fatal(err)
	}
	if err := f.Set("spectro", "spectro password", htpasswd.MinCost); err != nil {
		t.Fatal(err)
	}
	if err := f.Write(path); err != nil {
		t.Fatal(err)
	}

	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Mode().Perm(); got != 0o600 {
		t.Errorf("mode = %o, want 600", got)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("folder holds %d entries after Write, want only the file", len(entries))
	}

	g, err := htpasswd.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := g.Users(), []string{"admin", "spectro"}; !slices.Equal(got, want) {
		t.Errorf("Users() = %q, want %q", got, want)
	}
	if err := g.Verify("spectro", "spectro password"); err != nil {
		t.Error(err)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "md5")
	if err := os.WriteFile(bad, []byte("bob:$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    string
		wantErr string
		wantIs  error
	}{
		{name: "missing", path: filepath.Join(dir, "nope"), wantErr: "read htpasswd file", wantIs: fs.ErrNotExist},
		{name: "not bcrypt names the file", path: bad, wantErr: bad + `: line 1: user "bob"`, wantIs: htpasswd.ErrNotBcrypt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := htpasswd.Load(tt.path)
			checkErr(t, err, tt.wantErr)
			if !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v does not wrap %v", err, tt.wantIs)
			}
		})
	}
}

func TestWriteIntoMissingFolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent", "htpasswd-basic")
	err := (&htpasswd.File{}).Write(path)
	checkErr(t, err, "save htpasswd file")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %v does not wrap fs.ErrNotExist", err)
	}
}

// BenchmarkTwoUserFile measures what `paxsetup init` spends on the two
// default users, to compare with running `htpasswd -Bbn` twice.
func BenchmarkTwoUserFile(b *testing.B) {
	path := filepath.Join(b.TempDir(), "htpasswd-basic")
	for b.Loop() {
		f := &htpasswd.File{}
		if err := f.Set("admin", "admin password 1", htpasswd.DefaultCost); err != nil {
			b.Fatal(err)
		}
		if err := f.Set("spectro", "spectro password 1", htpasswd.DefaultCost); err != nil {
			b.Fatal(err)
		}
		if err := f.Write(path); err != nil {
			b.Fatal(err)
		}
	}
}

// checkErr fails the test unless err is nil when want is empty, or contains
// want otherwise.
func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want != "" && err == nil:
		t.Fatalf("no error, want one containing %q", want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Fatalf("error %q does not contain %q", err, want)
	}
}
