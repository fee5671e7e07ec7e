package mediaio

import (
	"encoding/binary"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
)

// Transport-wide congestion control feedback, draft-holmer-rmcat-transport-
// wide-cc-extensions-01: senders number every packet of a connection in one
// sequence (a header extension, §2) and the receiver reports when each
// arrived (an RTCP transport-cc feedback message, §3.1), from which the
// sender estimates the bandwidth. We do both ends: publishers' packets are
// reported back to them, and what we send subscribers is numbered.
//
// pion's interceptors for this hand every received packet to a goroutine
// through an unbuffered channel and allocate for every packet on both
// paths; these record a packet on the goroutine that reads it, reading only
// the one extension out of the raw header, and number a sent packet with no
// allocation.

// twccFeedbackInterval is how often feedback is sent, pion's and Chromium's
// default (the draft leaves it to the receiver).
const twccFeedbackInterval = 100 * time.Millisecond

// twccExtensionID returns the id a stream's transport-wide sequence number
// extension was negotiated with, 0 if none.
func twccExtensionID(exts []interceptor.RTPHeaderExtension) uint8 {
	for _, e := range exts {
		if e.URI == sdp.TransportCCURI && e.ID > 0 && e.ID < 256 {
			return uint8(e.ID)
		}
	}
	return 0
}

// TWCCFeedbackFactory makes the receiving end: one recorder per
// PeerConnection (the sequence is transport-wide).
type TWCCFeedbackFactory struct{}

func (TWCCFeedbackFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &twccFeedback{
		rec:   twcc.NewRecorder(rand.Uint32()), //nolint:gosec // an SSRC, not a secret
		start: time.Now(),
	}, nil
}

type twccFeedback struct {
	interceptor.NoOp
	start time.Time
	loop  feedbackLoop

	mu  sync.Mutex
	rec *twcc.Recorder
}

func (f *twccFeedback) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	f.loop.bindWriter(w)
	return w
}

func (f *twccFeedback) BindRemoteStream(info *interceptor.StreamInfo, reader interceptor.RTPReader) interceptor.RTPReader {
	id := twccExtensionID(info.RTPHeaderExtensions)
	if id == 0 {
		return reader
	}
	ssrc := info.SSRC
	f.loop.start(twccFeedbackInterval, f.feedback)
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, a, err := reader.Read(b, a)
		if err != nil {
			return n, a, err
		}
		if seq, ok := TransportSequence(b[:n], id); ok {
			at := time.Since(f.start).Microseconds()
			f.mu.Lock()
			f.rec.Record(ssrc, seq, at)
			f.mu.Unlock()
		}
		return n, a, nil
	})
}

// feedback is the feedback for what arrived since the last one.
func (f *twccFeedback) feedback(int) []rtcp.Packet {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rec.BuildFeedbackPacket()
}

func (f *twccFeedback) Close() error {
	f.loop.close()
	return nil
}

// TransportSequence reads the transport-wide sequence number (two bytes,
// §2) out of an RTP packet's header extension block, in either of RFC
// 8285's forms, without parsing the rest of the header.
func TransportSequence(p []byte, id uint8) (uint16, bool) {
	if len(p) < 12 || p[0]>>6 != 2 || p[0]&0x10 == 0 {
		return 0, false
	}
	off := 12 + 4*int(p[0]&0x0f) // past the CSRCs (RFC 3550 §5.1)
	if len(p) < off+4 {
		return 0, false
	}
	profile := binary.BigEndian.Uint16(p[off:])
	end := off + 4 + 4*int(binary.BigEndian.Uint16(p[off+2:]))
	if len(p) < end {
		return 0, false
	}
	ext := p[off+4 : end]
	switch {
	case profile == 0xBEDE: // one-byte headers, RFC 8285 §4.2
		for i := 0; i < len(ext); {
			eid := ext[i] >> 4
			if eid == 0 { // padding
				i++
				continue
			}
			if eid == 15 { // reserved: stop
				return 0, false
			}
			l := int(ext[i]&0x0f) + 1
			if eid == id {
				if l != 2 || i+3 > len(ext) {
					return 0, false
				}
				return binary.BigEndian.Uint16(ext[i+1:]), true
			}
			i += 1 + l
		}
	case profile&0xfff0 == 0x1000: // two-byte headers, RFC 8285 §4.3
		for i := 0; i+1 < len(ext); {
			eid := ext[i]
			if eid == 0 { // padding
				i++
				continue
			}
			l := int(ext[i+1])
			if eid == id {
				if l != 2 || i+4 > len(ext) {
					return 0, false
				}
				return binary.BigEndian.Uint16(ext[i+2:]), true
			}
			i += 2 + l
		}
	}
	return 0, false
}

// TWCCNumberingFactory makes the sending end: every packet we send on a
// connection gets the next transport-wide sequence number. With an
// Estimator, what is sent and the peer's feedback on it feed that
// estimator (sendbwe.go); a factory with one serves one connection.
type TWCCNumberingFactory struct {
	Estimator *SendEstimator
}

func (f TWCCNumberingFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &twccNumber{est: f.Estimator}, nil
}

type twccNumber struct {
	interceptor.NoOp
	next atomic.Uint32
	est  *SendEstimator // nil: numbering only
}

// BindRTCPReader passes the peer's transport-cc feedback to the estimator.
// pion binds one reader per stream we send, and a compound packet naming
// several of them reaches each; the estimator skips a feedback it has had.
func (t *twccNumber) BindRTCPReader(reader interceptor.RTCPReader) interceptor.RTCPReader {
	if t.est == nil {
		return reader
	}
	return interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, a, err := reader.Read(b, a)
		if err != nil {
			return n, a, err
		}
		ForEachRTCP(b[:n], func(p []byte) {
			if IsTWCC(p) {
				t.est.FeedbackRaw(p, time.Now())
			}
		})
		return n, a, nil
	})
}

// ForEachRTCP calls f with each packet of a compound RTCP packet (RFC 3550
// §6.1), by its length field, without parsing them; it stops at a packet
// whose length runs past the end.
func ForEachRTCP(b []byte, f func([]byte)) {
	for len(b) >= 4 {
		size := 4 * (int(binary.BigEndian.Uint16(b[2:])) + 1)
		if size > len(b) {
			return
		}
		f(b[:size])
		b = b[size:]
	}
}

// IsTWCC tells whether an RTCP packet is transport-cc feedback (RFC 4585
// §6.1 header: PT 205 RTPFB, FMT 15).
func IsTWCC(p []byte) bool {
	return len(p) >= 2 && rtcp.PacketType(p[1]) == rtcp.TypeTransportSpecificFeedback && p[0]&0x1f == rtcp.FormatTCC
}

// twccScratch holds the two bytes of a number while its packet is written
// (the header refers to them until the write returns).
var twccScratch = sync.Pool{New: func() any { return new([2]byte) }}

func (t *twccNumber) BindLocalStream(info *interceptor.StreamInfo, writer interceptor.RTPWriter) interceptor.RTPWriter {
	id := twccExtensionID(info.RTPHeaderExtensions)
	if id == 0 {
		return writer
	}
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		b := twccScratch.Get().(*[2]byte)
		defer twccScratch.Put(b) // h still refers to b: the caller must not read it after

		seq := uint16(t.next.Add(1) - 1)
		binary.BigEndian.PutUint16(b[:], seq)
		if err := h.SetExtension(id, b[:]); err != nil {
			return 0, err
		}
		n, err := writer.Write(h, payload, a)
		if err == nil && t.est != nil {
			t.est.onSent(seq, h.MarshalSize()+len(payload)+int(h.PaddingSize))
		}
		return n, err
	})
}
