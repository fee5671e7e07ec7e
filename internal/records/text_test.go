package records

import (
	"strings"
	"testing"
)

func TestValidID(t *testing.T) {
	for id, want := range map[string]bool{
		"mjz4rdjd3t6uyejcpjsb4e5t2x": true,
		"gw-karen_1":                 true,
		"":                           false,
		"../etc/passwd":              false,
		"a/b":                        false,
		"a\r\nSet-Cookie: x":         false,
		"a b":                        false,
		"æ":                          false,
		strings.Repeat("a", 64):      true,
		strings.Repeat("a", 65):      false,
	} {
		if ValidID(id) != want {
			t.Errorf("ValidID(%q) = %v", id, !want)
		}
	}
}

func TestCheckText(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // "" for accepted, else a part of the reason
	}{
		{"Karen Jensen", ""},
		{"Søren Ærø-Østergård", ""},
		{"محمد علي", ""},     // right-to-left script: fine
		{"李小龙", ""},          // fine
		{"a\u200db", ""},     // zero-width joiner (needed in some scripts)
		{"x\x00y", "U+0000"}, // NUL
		{"line\nbreak", "U+000A"},
		{"\x1b[31mred", "U+001B"},
		{"evil\u202eexe.txt", "U+202E"}, // right-to-left override
		{"\u2066isolate", "U+2066"},
		{"\ufeffbom", "U+FEFF"},
		{"\xff\xfe", "not UTF-8"},
		{strings.Repeat("x", 201), "longer than 200"},
		{strings.Repeat("ø", 200), ""},
	} {
		got := CheckText(tc.in, 200)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("CheckText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if !Blank(" \t ") || Blank(" a ") {
		t.Error("Blank")
	}
}
