package sfu

import (
	"bytes"
	"testing"
)

// TestParseVP8 reads payload descriptors (RFC 7741 §4.2) with and without
// each optional field, tells a keyframe's first packet (S set, partition 0,
// P clear in the payload header, §4.3) from the rest, and refuses a
// descriptor cut short.
func TestParseVP8(t *testing.T) {
	tests := []struct {
		name     string
		p        []byte
		ok, key  bool
		pic      int // -1: none
		wide     bool
		tl0Off   int
		descSize int
	}{
		// No X: the descriptor is one byte.
		{"minimal, keyframe start", []byte{0x10, 0x10, 0x02, 0x00}, true, true, -1, false, 0, 1},
		{"minimal, interframe (P set)", []byte{0x10, 0x11}, true, false, -1, false, 0, 1},
		{"not the start of a frame (S clear)", []byte{0x00, 0x10}, true, false, -1, false, 0, 1},
		{"start of partition 1", []byte{0x11, 0x10}, true, false, -1, false, 0, 1},
		{"start of partition 7", []byte{0x17, 0x10}, true, false, -1, false, 0, 1},
		{"non-reference bit does not matter", []byte{0x30, 0x10}, true, true, -1, false, 0, 1},
		{"descriptor only, no X", []byte{0x10}, true, false, -1, false, 0, 1},

		// X and what it announces.
		{"X with nothing announced", []byte{0x90, 0x00, 0x10}, true, true, -1, false, 0, 2},
		{"7-bit picture ID", []byte{0x90, 0x80, 0x25, 0x10}, true, true, 0x25, false, 0, 3},
		{"7-bit picture ID 0", []byte{0x90, 0x80, 0x00, 0x11}, true, false, 0, false, 0, 3},
		{"15-bit picture ID", []byte{0x90, 0x80, 0x81, 0x02, 0x11}, true, false, 0x102, true, 0, 4},
		{"15-bit picture ID, highest", []byte{0x90, 0x80, 0xff, 0xff, 0x10}, true, true, 0x7fff, true, 0, 4},
		{"L only", []byte{0x90, 0x40, 0x07, 0x10}, true, true, -1, false, 2, 3},
		{"T only", []byte{0x90, 0x20, 0x40, 0x10}, true, true, -1, false, 0, 3},
		{"K only", []byte{0x90, 0x10, 0x05, 0x10}, true, true, -1, false, 0, 3},
		{"T and K share a byte", []byte{0x90, 0x30, 0x45, 0x10}, true, true, -1, false, 0, 3},
		{"7-bit picture ID and L", []byte{0x90, 0xc0, 0x25, 0x07, 0x10}, true, true, 0x25, false, 3, 4},
		{"15-bit picture ID, L, T, K", []byte{0x90, 0xf0, 0x81, 0x02, 0x07, 0x40, 0x11}, true, false, 0x102, true, 4, 6},
		{"15-bit picture ID, L, T, keyframe", []byte{0x90, 0xe0, 0x80, 0x00, 0xff, 0x20, 0x10, 0x02}, true, true, 0, true, 4, 6},
		{"X, not the start", []byte{0x80, 0xc0, 0x25, 0x07, 0x10}, true, false, 0x25, false, 3, 4},
		{"X, start of partition 2", []byte{0x92, 0xc0, 0x25, 0x07, 0x10}, true, false, 0x25, false, 3, 4},
		{"descriptor only: no payload header, no keyframe", []byte{0x90, 0x80, 0x05}, true, false, 5, false, 0, 3},

		// Cut short.
		{"empty", nil, false, false, -1, false, 0, 0},
		{"X without its byte", []byte{0x90}, false, false, -1, false, 0, 0},
		{"I without the picture ID", []byte{0x90, 0x80}, false, false, -1, false, 0, 0},
		{"15-bit picture ID cut", []byte{0x90, 0x80, 0x81}, false, false, -1, false, 0, 0},
		{"L without TL0PICIDX", []byte{0x90, 0xc0, 0x25}, false, false, -1, false, 0, 0},
		{"T without its byte", []byte{0x90, 0x20}, false, false, -1, false, 0, 0},
		{"K without its byte after L", []byte{0x90, 0x50, 0x07}, false, false, -1, false, 0, 0},
		{"15-bit picture ID and L, T byte cut", []byte{0x90, 0xe0, 0x81, 0x02, 0x07}, false, false, -1, false, 0, 0},
	}
	for _, tc := range tests {
		d, ok := parseVP8(tc.p)
		if ok != tc.ok {
			t.Errorf("%s: parseVP8(% x) ok = %v, want %v", tc.name, tc.p, ok, tc.ok)
			continue
		}
		if !ok {
			continue
		}
		pic, has := d.pictureID(tc.p)
		if d.keyframe != tc.key || has != (tc.pic >= 0) || has && int(pic) != tc.pic || d.picWide != tc.wide || d.tl0Off != tc.tl0Off || d.size != tc.descSize {
			t.Errorf("%s: got %+v picture %d/%v, want keyframe %v picture %d wide %v tl0 at %d size %d",
				tc.name, d, pic, has, tc.key, tc.pic, tc.wide, tc.tl0Off, tc.descSize)
		}
	}
}

// TestRewriteVP8 shifts the picture ID and TL0PICIDX in place: the
// picture ID keeps its width (M bit) and wraps at 2^15 or 2^7, TL0PICIDX
// wraps at 2^8, and no other byte changes.
func TestRewriteVP8(t *testing.T) {
	tests := []struct {
		name    string
		p       []byte
		pic     uint16
		tl0     uint8
		want    []byte
		wantPic uint16
		wantTL0 uint8
	}{
		{"15-bit", []byte{0x90, 0xe0, 0x81, 0x02, 0x07, 0x40, 0x11}, 5, 3,
			[]byte{0x90, 0xe0, 0x81, 0x07, 0x0a, 0x40, 0x11}, 0x107, 10},
		{"15-bit, carried into the high byte", []byte{0x90, 0x80, 0x80, 0xff, 0x10}, 1, 0,
			[]byte{0x90, 0x80, 0x81, 0x00, 0x10}, 0x100, 0},
		{"15-bit wraps, TL0PICIDX wraps", []byte{0x90, 0xc0, 0xff, 0xfe, 0xff, 0x10}, 3, 2,
			[]byte{0x90, 0xc0, 0x80, 0x01, 0x01, 0x10}, 1, 1},
		{"15-bit, shift back (mod 2^16)", []byte{0x90, 0x80, 0x80, 0x00, 0x10}, 0xffff, 0,
			[]byte{0x90, 0x80, 0xff, 0xff, 0x10}, 0x7fff, 0},
		{"15-bit, shift beyond 2^15", []byte{0x90, 0x80, 0x80, 0x10, 0x10}, 0x8005, 0,
			[]byte{0x90, 0x80, 0x80, 0x15, 0x10}, 0x15, 0},
		{"7-bit", []byte{0x90, 0x80, 0x10, 0x10}, 5, 0,
			[]byte{0x90, 0x80, 0x15, 0x10}, 0x15, 0},
		{"7-bit wraps without an M bit", []byte{0x90, 0x80, 0x7f, 0x10}, 2, 0,
			[]byte{0x90, 0x80, 0x01, 0x10}, 1, 0},
		{"7-bit, a 15-bit shift", []byte{0x90, 0x80, 0x10, 0x10}, 0x1234, 0,
			[]byte{0x90, 0x80, 0x44, 0x10}, 0x44, 0},
		{"TL0PICIDX only", []byte{0x90, 0x40, 0xfe, 0x10}, 9, 4,
			[]byte{0x90, 0x40, 0x02, 0x10}, 0, 2},
		{"no picture ID, no TL0PICIDX", []byte{0x90, 0x20, 0x40, 0x10}, 9, 4,
			[]byte{0x90, 0x20, 0x40, 0x10}, 0, 0},
		{"no X", []byte{0x10, 0x10, 0x80}, 9, 4,
			[]byte{0x10, 0x10, 0x80}, 0, 0},
	}
	for _, tc := range tests {
		d, ok := parseVP8(tc.p)
		if !ok {
			t.Fatalf("%s: parseVP8(% x) refused", tc.name, tc.p)
		}
		p := append([]byte(nil), tc.p...)
		pic, tl0 := rewriteVP8(p, d, tc.pic, tc.tl0)
		if pic != tc.wantPic || tl0 != tc.wantTL0 || !bytes.Equal(p, tc.want) {
			t.Errorf("%s: rewriteVP8(% x, +%d, +%d) = picture %#x TL0 %d, bytes % x; want %#x, %d, % x",
				tc.name, tc.p, tc.pic, tc.tl0, pic, tl0, p, tc.wantPic, tc.wantTL0, tc.want)
		}
		if d2, _ := parseVP8(p); d2 != d {
			t.Errorf("%s: rewritten, the descriptor reads %+v, was %+v", tc.name, d2, d)
		}
	}
}

// vp8Stream plays one subscriber's forwarding of VP8 packets through a
// vp8Numbers, as a downTrack does: shifts, rewrite, note.
type vp8Stream struct {
	t *testing.T
	n vp8Numbers
}

// send forwards one packet with a 15-bit picture ID and TL0PICIDX and
// returns them as rewritten.
func (s *vp8Stream) send(ssrc uint32, pic uint16, tl0 uint8, key bool) (uint16, uint8) {
	payload := byte(0x01) // P set: an interframe
	if key {
		payload = 0x00
	}
	p := []byte{0x90, 0xe0, 0x80 | byte(pic>>8), byte(pic), tl0, 0x00, payload}
	d, ok := parseVP8(p)
	if !ok {
		s.t.Fatalf("parseVP8(% x) refused", p)
	}
	ps, ts := s.n.shifts(ssrc, d, p)
	outPic, outTL0 := rewriteVP8(p, d, ps, ts)
	s.n.note(outPic, outTL0)
	return outPic, outTL0
}

// TestVP8NumbersAcrossLayers: a subscriber switched from one layer to
// another and back (each its own SSRC, picture IDs and TL0PICIDX) sees one
// run of picture IDs and TL0PICIDX, frames of several packets keeping one
// picture ID, across the wrap of both.
func TestVP8NumbersAcrossLayers(t *testing.T) {
	type layer struct {
		ssrc uint32
		pic  uint16 // next picture ID
		tl0  uint8
	}
	tests := []struct {
		name   string
		a, b   layer
		frames []int // layer of each frame in turn: 0 a, 1 b
		// What the subscriber was last sent before (0, 0: nothing).
		lastPic uint16
		lastTL0 uint8
	}{
		{"100.. then 20000..", layer{1, 100, 7}, layer{2, 20000, 200}, []int{0, 0, 0, 1, 1, 1}, 0, 0},
		{"there and back", layer{1, 100, 7}, layer{2, 20000, 200}, []int{0, 0, 1, 1, 1, 0, 0, 1}, 0, 0},
		{"a switch every frame", layer{0xaaaa, 5, 0}, layer{0xbbbb, 30000, 128}, []int{0, 1, 0, 1, 0, 1}, 0, 0},
		{"the new layer's numbers about to wrap", layer{1, 100, 7}, layer{2, 0x7ffe, 254}, []int{0, 0, 1, 1, 1, 1}, 0, 0},
		{"the numbers sent wrap", layer{1, 100, 7}, layer{2, 20000, 200}, []int{0, 0, 1, 1, 1, 1}, 0x7ffd, 253},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &vp8Stream{t: t}
			s.n.lastPic, s.n.lastTL0 = tc.lastPic, tc.lastTL0
			layers := [2]*layer{&tc.a, &tc.b}
			var pics []uint16
			var tl0s []uint8
			prev := -1
			for _, i := range tc.frames {
				l := layers[i]
				key := i != prev // a switch happens at a keyframe
				prev = i
				// Three packets per frame, one picture.
				for k := range 3 {
					pic, tl0 := s.send(l.ssrc, l.pic, l.tl0, key && k == 0)
					if k > 0 && (pic != pics[len(pics)-1] || tl0 != tl0s[len(tl0s)-1]) {
						t.Fatalf("packet %d of a frame: picture %d TL0 %d, want %d and %d as its first",
							k, pic, tl0, pics[len(pics)-1], tl0s[len(tl0s)-1])
					}
					if k == 0 {
						pics, tl0s = append(pics, pic), append(tl0s, tl0)
					}
				}
				l.pic = (l.pic + 1) & 0x7fff
				l.tl0++
				// The layer not forwarded moves on too.
				o := layers[1-i]
				o.pic = (o.pic + 1) & 0x7fff
				o.tl0++
			}
			if pics[0] != (tc.lastPic+1)&0x7fff || tl0s[0] != tc.lastTL0+1 {
				t.Errorf("the first frame: picture %d TL0 %d, want %d and %d, after the last sent", pics[0], tl0s[0], (tc.lastPic+1)&0x7fff, tc.lastTL0+1)
			}
			for i := 1; i < len(pics); i++ {
				if pics[i] != (pics[i-1]+1)&0x7fff || tl0s[i] != tl0s[i-1]+1 {
					t.Fatalf("picture IDs %v, TL0PICIDX %v: frame %d does not follow the one before", pics, tl0s, i)
				}
			}
		})
	}
}

// TestVP8NumbersNote: note keeps the newest picture ID and TL0PICIDX sent,
// across their wraps; an older one (a late packet) does not move them back.
func TestVP8NumbersNote(t *testing.T) {
	tests := []struct {
		name    string
		pics    []uint16
		tl0s    []uint8
		wantPic uint16
		wantTL0 uint8
	}{
		{"in order", []uint16{1, 2, 3}, []uint8{1, 2, 3}, 3, 3},
		{"late ones ignored", []uint16{10, 12, 11}, []uint8{10, 12, 11}, 12, 12},
		{"across the wrap", []uint16{0x7ffe, 0x7fff, 0, 1}, []uint8{254, 255, 0, 1}, 1, 1},
		{"late from before the wrap", []uint16{0x7fff, 2, 0x7ffe}, []uint8{255, 2, 254}, 2, 2},
	}
	for _, tc := range tests {
		var n vp8Numbers
		for i := range tc.pics {
			n.note(tc.pics[i], tc.tl0s[i])
		}
		if n.lastPic != tc.wantPic || n.lastTL0 != tc.wantTL0 {
			t.Errorf("%s: noted %v, %v: last picture %d TL0 %d, want %d and %d",
				tc.name, tc.pics, tc.tl0s, n.lastPic, n.lastTL0, tc.wantPic, tc.wantTL0)
		}
	}
}
