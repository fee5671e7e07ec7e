package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	pionreport "github.com/pion/interceptor/pkg/report"
	"github.com/pion/logging"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
	"github.com/pion/webrtc/v4"

	"vclinic/sfu/mediaio"
)

// newAPI builds the pion API every simulated participant shares: the codecs the
// server negotiates (Opus 111, VP8 96), the feedback a browser gives (NACK,
// RTCP reports, transport-wide congestion control) and ICE limited to loopback
// when the server is on loopback.
func newAPI(loopbackOnly bool, logs logging.LoggerFactory) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeOpus, ClockRate: opusClockRate, Channels: 2,
			SDPFmtpLine:  "minptime=10;useinbandfec=1",
			RTCPFeedback: []webrtc.RTCPFeedback{{Type: webrtc.TypeRTCPFBTransportCC}},
		},
		PayloadType: 111,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("register opus: %w", err)
	}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeVP8, ClockRate: vp8ClockRate,
			RTCPFeedback: []webrtc.RTCPFeedback{
				{Type: webrtc.TypeRTCPFBTransportCC},
				{Type: webrtc.TypeRTCPFBCCM, Parameter: "fir"},
				{Type: webrtc.TypeRTCPFBNACK},
				{Type: webrtc.TypeRTCPFBNACK, Parameter: "pli"},
			},
		},
		PayloadType: 96,
	}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, fmt.Errorf("register vp8: %w", err)
	}
	// The feedback a browser gives, from the SFU's own allocation-free
	// interceptors (vclinic/sfu/mediaio), so that the load tool costs less
	// than the server it loads: receiver reports and NACKs for what a
	// participant receives, transport-cc feedback for it and numbers on
	// what it sends; pion's NACK responder answers the server's NACKs and
	// its sender reports describe what is sent.
	reg := &interceptor.Registry{}
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.TransportCCURI}, kind); err != nil {
			return nil, fmt.Errorf("transport-cc extension: %w", err)
		}
	}
	if err := webrtc.ConfigureSimulcastExtensionHeaders(m); err != nil {
		return nil, fmt.Errorf("header extensions: %w", err)
	}
	responder, err := nack.NewResponderInterceptor(nack.WithResponderLoggerFactory(logs))
	if err != nil {
		return nil, fmt.Errorf("interceptors: %w", err)
	}
	sender, err := pionreport.NewSenderInterceptor(pionreport.WithSenderLoggerFactory(logs))
	if err != nil {
		return nil, fmt.Errorf("interceptors: %w", err)
	}
	reg.Add(responder)
	reg.Add(sender)
	reg.Add(mediaio.ReceiverFeedbackFactory{})
	reg.Add(mediaio.TWCCFeedbackFactory{})
	reg.Add(mediaio.TWCCNumberingFactory{})
	se := webrtc.SettingEngine{LoggerFactory: logs}
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	if loopbackOnly {
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	}
	std, err := stdnet.NewNet()
	if err != nil {
		return nil, fmt.Errorf("network: %w", err)
	}
	se.SetNet(mediaio.Net{Net: bigReceiveBuffers{std}, Counters: &mediaio.Counters{}})
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg),
		webrtc.WithSettingEngine(se)), nil
}

// clientReceiveBuffer is the receive buffer vcload asks for on its UDP sockets
// (the kernel caps it at net.core.rmem_max). The Linux default, about 200 KiB,
// holds some 90 full-size packets, under 100 ms of what a subscriber in a room of
// six receives; a busy machine would then lose packets in vcload's own sockets
// and blur what the server lost. The report counts both kinds of drops.
const clientReceiveBuffer = 4 << 20

// bigReceiveBuffers is the standard network with larger socket receive buffers.
type bigReceiveBuffers struct{ transport.Net }

func (n bigReceiveBuffers) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	if b, ok := c.(interface{ SetReadBuffer(int) error }); ok {
		_ = b.SetReadBuffer(clientReceiveBuffer) // best effort; drops are counted either way
	}
	return c, nil
}

// pionLogs is where pion's own logs go: nowhere by default, since the report
// accounts for what they would say and closing a hundred connections makes them
// chatty; warnings and errors to w with -v.
func pionLogs(verbose bool, w io.Writer) logging.LoggerFactory {
	level := logging.LogLevelDisabled
	if verbose {
		level = logging.LogLevelWarn
	}
	return &logging.DefaultLoggerFactory{Writer: w, DefaultLogLevel: level}
}

// sendLoop paces the synthetic sources in real time: it sleeps until the next
// packet or frame is due, writes it, and repeats until ctx ends.
func (p *participant) sendLoop(ctx context.Context) {
	write := func(tr *webrtc.TrackLocalStaticRTP, sent func(int64) int64) writeFunc {
		return func(pkt *rtp.Packet) error {
			stamp(pkt.Payload)
			if err := tr.WriteRTP(pkt); err != nil {
				return err
			}
			sent(1)
			return nil
		}
	}
	writeAudio := write(p.audioTrack, p.sentAudio.Add)
	writeVideo := write(p.videoTrack, p.sentVideo.Add)
	// The sources were created when the tracks were; start them now, so that
	// the time spent connecting is not sent as one burst.
	now := time.Now()
	p.opus.start, p.vp8.start = now, now
	timer := time.NewTimer(0)
	defer timer.Stop()
	var skipped int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		now := time.Now()
		if _, err := p.opus.poll(now, writeAudio); err != nil && ctx.Err() == nil {
			p.log.Debug("write audio", "err", err)
		}
		if _, err := p.vp8.poll(now, writeVideo); err != nil && ctx.Err() == nil {
			p.log.Debug("write video", "err", err)
		}
		if s := p.opus.skipped + p.vp8.skipped; s != skipped {
			p.skipped.Add(s - skipped)
			skipped = s
		}
		next := p.opus.next()
		if v := p.vp8.next(); v.Before(next) {
			next = v
		}
		timer.Reset(time.Until(next))
	}
}

// readSenderRTCP reads the server's feedback on one of our tracks. Reading runs
// the interceptors (NACK answers, reports); a PLI or FIR asks for a keyframe.
func (p *participant) readSenderRTCP(s *webrtc.RTPSender, video bool) {
	for {
		pkts, _, err := s.ReadRTCP()
		if err != nil {
			return
		}
		if !video {
			continue
		}
		for _, pkt := range pkts {
			switch pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest: // RFC 4585 §6.3.1, RFC 5104 §4.3.1
				p.keyframeRequests.Add(1)
				p.vp8.requestKeyframe()
			}
		}
	}
}

// receiveTrack counts a subscribed track's packets until the connection closes,
// and the one-way delay of each stamped one into lat. It reads raw packets and
// looks only at the sequence number (RFC 3550 §5.1, bytes 2-3) and the stamp,
// as cheap as a receiver can be.
func receiveTrack(tr *webrtc.TrackRemote, t *remoteTrack, lat *latencyHistogram) {
	buf := make([]byte, 1500)
	var h rtp.Header
	for {
		n, _, err := tr.Read(buf)
		if err != nil {
			return
		}
		if n < 12 {
			continue
		}
		if hl, err := h.Unmarshal(buf[:n]); err == nil && lat != nil {
			if sent, ok := stamped(buf[hl:n]); ok {
				lat.add(time.Since(clockEpoch) - sent)
			}
		}
		seq := binary.BigEndian.Uint16(buf[2:4])
		now := time.Now()
		t.mu.Lock()
		if t.firstAt.IsZero() {
			t.firstAt = now
		}
		t.seq.add(seq)
		t.mu.Unlock()
	}
}

// drainRTCP reads a receiver's RTCP (sender reports) so that the interceptors see
// it, until the connection closes.
func drainRTCP(read func() ([]rtcp.Packet, interceptor.Attributes, error)) {
	for {
		if _, _, err := read(); err != nil {
			return
		}
	}
}
