package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"

	"vclinic/signaling"
)

// peerEnv is what all participants share.
type peerEnv struct {
	api         *webrtc.API
	dialer      *websocket.Dialer
	wsURLs      []string // ws://host:port/ws of each node
	joinTimeout time.Duration
	log         *slog.Logger
	latency     *latencyHistogram // one-way delays of every received packet
}

// participant is one simulated browser: a WebSocket, a publish connection that
// sends synthetic audio and video, and a subscribe connection that receives
// everyone else's.
type participant struct {
	env         *peerEnv
	room, token string
	name        string
	wsURL       string // the node this participant joins through
	log         *slog.Logger

	// Written by start before it returns; read-only afterwards.
	id             string
	joinSent       time.Time
	joinedAfter    time.Duration // join sent → joined
	connectedAfter time.Duration // join sent → publish connection connected

	ws       *websocket.Conn
	wmu      sync.Mutex // serialises WebSocket writes
	pub, sub *webrtc.PeerConnection
	// The synthetic sources and their tracks. Only sendLoop polls the sources;
	// the RTCP reader asks vp8 for keyframes.
	opus                   *opusSource
	vp8                    *vp8Source
	audioTrack, videoTrack *webrtc.TrackLocalStaticRTP

	pubGate, subGate candidateGate

	cancel    context.CancelFunc
	connected chan struct{} // closed when the publish connection connects
	failed    chan struct{} // closed by fail
	failOnce  sync.Once
	failErr   error // written once before failed is closed
	closing   atomic.Bool

	sentAudio, sentVideo atomic.Int64 // packets written to the publish connection
	skipped              atomic.Int64 // packets or frames skipped by a late sender
	keyframeRequests     atomic.Int64 // PLI and FIR from the server
	serverErrors         atomic.Int64 // error messages from the server after join
	subOffers            atomic.Int64 // subscribe offers answered
	subState             atomic.Int32 // webrtc.PeerConnectionState of the subscribe connection

	mu     sync.Mutex // guards the following and wg.Add after close
	tracks []*remoteTrack
	closed bool
	wg     sync.WaitGroup // every goroutine this participant starts
}

// remoteTrack counts what arrives on one subscribed track.
type remoteTrack struct {
	publisher string // the MediaStream id: the publisher's participant id
	kind      webrtc.RTPCodecType

	mu      sync.Mutex // guards the following
	seq     seqCounter
	firstAt time.Time
}

func (t *remoteTrack) snapshot() (seqSnapshot, time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.seq.snapshot(), t.firstAt
}

// Message ids name our own messages, so that an error about them can be
// recognised; writeDeadline bounds one WebSocket write.
const (
	refJoin       = "join"
	refPubOffer   = "publish-offer"
	refSubAnswer  = "subscribe-answer"
	writeDeadline = 5 * time.Second
)

// start joins the room and brings up publishing; it returns once the publish
// connection is connected, or the reason it could not be. Call close afterwards
// either way.
func (p *participant) start(parent context.Context) error {
	ctx, cancel := context.WithCancel(parent)
	p.cancel = cancel
	p.connected = make(chan struct{})
	p.failed = make(chan struct{})
	deadline := time.Now().Add(p.env.joinTimeout)
	dctx, dcancel := context.WithDeadline(ctx, deadline)
	defer dcancel()

	hdr := http.Header{"Authorization": {"Bearer " + p.token}}
	ws, resp, err := p.env.dialer.DialContext(dctx, p.wsURL+"?room="+url.QueryEscape(p.room), hdr)
	if err != nil {
		if resp != nil {
			return fmt.Errorf("room %s: websocket: %w (HTTP %s)", p.room, err, resp.Status)
		}
		return fmt.Errorf("room %s: websocket: %w", p.room, err)
	}
	p.ws = ws
	p.joinSent = time.Now()
	if err := p.send(signaling.TypeJoin, refJoin, signaling.Join{Version: signaling.ProtocolVersion, Name: p.name}); err != nil {
		return fmt.Errorf("room %s: send join: %w", p.room, err)
	}
	if err := p.awaitJoined(deadline); err != nil {
		return fmt.Errorf("room %s: %w", p.room, err)
	}
	p.joinedAfter = time.Since(p.joinSent)
	p.log = p.log.With("participant", p.id)

	if err := p.newConnections(); err != nil {
		return fmt.Errorf("room %s: %w", p.room, err)
	}
	p.goroutine(func() { p.readLoop() })
	if err := p.offerPublish(); err != nil {
		return fmt.Errorf("room %s: %w", p.room, err)
	}
	select {
	case <-p.connected:
	case <-p.failed:
		return fmt.Errorf("room %s: %w", p.room, p.failErr)
	case <-dctx.Done():
		return fmt.Errorf("room %s: publish connection not connected within %s", p.room, p.env.joinTimeout)
	}
	p.connectedAfter = time.Since(p.joinSent)
	p.goroutine(func() { p.sendLoop(ctx) })
	return nil
}

// awaitJoined reads until joined arrives or the server refuses the join.
func (p *participant) awaitJoined(deadline time.Time) error {
	_ = p.ws.SetReadDeadline(deadline)
	defer p.ws.SetReadDeadline(time.Time{})
	for {
		var env signaling.Envelope
		if err := p.ws.ReadJSON(&env); err != nil {
			return fmt.Errorf("waiting for joined: %w", err)
		}
		switch env.Type {
		case signaling.TypeJoined:
			var j signaling.Joined
			if err := json.Unmarshal(env.Payload, &j); err != nil {
				return fmt.Errorf("joined: %w", err)
			}
			p.id = j.ParticipantID
			return nil
		case signaling.TypeError:
			var e signaling.Error
			_ = json.Unmarshal(env.Payload, &e)
			return fmt.Errorf("join refused: %s: %s", e.Code, e.Message)
		case signaling.TypeLeave:
			return errors.New("the server ended the session before joined")
		}
	}
}

// newConnections creates both peer connections and their callbacks. They get no
// ICE servers, not even those in joined: vcload talks only to the server's URL
// and, over ICE, to its host candidates.
func (p *participant) newConnections() error {
	var err error
	if p.pub, err = p.env.api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		return fmt.Errorf("publish connection: %w", err)
	}
	if p.sub, err = p.env.api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		return fmt.Errorf("subscribe connection: %w", err)
	}
	p.pub.OnICECandidate(func(c *webrtc.ICECandidate) { p.localCandidate(signaling.PCPublish, &p.pubGate, c) })
	p.sub.OnICECandidate(func(c *webrtc.ICECandidate) { p.localCandidate(signaling.PCSubscribe, &p.subGate, c) })
	var connectedOnce sync.Once
	p.pub.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		switch s {
		case webrtc.PeerConnectionStateConnected:
			connectedOnce.Do(func() { close(p.connected) })
		case webrtc.PeerConnectionStateFailed:
			p.fail(errors.New("publish connection failed"))
		}
	})
	p.sub.OnConnectionStateChange(func(s webrtc.PeerConnectionState) { p.subState.Store(int32(s)) })
	p.sub.OnTrack(func(tr *webrtc.TrackRemote, rc *webrtc.RTPReceiver) {
		t := &remoteTrack{publisher: tr.StreamID(), kind: tr.Kind()}
		p.mu.Lock()
		p.tracks = append(p.tracks, t)
		p.mu.Unlock()
		p.goroutine(func() { receiveTrack(tr, t, p.env.latency) })
		p.goroutine(func() { drainRTCP(rc.ReadRTCP) })
	})
	return nil
}

// offerPublish adds sendonly audio and video and offers them to the server.
func (p *participant) offerPublish() error {
	audio, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: opusClockRate, Channels: 2}, "audio", p.id)
	if err != nil {
		return fmt.Errorf("audio track: %w", err)
	}
	video, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: vp8ClockRate}, "video", p.id)
	if err != nil {
		return fmt.Errorf("video track: %w", err)
	}
	now := time.Now()
	p.vp8 = newVP8Source(now, uint16(rand.Uint32()), rand.Uint32(), uint16(rand.Uint32()))
	opus := newOpusSource(now, uint16(rand.Uint32()), rand.Uint32())
	for _, tr := range []*webrtc.TrackLocalStaticRTP{audio, video} {
		tx, err := p.pub.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			return fmt.Errorf("add %s transceiver: %w", tr.Kind(), err)
		}
		keyframes := tr == video
		p.goroutine(func() { p.readSenderRTCP(tx.Sender(), keyframes) })
	}
	p.opus, p.audioTrack, p.videoTrack = opus, audio, video
	offer, err := p.pub.CreateOffer(nil)
	if err != nil {
		return fmt.Errorf("publish offer: %w", err)
	}
	if err := p.pub.SetLocalDescription(offer); err != nil {
		return fmt.Errorf("publish offer: %w", err)
	}
	if err := p.send(signaling.TypeOffer, refPubOffer, signaling.SDP{PC: signaling.PCPublish, SDP: offer.SDP}); err != nil {
		return fmt.Errorf("send publish offer: %w", err)
	}
	p.openGate(signaling.PCPublish, &p.pubGate)
	return nil
}

// fail records the first thing that went wrong with this participant. Errors
// while closing are expected (the server renegotiates as others leave) and not
// recorded.
func (p *participant) fail(err error) {
	if p.closing.Load() {
		return
	}
	p.failOnce.Do(func() {
		p.failErr = err
		close(p.failed)
		p.log.Warn("participant failed", "err", err)
	})
}

// failure returns what went wrong, or nil.
func (p *participant) failure() error {
	select {
	case <-p.failed:
		return p.failErr
	default:
		return nil
	}
}

// goroutine starts f as one of the participant's goroutines, unless it is closed.
func (p *participant) goroutine(f func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		f()
	}()
}

// remoteTracks returns the subscribed tracks so far.
func (p *participant) remoteTracks() []*remoteTrack {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*remoteTrack(nil), p.tracks...)
}

// close says goodbye, closes both connections and the WebSocket, and waits for
// every goroutine. Safe after a failed start.
func (p *participant) close() {
	p.closing.Store(true)
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	if p.cancel != nil {
		p.cancel()
	}
	if p.ws != nil && p.id != "" {
		// leave removes us at once instead of after the grace period.
		_ = p.send(signaling.TypeLeave, "", signaling.Leave{})
	}
	for _, pc := range []*webrtc.PeerConnection{p.pub, p.sub} {
		if pc != nil {
			if err := pc.Close(); err != nil {
				p.log.Debug("close peer connection", "err", err)
			}
		}
	}
	if p.ws != nil {
		p.wmu.Lock()
		_ = p.ws.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		p.wmu.Unlock()
		p.ws.Close()
	}
	p.wg.Wait()
}
