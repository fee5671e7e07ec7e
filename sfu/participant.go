package sfu

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"vclinic/sfu/mediaio"
)

// gatherWait bounds how long HandleOffer waits for ICE gathering so that its
// answer carries the candidates. With the muxes and no STUN server,
// gathering takes a few milliseconds.
const gatherWait = 2 * time.Second

// Participant is one client in a room, with its publish and subscribe
// PeerConnections. Its methods are safe for concurrent use.
type Participant struct {
	id, roomID string
	sfu        *SFU
	h          Handler
	log        *slog.Logger

	pub, sub         *webrtc.PeerConnection
	subBWE           *mediaio.SendEstimator // the bandwidth from us to the client
	alloc            allocState             // owned by the allocator goroutine
	link             linkCounters           // for Link, beyond the subscriptions now
	pubGate, subGate *candidateGate

	ctx     context.Context // cancelled by Close
	cancel  context.CancelFunc
	wg      sync.WaitGroup // every goroutine this participant owns
	negKick chan struct{}  // capacity 1: wakes the negotiator

	room *room // set by SFU.admit before the participant is used

	published map[webrtc.RTPCodecType]*upTrack // guarded by room.mu

	mu       sync.Mutex // guards the following
	stopping bool
	down     map[*upTrack]*downTrack // what this participant subscribes to

	negMu        sync.Mutex // guards the following
	offerPending bool       // a subscribe offer awaits its answer
	offerRestart bool       // that offer restarts ICE
	offerSDP     string     // that offer
	resend       bool       // send that offer again: its answer was bad
	offered      bool       // the first subscribe offer has been made
	subConnected bool       // the subscribe connection's ICE has connected once
	dirty        bool       // the subscribe connection changed since the last offer
	restart      bool       // the next offer restarts ICE

	pubStarted     chan struct{} // closed when the publish connection's ICE has started
	pubStartedOnce sync.Once

	pubMu     sync.Mutex // serialises HandleOffer
	ansMu     sync.Mutex // serialises HandleAnswer
	closeOnce sync.Once
}

func newParticipant(s *SFU, roomID, id string, h Handler) (*Participant, error) {
	ctx, cancel := context.WithCancel(context.Background())
	p := &Participant{
		id:         id,
		roomID:     roomID,
		sfu:        s,
		h:          h,
		log:        s.logger.With("room", roomID, "participant", id),
		ctx:        ctx,
		cancel:     cancel,
		negKick:    make(chan struct{}, 1),
		pubStarted: make(chan struct{}),
		published:  map[webrtc.RTPCodecType]*upTrack{},
		down:       map[*upTrack]*downTrack{},
	}
	var err error
	if p.pub, _, err = s.engine.newPeerConnection(false); err != nil {
		cancel()
		return nil, fmt.Errorf("publish connection: %w", err)
	}
	if p.sub, p.subBWE, err = s.engine.newPeerConnection(true); err != nil {
		cancel()
		_ = p.pub.Close()
		return nil, fmt.Errorf("subscribe connection: %w", err)
	}
	p.pubGate = newCandidateGate(Publish, p.pub, h, p.log, s.advertise)
	p.subGate = newCandidateGate(Subscribe, p.sub, h, p.log, s.advertise)
	for pc, conn := range map[PC]*webrtc.PeerConnection{Publish: p.pub, Subscribe: p.sub} {
		conn.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
			p.log.Debug("connection state", "pc", pc, "state", st)
			h.ConnectionState(pc, st)
		})
	}
	p.pub.OnICEConnectionStateChange(func(st webrtc.ICEConnectionState) {
		if st != webrtc.ICEConnectionStateNew {
			p.pubStartedOnce.Do(func() { close(p.pubStarted) })
		}
	})
	p.sub.OnICEConnectionStateChange(func(st webrtc.ICEConnectionState) {
		if st == webrtc.ICEConnectionStateConnected || st == webrtc.ICEConnectionStateCompleted {
			p.negMu.Lock()
			p.subConnected = true
			p.negMu.Unlock()
			p.kickNegotiator()
		}
	})
	p.pub.OnTrack(p.onTrack)
	return p, nil
}

// ID returns the participant id.
func (p *Participant) ID() string { return p.id }

// Room returns the room id.
func (p *Participant) Room() string { return p.roomID }

// start starts the negotiator and the allocator of the layers it
// receives.
func (p *Participant) start() {
	p.spawn(p.negotiator)
	p.spawn(p.allocator)
}

// spawn runs f in a goroutine this participant owns, unless it is closing.
func (p *Participant) spawn(f func()) {
	if p.enter() {
		go func() {
			defer p.wg.Done()
			f()
		}()
	}
}

// enter counts the caller as one of the participant's goroutines; false if
// the participant is closing. The caller calls p.wg.Done when it returns.
func (p *Participant) enter() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopping {
		return false
	}
	p.wg.Add(1)
	return true
}

func (p *Participant) isStopping() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stopping
}

// HandleOffer applies the client's offer on the publish connection (also an
// ICE-restart offer) and returns the answer, which carries the local
// candidates. Errors wrap ErrBadSDP for an offer that cannot be parsed or
// applied, and ErrClosed after Close.
func (p *Participant) HandleOffer(offer string) (answer string, err error) {
	p.pubMu.Lock()
	defer p.pubMu.Unlock()
	if p.isStopping() {
		return "", fmt.Errorf("participant %s: publish offer: %w", p.id, ErrClosed)
	}
	if err := checkSDP(offer); err != nil {
		return "", fmt.Errorf("participant %s: publish offer: %w: %w", p.id, ErrBadSDP, err)
	}
	if p.pub.CurrentRemoteDescription() != nil {
		// Pion compares a re-offer's ICE credentials with those its ICE
		// transport was started with; before that start, which pion runs
		// asynchronously after the first offer, every re-offer would look
		// like an ICE restart (RFC 8445 §9). Wait for it.
		select {
		case <-p.pubStarted:
		case <-time.After(gatherWait):
		case <-p.ctx.Done():
			return "", fmt.Errorf("participant %s: publish offer: %w", p.id, ErrClosed)
		}
	}
	p.pubGate.holdLocal()
	released := false
	defer func() {
		if !released {
			p.pubGate.releaseLocal()
		}
	}()
	if err := p.pub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		if p.pub.SignalingState() == webrtc.SignalingStateHaveRemoteOffer {
			// Pion took the offer in before refusing it and cannot roll
			// back; checkSDP is there to make this rare.
			p.log.Warn("publish connection took a bad offer and cannot take another; the client must rejoin", "err", err)
		}
		return "", p.sdpErr("publish offer", err)
	}
	p.pubGate.releaseRemote()
	a, err := p.pub.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("participant %s: publish answer: %w", p.id, err)
	}
	if err := p.pub.SetLocalDescription(a); err != nil {
		return "", fmt.Errorf("participant %s: publish answer: %w", p.id, err)
	}
	// The answer goes back through our caller, and a candidate sent through
	// the Handler meanwhile could overtake it; so the answer carries the
	// candidates instead (gathering on the muxes is immediate).
	select {
	case <-webrtc.GatheringCompletePromise(p.pub):
	case <-time.After(gatherWait):
		p.log.Debug("gathering not complete; the rest of the candidates trickle")
	case <-p.ctx.Done():
		return "", fmt.Errorf("participant %s: publish answer: %w", p.id, ErrClosed)
	}
	released = true
	return p.pubGate.releaseLocalInto(), nil
}

// HandleAnswer applies the client's answer to the last SubscribeOffer.
// Errors wrap ErrBadSDP for an answer that cannot be parsed or applied or
// that answers no offer, and ErrClosed after Close. After a bad answer the
// offer comes again through Handler.SubscribeOffer.
func (p *Participant) HandleAnswer(answer string) error {
	p.ansMu.Lock()
	defer p.ansMu.Unlock()
	if p.isStopping() {
		return fmt.Errorf("participant %s: subscribe answer: %w", p.id, ErrClosed)
	}
	p.negMu.Lock()
	pending := p.offerPending
	p.negMu.Unlock()
	if !pending {
		return fmt.Errorf("participant %s: subscribe answer: %w: no offer outstanding", p.id, ErrBadSDP)
	}
	err := checkSDP(answer)
	if err == nil {
		err = p.sub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer})
	}
	if err != nil {
		p.retryOffer()
		return p.sdpErr("subscribe answer", err)
	}
	p.subGate.releaseRemote()
	p.negMu.Lock()
	p.offerPending = false
	p.negMu.Unlock()
	p.kickNegotiator() // send what changed meanwhile
	return nil
}

// retryOffer deals with a bad answer to the outstanding subscribe offer.
// Pion cannot roll the offer back, so while it stands the same offer is sent
// again for a new answer; if pion took the bad answer in, a new offer
// follows.
func (p *Participant) retryOffer() {
	p.negMu.Lock()
	if p.sub.SignalingState() == webrtc.SignalingStateHaveLocalOffer {
		p.resend = true
	} else {
		p.offerPending = false
		p.dirty = true
		p.restart = p.restart || p.offerRestart
	}
	p.negMu.Unlock()
	p.kickNegotiator()
}

// sdpErr wraps an error of SetRemoteDescription.
func (p *Participant) sdpErr(op string, err error) error {
	if p.isStopping() {
		return fmt.Errorf("participant %s: %s: %w", p.id, op, ErrClosed)
	}
	return fmt.Errorf("participant %s: %s: %w: %w", p.id, op, ErrBadSDP, err)
}

// AddCandidate adds the client's ICE candidate for connection pc (an empty
// Candidate marks the end of candidates). Candidates that come before the
// description they belong to are held. Errors wrap ErrBadCandidate, or
// ErrClosed after Close.
func (p *Participant) AddCandidate(pc PC, c webrtc.ICECandidateInit) error {
	var g *candidateGate
	switch pc {
	case Publish:
		g = p.pubGate
	case Subscribe:
		g = p.subGate
	default:
		return fmt.Errorf("participant %s: add candidate: %w: unknown connection %q", p.id, ErrBadCandidate, pc)
	}
	if p.isStopping() {
		return fmt.Errorf("participant %s: add %s candidate: %w", p.id, pc, ErrClosed)
	}
	if err := g.addRemote(c); err != nil {
		return fmt.Errorf("participant %s: add %s candidate: %w", p.id, pc, err)
	}
	return nil
}

// RestartICE re-offers the subscribe connection with new ICE credentials
// (RFC 8445 §9). The offer comes through Handler.SubscribeOffer, after the
// answer to any offer still outstanding.
func (p *Participant) RestartICE() error {
	if p.isStopping() {
		return fmt.Errorf("participant %s: restart ICE: %w", p.id, ErrClosed)
	}
	p.requestNegotiation(true)
	return nil
}

// Close takes the participant out of its room: the others stop receiving
// its tracks and are re-offered without them. It closes both connections and
// waits for the participant's goroutines. It is idempotent.
func (p *Participant) Close() {
	p.closeOnce.Do(func() {
		ups, others := p.sfu.leave(p)
		for _, up := range ups {
			up.close()
		}
		for _, o := range others {
			o.unsubscribe(ups)
		}
		p.shutdown()
		p.log.Debug("participant left")
	})
}

// shutdown ends the participant's subscriptions, connections and
// goroutines, and waits for them.
func (p *Participant) shutdown() {
	p.mu.Lock()
	p.stopping = true
	down := p.down
	p.down = nil
	p.mu.Unlock()

	for up, dt := range down {
		up.detach(dt)
	}
	p.cancel()
	// Closing the connections ends the reads of the reader and RTCP
	// goroutines, and any write a writer is in.
	if err := p.pub.GracefulClose(); err != nil {
		p.log.Debug("close publish connection", "err", err)
	}
	if err := p.sub.GracefulClose(); err != nil {
		p.log.Debug("close subscribe connection", "err", err)
	}
	for _, dt := range down {
		dt.close()
		dt.retire()
	}
	p.wg.Wait()
}

// onTrack is pion's OnTrack callback for the publish connection, called in
// a goroutine of its own; that goroutine becomes the track's reader.
func (p *Participant) onTrack(remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	if !p.enter() {
		return
	}
	defer p.wg.Done()

	kind := remote.Kind()
	// Simulcast (RFC 8853): pion calls OnTrack once per layer, each with
	// its RID; the receiver's tracks list them all, in the order of the
	// offer's rids, which is the order of the publisher's encodings, lowest
	// first as browsers are asked to send them.
	var rids []string
	if remote.RID() != "" && kind == webrtc.RTPCodecTypeVideo {
		for _, t := range recv.Tracks() {
			if len(rids) < maxLayers {
				rids = append(rids, t.RID())
			}
		}
	}
	up, created, subscribers := p.room.publish(p, kind, func() *upTrack {
		up := newUpTrack(p.id, remote.Codec(), kind, rids...)
		if kind == webrtc.RTPCodecTypeVideo {
			for i, l := range up.layers {
				l.keyframes = newKeyframeRequester(p.sfu.cfg.KeyframeInterval, p.sfu.clock, func() { p.sendPLI(up, i) })
				l.hist = newHistory(p.sfu.cfg.NACKHistory)
			}
		}
		p.sfu.stats.tracks.Add(1)
		up.redTracks = &p.sfu.stats.redTracks
		return up
	})
	if up == nil {
		return // left meanwhile
	}
	i := up.layerOf(remote.RID())
	gen := up.setSource(i, remote, recv.GetParameters().Codecs)
	p.spawn(func() { drainRTCP(recv, remote.RID()) })
	if created {
		p.log.Debug("track published", "track", up.id, "ssrc", remote.SSRC(), "codec", remote.Codec().MimeType, "layers", len(up.layers))
		for _, l := range up.layers {
			if l.keyframes != nil {
				p.spawn(func() { l.keyframes.run(p.ctx) })
			}
		}
		if kind == webrtc.RTPCodecTypeVideo {
			p.spawn(func() { p.sendREMB(up) })
		}
		if up.layered() {
			p.spawn(func() { p.controlLayers(up) })
		}
		for _, s := range subscribers {
			s.subscribe(up)
		}
	}
	if up.layered() && up.layers[i].rid == remote.RID() && gen == 1 && !up.layers[i].counted.Swap(true) {
		// Counted unless the publisher has left meanwhile (leave uncounts).
		p.sfu.stats.simulcastLayers.Add(1)
		if p.room.hasPublished(p, up) {
			p.log.Debug("layer published", "track", up.id, "rid", remote.RID(), "ssrc", remote.SSRC())
		} else if up.layers[i].counted.Swap(false) {
			p.sfu.stats.simulcastLayers.Add(-1)
		}
	}
	if !created && !(up.layered() && gen == 1) {
		// Same kind again: a restarted or replaced track. The subscribers'
		// downTracks carry on with it and need a keyframe from it.
		p.log.Debug("track restarted", "track", up.id, "rid", remote.RID(), "ssrc", remote.SSRC())
		up.requestKeyframe(i)
	}
	up.read(i, remote, gen)
}

// drainRTCP reads and discards the RTCP a receiver gets (the publisher's
// sender reports, which pion's interceptors have already used).
func drainRTCP(r *webrtc.RTPReceiver, rid string) {
	buf := make([]byte, receiveMTU)
	for {
		read := r.Read
		if rid != "" {
			read = func(b []byte) (int, interceptor.Attributes, error) { return r.ReadSimulcast(b, rid) }
		}
		if _, _, err := read(buf); err != nil {
			return
		}
	}
}

// sendPLI asks the publisher for a keyframe of layer i of up (RFC 4585
// §6.3.1).
func (p *Participant) sendPLI(up *upTrack, i int) {
	ssrc := up.layers[i].remoteSSRC.Load()
	if ssrc == 0 {
		return // the layer has not started
	}
	pli := &rtcp.PictureLossIndication{MediaSSRC: ssrc}
	if err := p.pub.WriteRTCP([]rtcp.Packet{pli}); err != nil {
		p.log.Debug("send PLI", "track", up.id, "err", err)
		return
	}
	p.sfu.stats.plis.Add(1)
}

// VideoLayers returns how many simulcast layers (RFC 8853) of the
// participant's camera have started arriving: 1 for a camera sent as one
// encoding, 0 before any video.
func (p *Participant) VideoLayers() int {
	r := p.room
	if r == nil {
		return 0
	}
	r.mu.Lock()
	up := p.published[webrtc.RTPCodecTypeVideo]
	r.mu.Unlock()
	switch {
	case up == nil:
		return 0
	case !up.layered():
		return 1
	}
	n := 0
	for _, l := range up.layers {
		if l.counted.Load() {
			n++
		}
	}
	return n
}
