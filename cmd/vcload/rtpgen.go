package main

import (
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
)

// Synthetic media shaped like a browser's: what matters to the media server is the
// packet rate, the packet sizes, the marker bits and the keyframe pattern, not
// whether the bytes decode.
const (
	opusClockRate    = 48000
	opusPacketTime   = 20 * time.Millisecond // 50 packets/s
	opusPayloadBytes = 100                   // ~40 kbit/s of payload
	// opusTOC is an Opus TOC byte (RFC 6716 §3.1): config 31 (CELT-only,
	// fullband, 20 ms), mono, one frame per packet.
	opusTOC = 31 << 3

	vp8ClockRate        = 90000
	vp8FrameRate        = 30
	vp8BitsPerSecond    = 1_500_000
	vp8MaxPayloadBytes  = 1100            // ~170 packets/s at 1.5 Mbit/s
	vp8KeyframeInterval = 2 * time.Second // and whenever a PLI asks for one
	vp8Width, vp8Height = 640, 480

	// maxLag is how far a source may fall behind its schedule (a starved sender
	// goroutine) before it skips what it missed instead of bursting it out, as a
	// browser's encoder drops frames when the machine is too busy.
	maxLag = 200 * time.Millisecond
)

// writeFunc sends one packet. The packet and its payload are only valid during
// the call (the generators reuse their buffers).
type writeFunc func(*rtp.Packet) error

// opusSource emits one audio packet every 20 ms, 960 ticks apart.
type opusSource struct {
	start time.Time
	n     int64 // index of the next packet
	seq   uint16
	ts    uint32
	// skipped counts packets not sent because the source fell behind by more
	// than maxLag.
	skipped int64
	buf     [opusPayloadBytes]byte
}

func newOpusSource(start time.Time, seq uint16, ts uint32) *opusSource {
	s := &opusSource{start: start, seq: seq, ts: ts}
	s.buf[0] = opusTOC
	for i := 1; i < len(s.buf); i++ {
		s.buf[i] = byte(i * 7)
	}
	return s
}

// next reports when the next packet is due.
func (s *opusSource) next() time.Time {
	return s.start.Add(time.Duration(s.n) * opusPacketTime)
}

// poll writes every packet due at or before now. A write error stops the poll
// and is returned; the packet counts as sent anyway (it is lost, as on a network).
func (s *opusSource) poll(now time.Time, write writeFunc) (packets int, err error) {
	if late := lateUnits(now.Sub(s.next()), opusPacketTime); late > 0 {
		s.n += late
		s.ts += uint32(late * opusClockRate * int64(opusPacketTime) / int64(time.Second))
		s.skipped += late
	}
	for !s.next().After(now) {
		p := rtp.Packet{
			Header: rtp.Header{
				Version:        2,
				SequenceNumber: s.seq,
				Timestamp:      s.ts,
			},
			Payload: s.buf[:],
		}
		s.n++
		s.seq++
		s.ts += uint32(opusClockRate * opusPacketTime / time.Second)
		packets++
		if err := write(&p); err != nil {
			return packets, err
		}
	}
	return packets, nil
}

// vp8Source emits 30 frames per second whose packets add up to 1.5 Mbit/s of
// payload. A frame is split into packets of at most vp8MaxPayloadBytes; the bytes
// a frame could not use carry over to the next, so frames alternate between five
// and six packets and the long-run rate is exact.
type vp8Source struct {
	start time.Time
	n     int64 // index of the next frame
	seq   uint16
	ts    uint32

	carry     int    // payload bytes owed from earlier frames
	pictureID uint16 // RFC 7741 §4.2, 15 bits
	skipped   int64  // frames not sent because the source fell behind by more than maxLag

	keyframeWanted atomic.Bool // set by a PLI, cleared when a keyframe goes out

	buf [vp8MaxPayloadBytes]byte
}

func newVP8Source(start time.Time, seq uint16, ts uint32, pictureID uint16) *vp8Source {
	s := &vp8Source{start: start, seq: seq, ts: ts, pictureID: pictureID & 0x7fff}
	for i := range s.buf {
		s.buf[i] = byte(i * 13)
	}
	return s
}

// requestKeyframe makes the next frame a keyframe. Safe to call from any goroutine.
func (s *vp8Source) requestKeyframe() { s.keyframeWanted.Store(true) }

// next reports when the next frame is due.
func (s *vp8Source) next() time.Time {
	return s.start.Add(time.Duration(s.n) * time.Second / vp8FrameRate)
}

// framesPerKeyframe is the regular keyframe period in frames.
const framesPerKeyframe = int64(vp8KeyframeInterval * vp8FrameRate / time.Second)

// poll writes every frame due at or before now, all packets of a frame at once
// (as a browser's encoder hands them to its pacer).
func (s *vp8Source) poll(now time.Time, write writeFunc) (packets int, err error) {
	if late := lateUnits(now.Sub(s.next()), time.Second/vp8FrameRate); late > 0 {
		s.n += late
		s.ts += uint32(late * vp8ClockRate / vp8FrameRate)
		s.skipped += late
		s.keyframeWanted.Store(true) // the receivers' decoders need one after a gap
	}
	for !s.next().After(now) {
		key := s.n%framesPerKeyframe == 0
		if s.keyframeWanted.Swap(false) {
			key = true
		}
		sizes := splitFrame(&s.carry)
		for i, size := range sizes {
			payload := s.buf[:size]
			writeVP8Headers(payload, s.pictureID, i == 0, key)
			p := rtp.Packet{
				Header: rtp.Header{
					Version:        2,
					Marker:         i == len(sizes)-1, // RFC 7741 §4.1: last packet of the frame
					SequenceNumber: s.seq,
					Timestamp:      s.ts,
				},
				Payload: payload,
			}
			s.seq++
			packets++
			if err = write(&p); err != nil {
				break
			}
		}
		s.n++
		s.ts += vp8ClockRate / vp8FrameRate
		s.pictureID = (s.pictureID + 1) & 0x7fff
		if err != nil {
			return packets, err
		}
	}
	return packets, nil
}

// lateUnits is how many packets or frames of the given period a source that is
// behind schedule by lag skips, so that it stays at most maxLag behind.
func lateUnits(lag, period time.Duration) int64 {
	if lag <= maxLag {
		return 0
	}
	return int64((lag - maxLag + period - 1) / period)
}

// frameBytes is the payload budget of one frame.
const frameBytes = vp8BitsPerSecond / 8 / vp8FrameRate // 6250

// splitFrame returns the payload sizes of the next frame's packets: the frame's
// budget plus what earlier frames owe, in whole packets of vp8MaxPayloadBytes
// (rounded to the nearest count, at least one), the remainder carried over.
func splitFrame(carry *int) []int {
	budget := frameBytes + *carry
	n := (budget + vp8MaxPayloadBytes/2) / vp8MaxPayloadBytes
	if n < 1 {
		n = 1
	}
	*carry = budget - n*vp8MaxPayloadBytes
	sizes := make([]int, n)
	for i := range sizes {
		sizes[i] = vp8MaxPayloadBytes
	}
	return sizes
}

// vp8DescriptorLen is the length of the payload descriptor writeVP8Headers writes.
const vp8DescriptorLen = 4

// writeVP8Headers writes, at the start of payload, the VP8 payload descriptor
// (RFC 7741 §4.2) with a 15-bit PictureID and, on the first packet of a frame, the
// VP8 payload header (RFC 7741 §4.3; RFC 6386 §9.1 frame tag), with the keyframe
// start code and dimensions on keyframes. payload must hold at least 14 bytes.
func writeVP8Headers(payload []byte, pictureID uint16, first, key bool) {
	// X=1 (extensions follow), N=0, S=start of partition, PartID=0.
	payload[0] = 0x80
	if first {
		payload[0] |= 0x10
	}
	payload[1] = 0x80                           // I=1: PictureID present
	payload[2] = 0x80 | byte(pictureID>>8)&0x7f // M=1: 15-bit PictureID
	payload[3] = byte(pictureID)
	if !first {
		return
	}
	h := payload[vp8DescriptorLen:]
	// Frame tag: P (inverse keyframe flag) in bit 0, version 0, show_frame=1 in
	// bit 4, and a first-partition size in the upper 19 bits.
	const partitionSize = 200
	tag := uint32(partitionSize)<<5 | 1<<4
	if !key {
		tag |= 1
	}
	h[0], h[1], h[2] = byte(tag), byte(tag>>8), byte(tag>>16)
	if !key {
		return
	}
	// RFC 6386 §9.1: start code, then 14-bit width and height (scale 0), little endian.
	h[3], h[4], h[5] = 0x9d, 0x01, 0x2a
	h[6], h[7] = vp8Width&0xff, vp8Width>>8
	h[8], h[9] = vp8Height&0xff, vp8Height>>8
}

// isVP8Keyframe reports whether payload is the first packet of a VP8 keyframe:
// what a receiver checks before it decodes.
func isVP8Keyframe(payload []byte) bool {
	if len(payload) < 1 {
		return false
	}
	n := 1
	if payload[0]&0x80 != 0 { // X
		if len(payload) < 2 {
			return false
		}
		x := payload[1]
		n++
		if x&0x80 != 0 { // I
			if len(payload) <= n {
				return false
			}
			if payload[n]&0x80 != 0 { // M: 15-bit PictureID
				n++
			}
			n++
		}
		if x&0x40 != 0 { // L: TL0PICIDX
			n++
		}
		if x&0x30 != 0 { // T or K: TID/Y/KEYIDX
			n++
		}
	}
	start := payload[0]&0x10 != 0 && payload[0]&0x07 == 0
	return start && len(payload) > n+9 && payload[n]&0x01 == 0 &&
		payload[n+3] == 0x9d && payload[n+4] == 0x01 && payload[n+5] == 0x2a
}
