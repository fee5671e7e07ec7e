package netem

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"

	"github.com/pion/stun/v4"
)

// Proxy relays UDP between clients and one server address through Links:
// clients send to the Proxy's address, and each client gets a socket of its
// own towards the server (so the server sees one address per client, as
// behind a NAT), with an uplink and a downlink Link. Every client is
// impaired as the Proxy's default says until a rule names it; a client is
// named by its address or by the ICE username it sends (RFC 8445 §7.2.2:
// "remote-ufrag:local-ufrag" in its STUN binding requests, the server's
// ufrag first), which a test can read from a browser's session description.
type Proxy struct {
	conn   *net.UDPConn
	server netip.AddrPort

	mu      sync.Mutex
	def     [2]Impairment // up, down
	flows   map[netip.AddrPort]*Flow
	rules   []rule
	seed    uint64
	closed  bool
	readers sync.WaitGroup
}

type rule struct {
	match    func(*Flow) bool
	up, down Impairment
}

// Flow is one client's path through the Proxy.
type Flow struct {
	Client   netip.AddrPort
	up, down *Link
	p        *Proxy

	mu       sync.Mutex
	upstream *net.UDPConn
	username string // the first ICE username seen from the client
}

// NewProxy listens on listen (host:port; port 0 picks one) and relays to
// server.
func NewProxy(listen string, server netip.AddrPort) (*Proxy, error) {
	la, err := net.ResolveUDPAddr("udp", listen)
	if err != nil {
		return nil, err
	}
	c, err := net.ListenUDP("udp", la)
	if err != nil {
		return nil, err
	}
	_ = c.SetReadBuffer(4 << 20)
	p := &Proxy{conn: c, server: server, flows: map[netip.AddrPort]*Flow{}, seed: 1}
	p.readers.Add(1)
	go p.readClients()
	return p, nil
}

// Addr is where clients send to.
func (p *Proxy) Addr() netip.AddrPort {
	return p.conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

// SetDefault sets the impairment of clients no rule names, including the
// ones already flowing.
func (p *Proxy) SetDefault(up, down Impairment) {
	p.mu.Lock()
	p.def = [2]Impairment{up, down}
	flows := p.flowsLocked()
	p.mu.Unlock()
	for _, f := range flows {
		p.apply(f)
	}
}

// SetClient impairs the clients whose address is addr.
func (p *Proxy) SetClient(addr netip.AddrPort, up, down Impairment) {
	p.addRule(rule{match: func(f *Flow) bool { return f.Client == addr }, up: up, down: down})
}

// SetUfrag impairs the clients whose ICE username names the server's side
// ufrag (the first part, RFC 8445 §7.2.2), from their first binding request
// on.
func (p *Proxy) SetUfrag(serverUfrag string, up, down Impairment) {
	p.addRule(rule{match: func(f *Flow) bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.username != "" && strings.HasPrefix(f.username, serverUfrag+":")
	}, up: up, down: down})
}

func (p *Proxy) addRule(r rule) {
	p.mu.Lock()
	p.rules = append([]rule{r}, p.rules...) // the latest rule wins
	flows := p.flowsLocked()
	p.mu.Unlock()
	for _, f := range flows {
		p.apply(f)
	}
}

// apply sets f's links from the first rule that names it, else the default.
func (p *Proxy) apply(f *Flow) {
	p.mu.Lock()
	up, down := p.def[0], p.def[1]
	rules := p.rules
	p.mu.Unlock()
	for _, r := range rules {
		if r.match(f) {
			up, down = r.up, r.down
			break
		}
	}
	f.up.Set(up)
	f.down.Set(down)
}

func (p *Proxy) flowsLocked() []*Flow {
	out := make([]*Flow, 0, len(p.flows))
	for _, f := range p.flows {
		out = append(out, f)
	}
	return out
}

// Flows returns the clients seen so far.
func (p *Proxy) Flows() []*Flow {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.flowsLocked()
}

// Stats returns the flow's uplink and downlink counts.
func (f *Flow) Stats() (up, down Stats) { return f.up.Stats(), f.down.Stats() }

// Username is the ICE username the client sent first, if any.
func (f *Flow) Username() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.username
}

// Rebind gives the flow a new socket towards the server, as when a client's
// network changes (Wi-Fi to 4G) and the server sees it from a new address;
// the old address goes silent.
func (f *Flow) Rebind() error {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IP(f.p.server.Addr().AsSlice())})
	if err != nil {
		return err
	}
	f.mu.Lock()
	old := f.upstream
	f.upstream = c
	f.mu.Unlock()
	_ = old.Close() // its reader ends
	f.p.readers.Add(1)
	go f.p.readServer(f, c)
	return nil
}

// readClients relays what clients send, making a flow for each new one.
func (p *Proxy) readClients() {
	defer p.readers.Done()
	buf := make([]byte, 65536)
	for {
		n, from, err := p.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return // closed
		}
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		f, created, err := p.flow(from)
		if err != nil {
			continue
		}
		if created {
			p.apply(f) // a rule may name it already (by address)
		}
		if f.Username() == "" && stun.IsMessage(buf[:n]) {
			m := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
			if m.Decode() == nil {
				var u stun.Username
				if u.GetFrom(m) == nil {
					f.mu.Lock()
					f.username = u.String()
					f.mu.Unlock()
					p.apply(f)
				}
			}
		}
		f.up.Send(buf[:n])
	}
}

// flow returns the client's flow, making it (with the default impairment)
// on its first datagram; created says it was made now.
func (p *Proxy) flow(client netip.AddrPort) (f *Flow, created bool, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, false, net.ErrClosed
	}
	if f := p.flows[client]; f != nil {
		return f, false, nil
	}
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IP(p.server.Addr().AsSlice())})
	if err != nil {
		return nil, false, err
	}
	_ = c.SetReadBuffer(4 << 20)
	f = &Flow{Client: client, p: p, upstream: c}
	p.seed++
	f.up = NewLink(p.def[0], p.seed, func(b []byte) {
		f.mu.Lock()
		up := f.upstream
		f.mu.Unlock()
		_, _ = up.WriteToUDPAddrPort(b, p.server)
	})
	p.seed++
	f.down = NewLink(p.def[1], p.seed, func(b []byte) {
		_, _ = p.conn.WriteToUDPAddrPort(b, client)
	})
	p.flows[client] = f
	p.readers.Add(1)
	go p.readServer(f, c)
	return f, true, nil
}

// readServer relays what the server sends to the flow's socket c.
func (p *Proxy) readServer(f *Flow, c *net.UDPConn) {
	defer p.readers.Done()
	buf := make([]byte, 65536)
	for {
		n, _, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		f.down.Send(buf[:n])
	}
}

// Close stops relaying.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	flows := p.flowsLocked()
	p.mu.Unlock()
	err := p.conn.Close()
	for _, f := range flows {
		f.mu.Lock()
		up := f.upstream
		f.mu.Unlock()
		err = errors.Join(err, up.Close())
		f.up.Close()
		f.down.Close()
	}
	p.readers.Wait()
	return err
}
