package sfu

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
)

// candidateGate keeps one connection's trickled ICE candidates (RFC 8838) in
// step with its session descriptions:
//
//   - Local candidates are held while a description of ours is being made
//     and not yet handed out, so the client never gets a candidate before
//     the offer or answer it belongs to.
//   - Remote candidates are held while the remote description they belong to
//     is missing (before the first one, and while our offer awaits its
//     answer), then added.
type candidateGate struct {
	pc        PC
	conn      *webrtc.PeerConnection
	h         Handler
	log       *slog.Logger
	advertise func(string) string // rewrites our candidates' ports (advertise.go)

	mu            sync.Mutex // guards the following
	holdingLocal  bool
	local         []*webrtc.ICECandidate // nil entry: gathering done
	holdingRemote bool
	remote        []webrtc.ICECandidateInit

	// out serialises calls to Handler.Candidate for this connection, so the
	// candidates reach the Handler in the order they were gathered. It
	// guards no field; it is taken after mu.
	out sync.Mutex
}

func newCandidateGate(pc PC, conn *webrtc.PeerConnection, h Handler, log *slog.Logger, adv advertiser) *candidateGate {
	g := &candidateGate{pc: pc, conn: conn, h: h, log: log, advertise: adv.rewrite, holdingLocal: true, holdingRemote: true}
	conn.OnICECandidate(g.onLocal)
	return g
}

// onLocal is pion's OnICECandidate callback.
func (g *candidateGate) onLocal(c *webrtc.ICECandidate) {
	g.mu.Lock()
	if g.holdingLocal {
		g.local = append(g.local, c)
		g.mu.Unlock()
		return
	}
	g.out.Lock()
	g.mu.Unlock()
	g.emit(c)
	g.out.Unlock()
}

func (g *candidateGate) emit(c *webrtc.ICECandidate) {
	if c == nil {
		g.h.Candidate(g.pc, nil)
		return
	}
	init := c.ToJSON()
	init.Candidate = g.advertise(init.Candidate)
	g.h.Candidate(g.pc, &init)
}

// holdLocal holds local candidates until releaseLocal.
func (g *candidateGate) holdLocal() {
	g.mu.Lock()
	g.holdingLocal = true
	g.mu.Unlock()
}

// releaseLocal hands the held local candidates to the Handler and lets later
// ones through.
func (g *candidateGate) releaseLocal() {
	g.mu.Lock()
	held := g.local
	g.local, g.holdingLocal = nil, false
	g.out.Lock()
	g.mu.Unlock()
	defer g.out.Unlock()
	for _, c := range held {
		g.emit(c)
	}
}

// releaseLocalInto returns the local description with the candidates
// gathered so far written into it, forgets the held ones (the description
// carries them) and lets later ones through.
func (g *candidateGate) releaseLocalInto() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.local, g.holdingLocal = nil, false
	if d := g.conn.LocalDescription(); d != nil {
		return g.advertise(d.SDP)
	}
	return ""
}

// holdRemote holds remote candidates until releaseRemote.
func (g *candidateGate) holdRemote() {
	g.mu.Lock()
	g.holdingRemote = true
	g.mu.Unlock()
}

// releaseRemote adds the held remote candidates and lets later ones through.
func (g *candidateGate) releaseRemote() {
	g.mu.Lock()
	held := g.remote
	g.remote, g.holdingRemote = nil, false
	g.mu.Unlock()
	for _, c := range held {
		if err := g.conn.AddICECandidate(c); err != nil {
			g.log.Debug("add held candidate", "pc", g.pc, "err", err)
		}
	}
}

// addRemote adds a remote candidate, or holds it until its description is
// there. A candidate that does not parse is refused at once.
func (g *candidateGate) addRemote(c webrtc.ICECandidateInit) error {
	if s := strings.TrimPrefix(c.Candidate, "candidate:"); s != "" {
		if _, err := ice.UnmarshalCandidate(s); err != nil {
			return fmt.Errorf("%w: %w", ErrBadCandidate, err)
		}
	}
	g.mu.Lock()
	if g.holdingRemote {
		g.remote = append(g.remote, c)
		g.mu.Unlock()
		return nil
	}
	g.mu.Unlock()
	if err := g.conn.AddICECandidate(c); err != nil {
		return fmt.Errorf("%w: %w", ErrBadCandidate, err)
	}
	return nil
}
