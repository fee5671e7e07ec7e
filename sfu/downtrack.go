package sfu

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"vclinic/sfu/mediaio"
)

// downTrack is one subscriber's copy of one published track: the
// webrtc.TrackLocal pion sends on the subscriber's connection.
//
// The publisher's reader goroutine calls enqueue; it rewrites the packet to
// this subscriber's SSRC, sequence numbers and timestamps and writes it to
// pion there and then: no hand-off to another goroutine, which under load
// cost more than the forwarding itself. The bounded queue of slots, drained
// by a writer goroutine (drain) that runs only while it holds packets, is
// for overflow only: a
// packet is queued while a write to this subscriber is under way, and while
// the subscriber is slow (a packet written inline was still unwritten
// slowWrite after it arrived), so
// that one slow subscriber holds up its publisher's other subscribers for one
// write at most. The writer hands back to inline writes once it has emptied
// the queue. When the subscriber cannot keep up, the queue drops its oldest
// packet, so the publisher never waits. Sequence numbers are assigned on
// enqueue, so a dropped packet shows as loss to the receiver, which then
// conceals it, and we ask for a keyframe to repair the picture.
//
// The publisher's header extensions are not forwarded: their ids were
// negotiated on the publisher's connection and mean nothing on ours.
type downTrack struct {
	id, streamID string
	kind         webrtc.RTPCodecType
	codec        webrtc.RTPCodecCapability
	up           *upTrack
	keyframe     func() // asks the publisher for a keyframe of the layers wanted and forwarded, throttled
	stats        *counters
	video        bool      // the track keeps a history and answers NACKs
	layered      bool      // the track comes as simulcast layers: picture IDs are rewritten (vp8.go)
	epoch        time.Time // the upTrack's, origin of the arrival times enqueue gets

	// want is the layer a keyframe is wanted from: the target, -1 while
	// video is paused.
	want atomic.Int32
	// padRate is the padding to send after each frame, in bits/s, while
	// the subscriber's link is probed (allocate.go); 0 most of the time.
	padRate atomic.Uint64

	writers sync.WaitGroup // the queue's writer goroutine, while it runs

	sender *webrtc.RTPSender // set once by the subscriber after AddTrack

	dropped atomic.Uint64 // packets this subscriber lost to a full queue

	// The downlink estimate (bwe.go), video only: loss is owned by the
	// RTCP reader, which publishes its result in estimate (bits/s).
	estimate atomic.Uint64
	loss     *lossEstimate // nil for audio

	// The subscriber's receiver reports, for its link (link.go): rr is
	// the RTCP reader's own; jitterMicros the latest jitter, -1 before a
	// report. link is nil in tests that make a bare downTrack.
	link         *linkCounters
	rr           rrState
	jitterMicros atomic.Int64

	mu      sync.Mutex // guards the following
	bound   bool
	bindID  string
	ssrc    uint32
	pt      uint8 // the negotiated payload type: for audio, Opus's
	redPT   uint8 // audio: RED's, 0 if the subscriber did not negotiate it
	ws      webrtc.TrackLocalWriter
	rw      *rewriter
	slots   []slot
	head, n int     // the queue is slots[head], slots[head+1], ... n of them, circular
	sent    uint64  // bytes written or taken from the queue to write, RTP header and payload
	writing bool    // a write to ws is under way (inline or by the writer)
	slow    bool    // an inline write was slow: queue until the writer has caught up
	carried sentMap // what each of the last sequence numbers carried (video)
	// The layer forwarded (-1: none) and the one to switch to at its next
	// keyframe (-1: video paused for this subscriber); both 0 without
	// simulcast, unless paused.
	cur, target int
	switches    uint64        // layer switches made
	vp8         vp8Numbers    // picture IDs across layers, when layered
	padTokens   float64       // bytes of padding due
	padAt       time.Duration // when padding was last counted
	padded      uint64        // padding packets sent
	draining    bool          // the writer goroutine runs
	closed      bool          // close was called: no writer starts again
	manual      bool          // tests drain the queue themselves

	// Owned by whoever set writing.
	hdr  rtp.Header // reused for every packet written
	wbuf []byte     // a layered track's rewritten payload; made on first use

	// Owned by the writer.
	spare []byte // swapped with the buffer of the slot being written; made on first use
}

// slowWrite is how long after its arrival a packet may still be being
// written inline before the subscriber's packets go through its queue and
// writer instead: far above a UDP send (~10 µs) times a room's
// subscribers, well under a frame interval.
const slowWrite = 2 * time.Millisecond

// monoEpoch times writes on the monotonic clock.
var monoEpoch = time.Now()

// slot is one queued packet; buf is allocated when the slot is first used.
type slot struct {
	buf    []byte
	size   int
	seq    uint16
	ts     uint32
	pt     uint8
	marker bool
}

// newDownTrack makes a subscriber's copy of up with a queue of queueLen
// packets.
func newDownTrack(up *upTrack, queueLen int, stats *counters) *downTrack {
	dt := &downTrack{
		id:       up.id,
		streamID: up.streamID,
		kind:     up.kind,
		codec:    up.codec,
		up:       up,
		epoch:    up.epoch,
		stats:    stats,
		video:    up.layers[0].hist != nil,
		layered:  up.layered(),
		slots:    make([]slot, queueLen),
	}
	dt.keyframe = func() {
		// The layer to switch to, and the one forwarded now, which the
		// subscriber decodes until the switch: when the layer wanted
		// does not come (its publisher's link just came back with less
		// than before), the picture is repaired on the layer it has.
		want := int(dt.want.Load())
		up.requestKeyframe(want)
		dt.mu.Lock()
		cur := dt.cur
		dt.mu.Unlock()
		if cur >= 0 && cur != want {
			up.requestKeyframe(cur)
		}
	}
	if dt.video {
		dt.carried = newSentMap(len(up.layers[0].hist.slots))
	}
	if dt.layered {
		// Until the first allocation: the middle layer, a fair guess for a
		// link not yet measured.
		dt.cur, dt.target = -1, min(1, len(up.layers)-1)
	}
	dt.want.Store(int32(dt.target))
	dt.jitterMicros.Store(-1)
	if dt.kind == webrtc.RTPCodecTypeVideo {
		dt.loss = newLossEstimate()
		dt.estimate.Store(bweMaxBitrate)
	}
	return dt
}

// ID is the track id: "<publisherID>-<kind>".
func (dt *downTrack) ID() string { return dt.id }

// RID is empty: a subscriber receives one layer of a simulcast track, as
// one stream.
func (dt *downTrack) RID() string { return "" }

// StreamID is the publisher's participant id.
func (dt *downTrack) StreamID() string { return dt.streamID }

// Kind is audio or video.
func (dt *downTrack) Kind() webrtc.RTPCodecType { return dt.kind }

// Bind is called by pion when the subscribe connection has negotiated the
// track: from now on packets go to ctx's write stream with ctx's SSRC.
func (dt *downTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	want := dt.codec
	var opusPT, redPT uint8
	if dt.kind == webrtc.RTPCodecTypeAudio {
		// Opus is what every subscriber must take; RED goes to those who
		// negotiated it, and the others get the primary encoding.
		opusPT, redPT = audioPayloadTypes(ctx.CodecParameters())
		if opusPT != 0 && (redPT == 0 || !strings.EqualFold(want.MimeType, mimeTypeRED)) {
			want.MimeType = webrtc.MimeTypeOpus
		}
	}
	codec, ok := matchCodec(want, ctx.CodecParameters())
	if !ok {
		return webrtc.RTPCodecParameters{}, fmt.Errorf("track %s: bind: %w: %s", dt.id, webrtc.ErrUnsupportedCodec, dt.codec.MimeType)
	}
	dt.mu.Lock()
	dt.bound = true
	dt.bindID = ctx.ID()
	dt.ssrc = uint32(ctx.SSRC())
	dt.pt = uint8(codec.PayloadType)
	dt.redPT = redPT // per packet: RED as RED, the rest as Opus
	if opusPT != 0 {
		dt.pt = opusPT
	}
	dt.ws = ctx.WriteStream()
	if dt.rw == nil {
		// RFC 3550 §5.1: random initial sequence number and timestamp.
		dt.rw = newRewriter(codec.ClockRate, rand.Uint32(), uint16(rand.Uint32()))
	}
	dt.mu.Unlock()
	// The subscriber can decode nothing until the next keyframe.
	dt.keyframe()
	return codec, nil
}

// Unbind is called by pion when the track stops being sent.
func (dt *downTrack) Unbind(ctx webrtc.TrackLocalContext) error {
	dt.mu.Lock()
	defer dt.mu.Unlock()
	if dt.bindID != ctx.ID() {
		return webrtc.ErrUnbindFailed
	}
	dt.bound = false
	dt.ws = nil
	dt.head, dt.n = 0, 0
	return nil
}

// matchCodec picks the negotiated codec with our MIME type.
func matchCodec(want webrtc.RTPCodecCapability, have []webrtc.RTPCodecParameters) (webrtc.RTPCodecParameters, bool) {
	for _, c := range have {
		if strings.EqualFold(c.MimeType, want.MimeType) {
			return c, true
		}
	}
	return webrtc.RTPCodecParameters{}, false
}

// enqueue rewrites one packet of layer for this subscriber and writes it,
// or queues it when a write is under way or the subscriber is slow, dropping
// the oldest queued packet if the queue is full. now is the packet's arrival
// time; key tells that it starts a keyframe, where a switch of layers
// happens. It never waits for the writer and allocates nothing.
func (dt *downTrack) enqueue(h *rtp.Header, payload []byte, now time.Duration, layer int, key bool) {
	dt.mu.Lock()
	if !dt.bound {
		dt.mu.Unlock()
		return
	}
	if layer != dt.cur {
		// A switch happens at a keyframe of the layer wanted, or, while
		// nothing is forwarded (at the start, after an outage), of any
		// lower one: a small picture now beats waiting for the big one.
		if !key || layer != dt.target && (dt.cur >= 0 || dt.target < 0 || layer > dt.target) {
			dt.mu.Unlock()
			return
		}
		// The layer asked for starts a keyframe: switch here, the
		// receiver needs nothing from before it.
		if dt.cur >= 0 {
			dt.switches++
			dt.stats.layerSwitches.Add(1)
		}
		dt.cur = layer
	}
	pt := dt.pt
	if red := uint8(dt.up.redPT.Load()); red != 0 && h.PayloadType == red {
		if dt.redPT != 0 {
			pt = dt.redPT
		} else if primary, ok := redPrimary(payload); ok {
			payload = primary
		} else {
			dt.mu.Unlock()
			return // malformed RED: nothing to forward
		}
	}
	seq, ts, ok := dt.rw.rewrite(h.SSRC, h.SequenceNumber, h.Timestamp, now)
	if !ok {
		dt.mu.Unlock()
		return
	}
	var vd vp8Desc
	var pic uint16
	var tl0 uint8
	if dt.layered {
		vd, _ = parseVP8(payload)
		pic, tl0 = dt.vp8.shifts(h.SSRC, vd, payload)
	}
	if dt.carried.slots != nil {
		dt.carried.put(sentSlot{down: seq, up: h.SequenceNumber, ssrc: h.SSRC, ts: ts, layer: uint8(layer), pic: pic, tl0: tl0})
	}
	if !dt.writing && !dt.slow && dt.n == 0 {
		dt.writing = true
		if dt.layered {
			if dt.wbuf == nil {
				dt.wbuf = make([]byte, receiveMTU)
			}
			payload = dt.wbuf[:copy(dt.wbuf, payload)]
			dt.vp8.note(rewriteVP8(payload, vd, pic, tl0))
		}
		dt.sent += uint64(rtpHeaderSize + len(payload))
		ws, ssrc := dt.ws, dt.ssrc
		dt.mu.Unlock()
		dt.write(ws, ssrc, pt, seq, ts, h.Marker, payload)
		if h.Marker && dt.padRate.Load() != 0 {
			dt.padAfter(ws, ssrc, pt, now)
		}
		// One clock reading per write: the time since the packet arrived
		// covers this write and those before it in the same fan-out, far
		// below slowWrite unless one of them was slow.
		slow := time.Since(dt.epoch)-now > slowWrite
		dt.mu.Lock()
		dt.writing = false
		dt.slow = dt.slow || slow
		dt.mu.Unlock()
		return
	}
	dropped := dt.n == len(dt.slots)
	if dropped {
		dt.head = dt.next(dt.head)
		dt.n--
	}
	i := dt.head + dt.n
	if i >= len(dt.slots) {
		i -= len(dt.slots)
	}
	s := &dt.slots[i]
	if s.buf == nil {
		// Slots get their buffer when first used: packets are queued only
		// while a write is under way or the subscriber is slow, so most
		// subscribers never need most of them.
		s.buf = make([]byte, receiveMTU)
	}
	s.size = copy(s.buf, payload)
	if dt.layered {
		dt.vp8.note(rewriteVP8(s.buf[:s.size], vd, pic, tl0))
	}
	s.seq, s.ts, s.pt, s.marker = seq, ts, pt, h.Marker
	dt.n++
	// The writer runs only while there is a queue: most subscribers never
	// have one, and an idle goroutine per track is memory and scheduling.
	start := !dt.draining && !dt.closed && !dt.manual
	if start {
		dt.draining = true
		dt.writers.Add(1)
	}
	dt.mu.Unlock()

	if start {
		go dt.drain()
	}
	if dropped {
		dt.dropped.Add(1)
		dt.stats.dropped.Add(1)
		dt.keyframe()
	}
}

func (dt *downTrack) next(i int) int {
	if i++; i == len(dt.slots) {
		return 0
	}
	return i
}

// writeNext writes the oldest queued packet to pion; false if there was
// none, or an inline write is under way. A fast write that empties the
// queue hands back to inline writes; a slow one keeps the queue in use. Only
// the writer calls it.
func (dt *downTrack) writeNext() bool {
	dt.mu.Lock()
	if dt.n == 0 || dt.writing {
		dt.mu.Unlock()
		return false
	}
	s := &dt.slots[dt.head]
	if dt.spare == nil {
		dt.spare = make([]byte, receiveMTU)
	}
	s.buf, dt.spare = dt.spare, s.buf
	size, seq, ts, pt, marker := s.size, s.seq, s.ts, s.pt, s.marker
	dt.head = dt.next(dt.head)
	dt.n--
	dt.sent += uint64(rtpHeaderSize + size)
	dt.writing = true
	ws, ssrc := dt.ws, dt.ssrc
	dt.mu.Unlock()

	start := time.Since(monoEpoch)
	dt.write(ws, ssrc, pt, seq, ts, marker, dt.spare[:size])
	slow := time.Since(monoEpoch)-start > slowWrite

	dt.mu.Lock()
	dt.writing = false
	switch {
	case slow:
		dt.slow = true
	case dt.n == 0:
		dt.slow = false
	}
	dt.mu.Unlock()
	return true
}

// write sends one rewritten packet to pion. Only the holder of writing
// calls it.
func (dt *downTrack) write(ws webrtc.TrackLocalWriter, ssrc uint32, pt uint8, seq uint16, ts uint32, marker bool, payload []byte) {
	// Interceptors (TWCC) add their extensions to the header; start clean.
	h := &dt.hdr
	*h = rtp.Header{
		Version:        2,
		Marker:         marker,
		PayloadType:    pt,
		SequenceNumber: seq,
		Timestamp:      ts,
		SSRC:           ssrc,
		CSRC:           h.CSRC[:0],
		Extensions:     h.Extensions[:0],
	}
	if _, err := ws.WriteRTP(h, payload); err == nil {
		dt.stats.forwardedPackets.Add(1)
		dt.stats.forwardedBytes.Add(uint64(len(payload)))
	}
}

// Padding packets (RFC 3550 §5.1: P set, the payload all padding, its last
// octet the count) are padBytes long, and at most padBurst go after one
// frame.
const (
	padBytes = 255
	padBurst = 16
)

// padPayload is what a padding packet carries: nothing; the header's
// PaddingSize makes its padBytes.
var padPayload = []byte{}

// padAfter sends the padding due at now (padRate since the last time) right
// after the last packet of a frame, where no packet of the frame can come
// between: receivers assemble frames from consecutive sequence numbers. The
// caller holds writing.
func (dt *downTrack) padAfter(ws webrtc.TrackLocalWriter, ssrc uint32, pt uint8, now time.Duration) {
	rate := dt.padRate.Load()
	dt.mu.Lock()
	elapsed := min(now-dt.padAt, 200*time.Millisecond)
	dt.padAt = now
	dt.padTokens = min(dt.padTokens+float64(rate)/8*elapsed.Seconds(), padBurst*padBytes)
	n := min(int(dt.padTokens/padBytes), padBurst)
	if n == 0 || rate == 0 {
		dt.mu.Unlock()
		return
	}
	first, ts, ok := dt.rw.pad(uint16(n))
	if !ok {
		dt.mu.Unlock()
		return
	}
	dt.padTokens -= float64(n * padBytes)
	for i := range n {
		dt.carried.put(sentSlot{down: first + uint16(i), padding: true})
	}
	dt.sent += uint64(n * (rtpHeaderSize + padBytes))
	dt.padded += uint64(n)
	dt.mu.Unlock()
	h := &dt.hdr
	for i := range n {
		*h = rtp.Header{Version: 2, Padding: true, PaddingSize: padBytes, PayloadType: pt,
			SequenceNumber: first + uint16(i), Timestamp: ts, SSRC: ssrc,
			CSRC: h.CSRC[:0], Extensions: h.Extensions[:0]}
		if _, err := ws.WriteRTP(h, padPayload); err == nil {
			dt.stats.padding.Add(1)
		}
	}
}

// drain is the writer goroutine: started when a packet is queued, it
// writes the queue until it is empty (or an inline write has taken over, or
// the track is closing) and ends; the next queued packet starts it again.
func (dt *downTrack) drain() {
	defer dt.writers.Done()
	for {
		for dt.writeNext() {
		}
		dt.mu.Lock()
		if dt.n == 0 || dt.writing || dt.closed {
			dt.draining = false
			dt.mu.Unlock()
			return
		}
		dt.mu.Unlock()
	}
}

// close stops queueing and waits for a running writer. The caller has
// removed the track from the connection and from its upTrack.
func (dt *downTrack) close() {
	dt.mu.Lock()
	dt.closed = true
	paused := dt.target < 0
	dt.target = -1
	dt.mu.Unlock()
	if paused && dt.kind == webrtc.RTPCodecTypeVideo {
		dt.stats.videoPaused.Add(-1)
	}
	dt.writers.Wait()
}

// rtpHeaderSize is the size of the RTP header we write (RFC 3550 §5.1, no
// CSRCs), counted in the sent rate.
const rtpHeaderSize = 12

// readRTCP drains the RTCP the subscriber sends about this track until the
// sender stops: keyframe requests (RFC 4585 §6.3.1 PLI, RFC 5104 §4.3.1 FIR)
// go to the publisher; NACKs (RFC 4585 §6.2.1), which pion's responder
// answers from its buffer, are counted; receiver reports (RFC 3550 §6.4.2)
// feed the downlink estimate of a video track. c tells the reports' time.
func (dt *downTrack) readRTCP(c clock) {
	buf := make([]byte, receiveMTU)
	var rs resendState
	for {
		n, _, err := dt.sender.Read(buf)
		if err != nil {
			return
		}
		mediaio.ForEachRTCP(buf[:n], func(b []byte) {
			// Transport-cc feedback, the most frequent, went to the
			// connection's estimate already (mediaio/sendbwe.go).
			if !mediaio.IsTWCC(b) {
				dt.onRTCP(b, c, &rs)
			}
		})
	}
}

// onRTCP handles one RTCP packet about this track.
func (dt *downTrack) onRTCP(b []byte, c clock, rs *resendState) {
	pkts, err := rtcp.Unmarshal(b)
	if err != nil {
		return
	}
	for _, p := range pkts {
		switch p := p.(type) {
		case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
			dt.keyframe()
		case *rtcp.TransportLayerNack:
			dt.stats.nacks.Add(1)
			dt.resend(p, rs)
		case *rtcp.ReceiverReport:
			dt.onReceiverReport(c.Now(), p.Reports)
		}
	}
}

// resendState is the RTCP reader's buffer and header for resent packets.
type resendState struct {
	buf []byte // made at the first NACK
	hdr rtp.Header
}

// resend answers a NACK (RFC 4585 §6.2.1) from the track's history: each
// packet asked for that is still kept goes again with the sequence number
// and timestamp it had, and a packet no longer kept asks the publisher for a
// keyframe. Only the RTCP reader calls it; resent packets may overtake
// queued ones, as retransmissions do.
func (dt *downTrack) resend(nack *rtcp.TransportLayerNack, rs *resendState) {
	if !dt.video {
		return
	}
	if rs.buf == nil {
		rs.buf = make([]byte, receiveMTU)
	}
	buf, hdr := rs.buf, &rs.hdr
	gone := false // a packet asked for is no longer kept
	for _, pair := range nack.Nacks {
		for _, down := range pair.PacketList() {
			dt.mu.Lock()
			slot, ok := dt.carried.get(down)
			ws, ssrc, pt, bound := dt.ws, dt.ssrc, dt.pt, dt.bound
			dt.mu.Unlock()
			if !bound || nack.MediaSSRC != ssrc {
				continue
			}
			if !ok {
				gone = true
				continue
			}
			if slot.padding {
				continue // nothing worth sending again
			}
			if int(slot.layer) >= len(dt.up.layers) {
				continue
			}
			n, marker, ok := dt.up.layers[slot.layer].hist.get(slot.ssrc, slot.up, buf)
			if !ok {
				gone = true
				continue
			}
			if dt.layered {
				// As it was sent: with the picture ID it was given then.
				if d, ok := parseVP8(buf[:n]); ok {
					rewriteVP8(buf[:n], d, slot.pic, slot.tl0)
				}
			}
			*hdr = rtp.Header{Version: 2, Marker: marker, PayloadType: pt, SequenceNumber: down, Timestamp: slot.ts, SSRC: ssrc,
				CSRC: hdr.CSRC[:0], Extensions: hdr.Extensions[:0]}
			if _, err := ws.WriteRTP(hdr, buf[:n]); err == nil {
				dt.stats.retransmitted.Add(1)
			}
		}
	}
	if gone {
		// The subscriber cannot repair its picture (after a black-out, say,
		// longer than the history): a keyframe now, rather than when its
		// own NACKs give up (RFC 4585 §6.3.1; throttled per track).
		dt.keyframe()
	}
}

// onReceiverReport updates the downlink estimate from the report block, if
// any, about this track's SSRC; a compound report from a browser carries
// blocks for its other incoming streams too.
func (dt *downTrack) onReceiverReport(now time.Time, reports []rtcp.ReceptionReport) {
	dt.mu.Lock()
	ssrc, bound, sent := dt.ssrc, dt.bound, dt.sent
	dt.mu.Unlock()
	if !bound {
		return
	}
	for _, r := range reports {
		if r.SSRC == ssrc {
			dt.onReport(r)
			if dt.loss != nil {
				dt.estimate.Store(dt.loss.update(now, r.FractionLost, sent))
			}
			return
		}
	}
}
