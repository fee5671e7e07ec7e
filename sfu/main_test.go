package sfu

import (
	"testing"

	"go.uber.org/goleak"
)

// Every test must leave no goroutine behind: the SFU's, pion's and the test
// peers' all end when their owners close.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
