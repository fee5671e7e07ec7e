package sfu

import (
	"sync"
)

// history keeps the last packets a publisher sent on one video track, once
// for all of the track's subscribers, so that a subscriber's NACK (RFC 4585
// §6.2.1) is answered from it: one copy of each packet however many
// subscribers the track has, where a NACK responder per outgoing stream
// keeps one copy per subscriber. A packet is found by the publisher's SSRC
// and sequence number; a slot's buffer is made when first used.
type history struct {
	mu    sync.RWMutex // guards slots
	slots []histSlot
	mask  uint16
}

type histSlot struct {
	ssrc   uint32
	seq    uint16
	valid  bool
	marker bool
	size   int
	buf    []byte
}

// newHistory keeps size packets, a power of two.
func newHistory(size int) *history {
	return &history{slots: make([]histSlot, size), mask: uint16(size - 1)}
}

// put keeps a packet. Only the track's reader calls it.
func (h *history) put(ssrc uint32, seq uint16, marker bool, payload []byte) {
	h.mu.Lock()
	s := &h.slots[seq&h.mask]
	if s.buf == nil {
		s.buf = make([]byte, receiveMTU)
	}
	s.ssrc, s.seq, s.valid, s.marker = ssrc, seq, true, marker
	s.size = copy(s.buf, payload)
	h.mu.Unlock()
}

// get copies the packet ssrc/seq into dst and answers its size and marker,
// or false when it is no longer kept.
func (h *history) get(ssrc uint32, seq uint16, dst []byte) (int, bool, bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	s := &h.slots[seq&h.mask]
	if !s.valid || s.ssrc != ssrc || s.seq != seq {
		return 0, false, false
	}
	return copy(dst, s.buf[:s.size]), s.marker, true
}

// sentMap remembers, for the last packets one subscriber was sent, which
// publisher packet each sequence number carried and the timestamp it was
// given: what a NACK names in the subscriber's numbering is found in the
// track's history, and resent as it was sent.
type sentMap struct {
	slots []sentSlot
	mask  uint16
}

type sentSlot struct {
	down, up uint16
	ssrc     uint32 // the publisher's
	ts       uint32 // as rewritten for this subscriber
	layer    uint8  // the simulcast layer it came on
	tl0      uint8  // the VP8 TL0PICIDX shift it was sent with (vp8.go)
	pic      uint16 // and the picture ID shift
	padding  bool   // a padding packet (downTrack.padAfter)
	valid    bool
}

func newSentMap(size int) sentMap {
	return sentMap{slots: make([]sentSlot, size), mask: uint16(size - 1)}
}

func (m *sentMap) put(s sentSlot) {
	s.valid = true
	m.slots[s.down&m.mask] = s
}

func (m *sentMap) get(down uint16) (sentSlot, bool) {
	s := m.slots[down&m.mask]
	return s, s.valid && s.down == down
}
