package signaling

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: every
// connection's reader and writer, every grace-period expiry, and the media
// server's goroutines have an owner that ends them.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
