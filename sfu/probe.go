package sfu

// A connection probe: before a visit, a patient's browser checks that it can
// reach the media server the way the call will (over UDP, over ICE-TCP, or
// through a TURN relay) and how fast. Each probe is a short-lived
// PeerConnection on the same ICE ports and settings as a real call's, with
// one data channel and no media.
//
// The data channel "probe" (RFC 8831) carries the measurement:
//
//	client -> server  binary messages            counted as the uplink
//	client -> server  text "up"                  server answers text
//	                                             {"upBytes":N,"upMs":M}: the
//	                                             bytes received and the ms
//	                                             from the first to the last
//	client -> server  text "down <ms>"           server sends binary messages
//	                                             for ms (at most ProbeSendMax),
//	                                             then text "end <bytes>"
//
// A probe ends when its client closes the channel or the connection, or at
// the latest after Config.ProbeLifetime.

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
)

// Probe transports: what the client wants to test.
const (
	ProbeUDP   = "udp"   // host candidates on the ICE UDP port
	ProbeTCP   = "tcp"   // passive ICE-TCP candidates (RFC 6544)
	ProbeRelay = "relay" // the client relays through TURN to our UDP port (RFC 8656)
)

// Bounds of probes.
const (
	// ProbeSendMax is the longest the server sends for one "down" request.
	ProbeSendMax = 3 * time.Second
	// probeChunk is the size of each binary message the server sends:
	// under the 16 KiB that every browser accepts in one message.
	probeChunk = 16 * 1024
	// probeMaxOffer bounds the offer's size.
	probeMaxOffer = 64 * 1024
	// probeGatherTimeout bounds the wait for our own candidates (which
	// come from the muxes at once).
	probeGatherTimeout = 5 * time.Second
	// probeBufferHigh and probeBufferLow pace the sender: it waits while
	// more than probeBufferHigh is queued, until it drains to
	// probeBufferLow.
	probeBufferHigh = 1 << 20
	probeBufferLow  = 256 << 10
)

// probeSet tracks the probes running: how many in all and per key, so
// that New's caller can bound them, and their goroutines, so that Close
// waits for them.
type probeSet struct {
	mu     sync.Mutex // guards the following
	closed bool
	n      int
	perKey map[string]int
	cancel map[*probe]context.CancelFunc

	wg sync.WaitGroup
}

// probe is one running probe.
type probe struct {
	pc *webrtc.PeerConnection

	mu        sync.Mutex // guards the following
	upBytes   int64
	upFirst   time.Time
	upLast    time.Time
	sendingTo time.Time // the sender is busy until then
}

// Probe answers a client's offer (complete, with its candidates: no
// trickle) with a probe connection reachable only over transport, one of
// ProbeUDP, ProbeTCP and ProbeRelay. The answer carries every candidate of
// that transport and no other. key names whom the probe is for (a link):
// at most Config.MaxProbesPerKey run at once for one key, and
// Config.MaxProbes in all.
//
// Errors wrap ErrBadSDP (a bad offer or transport), ErrProbeBusy,
// ErrProbeUnavailable (ICE-TCP is off) or ErrClosed.
func (s *SFU) Probe(ctx context.Context, key, offer, transport string) (answer string, err error) {
	var networks []webrtc.NetworkType
	switch transport {
	case ProbeUDP, ProbeRelay:
		// A relayed client reaches our UDP port from the TURN server's
		// relayed address (RFC 8656 §2: TURN relays over UDP to peers).
		networks = []webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6}
	case ProbeTCP:
		if s.engine.tcpMux == nil {
			return "", fmt.Errorf("probe %s: %w: ICE-TCP is off", transport, ErrProbeUnavailable)
		}
		networks = []webrtc.NetworkType{webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6}
	default:
		return "", fmt.Errorf("probe: transport %q: %w: want udp, tcp or relay", transport, ErrBadSDP)
	}
	if offer == "" || len(offer) > probeMaxOffer {
		return "", fmt.Errorf("probe %s: %w: the offer is empty or longer than %d bytes", transport, ErrBadSDP, probeMaxOffer)
	}
	if err := s.probes.take(key, s.cfg.MaxProbes, s.cfg.MaxProbesPerKey); err != nil {
		return "", fmt.Errorf("probe %s: %w", transport, err)
	}
	taken := true
	defer func() {
		if taken {
			s.probes.release(key, nil)
		}
	}()

	se := s.engine.settings // a copy: this probe's network types only
	se.SetNetworkTypes(networks)
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return "", fmt.Errorf("probe %s: new peer connection: %w", transport, err)
	}
	p := &probe{pc: pc}
	fail := func(err error) (string, error) {
		_ = pc.Close()
		return "", err
	}
	// The client's other candidates are dropped too: our agent checks the
	// candidates it knows on every port it has, and a check that reached
	// the client over another transport would connect the probe that way
	// (as a peer-reflexive pair, RFC 8445 §7.3.1.3).
	// A relay probe keeps only the client's relay candidates, so that the
	// checks pass only through the TURN server.
	relayOnly := transport == ProbeRelay
	offer = onlyTransport(offer, transport, relayOnly)
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return fail(fmt.Errorf("probe %s: offer: %w: %w", transport, ErrBadSDP, err))
	}
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		return fail(fmt.Errorf("probe %s: answer: %w: %w", transport, ErrBadSDP, err))
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(ans); err != nil {
		return fail(fmt.Errorf("probe %s: answer: %w", transport, err))
	}
	gctx, cancelGather := context.WithTimeout(ctx, probeGatherTimeout)
	defer cancelGather()
	select {
	case <-gathered:
	case <-gctx.Done():
		return fail(fmt.Errorf("probe %s: gathering candidates: %w", transport, gctx.Err()))
	}
	answer = onlyTransport(s.advertise.rewrite(pc.LocalDescription().SDP), transport, false)

	life, cancel := context.WithTimeout(context.Background(), s.cfg.ProbeLifetime)
	if !s.probes.started(p, cancel) {
		cancel()
		return fail(fmt.Errorf("probe %s: %w", transport, ErrClosed))
	}
	taken = false // released when the probe ends
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		if st == webrtc.PeerConnectionStateFailed || st == webrtc.PeerConnectionStateClosed {
			cancel()
		}
	})
	pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		if dc.Label() != "probe" {
			return
		}
		dc.OnClose(cancel)
		dc.OnMessage(func(m webrtc.DataChannelMessage) { s.probes.onMessage(life, p, dc, m) })
	})
	s.probes.wg.Go(func() {
		<-life.Done()
		_ = pc.Close()
		s.probes.release(key, p)
	})
	return answer, nil
}

// onMessage handles one message of the probe channel (see the file's
// comment for the protocol).
func (ps *probeSet) onMessage(life context.Context, p *probe, dc *webrtc.DataChannel, m webrtc.DataChannelMessage) {
	now := time.Now()
	if !m.IsString {
		p.mu.Lock()
		if p.upBytes == 0 {
			p.upFirst = now
		}
		p.upBytes += int64(len(m.Data))
		p.upLast = now
		p.mu.Unlock()
		return
	}
	cmd := string(m.Data)
	switch {
	case cmd == "up":
		p.mu.Lock()
		n, ms := p.upBytes, p.upLast.Sub(p.upFirst).Milliseconds()
		p.mu.Unlock()
		b, _ := json.Marshal(struct {
			UpBytes int64 `json:"upBytes"`
			UpMs    int64 `json:"upMs"`
		}{n, ms})
		_ = dc.SendText(string(b))
	case strings.HasPrefix(cmd, "down "):
		ms, err := strconv.Atoi(strings.TrimPrefix(cmd, "down "))
		if err != nil || ms <= 0 {
			_ = dc.SendText("error: want down <ms>")
			return
		}
		d := min(time.Duration(ms)*time.Millisecond, ProbeSendMax)
		p.mu.Lock()
		busy := now.Before(p.sendingTo)
		if !busy {
			p.sendingTo = now.Add(d)
		}
		p.mu.Unlock()
		if busy {
			_ = dc.SendText("error: already sending")
			return
		}
		ps.wg.Go(func() { sendFor(life, dc, d) })
	default:
		_ = dc.SendText("error: unknown request")
	}
}

// sendFor sends binary messages on dc for d, paced by what is still queued,
// then "end <bytes sent>".
func sendFor(life context.Context, dc *webrtc.DataChannel, d time.Duration) {
	ctx, cancel := context.WithTimeout(life, d)
	defer cancel()
	low := make(chan struct{}, 1)
	dc.SetBufferedAmountLowThreshold(probeBufferLow)
	dc.OnBufferedAmountLow(func() {
		select {
		case low <- struct{}{}:
		default:
		}
	})
	chunk := make([]byte, probeChunk)
	var sent int64
	for ctx.Err() == nil {
		if dc.BufferedAmount() > probeBufferHigh {
			select {
			case <-low:
			case <-ctx.Done():
			}
			continue
		}
		if err := dc.Send(chunk); err != nil {
			return
		}
		sent += probeChunk
	}
	if life.Err() == nil {
		// What was sent, queued or not: the client counts what arrives.
		_ = dc.SendText("end " + strconv.FormatInt(sent, 10))
	}
}

// take counts a probe for key in, or answers ErrProbeBusy or ErrClosed.
func (ps *probeSet) take(key string, max, perKey int) error {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	switch {
	case ps.closed:
		return ErrClosed
	case ps.n >= max:
		return fmt.Errorf("%w: %d probes run", ErrProbeBusy, ps.n)
	case ps.perKey[key] >= perKey:
		return fmt.Errorf("%w: %d probes run for this link", ErrProbeBusy, ps.perKey[key])
	}
	if ps.perKey == nil {
		ps.perKey = map[string]int{}
	}
	ps.n++
	ps.perKey[key]++
	return nil
}

// started records p's cancel, so that Close ends it; false once closed.
func (ps *probeSet) started(p *probe, cancel context.CancelFunc) bool {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.closed {
		return false
	}
	if ps.cancel == nil {
		ps.cancel = map[*probe]context.CancelFunc{}
	}
	ps.cancel[p] = cancel
	return true
}

// release counts key's probe out (p nil: one that never started).
func (ps *probeSet) release(key string, p *probe) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.n--
	if ps.perKey[key]--; ps.perKey[key] <= 0 {
		delete(ps.perKey, key)
	}
	delete(ps.cancel, p)
}

// Probes returns how many probes are running.
func (s *SFU) Probes() int {
	s.probes.mu.Lock()
	defer s.probes.mu.Unlock()
	return s.probes.n
}

// close ends every probe and waits for their goroutines.
func (ps *probeSet) close() {
	ps.mu.Lock()
	ps.closed = true
	cancels := make([]context.CancelFunc, 0, len(ps.cancel))
	for _, c := range ps.cancel {
		cancels = append(cancels, c)
	}
	ps.mu.Unlock()
	for _, c := range cancels {
		c()
	}
	ps.wg.Wait()
}

// onlyTransport drops from a session description every candidate line
// (RFC 8839 §5.1) whose transport is not the one asked, so that the two
// ends can connect over that transport or not at all (ProbeRelay: UDP).
// relayOnly keeps candidates of type relay only.
func onlyTransport(sdp, transport string, relayOnly bool) string {
	want := "udp"
	if transport == ProbeTCP {
		want = "tcp"
	}
	lines := strings.SplitAfter(sdp, "\n")
	out := lines[:0]
	for _, l := range lines {
		if strings.HasPrefix(l, "a=candidate:") {
			f := strings.Fields(l)
			if len(f) < 8 || !strings.EqualFold(f[2], want) {
				continue
			}
			if relayOnly && f[7] != "relay" {
				continue
			}
		}
		out = append(out, l)
	}
	return strings.Join(out, "")
}
