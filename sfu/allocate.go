package sfu

import (
	"slices"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"
)

// This file chooses, for each subscriber, which simulcast layer of each
// video track it receives, and tells each publisher which of its layers
// anyone needs.
//
// The budget is the send-side estimate of the subscriber's downlink
// (mediaio/sendbwe.go, from its transport-cc feedback), less a reserve for
// each audio track: audio is never given up for video. The video tracks
// share the rest: each gets its lowest layer if it fits, then layers are
// raised one step at a time, round the tracks, while they fit. Keeping a
// layer needs it to fit the budget; moving up needs it to fit with
// upgradeMargin to spare, and no cut of the estimate for upgradeHold, so a
// subscriber near a layer's rate does not flap between two.
//
// The estimate cannot vouch for more than 1.5 × what the subscriber
// receives, so to move up the link is probed, as libwebrtc's probe controller
// does: once the estimate has been quiet for trialQuiet, padding (RTP
// packets that carry nothing, sent after a frame on the video the
// subscriber receives) brings what it is sent up to 1.5 × the estimate, or
// to what the next step needs if that is less, for probeSpan. If the link
// delivers that without a cut of the estimate, the estimate is raised to it
// and the allocation takes the step when it fits; the next probe follows.
// If not, the padding stops at once (a probe harms the link for a quarter
// of a second at most, and never switches a picture), and the next probe
// waits twice as long (trialBackoffMin up to trialBackoffMax). A subscriber
// whose budget cannot carry even the lowest layer gets audio only; there is
// no video to pad after, so its lowest layer is tried instead, with the same
// back-off, and kept if the estimate is not cut within trialSpan.
//
// A switch takes effect at the new layer's next keyframe (downTrack.enqueue),
// which is asked for at once.

const (
	allocInterval   = 250 * time.Millisecond
	audioReserve    = 48_000 // bits/s per audio track: Opus with its redundancy
	videoFloor      = 60_000 // bits/s: the least share a single-layer video is sent with
	upgradeMargin   = 0.85
	lowestKeep      = 0.7 // the lowest layer is kept while the budget is 70 % of its rate
	upgradeHold     = 3 * time.Second
	trialQuiet      = 3 * time.Second
	trialSpan       = 4 * time.Second
	probeSpan       = 750 * time.Millisecond
	probeGain       = 1.5
	trialBackoffMin = 5 * time.Second
	trialBackoffMax = 60 * time.Second
	// layerPauseDelay is how long a layer no subscriber needs goes on
	// before the publisher is told to pause it, and layerLive how recent
	// a layer's last packet must be for it to count as sent.
	layerPauseDelay = 3 * time.Second
	layerLive       = 2 * time.Second
	// layerMeasure is how often the publisher's control loop measures its
	// layers' rates and reviews which are needed.
	layerMeasure = time.Second
)

// nominalRates are a layer's bitrate until it is measured, from the top
// layer down: what Chromium sends for 720p, 360p and 180p VP8.
var nominalRates = [maxLayers]uint64{1_500_000, 500_000, 150_000}

// allocState is one subscriber's allocation history, owned by its
// allocator goroutine.
type allocState struct {
	lastDown    time.Time     // a layer was last lowered
	trialStart  time.Time     // a probe or try is running since; zero if none
	probe       *downTrack    // the padded track of a probe; nil for a try
	probeTarget float64       // bits/s the probe brings the subscriber's rate to
	backoff     time.Duration // wait before the next probe after a failed one
	nextTrial   time.Time

	// congested: the estimate was cut since the subscriber last had the
	// best of everything; level is the last downlink level reported.
	congested    bool
	seenDecrease time.Time
	level        string
}

// endProbe stops the padding of a running probe.
func (a *allocState) endProbe() {
	if a.probe != nil {
		a.probe.padRate.Store(0)
		a.probe = nil
	}
	a.trialStart = time.Time{}
}

// allocator runs allocateLayers every allocInterval until the participant
// closes.
func (p *Participant) allocator() {
	t := time.NewTicker(allocInterval)
	defer t.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return
		case now := <-t.C:
			p.allocateLayers(now)
		}
	}
}

// layerRate is layer i's bitrate: as measured, or its nominal rate until it
// has been.
func (u *upTrack) layerRate(i int) float64 {
	if !u.layered() {
		return videoFloor
	}
	if r := u.layers[i].rate.Load(); r > 0 {
		return float64(r)
	}
	return float64(nominalRates[len(u.layers)-1-i])
}

// layerAvailable tells whether layer i can be switched to: it is sending,
// or it is paused at our request (asking for it resumes it), or it was
// resumed lately and may not have started yet.
func (u *upTrack) layerAvailable(i int, now time.Duration) bool {
	return u.active.Load()&(1<<i) == 0 || u.layerSending(i, now)
}

// layerSending tells whether layer i is arriving, or was resumed lately and
// may not have started yet; a layer paused at our request is not. A
// publisher none of whose layers is sending is silent (its own link is
// down): that is no reason to move its subscribers.
func (u *upTrack) layerSending(i int, now time.Duration) bool {
	if !u.layered() {
		return true
	}
	l := u.layers[i]
	last, resumed := l.lastAt.Load(), l.resumedAt.Load()
	return now-time.Duration(last) < layerLive && last != 0 || now-time.Duration(resumed) < layerLive
}

// allocateLayers chooses the layer of each video track the participant
// receives.
func (p *Participant) allocateLayers(now time.Time) {
	st := p.subBWE.Status()
	p.mu.Lock()
	var videos []*downTrack
	audios := 0
	for _, dt := range p.down {
		if dt.kind == webrtc.RTPCodecTypeVideo {
			videos = append(videos, dt)
		} else {
			audios++
		}
	}
	p.mu.Unlock()
	if len(videos) == 0 {
		return
	}
	slices.SortFunc(videos, func(a, b *downTrack) int { return strings.Compare(a.id, b.id) })

	a := &p.alloc
	if a.backoff == 0 {
		// The first allocation: the first try comes after trialQuiet, so
		// that a weak link is not flooded with the top layer at the start
		// of a visit.
		a.backoff = trialBackoffMin
		a.nextTrial = now.Add(trialQuiet)
	}
	if !a.trialStart.IsZero() {
		failed := func() {
			a.backoff = min(2*a.backoff, trialBackoffMax)
			a.nextTrial = now.Add(a.backoff)
			a.endProbe()
			p.log.Debug("probe failed", "estimate", st.Estimate, "acked", st.Acked, "next_in", a.backoff)
		}
		switch {
		case st.LastDecrease.After(a.trialStart):
			failed()
		case a.probe != nil && now.Sub(a.trialStart) >= probeSpan:
			if float64(st.Acked) >= 0.85*a.probeTarget {
				p.subBWE.Raise(uint64(a.probeTarget))
				p.log.Debug("probe passed", "rate", uint64(a.probeTarget), "acked", st.Acked)
				a.backoff, a.nextTrial = trialBackoffMin, now
				a.endProbe()
				st = p.subBWE.Status()
			} else {
				failed()
			}
		case a.probe == nil && now.Sub(a.trialStart) >= trialSpan:
			a.backoff, a.nextTrial = trialBackoffMin, now
			a.endProbe()
		}
	}

	budget := float64(st.Estimate) - float64(audios*audioReserve)
	quiet := now.Sub(a.lastDown) >= upgradeHold && now.Sub(st.LastDecrease) >= upgradeHold
	cur := make([]int, len(videos))
	alloc := make([]int, len(videos))
	// silent: the publisher sends no layer at all (its own link is down,
	// or it just started): nothing to choose from, and no reason to pause
	// this subscriber's video, which comes back at the publisher's next
	// keyframe.
	silent := make([]bool, len(videos))
	for i, dt := range videos {
		cur[i] = dt.targetLayer()
		alloc[i] = -1
		silent[i] = true
		for l := range dt.up.layers {
			// Sending, not merely available: a layer paused at our
			// request is available, and while the publisher's link is
			// down it would be all there is, out of reach, and the
			// subscriber's video would be paused for nothing.
			if dt.up.layerSending(l, time.Since(dt.up.epoch)) {
				silent[i] = false
			}
		}
	}
	cost := func(i, to int) float64 {
		up := videos[i].up
		c := up.layerRate(to)
		if alloc[i] >= 0 {
			c -= up.layerRate(alloc[i])
		}
		return c
	}
	headroom := (1 - upgradeMargin) * budget
	rem := budget
	extra := 0.0 // the least more a further step needs, for a try
	order := make([]int, len(videos))
	for {
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(x, y int) int { return alloc[x] - alloc[y] })
		stepped := false
		for _, i := range order {
			if silent[i] {
				continue
			}
			up := videos[i].up
			to := alloc[i] + 1
			for to < len(up.layers) && !up.layerAvailable(to, time.Since(up.epoch)) {
				to++
			}
			if to >= len(up.layers) {
				continue
			}
			c := cost(i, to)
			keep := to <= cur[i]
			limit := rem
			if to == 0 {
				// Video stops only well below its lowest layer:
				// a picture at a little less than its rate, late
				// or with a loss now and then, beats none.
				limit = rem / lowestKeep
			}
			if keep && c <= limit || !keep && quiet && c <= rem-headroom {
				rem -= c
				alloc[i] = to
				stepped = true
			} else if !keep && (extra == 0 || c < extra) {
				extra = c
			}
		}
		if !stepped {
			break
		}
	}
	// Video is paused only for a link that cannot carry the lowest layer.
	// A lowest layer that is not arriving (the publisher's link just came
	// back, or a layer is being resumed) leaves nothing to choose above,
	// but it is waited for, not given up: the publisher never stops it.
	for i := range videos {
		if silent[i] || alloc[i] >= 0 {
			continue
		}
		if c := videos[i].up.layerRate(0); c <= rem/lowestKeep {
			alloc[i] = 0
			rem -= c
		}
	}
	lh, _ := p.h.(LinkHandler)
	if st.LastDecrease.After(a.seenDecrease) {
		a.seenDecrease, a.congested = st.LastDecrease, true
	}
	level := LinkGood
	for i, dt := range videos {
		if silent[i] {
			continue
		}
		if alloc[i] < cur[i] {
			a.lastDown = now
		}
		if dt.setTarget(alloc[i]) {
			p.log.Debug("layer", "track", dt.id, "from", cur[i], "to", alloc[i], "estimate", st.Estimate)
			dt.up.kickControl()
			if lh != nil && (alloc[i] < 0) != (cur[i] < 0) {
				lh.VideoPaused(dt.streamID, alloc[i] < 0)
			}
		}
		dt.keyframeIfSwitching()
		best := len(dt.up.layers) - 1
		for best > 0 && !dt.up.layerAvailable(best, time.Since(dt.up.epoch)) {
			best--
		}
		switch {
		case alloc[i] < 0:
			level = LinkVeryWeak
		case alloc[i] < best && level == LinkGood:
			level = LinkWeak
		}
	}
	if level == LinkGood {
		a.congested = false
	}
	if !a.congested {
		level = LinkGood
	}
	if level != a.level {
		if a.level != "" || level != LinkGood {
			p.log.Debug("downlink", "level", level, "estimate", st.Estimate)
			if lh != nil {
				lh.Downlink(level, st.Estimate)
			}
		}
		a.level = level
	}

	if extra == 0 || !a.trialStart.IsZero() || !quiet || now.Before(a.nextTrial) || now.Sub(st.LastDecrease) < trialQuiet {
		return
	}
	// What the cheapest further step needs: the estimate at which the
	// budget b has c <= rem + (b - budget) - (1-margin)·b.
	need := (extra-rem+budget)/upgradeMargin + float64(audios*audioReserve) + 1
	var padded *downTrack
	sending := float64(audios * audioReserve)
	for i, dt := range videos {
		if alloc[i] >= 0 {
			sending += dt.up.layerRate(alloc[i])
			if padded == nil && dt.layered {
				padded = dt
			}
		}
	}
	if padded == nil {
		// Nothing to pad after: try the step itself.
		p.subBWE.Raise(uint64(need))
		a.trialStart = now
		p.log.Debug("layer try", "estimate", st.Estimate, "raised", uint64(need))
		return
	}
	target := min(need, probeGain*float64(st.Estimate))
	if target <= sending {
		p.subBWE.Raise(uint64(target))
		return
	}
	a.probe, a.probeTarget, a.trialStart = padded, target, now
	padded.padRate.Store(uint64(target - sending))
	p.log.Debug("probe", "estimate", st.Estimate, "target", uint64(target), "padding", uint64(target-sending))
}

// controlLayers tells the publisher of the simulcast track up which layers
// its subscribers need, and measures each layer's rate, until the
// participant closes. A layer is resumed as soon as someone needs it and
// paused once no one has for layerPauseDelay; the lowest layer is never
// paused, so that every subscriber has somewhere to fall back to at once.
func (p *Participant) controlLayers(up *upTrack) {
	lh, _ := p.h.(LayerHandler)
	var unneeded time.Time
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-p.sfu.clock.After(layerMeasure):
			up.measureLayers(time.Now())
		case <-up.kick:
		}
		now := time.Now()
		needed := uint32(1)
		if downs := up.downs.Load(); downs != nil {
			for _, dt := range *downs {
				c, t := dt.layerState()
				if c >= 0 {
					needed |= 1 << c
				}
				if t >= 0 {
					needed |= 1 << t
				}
			}
		}
		active := up.active.Load()
		next := active | needed
		if active&^needed != 0 {
			if unneeded.IsZero() {
				unneeded = now
			}
			if now.Sub(unneeded) >= layerPauseDelay {
				next = needed
				unneeded = time.Time{}
			}
		} else {
			unneeded = time.Time{}
		}
		if next == active {
			continue
		}
		mono := time.Since(up.epoch)
		for i, l := range up.layers {
			if next&^active&(1<<i) != 0 {
				l.resumedAt.Store(int64(mono))
			}
		}
		up.active.Store(next)
		var rids []string
		for i, l := range up.layers {
			if next&(1<<i) != 0 {
				rids = append(rids, l.rid)
			}
		}
		p.log.Debug("layers active", "track", up.id, "rids", rids)
		if next&^active != 0 {
			up.requestKeyframes()
		}
		if lh != nil {
			lh.Layers(up.kind.String(), rids)
		}
		p.sfu.stats.layerChanges.Add(1)
	}
}

// measureLayers updates each layer's rate from the bytes it received since
// the last measurement; a layer that received nothing keeps its last rate.
func (u *upTrack) measureLayers(now time.Time) {
	for _, l := range u.layers {
		b := l.bytes.Load()
		if !l.measuredAt.IsZero() {
			if d := now.Sub(l.measuredAt).Seconds(); d > 0 && b > l.measured {
				l.rate.Store(uint64(float64(b-l.measured) * 8 / d))
			}
		}
		l.measured, l.measuredAt = b, now
	}
}

// kickControl wakes the publisher's layer control loop.
func (u *upTrack) kickControl() {
	select {
	case u.kick <- struct{}{}:
	default:
	}
}

// targetLayer returns the layer the subscriber is to receive, -1 if video
// is paused for it.
func (dt *downTrack) targetLayer() int {
	dt.mu.Lock()
	defer dt.mu.Unlock()
	return dt.target
}

// layerState returns the layer forwarded and the one wanted.
func (dt *downTrack) layerState() (cur, target int) {
	dt.mu.Lock()
	defer dt.mu.Unlock()
	return dt.cur, dt.target
}

// setTarget makes layer the one to switch to at its next keyframe (-1:
// pause video now); false if it already was.
func (dt *downTrack) setTarget(layer int) bool {
	dt.mu.Lock()
	if layer == dt.target {
		dt.mu.Unlock()
		return false
	}
	wasPaused := dt.target < 0
	dt.target = layer
	if layer < 0 {
		dt.cur = -1
	}
	dt.want.Store(int32(layer))
	dt.mu.Unlock()
	switch {
	case layer < 0:
		dt.stats.videoPaused.Add(1)
	case wasPaused:
		dt.stats.videoPaused.Add(-1)
	}
	return true
}

// keyframeIfSwitching asks for a keyframe of the target layer while the
// subscriber waits to switch to it (throttled by the layer's requester).
func (dt *downTrack) keyframeIfSwitching() {
	dt.mu.Lock()
	switching := dt.bound && dt.target >= 0 && dt.target != dt.cur
	dt.mu.Unlock()
	if switching {
		dt.keyframe()
	}
}
