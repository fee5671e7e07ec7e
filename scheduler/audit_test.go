package scheduler

import "testing"

func TestRedactCPR(t *testing.T) {
	for in, want := range map[string]string{
		"":                               "",
		"patient 0101901234 called":      "patient [redacted] called",
		"010190-1234 and 010190 1234":    "[redacted] and [redacted]",
		"2026-06-02T10:00:00Z for 30m0s": "2026-06-02T10:00:00Z for 30m0s",
		"phone 12345678":                 "phone 12345678",
	} {
		if got := redactCPR(in); got != want {
			t.Errorf("redactCPR(%q) = %q, want %q", in, got, want)
		}
	}
}
