package sfu

import (
	"fmt"
	"net"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"
)

func TestConfigValidate(t *testing.T) {
	ok := Config{}.WithDefaults()
	if ok.MaxParticipants != 6 || ok.KeyframeInterval != 500*time.Millisecond || ok.QueuePackets != 128 {
		t.Fatalf("WithDefaults() = %+v, want 6 participants, 500ms, 128 packets", ok)
	}
	tests := []struct {
		name    string
		edit    func(*Config)
		wantErr string
	}{
		{"defaults", func(*Config) {}, ""},
		{"fixed ports", func(c *Config) { c.UDPPort, c.TCPPort = 3478, 3479 }, ""},
		{"ICE-TCP off", func(c *Config) { c.TCPPort = -1 }, ""},
		{"loopback with IncludeLoopback", func(c *Config) { c.ListenIPs, c.IncludeLoopback = []string{"127.0.0.1"}, true }, ""},
		{"public IPs", func(c *Config) { c.PublicIPs = []string{"198.51.100.7", "2001:db8::7"} }, ""},
		{"UDP port too big", func(c *Config) { c.UDPPort = 70000 }, "UDPPort"},
		{"TCP port below -1", func(c *Config) { c.TCPPort = -2 }, "TCPPort"},
		{"no participants", func(c *Config) { c.MaxParticipants = -1 }, "MaxParticipants"},
		{"negative keyframe interval", func(c *Config) { c.KeyframeInterval = -time.Second }, "KeyframeInterval"},
		{"queue of one", func(c *Config) { c.QueuePackets = 1 }, "QueuePackets"},
		{"listen IP not an IP", func(c *Config) { c.ListenIPs = []string{"localhost"} }, "ListenIPs"},
		{"loopback without IncludeLoopback", func(c *Config) { c.ListenIPs = []string{"127.0.0.1"} }, "IncludeLoopback"},
		{"wildcard listen IP", func(c *Config) { c.ListenIPs = []string{"0.0.0.0"} }, "every address"},
		{"listen IP twice", func(c *Config) { c.ListenIPs, c.IncludeLoopback = []string{"127.0.0.1", "127.0.0.1"}, true }, "twice"},
		{"public IP not an IP", func(c *Config) { c.PublicIPs = []string{"clinic.example"} }, "PublicIPs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.edit(&c)
			err := c.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Validate() = %v, want an error about %s", err, tt.wantErr)
			}
		})
	}
	if _, err := New(Config{QueuePackets: 1}, nil); err == nil {
		t.Error("New accepted an invalid config")
	}
}

// TestListenAllInterfaces: with no ListenIPs the one UDP port is bound on
// every address, loopback included when asked.
func TestListenAllInterfaces(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	s, err := New(Config{IncludeLoopback: true}, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.UDPPort() == 0 || s.TCPPort() == 0 {
		t.Fatalf("ports %d/%d, want both open", s.UDPPort(), s.TCPPort())
	}
	var loopback bool
	for _, a := range s.engine.udpMux.GetListenAddresses() {
		u := a.(*net.UDPAddr)
		if u.Port != s.UDPPort() {
			t.Errorf("UDP mux listens on %s, want port %d everywhere", u, s.UDPPort())
		}
		loopback = loopback || u.IP.Equal(net.IPv4(127, 0, 0, 1))
	}
	if !loopback {
		t.Errorf("UDP mux does not listen on 127.0.0.1: %v", s.engine.udpMux.GetListenAddresses())
	}
	if runtime.GOOS != "linux" {
		return
	}
	// The sockets opened for every address read in batches too: a stray
	// datagram (no ICE agent knows it; the mux drops it) is counted.
	c, err := net.Dial("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(s.UDPPort())))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	waitFor(t, 5*time.Second, "a datagram read through recvmmsg", func() bool {
		if _, err := c.Write([]byte("not ICE")); err != nil {
			t.Fatal(err)
		}
		return s.Stats().UDPReceived > 0
	})
}

// TestListenOnChosenAddresses: with ListenIPs the media ports listen on
// those addresses, all on one port, and on no other.
func TestListenOnChosenAddresses(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	s, err := New(Config{ListenIPs: []string{"127.0.0.1", "127.0.0.2"}, IncludeLoopback: true}, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var got []string
	for _, a := range s.engine.udpMux.GetListenAddresses() {
		got = append(got, a.String())
	}
	slices.Sort(got)
	want := []string{fmt.Sprintf("127.0.0.1:%d", s.UDPPort()), fmt.Sprintf("127.0.0.2:%d", s.UDPPort())}
	if !slices.Equal(got, want) {
		t.Fatalf("UDP listens on %v, want %v", got, want)
	}
	for _, ip := range []string{"127.0.0.1", "127.0.0.2"} {
		c, err := net.Dial("tcp", net.JoinHostPort(ip, strconv.Itoa(s.TCPPort())))
		if err != nil {
			t.Fatalf("ICE-TCP on %s: %v", ip, err)
		}
		c.Close()
	}
	// Another loopback address has the same ports free.
	u, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP("127.0.0.3"), Port: s.UDPPort()})
	if err != nil {
		t.Fatalf("the media port is taken on 127.0.0.3 too: %v", err)
	}
	u.Close()
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.3", strconv.Itoa(s.TCPPort())))
	if err != nil {
		t.Fatalf("the ICE-TCP port is taken on 127.0.0.3 too: %v", err)
	}
	l.Close()
}

// TestPublicIPs: the answer advertises the public address in place of the
// host one (1:1 NAT). 127.0.0.2 stands in for a public address; nothing
// connects to it.
func TestPublicIPs(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	s := newTestSFU(t, func(c *Config) { c.PublicIPs = []string{"127.0.0.2"} })
	p, err := s.Join("room", "alice", nopHandler{})
	if err != nil {
		t.Fatal(err)
	}
	client, err := clientAPI(t, nil).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if _, err := client.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		t.Fatal(err)
	}
	offer, err := client.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	answer, err := p.HandleOffer(offer.SDP)
	if err != nil {
		t.Fatal(err)
	}
	var hosts []string
	for line := range strings.Lines(answer) {
		if strings.HasPrefix(line, "a=candidate:") {
			hosts = append(hosts, strings.Fields(line)[4])
		}
	}
	if len(hosts) == 0 {
		t.Fatalf("answer has no candidates:\n%s", answer)
	}
	for _, h := range hosts {
		if h != "127.0.0.2" {
			t.Errorf("answer advertises %s, want only 127.0.0.2", h)
		}
	}
}
