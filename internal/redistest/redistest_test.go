package redistest

import (
	"strings"
	"testing"
)

func TestServerRestarts(t *testing.T) {
	s := Start(t)
	if !strings.HasPrefix(s.URL(), "unix://") || ping(s.sock, "") != nil {
		t.Fatalf("server at %s does not answer", s.URL())
	}
	s.Stop()
	if ping(s.sock, "") == nil {
		t.Fatal("a stopped server answers")
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := ping(s.sock, ""); err != nil {
		t.Fatalf("after the restart: %v", err)
	}
}

func TestServerOverTCP(t *testing.T) {
	s := StartTCP(t)
	if !strings.HasPrefix(s.TCPURL(), "redis://:pw-") || ping(s.sock, s.password) != nil {
		t.Fatalf("server at %s does not answer", s.TCPURL())
	}
	if ping(s.sock, "wrong") == nil {
		t.Fatal("a wrong password is let in")
	}
	if Start(t).TCPURL() != "" {
		t.Fatal("a unix-only server names a TCP address")
	}
}
