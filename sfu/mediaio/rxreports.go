package mediaio

import (
	"encoding/binary"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
)

// What we tell publishers about the packets they send us: receiver reports
// (RFC 3550 §6.4.2, computed as its appendices A.3 and A.8 do) and NACKs for
// missing video packets (generic NACK, RFC 4585 §6.2.1). One interceptor per
// publish connection, in place of pion's NACK generator and receiver report
// interceptors: those parse every packet's whole header into a map of
// attributes, two allocations a packet. Here the reading goroutine reads the
// sequence number and timestamp out of the raw header, under one stream's
// lock, and a loop per connection sends what is due.

const (
	// nackWindow is how many recent sequence numbers a video stream
	// remembers: about 3 s of 1.5 Mbit/s video, past which a packet is not
	// worth asking for.
	nackWindow = 512
	// NACKTries is how many times a missing packet is asked for, one
	// nackInterval apart, before we give up on it.
	NACKTries    = 5
	nackInterval = 100 * time.Millisecond
	// reportEvery is how often receiver reports go out, in nackIntervals:
	// once a second, as browsers and pion do for a point-to-point session
	// (RFC 3550 §6.2's 5 s minimum is for large groups).
	reportEvery = 10
)

// ReceiverFeedbackFactory makes the interceptor that sends receiver
// reports and NACKs for what a connection receives.
type ReceiverFeedbackFactory struct{}

func (ReceiverFeedbackFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &rxReports{
		ssrc:    rand.Uint32(), //nolint:gosec // an SSRC, not a secret
		streams: map[uint32]*rxStream{},
	}, nil
}

type rxReports struct {
	interceptor.NoOp
	ssrc uint32 // ours, as the reports' sender

	loop feedbackLoop

	mu      sync.Mutex
	streams map[uint32]*rxStream
	// The loop's, reused from one tick to the next.
	tickStreams []*rxStream
	tickSeqs    []uint16
}

// rxStream is one incoming RTP stream's reception state.
type rxStream struct {
	ssrc      uint32
	clockRate float64
	nack      bool // the codec negotiated generic NACK

	mu      sync.Mutex
	started bool
	// RFC 3550 A.1 and A.3: the highest sequence number, its wrap-arounds
	// (already shifted), the first one, and counts for the loss figures.
	maxSeq                       uint16
	cycles, base                 uint32
	received                     uint32
	expectedPrior, receivedPrior uint32
	// A.8: the interarrival jitter, in timestamp units.
	jitter      float64
	lastArrival time.Time
	lastTS      uint32
	// The last sender report: the middle 32 bits of its NTP time, and when
	// it came (for the report's LSR and DLSR).
	lsr   uint32
	lsrAt time.Time
	// Which of the last nackWindow sequence numbers arrived, and how often
	// each missing one was asked for.
	seen  [nackWindow / 64]uint64
	tries [nackWindow]uint8
}

func (r *rxReports) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	r.loop.bindWriter(w)
	return w
}

func (r *rxReports) BindRemoteStream(info *interceptor.StreamInfo, reader interceptor.RTPReader) interceptor.RTPReader {
	st := &rxStream{ssrc: info.SSRC, clockRate: float64(info.ClockRate)}
	for _, fb := range info.RTCPFeedback {
		if fb.Type == "nack" && fb.Parameter == "" {
			st.nack = true
		}
	}
	r.mu.Lock()
	r.streams[info.SSRC] = st
	r.mu.Unlock()
	r.loop.start(nackInterval, r.tick)
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, a, err := reader.Read(b, a)
		if err == nil && n >= 12 {
			st.onPacket(time.Now(), binary.BigEndian.Uint16(b[2:]), binary.BigEndian.Uint32(b[4:]))
		}
		return n, a, err
	})
}

func (r *rxReports) UnbindRemoteStream(info *interceptor.StreamInfo) {
	r.mu.Lock()
	delete(r.streams, info.SSRC)
	r.mu.Unlock()
}

// BindRTCPReader notes the sender reports publishers send (RFC 3550 §6.4.1),
// whose time our reports echo so they can measure the round trip.
func (r *rxReports) BindRTCPReader(reader interceptor.RTCPReader) interceptor.RTCPReader {
	return interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, a, err := reader.Read(b, a)
		if err != nil {
			return n, a, err
		}
		now := time.Now()
		// A compound packet: each part's header gives its type and length
		// in 32-bit words minus one (§6.4.1).
		for p := b[:n]; len(p) >= 4; {
			size := 4 * (int(binary.BigEndian.Uint16(p[2:])) + 1)
			if size > len(p) {
				break
			}
			if p[1] == 200 && size >= 20 { // SR: SSRC, then the NTP time
				ssrc := binary.BigEndian.Uint32(p[4:])
				lsr := binary.BigEndian.Uint32(p[10:]) // the middle 32 bits of the NTP time
				r.mu.Lock()
				st := r.streams[ssrc]
				r.mu.Unlock()
				if st != nil {
					st.mu.Lock()
					st.lsr, st.lsrAt = lsr, now
					st.mu.Unlock()
				}
			}
			p = p[size:]
		}
		return n, a, nil
	})
}

func (r *rxReports) Close() error {
	r.loop.close()
	return nil
}

// onPacket records one arrival.
func (s *rxStream) onPacket(now time.Time, seq uint16, ts uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		s.started = true
		s.maxSeq, s.base = seq, uint32(seq)
		s.received = 1
		s.lastArrival, s.lastTS = now, ts
		s.mark(seq)
		return
	}
	s.received++
	switch d := seq - s.maxSeq; {
	case d == 0:
		// a duplicate: counted as received, as A.3 does
	case d < 0x8000: // newer
		if seq < s.maxSeq {
			s.cycles += 1 << 16
		}
		// The ones skipped have not arrived (yet).
		for k, q := 0, s.maxSeq+1; q != seq && k < nackWindow; k, q = k+1, q+1 {
			s.unmark(q)
		}
		s.maxSeq = seq
		s.mark(seq)
	default: // older: late or a retransmission
		if s.maxSeq-seq < nackWindow {
			s.mark(seq)
		}
	}
	// A.8: D is the difference in transit time of two packets, in
	// timestamp units.
	d := now.Sub(s.lastArrival).Seconds()*s.clockRate - float64(int32(ts-s.lastTS))
	if d < 0 {
		d = -d
	}
	s.jitter += (d - s.jitter) / 16
	s.lastArrival, s.lastTS = now, ts
}

func (s *rxStream) mark(seq uint16) {
	i := seq % nackWindow
	s.seen[i/64] |= 1 << (i % 64)
	s.tries[i] = 0
}

func (s *rxStream) unmark(seq uint16) {
	i := seq % nackWindow
	s.seen[i/64] &^= 1 << (i % 64)
	s.tries[i] = 0
}

// missing appends the sequence numbers still missing in the window that
// may be asked for again.
func (s *rxStream) missing(dst []uint16) []uint16 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		return dst
	}
	span := min(uint32(nackWindow-1), s.cycles+uint32(s.maxSeq)-s.base)
	for q := s.maxSeq - uint16(span); q != s.maxSeq; q++ {
		i := q % nackWindow
		if s.seen[i/64]&(1<<(i%64)) != 0 || s.tries[i] >= NACKTries {
			continue
		}
		s.tries[i]++
		dst = append(dst, q)
	}
	return dst
}

// report returns the reception report block for the interval since the
// last one (RFC 3550 §6.4.1, A.3).
func (s *rxStream) report(now time.Time) (rtcp.ReceptionReport, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		return rtcp.ReceptionReport{}, false
	}
	ext := s.cycles + uint32(s.maxSeq)
	expected := ext - s.base + 1
	lost := int64(expected) - int64(s.received) // negative with duplicates
	lost = max(min(lost, 0x7fffff), -0x800000)  // 24-bit signed
	expInt, recvInt := expected-s.expectedPrior, s.received-s.receivedPrior
	s.expectedPrior, s.receivedPrior = expected, s.received
	var fraction uint8
	if lostInt := int64(expInt) - int64(recvInt); expInt > 0 && lostInt > 0 {
		fraction = uint8(min(lostInt<<8/int64(expInt), 255))
	}
	var delay uint32
	if !s.lsrAt.IsZero() {
		delay = uint32(now.Sub(s.lsrAt).Seconds() * 65536) // in 1/65536 s
	}
	return rtcp.ReceptionReport{
		SSRC:               s.ssrc,
		FractionLost:       fraction,
		TotalLost:          uint32(lost) & 0xffffff,
		LastSequenceNumber: ext,
		Jitter:             uint32(s.jitter),
		LastSenderReport:   s.lsr,
		Delay:              delay,
	}, true
}

// tick is what is due at the n-th nackInterval: NACKs for what is missing,
// and every reportEvery ticks the receiver reports.
func (r *rxReports) tick(n int) []rtcp.Packet {
	streams := r.tickStreams[:0]
	r.mu.Lock()
	for _, st := range r.streams {
		streams = append(streams, st)
	}
	r.mu.Unlock()
	r.tickStreams = streams

	var pkts []rtcp.Packet
	for _, st := range streams {
		if !st.nack {
			continue
		}
		if r.tickSeqs = st.missing(r.tickSeqs[:0]); len(r.tickSeqs) > 0 {
			pkts = append(pkts, &rtcp.TransportLayerNack{
				SenderSSRC: r.ssrc, MediaSSRC: st.ssrc, Nacks: rtcp.NackPairsFromSequenceNumbers(r.tickSeqs),
			})
		}
	}
	if n%reportEvery == 0 {
		now := time.Now()
		rr := &rtcp.ReceiverReport{SSRC: r.ssrc}
		for _, st := range streams {
			if b, ok := st.report(now); ok {
				if len(rr.Reports) == 31 { // the most one report carries (5-bit count)
					pkts = append(pkts, rr)
					rr = &rtcp.ReceiverReport{SSRC: r.ssrc}
				}
				rr.Reports = append(rr.Reports, b)
			}
		}
		if len(rr.Reports) > 0 {
			pkts = append(pkts, rr)
		}
	}
	return pkts
}
