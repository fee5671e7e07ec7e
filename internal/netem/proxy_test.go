package netem

import (
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/pion/stun/v4"
	"go.uber.org/goleak"
)

// echoServer answers every datagram with itself and remembers who sent.
type echoServer struct {
	conn *net.UDPConn
	mu   sync.Mutex
	from map[netip.AddrPort]int
}

func startEcho(t *testing.T) *echoServer {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	e := &echoServer{conn: c, from: map[netip.AddrPort]int{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			n, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			e.mu.Lock()
			e.from[from]++
			e.mu.Unlock()
			_, _ = c.WriteToUDPAddrPort(buf[:n], from)
		}
	}()
	t.Cleanup(func() { c.Close(); <-done })
	return e
}

func (e *echoServer) addr() netip.AddrPort { return e.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

func (e *echoServer) sources() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.from)
}

// client sends through the proxy and counts the echoes.
type client struct {
	conn *net.UDPConn
	to   netip.AddrPort
}

func newClient(t *testing.T, p *Proxy) *client {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &client{conn: c, to: p.Addr()}
}

func (c *client) addr() netip.AddrPort { return c.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// roundTrips sends n datagrams and counts the echoes that come back within
// a second of the last.
func (c *client) roundTrips(t *testing.T, n int, payload []byte) int {
	t.Helper()
	for range n {
		if _, err := c.conn.WriteToUDPAddrPort(payload, c.to); err != nil {
			t.Fatal(err)
		}
	}
	got := 0
	buf := make([]byte, 2048)
	for {
		_ = c.conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		if _, _, err := c.conn.ReadFromUDPAddrPort(buf); err != nil {
			return got
		}
		got++
	}
}

// TestProxyRules: each client has its own path; the default, a rule by
// address and a rule by ICE username each impair only what they name, and
// a rebound flow reaches the server from a new address.
func TestProxyRules(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	e := startEcho(t)
	p, err := NewProxy("127.0.0.1:0", e.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	a, b := newClient(t, p), newClient(t, p)
	if got := a.roundTrips(t, 10, []byte("hello")); got != 10 {
		t.Fatalf("a: %d of 10 echoes on a perfect path", got)
	}
	if got := b.roundTrips(t, 10, []byte("hello")); got != 10 {
		t.Fatalf("b: %d of 10 echoes on a perfect path", got)
	}
	if e.sources() != 2 {
		t.Fatalf("the server saw %d sources, want one per client", e.sources())
	}

	// A black-out of a's downlink only.
	p.SetClient(a.addr(), Impairment{}, Impairment{Blackout: true})
	if got := a.roundTrips(t, 10, []byte("hello")); got != 0 {
		t.Fatalf("a: %d echoes through a black-out", got)
	}
	if got := b.roundTrips(t, 10, []byte("hello")); got != 10 {
		t.Fatalf("b: %d of 10 echoes while a is blacked out", got)
	}

	// By ICE username: b's binding request names the server's ufrag "srv".
	req := stun.MustBuild(stun.TransactionID, stun.BindingRequest, stun.NewUsername("srv:cli"))
	p.SetUfrag("srv", Impairment{Blackout: true}, Impairment{})
	if got := b.roundTrips(t, 1, req.Raw); got != 0 {
		t.Fatalf("b: the binding request naming srv was echoed through a black-out")
	}
	for _, f := range p.Flows() {
		if f.Client == b.addr() && f.Username() != "srv:cli" {
			t.Fatalf("b's flow has username %q", f.Username())
		}
	}
	p.SetDefault(Impairment{}, Impairment{})
	p.SetUfrag("srv", Impairment{}, Impairment{}) // lifted
	p.SetClient(a.addr(), Impairment{}, Impairment{})
	if got := a.roundTrips(t, 5, []byte("hello")); got != 5 {
		t.Fatalf("a: %d of 5 echoes after the black-out", got)
	}

	// Rebind: the server sees a third address; the client notices nothing.
	for _, f := range p.Flows() {
		if f.Client == a.addr() {
			if err := f.Rebind(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := a.roundTrips(t, 5, []byte("hello")); got != 5 {
		t.Fatalf("a: %d of 5 echoes after a rebind", got)
	}
	if e.sources() != 3 {
		t.Fatalf("the server saw %d sources, want 3 after a rebind", e.sources())
	}
}
