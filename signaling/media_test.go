package signaling

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// pionClient is a participant made of two real pion PeerConnections speaking the
// protocol over the WebSocket, as a browser does.
type pionClient struct {
	t   *testing.T
	c   *client
	id  string
	pub *webrtc.PeerConnection
	sub *webrtc.PeerConnection

	mu       sync.Mutex     // guards the following
	received map[string]int // "<stream id>/<kind>" -> packets

	writeMu sync.Mutex // one writer on the WebSocket
}

func newPionAPI(t *testing.T) *webrtc.API {
	t.Helper()
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	// As a browser does: receiver reports (RFC 3550), NACKs, transport-cc.
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(0)
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se), webrtc.WithInterceptorRegistry(ir))
}

func (ts *testServer) pionJoin(ctx context.Context, room, token string) *pionClient {
	t := ts.t
	t.Helper()
	api := newPionAPI(t)
	pc := &pionClient{t: t, c: ts.mustDial(room, token), received: map[string]int{}}
	var err error
	if pc.pub, err = api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		t.Fatal(err)
	}
	if pc.sub, err = api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		pc.pub.Close()
		pc.sub.Close()
	})
	j := pc.c.join()
	pc.id = j.ParticipantID

	audio, _ := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "a", pc.id)
	video, _ := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "v", pc.id)
	for _, tr := range []webrtc.TrackLocal{audio, video} {
		if _, err := pc.pub.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			t.Fatal(err)
		}
	}
	pc.pub.OnICECandidate(func(c *webrtc.ICECandidate) { pc.trickle(PCPublish, c) })
	pc.sub.OnICECandidate(func(c *webrtc.ICECandidate) { pc.trickle(PCSubscribe, c) })
	pc.sub.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		key := tr.StreamID() + "/" + tr.Kind().String()
		for {
			if _, _, err := tr.ReadRTP(); err != nil {
				return
			}
			pc.mu.Lock()
			pc.received[key]++
			pc.mu.Unlock()
		}
	})
	offer, err := pc.pub.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.pub.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	pc.sendLocked(TypeOffer, SDP{PC: PCPublish, SDP: offer.SDP})

	go pc.readLoop()
	go pc.publish(ctx, audio, video)
	return pc
}

func (pc *pionClient) sendLocked(typ string, payload any) {
	pc.writeMu.Lock()
	defer pc.writeMu.Unlock()
	raw, _ := json.Marshal(payload)
	b, _ := json.Marshal(Envelope{Type: typ, Payload: raw})
	_ = pc.c.ws.WriteMessage(1, b)
}

func (pc *pionClient) trickle(name string, c *webrtc.ICECandidate) {
	if c == nil {
		return
	}
	init := c.ToJSON()
	pc.sendLocked(TypeCandidate, Candidate{PC: name, Candidate: &ICECandidate{
		Candidate: init.Candidate, SDPMid: init.SDPMid, SDPMLineIndex: init.SDPMLineIndex}})
}

// readLoop answers the server: publish answers, subscribe offers, candidates.
func (pc *pionClient) readLoop() {
	for {
		_ = pc.c.ws.SetReadDeadline(time.Now().Add(time.Minute))
		_, data, err := pc.c.ws.ReadMessage()
		if err != nil {
			return
		}
		var env Envelope
		if json.Unmarshal(data, &env) != nil {
			continue
		}
		switch env.Type {
		case TypeAnswer:
			var m SDP
			_ = json.Unmarshal(env.Payload, &m)
			if err := pc.pub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: m.SDP}); err != nil {
				pc.t.Errorf("publish answer: %v", err)
			}
		case TypeOffer:
			var m SDP
			_ = json.Unmarshal(env.Payload, &m)
			if err := pc.sub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: m.SDP}); err != nil {
				pc.t.Errorf("subscribe offer: %v", err)
				continue
			}
			ans, err := pc.sub.CreateAnswer(nil)
			if err != nil {
				pc.t.Errorf("subscribe answer: %v", err)
				continue
			}
			if err := pc.sub.SetLocalDescription(ans); err != nil {
				pc.t.Errorf("subscribe answer: %v", err)
				continue
			}
			pc.sendLocked(TypeAnswer, SDP{PC: PCSubscribe, SDP: ans.SDP})
		case TypeCandidate:
			var m Candidate
			_ = json.Unmarshal(env.Payload, &m)
			if m.Candidate == nil {
				continue
			}
			target := pc.pub
			if m.PC == PCSubscribe {
				target = pc.sub
			}
			_ = target.AddICECandidate(toICEInit(m.Candidate))
		case TypeError:
			pc.t.Errorf("server error: %s", env.Payload)
		}
	}
}

// publish writes 50 audio and 100 video packets a second until ctx ends.
func (pc *pionClient) publish(ctx context.Context, audio, video *webrtc.TrackLocalStaticRTP) {
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

func (pc *pionClient) count(stream, kind string) int {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return pc.received[stream+"/"+kind]
}

// TestMediaThroughSignaling: three pion participants join through the WebSocket;
// each receives the other two's audio and video under their participant ids.
func TestMediaThroughSignaling(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ts := newTestServer(t, Config{})
	clients := []*pionClient{
		ts.pionJoin(ctx, "r", ts.token(RoleClinician, "c", "")),
		ts.pionJoin(ctx, "r", ts.token(RolePatient, "p", "r")),
		ts.pionJoin(ctx, "r", ts.token(RoleRelative, "rel", "r")),
	}
	for {
		missing := ""
		for _, rx := range clients {
			for _, tx := range clients {
				if rx == tx {
					continue
				}
				for _, kind := range []string{"audio", "video"} {
					if rx.count(tx.id, kind) < 10 {
						missing = fmt.Sprintf("%s has %d %s packets from %s", rx.id, rx.count(tx.id, kind), kind, tx.id)
					}
				}
			}
		}
		if missing == "" {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("media did not flow: %s", missing)
		case <-time.After(100 * time.Millisecond):
		}
	}
	cancel()
}
