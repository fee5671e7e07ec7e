package sfu

// This file is the one place where pion is configured: the codecs we forward,
// the interceptors every PeerConnection gets, and how ICE listens.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"

	"github.com/pion/dtls/v3"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/logging"
	"github.com/pion/sdp/v3"
	"github.com/pion/transport/v5/stdnet"
	"github.com/pion/webrtc/v4"

	"vclinic/sfu/mediaio"
)

// Payload types we offer. They match what Chrome and Firefox use, so the
// numbers in the browsers' offers and ours line up.
const (
	payloadTypeOpus = 111
	payloadTypeVP8  = 96
)

// muxReadBufferPackets is how many packets the ICE-TCP mux buffers per
// connection before its reader waits.
const muxReadBufferPackets = 64

// registerCodecs registers only what we forward: Opus (with RED, RFC 2198)
// and VP8.
//
// H.264 is left out for now: the Firefox builds our patients use have no
// H.264, and a room that mixes codecs would need per-room negotiation (a
// subscriber can only be sent the codec its publisher chose). VP8 works in
// every browser we support.
func registerCodecs(m *webrtc.MediaEngine) error {
	// Transport-wide congestion control (draft-holmer-rmcat-transport-wide-cc-extensions-01;
	// the feedback format RFC 8888 later standardised differently) lets the
	// browser estimate bandwidth for both its uplink and our downlink.
	twcc := webrtc.RTCPFeedback{Type: webrtc.TypeRTCPFBTransportCC}
	opus := webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType:     webrtc.MimeTypeOpus,
			ClockRate:    48000,
			Channels:     2,
			SDPFmtpLine:  "minptime=10;useinbandfec=1",
			RTCPFeedback: []webrtc.RTCPFeedback{twcc},
		},
		PayloadType: payloadTypeOpus,
	}
	// RED first (red.go): a publisher that can sends its voice twice.
	red := webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType:     mimeTypeRED,
			ClockRate:    48000,
			Channels:     2,
			SDPFmtpLine:  fmt.Sprintf("%d/%d", payloadTypeOpus, payloadTypeOpus),
			RTCPFeedback: []webrtc.RTCPFeedback{twcc},
		},
		PayloadType: payloadTypeRED,
	}
	if err := m.RegisterCodec(red, webrtc.RTPCodecTypeAudio); err != nil {
		return fmt.Errorf("register red: %w", err)
	}
	if err := m.RegisterCodec(opus, webrtc.RTPCodecTypeAudio); err != nil {
		return fmt.Errorf("register opus: %w", err)
	}
	vp8 := webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType:  webrtc.MimeTypeVP8,
			ClockRate: 90000,
			RTCPFeedback: []webrtc.RTCPFeedback{
				{Type: webrtc.TypeRTCPFBNACK},                   // RFC 4585 §6.2.1 generic NACK
				{Type: webrtc.TypeRTCPFBNACK, Parameter: "pli"}, // RFC 4585 §6.3.1 PLI
				{Type: webrtc.TypeRTCPFBCCM, Parameter: "fir"},  // RFC 5104 §4.3.1 FIR
				twcc,
			},
		},
		PayloadType: payloadTypeVP8,
	}
	if err := m.RegisterCodec(vp8, webrtc.RTPCodecTypeVideo); err != nil {
		return fmt.Errorf("register vp8: %w", err)
	}
	return nil
}

// engine builds PeerConnections. Every connection gets its own MediaEngine,
// interceptor registry and webrtc.API, and all of them share one
// SettingEngine and with it the ICE muxes: one UDP port (and one TCP port)
// for every peer.
type engine struct {
	nackHistory uint16
	settings    webrtc.SettingEngine
	udpMux      ice.UDPMux
	tcpMux      ice.TCPMux // nil when ICE-TCP is off
	udpPort     int
	tcpPort     int
	udp         mediaio.Counters
}

// newEngine opens the ICE ports and prepares the shared SettingEngine.
func newEngine(cfg Config, logger *slog.Logger) (*engine, error) {
	logs := pionLoggerFactory{logger: logger}
	e := &engine{nackHistory: uint16(cfg.NACKHistory)}

	udpMux, udpPort, err := listenUDP(cfg, logs, &e.udp)
	if err != nil {
		return nil, err
	}
	e.udpMux, e.udpPort = udpMux, udpPort
	if len(udpMux.GetListenAddresses()) == 0 {
		logger.Warn("ICE UDP mux has no addresses; set IncludeLoopback on a host without other interfaces",
			"port", udpPort)
	}

	networks := []webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6}
	if cfg.TCPPort >= 0 {
		// RFC 6544: we only take passive ICE-TCP candidates, on one port.
		ln, err := listenTCP(cfg.ListenIPs, cfg.TCPPort)
		if err != nil {
			_ = udpMux.Close()
			return nil, fmt.Errorf("listen ICE-TCP: %w", err)
		}
		e.tcpMux = webrtc.NewICETCPMux(logs.NewLogger("ice-tcp"), ln, muxReadBufferPackets)
		e.tcpPort = ln.Addr().(*net.TCPAddr).Port
		networks = append(networks, webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6)
	}

	s := &e.settings
	s.LoggerFactory = logs
	s.SetICEUDPMux(e.udpMux)
	if e.tcpMux != nil {
		s.SetICETCPMux(e.tcpMux)
	}
	s.SetNetworkTypes(networks)
	// SRTP with AES-128-GCM first (RFC 7714 §14.2): as strong as a call
	// needs, and cheaper per packet than AES-256-GCM, pion's default first.
	// The DTLS server's order decides (RFC 5764 §4.1.2): ours on the
	// connections we offer, which carry every forwarded packet.
	s.SetSRTPProtectionProfiles(dtls.SRTP_AEAD_AES_128_GCM, dtls.SRTP_AEAD_AES_256_GCM, dtls.SRTP_AES128_CM_HMAC_SHA1_80)
	s.SetIncludeLoopbackCandidate(cfg.IncludeLoopback)
	s.SetLite(cfg.ICELite)
	// mDNS candidates hide addresses from peers; a server has nothing to
	// hide and must not answer multicast queries on the LAN.
	s.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if len(cfg.PublicIPs) > 0 {
		// 1:1 NAT: advertise the public addresses instead of the host ones
		// (what SetNAT1To1IPs(ips, host) did before it was deprecated).
		err := s.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External:        cfg.PublicIPs,
			AsCandidateType: webrtc.ICECandidateTypeHost,
			Mode:            webrtc.ICEAddressRewriteReplace,
		})
		if err != nil {
			_ = e.close()
			return nil, fmt.Errorf("public IPs: %w", err)
		}
	}
	return e, nil
}

// listenUDP opens the single ICE UDP port (RFC 8445 allows one base address
// to serve many agents; pion demultiplexes by ufrag).
//
// With ListenIPs one socket on each of those addresses does, all on one port.
// Without them we bind the same port on each interface address rather than on
// the wildcard address, so replies leave from the address the peer sent to
// even on a multi-homed host.
func listenUDP(cfg Config, logs pionLoggerFactory, counters *mediaio.Counters) (ice.UDPMux, int, error) {
	if len(cfg.ListenIPs) > 0 {
		return listenUDPOn(cfg, logs, counters)
	}

	opts := []ice.UDPMuxFromPortOption{
		ice.UDPMuxFromPortWithLogger(logs.NewLogger("ice-udp")),
		ice.UDPMuxFromPortWithNetworks(ice.NetworkTypeUDP4, ice.NetworkTypeUDP6),
		ice.UDPMuxFromPortWithReadBufferSize(cfg.UDPReadBuffer),
	}
	if cfg.IncludeLoopback {
		opts = append(opts, ice.UDPMuxFromPortWithLoopback())
	}
	if !cfg.UnbatchedUDP {
		n, err := stdnet.NewNet()
		if err != nil {
			return nil, 0, fmt.Errorf("listen ICE-UDP: %w", err)
		}
		opts = append(opts, ice.UDPMuxFromPortWithNet(mediaio.Net{Net: n, Counters: counters}))
	}
	if cfg.UDPPort != 0 {
		mux, err := ice.NewMultiUDPMuxFromPort(cfg.UDPPort, opts...)
		if err != nil {
			return nil, 0, fmt.Errorf("listen ICE-UDP port %d: %w", cfg.UDPPort, err)
		}
		return mux, cfg.UDPPort, nil
	}
	// Port 0: let the kernel pick a port on the wildcard address, release it
	// and bind it on every address. Another process may take it in between,
	// so try a few times.
	var lastErr error
	for range 5 {
		probe, err := net.ListenUDP("udp", nil)
		if err != nil {
			return nil, 0, fmt.Errorf("listen ICE-UDP: %w", err)
		}
		port := probe.LocalAddr().(*net.UDPAddr).Port
		_ = probe.Close()
		mux, err := ice.NewMultiUDPMuxFromPort(port, opts...)
		if err == nil {
			return mux, port, nil
		}
		lastErr = err
	}
	return nil, 0, fmt.Errorf("listen ICE-UDP: no port free on every address: %w", lastErr)
}

// listenUDPOn binds the UDP port on each of cfg.ListenIPs. Port 0 takes
// the port the kernel gives the first address, on all.
func listenUDPOn(cfg Config, logs pionLoggerFactory, counters *mediaio.Counters) (ice.UDPMux, int, error) {
	var lastErr error
	for range 5 {
		port := cfg.UDPPort
		var conns []*net.UDPConn
		closeAll := func() {
			for _, c := range conns {
				_ = c.Close()
			}
		}
		var err error
		for _, a := range cfg.ListenIPs {
			var c *net.UDPConn
			if c, err = net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(a), Port: port}); err != nil {
				break
			}
			conns = append(conns, c)
			port = c.LocalAddr().(*net.UDPAddr).Port
			if err = c.SetReadBuffer(cfg.UDPReadBuffer); err != nil {
				err = fmt.Errorf("read buffer: %w", err)
				break
			}
		}
		if err != nil {
			closeAll()
			lastErr = err
			if cfg.UDPPort != 0 {
				break // the port asked for is taken: trying again will not help
			}
			continue
		}
		muxes := make([]ice.UDPMux, len(conns))
		for i, c := range conns {
			var pc net.PacketConn = c
			if !cfg.UnbatchedUDP {
				pc = mediaio.NewBatchConn(c, counters)
			}
			muxes[i] = webrtc.NewICEUDPMux(logs.NewLogger("ice-udp"), pc)
		}
		if len(muxes) == 1 {
			return muxes[0], port, nil
		}
		return ice.NewMultiUDPMuxDefault(muxes...), port, nil
	}
	return nil, 0, fmt.Errorf("listen ICE-UDP on %s: %w", strings.Join(cfg.ListenIPs, ", "), lastErr)
}

// listenTCP opens the ICE-TCP port on each of ips (every address when
// none), as one listener.
func listenTCP(ips []string, port int) (net.Listener, error) {
	if len(ips) == 0 {
		return net.Listen("tcp", net.JoinHostPort("", strconv.Itoa(port)))
	}
	var lns []net.Listener
	for _, a := range ips {
		ln, err := net.Listen("tcp", net.JoinHostPort(a, strconv.Itoa(port)))
		if err != nil {
			for _, l := range lns {
				_ = l.Close()
			}
			return nil, err
		}
		lns = append(lns, ln)
		port = ln.Addr().(*net.TCPAddr).Port
	}
	if len(lns) == 1 {
		return lns[0], nil
	}
	return newMultiListener(lns), nil
}

// multiListener accepts from several listeners as one; Addr is the first's
// (they share the port).
type multiListener struct {
	lns    []net.Listener
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
	wg     sync.WaitGroup
}

func newMultiListener(lns []net.Listener) *multiListener {
	m := &multiListener{lns: lns, conns: make(chan net.Conn), closed: make(chan struct{})}
	for _, ln := range lns {
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			for {
				c, err := ln.Accept()
				if err != nil {
					return // closed by Close
				}
				select {
				case m.conns <- c:
				case <-m.closed:
					_ = c.Close()
					return
				}
			}
		}()
	}
	return m
}

func (m *multiListener) Accept() (net.Conn, error) {
	select {
	case c := <-m.conns:
		return c, nil
	case <-m.closed:
		return nil, net.ErrClosed
	}
}

func (m *multiListener) Close() error {
	m.once.Do(func() {
		close(m.closed)
		for _, ln := range m.lns {
			_ = ln.Close()
		}
	})
	m.wg.Wait()
	return nil
}

func (m *multiListener) Addr() net.Addr { return m.lns[0].Addr() }

// newPeerConnection makes a PeerConnection with its own MediaEngine and
// interceptors and the shared settings; with estimate, also the estimate of
// the bandwidth from us to its peer (a connection we send media on).
func (e *engine) newPeerConnection(estimate bool) (*webrtc.PeerConnection, *mediaio.SendEstimator, error) {
	m := &webrtc.MediaEngine{}
	if err := registerCodecs(m); err != nil {
		return nil, nil, err
	}
	// Simulcast (RFC 8853): the publisher names each layer's stream with a
	// RID (RFC 8852) in a header extension, next to the MID (RFC 9143).
	if err := webrtc.ConfigureSimulcastExtensionHeaders(m); err != nil {
		return nil, nil, fmt.Errorf("configure simulcast header extensions: %w", err)
	}
	r := &interceptor.Registry{}
	// What we receive from publishers: NACKs for missing video packets
	// (RFC 4585 §6.2.1) and receiver reports (RFC 3550 §6.4.2), from the
	// raw headers (mediaio/rxreports.go). Subscribers' NACKs are answered by the SFU
	// itself, from one history per published track (history.go).
	r.Add(mediaio.ReceiverFeedbackFactory{})
	// Sender reports on what we send (RFC 3550 §6.4.1): subscribers need
	// them to line audio up with video.
	sender, err := report.NewSenderInterceptor()
	if err != nil {
		return nil, nil, fmt.Errorf("configure RTCP sender reports: %w", err)
	}
	r.Add(sender)
	// Transport-wide CC (mediaio/twcc.go): feedback for what we receive, and the
	// transport-wide sequence number header extension on what we send, for
	// audio and video.
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		m.RegisterFeedback(webrtc.RTCPFeedback{Type: webrtc.TypeRTCPFBTransportCC}, kind)
		if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.TransportCCURI}, kind); err != nil {
			return nil, nil, fmt.Errorf("configure TWCC header extension: %w", err)
		}
	}
	r.Add(mediaio.TWCCFeedbackFactory{})
	// The send-side bandwidth estimate (mediaio/sendbwe.go) from the peer's
	// feedback on what we number.
	var est *mediaio.SendEstimator
	if estimate {
		est = mediaio.NewSendEstimator()
	}
	r.Add(mediaio.TWCCNumberingFactory{Estimator: est})
	api := webrtc.NewAPI(
		webrtc.WithMediaEngine(m),
		webrtc.WithInterceptorRegistry(r),
		webrtc.WithSettingEngine(e.settings),
	)
	// No ICE servers: host candidates on our muxes (rewritten to PublicIPs
	// when set) are all a server needs; we never call a public STUN server.
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, nil, fmt.Errorf("new peer connection: %w", err)
	}
	return pc, est, nil
}

// close closes the ICE ports.
func (e *engine) close() error {
	var errs []error
	if e.tcpMux != nil {
		if err := e.tcpMux.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close ICE-TCP: %w", err))
		}
	}
	if err := e.udpMux.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close ICE-UDP: %w", err))
	}
	return errors.Join(errs...)
}

// pionLoggerFactory sends pion's logs to slog. Pion's info and debug
// messages are per-connection chatter and go to Debug; trace is dropped.
type pionLoggerFactory struct{ logger *slog.Logger }

func (f pionLoggerFactory) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{l: f.logger.With("pion", scope)}
}

type pionLogger struct{ l *slog.Logger }

func (p pionLogger) log(level slog.Level, msg string) {
	p.l.Log(context.Background(), level, msg)
}

func (p pionLogger) logf(level slog.Level, format string, args ...any) {
	if p.l.Enabled(context.Background(), level) {
		p.l.Log(context.Background(), level, fmt.Sprintf(format, args...))
	}
}

func (pionLogger) Trace(string)                        {}
func (pionLogger) Tracef(string, ...any)               {}
func (p pionLogger) Debug(msg string)                  { p.log(slog.LevelDebug, msg) }
func (p pionLogger) Debugf(format string, args ...any) { p.logf(slog.LevelDebug, format, args...) }
func (p pionLogger) Info(msg string)                   { p.log(slog.LevelDebug, msg) }
func (p pionLogger) Infof(format string, args ...any)  { p.logf(slog.LevelDebug, format, args...) }
func (p pionLogger) Warn(msg string)                   { p.log(slog.LevelWarn, msg) }
func (p pionLogger) Warnf(format string, args ...any)  { p.logf(slog.LevelWarn, format, args...) }
func (p pionLogger) Error(msg string)                  { p.log(slog.LevelError, msg) }
func (p pionLogger) Errorf(format string, args ...any) { p.logf(slog.LevelError, format, args...) }
