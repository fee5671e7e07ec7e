package sfu

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"vclinic/internal/netem"
	"vclinic/sfu/mediaio"
)

// This file is the client side of the media tests: real pion peers, set up
// like a browser (pion's default codecs and interceptors), that talk to the
// SFU over loopback through the same calls package signaling makes.

var debugLog = flag.Bool("sfu.debug", false, "log the SFU's and pion's debug messages to stderr")

func testLogger() *slog.Logger {
	if *debugLog {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// newTestSFU starts an SFU on loopback and closes it at the end of the test.
func newTestSFU(t testing.TB, edit func(*Config)) *SFU {
	t.Helper()
	cfg := Config{ListenIPs: []string{"127.0.0.1"}, IncludeLoopback: true}
	if edit != nil {
		edit(&cfg)
	}
	s, err := New(cfg, testLogger())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// peerOptions tune a test peer.
type peerOptions struct {
	networks []webrtc.NetworkType // default UDP4
	noMedia  bool                 // publish nothing
	// videoPackets is how many video packets are sent every 20 ms;
	// default 1 (about 370 kbit/s).
	videoPackets int
	// interceptors configures the client's interceptors instead of pion's
	// defaults.
	interceptors func(*webrtc.MediaEngine, *interceptor.Registry) error
	// duplicates: the client's SRTP lets a packet it has had already
	// through (no replay protection), so that a test may ask for packets
	// again that it received and see them arrive.
	duplicates bool
	// dropVideo: video packets with these sequence numbers are not sent,
	// as if lost on the way.
	dropVideo func(seq uint16) bool
	// via puts the client behind an emulated network path: it is told the
	// proxy's address instead of the SFU's, and the SFU is never told the
	// client's, so it learns the proxy's side as a peer-reflexive
	// candidate (RFC 8445 §7.3.1.3).
	via *netem.Proxy
	// red: the client negotiates redundant audio (RFC 2198) and, when it
	// publishes, sends every Opus frame with the one before it.
	red bool
	// simulcast: the client publishes its video as three layers (RFC
	// 8853), q, h and f (simulcast_test.go).
	simulcast bool
}

// clientAPI builds a pion API the way a browser-like client would: default
// codecs and interceptors, loopback only.
func clientAPI(t testing.TB, networks []webrtc.NetworkType) *webrtc.API {
	return clientAPIWith(t, networks, nil)
}

// clientAPIWith is clientAPI with the interceptors that configure sets up
// instead of pion's defaults, unless configure is nil.
func clientAPIWith(t testing.TB, networks []webrtc.NetworkType, configure func(*webrtc.MediaEngine, *interceptor.Registry) error, settings ...func(*webrtc.SettingEngine)) *webrtc.API {
	t.Helper()
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	r := &interceptor.Registry{}
	if configure == nil {
		configure = webrtc.RegisterDefaultInterceptors
	}
	if err := configure(m, r); err != nil {
		t.Fatal(err)
	}
	var se webrtc.SettingEngine
	se.LoggerFactory = pionLoggerFactory{logger: testLogger().With("side", "client")}
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if len(networks) == 0 {
		networks = []webrtc.NetworkType{webrtc.NetworkTypeUDP4}
	}
	se.SetNetworkTypes(networks)
	for _, f := range settings {
		f(&se)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(r), webrtc.WithSettingEngine(se))
}

// redCodec is audio/red as Chromium offers it.
var redCodec = webrtc.RTPCodecParameters{
	RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: mimeTypeRED, ClockRate: 48000, Channels: 2, SDPFmtpLine: "111/111"},
	PayloadType:        payloadTypeRED,
}

// clientAPIWithRED is clientAPIWith whose codecs include audio/red.
func clientAPIWithRED(t testing.TB, networks []webrtc.NetworkType, configure func(*webrtc.MediaEngine, *interceptor.Registry) error, settings ...func(*webrtc.SettingEngine)) *webrtc.API {
	t.Helper()
	withRED := func(m *webrtc.MediaEngine, r *interceptor.Registry) error {
		if err := m.RegisterCodec(redCodec, webrtc.RTPCodecTypeAudio); err != nil {
			return err
		}
		if configure == nil {
			return webrtc.RegisterDefaultInterceptors(m, r)
		}
		return configure(m, r)
	}
	return clientAPIWith(t, networks, withRED, settings...)
}

// testPeer is one client: its two connections, a publisher of synthetic
// Opus and VP8 packets, and a record of everything it receives. It
// implements Handler.
type testPeer struct {
	t    testing.TB
	id   string
	p    *Participant
	pub  *webrtc.PeerConnection
	sub  *webrtc.PeerConnection
	ctx  context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup

	audio, video *webrtc.TrackLocalStaticRTP
	videoSender  *webrtc.RTPSender
	videoTag     atomic.Uint32 // written into every video payload; tells sources apart
	plis         atomic.Int64  // PLIs the publisher received
	audioREMBs   atomic.Int64  // REMBs the publisher received about its audio
	videoPackets int           // video packets per 20 ms

	evMu   sync.Mutex // guards the following
	events []func()
	evKick chan struct{}

	offerOutstanding atomic.Bool
	badAnswers       atomic.Int32 // answer this many subscribe offers with garbage first
	offers           atomic.Int32 // subscribe offers answered
	lastOffer        atomic.Value // string: the last subscribe offer

	mu         sync.Mutex // guards the following
	received   map[string]*received
	rembs      []rtcp.ReceiverEstimatedMaximumBitrate // about the video, in order
	twccAcks   int                                    // packets transport-cc feedback reported received
	candidates []string                               // the SFU's trickled candidates, as received
	nacked     map[uint16]int                         // video sequence numbers asked for again, how often
	reports    []rtcp.ReceptionReport                 // receiver report blocks about the video
	dropVideo  func(seq uint16) bool
	// With a proxy, " <SFU port> typ" in what the SFU sends becomes the
	// proxy's port.
	sfuPort, proxyPort string
	red                bool
	// Simulcast publishing: the layers' tracks, and the RIDs the SFU last
	// said are needed (nil: all).
	layers       []*webrtc.TrackLocalStaticRTP
	activeRIDs   []string
	layerCalls   int
	layerHistory [][]string
	downlinks    []string // Downlink levels reported, in order
	pauses       []string // VideoPaused calls: "<publisher> paused" or "<publisher> resumed"
}

// received is what arrived on one (stream id, track id).
type received struct {
	onTracks int
	pkts     []rxPacket
	ended    int // readers that hit the end of their track
}

type rxPacket struct {
	ssrc uint32
	seq  uint16
	ts   uint32
	tag  uint32
	twcc int32 // the transport-wide sequence number, -1 if none
	pt   uint8
	// Audio: the frame numbers the payload carries, the primary's and, in
	// RED, the redundant block's (0 if none).
	frame, redundant uint32
	// Video: the VP8 picture ID (-1 if none) and whether the packet starts
	// a keyframe.
	pic     int32
	key     bool
	padding bool // a padding-only packet
	at      time.Time
}

// joinPeer joins the room and starts publishing audio and video.
func joinPeer(t testing.TB, s *SFU, room, id string, o peerOptions) *testPeer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	tp := &testPeer{t: t, id: id, ctx: ctx, stop: cancel, evKick: make(chan struct{}, 1), received: map[string]*received{}}
	tp.videoPackets = max(o.videoPackets, 1)
	tp.dropVideo = o.dropVideo
	tp.red = o.red
	tp.nacked = map[uint16]int{}
	if o.via != nil {
		tp.sfuPort, tp.proxyPort = strconv.Itoa(s.UDPPort()), strconv.Itoa(int(o.via.Addr().Port()))
	}
	var settings []func(*webrtc.SettingEngine)
	if o.duplicates {
		settings = append(settings, func(se *webrtc.SettingEngine) { se.DisableSRTPReplayProtection(true) })
	}
	interceptors := o.interceptors
	if o.simulcast {
		interceptors = withSimulcast(interceptors)
	}
	api := clientAPIWith(t, o.networks, interceptors, settings...)
	if o.red {
		api = clientAPIWithRED(t, o.networks, o.interceptors, settings...)
	}
	var err error
	if tp.pub, err = api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		t.Fatal(err)
	}
	if tp.sub, err = api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		t.Fatal(err)
	}
	tp.sub.OnTrack(tp.onTrack)
	if tp.p, err = s.Join(room, id, tp); err != nil {
		_ = tp.pub.Close()
		_ = tp.sub.Close()
		cancel()
		t.Fatalf("Join(%s, %s): %v", room, id, err)
	}
	// Our candidates go straight to the SFU, which holds early ones.
	for pc, conn := range map[PC]*webrtc.PeerConnection{Publish: tp.pub, Subscribe: tp.sub} {
		conn.OnICECandidate(func(c *webrtc.ICECandidate) {
			if c == nil || o.via != nil {
				return
			}
			if err := tp.p.AddCandidate(pc, c.ToJSON()); err != nil && !errors.Is(err, ErrClosed) {
				t.Errorf("%s: AddCandidate(%s): %v", id, pc, err)
			}
		})
	}
	tp.wg.Go(tp.eventLoop)
	switch {
	case o.noMedia:
	case o.simulcast:
		tp.startSimulcast()
	default:
		tp.startPublishing()
	}
	return tp
}

// SubscribeOffer implements Handler.
func (tp *testPeer) SubscribeOffer(sdp string) {
	if tp.offerOutstanding.Swap(true) {
		tp.t.Errorf("%s: a subscribe offer came while the previous one was unanswered", tp.id)
	}
	tp.enqueue(func() { tp.answer(sdp) })
}

// Candidate implements Handler.
func (tp *testPeer) Candidate(pc PC, c *webrtc.ICECandidateInit) {
	if c == nil {
		return
	}
	cand := *c
	tp.mu.Lock()
	tp.candidates = append(tp.candidates, cand.Candidate)
	tp.mu.Unlock()
	cand.Candidate = tp.viaProxy(cand.Candidate)
	tp.enqueue(func() {
		conn := tp.pub
		if pc == Subscribe {
			conn = tp.sub
		}
		if err := conn.AddICECandidate(cand); err != nil {
			tp.fail("client AddICECandidate(%s): %v", pc, err)
		}
	})
}

// viaProxy points the SFU's UDP candidates in s at the proxy, if any.
func (tp *testPeer) viaProxy(s string) string {
	if tp.proxyPort == "" {
		return s
	}
	return strings.ReplaceAll(s, " "+tp.sfuPort+" typ ", " "+tp.proxyPort+" typ ")
}

// hideCandidates drops the client's candidates from its description when
// it is behind a proxy, so that the SFU reaches it only through the proxy.
func (tp *testPeer) hideCandidates(sdp string) string {
	if tp.proxyPort == "" {
		return sdp
	}
	lines := strings.SplitAfter(sdp, "\n")
	lines = slices.DeleteFunc(lines, func(l string) bool { return strings.HasPrefix(l, "a=candidate:") })
	return strings.Join(lines, "")
}

// ConnectionState implements Handler.
func (tp *testPeer) ConnectionState(PC, webrtc.PeerConnectionState) {}

// enqueue runs f on the peer's event loop, in order: the signaling channel.
func (tp *testPeer) enqueue(f func()) {
	tp.evMu.Lock()
	tp.events = append(tp.events, f)
	tp.evMu.Unlock()
	select {
	case tp.evKick <- struct{}{}:
	default:
	}
}

func (tp *testPeer) eventLoop() {
	for {
		select {
		case <-tp.ctx.Done():
			return
		case <-tp.evKick:
		}
		for {
			tp.evMu.Lock()
			if len(tp.events) == 0 {
				tp.evMu.Unlock()
				break
			}
			f := tp.events[0]
			tp.events = tp.events[1:]
			tp.evMu.Unlock()
			if tp.ctx.Err() != nil {
				return
			}
			f()
		}
	}
}

// fail reports a client-side error, unless the peer is closing.
func (tp *testPeer) fail(format string, args ...any) {
	if tp.ctx.Err() == nil {
		tp.t.Errorf("%s: %s", tp.id, fmt.Sprintf(format, args...))
	}
}

func (tp *testPeer) answer(offer string) {
	tp.lastOffer.Store(offer)
	if n := tp.badAnswers.Load(); n > 0 && tp.badAnswers.CompareAndSwap(n, n-1) {
		// The client answers garbage; the SFU must withdraw its offer and
		// make a new one.
		tp.offerOutstanding.Store(false)
		if err := tp.p.HandleAnswer("v=0 garbage"); !errors.Is(err, ErrBadSDP) {
			tp.fail("HandleAnswer(garbage) = %v, want ErrBadSDP", err)
		}
		return
	}
	if err := tp.sub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: tp.viaProxy(offer)}); err != nil {
		tp.fail("client SetRemoteDescription(subscribe offer): %v", err)
		return
	}
	a, err := tp.sub.CreateAnswer(nil)
	if err == nil {
		err = tp.sub.SetLocalDescription(a)
	}
	if err != nil {
		tp.fail("client answer: %v", err)
		return
	}
	tp.offerOutstanding.Store(false)
	if err := tp.p.HandleAnswer(tp.hideCandidates(a.SDP)); err != nil {
		tp.fail("HandleAnswer: %v", err)
	}
	tp.offers.Add(1)
}

// publish (re)negotiates the publish connection; it runs on the event loop.
func (tp *testPeer) publish() {
	o, err := tp.pub.CreateOffer(nil)
	if err == nil {
		err = tp.pub.SetLocalDescription(o)
	}
	if err != nil {
		tp.fail("client publish offer: %v", err)
		return
	}
	a, err := tp.p.HandleOffer(tp.hideCandidates(o.SDP))
	if err != nil {
		tp.fail("HandleOffer: %v", err)
		return
	}
	tp.mu.Lock()
	for _, l := range strings.Split(a, "\r\n") {
		if c, ok := strings.CutPrefix(l, "a="); ok && strings.HasPrefix(c, "candidate:") {
			tp.candidates = append(tp.candidates, c)
		}
	}
	tp.mu.Unlock()
	if err := tp.pub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: tp.viaProxy(a)}); err != nil {
		tp.fail("client SetRemoteDescription(publish answer): %v", err)
	}
}

// startPublishing adds an Opus and a VP8 track and sends a packet of each
// every 20 ms.
func (tp *testPeer) startPublishing() {
	var err error
	audioCodec := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
	if tp.red {
		audioCodec = redCodec.RTPCodecCapability
	}
	tp.audio, err = webrtc.NewTrackLocalStaticRTP(audioCodec, "mic", "cam-and-mic")
	if err != nil {
		tp.t.Fatal(err)
	}
	atr, err := tp.pub.AddTransceiverFromTrack(tp.audio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		tp.t.Fatal(err)
	}
	tp.wg.Go(func() { tp.readRTCP(atr.Sender(), webrtc.RTPCodecTypeAudio) })
	tp.video = tp.newVideoTrack("cam")
	tr, err := tp.pub.AddTransceiverFromTrack(tp.video, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		tp.t.Fatal(err)
	}
	tp.setVideoSender(tr.Sender())
	tp.enqueue(tp.publish)
	tp.wg.Go(tp.sendMedia)
}

// replaceVideo sends video from a new track with a new SSRC on a new
// transceiver, as a browser does after a camera swap, and re-offers; tag
// marks the new track's packets.
func (tp *testPeer) replaceVideo(tag uint32) {
	v := tp.newVideoTrack("cam2")
	tr, err := tp.pub.AddTransceiverFromTrack(v, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		tp.t.Fatal(err)
	}
	tp.mu.Lock()
	old := tp.videoSender
	tp.video = v
	tp.mu.Unlock()
	tp.videoTag.Store(tag)
	if err := tp.pub.RemoveTrack(old); err != nil {
		tp.t.Fatal(err)
	}
	tp.setVideoSender(tr.Sender())
	tp.enqueue(tp.publish)
}

func (tp *testPeer) newVideoTrack(id string) *webrtc.TrackLocalStaticRTP {
	v, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, id, "cam-and-mic")
	if err != nil {
		tp.t.Fatal(err)
	}
	return v
}

// setVideoSender starts counting the PLIs and recording the REMBs the SFU
// sends about the video.
func (tp *testPeer) setVideoSender(s *webrtc.RTPSender) {
	tp.mu.Lock()
	tp.videoSender = s
	tp.mu.Unlock()
	tp.wg.Go(func() { tp.readRTCP(s, webrtc.RTPCodecTypeVideo) })
}

// readRTCP reads what the SFU sends about a published track of kind until
// the sender stops.
func (tp *testPeer) readRTCP(s *webrtc.RTPSender, kind webrtc.RTPCodecType) {
	buf := make([]byte, 1500)
	for {
		n, _, err := s.Read(buf)
		if err != nil {
			return // the sender stopped
		}
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		for _, p := range pkts {
			switch p := p.(type) {
			case *rtcp.PictureLossIndication:
				if kind == webrtc.RTPCodecTypeVideo {
					tp.plis.Add(1)
				}
			case *rtcp.TransportLayerNack:
				if kind == webrtc.RTPCodecTypeVideo {
					tp.mu.Lock()
					for _, pair := range p.Nacks {
						for _, seq := range pair.PacketList() {
							tp.nacked[seq]++
						}
					}
					tp.mu.Unlock()
				}
			case *rtcp.ReceiverReport:
				tp.mu.Lock()
				for _, r := range p.Reports {
					if kind == webrtc.RTPCodecTypeVideo && r.SSRC == uint32(s.GetParameters().Encodings[0].SSRC) {
						tp.reports = append(tp.reports, r)
					}
				}
				tp.mu.Unlock()
			case *rtcp.TransportLayerCC:
				acked := 0
				for _, c := range p.PacketChunks {
					switch c := c.(type) {
					case *rtcp.RunLengthChunk:
						if c.PacketStatusSymbol != rtcp.TypeTCCPacketNotReceived {
							acked += int(c.RunLength)
						}
					case *rtcp.StatusVectorChunk:
						for _, sym := range c.SymbolList {
							if sym != rtcp.TypeTCCPacketNotReceived {
								acked++
							}
						}
					}
				}
				tp.mu.Lock()
				tp.twccAcks += acked
				tp.mu.Unlock()
			case *rtcp.ReceiverEstimatedMaximumBitrate:
				if kind == webrtc.RTPCodecTypeAudio {
					tp.audioREMBs.Add(1)
					continue
				}
				tp.mu.Lock()
				tp.rembs = append(tp.rembs, *p)
				tp.mu.Unlock()
			}
		}
	}
}

// rembsSince returns the REMBs about the video from the i-th on.
func (tp *testPeer) rembsSince(i int) []rtcp.ReceiverEstimatedMaximumBitrate {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return slices.Clone(tp.rembs[min(i, len(tp.rembs)):])
}

func (tp *testPeer) sendMedia() {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var n uint32
	audio := make([]byte, 120)
	audio[0] = 0xfc // Opus TOC: 20 ms CELT frame
	video := vp8Keyframe(900)
	var vseq uint16
	for {
		select {
		case <-tp.ctx.Done():
			return
		case <-tick.C:
		}
		n++
		binary.BigEndian.PutUint32(audio[1:], n)
		a := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(n), Timestamp: n * 960}, Payload: audio}
		if tp.red {
			a.Payload = redPayload(audio, n)
		}
		_ = tp.audio.WriteRTP(a)

		tag := tp.videoTag.Load()
		binary.BigEndian.PutUint32(video[videoTagOffset:], tag)
		tp.mu.Lock()
		track := tp.video
		tp.mu.Unlock()
		for i := range tp.videoPackets {
			vseq++
			if tp.dropVideo != nil && tp.dropVideo(vseq) {
				continue
			}
			v := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: vseq, Timestamp: n * 1800, Marker: i == tp.videoPackets-1}, Payload: video}
			_ = track.WriteRTP(v)
		}
	}
}

// redPayload wraps the Opus frame numbered n in RED (RFC 2198 §3), with
// frame n-1 (its number, the rest as frame n) as the redundant block.
func redPayload(frame []byte, n uint32) []byte {
	prev := append([]byte(nil), frame...)
	binary.BigEndian.PutUint32(prev[1:], n-1)
	b := []byte{0x80 | payloadTypeOpus, 0, 0, 0, payloadTypeOpus}
	hdr := uint32(960)<<10 | uint32(len(prev)) // timestamp offset, block length
	b[1], b[2], b[3] = byte(hdr>>16), byte(hdr>>8), byte(hdr)
	b = append(b, prev...)
	return append(b, frame...)
}

// audioFrames reads the frame numbers of a test Opus payload, or of a RED
// one's primary and redundant blocks.
func audioFrames(p []byte, red bool) (frame, redundant uint32) {
	if !red {
		if len(p) >= 5 {
			frame = binary.BigEndian.Uint32(p[1:])
		}
		return frame, 0
	}
	primary, ok := redPrimary(p)
	if !ok || len(primary) < 5 {
		return 0, 0
	}
	frame = binary.BigEndian.Uint32(primary[1:])
	if p[0]&0x80 != 0 && len(p) >= 4+1+5 {
		redundant = binary.BigEndian.Uint32(p[4+1+1:])
	}
	return frame, redundant
}

// videoTagOffset is where a test video payload carries its source tag, past
// the VP8 payload descriptor and keyframe header.
const videoTagOffset = 11

// vp8Keyframe returns a VP8 RTP payload (RFC 7741) that starts a keyframe:
// the payload descriptor, the frame tag and the keyframe start code and
// size. The rest is filler, not a decodable picture.
func vp8Keyframe(size int) []byte {
	b := make([]byte, size)
	b[0] = 0x10                                      // descriptor: S=1, partition 0
	b[1], b[2], b[3] = 0x10, 0x02, 0x00              // frame tag: keyframe, version 0, show_frame
	b[4], b[5], b[6] = 0x9d, 0x01, 0x2a              // start code
	b[7], b[8], b[9], b[10] = 0x40, 0x01, 0xf0, 0x00 // 320x240
	return b
}

func (tp *testPeer) onTrack(track *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	key := track.StreamID() + "/" + track.ID()
	var twccID uint8
	for _, e := range recv.GetParameters().HeaderExtensions {
		if e.URI == sdp.TransportCCURI {
			twccID = uint8(e.ID)
		}
	}
	tp.mu.Lock()
	r := tp.received[key]
	if r == nil {
		r = &received{}
		tp.received[key] = r
	}
	r.onTracks++
	tp.mu.Unlock()
	tp.wg.Add(1)
	defer tp.wg.Done()
	buf := make([]byte, 1500)
	var p rtp.Packet
	for {
		n, _, err := track.Read(buf)
		if err != nil {
			tp.mu.Lock()
			r.ended++
			tp.mu.Unlock()
			return
		}
		if p.Unmarshal(buf[:n]) != nil {
			continue
		}
		rx := rxPacket{ssrc: p.SSRC, seq: p.SequenceNumber, ts: p.Timestamp, twcc: -1, pt: p.PayloadType, pic: -1, at: time.Now()}
		rx.padding = p.Padding && len(p.Payload) == 0
		if track.Kind() == webrtc.RTPCodecTypeVideo && !rx.padding {
			if d, ok := parseVP8(p.Payload); ok {
				rx.key = d.keyframe
				if pic, ok := d.pictureID(p.Payload); ok {
					rx.pic = int32(pic)
				}
			}
		}
		if track.Kind() == webrtc.RTPCodecTypeAudio {
			rx.frame, rx.redundant = audioFrames(p.Payload, strings.EqualFold(track.Codec().MimeType, mimeTypeRED) && p.PayloadType == uint8(track.Codec().PayloadType))
		}
		if n, ok := mediaio.TransportSequence(buf[:n], twccID); ok && twccID != 0 {
			rx.twcc = int32(n)
		}
		if track.Kind() == webrtc.RTPCodecTypeVideo && len(p.Payload) >= videoTagOffset+4 {
			rx.tag = binary.BigEndian.Uint32(p.Payload[videoTagOffset:])
		}
		tp.mu.Lock()
		r.pkts = append(r.pkts, rx)
		tp.mu.Unlock()
	}
}

// stats returns a copy of what arrived on a publisher's track of kind.
func (tp *testPeer) stats(publisher, kind string) received {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	r := tp.received[publisher+"/"+publisher+"-"+kind]
	if r == nil {
		return received{}
	}
	c := *r
	c.pkts = append([]rxPacket(nil), r.pkts...)
	return c
}

// close leaves the room and closes the client.
func (tp *testPeer) close() {
	tp.stop()
	tp.p.Close()
	_ = tp.pub.GracefulClose()
	_ = tp.sub.GracefulClose()
	tp.wg.Wait()
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitMedia waits until tp has received at least n more packets of each
// kind from each publisher than it had when called.
func waitMedia(t testing.TB, tp *testPeer, n int, publishers ...*testPeer) {
	t.Helper()
	type key struct{ pub, kind string }
	base := map[key]int{}
	for _, p := range publishers {
		for _, k := range []string{"audio", "video"} {
			base[key{p.id, k}] = len(tp.stats(p.id, k).pkts)
		}
	}
	for k, b := range base {
		waitFor(t, 20*time.Second, tp.id+" receiving "+k.pub+"'s "+k.kind, func() bool {
			return len(tp.stats(k.pub, k.kind).pkts) >= b+n
		})
	}
}
