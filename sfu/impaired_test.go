package sfu

import (
	"net/netip"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"vclinic/internal/netem"
)

// behindProxy starts a proxy in front of the SFU's UDP port for clients
// that join with peerOptions{via: proxy}.
func behindProxy(t *testing.T, s *SFU) *netem.Proxy {
	t.Helper()
	p, err := netem.NewProxy("127.0.0.1:0", netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(s.UDPPort())))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// subscriberBehindProxy starts an SFU where alice publishes directly and bob
// subscribes through a proxy, and waits for bob's media. Closing them is
// left to t's cleanups.
func subscriberBehindProxy(t *testing.T, alice peerOptions, bobEdits ...func(*peerOptions)) (s *SFU, proxy *netem.Proxy, a, b *testPeer) {
	t.Helper()
	s = newTestSFU(t, nil)
	proxy = behindProxy(t, s)
	a = joinPeer(t, s, "room", "alice", alice)
	t.Cleanup(a.close)
	bob := peerOptions{noMedia: true, via: proxy}
	for _, edit := range bobEdits {
		edit(&bob)
	}
	b = joinPeer(t, s, "room", "bob", bob)
	t.Cleanup(b.close)
	waitMedia(t, b, 20, a)
	return s, proxy, a, b
}

// behindForward starts an SFU that advertises a forwarding proxy's port,
// and the proxy.
func behindForward(t *testing.T, edit func(*Config)) (*SFU, *netem.Proxy) {
	t.Helper()
	// The forward's port must be known before the SFU starts: take one.
	probe, err := netem.NewProxy("127.0.0.1:0", netip.MustParseAddrPort("127.0.0.1:9"))
	if err != nil {
		t.Fatal(err)
	}
	public := probe.Addr()
	_ = probe.Close()
	s := newTestSFU(t, func(c *Config) {
		c.PublicUDPPort, c.TCPPort = int(public.Port()), -1
		if edit != nil {
			edit(c)
		}
	})
	forward, err := netem.NewProxy(public.String(), netip.AddrPortFrom(public.Addr(), uint16(s.UDPPort())))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = forward.Close() })
	return s, forward
}

// residualLoss is the share of the sequence numbers from..to (inclusive,
// wrapping) that never arrived.
func residualLoss(pkts []rxPacket, from, to uint16) float64 {
	seen := map[uint16]bool{}
	for _, p := range pkts {
		seen[p.seq] = true
	}
	missing, n := 0, 0
	for q := from; ; q++ {
		n++
		if !seen[q] {
			missing++
		}
		if q == to {
			break
		}
	}
	return float64(missing) / float64(n)
}

// TestLossyDownlink: a subscriber whose downlink loses 5 % of packets
// gets the video back through NACKs (RFC 4585), and still hears most of
// the audio; the path is what the proxy made it. Without NACK (a
// subscriber that does not ask for lost packets), the same loss stays
// missing: the measure of what NACK repairs.
func TestLossyDownlink(t *testing.T) {
	t.Run("nack", func(t *testing.T) { lossyDownlink(t, true) })
	t.Run("without-nack", func(t *testing.T) { lossyDownlink(t, false) })
}

func lossyDownlink(t *testing.T, nack bool) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // after the SFU and the proxy close
	s, proxy, _, b := subscriberBehindProxy(t, peerOptions{videoPackets: 4}, func(o *peerOptions) {
		if !nack {
			// pion's defaults less the NACK generator: receiver
			// reports, transport-cc and the simulcast headers stay.
			o.interceptors = func(m *webrtc.MediaEngine, r *interceptor.Registry) error {
				if err := webrtc.ConfigureRTCPReports(r); err != nil {
					return err
				}
				if err := webrtc.ConfigureSimulcastExtensionHeaders(m); err != nil {
					return err
				}
				return webrtc.ConfigureTWCCSender(m, r)
			}
		}
	})
	if flows := proxy.Flows(); len(flows) == 0 {
		t.Fatal("bob's media does not go through the proxy")
	}
	downStats := func() (lost, sent int64) {
		for _, f := range proxy.Flows() {
			_, down := f.Stats()
			lost, sent = lost+down.Lost, sent+down.Sent
		}
		return lost, sent
	}
	lost0, sent0 := downStats()
	link0 := b.p.Link()
	retransmitted0 := s.Stats().Retransmitted
	proxy.SetDefault(netem.Impairment{}, netem.Impairment{Loss: 0.05})
	start, end := map[string]uint16{}, map[string]uint16{}
	for kind, perSecond := range map[string]uint16{"audio": 50, "video": 200} {
		pkts := b.stats("alice", kind).pkts
		start[kind] = pkts[len(pkts)-1].seq + 1
		end[kind] = start[kind] + 3*perSecond // the next 3 s, well inside the 4 s of loss
	}
	time.Sleep(4 * time.Second)
	lost1, sent1 := downStats()
	proxy.SetDefault(netem.Impairment{}, netem.Impairment{})
	time.Sleep(time.Second) // the last repairs
	if nack {
		checkLossyLink(t, link0, b.p.Link())
	}
	lost, sent := lost1-lost0, sent1-sent0
	if frac := float64(lost) / float64(sent); frac < 0.03 || frac > 0.07 {
		t.Fatalf("the proxy lost %d of %d datagrams to bob, want about 5 %%", lost, sent)
	}
	video := residualLoss(b.stats("alice", "video").pkts, start["video"], end["video"])
	audio := residualLoss(b.stats("alice", "audio").pkts, start["audio"], end["audio"])
	retransmitted := s.Stats().Retransmitted - retransmitted0
	t.Logf("NACK %v: downlink lost %.1f %% of datagrams; after recovery video %.2f %%, audio %.2f %% (audio has no NACK); %d packets sent again",
		nack, 100*float64(lost)/float64(sent), 100*video, 100*audio, retransmitted)
	switch {
	case nack && video > 0.01:
		t.Errorf("%.2f %% of video still missing after NACKs, want under 1 %%", 100*video)
	case nack && retransmitted == 0:
		t.Errorf("no packet retransmitted to bob: Stats %+v", s.Stats())
	case !nack && retransmitted != 0:
		t.Errorf("%d packets retransmitted to a subscriber that asked for none", retransmitted)
	case !nack && video < 0.02:
		t.Errorf("without NACK only %.2f %% of video is missing at 5 %% loss: the loss did not reach bob", 100*video)
	}
}

// TestDownlinkBlackout: three seconds of nothing to the subscriber, and the
// media comes back by itself when the link does, without a rejoin.
func TestDownlinkBlackout(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	s, proxy, _, b := subscriberBehindProxy(t, peerOptions{})
	proxy.SetDefault(netem.Impairment{Blackout: true}, netem.Impairment{Blackout: true})
	time.Sleep(3 * time.Second)
	before := map[string]int{"audio": len(b.stats("alice", "audio").pkts), "video": len(b.stats("alice", "video").pkts)}
	back := time.Now()
	proxy.SetDefault(netem.Impairment{}, netem.Impairment{})
	for _, kind := range []string{"audio", "video"} {
		waitFor(t, 10*time.Second, "bob's "+kind+" back after the black-out", func() bool {
			return len(b.stats("alice", kind).pkts) >= before[kind]+10
		})
		t.Logf("%s back %s after the link", kind, time.Since(back).Round(10*time.Millisecond))
	}
	if st := s.Stats(); st.Participants != 2 {
		t.Fatalf("Stats %+v: want both participants still in the room", st)
	}
}

// TestAddressChange: the subscriber's network changes (the SFU sees it from
// a new address, as after Wi-Fi to 4G); an ICE restart, as the page asks
// for when its connection fails, brings the media back, and nobody leaves
// the room.
func TestAddressChange(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	s, proxy, _, b := subscriberBehindProxy(t, peerOptions{})
	for _, f := range proxy.Flows() {
		if err := f.Rebind(); err != nil {
			t.Fatal(err)
		}
	}
	changed := time.Now()
	offers := b.offers.Load()
	if err := b.p.RestartICE(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "bob's answer to the restart offer", func() bool { return b.offers.Load() > offers })
	before := len(b.stats("alice", "video").pkts)
	waitFor(t, 10*time.Second, "bob's video back at his new address", func() bool {
		return len(b.stats("alice", "video").pkts) >= before+20
	})
	t.Logf("video back %s after the address changed", time.Since(changed).Round(10*time.Millisecond))
	if st := s.Stats(); st.Participants != 2 {
		t.Fatalf("Stats %+v: want both participants still in the room", st)
	}
}

// TestICELiteThroughForward: an ICE-lite SFU behind a port forward sends
// no checks of its own, so a client that tells it its own candidates still
// gets all its media through the forward, and loses what the forward loses.
func TestICELiteThroughForward(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	s, forward := behindForward(t, func(c *Config) { c.ICELite = true })
	a := joinPeer(t, s, "room", "alice", peerOptions{})
	defer a.close()
	b := joinPeer(t, s, "room", "bob", peerOptions{noMedia: true})
	defer b.close()
	waitMedia(t, b, 20, a)
	forward.SetDefault(netem.Impairment{Blackout: true}, netem.Impairment{Blackout: true})
	time.Sleep(500 * time.Millisecond) // what was on its way arrives
	stopped := len(b.stats("alice", "video").pkts)
	time.Sleep(time.Second)
	if got := len(b.stats("alice", "video").pkts); got > stopped {
		t.Fatalf("bob got %d video packets during a black-out of the forward: media bypasses it", got-stopped)
	}
	forward.SetDefault(netem.Impairment{}, netem.Impairment{})
	waitMedia(t, b, 20, a)
}

// checkLossyLink checks what the SFU measured of bob's link over the 5 s
// from link0 to link1, 4 s of them with 5 % of the datagrams to bob lost:
// his receiver reports count about 250 packets a second expected, and as
// lost the audio that no NACK repairs, under 5 % of the whole after the
// video's repairs.
func checkLossyLink(t *testing.T, link0, link1 Link) {
	t.Helper()
	exp, lost := link1.Expected-link0.Expected, link1.Lost-link0.Lost
	t.Logf("bob's receiver reports: %d expected, %d lost (%.2f %%), jitter %.1f ms, rtt %v, path %q, %d bytes sent",
		exp, lost, 100*float64(lost)/float64(max(exp, 1)), link1.JitterMs, link1.RTT, link1.Candidate, link1.SentBytes-link0.SentBytes)
	if exp < 700 || exp > 1800 {
		t.Errorf("bob's reports count %d packets expected over 5 s, want about 1250", exp)
	}
	if lost <= 0 || float64(lost) > 0.05*float64(exp) {
		t.Errorf("bob's reports count %d of %d lost, want some, under 5 %% after repair", lost, exp)
	}
	if link1.SentBytes <= link0.SentBytes || link1.JitterMs < 0 || link1.RTT <= 0 || link1.Candidate == "" {
		t.Errorf("link %+v: want bytes sent, a jitter, a round-trip time and a path type", link1)
	}
}
