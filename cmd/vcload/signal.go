package main

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"vclinic/signaling"
)

// This file is a participant's side of the signaling protocol
// (signaling/protocol.go) after join: answers, subscribe offers and trickled
// candidates both ways.

// candidateGate holds local candidates until the description they belong to has
// been sent, so that the server never sees a candidate before its offer or answer.
type candidateGate struct {
	mu     sync.Mutex // guards the following
	open   bool
	queued []*webrtc.ICECandidate
}

// readLoop handles the server's messages until the WebSocket ends.
func (p *participant) readLoop() {
	// Remote candidates that arrive before the description they belong to
	// (the server trickles as soon as it has them). Reader goroutine only.
	pending := map[string][]webrtc.ICECandidateInit{}
	for {
		var env signaling.Envelope
		if err := p.ws.ReadJSON(&env); err != nil {
			if !p.closing.Load() {
				p.fail(fmt.Errorf("signaling: %w", err))
			}
			return
		}
		if err := p.handle(env, pending); err != nil {
			p.fail(err)
		}
	}
}

func (p *participant) handle(env signaling.Envelope, pending map[string][]webrtc.ICECandidateInit) error {
	switch env.Type {
	case signaling.TypeAnswer:
		var m signaling.SDP
		if err := json.Unmarshal(env.Payload, &m); err != nil {
			return fmt.Errorf("answer: %w", err)
		}
		if m.PC != signaling.PCPublish {
			return fmt.Errorf("answer for %q: the server answers only on %q", m.PC, signaling.PCPublish)
		}
		if err := p.pub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: m.SDP}); err != nil {
			return fmt.Errorf("publish answer: %w", err)
		}
		return p.addPending(p.pub, signaling.PCPublish, pending)
	case signaling.TypeOffer:
		var m signaling.SDP
		if err := json.Unmarshal(env.Payload, &m); err != nil {
			return fmt.Errorf("offer: %w", err)
		}
		if m.PC != signaling.PCSubscribe {
			return fmt.Errorf("offer for %q: the server offers only on %q", m.PC, signaling.PCSubscribe)
		}
		return p.answerSubscribe(m.SDP, pending)
	case signaling.TypeCandidate:
		var m signaling.Candidate
		if err := json.Unmarshal(env.Payload, &m); err != nil {
			return fmt.Errorf("candidate: %w", err)
		}
		if m.Candidate == nil || m.Candidate.Candidate == "" {
			return nil // end of candidates
		}
		c := webrtc.ICECandidateInit{
			Candidate:        m.Candidate.Candidate,
			SDPMid:           m.Candidate.SDPMid,
			SDPMLineIndex:    m.Candidate.SDPMLineIndex,
			UsernameFragment: m.Candidate.UsernameFragment,
		}
		pc := p.pub
		if m.PC == signaling.PCSubscribe {
			pc = p.sub
		}
		if pc.RemoteDescription() == nil {
			pending[m.PC] = append(pending[m.PC], c)
			return nil
		}
		if err := pc.AddICECandidate(c); err != nil {
			return fmt.Errorf("%s candidate: %w", m.PC, err)
		}
	case signaling.TypeError:
		var e signaling.Error
		_ = json.Unmarshal(env.Payload, &e)
		p.serverErrors.Add(1)
		if e.Ref == refJoin || e.Ref == refPubOffer {
			return fmt.Errorf("server refused %s: %s: %s", e.Ref, e.Code, e.Message)
		}
		p.log.Warn("server error", "code", e.Code, "message", e.Message, "ref", e.Ref)
	case signaling.TypeLeave:
		var l signaling.Leave
		_ = json.Unmarshal(env.Payload, &l)
		if !p.closing.Load() {
			return fmt.Errorf("the server ended the session: %s", l.Reason)
		}
	}
	return nil
}

// answerSubscribe applies a subscribe offer, first or renegotiated, and answers it.
func (p *participant) answerSubscribe(sdp string, pending map[string][]webrtc.ICECandidateInit) error {
	if err := p.sub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
		return fmt.Errorf("subscribe offer: %w", err)
	}
	if err := p.addPending(p.sub, signaling.PCSubscribe, pending); err != nil {
		return err
	}
	answer, err := p.sub.CreateAnswer(nil)
	if err != nil {
		return fmt.Errorf("subscribe answer: %w", err)
	}
	if err := p.sub.SetLocalDescription(answer); err != nil {
		return fmt.Errorf("subscribe answer: %w", err)
	}
	if err := p.send(signaling.TypeAnswer, refSubAnswer, signaling.SDP{PC: signaling.PCSubscribe, SDP: answer.SDP}); err != nil {
		return fmt.Errorf("send subscribe answer: %w", err)
	}
	p.openGate(signaling.PCSubscribe, &p.subGate)
	p.subOffers.Add(1)
	return nil
}

func (p *participant) addPending(pc *webrtc.PeerConnection, name string, pending map[string][]webrtc.ICECandidateInit) error {
	for _, c := range pending[name] {
		if err := pc.AddICECandidate(c); err != nil {
			return fmt.Errorf("%s candidate: %w", name, err)
		}
	}
	delete(pending, name)
	return nil
}

// localCandidate trickles one of our candidates (nil: gathering is done), or
// queues it while the gate is shut.
func (p *participant) localCandidate(pc string, g *candidateGate, c *webrtc.ICECandidate) {
	g.mu.Lock()
	if !g.open {
		g.queued = append(g.queued, c)
		g.mu.Unlock()
		return
	}
	g.mu.Unlock()
	p.sendCandidate(pc, c)
}

// openGate sends what the gate held and lets later candidates through.
func (p *participant) openGate(pc string, g *candidateGate) {
	g.mu.Lock()
	queued := g.queued
	g.queued, g.open = nil, true
	g.mu.Unlock()
	for _, c := range queued {
		p.sendCandidate(pc, c)
	}
}

func (p *participant) sendCandidate(pc string, c *webrtc.ICECandidate) {
	m := signaling.Candidate{PC: pc}
	if c != nil {
		init := c.ToJSON()
		m.Candidate = &signaling.ICECandidate{
			Candidate:        init.Candidate,
			SDPMid:           init.SDPMid,
			SDPMLineIndex:    init.SDPMLineIndex,
			UsernameFragment: init.UsernameFragment,
		}
	}
	if err := p.send(signaling.TypeCandidate, "", m); err != nil && !p.closing.Load() {
		p.fail(fmt.Errorf("send %s candidate: %w", pc, err))
	}
}

// send writes one message.
func (p *participant) send(typ, id string, payload any) error {
	raw, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("%s: %w", typ, err)
	}
	p.wmu.Lock()
	defer p.wmu.Unlock()
	_ = p.ws.SetWriteDeadline(time.Now().Add(writeDeadline))
	return p.ws.WriteJSON(signaling.Envelope{Type: typ, ID: id, Payload: raw})
}
