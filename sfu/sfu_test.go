package sfu

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"go.uber.org/goleak"
)

// TestRoom: three participants each publish audio and video and each
// receives the other two; one leaves and rejoins; all leave.
func TestRoom(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // after the SFU closes
	s := newTestSFU(t, nil)
	a := joinPeer(t, s, "room", "alice", peerOptions{})
	b := joinPeer(t, s, "room", "bob", peerOptions{})
	c := joinPeer(t, s, "room", "carol", peerOptions{})

	waitMedia(t, a, 10, b, c)
	waitMedia(t, b, 10, a, c)
	waitMedia(t, c, 10, a, b)
	for _, tp := range []*testPeer{a, b, c} {
		for _, other := range []*testPeer{a, b, c} {
			if other == tp {
				continue
			}
			for _, kind := range []string{"audio", "video"} {
				if got := tp.stats(other.id, kind).onTracks; got != 1 {
					t.Errorf("%s got %d tracks %s/%s-%s, want 1", tp.id, got, other.id, other.id, kind)
				}
			}
		}
		if got := tp.stats(tp.id, "audio").onTracks; got != 0 {
			t.Errorf("%s received its own audio", tp.id)
		}
	}
	// What we forward is encrypted with AES-128-GCM, where we choose.
	var ciphers []string
	for _, st := range a.sub.GetStats() {
		if ts, ok := st.(webrtc.TransportStats); ok {
			ciphers = append(ciphers, ts.SRTPCipher)
		}
	}
	if len(ciphers) == 0 || slices.ContainsFunc(ciphers, func(c string) bool { return c != "SRTP_AEAD_AES_128_GCM" }) {
		t.Errorf("the subscribe connection's SRTP profiles are %q", ciphers)
	}
	st := s.Stats()
	if st.Rooms != 1 || st.Participants != 3 || st.Tracks != 6 {
		t.Errorf("Stats = %+v, want 1 room, 3 participants, 6 tracks", st)
	}
	if st.ForwardedPackets == 0 || st.ForwardedBytes == 0 || st.PLIsSent == 0 {
		t.Errorf("Stats = %+v, want forwarded packets and PLIs", st)
	}
	// Media went through the batched socket (udpbatch.go, Linux).
	if runtime.GOOS == "linux" && st.UDPSent < st.ForwardedPackets || st.UDPSendCalls == 0 || st.UDPSendCalls > st.UDPSent ||
		st.UDPReceived == 0 || st.UDPRecvCalls == 0 || st.UDPRecvCalls > st.UDPReceived || st.UDPErrors != 0 {
		t.Errorf("Stats = %+v, want every forwarded packet sent through sendmmsg and media received through recvmmsg", st)
	}

	// Carol leaves: the others' copies of her tracks end.
	c.close()
	for _, tp := range []*testPeer{a, b} {
		waitFor(t, 10*time.Second, tp.id+" losing carol's tracks", func() bool {
			return tp.stats("carol", "audio").ended == 1 && tp.stats("carol", "video").ended == 1
		})
	}
	if st := s.Stats(); st.Participants != 2 || st.Tracks != 4 {
		t.Errorf("after a leave Stats = %+v, want 2 participants, 4 tracks", st)
	}
	waitMedia(t, a, 5, b)

	// She comes back: everyone receives everyone again.
	c = joinPeer(t, s, "room", "carol", peerOptions{})
	waitMedia(t, a, 10, b, c)
	waitMedia(t, b, 10, a, c)
	waitMedia(t, c, 10, a, b)
	for _, tp := range []*testPeer{a, b} {
		for _, kind := range []string{"audio", "video"} {
			if got := tp.stats("carol", kind).onTracks; got != 2 {
				t.Errorf("%s got carol's %s %d times, want 2", tp.id, kind, got)
			}
		}
	}

	for _, tp := range []*testPeer{a, b, c} {
		tp.close()
	}
	if st := s.Stats(); st.Rooms != 0 || st.Participants != 0 || st.Tracks != 0 {
		t.Errorf("after everyone left Stats = %+v, want no rooms, participants or tracks", st)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestICETCP: a client that can only use TCP (RFC 6544) publishes and
// receives through the SFU's passive ICE-TCP port.
func TestICETCP(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // after the SFU closes
	s := newTestSFU(t, nil)
	if s.TCPPort() == 0 {
		t.Fatal("ICE-TCP is off")
	}
	tcp := joinPeer(t, s, "room", "tcp", peerOptions{networks: []webrtc.NetworkType{webrtc.NetworkTypeTCP4}})
	defer tcp.close()
	udp := joinPeer(t, s, "room", "udp", peerOptions{})
	defer udp.close()

	waitMedia(t, tcp, 10, udp)
	waitMedia(t, udp, 10, tcp)
	for name, conn := range map[string]*webrtc.PeerConnection{"publish": tcp.pub, "subscribe": tcp.sub} {
		pair, err := conn.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
		if err != nil || pair == nil {
			t.Fatalf("%s: no selected candidate pair: %v", name, err)
		}
		if pair.Local.Protocol != webrtc.ICEProtocolTCP || pair.Remote.Protocol != webrtc.ICEProtocolTCP {
			t.Errorf("%s: selected pair %s <-> %s, want TCP", name, pair.Local, pair.Remote)
		}
		if pair.Remote.Port != uint16(s.TCPPort()) {
			t.Errorf("%s: remote port %d, want the SFU's TCP port %d", name, pair.Remote.Port, s.TCPPort())
		}
	}
}

// TestJoinErrors: a full room, a duplicate participant and a closed SFU.
func TestJoinErrors(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // after the SFU closes
	s := newTestSFU(t, nil)
	var ps []*Participant
	for i := range DefaultMaxParticipants {
		p, err := s.Join("full", fmt.Sprintf("p%d", i), nopHandler{})
		if err != nil {
			t.Fatalf("Join %d: %v", i, err)
		}
		ps = append(ps, p)
	}
	if _, err := s.Join("full", "seventh", nopHandler{}); !errors.Is(err, ErrRoomFull) {
		t.Errorf("7th Join = %v, want ErrRoomFull", err)
	}
	if _, err := s.Join("other", "p0", nopHandler{}); err != nil {
		t.Errorf("Join in another room: %v", err)
	}
	if _, err := s.Join("other", "p0", nopHandler{}); !errors.Is(err, ErrParticipantExists) {
		t.Errorf("duplicate Join = %v, want ErrParticipantExists", err)
	}
	if st := s.Stats(); st.Rooms != 2 || st.Participants != 7 {
		t.Errorf("Stats = %+v, want 2 rooms, 7 participants", st)
	}
	// A place frees up when someone leaves.
	ps[0].Close()
	ps[0].Close() // idempotent
	p, err := s.Join("full", "seventh", nopHandler{})
	if err != nil {
		t.Fatalf("Join after a leave: %v", err)
	}
	if p.ID() != "seventh" || p.Room() != "full" {
		t.Errorf("participant %s in %s, want seventh in full", p.ID(), p.Room())
	}
	if _, err := p.HandleOffer("v=0"); err == nil {
		t.Error("HandleOffer of an empty session succeeded")
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Join("full", "late", nopHandler{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Join after Close = %v, want ErrClosed", err)
	}
	if _, err := p.HandleOffer("v=0"); !errors.Is(err, ErrClosed) {
		t.Errorf("HandleOffer after Close = %v, want ErrClosed", err)
	}
	if err := p.RestartICE(); !errors.Is(err, ErrClosed) {
		t.Errorf("RestartICE after Close = %v, want ErrClosed", err)
	}
	if st := s.Stats(); st.Rooms != 0 || st.Participants != 0 {
		t.Errorf("after Close Stats = %+v, want nothing", st)
	}
}

type nopHandler struct{}

func (nopHandler) SubscribeOffer(string)                          {}
func (nopHandler) Candidate(PC, *webrtc.ICECandidateInit)         {}
func (nopHandler) ConnectionState(PC, webrtc.PeerConnectionState) {}

// TestBadSignaling: garbage offers, answers and candidates are refused with
// the right errors and the call goes on.
func TestBadSignaling(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // after the SFU closes
	s := newTestSFU(t, nil)
	a := joinPeer(t, s, "room", "alice", peerOptions{})
	defer a.close()
	b := joinPeer(t, s, "room", "bob", peerOptions{})
	defer b.close()
	waitMedia(t, a, 10, b)
	waitMedia(t, b, 10, a)

	// Parseable, but no ICE credentials or fingerprint: pion rejects it
	// after it has started to take it.
	const noCredentials = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" +
		"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendonly\r\na=rtpmap:111 opus/48000/2\r\n"
	// Everything else pion checks is there, but the one candidate is broken.
	const badCandidate = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" +
		"a=fingerprint:sha-256 AB:CD\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n" +
		"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendonly\r\na=rtpmap:111 opus/48000/2\r\n" +
		"a=candidate:1 1 udp 1 127.0.0.1 notaport typ host\r\n"
	for _, offer := range []string{"garbage", "", "v=0\r\nm=broken", noCredentials, badCandidate} {
		if _, err := a.p.HandleOffer(offer); !errors.Is(err, ErrBadSDP) {
			t.Errorf("HandleOffer(%.20q...) = %v, want ErrBadSDP", offer, err)
		}
		if st := a.p.pub.SignalingState(); st != webrtc.SignalingStateStable {
			t.Errorf("after HandleOffer(%.20q...) the publish connection is %s, want stable", offer, st)
		}
	}
	if err := b.p.HandleAnswer("garbage"); !errors.Is(err, ErrBadSDP) {
		t.Errorf("HandleAnswer with no offer outstanding = %v, want ErrBadSDP", err)
	}
	for _, c := range []webrtc.ICECandidateInit{
		{Candidate: "candidate:garbage"},
		{Candidate: "candidate:1 1 udp 2130706431 not-an-address 9 typ host"},
	} {
		if err := a.p.AddCandidate(Publish, c); !errors.Is(err, ErrBadCandidate) {
			t.Errorf("AddCandidate(%q) = %v, want ErrBadCandidate", c.Candidate, err)
		}
	}
	if err := a.p.AddCandidate("sideways", webrtc.ICECandidateInit{}); !errors.Is(err, ErrBadCandidate) {
		t.Errorf("AddCandidate on an unknown connection = %v, want ErrBadCandidate", err)
	}

	// The publish connection still takes a real re-offer...
	a.enqueue(a.publish)
	// ...and a garbage answer to a subscribe offer brings the offer again.
	offers := b.offers.Load()
	b.badAnswers.Store(1)
	if err := b.p.RestartICE(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "bob's answer to the offer after the garbage one", func() bool { return b.offers.Load() > offers })
	waitMedia(t, a, 25, b)
	waitMedia(t, b, 25, a)
}

// TestSubscribeICERestart: RestartICE re-offers the subscribe connection
// with new ICE credentials, and media keeps flowing over the new session.
func TestSubscribeICERestart(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // after the SFU closes
	s := newTestSFU(t, nil)
	a := joinPeer(t, s, "room", "alice", peerOptions{})
	defer a.close()
	b := joinPeer(t, s, "room", "bob", peerOptions{noMedia: true})
	defer b.close()
	waitMedia(t, b, 10, a)

	offers := b.offers.Load()
	before := iceUfrag(t, b.lastOffer.Load().(string))
	if err := b.p.RestartICE(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "bob's answer to the restart offer", func() bool { return b.offers.Load() > offers })
	after := iceUfrag(t, b.lastOffer.Load().(string))
	if after == before {
		t.Fatalf("restart offer kept ice-ufrag %q", before)
	}
	waitMedia(t, b, 25, a)
	pair, err := b.sub.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil {
		t.Fatalf("no selected candidate pair after the restart: %v", err)
	}
	if got := a.stats("bob", "video").onTracks; got != 0 {
		t.Errorf("alice received %d tracks from bob, who publishes nothing", got)
	}
}

// iceUfrag returns the first a=ice-ufrag of an SDP.
func iceUfrag(t *testing.T, sdp string) string {
	t.Helper()
	for line := range strings.Lines(sdp) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "a=ice-ufrag:"); ok {
			return v
		}
	}
	t.Fatalf("no ice-ufrag in %q", sdp)
	return ""
}

// TestPublisherRestart: the publisher's video moves to a new track with a
// new SSRC; the subscriber sees one track with one SSRC whose sequence
// numbers carry on by one and whose timestamps move forward.
func TestPublisherRestart(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // after the SFU closes
	s := newTestSFU(t, nil)
	a := joinPeer(t, s, "room", "alice", peerOptions{})
	defer a.close()
	b := joinPeer(t, s, "room", "bob", peerOptions{noMedia: true})
	defer b.close()
	waitMedia(t, b, 20, a)

	plis := a.plis.Load()
	a.replaceVideo(1)
	waitFor(t, 20*time.Second, "video from alice's new track", func() bool {
		n := 0
		for _, p := range b.stats("alice", "video").pkts {
			if p.tag == 1 {
				n++
			}
		}
		return n >= 20
	})
	waitFor(t, 10*time.Second, "a keyframe request for the new track", func() bool { return a.plis.Load() > plis })

	rx := b.stats("alice", "video")
	if rx.onTracks != 1 {
		t.Errorf("bob got alice's video %d times, want once", rx.onTracks)
	}
	first := slices.IndexFunc(rx.pkts, func(p rxPacket) bool { return p.tag == 1 })
	if first < 1 {
		t.Fatalf("new track's first packet at %d", first)
	}
	for i, p := range rx.pkts {
		if p.ssrc != rx.pkts[0].ssrc {
			t.Fatalf("packet %d has SSRC %d, first had %d", i, p.ssrc, rx.pkts[0].ssrc)
		}
		if i > first && p.tag != 1 {
			t.Errorf("packet %d from the old track after the switch", i)
		}
	}
	last, next := rx.pkts[first-1], rx.pkts[first]
	if next.seq != last.seq+1 {
		t.Errorf("sequence number at the switch: %d then %d, want +1", last.seq, next.seq)
	}
	if d := next.ts - last.ts; d == 0 || d > 10*90000 {
		t.Errorf("timestamp at the switch moved by %d, want a few frames' worth (0 < d <= 10 s)", d)
	}
	for i := first + 1; i < len(rx.pkts); i++ {
		if rx.pkts[i].seq != rx.pkts[i-1].seq+1 {
			t.Errorf("packet %d: seq %d after %d", i, rx.pkts[i].seq, rx.pkts[i-1].seq)
		}
	}
	if st := s.Stats(); st.Tracks != 2 {
		t.Errorf("Stats.Tracks = %d, want 2 (a restart replaces, it does not add)", st.Tracks)
	}
}

// TestSubscriberFeedback: a subscriber's PLI and FIR reach the publisher as
// keyframe requests, and its NACKs are counted.
func TestSubscriberFeedback(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // after the SFU closes
	// A short interval, so the requests at join time are long done when the
	// subscriber asks.
	s := newTestSFU(t, func(c *Config) { c.KeyframeInterval = 20 * time.Millisecond })
	a := joinPeer(t, s, "room", "alice", peerOptions{})
	defer a.close()
	b := joinPeer(t, s, "room", "bob", peerOptions{noMedia: true, duplicates: true})
	defer b.close()
	waitMedia(t, b, 20, a)
	ssrc := b.stats("alice", "video").pkts[0].ssrc

	for _, req := range []rtcp.Packet{
		&rtcp.PictureLossIndication{MediaSSRC: ssrc},
		&rtcp.FullIntraRequest{MediaSSRC: ssrc, FIR: []rtcp.FIREntry{{SSRC: ssrc, SequenceNumber: 1}}},
	} {
		before, sentBefore := a.plis.Load(), s.Stats().PLIsSent
		if err := b.sub.WriteRTCP([]rtcp.Packet{req}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, fmt.Sprintf("alice getting a PLI after bob's %T", req), func() bool {
			return a.plis.Load() > before && s.Stats().PLIsSent > sentBefore
		})
	}

	nacks := s.Stats().NACKsReceived
	last := b.stats("alice", "video").pkts[0].seq
	nack := &rtcp.TransportLayerNack{MediaSSRC: ssrc, Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{last})}
	if err := b.sub.WriteRTCP([]rtcp.Packet{nack}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the SFU counting bob's NACK", func() bool { return s.Stats().NACKsReceived > nacks })

	// A NACK is answered (RFC 4585 §6.2.1): the packets asked for arrive
	// again, with their sequence numbers, timestamps and payloads. (Bob had
	// them; his SRTP lets the copies through.)
	got := b.stats("alice", "video").pkts
	asked := got[len(got)-3:]
	var seqs []uint16
	for _, p := range asked {
		seqs = append(seqs, p.seq)
	}
	if err := b.sub.WriteRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{MediaSSRC: ssrc, Nacks: rtcp.NackPairsFromSequenceNumbers(seqs)}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "bob getting the packets he asked for again", func() bool {
		// A resent packet is a new packet on the transport: it has a new
		// transport-wide number.
		seen := map[rxPacket]int{}
		for _, p := range b.stats("alice", "video").pkts {
			p.twcc, p.at = 0, time.Time{}
			seen[p]++
		}
		for _, p := range asked {
			p.twcc, p.at = 0, time.Time{}
			if seen[p] < 2 {
				return false
			}
		}
		return true
	})
	if got := s.Stats().Retransmitted; got < 3 {
		t.Fatalf("Stats.Retransmitted = %d, want at least 3", got)
	}
}
