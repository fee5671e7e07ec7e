package sfu

import (
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// Link is what the media server measured of one participant's connections,
// cumulative since it joined, for the visit's quality record. Read it
// twice and subtract for rates.
type Link struct {
	// SentBytes is the media written to the participant (RTP header and
	// payload, padding included); ReceivedBytes what arrived from it.
	SentBytes, ReceivedBytes uint64
	// Expected and Lost are the packets the participant expected and lost
	// of those sent to it, from its receiver reports (RFC 3550 §6.4.1:
	// the extended highest sequence number and the cumulative number of
	// packets lost), counted from each track's first report. Lost can go
	// down when duplicates arrive, and retransmissions that fill a gap take
	// their packets off it: it is the loss after repair.
	Expected, Lost int64
	// JitterMs is the interarrival jitter (RFC 3550 §6.4.1) of the latest
	// report on the participant's audio, or on video when it receives no
	// audio; negative until a report came.
	JitterMs float64
	// RTT is the round-trip time on the participant's subscribe connection:
	// ICE's own (STUN binding round trips, RFC 8445 §7.2.5) where the
	// server makes checks, else the send-side estimate's; 0 when unknown.
	RTT time.Duration
	// LayerSwitches counts moves between simulcast layers in what the
	// participant receives.
	LayerSwitches uint64
	// Candidate is the type of the remote ICE candidate of the subscribe
	// connection's selected pair (host, srflx, prflx, relay), or "tcp" for
	// a candidate over TCP that is not a relay (RFC 6544); empty before a
	// pair is selected.
	Candidate string
}

// linkCounters are a participant's Link counters that outlive its
// subscriptions.
type linkCounters struct {
	expected, lost               atomic.Int64
	retiredSent, retiredSwitches atomic.Uint64 // of subscriptions that ended
}

// rrState is what a downTrack's RTCP reader remembers of the last receiver
// report on its track; the reader alone uses it.
type rrState struct {
	seen    bool
	highest uint32 // extended highest sequence number received
	lost    int32  // cumulative number of packets lost
}

// onReport counts the expected and lost packets since the previous report
// into the participant's link, and keeps the report's jitter.
func (dt *downTrack) onReport(r rtcp.ReceptionReport) {
	if dt.link == nil {
		return
	}
	// The cumulative number lost is a signed 24-bit integer.
	lost := int32(r.TotalLost<<8) >> 8
	if dt.codec.ClockRate > 0 {
		dt.jitterMicros.Store(int64(float64(r.Jitter) / float64(dt.codec.ClockRate) * 1e6))
	}
	st := &dt.rr
	if st.seen {
		exp := int64(int32(r.LastSequenceNumber - st.highest))
		if exp >= 0 && exp < 1<<20 {
			dt.link.expected.Add(exp)
			dt.link.lost.Add(int64(lost - st.lost))
		}
	}
	st.seen, st.highest, st.lost = true, r.LastSequenceNumber, lost
}

// retire adds what dt sent and switched to the participant's link: dt's
// subscription has ended.
func (dt *downTrack) retire() {
	if dt.link == nil {
		return
	}
	dt.mu.Lock()
	sent, switches := dt.sent, dt.switches
	dt.mu.Unlock()
	dt.link.retiredSent.Add(sent)
	dt.link.retiredSwitches.Add(switches)
}

// Link returns what has been measured of the participant's connections so
// far; it may be called after Close.
func (p *Participant) Link() Link {
	l := Link{
		SentBytes:     p.link.retiredSent.Load(),
		LayerSwitches: p.link.retiredSwitches.Load(),
		Expected:      p.link.expected.Load(),
		Lost:          p.link.lost.Load(),
		JitterMs:      -1,
	}
	p.mu.Lock()
	downs := make([]*downTrack, 0, len(p.down))
	for _, dt := range p.down {
		downs = append(downs, dt)
	}
	p.mu.Unlock()
	audioJitter, videoJitter := int64(-1), int64(-1)
	for _, dt := range downs {
		dt.mu.Lock()
		l.SentBytes += dt.sent
		l.LayerSwitches += dt.switches
		dt.mu.Unlock()
		j := dt.jitterMicros.Load()
		if dt.kind == webrtc.RTPCodecTypeAudio {
			audioJitter = max(audioJitter, j)
		} else {
			videoJitter = max(videoJitter, j)
		}
	}
	switch {
	case audioJitter >= 0:
		l.JitterMs = float64(audioJitter) / 1000
	case videoJitter >= 0:
		l.JitterMs = float64(videoJitter) / 1000
	}
	if p.room != nil {
		p.room.mu.Lock()
		ups := make([]*upTrack, 0, len(p.published))
		for _, up := range p.published {
			ups = append(ups, up)
		}
		p.room.mu.Unlock()
		for _, up := range ups {
			for _, ly := range up.layers {
				l.ReceivedBytes += ly.bytes.Load()
			}
		}
	}
	ice := p.sub.SCTP().Transport().ICETransport()
	if st, ok := ice.GetSelectedCandidatePairStats(); ok && st.CurrentRoundTripTime > 0 {
		l.RTT = time.Duration(st.CurrentRoundTripTime * float64(time.Second))
	} else if p.subBWE != nil {
		l.RTT = p.subBWE.Status().RTT
	}
	if pair, err := ice.GetSelectedCandidatePair(); err == nil && pair != nil && pair.Remote != nil {
		l.Candidate = candidateType(pair.Remote)
	}
	return l
}

// candidateType names c's type as the quality record does.
func candidateType(c *webrtc.ICECandidate) string {
	if c.Typ == webrtc.ICECandidateTypeRelay {
		return "relay"
	}
	if c.Protocol == webrtc.ICEProtocolTCP {
		return "tcp"
	}
	switch c.Typ {
	case webrtc.ICECandidateTypeHost, webrtc.ICECandidateTypeSrflx, webrtc.ICECandidateTypePrflx:
		return c.Typ.String()
	}
	return ""
}
