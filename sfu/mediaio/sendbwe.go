package mediaio

import (
	"encoding/binary"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
)

// SendEstimator estimates the bandwidth of the path from us to one peer from
// the peer's transport-wide congestion control feedback
// (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1): every packet we
// send is numbered (twcc.go) and its send time and size kept; the feedback
// says when each arrived. The estimate follows Google Congestion Control,
// draft-ietf-rmcat-gcc-02, as its send-side variant is built in libwebrtc:
//
//   - Packets sent within 5 ms form a group (§5.2); for consecutive groups
//     the difference between their arrival spacing and their send spacing
//     is the one-way delay variation.
//   - Its accumulated value, smoothed, is fitted with a line over the last
//     20 groups; the slope is the delay trend (libwebrtc's trendline filter,
//     which replaced the draft's Kalman filter, §5.3).
//   - The trend against an adaptive threshold (§5.4: k_u = 0.01, here
//     0.0087 as libwebrtc; k_d = 0.00018, here 0.039 per millisecond as
//     libwebrtc) signals overuse, underuse or normal.
//   - The rate (§5.5): overuse sets it to 0.85 × the rate the peer
//     acknowledged receiving; normal increases it by 8 % a second, never
//     past 1.5 × the acknowledged rate (so it does not run away while the
//     sources, not the path, limit what is sent); underuse holds it.
//   - Loss (§6): over 10 % lost cuts a loss-based estimate by half the loss,
//     under 2 % lets it grow 5 % a second up to the delay-based one. The
//     estimate is the lower of the two.
//
// Without probing (padding sent to find room above what the sources send),
// the estimate cannot tell a path's capacity above 1.5 × what is sent; a
// caller that wants to know tries more (Raise) and watches for overuse.
type SendEstimator struct {
	epoch time.Time
	est   atomic.Uint64 // bits/s, the lower of delay and loss

	// sent holds what was sent of the last sentRing packets, one word each
	// (packSent), written without a lock by the goroutines that send.
	sent [sentRing]atomic.Uint64

	mu sync.Mutex // guards the rest

	seenFb [256]bool // feedback packet counts seen lately: pion may deliver one twice

	// Groups (§5.2).
	cur, prev  group
	havePrev   bool
	firstArriv int64 // arrival time of the first group, µs, the trendline's origin

	// The trendline filter and detector.
	accumulated, smoothed float64
	points                [trendWindow]trendPoint
	npoints, nextPoint    int
	deltas                int
	prevTrend             float64
	threshold             float64
	thresholdAt           int64 // µs, local time
	overuseFor            float64
	overuseCount          int
	state                 int // usageNormal, usageOver, usageUnder

	// The rate.
	delayBased   float64
	lossBased    float64
	lastChange   time.Time // the last increase, for its pace
	lastDecrease time.Time
	lastLossAt   time.Time
	lastLossCut  time.Time
	lastFeedback time.Time // when the last feedback came
	// The peer's reference time is 24 bits of 64 ms (§3.1) and wraps
	// every 12.4 days of its clock, at any moment of a call: refWraps
	// counts the wraps seen after lastRef.
	lastRef   int64
	refWraps  int64
	haveRef   bool
	lost, got int // since lastLossAt
	acked     ackWindow
	overuses  uint64
	// rtt is the smoothed round trip: from sending the newest packet a
	// feedback acknowledges to receiving that feedback (an overestimate by
	// up to the feedback interval). 0 until measured.
	rtt    time.Duration
	newest int64 // send time (µs) of the newest packet acknowledged in the feedback being read
}

// Bounds of the estimate.
const (
	SendEstimateMin   = 30_000
	SendEstimateMax   = 10_000_000
	SendEstimateStart = 800_000

	sentRing    = 1 << 11     // packets remembered: 2048, two seconds of five videos
	feedbackGap = time.Second // feedback missing this long: the path was down
	burstTime   = 5000        // µs: packets sent closer than this form a group
	trendWindow = 20
)

const (
	usageNormal = iota
	usageOver
	usageUnder
)

type sentPacket struct {
	at   int64 // µs since epoch
	size int
}

// A sent packet's word: its transport-wide number (16 bits), its size
// (11 bits: at most 2047 bytes, more than any packet on a path's MTU) and
// its send time in µs since the estimator's epoch, modulo 2^37 (38 hours).
const (
	sentAtBits   = 37
	sentAtMask   = 1<<sentAtBits - 1
	sentSizeMask = 1<<11 - 1
)

func packSent(seq uint16, size int, at int64) uint64 {
	return uint64(seq)<<48 | uint64(min(size, sentSizeMask))<<sentAtBits | uint64(at)&sentAtMask
}

// lookupSent finds packet seq, if still kept; local (µs since epoch, now)
// restores the send time's high bits.
func (e *SendEstimator) lookupSent(seq uint16, local int64) (sentPacket, bool) {
	w := e.sent[seq%sentRing].Load()
	if w == 0 || uint16(w>>48) != seq {
		return sentPacket{}, false
	}
	at := local - (local-int64(w&sentAtMask))&sentAtMask
	return sentPacket{at: at, size: int(w >> sentAtBits & sentSizeMask)}, true
}

type group struct {
	firstSend, lastSend int64 // µs, our clock
	lastArrival         int64 // µs, the peer's
	size                int
	started             bool
}

type trendPoint struct{ x, y float64 }

// NewSendEstimator starts at SendEstimateStart.
func NewSendEstimator() *SendEstimator {
	e := &SendEstimator{epoch: time.Now(), threshold: 12.5, delayBased: SendEstimateStart, lossBased: SendEstimateMax}
	e.est.Store(SendEstimateStart)
	return e
}

// Estimate is the current estimate in bits/s.
func (e *SendEstimator) Estimate() uint64 { return e.est.Load() }

// Status is a snapshot of the estimator.
type Status struct {
	Estimate     uint64    // bits/s
	Acked        uint64    // bits/s the peer acknowledged receiving lately
	LastDecrease time.Time // when congestion last cut the estimate; zero if never
	Overuses     uint64    // times delay growth was detected
	RTT          time.Duration
}

// Status returns a snapshot.
func (e *SendEstimator) Status() Status {
	e.mu.Lock()
	defer e.mu.Unlock()
	return Status{Estimate: e.est.Load(), Acked: uint64(e.acked.rate()), LastDecrease: e.lastDecrease, Overuses: e.overuses, RTT: e.rtt}
}

// Raise lets the estimate up to bps at once, to try a higher rate the
// acknowledged rate cannot vouch for yet; overuse brings it down as usual.
func (e *SendEstimator) Raise(bps uint64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if b := float64(min(bps, SendEstimateMax)); b > e.delayBased {
		e.delayBased = b
		e.lossBased = max(e.lossBased, b)
		e.publish()
	}
}

// onSent records a packet we sent: its transport-wide number and size.
func (e *SendEstimator) onSent(seq uint16, size int) {
	e.sent[seq%sentRing].Store(packSent(seq, size, time.Since(e.epoch).Microseconds()))
}

// Feedback takes one transport-cc feedback packet, received now (for
// callers that have it parsed; the interceptor reads the bytes).
func (e *SendEstimator) Feedback(fb *rtcp.TransportLayerCC, now time.Time) {
	if b, err := fb.Marshal(); err == nil {
		e.FeedbackRaw(b, now)
	}
}

// FeedbackRaw takes one transport-cc feedback packet (draft-holmer-rmcat-
// transport-wide-cc-extensions-01 §3.1, its RTCP header included) as it
// arrived, received now, reading it in place: no allocation per packet
// reported. false if it is malformed; what it held before the fault is
// used.
func (e *SendEstimator) FeedbackRaw(b []byte, now time.Time) bool {
	const chunks = 20 // header, sender and media SSRC, base, count, reference time, count
	if len(b) < chunks {
		return false
	}
	base := binary.BigEndian.Uint16(b[12:])
	count := int(binary.BigEndian.Uint16(b[14:]))
	ref := int64(b[16])<<16 | int64(b[17])<<8 | int64(b[18])
	fbCount := b[19]
	// The receive deltas follow the chunks that cover count statuses; they
	// must all be there before anything is taken.
	deltas, n := chunks, 0
	for n < count {
		if deltas+2 > len(b) {
			return false
		}
		n += chunkStatuses(binary.BigEndian.Uint16(b[deltas:]))
		deltas += 2
	}
	need, left := 0, count
	forEachStatus(b[chunks:deltas], func(sym uint16) {
		if left > 0 {
			left--
			need += min(int(sym), 3) % 3 // 1 byte for a small delta, 2 for a large one
		}
	})
	if deltas+need > len(b) {
		return false
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.seenFb[fbCount] {
		return true
	}
	e.seenFb[fbCount] = true
	e.seenFb[fbCount+128] = false
	local := now.Sub(e.epoch).Microseconds()
	e.newest = -1
	// After a second without feedback the path was down (a black-out, a
	// change of network), not congested: what was lost meanwhile says
	// nothing of its capacity, and the delay groups start afresh.
	outage := !e.lastFeedback.IsZero() && now.Sub(e.lastFeedback) > feedbackGap
	e.lastFeedback = now
	if outage {
		e.lost, e.got = 0, 0
		e.cur, e.havePrev = group{}, false
		e.accumulated, e.smoothed, e.npoints, e.nextPoint, e.deltas = 0, 0, 0, 0, 0
	}

	if e.haveRef {
		switch d := ref - e.lastRef; {
		case d < -(1 << 23):
			e.refWraps++
		case d > 1<<23:
			e.refWraps-- // a late feedback from before the wrap
		}
	}
	e.lastRef, e.haveRef = ref, true
	seq := base
	arrival := (ref + e.refWraps<<24) * 64000 // µs (§3.1: multiples of 64 ms)
	left, d := count, deltas
	forEachStatus(b[chunks:deltas], func(sym uint16) {
		if left == 0 {
			return
		}
		left--
		switch sym {
		case 1: // received, small delta: one byte of 250 µs
			arrival += int64(b[d]) * 250
			d++
		case 2: // received, large or negative delta: two bytes, signed
			arrival += int64(int16(binary.BigEndian.Uint16(b[d:]))) * 250
			d += 2
		default: // not received (3 is reserved: counted as not received)
			if !outage {
				e.lost++
			}
			seq++
			return
		}
		e.got++
		e.arrived(seq, arrival, local)
		seq++
	})
	if e.newest >= 0 && local >= e.newest {
		r := time.Duration(local-e.newest) * time.Microsecond
		if e.rtt == 0 {
			e.rtt = r
		} else {
			e.rtt = (7*e.rtt + r) / 8 // RFC 6298 §2.3's smoothing
		}
	}
	e.updateRate(now, local)
	return true
}

// forEachStatus calls f with each packet status the chunks hold, in order.
func forEachStatus(chunks []byte, f func(sym uint16)) {
	for off := 0; off+2 <= len(chunks); off += 2 {
		c := binary.BigEndian.Uint16(chunks[off:])
		switch {
		case c&0x8000 == 0: // run length chunk (§3.1.3)
			sym := c >> 13 & 3
			for range c & 0x1fff {
				f(sym)
			}
		case c&0x4000 == 0: // status vector chunk of 14 one-bit symbols (§3.1.4)
			for i := 13; i >= 0; i-- {
				f(c >> i & 1)
			}
		default: // status vector chunk of 7 two-bit symbols
			for i := 6; i >= 0; i-- {
				f(c >> (2 * i) & 3)
			}
		}
	}
}

// chunkStatuses is how many packets a packet status chunk covers.
func chunkStatuses(c uint16) int {
	switch {
	case c&0x8000 == 0:
		return int(c & 0x1fff)
	case c&0x4000 == 0:
		return 14
	default:
		return 7
	}
}

// arrived takes one packet the peer received at arrival (its clock, µs).
func (e *SendEstimator) arrived(seq uint16, arrival, local int64) {
	p, ok := e.lookupSent(seq, local)
	if !ok {
		return
	}
	e.acked.add(arrival, p.size)
	e.newest = max(e.newest, p.at)
	g := &e.cur
	if !g.started {
		*g = group{firstSend: p.at, lastSend: p.at, lastArrival: arrival, size: p.size, started: true}
		return
	}
	if p.at < g.firstSend {
		return // sent before the group being built: reordered, skip
	}
	if p.at-g.firstSend <= burstTime {
		g.lastSend = max(g.lastSend, p.at)
		g.lastArrival = max(g.lastArrival, arrival)
		g.size += p.size
		return
	}
	// A new group starts: the one just completed is compared with the one
	// before it.
	if e.havePrev {
		sendDelta := float64(g.lastSend-e.prev.lastSend) / 1000
		arrDelta := float64(g.lastArrival-e.prev.lastArrival) / 1000
		e.trend(arrDelta-sendDelta, sendDelta, g.lastArrival, local)
	} else {
		e.firstArriv = g.lastArrival
	}
	e.prev, e.havePrev = *g, true
	*g = group{firstSend: p.at, lastSend: p.at, lastArrival: arrival, size: p.size, started: true}
}

// trend feeds one delay variation (ms) into the trendline filter and the
// overuse detector.
func (e *SendEstimator) trend(delayMs, sendDeltaMs float64, arrival, local int64) {
	e.deltas = min(e.deltas+1, 1000)
	e.accumulated += delayMs
	e.smoothed = 0.9*e.smoothed + 0.1*e.accumulated
	e.points[e.nextPoint] = trendPoint{x: float64(arrival-e.firstArriv) / 1000, y: e.smoothed}
	e.nextPoint = (e.nextPoint + 1) % trendWindow
	e.npoints = min(e.npoints+1, trendWindow)
	slope := e.prevTrend
	if e.npoints == trendWindow {
		slope = fitSlope(e.points[:])
	}
	e.detect(slope, sendDeltaMs, local)
}

// fitSlope is the least-squares slope of the points.
func fitSlope(pts []trendPoint) float64 {
	var sx, sy float64
	for _, p := range pts {
		sx += p.x
		sy += p.y
	}
	n := float64(len(pts))
	mx, my := sx/n, sy/n
	var num, den float64
	for _, p := range pts {
		num += (p.x - mx) * (p.y - my)
		den += (p.x - mx) * (p.x - mx)
	}
	if den == 0 {
		return 0
	}
	return num / den
}

// detect compares the trend with the threshold (draft §5.4).
func (e *SendEstimator) detect(trend, sendDeltaMs float64, local int64) {
	if e.deltas < 2 {
		e.state = usageNormal
		return
	}
	const gain = 4
	t := float64(min(e.deltas, 60)) * trend * gain
	switch {
	case t > e.threshold:
		if e.overuseFor < 0 {
			e.overuseFor = sendDeltaMs / 2
		} else {
			e.overuseFor += sendDeltaMs
		}
		e.overuseCount++
		if e.overuseFor > 10 && e.overuseCount > 1 && trend >= e.prevTrend {
			e.overuseFor, e.overuseCount = 0, 0
			e.state = usageOver
			e.overuses++
		}
	case t < -e.threshold:
		e.overuseFor, e.overuseCount = -1, 0
		e.state = usageUnder
	default:
		e.overuseFor, e.overuseCount = -1, 0
		e.state = usageNormal
	}
	e.prevTrend = trend
	e.adaptThreshold(t, local)
}

// adaptThreshold moves the threshold towards |t| (draft §5.4), slowly up
// and faster down, so that it follows the delay noise of the path but not
// one large spike.
func (e *SendEstimator) adaptThreshold(t float64, local int64) {
	if e.thresholdAt == 0 {
		e.thresholdAt = local
	}
	abs := math.Abs(t)
	if abs > e.threshold+15 {
		e.thresholdAt = local
		return
	}
	k := 0.0087
	if abs < e.threshold {
		k = 0.039
	}
	dt := min(float64(local-e.thresholdAt)/1000, 100)
	e.threshold = min(max(e.threshold+k*(abs-e.threshold)*dt, 6), 600)
	e.thresholdAt = local
}

// The loss-based controller's windows (updateRate).
const (
	lossWindow     = time.Second
	lossWindowBusy = 200 * time.Millisecond
)

// updateRate moves the delay-based and loss-based rates after a feedback.
func (e *SendEstimator) updateRate(now time.Time, local int64) {
	acked := e.acked.rate()
	switch e.state {
	case usageOver:
		// Once per round trip at most: what was sent before the last cut
		// reports the congestion that caused it.
		if e.lastDecrease.IsZero() || now.Sub(e.lastDecrease) >= max(e.rtt, 200*time.Millisecond) {
			if acked > 0 {
				e.delayBased = min(e.delayBased, 0.85*acked)
			} else {
				e.delayBased *= 0.85
			}
			e.lastDecrease = now
		}
		e.state = usageNormal // hold until the next signal
		e.lastChange = now
	case usageNormal:
		if !e.lastChange.IsZero() {
			dt := min(now.Sub(e.lastChange).Seconds(), 1)
			limit := 1.5*acked + 10_000
			if acked > 0 && e.delayBased < limit {
				e.delayBased = min(e.delayBased*math.Pow(1.08, dt), limit)
			}
		}
		e.lastChange = now
	case usageUnder:
		e.lastChange = now
	}

	// Loss over about a second, as the receiver reports the draft's loss
	// controller runs on (§6: RTCP RR, about one a second): at least 20
	// packets and a second, or 200 packets and 200 ms on a busy link. A
	// shorter window reads a fade's run of a few lost packets as heavy
	// loss: on a low layer (70 packets a second with the audio) one run
	// of 4 in 200 ms is 25 %, in a second 6 %.
	n := e.lost + e.got
	since := now.Sub(e.lastLossAt)
	if n >= 20 && (e.lastLossAt.IsZero() || since >= lossWindow || n >= 200 && since >= lossWindowBusy) {
		p := float64(e.lost) / float64(n)
		switch {
		case p > 0.10:
			// As libwebrtc, once per round trip and 300 ms: the losses
			// reported after a cut were mostly sent before it.
			if e.lastLossCut.IsZero() || now.Sub(e.lastLossCut) >= e.rtt+300*time.Millisecond {
				e.lossBased = min(e.lossBased, e.delayBased) * (1 - 0.5*p)
				e.lastDecrease, e.lastLossCut = now, now
			}
		case p < 0.02:
			dt := 1.0
			if !e.lastLossAt.IsZero() {
				dt = min(now.Sub(e.lastLossAt).Seconds(), 1)
			}
			e.lossBased = min(e.lossBased*math.Pow(1.05, dt), max(e.delayBased, e.lossBased))
		}
		e.lost, e.got, e.lastLossAt = 0, 0, now
	}
	e.publish()
}

func (e *SendEstimator) publish() {
	e.delayBased = min(max(e.delayBased, SendEstimateMin), SendEstimateMax)
	e.lossBased = min(max(e.lossBased, SendEstimateMin), SendEstimateMax)
	e.est.Store(uint64(min(e.delayBased, e.lossBased)))
}

// ackWindow measures the rate of acknowledged bytes over the last half
// second of arrival times.
type ackWindow struct {
	at    [64]int64 // bucket: 10 ms of the peer's clock
	last  [64]int64 // the latest arrival in the bucket, µs
	bytes [64]int
	n     int
	head  int
}

// add counts size bytes that arrived at arrival (µs); samples more than
// 500 ms older than the newest are dropped. Samples are kept per 10 ms of
// arrival time.
func (w *ackWindow) add(arrival int64, size int) {
	bucket := arrival / 10_000
	if w.n > 0 {
		last := (w.head + w.n - 1) % len(w.at)
		if w.at[last] == bucket {
			w.bytes[last] += size
			w.last[last] = max(w.last[last], arrival)
			return
		}
		if bucket < w.at[last] {
			// Out of order: count it with the newest.
			w.bytes[last] += size
			return
		}
	}
	if w.n == len(w.at) {
		w.head = (w.head + 1) % len(w.at)
		w.n--
	}
	i := (w.head + w.n) % len(w.at)
	w.at[i], w.bytes[i], w.last[i] = bucket, size, arrival
	w.n++
	newest := bucket
	for w.n > 1 && newest-w.at[w.head] > 50 {
		w.head = (w.head + 1) % len(w.at)
		w.n--
	}
}

// rate is the acknowledged rate in bits/s, 0 until 100 ms are covered.
func (w *ackWindow) rate() float64 {
	if w.n < 2 {
		return 0
	}
	// What arrived after the first bucket, over the time from the first
	// bucket's last arrival to the newest: counting the first bucket's
	// bytes too would count one packet more than the span holds.
	first := w.last[w.head]
	last := w.last[(w.head+w.n-1)%len(w.at)]
	span := float64(last-first) / 1e6 // s
	if span < 0.1 {
		return 0
	}
	total := 0
	for i := 1; i < w.n; i++ {
		total += w.bytes[(w.head+i)%len(w.at)]
	}
	return float64(total) * 8 / span
}
