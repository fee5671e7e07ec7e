package mediaio

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
)

// path simulates the way from the SFU to a subscriber for the estimator: a
// base delay, a capacity (a queue in front of it, never full), loss, and
// transport-cc feedback every 100 ms of what arrived, as a browser sends.
type path struct {
	t        *testing.T
	e        *SendEstimator
	capacity float64 // bits/s
	delay    int64   // µs
	lossEach int     // every lossEach-th packet is lost (0: none)

	seq      uint16
	clock    int64 // µs since the estimator's epoch
	lastArr  int64
	pending  []arrival
	fbCount  uint8
	lastFeed int64
}

type arrival struct {
	seq  uint16
	at   int64 // µs; -1: lost
	size int
}

// run sends packets of size bytes at rate bits/s for d, feeding back every
// 100 ms.
func (p *path) run(rate float64, size int, d time.Duration) {
	gap := int64(float64(size*8) / rate * 1e6)
	end := p.clock + d.Microseconds()
	for p.clock < end {
		p.e.sent[p.seq%sentRing].Store(packSent(p.seq, size, p.clock))
		a := arrival{seq: p.seq, size: size, at: -1}
		if p.lossEach == 0 || int(p.seq)%p.lossEach != 0 {
			a.at = max(p.clock+p.delay, p.lastArr+int64(float64(size*8)/p.capacity*1e6))
			p.lastArr = a.at
		}
		p.pending = append(p.pending, a)
		p.seq++
		p.clock += gap
		if p.clock-p.lastFeed >= 100_000 {
			p.feedback()
			p.lastFeed = p.clock
		}
	}
}

// feedback reports the packets that have arrived by now (and the lost ones
// among them), in order.
func (p *path) feedback() {
	n := 0
	for n < len(p.pending) && p.pending[n].at <= p.clock {
		n++
	}
	if n == 0 {
		return
	}
	batch := p.pending[:n]
	p.pending = p.pending[n:]
	fb := &rtcp.TransportLayerCC{
		Header:             rtcp.Header{Padding: false, Count: rtcp.FormatTCC, Type: rtcp.TypeTransportSpecificFeedback},
		BaseSequenceNumber: batch[0].seq,
		PacketStatusCount:  uint16(len(batch)),
		FbPktCount:         p.fbCount,
	}
	p.fbCount++
	first := int64(-1)
	for _, a := range batch {
		if a.at >= 0 {
			first = a.at
			break
		}
	}
	if first < 0 {
		first = p.clock
	}
	fb.ReferenceTime = uint32(first / 64000)
	prev := int64(fb.ReferenceTime) * 64000 / 250 // in 250 µs units
	var syms []uint16
	for _, a := range batch {
		if a.at < 0 {
			syms = append(syms, rtcp.TypeTCCPacketNotReceived)
			continue
		}
		q := a.at / 250
		d := q - prev
		prev = q
		typ := uint16(rtcp.TypeTCCPacketReceivedSmallDelta)
		if d < 0 || d > 255 {
			typ = rtcp.TypeTCCPacketReceivedLargeDelta
		}
		syms = append(syms, typ)
		fb.RecvDeltas = append(fb.RecvDeltas, &rtcp.RecvDelta{Type: typ, Delta: d * 250})
	}
	for len(syms) > 0 {
		k := min(7, len(syms))
		fb.PacketChunks = append(fb.PacketChunks, &rtcp.StatusVectorChunk{
			Type: rtcp.TypeTCCStatusVectorChunk, SymbolSize: rtcp.TypeTCCSymbolSizeTwoBit, SymbolList: append([]uint16(nil), syms[:k]...)})
		syms = syms[k:]
	}
	b, err := fb.Marshal()
	if err != nil {
		p.t.Fatalf("marshal feedback: %v", err)
	}
	if !p.e.FeedbackRaw(b, p.e.epoch.Add(time.Duration(p.clock)*time.Microsecond)) {
		p.t.Fatalf("a well-formed feedback was refused")
	}
}

func newPath(t *testing.T, capacity float64) *path {
	return &path{t: t, e: NewSendEstimator(), capacity: capacity, delay: 20_000, clock: 1_000_000}
}

// TestSendEstimatorCleanPath: on a path with room to spare the estimate
// grows, 8 % a second, up to 1.5 times what the peer acknowledges, and no
// overuse is seen.
func TestSendEstimatorCleanPath(t *testing.T) {
	p := newPath(t, 10e6)
	p.run(1e6, 1200, 10*time.Second)
	st := p.e.Status()
	t.Logf("after 10 s at 1 Mbit/s on a 10 Mbit/s path: estimate %d, acknowledged %d", st.Estimate, st.Acked)
	if st.Overuses != 0 || !st.LastDecrease.IsZero() {
		t.Errorf("overuse on a clean path: %+v", st)
	}
	// The cap is 1.5 x what was acknowledged when it last grew, which
	// moves a little from one feedback to the next.
	if st.Estimate < 1_300_000 || float64(st.Estimate) > 1.6*float64(st.Acked) {
		t.Errorf("estimate %d, want grown from %d to near 1.5 x the acknowledged %d", st.Estimate, SendEstimateStart, st.Acked)
	}
}

// TestSendEstimatorCongestedPath: 600 kbit/s into a 300 kbit/s path, the
// queue growing: overuse is seen within a second and the estimate falls
// under the path's capacity.
func TestSendEstimatorCongestedPath(t *testing.T) {
	p := newPath(t, 300_000)
	p.run(600_000, 1200, time.Second)
	st := p.e.Status()
	t.Logf("after 1 s at 600 kbit/s into 300 kbit/s: estimate %d, acknowledged %d, overuses %d", st.Estimate, st.Acked, st.Overuses)
	if st.Overuses == 0 || st.LastDecrease.IsZero() {
		t.Fatalf("no overuse within 1 s of a queue growing by 300 kbit/s: %+v", st)
	}
	if st.Estimate > 300_000 {
		t.Errorf("estimate %d, want at most the path's 300 kbit/s", st.Estimate)
	}
	// Raise lifts the estimate for a try; the congestion brings it down.
	p.e.Raise(2_000_000)
	if got := p.e.Estimate(); got != 2_000_000 {
		t.Fatalf("after Raise(2M): %d", got)
	}
	p.run(600_000, 1200, 2*time.Second)
	if got := p.e.Estimate(); got > 300_000 {
		t.Errorf("2 s after a raise into the same congestion: estimate %d, want at most 300 kbit/s", got)
	}
}

// TestSendEstimatorLoss: a fifth of the packets lost on a path with room
// (no queue): the loss-based estimate cuts the rate (draft §6).
func TestSendEstimatorLoss(t *testing.T) {
	p := newPath(t, 10e6)
	p.lossEach = 5
	p.run(500_000, 1200, 3*time.Second)
	st := p.e.Status()
	t.Logf("20 %% loss, 3 s: estimate %d", st.Estimate)
	if st.Estimate >= SendEstimateStart*0.8 {
		t.Errorf("estimate %d after 3 s of 20 %% loss, want well under the start %d", st.Estimate, SendEstimateStart)
	}
}

// TestSendEstimatorFeedbackOnce: the same feedback delivered twice (pion
// hands a compound packet to every stream it names) counts once; a
// malformed one is refused.
func TestSendEstimatorFeedbackOnce(t *testing.T) {
	e := NewSendEstimator()
	for seq := range uint16(10) {
		e.sent[seq].Store(packSent(seq, 1000, int64(seq)*1000+1_000_000))
	}
	fb := &rtcp.TransportLayerCC{
		Header:             rtcp.Header{Count: rtcp.FormatTCC, Type: rtcp.TypeTransportSpecificFeedback},
		BaseSequenceNumber: 0, PacketStatusCount: 10, ReferenceTime: 16, FbPktCount: 3,
		PacketChunks: []rtcp.PacketStatusChunk{&rtcp.RunLengthChunk{Type: rtcp.TypeTCCRunLengthChunk, PacketStatusSymbol: rtcp.TypeTCCPacketReceivedSmallDelta, RunLength: 10}},
	}
	for range 10 {
		fb.RecvDeltas = append(fb.RecvDeltas, &rtcp.RecvDelta{Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 1000})
	}
	b, err := fb.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	now := e.epoch.Add(1100 * time.Millisecond)
	e.FeedbackRaw(b, now)
	got := e.got
	e.FeedbackRaw(b, now)
	if e.got != got || got != 10 {
		t.Errorf("packets counted: %d after once, %d after twice; want 10 and 10", got, e.got)
	}
	if e.FeedbackRaw(b[:22], now) {
		t.Error("a truncated feedback was taken as well-formed")
	}
	if e.FeedbackRaw(b[:10], now) {
		t.Error("a feedback shorter than its header was taken")
	}
}

// FuzzSendEstimatorFeedback: whatever a peer sends as transport-cc feedback
// is read without a panic, and a packet that claims more than it holds is
// refused.
func FuzzSendEstimatorFeedback(f *testing.F) {
	fb := &rtcp.TransportLayerCC{
		Header:             rtcp.Header{Count: rtcp.FormatTCC, Type: rtcp.TypeTransportSpecificFeedback},
		BaseSequenceNumber: 65530, PacketStatusCount: 9, ReferenceTime: 1 << 23, FbPktCount: 255,
		PacketChunks: []rtcp.PacketStatusChunk{
			&rtcp.StatusVectorChunk{Type: rtcp.TypeTCCStatusVectorChunk, SymbolSize: rtcp.TypeTCCSymbolSizeTwoBit,
				SymbolList: []uint16{1, 2, 0, 1, 0, 2, 1}},
			&rtcp.RunLengthChunk{Type: rtcp.TypeTCCRunLengthChunk, PacketStatusSymbol: 1, RunLength: 2},
		},
		RecvDeltas: []*rtcp.RecvDelta{{Type: 1, Delta: 250}, {Type: 2, Delta: -1000}, {Type: 1, Delta: 0},
			{Type: 2, Delta: 70000}, {Type: 1, Delta: 500}, {Type: 1, Delta: 250}, {Type: 1, Delta: 250}},
	}
	b, err := fb.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add(b[:20])
	f.Add([]byte{0x8f, 205, 0, 4, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0xff, 0xff, 0, 0, 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		e := NewSendEstimator()
		for seq := range uint16(64) {
			e.sent[seq%sentRing].Store(packSent(65500+seq, 1200, int64(seq)*5000))
		}
		e.FeedbackRaw(b, e.epoch.Add(time.Second))
		if est := e.Estimate(); est < SendEstimateMin || est > SendEstimateMax {
			t.Fatalf("estimate %d out of bounds", est)
		}
	})
}
