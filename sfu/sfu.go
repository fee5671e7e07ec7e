// Package sfu forwards RTP between pion PeerConnections; it knows nothing of
// users, appointments, HTTP or WebSockets.
//
// An SFU holds rooms; a room holds up to Config.MaxParticipants
// participants. Each participant has two PeerConnections: on the publish
// connection the client offers and sends its audio and video; on the
// subscribe connection the SFU offers and sends every other participant's
// audio and video. Offers, answers and ICE candidates travel through the
// caller (package signaling): in through the Participant methods, out through
// the Handler given to Join.
//
// Every participant receives every other participant's published tracks,
// audio and video (Opus and VP8). On the subscribe connection each track's
// MediaStream id is the publisher's participant id and its track id is
// "<participantID>-<kind>", kind being audio or video.
//
// Every subscriber gets its own copy of each published track, with its own
// SSRC, sequence numbers and timestamps, and its own bounded queue that drops
// its oldest packet rather than make the publisher wait. A publisher that
// replaces its track of a kind (a new SSRC after an ICE failure or a camera
// swap) feeds the same copies: subscribers see one continuous line of SSRC,
// sequence numbers and timestamps.
//
// There is one encoding per publisher, so a subscriber's weak link is
// spared by asking the publisher to send less: each subscriber's copy of a
// video track keeps a loss-based estimate of that subscriber's link, and the
// publisher is sent the lowest estimate among the track's subscribers as a
// REMB once a second. Audio is never limited.
//
// Subscribe offers start as soon as a participant joins if there is anything
// to subscribe to, and come again on every change. They never overlap: while
// an offer awaits its answer, changes are collected and offered after it.
package sfu

import (
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
)

// Config configures an SFU. Zero fields take the documented defaults in New.
type Config struct {
	// UDPPort is the single UDP port for all media (ICE UDP mux);
	// 0 picks a free port.
	UDPPort int
	// TCPPort is the ICE-TCP passive port (RFC 6544); 0 picks a free port,
	// -1 turns ICE-TCP off.
	TCPPort int
	// ListenIPs are the addresses to bind the UDP and TCP ports on; empty
	// binds every interface address.
	ListenIPs []string
	// PublicIPs are advertised instead of the host addresses (1:1 NAT);
	// empty advertises the host addresses.
	PublicIPs []string
	// PublicUDPPort and PublicTCPPort are advertised instead of the ports
	// bound, where a port forward (a Kubernetes NodePort, a router, a
	// test's network emulator) maps another port to ours; 0 advertises
	// the bound port.
	PublicUDPPort, PublicTCPPort int
	// ICELite makes the media server an ICE-lite agent (RFC 8445 §2.5):
	// it answers the clients' connectivity checks and sends none, so media
	// takes the path the client's checks took. For a server on a public
	// address, and for tests that put a network emulator in front of it.
	ICELite bool
	// IncludeLoopback gathers loopback candidates (a single-host demo and
	// tests).
	IncludeLoopback bool
	// MaxParticipants is the most participants a room holds; default 6.
	MaxParticipants int
	// KeyframeInterval is the least time between two keyframe requests for
	// one published track; default 500ms.
	KeyframeInterval time.Duration
	// QueuePackets is the length of each outgoing video track's queue, which
	// drops its oldest packet when full; default 128. Audio queues are a
	// quarter as long (audio packets come 3-4 times less often).
	QueuePackets int
	// UDPReadBuffer is the receive buffer asked for on the media UDP socket;
	// default 4 MiB. All media arrives on that one socket, so the kernel's
	// default (about 200 KiB, a few milliseconds of a busy server's input)
	// drops packets in bursts. Linux caps it at net.core.rmem_max: raise that
	// sysctl to match.
	UDPReadBuffer int
	// NACKHistory is how many of its last packets each published video
	// track keeps, once for all its subscribers, to answer their NACKs (RFC
	// 4585 §6.2.1), a power of two; default 256, about 1.5 s of 1.5 Mbit/s
	// video: more than any round trip worth repairing.
	NACKHistory int
	// UnbatchedUDP makes the media socket read and write one datagram per
	// system call, as pion does, instead of in batches (mediaio/udpbatch.go): for
	// measuring the difference, and a way back should a kernel misbehave.
	UnbatchedUDP bool
	// ProbeLifetime is the longest a connection probe (probe.go) lives;
	// default 15 s.
	ProbeLifetime time.Duration
	// MaxProbes is the most connection probes at once; default 16.
	// MaxProbesPerKey is the most for one key (one link); default 3.
	MaxProbes, MaxProbesPerKey int
}

// Defaults for the zero fields of Config.
const (
	DefaultMaxParticipants  = 6
	DefaultKeyframeInterval = 500 * time.Millisecond
	DefaultQueuePackets     = 128
	DefaultUDPReadBuffer    = 4 << 20
	DefaultNACKHistory      = 256
	DefaultProbeLifetime    = 15 * time.Second
	DefaultMaxProbes        = 16
	DefaultMaxProbesPerKey  = 3
)

// WithDefaults returns c with its zero fields set to their defaults, as New
// does.
func (c Config) WithDefaults() Config {
	if c.MaxParticipants == 0 {
		c.MaxParticipants = DefaultMaxParticipants
	}
	if c.KeyframeInterval == 0 {
		c.KeyframeInterval = DefaultKeyframeInterval
	}
	if c.QueuePackets == 0 {
		c.QueuePackets = DefaultQueuePackets
	}
	if c.UDPReadBuffer == 0 {
		c.UDPReadBuffer = DefaultUDPReadBuffer
	}
	if c.NACKHistory == 0 {
		c.NACKHistory = DefaultNACKHistory
	}
	if c.ProbeLifetime == 0 {
		c.ProbeLifetime = DefaultProbeLifetime
	}
	if c.MaxProbes == 0 {
		c.MaxProbes = DefaultMaxProbes
	}
	if c.MaxProbesPerKey == 0 {
		c.MaxProbesPerKey = DefaultMaxProbesPerKey
	}
	return c
}

// Validate reports the first invalid field. New calls it after applying the
// defaults.
func (c Config) Validate() error {
	switch {
	case c.UDPPort < 0 || c.UDPPort > 65535:
		return fmt.Errorf("sfu config: UDPPort %d out of range 0-65535", c.UDPPort)
	case c.TCPPort < -1 || c.TCPPort > 65535:
		return fmt.Errorf("sfu config: TCPPort %d out of range -1-65535", c.TCPPort)
	case c.MaxParticipants < 1:
		return fmt.Errorf("sfu config: MaxParticipants %d < 1", c.MaxParticipants)
	case c.KeyframeInterval <= 0:
		return fmt.Errorf("sfu config: KeyframeInterval %v <= 0", c.KeyframeInterval)
	case c.QueuePackets < 2:
		return fmt.Errorf("sfu config: QueuePackets %d < 2", c.QueuePackets)
	case c.UDPReadBuffer < 0:
		return fmt.Errorf("sfu config: UDPReadBuffer %d < 0", c.UDPReadBuffer)
	case c.PublicUDPPort < 0 || c.PublicUDPPort > 65535 || c.PublicTCPPort < 0 || c.PublicTCPPort > 65535:
		return fmt.Errorf("sfu config: PublicUDPPort %d or PublicTCPPort %d out of range 0-65535", c.PublicUDPPort, c.PublicTCPPort)
	case c.NACKHistory < 1 || c.NACKHistory > 1<<15 || c.NACKHistory&(c.NACKHistory-1) != 0:
		return fmt.Errorf("sfu config: NACKHistory %d: want a power of two up to 32768", c.NACKHistory)
	case c.ProbeLifetime < 0 || c.MaxProbes < 0 || c.MaxProbesPerKey < 0:
		return fmt.Errorf("sfu config: ProbeLifetime %v, MaxProbes %d or MaxProbesPerKey %d < 0", c.ProbeLifetime, c.MaxProbes, c.MaxProbesPerKey)
	}
	for i, a := range c.ListenIPs {
		ip := net.ParseIP(a)
		if ip == nil {
			return fmt.Errorf("sfu config: ListenIPs: %q is not an IP address", a)
		}
		if ip.IsUnspecified() {
			return fmt.Errorf("sfu config: ListenIPs: %s: leave ListenIPs empty to listen on every address", a)
		}
		if ip.IsLoopback() && !c.IncludeLoopback {
			return fmt.Errorf("sfu config: ListenIPs: %s is a loopback address but IncludeLoopback is off", a)
		}
		for _, b := range c.ListenIPs[:i] {
			if net.ParseIP(b).Equal(ip) {
				return fmt.Errorf("sfu config: ListenIPs: %s twice", a)
			}
		}
	}
	for _, s := range c.PublicIPs {
		if net.ParseIP(s) == nil {
			return fmt.Errorf("sfu config: PublicIPs: %q is not an IP address", s)
		}
	}
	return nil
}

// PC names one of a participant's two PeerConnections.
type PC string

const (
	// Publish is the connection the client sends its media on; the client
	// offers.
	Publish PC = "publish"
	// Subscribe is the connection the SFU sends the others' media on; the
	// SFU offers.
	Subscribe PC = "subscribe"
)

// Handler receives what the media side must tell the client. Calls are made
// from sfu goroutines, possibly concurrently for the two connections;
// implementations must not block (queue and return) and must not call back
// into the Participant from inside the call.
type Handler interface {
	// SubscribeOffer is a new offer on the subscribe connection. The next
	// one comes only after HandleAnswer has taken the answer to this one
	// (or refused it: then the same offer comes again). Re-offers wait
	// until the subscribe connection has connected once; an ICE restart
	// does not wait.
	SubscribeOffer(sdp string)
	// Candidate is a local ICE candidate of connection pc; nil means
	// gathering is done. Subscribe candidates come after the offer they
	// belong to. Publish candidates gathered while HandleOffer runs are in
	// the answer it returns, so only later ones (rare) come here.
	Candidate(pc PC, c *webrtc.ICECandidateInit)
	// ConnectionState reports a state change of either connection.
	ConnectionState(pc PC, s webrtc.PeerConnectionState)
}

// LayerHandler is implemented by a Handler whose client can pause and
// resume the simulcast layers it publishes (RTCRtpSender.setParameters with
// an encoding's active flag). Layers names, by RID, the layers of the
// client's track of kind ("video") that some subscriber needs: the others
// may be paused, sparing the client's uplink and encoder. It comes when the
// set changes. A Handler without it is never asked, and its client sends
// every layer.
type LayerHandler interface {
	Layers(kind string, active []string)
}

// Downlink levels, as LinkHandler.Downlink reports them.
const (
	LinkGood     = "good"      // every video arrives at the best layer sent
	LinkWeak     = "weak"      // the link's estimate holds some video below the best layer
	LinkVeryWeak = "very-weak" // some video is paused: the link carries only sound
)

// LinkHandler is implemented by a Handler that tells its client how the
// media server sees the client's downlink. Calls come from the
// participant's allocator goroutine, on change only.
type LinkHandler interface {
	// Downlink reports the level of the downlink and its estimate
	// (bits/s), after congestion first limited it and on every change
	// since.
	Downlink(level string, bitrate uint64)
	// VideoPaused reports that the video of the participant publisherID
	// is paused for this client because its link cannot carry even the
	// lowest layer (paused), or that it comes again.
	VideoPaused(publisherID string, paused bool)
}

// Stats is a snapshot of an SFU's counters.
type Stats struct {
	Rooms, Participants, Tracks      int    // current rooms, participants and published tracks
	REDTracks                        int    // published audio tracks that carry redundant audio (RFC 2198)
	ForwardedPackets, ForwardedBytes uint64 // RTP written to subscribers, totals
	DroppedPackets                   uint64 // dropped from full subscriber queues
	NACKsReceived                    uint64 // NACK feedback packets received from subscribers
	Retransmitted                    uint64 // packets resent to subscribers who NACKed them
	PLIsSent                         uint64 // keyframe requests sent to publishers
	// The media UDP socket's system calls and the datagrams they moved
	// (sendmmsg and recvmmsg, or one per datagram with UnbatchedUDP: then
	// these stay 0), and datagrams the kernel refused or that were too
	// large to read.
	UDPSendCalls, UDPSent, UDPRecvCalls, UDPReceived, UDPErrors uint64
	REMBsSent                                                   uint64 // bitrate caps (REMB) sent to publishers
	// DownlinkLimited is how many published video tracks are held below the
	// maximum now because a subscriber's link loses packets.
	DownlinkLimited int
	// LayerSwitches counts subscribers moved from one simulcast layer to
	// another; VideoPaused is how many subscribers' copies of a video
	// track are paused now because their link cannot carry it (audio goes
	// on); LayerChanges counts the times a publisher was told to pause or
	// resume layers.
	LayerSwitches uint64
	VideoPaused   int
	LayerChanges  uint64
	// PaddingPackets counts padding sent to probe subscribers' links.
	PaddingPackets uint64
	// SimulcastLayers is how many simulcast layers (RFC 8853) of the
	// published video tracks have started arriving.
	SimulcastLayers int
}

// counters are the SFU's statistics; the per-packet ones are atomics.
type counters struct {
	rooms, participants, tracks      atomic.Int64
	forwardedPackets, forwardedBytes atomic.Uint64
	dropped, nacks, plis, rembs      atomic.Uint64
	retransmitted                    atomic.Uint64
	downlinkLimited                  atomic.Int64
	redTracks                        atomic.Int64
	layerSwitches, layerChanges      atomic.Uint64
	padding                          atomic.Uint64
	videoPaused                      atomic.Int64
	simulcastLayers                  atomic.Int64
}

// SFU is a selective forwarding unit: it owns the ICE ports and the rooms.
type SFU struct {
	cfg       Config
	logger    *slog.Logger
	engine    *engine
	advertise advertiser // the ports our candidates name
	stats     counters
	clock     clock
	probes    probeSet // connection probes (probe.go)

	mu     sync.Mutex // guards the following; taken before any room.mu
	closed bool
	rooms  map[string]*room
}

// New applies the defaults to cfg, validates it and opens the ICE ports.
func New(cfg Config, logger *slog.Logger) (*SFU, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	e, err := newEngine(cfg, logger)
	if err != nil {
		return nil, fmt.Errorf("sfu: %w", err)
	}
	s := &SFU{cfg: cfg, logger: logger, engine: e, clock: realClock{}, rooms: map[string]*room{},
		advertise: newAdvertiser(cfg, e.udpPort, e.tcpPort)}
	logger.Info("sfu listening", "udp_port", e.udpPort, "tcp_port", e.tcpPort)
	return s, nil
}

// UDPPort returns the ICE UDP port.
func (s *SFU) UDPPort() int { return s.engine.udpPort }

// TCPPort returns the ICE-TCP port, or 0 if ICE-TCP is off.
func (s *SFU) TCPPort() int { return s.engine.tcpPort }

// Stats returns a snapshot of the counters. It takes no lock.
func (s *SFU) Stats() Stats {
	c, u := &s.stats, &s.engine.udp
	return Stats{
		Rooms:            int(c.rooms.Load()),
		Participants:     int(c.participants.Load()),
		Tracks:           int(c.tracks.Load()),
		REDTracks:        int(c.redTracks.Load()),
		ForwardedPackets: c.forwardedPackets.Load(),
		ForwardedBytes:   c.forwardedBytes.Load(),
		DroppedPackets:   c.dropped.Load(),
		NACKsReceived:    c.nacks.Load(),
		Retransmitted:    c.retransmitted.Load(),
		PLIsSent:         c.plis.Load(),
		REMBsSent:        c.rembs.Load(),
		DownlinkLimited:  int(c.downlinkLimited.Load()),
		LayerSwitches:    c.layerSwitches.Load(),
		VideoPaused:      int(c.videoPaused.Load()),
		LayerChanges:     c.layerChanges.Load(),
		PaddingPackets:   c.padding.Load(),
		SimulcastLayers:  int(c.simulcastLayers.Load()),
		UDPSendCalls:     u.SendCalls.Load(),
		UDPSent:          u.Sent.Load(),
		UDPRecvCalls:     u.RecvCalls.Load(),
		UDPReceived:      u.Received.Load(),
		UDPErrors:        u.SendErrors.Load() + u.RecvErrors.Load(),
	}
}

// Join adds a participant to a room, creating the room if needed. The room
// ends, and all its goroutines with it, when its last participant leaves.
// The participant is subscribed to everything already published in the
// room, and the subscribe offer follows through h; its own tracks reach the
// others once the client has offered them through HandleOffer.
//
// Errors wrap ErrRoomFull, ErrParticipantExists or ErrClosed.
func (s *SFU) Join(roomID, participantID string, h Handler) (*Participant, error) {
	if roomID == "" || participantID == "" || h == nil {
		return nil, fmt.Errorf("room %q: join %q: empty room id, participant id or handler", roomID, participantID)
	}
	// Make the connections before taking any lock; they are thrown away if
	// the room turns out to be full.
	p, err := newParticipant(s, roomID, participantID, h)
	if err != nil {
		return nil, fmt.Errorf("room %s: join %s: %w", roomID, participantID, err)
	}
	ups, err := s.admit(p)
	if err != nil {
		p.shutdown()
		return nil, fmt.Errorf("room %s: join %s: %w", roomID, participantID, err)
	}
	p.start()
	for _, up := range ups {
		p.subscribe(up)
	}
	s.logger.Debug("participant joined", "room", roomID, "participant", participantID)
	return p, nil
}

// admit puts p into its room and returns what is published there.
func (s *SFU) admit(p *Participant) ([]*upTrack, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	r := s.rooms[p.roomID]
	if r == nil {
		r = newRoom(p.roomID, s.cfg.MaxParticipants)
	}
	ups, err := r.add(p)
	if err != nil {
		return nil, err
	}
	if s.rooms[p.roomID] == nil {
		s.rooms[p.roomID] = r
		s.stats.rooms.Add(1)
	}
	p.room = r
	s.stats.participants.Add(1)
	return ups, nil
}

// leave takes p out of its room, ending the room if it is now empty, and
// returns p's published tracks and the participants that remain.
func (s *SFU) leave(p *Participant) (ups []*upTrack, others []*Participant) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := p.room
	if r == nil {
		return nil, nil
	}
	ups, others, empty := r.remove(p)
	s.stats.participants.Add(-1)
	s.stats.tracks.Add(-int64(len(ups)))
	for _, up := range ups {
		if up.red.Swap(false) {
			s.stats.redTracks.Add(-1)
		}
		if up.layered() {
			for _, l := range up.layers {
				if l.counted.Swap(false) {
					s.stats.simulcastLayers.Add(-1)
				}
			}
		}
	}
	if empty && s.rooms[r.id] == r {
		delete(s.rooms, r.id)
		s.stats.rooms.Add(-1)
		s.logger.Debug("room ended", "room", r.id)
	}
	return ups, others
}

// Close ends every room and participant, closes the ports and waits for all
// goroutines. Join returns ErrClosed afterwards.
func (s *SFU) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	var all []*Participant
	for _, r := range s.rooms {
		all = append(all, r.members()...)
	}
	s.mu.Unlock()

	var wg sync.WaitGroup
	for _, p := range all {
		wg.Go(p.Close)
	}
	wg.Wait()
	s.probes.close()
	if err := s.engine.close(); err != nil {
		return fmt.Errorf("sfu: close: %w", err)
	}
	return nil
}
