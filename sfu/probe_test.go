package sfu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/logging"
	"github.com/pion/turn/v5"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"
)

// probeClient is a pion client of a probe: a data channel "probe" and a
// complete offer (candidates gathered, no trickle), as the visit page
// makes.
type probeClient struct {
	pc    *webrtc.PeerConnection
	dc    *webrtc.DataChannel
	open  chan struct{}
	texts chan string
	down  chan int // bytes of each binary message received
}

func newProbeClient(t *testing.T, networks []webrtc.NetworkType, cfg ...webrtc.Configuration) (*probeClient, string) {
	t.Helper()
	var conf webrtc.Configuration
	if len(cfg) > 0 {
		conf = cfg[0]
	}
	pc, err := clientAPI(t, networks).NewPeerConnection(conf)
	if err != nil {
		t.Fatal(err)
	}
	c := &probeClient{pc: pc, open: make(chan struct{}), texts: make(chan string, 16), down: make(chan int, 4096)}
	if c.dc, err = pc.CreateDataChannel("probe", nil); err != nil {
		t.Fatal(err)
	}
	c.dc.OnOpen(func() { close(c.open) })
	c.dc.OnMessage(func(m webrtc.DataChannelMessage) {
		if m.IsString {
			c.texts <- string(m.Data)
			return
		}
		select {
		case c.down <- len(m.Data):
		default:
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	return c, pc.LocalDescription().SDP
}

// candidateTransports lists the transports of the candidates in sdp.
func candidateTransports(sdp string) map[string]int {
	out := map[string]int{}
	for _, l := range strings.Split(sdp, "\n") {
		if f := strings.Fields(l); strings.HasPrefix(l, "a=candidate:") && len(f) > 2 {
			out[strings.ToLower(f[2])]++
		}
	}
	return out
}

func (c *probeClient) text(t *testing.T, what string) string {
	t.Helper()
	select {
	case s := <-c.texts:
		return s
	case <-time.After(10 * time.Second):
		t.Fatalf("no answer to %s within 10 s", what)
		return ""
	}
}

// waitProbes waits until the SFU runs n probes.
func waitProbes(t *testing.T, s *SFU, n int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for s.Probes() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d probes run, want %d within %v", s.Probes(), n, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestProbeTransports: a pion client that could use UDP and TCP reaches a
// probe over exactly the transport it asked for, measures its uplink and
// downlink over the data channel, and the probe ends when the client
// closes.
func TestProbeTransports(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // after the SFU closes
	s := newTestSFU(t, nil)
	for _, tr := range []string{ProbeUDP, ProbeTCP} {
		t.Run(tr, func(t *testing.T) {
			c, offer := newProbeClient(t, []webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeTCP4})
			defer c.pc.Close()
			answer, err := s.Probe(context.Background(), "link-a", offer, tr)
			if err != nil {
				t.Fatalf("Probe: %v", err)
			}
			if got := candidateTransports(answer); got[tr] == 0 || len(got) != 1 {
				t.Fatalf("answer's candidates by transport %v, want only %s", got, tr)
			}
			if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
				t.Fatal(err)
			}
			select {
			case <-c.open:
			case <-time.After(15 * time.Second):
				t.Fatalf("the probe channel did not open over %s within 15 s (state %s)", tr, c.pc.ConnectionState())
			}
			pair, err := c.pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
			if err != nil || pair == nil {
				t.Fatalf("no selected pair: %v", err)
			}
			if string(pair.Remote.Protocol.String()) != tr {
				t.Errorf("selected pair %s <-> %s, want %s", pair.Local, pair.Remote, tr)
			}
			wantPort := s.UDPPort()
			if tr == ProbeTCP {
				wantPort = s.TCPPort()
			}
			if int(pair.Remote.Port) != wantPort {
				t.Errorf("remote port %d, want the call's port %d", pair.Remote.Port, wantPort)
			}

			// Uplink: what the client sends, the probe counts.
			chunk := make([]byte, 8192)
			const chunks = 64
			for range chunks {
				if err := c.dc.Send(chunk); err != nil {
					t.Fatal(err)
				}
			}
			var up struct{ UpBytes, UpMs int64 }
			for up.UpBytes < chunks*int64(len(chunk)) {
				if err := c.dc.SendText("up"); err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal([]byte(c.text(t, "up")), &up); err != nil {
					t.Fatal(err)
				}
				if up.UpBytes > chunks*int64(len(chunk)) {
					t.Fatalf("the probe counted %d bytes, more than the %d sent", up.UpBytes, chunks*len(chunk))
				}
			}

			// Downlink: the probe sends, then says how much.
			if err := c.dc.SendText("down 300"); err != nil {
				t.Fatal(err)
			}
			end := c.text(t, "down")
			sent, err := strconv.Atoi(strings.TrimPrefix(end, "end "))
			if err != nil || sent <= 0 {
				t.Fatalf("after down: %q", end)
			}
			got := 0
			for got < sent {
				select {
				case n := <-c.down:
					got += n
				case <-time.After(10 * time.Second):
					t.Fatalf("received %d of %d bytes", got, sent)
				}
			}
			if err := c.dc.SendText("nonsense"); err != nil {
				t.Fatal(err)
			}
			if a := c.text(t, "nonsense"); !strings.HasPrefix(a, "error:") {
				t.Errorf("answer to an unknown request %q, want an error", a)
			}
			_ = c.pc.Close()
			waitProbes(t, s, 0, 10*time.Second)
		})
	}
}

// TestProbeTransportNotAvailable: without ICE-TCP a TCP probe is refused
// as such; a client that cannot reach the transport it asked for never
// connects, and the probe ends at its lifetime.
func TestProbeTransportNotAvailable(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	s := newTestSFU(t, func(c *Config) { c.TCPPort = -1; c.ProbeLifetime = time.Second })
	c, offer := newProbeClient(t, []webrtc.NetworkType{webrtc.NetworkTypeTCP4})
	defer c.pc.Close()
	if _, err := s.Probe(context.Background(), "k", offer, ProbeTCP); !errors.Is(err, ErrProbeUnavailable) {
		t.Fatalf("TCP probe without ICE-TCP: %v, want ErrProbeUnavailable", err)
	}
	// A TCP-only client asks for UDP: the answer has only UDP candidates.
	answer, err := s.Probe(context.Background(), "k", offer, ProbeUDP)
	if err != nil {
		t.Fatal(err)
	}
	if got := candidateTransports(answer); got["tcp"] != 0 {
		t.Fatalf("answer's candidates %v: want no TCP", got)
	}
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
	waitProbes(t, s, 0, 10*time.Second)
	select {
	case <-c.open:
		t.Fatal("the channel opened over a transport the client does not have")
	default:
	}
}

// TestProbeBounds: bad requests are refused, probes are counted per key
// and in all, and Close ends those still running.
func TestProbeBounds(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	s, err := New(Config{ListenIPs: []string{"127.0.0.1"}, IncludeLoopback: true, MaxProbes: 3, MaxProbesPerKey: 2}, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	c, offer := newProbeClient(t, nil)
	defer c.pc.Close()
	for name, tc := range map[string][2]string{
		"bad transport": {offer, "quic"},
		"no offer":      {"", ProbeUDP},
		"not an offer":  {"v=0\r\nnonsense\r\n", ProbeUDP},
	} {
		if _, err := s.Probe(context.Background(), "a", tc[0], tc[1]); !errors.Is(err, ErrBadSDP) {
			t.Errorf("%s: %v, want ErrBadSDP", name, err)
		}
	}
	if n := s.Probes(); n != 0 {
		t.Fatalf("%d probes after refusals, want 0", n)
	}
	for i, tc := range []struct {
		key  string
		busy bool
	}{{"a", false}, {"a", false}, {"a", true}, {"b", false}, {"c", true}} {
		_, err := s.Probe(context.Background(), tc.key, offer, ProbeUDP)
		if tc.busy != errors.Is(err, ErrProbeBusy) || (!tc.busy && err != nil) {
			t.Errorf("probe %d for %s: %v, want busy %v", i, tc.key, err, tc.busy)
		}
	}
	if n := s.Probes(); n != 3 {
		t.Errorf("%d probes, want 3", n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n := s.Probes(); n != 0 {
		t.Errorf("%d probes after Close, want 0", n)
	}
	if _, err := s.Probe(context.Background(), "d", offer, ProbeUDP); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
}

// TestProbeThroughTURN: a client that may only relay (a network that lets
// neither UDP nor TCP through to the media server, as iceTransportPolicy
// "relay" makes it) reaches a relay probe through a real TURN server (pion's,
// on loopback, RFC 8656), and its data goes through the relay.
func TestProbeThroughTURN(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // after the SFU and the TURN server close
	pconn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	key := turn.GenerateAuthKey("probe", "clinic.test", "probe-secret")
	srv, err := turn.NewServer(turn.ServerConfig{
		Realm: "clinic.test",
		AuthHandler: func(ra *turn.RequestAttributes) (string, []byte, bool) {
			return ra.Username, key, ra.Username == "probe"
		},
		LoggerFactory: logging.NewDefaultLoggerFactory(),
		PacketConnConfigs: []turn.PacketConnConfig{{
			PacketConn:            pconn,
			RelayAddressGenerator: &turn.RelayAddressGeneratorStatic{RelayAddress: net.ParseIP("127.0.0.1"), Address: "127.0.0.1"},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := newTestSFU(t, nil)
	t.Cleanup(func() { _ = srv.Close() }) // before goleak, after the SFU
	c, offer := newProbeClient(t, []webrtc.NetworkType{webrtc.NetworkTypeUDP4}, webrtc.Configuration{
		ICEServers: []webrtc.ICEServer{{URLs: []string{fmt.Sprintf("turn:%s?transport=udp", pconn.LocalAddr())},
			Username: "probe", Credential: "probe-secret"}},
		ICETransportPolicy: webrtc.ICETransportPolicyRelay,
	})
	defer c.pc.Close()
	if got := candidateTransports(offer); got["udp"] == 0 || !strings.Contains(offer, "typ relay") {
		t.Fatalf("the client offers no relay candidate: %v", got)
	}
	answer, err := s.Probe(context.Background(), "link-t", offer, ProbeRelay)
	if err != nil {
		t.Fatalf("Probe: %v", err)
	}
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.open:
	case <-time.After(15 * time.Second):
		t.Fatalf("the probe channel did not open through TURN within 15 s (state %s)", c.pc.ConnectionState())
	}
	pair, err := c.pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil {
		t.Fatalf("no selected pair: %v", err)
	}
	if pair.Local.Typ != webrtc.ICECandidateTypeRelay || int(pair.Remote.Port) != s.UDPPort() {
		t.Fatalf("selected pair %s <-> %s, want our relay to the call's UDP port %d", pair.Local, pair.Remote, s.UDPPort())
	}
	chunk := make([]byte, 4096)
	for range 16 {
		if err := c.dc.Send(chunk); err != nil {
			t.Fatal(err)
		}
	}
	var up struct{ UpBytes int64 }
	for up.UpBytes < 16*4096 {
		if err := c.dc.SendText("up"); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(c.text(t, "up")), &up); err != nil {
			t.Fatal(err)
		}
	}
	_ = c.pc.Close()
	waitProbes(t, s, 0, 10*time.Second)
}
