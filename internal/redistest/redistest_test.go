package redistest

import (
	"strings"
	"testing"
)

func TestServerRestarts(t *testing.T) {
	s := Start(t)
	if !strings.HasPrefix(s.URL(), "unix://") || ping(s.sock) != nil {
		t.Fatalf("server at %s does not answer", s.URL())
	}
	s.Stop()
	if ping(s.sock) == nil {
		t.Fatal("a stopped server answers")
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := ping(s.sock); err != nil {
		t.Fatalf("after the restart: %v", err)
	}
}
