package sfu

import "time"

// rewriter maps the sequence numbers and timestamps of the packets one
// published track receives onto the single, continuous line that one
// subscriber sees (RFC 3550 §5.1: a receiver treats a sequence number jump as
// loss and a timestamp jump as a timing change, and an SSRC change as a new
// source; so none of the publisher's restarts may show through).
//
// For one source the mapping is a fixed offset, so gaps (loss upstream) and
// reordering pass through unchanged and a NACKed retransmission keeps its
// place. When the source changes (a new SSRC after a publisher restart) the
// offsets are recomputed so that the new source's first packet follows the
// last one sent: sequence number plus one, and a timestamp advanced by the
// wall-clock time between them.
//
// A rewriter is not safe for concurrent use; downTrack guards it.
type rewriter struct {
	clockRate uint32 // RTP timestamp units per second

	started   bool
	srcSSRC   uint32 // the source being mapped
	seqOffset uint16 // output = input + seqOffset (mod 2^16)
	tsOffset  uint32 // output = input + tsOffset (mod 2^32)
	highestIn uint16 // highest input sequence number of this source
	span      uint16 // highestIn - the source's first sequence number, at most maxSpan

	// After padding (pad): packets of the source up to a pad's boundary,
	// which may still arrive late, keep the offset they had before it.
	// The last maxPads pads are kept, oldest first.
	pads []padMark

	// The packet with the highest sequence number sent so far.
	lastSeq uint16        // output sequence number
	lastTS  uint32        // output timestamp
	lastAt  time.Duration // when it was mapped (monotonic, from the caller)
}

// newRewriter returns a rewriter whose first output packet will carry seq and
// ts. RFC 3550 §5.1 asks for random initial values; the caller picks them.
func newRewriter(clockRate, ts uint32, seq uint16) *rewriter {
	return &rewriter{clockRate: clockRate, lastSeq: seq - 1, lastTS: ts}
}

// maxSpan bounds how far back a late packet may be and still be forwarded.
// Half the sequence number space: any further back and "older" and "newer"
// can no longer be told apart.
const maxSpan = 1 << 15

// rewrite maps one packet. now is its monotonic arrival time. ok is false for
// a packet that must be dropped: a late packet of the current source that is
// older than the source's first packet, whose output number would collide
// with one already sent for the previous source.
func (r *rewriter) rewrite(ssrc uint32, seq uint16, ts uint32, now time.Duration) (outSeq uint16, outTS uint32, ok bool) {
	newest := false // the packet is the source's newest: the line goes on from it
	switch d := int16(seq - r.highestIn); {
	case !r.started || ssrc != r.srcSSRC:
		r.switchTo(ssrc, seq, ts, now)
		newest = true
	case d > 0:
		r.span = min(r.span+uint16(d), maxSpan)
		r.highestIn = seq
		newest = true
	case r.highestIn-seq > r.span:
		return 0, 0, false
	}
	outSeq = seq + r.seqOffset
	for _, m := range r.pads {
		if int16(seq-m.boundary) <= 0 {
			outSeq = seq + m.offset // sent before that padding: its number then
			break
		}
	}
	outTS = ts + r.tsOffset
	if newest {
		r.lastSeq, r.lastTS, r.lastAt = outSeq, outTS, now
	}
	return outSeq, outTS, true
}

// padMark is one padding: the source's highest sequence number before it
// and the offset packets up to there had.
type padMark struct {
	boundary, offset uint16
}

// maxPads bounds the paddings remembered: a packet later than that many
// frames (padding follows a frame) is far past any use.
const maxPads = 16

// switchTo starts mapping a new source whose first packet is (seq, ts).
func (r *rewriter) switchTo(ssrc uint32, seq uint16, ts uint32, now time.Duration) {
	var step uint32 // timestamp units between the last packet sent and this one
	if r.started {
		step = 1
		if elapsed := now - r.lastAt; elapsed > 0 {
			if units := uint64(elapsed) * uint64(r.clockRate) / uint64(time.Second); units > 1 {
				step = uint32(units)
			}
		}
	}
	r.started = true
	r.pads = r.pads[:0]
	r.srcSSRC = ssrc
	r.highestIn = seq
	r.span = 0
	r.seqOffset = r.lastSeq + 1 - seq
	r.tsOffset = r.lastTS + step - ts
}

// pad takes n sequence numbers for padding packets right after the last
// packet sent, and returns the first and the timestamp they carry (the last
// packet's: RFC 3550 §5.1 lets padding repeat it). The source's later
// packets are numbered after them; a late one from before keeps its number.
// false if nothing has been sent yet.
func (r *rewriter) pad(n uint16) (first uint16, ts uint32, ok bool) {
	if !r.started {
		return 0, 0, false
	}
	if n := len(r.pads); n == 0 || r.pads[n-1].boundary != r.highestIn {
		if n == maxPads {
			r.pads = append(r.pads[:0], r.pads[1:]...)
		}
		r.pads = append(r.pads, padMark{boundary: r.highestIn, offset: r.seqOffset})
	}
	first = r.lastSeq + 1
	r.seqOffset += n
	r.lastSeq += n
	return first, r.lastTS, true
}
