package signaling

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"vclinic/internal/callquality"
	"vclinic/sfu"
)

// Config configures the signaling server. Zero fields take the documented defaults.
type Config struct {
	// GracePeriod is how long a dropped participant keeps its place. Default 20 s.
	GracePeriod time.Duration
	// PingInterval is the WebSocket keepalive; a connection silent for three
	// intervals is dropped. Default 10 s.
	PingInterval time.Duration
	// WriteTimeout bounds one WebSocket write. Default 10 s.
	WriteTimeout time.Duration
	// SendQueue is the number of outbound messages one connection may have
	// queued. Default 256.
	SendQueue int
	// MaxParticipants per room. Default 6.
	MaxParticipants int
	// MessageRate and MessageBurst limit inbound messages per connection.
	// Defaults 50 per second, burst 200 (a browser trickles candidates in bursts).
	MessageRate  float64
	MessageBurst int
	// AllowedOrigins are origins (scheme://host[:port]) allowed besides the
	// server's own host. A request with no Origin (not a browser) is allowed.
	AllowedOrigins []string
	// ICEServers are handed to clients in joined as they are (STUN, or TURN
	// with fixed credentials).
	ICEServers []ICEServer
	// TURN, when set, adds a TURN server with a fresh short-lived credential
	// for each participant to joined (see TURN).
	TURN *TURN
	// Visits knows the appointments behind appointment rooms; nil means the
	// clinic has none, and appointment-bound tokens are refused.
	Visits Visits
	// Readings files the home-kit readings patients send over the WebSocket;
	// nil refuses them (error forbidden).
	Readings ReadingsSink
	// VitalsAudit records who is shown a patient's live home readings; nil
	// records nothing.
	VitalsAudit VitalsAudit
	// NodeID names this node in a cluster (room status shows it).
	NodeID string
	// Placement keeps which node of a cluster hosts which room; nil hosts
	// every room on this node.
	Placement Placement
	// Admit, when set, is asked before a room opens on this node (its first
	// join); an error refuses the join with CodeBusy and the error's words,
	// while the rooms open here go on. It is called with the server's lock
	// held and must not block or call back into the server.
	Admit func() error
	// Chat files the chat of appointment rooms with their visits; nil
	// keeps every room's chat in memory only, while the room is open.
	Chat ChatLog
	// Quality keeps each participant's quality record with the
	// appointment; nil keeps none (the node's totals in QualityHistogram
	// are kept regardless).
	Quality QualityLog
	// QualityInterval is how often each participant in a call is sampled.
	// Default 2 s.
	QualityInterval time.Duration
	// QualityCheckpoint is how often a participant's record is handed to
	// Quality while it is in the call, so that a node that dies loses no
	// more than that. Default 60 s.
	QualityCheckpoint time.Duration
	// Authenticator finds and checks the caller of every request (the
	// WebSocket upgrade and the HTTP routes); nil verifies the token alone
	// (Keyring.FromRequest). The clinic's own also checks what the token
	// names: that the staff session is live, that the invitation's
	// appointment still takes its link.
	Authenticator Authenticator
}

// Placement keeps which node hosts which room. A room lives on one node; a
// node hosts a room only while Holds says so.
type Placement interface {
	// Open makes this node the room's host, or confirms it is; an error
	// (the room is on another node, the records are unreachable) refuses
	// the WebSocket with 503, and the client retries.
	Open(ctx context.Context, room string) error
	// Holds reports whether this node may host room now. It is called with
	// the server's lock held and must not call back into the server.
	Holds(room string) bool
	// Closed says the room has gone from this node. Called with the
	// server's lock held.
	Closed(room string)
}

// Authenticator finds the caller of a request: ErrInvalidToken (401) for a
// missing, invalid, expired or revoked credential, ErrForbidden (403) for one
// that may not be used here.
type Authenticator interface {
	Authenticate(r *http.Request) (*Claims, error)
}

// AuthenticatorFunc adapts a function to Authenticator.
type AuthenticatorFunc func(r *http.Request) (*Claims, error)

// Authenticate calls f.
func (f AuthenticatorFunc) Authenticate(r *http.Request) (*Claims, error) { return f(r) }

func (c *Config) setDefaults() {
	if c.GracePeriod == 0 {
		c.GracePeriod = 20 * time.Second
	}
	if c.PingInterval == 0 {
		c.PingInterval = 10 * time.Second
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.SendQueue == 0 {
		c.SendQueue = 256
	}
	if c.MaxParticipants == 0 {
		c.MaxParticipants = 6
	}
	if c.MessageRate == 0 {
		c.MessageRate = 50
	}
	if c.MessageBurst == 0 {
		c.MessageBurst = 200
	}
	if c.QualityInterval == 0 {
		c.QualityInterval = 2 * time.Second
	}
	if c.QualityCheckpoint == 0 {
		c.QualityCheckpoint = time.Minute
	}
}

// Validate reports a configuration that cannot work.
func (c *Config) Validate() error {
	if c.GracePeriod < 0 || c.PingInterval < 0 || c.WriteTimeout < 0 || c.QualityInterval < 0 || c.QualityCheckpoint < 0 {
		return errors.New("signaling: durations must not be negative")
	}
	if c.TURN != nil {
		if err := c.TURN.Validate(); err != nil {
			return fmt.Errorf("signaling: %w", err)
		}
	}
	if c.SendQueue < 0 || c.MaxParticipants < 0 || c.MessageRate < 0 || c.MessageBurst < 0 {
		return errors.New("signaling: limits must not be negative")
	}
	for _, o := range c.AllowedOrigins {
		u, err := url.Parse(o)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return fmt.Errorf("signaling: allowed origin %q: want scheme://host[:port]", o)
		}
	}
	return nil
}

// Server accepts WebSockets, keeps the rooms and relays between browsers and the
// media server.
type Server struct {
	cfg      Config
	log      *slog.Logger
	keys     *Keyring
	media    *sfu.SFU
	upgrader websocket.Upgrader

	mu     sync.Mutex // guards the following, and every member's mutable fields
	rooms  map[string]*room
	resume map[string]*member // by resume token
	conns  map[*conn]struct{}
	closed bool
	// active counts the work Shutdown waits for: each WebSocket handler
	// (from before its upgrade, its reader and writer included) and each
	// running grace-period expiry. drained is closed once the server is
	// closed and active is 0.
	active  int
	drained chan struct{}
	// ctx bounds the calls a connection makes to the clinic's records
	// (visits, readings, audit); Close cancels it.
	ctx    context.Context
	cancel context.CancelFunc

	// The quality sampler (quality.go): members who left since its last
	// tick (guarded by mu), quit to stop it (closed by Shutdown), and the
	// node's totals.
	qualityEnded  []*member
	quit          chan struct{}
	quitOnce      sync.Once
	qualityMu     sync.Mutex
	qualityTotals callquality.Totals

	// upgraded, when set (by tests), runs after a WebSocket upgrade and
	// before the connection is registered.
	upgraded func()

	connections atomic.Int64
	accepted    atomic.Uint64
	refused     atomic.Uint64
	errorsSent  atomic.Uint64
}

// New returns a server that authenticates with keys and sends media through media.
func New(cfg Config, keys *Keyring, media *sfu.SFU, log *slog.Logger) (*Server, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if keys == nil || media == nil {
		return nil, errors.New("signaling: New needs a keyring and a media server")
	}
	if cfg.Authenticator == nil {
		cfg.Authenticator = AuthenticatorFunc(keys.FromRequest)
	}
	s := &Server{
		cfg:    cfg,
		log:    log,
		keys:   keys,
		media:  media,
		rooms:  map[string]*room{},
		resume: map[string]*member{},
		conns:  map[*conn]struct{}{},

		drained: make(chan struct{}),
		quit:    make(chan struct{}),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.active++ // the quality sampler, until Shutdown
	go s.qualityLoop()
	s.upgrader = websocket.Upgrader{
		HandshakeTimeout: 10 * time.Second,
		// Reads use the HTTP server's own 4 KiB buffer, and writes take one
		// from a pool only while they write: an idle visit page holds no
		// buffer of its own (BENCHMARKS.md, idle signaling).
		ReadBufferSize:  0,
		WriteBufferSize: 4096,
		WriteBufferPool: &sync.Pool{},
		Subprotocols:    []string{ProtocolName},
		CheckOrigin:     s.checkOrigin,
		Error: func(w http.ResponseWriter, r *http.Request, status int, reason error) {
			http.Error(w, reason.Error(), status)
		},
	}
	return s, nil
}

// checkOrigin allows requests without an Origin (not from a browser), from the
// server's own host, and from the configured origins.
func (s *Server) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	for _, o := range s.cfg.AllowedOrigins {
		if strings.EqualFold(strings.TrimSuffix(o, "/"), origin) {
			return true
		}
	}
	return false
}

// ServeWS is the handler for GET /ws?room=<id>. It refuses bad tokens before the
// upgrade: 401 for a missing, invalid or expired token, 403 for one that does not
// allow this room, 400 for a malformed room id, 403 for a foreign origin.
func (s *Server) ServeWS(w http.ResponseWriter, r *http.Request) {
	room := r.URL.Query().Get("room")
	if !ValidRoomID(room) {
		s.refused.Add(1)
		http.Error(w, "room: want 1-64 letters, digits, - or _", http.StatusBadRequest)
		return
	}
	claims, err := s.cfg.Authenticator.Authenticate(r)
	if err == nil {
		err = claims.MayJoin(room)
	}
	if err == nil && claims.Appt != "" {
		err = s.checkWindow(r.Context(), claims.Appt)
	}
	if err == nil {
		err = s.checkPractitioner(r.Context(), room, claims)
	}
	if err != nil {
		s.refused.Add(1)
		s.log.Info("websocket refused", "room", room, "err", err)
		if errors.Is(err, ErrUnavailable) {
			w.Header().Set("Retry-After", "2")
		}
		http.Error(w, http.StatusText(StatusFor(err)), StatusFor(err))
		return
	}
	if !s.checkOrigin(r) {
		s.refused.Add(1)
		http.Error(w, "origin not allowed", http.StatusForbidden)
		return
	}
	if s.cfg.Placement != nil {
		if err := s.cfg.Placement.Open(r.Context(), room); err != nil {
			s.refused.Add(1)
			s.log.Info("websocket refused: room placement", "room", room, "err", err)
			w.Header().Set("Retry-After", "1")
			http.Error(w, "the room is moving to another node; try again", http.StatusServiceUnavailable)
			return
		}
	}
	// The connection is counted from here, the upgrade included, until
	// serveConn ends: Shutdown waits for it, whatever moment it comes.
	if !s.begin() {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		s.done()
		return // the upgrader has answered
	}
	ws.SetReadLimit(MaxMessageBytes)
	if s.upgraded != nil {
		s.upgraded()
	}
	log := s.log.With("room", room, "role", claims.Role)
	c := newConn(ws, &s.cfg, log)

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		// Shut down between the check above and the upgrade: say so and
		// hang up here, in the request's own goroutine.
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, ReasonShutdown),
			time.Now().Add(s.cfg.WriteTimeout))
		ws.Close()
		s.done()
		return
	}
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	s.connections.Add(1)
	s.accepted.Add(1)
	// The HTTP server's goroutine, whose stack the handshake grew, ends
	// here: the connection is read on a fresh one (BENCHMARKS.md, idle
	// signaling).
	go s.serveConn(c, claims, room)
}

// serveConn reads c until it ends, with its writer beside it, then forgets
// it.
func (s *Server) serveConn(c *conn, claims *Claims, room string) {
	defer s.done()
	defer s.connections.Add(-1)
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		c.writeLoop()
	}()
	s.readLoop(c, claims, room)
	c.close(websocket.CloseNormalClosure, "")
	<-writerDone

	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.dropped(c)
}

// readLoop reads and dispatches frames until the connection ends.
func (s *Server) readLoop(c *conn, claims *Claims, room string) {
	readTimeout := 3 * s.cfg.PingInterval
	_ = c.ws.SetReadDeadline(time.Now().Add(readTimeout))
	c.ws.SetPongHandler(func(string) error {
		return c.ws.SetReadDeadline(time.Now().Add(readTimeout))
	})
	for {
		typ, data, err := c.ws.ReadMessage()
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				// gorilla has sent close 1009 (RFC 6455 §7.4.1, message too big).
				c.log.Info("frame over the size limit; closed with 1009")
			}
			return
		}
		_ = c.ws.SetReadDeadline(time.Now().Add(readTimeout))
		if !c.allow(time.Now()) {
			s.refuse(c, "", CodeRateLimited, "too many messages; slow down")
			continue
		}
		if typ != websocket.TextMessage {
			s.refuse(c, "", CodeBadJSON, "binary frames are not part of the protocol")
			continue
		}
		var env Envelope
		if err := json.Unmarshal(data, &env); err != nil || env.Type == "" {
			s.refuse(c, "", CodeBadJSON, "want a JSON object {type, id, payload}")
			continue
		}
		if len(env.ID) > maxIDLen {
			s.refuse(c, "", CodeBadPayload, "id: longer than 64 bytes")
			continue
		}
		msg := inbound(env.Type)
		if msg == nil {
			s.refuse(c, env.ID, CodeUnknownType, fmt.Sprintf("unknown message type %q", env.Type))
			continue
		}
		if len(env.Payload) > 0 && string(env.Payload) != "null" {
			if err := json.Unmarshal(env.Payload, msg); err != nil {
				s.refuse(c, env.ID, CodeBadPayload, fmt.Sprintf("%s: %v", env.Type, err))
				continue
			}
		}
		if err := msg.Validate(); err != nil {
			code := CodeBadPayload
			if errors.Is(err, errVersion) {
				code = CodeVersion
			}
			s.refuse(c, env.ID, code, fmt.Sprintf("%s: %v", env.Type, err))
			continue
		}
		if stop := s.dispatch(c, claims, room, env.ID, msg); stop {
			return
		}
	}
}

func (s *Server) refuse(c *conn, ref, code, msg string) {
	s.errorsSent.Add(1)
	c.sendError(ref, code, msg)
}

// dispatch handles one valid message; it returns true when the connection ends.
func (s *Server) dispatch(c *conn, claims *Claims, room, id string, msg Validator) bool {
	switch m := msg.(type) {
	case *Join:
		s.join(c, claims, room, id, m)
		return false
	case *Resume:
		s.resumeMember(c, claims, room, id, m)
		return false
	case *Ping:
		c.send(TypePong, id, Pong{})
		return false
	}
	mb := c.member
	if mb == nil || !s.current(mb, c) {
		s.refuse(c, id, CodeNotJoined, "join or resume first")
		return false
	}
	if s.cfg.Placement != nil && !s.cfg.Placement.Holds(room) {
		// The lease lapsed (a paused process, the records out of reach) or
		// went to another node: this node hosts the room no longer.
		s.Evict([]string{room})
		return true
	}
	switch msg.(type) {
	case *SDP, *Candidate, *ICERestart:
		if s.isWaiting(mb) {
			s.refuse(c, id, CodeWaiting, "wait to be admitted before sending media")
			return false
		}
	}
	switch m := msg.(type) {
	case *SDP:
		s.handleSDP(c, mb, id, m)
	case *Candidate:
		s.handleCandidate(c, mb, id, m)
	case *Mute:
		s.mute(mb, m)
	case *Stats:
		s.mu.Lock()
		changed := mb.stats.Quality != m.Quality || !slices.Equal(mb.stats.QualityReasons, m.QualityReasons)
		mb.stats, mb.statsAt = *m, time.Now()
		r := mb.room
		s.mu.Unlock()
		if changed {
			// The others see the new verdict on this connection.
			s.broadcast(r)
		}
	case *ICERestart:
		s.mu.Lock()
		mb.reconnects++
		s.mu.Unlock()
		if p := s.mediaOf(mb); p != nil {
			if err := p.RestartICE(); err != nil {
				s.refuse(c, id, CodeInternal, "ice restart failed; rejoin")
				c.log.Warn("ice restart", "participant", mb.id, "err", err)
			}
		}
	case *Admit:
		s.admitOne(c, claims, mb, id, m)
	case *RequestMeasurement:
		s.requestMeasurement(c, claims, mb, id, m)
	case *Readings:
		s.handleReadings(c, claims, id, m)
	case *ChatSend:
		s.handleChat(c, claims, mb, id, m)
	case *ChatSync:
		s.handleChatSync(c, claims, mb, id, m)
	case *End:
		if claims.Role != RoleClinician {
			s.refuse(c, id, CodeForbidden, "only a clinician ends the visit")
			return false
		}
		s.endRoom(mb.room, claims)
		return true
	case *Leave:
		s.leave(c, mb)
		return true
	}
	return false
}

func (s *Server) handleSDP(c *conn, mb *member, id string, m *SDP) {
	p := s.mediaOf(mb)
	if p == nil {
		s.refuse(c, id, CodeNotJoined, "media not ready; join again")
		return
	}
	switch {
	case m.PC == PCPublish && m.kind == TypeOffer:
		answer, err := p.HandleOffer(m.SDP)
		if err != nil {
			s.refuseMedia(c, id, err)
			return
		}
		c.send(TypeAnswer, id, SDP{PC: PCPublish, SDP: answer})
	case m.PC == PCSubscribe && m.kind == TypeAnswer:
		s.mu.Lock()
		mb.pendingOffer = ""
		s.mu.Unlock()
		if err := p.HandleAnswer(m.SDP); err != nil {
			s.refuseMedia(c, id, err)
		}
	default:
		s.refuse(c, id, CodeBadPayload, "the client offers on publish and answers on subscribe")
	}
}

func (s *Server) handleCandidate(c *conn, mb *member, id string, m *Candidate) {
	if m.Candidate == nil || m.Candidate.Candidate == "" {
		return // end of candidates: nothing to do for the server
	}
	p := s.mediaOf(mb)
	if p == nil {
		s.refuse(c, id, CodeNotJoined, "media not ready; join again")
		return
	}
	if err := p.AddCandidate(sfu.PC(m.PC), toICEInit(m.Candidate)); err != nil {
		if errors.Is(err, sfu.ErrBadCandidate) {
			s.refuse(c, id, CodeBadCandidate, err.Error())
			return
		}
		s.refuseMedia(c, id, err)
	}
}

func (s *Server) refuseMedia(c *conn, id string, err error) {
	switch {
	case errors.Is(err, sfu.ErrBadSDP):
		s.refuse(c, id, CodeBadSDP, err.Error())
	case errors.Is(err, sfu.ErrBadCandidate):
		s.refuse(c, id, CodeBadCandidate, err.Error())
	default:
		c.log.Warn("media operation failed", "err", err)
		s.refuse(c, id, CodeInternal, "the media server failed; try again")
	}
}

// Counters are the server's counters for metrics.
type Counters struct {
	Connections int64  // open WebSockets
	Accepted    uint64 // WebSockets accepted since start
	Refused     uint64 // upgrade requests refused (token, scope, origin, room id)
	ErrorsSent  uint64 // error messages sent
	Rooms       int
	Members     int
}

// Counters returns a snapshot of the counters.
func (s *Server) Counters() Counters {
	s.mu.Lock()
	rooms, members := len(s.rooms), 0
	for _, r := range s.rooms {
		members += len(r.members)
	}
	s.mu.Unlock()
	return Counters{
		Connections: s.connections.Load(),
		Accepted:    s.accepted.Load(),
		Refused:     s.refused.Load(),
		ErrorsSent:  s.errorsSent.Load(),
		Rooms:       rooms,
		Members:     members,
	}
}

// Shutdown tells every connected client that the server is going away (leave
// {reason: shutdown}, close 1001), ends every participant and waits for the
// connections to finish or ctx to end.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	s.drainedLocked()
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	var members []*member
	for _, r := range s.rooms {
		for _, m := range r.members {
			members = append(members, m)
			s.removeLocked(m)
		}
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.send(TypeLeave, "", Leave{Reason: ReasonShutdown})
		c.close(websocket.CloseGoingAway, ReasonShutdown)
	}
	for _, m := range members {
		if m.media != nil {
			m.media.Close()
		}
	}
	// The sampler hands over the records of everyone just ended, and stops.
	s.quitOnce.Do(func() { close(s.quit) })
	select {
	case <-s.drained:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close ends what Shutdown left running when its context ended first: it
// cancels the connections' calls to the clinic's records, cuts every socket
// (a client that stopped reading holds its writer until the write
// deadline otherwise) and waits until nothing of the server runs. It shuts
// down first if Shutdown was not called.
func (s *Server) Close() {
	s.mu.Lock()
	if !s.closed {
		s.mu.Unlock()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_ = s.Shutdown(ctx) // says goodbye to whoever reads it, then cuts below
		s.mu.Lock()
	}
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	s.cancel()
	for _, c := range conns {
		c.ws.NetConn().Close()
	}
	<-s.drained
}

// isClosed reports whether Shutdown has begun.
func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// begin counts a piece of work Shutdown waits for; false once the server is
// closed, when the work must not start.
func (s *Server) begin() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.active++
	return true
}

// done ends a piece of work that begin (or the connection handler) counted.
func (s *Server) done() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.active--
	s.drainedLocked()
}

// drainedLocked closes drained when the server is closed and idle.
func (s *Server) drainedLocked() {
	if s.closed && s.active == 0 {
		select {
		case <-s.drained:
		default:
			close(s.drained)
		}
	}
}
