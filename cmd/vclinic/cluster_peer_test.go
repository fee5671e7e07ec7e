package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"vclinic/signaling"
)

// clusterPeer is a participant of real pion PeerConnections that speaks
// the signaling protocol as the browser's page does, and like it joins
// again by itself whenever its WebSocket ends (a node died, a room moved):
// through whichever node base() names at that moment, as behind a load
// balancer.
type clusterPeer struct {
	t     *testing.T
	name  string
	token string
	room  string
	base  func() string // http://host:port of the node to dial now

	mu       sync.Mutex // guards the following
	id       string     // participant id of the current session
	node     string     // node that hosts the room in the current session
	lastRx   map[string]time.Time
	sessions int
	errs     []string
}

func newClusterPeer(t *testing.T, name, token, room string, base func() string) *clusterPeer {
	return &clusterPeer{t: t, name: name, token: token, room: room, base: base, lastRx: map[string]time.Time{}}
}

// run joins, and joins again after every drop, until ctx ends.
func (p *clusterPeer) run(ctx context.Context) {
	for ctx.Err() == nil {
		p.session(ctx)
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// hears reports whether p got media of both kinds from other's current
// session within the last second, and after after.
func (p *clusterPeer) hears(other *clusterPeer, after time.Time) bool {
	oid := other.current()
	if oid == "" {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, kind := range []string{"audio", "video"} {
		at := p.lastRx[oid+"/"+kind]
		if time.Since(at) > time.Second || !at.After(after) {
			return false
		}
	}
	return true
}

func (p *clusterPeer) current() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.id
}

func (p *clusterPeer) sessionCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sessions
}

// session is one WebSocket: join, publish, subscribe, until it ends.
func (p *clusterPeer) session(ctx context.Context) {
	url := "ws" + strings.TrimPrefix(p.base(), "http") + "/ws?room=" + p.room
	d := websocket.Dialer{HandshakeTimeout: 30 * time.Second}
	hdr := http.Header{"Authorization": {"Bearer " + p.token}}
	ws, _, err := d.DialContext(ctx, url, hdr)
	if err != nil {
		return
	}
	defer ws.Close()
	stop := context.AfterFunc(ctx, func() { ws.Close() })
	defer stop()
	var wmu sync.Mutex
	send := func(typ string, payload any) {
		raw, _ := json.Marshal(payload)
		b, _ := json.Marshal(signaling.Envelope{Type: typ, Payload: raw})
		wmu.Lock()
		defer wmu.Unlock()
		_ = ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
		_ = ws.WriteMessage(websocket.TextMessage, b)
	}
	send(signaling.TypeJoin, signaling.Join{Version: signaling.ProtocolVersion, Name: p.name})
	_ = ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	var joined signaling.Joined
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			return
		}
		var env signaling.Envelope
		if json.Unmarshal(data, &env) != nil {
			continue
		}
		if env.Type == signaling.TypeJoined {
			_ = json.Unmarshal(env.Payload, &joined)
			break
		}
		if env.Type == signaling.TypeError || env.Type == signaling.TypeLeave {
			return
		}
	}

	api := clusterPionAPI(p.t)
	pub, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		p.t.Error(err)
		return
	}
	defer pub.Close()
	sub, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		p.t.Error(err)
		return
	}
	defer sub.Close()
	p.mu.Lock()
	p.id = joined.ParticipantID
	p.sessions++
	p.mu.Unlock()

	audio, _ := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "a", joined.ParticipantID)
	video, _ := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "v", joined.ParticipantID)
	for _, tr := range []webrtc.TrackLocal{audio, video} {
		if _, err := pub.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			p.t.Error(err)
			return
		}
	}
	trickle := func(pc string) func(*webrtc.ICECandidate) {
		return func(c *webrtc.ICECandidate) {
			if c == nil {
				return
			}
			init := c.ToJSON()
			send(signaling.TypeCandidate, signaling.Candidate{PC: pc, Candidate: &signaling.ICECandidate{
				Candidate: init.Candidate, SDPMid: init.SDPMid, SDPMLineIndex: init.SDPMLineIndex}})
		}
	}
	pub.OnICECandidate(trickle(signaling.PCPublish))
	sub.OnICECandidate(trickle(signaling.PCSubscribe))
	sub.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		key := tr.StreamID() + "/" + tr.Kind().String()
		for {
			if _, _, err := tr.ReadRTP(); err != nil {
				return
			}
			p.mu.Lock()
			p.lastRx[key] = time.Now()
			p.mu.Unlock()
		}
	})
	offer, err := pub.CreateOffer(nil)
	if err == nil {
		err = pub.SetLocalDescription(offer)
	}
	if err != nil {
		p.t.Error(err)
		return
	}
	send(signaling.TypeOffer, signaling.SDP{PC: signaling.PCPublish, SDP: offer.SDP})

	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go clusterPublish(sctx, audio, video)
	// Pings every second; a socket silent for 4 s is dropped, as the page
	// drops one (a node paused or cut off sends no close).
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-sctx.Done():
				return
			case <-t.C:
				send(signaling.TypePing, signaling.Ping{})
			}
		}
	}()
	for {
		_ = ws.SetReadDeadline(time.Now().Add(4 * time.Second))
		_, data, err := ws.ReadMessage()
		if err != nil {
			return
		}
		var env signaling.Envelope
		if json.Unmarshal(data, &env) != nil {
			continue
		}
		switch env.Type {
		case signaling.TypeAnswer:
			var m signaling.SDP
			_ = json.Unmarshal(env.Payload, &m)
			_ = pub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: m.SDP})
		case signaling.TypeOffer:
			var m signaling.SDP
			_ = json.Unmarshal(env.Payload, &m)
			if sub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: m.SDP}) != nil {
				continue
			}
			ans, err := sub.CreateAnswer(nil)
			if err != nil || sub.SetLocalDescription(ans) != nil {
				continue
			}
			send(signaling.TypeAnswer, signaling.SDP{PC: signaling.PCSubscribe, SDP: ans.SDP})
		case signaling.TypeCandidate:
			var m signaling.Candidate
			_ = json.Unmarshal(env.Payload, &m)
			if m.Candidate == nil {
				continue
			}
			target := pub
			if m.PC == signaling.PCSubscribe {
				target = sub
			}
			_ = target.AddICECandidate(webrtc.ICECandidateInit{Candidate: m.Candidate.Candidate,
				SDPMid: m.Candidate.SDPMid, SDPMLineIndex: m.Candidate.SDPMLineIndex})
		case signaling.TypeLeave:
			return // moved, shutdown: join again
		case signaling.TypeError:
			p.mu.Lock()
			p.errs = append(p.errs, string(env.Payload))
			p.mu.Unlock()
		}
	}
}

func clusterPionAPI(t *testing.T) *webrtc.API {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(0)
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se))
}

// clusterPublish writes 50 audio and 100 video packets a second until ctx
// ends.
func clusterPublish(ctx context.Context, audio, video *webrtc.TrackLocalStaticRTP) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var seq uint16
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		seq++
		// VP8 payload descriptor (RFC 7741 §4.2) with S=1, then a keyframe header.
		_ = video.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(i) * 900, Marker: true},
			Payload: []byte{0x10, 0x00, 0x9d, 0x01, 0x2a, 1, 2, 3}})
		if i%2 == 0 {
			_ = audio.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq / 2, Timestamp: uint32(i) * 480},
				Payload: []byte{0xfc, 0xff, 0xfe}})
		}
	}
}

// allHear waits up to within for every peer to hear every other, with
// media that arrived after after (a call that broke at after is not taken
// for whole by the packets still arriving from before).
func allHear(peers []*clusterPeer, after time.Time, within time.Duration) bool {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		ok := true
		for _, a := range peers {
			for _, b := range peers {
				if a != b && !a.hears(b, after) {
					ok = false
				}
			}
		}
		if ok {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}
