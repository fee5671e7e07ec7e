package sfu

import (
	"context"
	"time"
)

// clock is the time source of the keyframe throttle and of the downlink
// estimate and its REMB ticker (bwe.go); tests substitute one
// they advance by hand.
type clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// keyframeRequester asks one publisher for a keyframe of one track on behalf
// of all its subscribers, at most once per interval: one weak subscriber, or
// many joining at once, must not flood a weak uplink with keyframes, which
// are many times larger than other frames.
//
// Requests are coalesced, never lost: a request inside the interval is
// answered by one keyframe request at the end of the interval.
//
// Keyframe requests are RTCP Picture Loss Indications (RFC 4585 §6.3.1): we
// send PLI even when a subscriber sent FIR (RFC 5104 §4.3.1), as every
// browser answers PLI and FIR's sequence numbers would have to be kept per
// publisher anyway.
type keyframeRequester struct {
	interval time.Duration
	clock    clock
	send     func() // writes the PLI; called from run's goroutine only
	kick     chan struct{}
}

func newKeyframeRequester(interval time.Duration, c clock, send func()) *keyframeRequester {
	return &keyframeRequester{interval: interval, clock: c, send: send, kick: make(chan struct{}, 1)}
}

// request asks for a keyframe. It never blocks; it is cheap enough to call on
// every dropped packet.
func (k *keyframeRequester) request() {
	select {
	case k.kick <- struct{}{}:
	default: // one is already pending
	}
}

// run sends the requested keyframe requests until ctx is done.
func (k *keyframeRequester) run(ctx context.Context) {
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-k.kick:
		}
		if !last.IsZero() {
			if wait := k.interval - k.clock.Now().Sub(last); wait > 0 {
				select {
				case <-ctx.Done():
					return
				case <-k.clock.After(wait):
				}
			}
		}
		// Requests that came while waiting are answered by this one.
		select {
		case <-k.kick:
		default:
		}
		last = k.clock.Now()
		k.send()
	}
}
