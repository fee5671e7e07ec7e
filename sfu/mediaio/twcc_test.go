package mediaio

import (
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
)

// TestTransportSequence reads the transport-wide sequence number out of
// headers pion marshals, in both of RFC 8285's forms, among other
// extensions and CSRCs, and finds none where there is none or the header
// is cut short.
func TestTransportSequence(t *testing.T) {
	const id = 3
	type ext struct {
		id      uint8
		payload []byte
	}
	build := func(profile uint16, csrc int, exts ...ext) []byte {
		h := rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: 7, SSRC: 42}
		for i := range csrc {
			h.CSRC = append(h.CSRC, uint32(i))
		}
		if len(exts) > 0 {
			h.Extension = true
			h.ExtensionProfile = profile
			for _, e := range exts {
				if err := h.SetExtension(e.id, e.payload); err != nil {
					t.Fatal(err)
				}
			}
		}
		b, err := (&rtp.Packet{Header: h, Payload: []byte{1, 2, 3}}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	seq := ext{id, []byte{0xab, 0xcd}}
	other := ext{1, []byte{9, 9, 9}}
	for _, tc := range []struct {
		name string
		pkt  []byte
		want uint16
		ok   bool
	}{
		{"one-byte alone", build(0xBEDE, 0, seq), 0xabcd, true},
		{"one-byte after another", build(0xBEDE, 0, other, seq), 0xabcd, true},
		{"one-byte with CSRCs", build(0xBEDE, 3, other, seq), 0xabcd, true},
		{"two-byte", build(0x1000, 0, other, seq), 0xabcd, true},
		{"two-byte, empty one before", build(0x1000, 1, ext{2, nil}, seq), 0xabcd, true},
		{"only another", build(0xBEDE, 0, other), 0, false},
		{"no extension", build(0, 0), 0, false},
		{"cut short", build(0xBEDE, 0, seq)[:15], 0, false},
		{"too short for RTP", []byte{0x90, 0}, 0, false},
	} {
		got, ok := TransportSequence(tc.pkt, id)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: %#x, %v; want %#x, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
	// Padding (zero bytes) between one-byte elements is skipped.
	p := build(0xBEDE, 0, other, seq)
	padded := append([]byte{}, p[:12]...)
	padded = append(padded, 0xBE, 0xDE, 0, 3, 0, 0) // 3 words: two padding bytes first
	padded = append(padded, p[16:16+8]...)
	padded = append(padded, 0, 0) // and two after, to the word boundary
	if got, ok := TransportSequence(padded, id); !ok || got != 0xabcd {
		t.Errorf("padded: %#x, %v", got, ok)
	}
}

// TestTWCCNumbering: every packet a connection sends carries the next
// transport-wide number, across its streams, without allocating.
func TestTWCCNumbering(t *testing.T) {
	i, _ := TWCCNumberingFactory{}.NewInterceptor("")
	info := &interceptor.StreamInfo{RTPHeaderExtensions: []interceptor.RTPHeaderExtension{{URI: "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01", ID: 5}}}
	got := make([]uint16, 0, 16)
	buf := make([]byte, 1500)
	capture := interceptor.RTPWriterFunc(func(h *rtp.Header, _ []byte, _ interceptor.Attributes) (int, error) {
		m, err := h.MarshalTo(buf)
		if err != nil {
			return 0, err
		}
		n, ok := TransportSequence(buf[:m], 5)
		if !ok {
			t.Fatal("no transport-wide number on a sent packet")
		}
		got = append(got, n)
		return 0, nil
	})
	a, b := i.BindLocalStream(info, capture), i.BindLocalStream(info, capture)
	h := &rtp.Header{Version: 2, SSRC: 1}
	for range 3 {
		_, _ = a.Write(h, nil, nil)
		_, _ = b.Write(h, nil, nil)
	}
	for k, n := range got {
		if n != uint16(k) {
			t.Fatalf("numbers %v, want 0, 1, 2, ...", got)
		}
	}
	if allocs := testing.AllocsPerRun(100, func() {
		got = got[:0]
		h.Extensions = h.Extensions[:0]
		_, _ = a.Write(h, nil, nil)
	}); allocs > 0 {
		t.Errorf("numbering a packet allocates %.1f times", allocs)
	}
}
