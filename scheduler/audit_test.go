package scheduler

import (
	"testing"

	"vclinic/internal/records/audit"
)

func TestRedactCPR(t *testing.T) {
	for in, want := range map[string]string{
		"":                               "",
		"patient 0101901234 called":      "patient [redacted] called",
		"010190-1234 and 010190 1234":    "[redacted] and [redacted]",
		"2026-06-02T10:00:00Z for 30m0s": "2026-06-02T10:00:00Z for 30m0s",
		"phone 12345678":                 "phone 12345678",
	} {
		if got := audit.RedactCPR(in); got != want {
			t.Errorf("audit.RedactCPR(%q) = %q, want %q", in, got, want)
		}
	}
}
