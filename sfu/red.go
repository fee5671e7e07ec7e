package sfu

import (
	"strings"

	"github.com/pion/webrtc/v4"
)

// Redundant audio, RFC 2198: each RTP packet carries the current Opus frame
// and a copy of one or more earlier ones, so that a receiver that lost a
// packet finds its frame in the next. Chromium and Firefox negotiate it as
// audio/red with the Opus payload type in its fmtp ("111/111": two blocks,
// both Opus). A patient's voice is what a consultation cannot do without,
// and audio is small: it is worth sending twice.
//
// A publisher that sends RED has it forwarded as it is to subscribers that
// negotiated RED (they recover from it themselves), and its primary
// encoding alone, as plain Opus, to subscribers that did not.

const (
	mimeTypeRED    = "audio/red"
	payloadTypeRED = 63 // as Chromium and Firefox number it
)

// redPrimary returns the primary encoding of a RED payload: past the block
// headers (4 bytes each for the redundant blocks, whose F bit is 1, then 1
// byte for the primary, F bit 0; RFC 2198 §3) and the redundant blocks'
// data. false if the payload is malformed.
func redPrimary(p []byte) ([]byte, bool) {
	off, skip := 0, 0
	for {
		if off >= len(p) {
			return nil, false
		}
		if p[off]&0x80 == 0 { // the last header: the primary's
			off++
			break
		}
		if off+4 > len(p) {
			return nil, false
		}
		skip += int(p[off+2]&0x03)<<8 | int(p[off+3]) // block length, 10 bits
		off += 4
	}
	if off+skip > len(p) {
		return nil, false
	}
	return p[off+skip:], true
}

// audioPayloadTypes finds Opus's and RED's payload types among negotiated
// codecs; 0 for one that is missing.
func audioPayloadTypes(codecs []webrtc.RTPCodecParameters) (opus, red uint8) {
	for _, c := range codecs {
		switch {
		case strings.EqualFold(c.MimeType, webrtc.MimeTypeOpus) && opus == 0:
			opus = uint8(c.PayloadType)
		case strings.EqualFold(c.MimeType, mimeTypeRED) && red == 0:
			red = uint8(c.PayloadType)
		}
	}
	return opus, red
}
