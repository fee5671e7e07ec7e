package sfu

import (
	"testing"
	"time"
)

func TestRewriter(t *testing.T) {
	const (
		a, b    = uint32(0xaaaa), uint32(0xbbbb)
		seq0    = uint16(1000)
		ts0     = uint32(5000)
		video   = 90000
		frameTS = 3000 // 30 fps at 90 kHz
	)
	ms := time.Millisecond
	type step struct {
		ssrc    uint32
		seq     uint16
		ts      uint32
		at      time.Duration
		wantSeq uint16
		wantTS  uint32
		wantOK  bool
	}
	tests := []struct {
		name  string
		seq0  uint16
		ts0   uint32
		steps []step
	}{
		{
			name: "in order",
			seq0: seq0, ts0: ts0,
			steps: []step{
				{a, 10, 100, 0, 1000, 5000, true},
				{a, 11, 100, 0, 1001, 5000, true},
				{a, 12, 100 + frameTS, 33 * ms, 1002, 5000 + frameTS, true},
			},
		},
		{
			name: "gap passes through as loss",
			seq0: seq0, ts0: ts0,
			steps: []step{
				{a, 10, 100, 0, 1000, 5000, true},
				{a, 13, 200, 0, 1003, 5100, true},
			},
		},
		{
			name: "out of order keeps its place",
			seq0: seq0, ts0: ts0,
			steps: []step{
				{a, 10, 100, 0, 1000, 5000, true},
				{a, 12, 300, 0, 1002, 5200, true},
				{a, 11, 200, 0, 1001, 5100, true},
				{a, 13, 400, 0, 1003, 5300, true},
			},
		},
		{
			name: "duplicate maps to the same number",
			seq0: seq0, ts0: ts0,
			steps: []step{
				{a, 10, 100, 0, 1000, 5000, true},
				{a, 10, 100, 0, 1000, 5000, true},
			},
		},
		{
			name: "input wraps around",
			seq0: seq0, ts0: ts0,
			steps: []step{
				{a, 65534, 4294967000, 0, 1000, 5000, true},
				{a, 65535, 4294967000, 0, 1001, 5000, true},
				{a, 0, 2704, 33 * ms, 1002, 5000 + frameTS, true}, // ts wraps too: 4294967000+3000 mod 2^32
				{a, 1, 2704, 33 * ms, 1003, 5000 + frameTS, true},
				{a, 65535, 4294967000, 33 * ms, 1001, 5000, true}, // late, across the wrap
			},
		},
		{
			name: "output wraps around",
			seq0: 65535, ts0: 4294967295,
			steps: []step{
				{a, 10, 0, 0, 65535, 4294967295, true},
				{a, 11, frameTS, 33 * ms, 0, frameTS - 1, true},
				{a, 12, 2 * frameTS, 66 * ms, 1, 2*frameTS - 1, true},
			},
		},
		{
			name: "late packet from before the source's first is dropped",
			seq0: seq0, ts0: ts0,
			steps: []step{
				{a, 100, 100, 0, 1000, 5000, true},
				{a, 99, 100, 0, 0, 0, false},
				{a, 101, 100, 0, 1001, 5000, true},
				{a, 99, 100, 0, 0, 0, false},
			},
		},
		{
			name: "source switch continues seq+1 and advances ts by the time elapsed",
			seq0: seq0, ts0: ts0,
			steps: []step{
				{a, 10, 100, 0, 1000, 5000, true},
				{a, 11, 100 + frameTS, 33 * ms, 1001, 5000 + frameTS, true},
				// New SSRC 500 ms after the last packet: 45000 ticks later.
				{b, 40000, 777777, 533 * ms, 1002, 5000 + frameTS + 45000, true},
				{b, 40001, 777777 + frameTS, 566 * ms, 1003, 5000 + 2*frameTS + 45000, true},
				// Late packet of the new source from before its first.
				{b, 39999, 777777 - frameTS, 566 * ms, 0, 0, false},
			},
		},
		{
			name: "source switch with no time elapsed still advances ts",
			seq0: seq0, ts0: ts0,
			steps: []step{
				{a, 10, 100, 7 * ms, 1000, 5000, true},
				{b, 3, 9, 7 * ms, 1001, 5001, true},
			},
		},
		{
			name: "switch back to an earlier source is a switch too",
			seq0: seq0, ts0: ts0,
			steps: []step{
				{a, 10, 100, 0, 1000, 5000, true},
				{b, 500, 100, 0, 1001, 5001, true},
				{b, 501, 100, 0, 1002, 5001, true},
				{a, 11, 100, 0, 1003, 5002, true},
			},
		},
		{
			name: "late packets are kept once the source has run long",
			seq0: seq0, ts0: ts0,
			steps: []step{
				{a, 0, 0, 0, 1000, 5000, true},
				{a, 20000, 0, 0, 21000, 5000, true},
				{a, 40000, 0, 0, 41000, 5000, true},
				{a, 39990, 0, 0, 40990, 5000, true},
				{a, 60000, 0, 0, 61000, 5000, true},
				{a, 14464, 0, 0, 15464, 5000, true}, // 80000 mod 2^16
				{a, 14400, 0, 0, 15400, 5000, true},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRewriter(video, tt.ts0, tt.seq0)
			for i, s := range tt.steps {
				gotSeq, gotTS, gotOK := r.rewrite(s.ssrc, s.seq, s.ts, s.at)
				if gotOK != s.wantOK {
					t.Fatalf("step %d: rewrite(%#x, %d, %d) ok = %v, want %v", i, s.ssrc, s.seq, s.ts, gotOK, s.wantOK)
				}
				if !gotOK {
					continue
				}
				if gotSeq != s.wantSeq || gotTS != s.wantTS {
					t.Errorf("step %d: rewrite(%#x, %d, %d) = seq %d ts %d, want seq %d ts %d",
						i, s.ssrc, s.seq, s.ts, gotSeq, gotTS, s.wantSeq, s.wantTS)
				}
			}
		})
	}
}

// TestRewriterPad: padding takes the numbers right after the last packet
// sent, with its timestamp; the source's next packet follows the padding,
// and a late packet from before keeps the number it had.
func TestRewriterPad(t *testing.T) {
	r := newRewriter(90000, 1000, 500)
	if _, _, ok := r.pad(3); ok {
		t.Fatal("padding before anything was sent")
	}
	var outs []uint16
	for _, seq := range []uint16{10, 11, 13} { // 12 is late
		s, _, ok := r.rewrite(7, seq, 9000, 0)
		if !ok {
			t.Fatal("rewrite")
		}
		outs = append(outs, s)
	}
	first, ts, ok := r.pad(3)
	if !ok || first != outs[2]+1 || ts != 1000 {
		t.Fatalf("pad(3) = %d, ts %d, %v; want %d, ts 1000", first, ts, ok, outs[2]+1)
	}
	next, _, _ := r.rewrite(7, 14, 12000, 0)
	if next != first+3 {
		t.Errorf("the packet after the padding is %d, want %d", next, first+3)
	}
	late, _, ok := r.rewrite(7, 12, 9000, 0)
	if !ok || late != outs[0]+2 {
		t.Errorf("the late packet is %d (%v), want %d, its place before the padding", late, ok, outs[0]+2)
	}
}

// padStep is one step of a subscriber's stream through a rewriter: a packet
// of the source, or padding.
type padStep struct {
	pad     uint16 // > 0: pad(pad), not a packet
	ssrc    uint32
	seq     uint16
	ts      uint32
	at      time.Duration
	wantSeq uint16 // for pad: the first padding number
	wantTS  uint32
	wantOK  bool
}

func pkt(ssrc uint32, seq uint16, ts uint32, at time.Duration, wantSeq uint16, wantTS uint32) padStep {
	return padStep{ssrc: ssrc, seq: seq, ts: ts, at: at, wantSeq: wantSeq, wantTS: wantTS, wantOK: true}
}

// dropped is a packet the rewriter must refuse.
func dropped(ssrc uint32, seq uint16, ts uint32, at time.Duration) padStep {
	return padStep{ssrc: ssrc, seq: seq, ts: ts, at: at}
}

func padding(n, wantFirst uint16, wantTS uint32) padStep {
	return padStep{pad: n, wantSeq: wantFirst, wantTS: wantTS, wantOK: true}
}

// runPadSteps plays steps through a new rewriter whose first packet is
// numbered seq0 with timestamp ts0.
func runPadSteps(t *testing.T, seq0 uint16, ts0 uint32, steps []padStep) {
	t.Helper()
	r := newRewriter(90000, ts0, seq0)
	for i, s := range steps {
		if s.pad > 0 {
			first, ts, ok := r.pad(s.pad)
			if !ok || first != s.wantSeq || ts != s.wantTS {
				t.Fatalf("step %d: pad(%d) = %d, ts %d, %v; want %d, ts %d, true", i, s.pad, first, ts, ok, s.wantSeq, s.wantTS)
			}
			continue
		}
		gotSeq, gotTS, gotOK := r.rewrite(s.ssrc, s.seq, s.ts, s.at)
		if gotOK != s.wantOK {
			t.Fatalf("step %d: rewrite(%#x, %d, %d) ok = %v, want %v", i, s.ssrc, s.seq, s.ts, gotOK, s.wantOK)
		}
		if gotOK && (gotSeq != s.wantSeq || gotTS != s.wantTS) {
			t.Errorf("step %d: rewrite(%#x, %d, %d) = seq %d ts %d, want seq %d ts %d",
				i, s.ssrc, s.seq, s.ts, gotSeq, gotTS, s.wantSeq, s.wantTS)
		}
	}
}

// TestRewriterPadSteps follows a subscriber's sequence numbers through
// padding (pad) and media: padding takes the numbers right after the last
// packet sent and repeats its timestamp; the source's later packets follow
// the padding; a late packet keeps the number it would have had, whether
// it is from before the padding or after; a new source follows the last
// number used, padding included. Padding before anything was sent is
// refused.
func TestRewriterPadSteps(t *testing.T) {
	const a, b = uint32(0xaaaa), uint32(0xbbbb)
	ms := time.Millisecond
	if _, _, ok := newRewriter(90000, 5000, 1000).pad(1); ok {
		t.Error("pad(1) before any packet: ok, want refused")
	}
	tests := []struct {
		name  string
		seq0  uint16
		ts0   uint32
		steps []padStep
	}{
		{
			name: "padding between frames",
			seq0: 1000, ts0: 5000,
			steps: []padStep{
				pkt(a, 10, 100, 0, 1000, 5000),
				pkt(a, 11, 100, 0, 1001, 5000),
				padding(3, 1002, 5000), // 1002, 1003, 1004
				pkt(a, 12, 3100, 33*ms, 1005, 8000),
				pkt(a, 13, 3100, 33*ms, 1006, 8000),
			},
		},
		{
			name: "the timestamp is the highest packet's, not a late one's",
			seq0: 1000, ts0: 5000,
			steps: []padStep{
				pkt(a, 10, 100, 0, 1000, 5000),
				pkt(a, 12, 3100, 33*ms, 1002, 8000),
				pkt(a, 11, 100, 40*ms, 1001, 5000), // late
				padding(2, 1003, 8000),
				pkt(a, 13, 6100, 66*ms, 1005, 11000),
			},
		},
		{
			name: "late packets from before the padding keep their numbers",
			seq0: 1000, ts0: 5000,
			steps: []padStep{
				pkt(a, 10, 100, 0, 1000, 5000),
				pkt(a, 13, 100, 0, 1003, 5000), // 11 and 12 late
				padding(3, 1004, 5000),
				pkt(a, 12, 100, 5*ms, 1002, 5000),
				pkt(a, 14, 3100, 33*ms, 1007, 8000),
				pkt(a, 11, 100, 40*ms, 1001, 5000),
				pkt(a, 14, 3100, 40*ms, 1007, 8000), // a duplicate
			},
		},
		{
			name: "padding twice in a row",
			seq0: 1000, ts0: 5000,
			steps: []padStep{
				pkt(a, 10, 100, 0, 1000, 5000),
				pkt(a, 12, 100, 0, 1002, 5000), // 11 late
				padding(2, 1003, 5000),
				padding(3, 1005, 5000),
				pkt(a, 13, 3100, 33*ms, 1008, 8000),
				pkt(a, 11, 100, 40*ms, 1001, 5000),
			},
		},
		{
			name: "a late packet between two paddings",
			seq0: 1000, ts0: 5000,
			steps: []padStep{
				pkt(a, 10, 100, 0, 1000, 5000),
				padding(2, 1001, 5000), // 1001, 1002
				pkt(a, 11, 3100, 33*ms, 1003, 8000),
				pkt(a, 13, 3100, 33*ms, 1005, 8000), // 12 late
				padding(2, 1006, 8000),              // 1006, 1007
				pkt(a, 12, 3100, 40*ms, 1004, 8000),
				pkt(a, 14, 6100, 66*ms, 1008, 11000),
			},
		},
		{
			name: "padding across the wrap of the numbers sent",
			seq0: 65534, ts0: 5000,
			steps: []padStep{
				pkt(a, 10, 100, 0, 65534, 5000),
				padding(3, 65535, 5000), // 65535, 0, 1
				pkt(a, 11, 3100, 33*ms, 2, 8000),
			},
		},
		{
			name: "padding across the wrap of the source's numbers",
			seq0: 1000, ts0: 5000,
			steps: []padStep{
				pkt(a, 65534, 100, 0, 1000, 5000),
				pkt(a, 0, 100, 0, 1002, 5000), // 65535 late
				padding(2, 1003, 5000),
				pkt(a, 1, 3100, 33*ms, 1005, 8000),
				pkt(a, 65535, 100, 40*ms, 1001, 5000),
			},
		},
		{
			name: "a new source follows the padding",
			seq0: 1000, ts0: 5000,
			steps: []padStep{
				pkt(a, 10, 100, 0, 1000, 5000),
				padding(4, 1001, 5000), // 1001 to 1004
				// 100 ms later: 9000 ticks.
				pkt(b, 700, 77, 100*ms, 1005, 14000),
				pkt(b, 701, 77, 100*ms, 1006, 14000),
				dropped(b, 699, 77, 100*ms), // from before the new source's first
				padding(1, 1007, 14000),
				pkt(b, 702, 3077, 133*ms, 1008, 17000),
			},
		},
		{
			name: "a packet of the old source after padding is a switch too",
			seq0: 1000, ts0: 5000,
			steps: []padStep{
				pkt(a, 10, 100, 0, 1000, 5000),
				pkt(b, 500, 100, 0, 1001, 5001),
				padding(2, 1002, 5001),
				pkt(a, 9, 100, 0, 1004, 5002),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runPadSteps(t, tt.seq0, tt.ts0, tt.steps)
		})
	}
}

// TestRewriterPadRepeated: while probing, padding follows every frame, so
// a packet that comes late (a retransmission from the publisher, a
// duplicate) may come after more than one padding; it must keep the number
// it would have had, and later padding must take new numbers.
func TestRewriterPadRepeated(t *testing.T) {
	const a = uint32(0xaaaa)
	ms := time.Millisecond
	t.Run("a late packet from before two paddings", func(t *testing.T) {
		runPadSteps(t, 1000, 5000, []padStep{
			pkt(a, 10, 100, 0, 1000, 5000),
			pkt(a, 12, 100, 0, 1002, 5000), // 11 late
			padding(2, 1003, 5000),         // 1003, 1004
			pkt(a, 13, 3100, 33*ms, 1005, 8000),
			padding(2, 1006, 8000), // 1006, 1007
			pkt(a, 11, 100, 70*ms, 1001, 5000),
		})
	})
	t.Run("a duplicate of the last packet between paddings", func(t *testing.T) {
		runPadSteps(t, 1000, 5000, []padStep{
			pkt(a, 10, 100, 0, 1000, 5000),
			padding(2, 1001, 5000), // 1001, 1002
			pkt(a, 10, 100, 5*ms, 1000, 5000),
			padding(1, 1003, 5000),
			pkt(a, 11, 3100, 33*ms, 1004, 8000),
		})
	})
}
