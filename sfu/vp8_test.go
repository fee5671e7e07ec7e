package sfu

import "testing"

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
		{"minimal, keyframe start", []byte{0x10, 0x10, 0x02, 0x00}, true, true, -1, false, 0, 1},
		{"minimal, interframe", []byte{0x10, 0x11}, true, false, -1, false, 0, 1},
		{"not the start of a frame", []byte{0x00, 0x10}, true, false, -1, false, 0, 1},
		{"start, partition 1", []byte{0x11, 0x10}, true, false, -1, false, 0, 1},
		{"7-bit picture ID", []byte{0x90, 0x80, 0x25, 0x10}, true, true, 0x25, false, 0, 3},
		{"15-bit picture ID, TL0PICIDX, TID", []byte{0x90, 0xe0, 0x81, 0x02, 0x07, 0x40, 0x11}, true, false, 0x102, true, 4, 6},
		{"K only", []byte{0x90, 0x10, 0x00, 0x10}, true, true, -1, false, 0, 3},
		{"empty", nil, false, false, -1, false, 0, 0},
		{"X without its byte", []byte{0x90}, false, false, -1, false, 0, 0},
		{"15-bit picture ID cut", []byte{0x90, 0x80, 0x81}, false, false, -1, false, 0, 0},
		{"descriptor only: no payload header, no keyframe", []byte{0x90, 0x80, 0x05}, true, false, 5, false, 0, 3},
	}
	for _, tc := range tests {
		d, ok := parseVP8(tc.p)
		if ok != tc.ok {
			t.Errorf("%s: ok = %v, want %v", tc.name, ok, tc.ok)
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

func TestRewriteVP8KeepsWidthAndWraps(t *testing.T) {
	wide := []byte{0x90, 0xc0, 0xff, 0xfe, 0xff, 0x10} // 15-bit 0x7ffe, TL0PICIDX 255
	d, _ := parseVP8(wide)
	pic, tl0 := rewriteVP8(wide, d, 3, 2)
	if pic != 1 || tl0 != 1 || wide[2] != 0x80 || wide[3] != 0x01 || wide[4] != 1 {
		t.Errorf("15-bit: got picture %d TL0 %d bytes % x, want 1, 1 (wrapped, M bit kept)", pic, tl0, wide[:5])
	}
	narrow := []byte{0x90, 0x80, 0x7f, 0x10}
	d, _ = parseVP8(narrow)
	if pic, _ := rewriteVP8(narrow, d, 2, 0); pic != 1 || narrow[2] != 0x01 {
		t.Errorf("7-bit: got picture %d byte %#x, want 1 (wrapped at 128, no M bit)", pic, narrow[2])
	}
}

// TestVP8NumbersAcrossLayers: a subscriber switched from one layer (picture
// IDs from 100) to another (from 20000) sees one run of picture IDs and
// TL0PICIDX.
func TestVP8NumbersAcrossLayers(t *testing.T) {
	var n vp8Numbers
	frame := func(ssrc uint32, pic uint16, tl0 uint8) (uint16, uint8) {
		p := []byte{0x90, 0xc0, 0x80 | byte(pic>>8), byte(pic), tl0, 0x10}
		d, ok := parseVP8(p)
		if !ok {
			t.Fatal("parse")
		}
		ps, ts := n.shifts(ssrc, d, p)
		outPic, outTL0 := rewriteVP8(p, d, ps, ts)
		n.note(outPic, outTL0)
		return outPic, outTL0
	}
	var pics []uint16
	var tl0s []uint8
	for i := range 3 {
		p, l := frame(1, 100+uint16(i), 7+uint8(i))
		pics, tl0s = append(pics, p), append(tl0s, l)
	}
	for i := range 3 {
		p, l := frame(2, 20000+uint16(i), 200+uint8(i))
		pics, tl0s = append(pics, p), append(tl0s, l)
	}
	for i := 1; i < len(pics); i++ {
		if pics[i] != (pics[i-1]+1)&0x7fff || tl0s[i] != tl0s[i-1]+1 {
			t.Fatalf("picture IDs %v, TL0PICIDX %v: not one run", pics, tl0s)
		}
	}
}
