package sfu

import (
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"
)

// fakeTrackContext is what pion hands a TrackLocal on Bind.
type fakeTrackContext struct {
	codecs []webrtc.RTPCodecParameters
	ssrc   webrtc.SSRC
	ws     webrtc.TrackLocalWriter
}

func (c *fakeTrackContext) CodecParameters() []webrtc.RTPCodecParameters { return c.codecs }
func (c *fakeTrackContext) HeaderExtensions() []webrtc.RTPHeaderExtensionParameter {
	return nil
}
func (c *fakeTrackContext) SSRC() webrtc.SSRC                       { return c.ssrc }
func (c *fakeTrackContext) SSRCRetransmission() webrtc.SSRC         { return 0 }
func (c *fakeTrackContext) SSRCForwardErrorCorrection() webrtc.SSRC { return 0 }
func (c *fakeTrackContext) WriteStream() webrtc.TrackLocalWriter    { return c.ws }
func (c *fakeTrackContext) ID() string                              { return "binding" }
func (c *fakeTrackContext) RTCPReader() interceptor.RTCPReader      { return nil }

// recordingWriter keeps copies of the packets written.
type recordingWriter struct {
	pkts  []rtp.Packet
	delay time.Duration // each write takes this long: a slow subscriber
}

func (w *recordingWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	time.Sleep(w.delay)
	p := rtp.Packet{Header: h.Clone(), Payload: append([]byte(nil), payload...)}
	w.pkts = append(w.pkts, p)
	return len(payload), nil
}

func (w *recordingWriter) Write(b []byte) (int, error) { return len(b), nil }

// discardWriter is the cheapest TrackLocalWriter.
type discardWriter struct{ n int }

func (w *discardWriter) WriteRTP(_ *rtp.Header, payload []byte) (int, error) {
	w.n++
	return len(payload), nil
}

func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }

var testVP8 = webrtc.RTPCodecParameters{
	RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000},
	PayloadType:        payloadTypeVP8,
}

func newVideoUpTrack() *upTrack {
	return newUpTrack("pub", testVP8, webrtc.RTPCodecTypeVideo)
}

// newBoundDownTrack returns a downTrack of up, attached and bound to w with
// SSRC 4242, whose writer is not running: the test drains it.
func newBoundDownTrack(t testing.TB, up *upTrack, queueLen int, w webrtc.TrackLocalWriter, keyframes *int) (*downTrack, *counters) {
	t.Helper()
	stats := &counters{}
	dt := newDownTrack(up, queueLen, stats)
	dt.manual = true
	dt.keyframe = func() { *keyframes++ }
	codec, err := dt.Bind(&fakeTrackContext{codecs: []webrtc.RTPCodecParameters{testVP8}, ssrc: 4242, ws: w})
	if err != nil {
		t.Fatalf("Bind: %v", err)
	}
	if codec.PayloadType != payloadTypeVP8 {
		t.Fatalf("Bind chose payload type %d, want %d", codec.PayloadType, payloadTypeVP8)
	}
	if !up.attach(dt) {
		t.Fatal("attach failed")
	}
	return dt, stats
}

// testPacket is a publisher's packet: SSRC 77, with a header extension, the
// given sequence number and a one-byte payload tag.
func testPacket(seq uint16, tag byte) rtp.Packet {
	p := rtp.Packet{
		Header: rtp.Header{
			Version:        2,
			PayloadType:    100, // the publisher's number, not ours
			SequenceNumber: seq,
			Timestamp:      uint32(seq) * 3000,
			SSRC:           77,
			Marker:         true,
		},
		Payload: []byte{0x10, tag},
	}
	if err := p.Header.SetExtension(3, []byte{1, 2}); err != nil {
		panic(err)
	}
	return p
}

func TestDownTrackQueueDropsOldest(t *testing.T) {
	w := &recordingWriter{}
	keyframes := 0
	up := newVideoUpTrack()
	dt, stats := newBoundDownTrack(t, up, 4, w, &keyframes)
	if keyframes != 1 {
		t.Fatalf("keyframe requests after Bind = %d, want 1", keyframes)
	}
	gen := up.layers[0].source.Add(1)
	var scratch rtp.Packet
	feed := func(seq uint16, tag byte) {
		p := testPacket(seq, tag)
		b, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		up.handle(b, 0, gen, &scratch)
	}

	// One packet through, written inline; then, the subscriber being slow,
	// six into a queue of four.
	feed(100, 0)
	if len(w.pkts) != 1 || dt.writeNext() {
		t.Fatalf("the first packet was not written inline: %d written", len(w.pkts))
	}
	dt.mu.Lock()
	dt.slow = true
	dt.mu.Unlock()
	for i := range 6 {
		feed(uint16(101+i), byte(1+i))
	}
	for dt.writeNext() {
	}

	if got := dt.dropped.Load(); got != 2 {
		t.Errorf("dropped = %d, want 2", got)
	}
	if got := stats.dropped.Load(); got != 2 {
		t.Errorf("stats dropped = %d, want 2", got)
	}
	if keyframes != 3 {
		t.Errorf("keyframe requests = %d, want 3 (bind + one per drop)", keyframes)
	}
	if len(w.pkts) != 5 {
		t.Fatalf("wrote %d packets, want 5", len(w.pkts))
	}
	// The oldest two (tags 1 and 2) were dropped; the receiver sees their
	// sequence numbers missing.
	first := w.pkts[0].SequenceNumber
	wantTags := []byte{0, 3, 4, 5, 6}
	wantSeqs := []uint16{first, first + 3, first + 4, first + 5, first + 6}
	for i, p := range w.pkts {
		if p.Payload[1] != wantTags[i] || p.SequenceNumber != wantSeqs[i] {
			t.Errorf("packet %d: tag %d seq %d, want tag %d seq %d", i, p.Payload[1], p.SequenceNumber, wantTags[i], wantSeqs[i])
		}
		if p.SSRC != 4242 || p.PayloadType != payloadTypeVP8 {
			t.Errorf("packet %d: ssrc %d pt %d, want ssrc 4242 pt %d", i, p.SSRC, p.PayloadType, payloadTypeVP8)
		}
		if p.Extension || len(p.Extensions) != 0 {
			t.Errorf("packet %d: publisher's header extensions forwarded: %+v", i, p.Extensions)
		}
		if !p.Marker {
			t.Errorf("packet %d: marker lost", i)
		}
	}
	if got := stats.forwardedPackets.Load(); got != 5 {
		t.Errorf("forwarded packets = %d, want 5", got)
	}
	if got := stats.forwardedBytes.Load(); got != 10 {
		t.Errorf("forwarded bytes = %d, want 10", got)
	}
}

// TestDownTrackSlowSubscriberQueues: packets are written on the publisher's
// reader until a write takes longer than slowWrite; then they are queued
// for the writer, and once it has caught up with a fast write, written
// inline again. Order and sequence numbers hold throughout.
func TestDownTrackSlowSubscriberQueues(t *testing.T) {
	w := &recordingWriter{}
	keyframes := 0
	up := newVideoUpTrack()
	dt, _ := newBoundDownTrack(t, up, 8, w, &keyframes)
	gen := up.layers[0].source.Add(1)
	var scratch rtp.Packet
	feed := func(seq uint16) {
		p := testPacket(seq, byte(seq))
		b, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		up.handle(b, 0, gen, &scratch)
	}
	feed(1)
	if len(w.pkts) != 1 {
		t.Fatalf("fast subscriber: %d written inline, want 1", len(w.pkts))
	}
	w.delay = 2 * slowWrite
	feed(2) // inline, and slow
	w.delay = 0
	feed(3)
	feed(4)
	if len(w.pkts) != 2 {
		t.Fatalf("after a slow write: %d written, want 2 (the rest queued)", len(w.pkts))
	}
	for dt.writeNext() {
	}
	feed(5) // caught up with fast writes: inline again
	if len(w.pkts) != 5 || dt.writeNext() {
		t.Fatalf("after catching up: %d written, want 5, nothing queued", len(w.pkts))
	}
	for i, p := range w.pkts {
		if p.Payload[1] != byte(i+1) || i > 0 && p.SequenceNumber != w.pkts[i-1].SequenceNumber+1 {
			t.Fatalf("packet %d: tag %d seq %d after %d", i, p.Payload[1], p.SequenceNumber, w.pkts[max(i-1, 0)].SequenceNumber)
		}
	}
	if dt.dropped.Load() != 0 {
		t.Fatalf("dropped %d", dt.dropped.Load())
	}
}

func TestDownTrackUnboundDropsSilently(t *testing.T) {
	stats := &counters{}
	up := newVideoUpTrack()
	dt := newDownTrack(up, 4, stats)
	dt.keyframe = func() { t.Error("keyframe requested by an unbound track") }
	gen := up.layers[0].source.Add(1)
	up.attach(dt)
	p := testPacket(1, 1)
	b, _ := p.Marshal()
	var scratch rtp.Packet
	for range 10 {
		up.handle(b, 0, gen, &scratch)
	}
	if dt.writeNext() {
		t.Error("unbound track queued a packet")
	}
	if got := stats.dropped.Load(); got != 0 {
		t.Errorf("dropped = %d, want 0", got)
	}
}

func TestUpTrackIgnoresReplacedSource(t *testing.T) {
	w := &recordingWriter{}
	keyframes := 0
	up := newVideoUpTrack()
	dt, _ := newBoundDownTrack(t, up, 8, w, &keyframes)
	old := up.layers[0].source.Add(1)
	cur := up.layers[0].source.Add(1)
	var scratch rtp.Packet
	for i, gen := range []uint64{old, cur, old} {
		p := testPacket(uint16(i), byte(i))
		b, _ := p.Marshal()
		up.handle(b, 0, gen, &scratch)
	}
	for dt.writeNext() {
	}
	if len(w.pkts) != 1 || w.pkts[0].Payload[1] != 1 {
		t.Fatalf("forwarded %d packets, want only the current source's one", len(w.pkts))
	}
}

// BenchmarkForward measures our part of forwarding one packet: parsing what
// was read off the publisher's track, rewriting it, queueing it and writing
// it to the subscriber's write stream (here a writer that discards). Each
// subscriber adds one rewrite, queue and write.
func BenchmarkForward(b *testing.B) {
	for _, subs := range []int{1, 5} {
		b.Run(fmt.Sprintf("subscribers=%d", subs), func(b *testing.B) {
			keyframes := 0
			up := newVideoUpTrack()
			var dts []*downTrack
			for range subs {
				dt, _ := newBoundDownTrack(b, up, DefaultQueuePackets, &discardWriter{}, &keyframes)
				dts = append(dts, dt)
			}
			gen := up.layers[0].source.Add(1)

			// A typical browser video packet: ~1100 bytes with a
			// transport-wide sequence number extension.
			p := testPacket(0, 0)
			p.Payload = make([]byte, 1100)
			buf, err := p.Marshal()
			if err != nil {
				b.Fatal(err)
			}
			var scratch rtp.Packet
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			seq := uint16(0)
			for b.Loop() {
				seq++
				binary.BigEndian.PutUint16(buf[2:], seq) // the next packet read into the reused buffer
				up.handle(buf, 0, gen, &scratch)
				for _, dt := range dts {
					for dt.writeNext() {
					}
				}
			}
			if d := dts[0].dropped.Load(); d != 0 {
				b.Fatalf("%d packets dropped", d)
			}
		})
	}
}

// lockedWriter counts writes and their sequence numbers under a lock, each
// write taking delay.
type lockedWriter struct {
	mu    sync.Mutex
	seqs  []uint16
	delay time.Duration
}

func (w *lockedWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	time.Sleep(w.delay)
	w.mu.Lock()
	w.seqs = append(w.seqs, h.SequenceNumber)
	w.mu.Unlock()
	return len(payload), nil
}

func (w *lockedWriter) Write(b []byte) (int, error) { return len(b), nil }

func (w *lockedWriter) written() []uint16 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.seqs)
}

// TestDownTrackWriterOnlyWhileQueued: a slow subscriber's packets queue,
// the writer goroutine starts, writes them out in order and ends; close
// then has nothing to wait for, and no goroutine is left.
func TestDownTrackWriterOnlyWhileQueued(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	w := &lockedWriter{delay: 2 * slowWrite}
	keyframes := 0
	up := newVideoUpTrack()
	dt, _ := newBoundDownTrack(t, up, 16, w, &keyframes)
	dt.manual = false
	gen := up.layers[0].source.Add(1)
	var scratch rtp.Packet
	for seq := uint16(1); seq <= 6; seq++ {
		p := testPacket(seq, byte(seq))
		b, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		up.handle(b, 0, gen, &scratch) // the first is written inline, slowly; the rest queue
	}
	waitFor(t, 5*time.Second, "the queue written out", func() bool { return len(w.written()) == 6 })
	waitFor(t, 5*time.Second, "the writer to end", func() bool {
		dt.mu.Lock()
		defer dt.mu.Unlock()
		return !dt.draining
	})
	got := w.written()
	for i := 1; i < len(got); i++ {
		if got[i] != got[i-1]+1 {
			t.Fatalf("written out of order: %v", got)
		}
	}
	dt.close()
}

// TestKeyframeForwardedAndWanted: a subscriber's keyframe request (its
// PLI, a NACK that cannot be answered, a full queue) asks the publisher for
// a keyframe of the layer it waits to switch to and of the layer it decodes
// now: if the one wanted does not come (a publisher whose link just came
// back sends less than before), the picture is repaired on the one it has.
func TestKeyframeForwardedAndWanted(t *testing.T) {
	up := newUpTrack("pub", testVP8, webrtc.RTPCodecTypeVideo, "q", "h", "f")
	for _, l := range up.layers {
		l.keyframes = newKeyframeRequester(time.Second, realClock{}, func() {})
	}
	pending := func() (out []int) {
		for i, l := range up.layers {
			select {
			case <-l.keyframes.kick:
				out = append(out, i)
			default:
			}
		}
		return out
	}
	dt := newDownTrack(up, 4, &counters{})
	dt.mu.Lock()
	dt.cur = 1
	dt.mu.Unlock()
	dt.setTarget(2)
	dt.keyframe()
	if got := pending(); !slices.Equal(got, []int{1, 2}) {
		t.Errorf("switching from h to f: keyframes asked of layers %v, want [1 2]", got)
	}
	dt.mu.Lock()
	dt.cur = 2
	dt.mu.Unlock()
	dt.keyframe()
	if got := pending(); !slices.Equal(got, []int{2}) {
		t.Errorf("on f: keyframes asked of layers %v, want [2]", got)
	}
	dt.setTarget(-1) // video paused: nothing forwarded, nothing wanted
	dt.keyframe()
	if got := pending(); len(got) != 0 {
		t.Errorf("paused: keyframes asked of layers %v, want none", got)
	}
}
