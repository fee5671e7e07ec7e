package scheduler

import (
	"errors"
	"testing"
)

func TestReason(t *testing.T) {
	err := because(ErrConflict, "the clinician is busy")
	wrapped := errors.Join(errors.New("other"), err)
	if !errors.Is(wrapped, ErrConflict) || Reason(wrapped) != "the clinician is busy" {
		t.Errorf("Reason(%v) = %q", wrapped, Reason(wrapped))
	}
	if Reason(nil) != "" || Reason(errors.New("plain")) != "plain" {
		t.Error("Reason of an error without one")
	}
}
