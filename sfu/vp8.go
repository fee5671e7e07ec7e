package sfu

// This file reads and rewrites the VP8 payload descriptor (RFC 7741 §4.2),
// which a subscriber switched between simulcast layers needs: each layer is
// its own VP8 stream with its own picture IDs and TL0PICIDX, and a receiver
// drops a frame whose picture ID is older than one it has decoded
// (libwebrtc's frame buffer does), so after a switch the new layer's
// numbers must carry on from the old layer's.
//
//	      0 1 2 3 4 5 6 7
//	     +-+-+-+-+-+-+-+-+
//	     |X|R|N|S|R| PID | (required)
//	     +-+-+-+-+-+-+-+-+
//	X:   |I|L|T|K| RSV   | (optional)
//	     +-+-+-+-+-+-+-+-+
//	I:   |M| PictureID   | (optional; 15 bits when M is set)
//	     +-+-+-+-+-+-+-+-+
//	     |   PictureID   |
//	     +-+-+-+-+-+-+-+-+
//	L:   |   TL0PICIDX   | (optional)
//	     +-+-+-+-+-+-+-+-+
//	T/K: |TID|Y| KEYIDX  | (optional)
//	     +-+-+-+-+-+-+-+-+

// vp8Desc is what the SFU needs of one packet's payload descriptor.
type vp8Desc struct {
	// keyframe: the packet starts a keyframe (S set, partition 0, and the
	// VP8 payload header's P bit clear, RFC 7741 §4.3).
	keyframe bool
	picOff   int // offset of the picture ID, 0 if none
	picWide  bool
	tl0Off   int // offset of TL0PICIDX, 0 if none
	size     int // length of the descriptor
}

// parseVP8 reads the payload descriptor of a VP8 RTP payload; false if it is
// truncated.
func parseVP8(p []byte) (d vp8Desc, ok bool) {
	if len(p) < 1 {
		return d, false
	}
	i := 1
	if p[0]&0x80 != 0 { // X
		if len(p) < 2 {
			return d, false
		}
		x := p[1]
		i = 2
		if x&0x80 != 0 { // I
			if len(p) < i+1 {
				return d, false
			}
			d.picOff = i
			if p[i]&0x80 != 0 { // M: 15 bits
				d.picWide = true
				i += 2
			} else {
				i++
			}
		}
		if x&0x40 != 0 { // L
			d.tl0Off = i
			i++
		}
		if x&0x30 != 0 { // T or K
			i++
		}
		if len(p) < i {
			return d, false
		}
	}
	d.size = i
	start := p[0]&0x10 != 0 && p[0]&0x07 == 0
	d.keyframe = start && len(p) > i && p[i]&0x01 == 0
	return d, true
}

// pictureID reads the picture ID, if any.
func (d vp8Desc) pictureID(p []byte) (uint16, bool) {
	switch {
	case d.picOff == 0:
		return 0, false
	case d.picWide:
		return uint16(p[d.picOff]&0x7f)<<8 | uint16(p[d.picOff+1]), true
	default:
		return uint16(p[d.picOff] & 0x7f), true
	}
}

// vp8Numbers carries one subscriber's picture IDs and TL0PICIDX across the
// layers it is switched between: each source's numbers are shifted by a
// fixed offset, chosen when the source starts so that its first picture
// follows the last one sent. Guarded by its downTrack.
type vp8Numbers struct {
	ssrc     uint32 // the source the offsets are for
	started  bool
	picShift uint16
	tl0Shift uint8
	lastPic  uint16 // the last picture ID sent, rewritten
	lastTL0  uint8
}

// shifts returns the offsets for a packet of ssrc with descriptor d,
// starting a new source at this packet if ssrc is not the current one.
func (n *vp8Numbers) shifts(ssrc uint32, d vp8Desc, p []byte) (pic uint16, tl0 uint8) {
	if !n.started || ssrc != n.ssrc {
		if in, ok := d.pictureID(p); ok {
			n.picShift = n.lastPic + 1 - in
		}
		if d.tl0Off != 0 {
			n.tl0Shift = n.lastTL0 + 1 - p[d.tl0Off]
		}
		n.ssrc, n.started = ssrc, true
	}
	return n.picShift, n.tl0Shift
}

// rewriteVP8 writes the picture ID and TL0PICIDX of p shifted by pic and
// tl0, in place, keeping the picture ID's width; it returns them as
// written.
func rewriteVP8(p []byte, d vp8Desc, pic uint16, tl0 uint8) (outPic uint16, outTL0 uint8) {
	if in, ok := d.pictureID(p); ok {
		if d.picWide {
			outPic = (in + pic) & 0x7fff
			p[d.picOff] = 0x80 | byte(outPic>>8)
			p[d.picOff+1] = byte(outPic)
		} else {
			outPic = (in + pic) & 0x7f
			p[d.picOff] = byte(outPic)
		}
	}
	if d.tl0Off != 0 {
		outTL0 = p[d.tl0Off] + tl0
		p[d.tl0Off] = outTL0
	}
	return outPic, outTL0
}

// note records a picture ID and TL0PICIDX as sent, if newer than the last
// (RFC 7741 §4.2: they wrap at 2^15, or 2^7, and 2^8).
func (n *vp8Numbers) note(pic uint16, tl0 uint8) {
	if d := (pic - n.lastPic) & 0x7fff; d != 0 && d < 0x4000 {
		n.lastPic = pic
	}
	if d := tl0 - n.lastTL0; d != 0 && d < 0x80 {
		n.lastTL0 = tl0
	}
}
