package sfu

import (
	"time"

	"github.com/pion/rtcp"
)

// This file holds the downlink estimate for a publisher without simulcast
// (one encoding: an older iPhone, a pion client): the only way to spare a
// subscriber's weak link is then to ask the publisher to send less. Each
// video downTrack keeps a loss-based estimate of what its subscriber can
// take, and once a second the publisher is sent the lowest estimate among
// the track's subscribers as a REMB, which Chrome takes as a cap on its
// send rate even when it also uses transport-wide congestion control. Audio
// is never limited. A publisher that sends simulcast layers is never capped
// this way: each subscriber gets the layer its own link carries
// (allocate.go).

// Bounds and pace of the estimate.
const (
	// bweMinBitrate is the floor of the estimate: below it a picture is
	// not worth sending, and a floor lets the estimate recover.
	bweMinBitrate = 100_000
	// bweMaxBitrate is the ceiling and the start of the estimate: above
	// what a browser sends for one camera (Chrome: about 2.5 Mbit/s), so no
	// limit until loss is seen.
	bweMaxBitrate = 3_000_000
	// bweIncreaseInterval is the least time between two increases: about
	// a second, a little less so that reports a second apart give or take
	// their jitter each count.
	bweIncreaseInterval = 900 * time.Millisecond
	// bweDecreaseInterval is the least time between two decreases: reports
	// can come in bursts (a compound RTCP packet with every NACK), and each
	// one's loss must not cut the estimate again (libwebrtc waits 300 ms).
	bweDecreaseInterval = 300 * time.Millisecond
	// bweRateWindow is the shortest window over which the sent rate is
	// measured.
	bweRateWindow = 500 * time.Millisecond
	// rembInterval is how often each published video track's publisher is
	// sent the estimate.
	rembInterval = time.Second
)

// lossEstimate is the loss-based part of Google Congestion Control
// (draft-ietf-rmcat-gcc-02 §6) for one subscriber's copy of one video track,
// fed with the fraction lost of the subscriber's receiver reports (RFC 3550
// §6.4.2, 8 bits: lost/expected × 256 since the previous report):
//
//   - under 2% lost, the estimate grows by 8%, at most once a second
//     (bweIncreaseInterval), and never past 1.5× the rate actually sent over
//     the last window, so it cannot run away while the source is what
//     limits the rate;
//   - from 2% to 10%, it holds;
//   - over 10%, it shrinks by half the loss: × (1 - 0.5 × loss).
//
// It stays within [bweMinBitrate, bweMaxBitrate] and starts at the maximum.
// It is a pure value: the caller passes the time and the bytes sent, and
// serialises calls.
type lossEstimate struct {
	bitrate      float64 // bits/s
	lastIncrease time.Time
	lastDecrease time.Time

	// The sent rate: bytes sent as of sampleAt, and the rate over the
	// last window that ended there (0 until one window has passed).
	sampleAt    time.Time
	sampleBytes uint64
	sentRate    float64 // bits/s
}

func newLossEstimate() *lossEstimate {
	return &lossEstimate{bitrate: bweMaxBitrate}
}

// update takes one receiver report block's fraction lost, received at now,
// when sentBytes bytes had been sent in all, and returns the new estimate in
// bits/s.
func (e *lossEstimate) update(now time.Time, fractionLost uint8, sentBytes uint64) uint64 {
	e.measure(now, sentBytes)
	loss := float64(fractionLost) / 256
	switch {
	case loss < 0.02:
		if e.sentRate > 0 && (e.lastIncrease.IsZero() || now.Sub(e.lastIncrease) >= bweIncreaseInterval) {
			if limit := 1.5 * e.sentRate; e.bitrate < limit {
				e.bitrate = min(e.bitrate*1.08, limit)
			}
			e.lastIncrease = now
		}
	case loss > 0.10:
		if e.lastDecrease.IsZero() || now.Sub(e.lastDecrease) >= bweDecreaseInterval {
			e.bitrate *= 1 - 0.5*loss
			e.lastDecrease = now
		}
	}
	e.bitrate = min(max(e.bitrate, bweMinBitrate), bweMaxBitrate)
	return uint64(e.bitrate)
}

// measure updates the sent rate once a window has passed since the last
// sample.
func (e *lossEstimate) measure(now time.Time, sentBytes uint64) {
	if e.sampleAt.IsZero() || sentBytes < e.sampleBytes {
		e.sampleAt, e.sampleBytes = now, sentBytes
		return
	}
	d := now.Sub(e.sampleAt)
	if d < bweRateWindow {
		return
	}
	e.sentRate = float64(sentBytes-e.sampleBytes) * 8 / d.Seconds()
	e.sampleAt, e.sampleBytes = now, sentBytes
}

// downlinkEstimate is the lowest estimate among u's subscribers, in bits/s;
// false if it has none.
func (u *upTrack) downlinkEstimate() (uint64, bool) {
	downs := u.downs.Load()
	if downs == nil || len(*downs) == 0 {
		return 0, false
	}
	lowest := uint64(bweMaxBitrate)
	for _, dt := range *downs {
		lowest = min(lowest, dt.estimate.Load())
	}
	return lowest, true
}

// sendREMB tells the publisher of the video track up, once every
// rembInterval until the participant closes, the lowest downlink estimate of
// its subscribers. A REMB (draft-alvestrand-rmcat-remb-03 §2) names the
// SSRCs it applies to: only the video's, so audio is never limited. Nothing
// is sent while the track has no subscribers.
func (p *Participant) sendREMB(up *upTrack) {
	var last uint64
	limited := false // counted in Stats.DownlinkLimited
	setLimited := func(on bool) {
		if on != limited {
			limited = on
			if on {
				p.sfu.stats.downlinkLimited.Add(1)
			} else {
				p.sfu.stats.downlinkLimited.Add(-1)
			}
		}
	}
	defer setLimited(false)
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-p.sfu.clock.After(rembInterval):
		}
		bitrate, ok := up.downlinkEstimate()
		if !ok || up.layered() {
			// With simulcast a weak subscriber gets a lower layer
			// (allocate.go) instead of holding the publisher down.
			setLimited(false)
			continue
		}
		remb := &rtcp.ReceiverEstimatedMaximumBitrate{
			Bitrate: float32(bitrate),
			SSRCs:   []uint32{up.layers[0].remoteSSRC.Load()},
		}
		// Counted before the write, so that whoever receives the REMB
		// finds it in the statistics already.
		setLimited(bitrate < bweMaxBitrate)
		p.sfu.stats.rembs.Add(1)
		if err := p.pub.WriteRTCP([]rtcp.Packet{remb}); err != nil {
			p.sfu.stats.rembs.Add(^uint64(0)) // not sent after all
			p.log.Debug("send REMB", "track", up.id, "err", err)
			continue
		}
		if bitrate != last {
			p.log.Debug("downlink estimate", "track", up.id, "bitrate", bitrate)
			last = bitrate
		}
	}
}
