package sfu

import "github.com/pion/webrtc/v4"

// This file holds the subscribe side of a participant: which published
// tracks it receives, and the offers that tell its client.
//
// Negotiation is driven here, not by pion's OnNegotiationNeeded: one
// goroutine per participant (the negotiator) makes every subscribe offer, one
// at a time. Changes that happen while an offer awaits its answer are
// collected and sent in one follow-up offer after HandleAnswer.

// subscribe starts sending up to this participant: a downTrack on the
// subscribe connection, its writer and RTCP reader, and a new offer.
// Subscribing twice to one track does nothing.
func (p *Participant) subscribe(up *upTrack) {
	p.mu.Lock()
	if p.stopping || p.down[up] != nil {
		p.mu.Unlock()
		return
	}
	queue := p.sfu.cfg.QueuePackets
	if up.kind == webrtc.RTPCodecTypeAudio {
		queue = max(queue/4, 2)
	}
	dt := newDownTrack(up, queue, &p.sfu.stats)
	dt.link = &p.link
	if !up.attach(dt) {
		p.mu.Unlock()
		return // the publisher left meanwhile
	}
	sender, err := p.sub.AddTrack(dt)
	if err != nil {
		up.detach(dt)
		p.mu.Unlock()
		p.log.Warn("subscribe", "track", up.id, "err", err)
		return
	}
	dt.sender = sender
	p.down[up] = dt
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		dt.readRTCP(p.sfu.clock)
	}()
	p.mu.Unlock()
	p.log.Debug("subscribed", "track", up.id)
	p.requestNegotiation(false)
}

// unsubscribe stops sending the given tracks, whose publisher has left, and
// re-offers.
func (p *Participant) unsubscribe(ups []*upTrack) {
	p.mu.Lock()
	if p.stopping {
		p.mu.Unlock()
		return
	}
	var removed []*downTrack
	for _, up := range ups {
		dt := p.down[up]
		if dt == nil {
			continue
		}
		delete(p.down, up)
		// Stops the sender: its RTCP reader ends and pion unbinds dt.
		if err := p.sub.RemoveTrack(dt.sender); err != nil {
			p.log.Debug("remove track", "track", up.id, "err", err)
		}
		removed = append(removed, dt)
	}
	p.mu.Unlock()
	for _, dt := range removed {
		dt.close()
		dt.retire()
		p.log.Debug("unsubscribed", "track", dt.id)
	}
	if len(removed) > 0 {
		p.requestNegotiation(false)
	}
}

// requestNegotiation asks for a new subscribe offer, with an ICE restart if
// restart is set.
func (p *Participant) requestNegotiation(restart bool) {
	p.negMu.Lock()
	p.dirty = true
	p.restart = p.restart || restart
	p.negMu.Unlock()
	p.kickNegotiator()
}

func (p *Participant) kickNegotiator() {
	select {
	case p.negKick <- struct{}{}:
	default:
	}
}

// negotiator makes the subscribe offers until the participant closes.
func (p *Participant) negotiator() {
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-p.negKick:
		}
		p.negMu.Lock()
		if p.resend {
			p.resend = false
			sdp := p.offerSDP
			p.negMu.Unlock()
			p.log.Debug("subscribe offer again")
			p.h.SubscribeOffer(sdp)
			continue
		}
		// A re-offer waits until the first negotiation has connected: a
		// client that is slow to start its ICE transport may take a
		// re-offer before then for an ICE restart (pion does). An ICE
		// restart itself never waits.
		wait := p.offered && !p.subConnected && !p.restart
		if p.offerPending || !p.dirty || wait {
			p.negMu.Unlock()
			continue
		}
		restart := p.restart
		p.dirty, p.restart, p.offerPending, p.offerRestart = false, false, true, restart
		p.negMu.Unlock()
		ok := p.offer(restart)
		p.negMu.Lock()
		if ok {
			p.offered = true
		} else {
			p.offerPending = false
		}
		p.negMu.Unlock()
	}
}

// offer makes a subscribe offer and hands it to the Handler; false if there
// was nothing to offer or it failed.
func (p *Participant) offer(restart bool) bool {
	if len(p.sub.GetTransceivers()) == 0 {
		return false // nothing subscribed yet; the first offer will come with the first track
	}
	// The answer's candidates wait for the answer; ours wait for the offer.
	p.subGate.holdRemote()
	p.subGate.holdLocal()
	defer p.subGate.releaseLocal()
	o, err := p.sub.CreateOffer(&webrtc.OfferOptions{ICERestart: restart})
	if err == nil {
		err = p.sub.SetLocalDescription(o)
	}
	if err != nil {
		if !p.isStopping() {
			p.log.Warn("subscribe offer", "err", err)
		}
		if p.sub.RemoteDescription() != nil {
			p.subGate.releaseRemote()
		}
		return false
	}
	p.log.Debug("subscribe offer", "ice_restart", restart)
	// A re-offer carries the candidates gathered by then: their ports are
	// advertised as the trickled ones are, or a client behind a port
	// forward would be offered a path around it.
	sdp := p.sfu.advertise.rewrite(o.SDP)
	p.negMu.Lock()
	p.offerSDP = sdp
	p.negMu.Unlock()
	p.h.SubscribeOffer(sdp)
	return true
}
