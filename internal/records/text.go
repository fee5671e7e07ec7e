package records

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// What the records keep as people's text and as ids, checked before it is
// stored, so that a bad value is a clear refusal rather than a database error
// (PostgreSQL refuses NUL in text) or a stored trap (a bidi override that
// shows a name reversed in every list, a control character that breaks a CSV
// export or a log line).

// idPattern is what an id may be: 1-64 letters, digits, - or _. The ids the
// clinic makes are 26 characters of lower-case base32.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidID reports whether s can be an id: 1-64 ASCII letters, digits, - or
// _. A path segment such as "../x" or one holding CR or LF is not.
func ValidID(s string) bool { return idPattern.MatchString(s) }

// CheckText says what is wrong with s as one line of people's text (a name,
// a label, a reason) of at most max characters, or "" when nothing is: it
// must be UTF-8 without control characters (NUL, CR, LF, ...), without the
// invisible characters that reorder or hide text (Unicode bidirectional
// embeddings, overrides and isolates, U+202A-U+202E and U+2066-U+2069; the
// byte order mark), and not longer than max. Empty is for the caller to
// refuse where a value is required.
func CheckText(s string, max int) string {
	switch {
	case !utf8.ValidString(s):
		return "not UTF-8"
	case utf8.RuneCountInString(s) > max:
		return fmt.Sprintf("longer than %d characters", max)
	}
	for _, r := range s {
		switch {
		case unicode.IsControl(r):
			return fmt.Sprintf("holds the control character %U", r)
		case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069, r == 0xFEFF:
			return fmt.Sprintf("holds the invisible formatting character %U", r)
		}
	}
	return ""
}

// Blank reports whether s holds nothing but white space.
func Blank(s string) bool { return strings.TrimSpace(s) == "" }
