package signaling

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"sort"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"

	"vclinic/sfu"
)

// room is the signaling side of one call; Server.mu guards it.
type room struct {
	id      string
	members map[string]*member
	// appt is true for an appointment's room, where guests wait to be admitted
	// until a clinician has admitted someone (admitted).
	appt     bool
	admitted bool
	// let are the guests besides the patient (a relative, an interpreter)
	// the clinician has admitted, by role and subject: each waits to be
	// admitted once, and then comes back (a reload, another device)
	// without waiting again.
	let map[string]bool
	// vitals are the newest home-kit values by code, device and source.
	vitals map[string]Vital
	// vitalsPatient is whose readings vitals holds.
	vitalsPatient string
	// chat is the visit's chat (chat.go); its own mutex guards it.
	chat roomChat
}

// member is one participant. It outlives its WebSocket by the grace period.
// Server.mu guards every field below media.
type member struct {
	srv  *Server
	room *room
	id   string
	sub  string
	name string
	role string

	media *sfu.Participant // set once the media side has joined

	conn         *conn  // nil while reconnecting
	state        string // StateActive or StateReconnecting
	waiting      bool   // in the waiting room: no media until admitted
	audio, video bool
	screen       bool // its video is a shared screen
	resumeToken  string
	pendingOffer string   // last subscribe offer not yet answered, resent on resume
	layers       *Layers  // the last layers message, resent on resume
	downlink     *Quality // the last quality message, resent on resume
	grace        *time.Timer
	gone         bool
	joinedAt     time.Time
	stats        Stats
	statsAt      time.Time
	reconnects   int64 // resumes and ICE restarts, for the quality record
	// quality is the sampler's (quality.go), set with media.
	quality *qualityState
	// shown are the patients whose live home readings this participant has
	// been shown, each recorded once by the VitalsAudit (guarded by srv.mu).
	shown map[string]bool
	// showMu makes showVitals's check of shown and its record one step.
	showMu sync.Mutex
}

// randomToken returns n random bytes, base64url. crypto/rand.Read never fails
// (since Go 1.24 it crashes the program rather than return an error).
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// join adds the connection's person to the room, replacing an earlier session of
// the same person (another tab or device).
func (s *Server) join(c *conn, claims *Claims, roomID, id string, m *Join) {
	if c.member != nil {
		s.refuse(c, id, CodeAlreadyJoined, "this connection has joined already")
		return
	}
	name := claims.Name
	if name == "" {
		name = m.Name
	}
	if name == "" {
		name = claims.Role
	}
	appt, admitted, let := s.isAppointmentRoom(roomID, claims)

	s.mu.Lock()
	if s.closed {
		// Shutdown has ended everyone; a join it raced would be left with
		// media nobody closes.
		s.mu.Unlock()
		c.send(TypeLeave, "", Leave{Reason: ReasonShutdown})
		c.close(websocket.CloseGoingAway, ReasonShutdown)
		return
	}
	r := s.rooms[roomID]
	if r == nil && s.cfg.Placement != nil && !s.cfg.Placement.Holds(roomID) {
		// The lease taken before the upgrade has lapsed or gone to another
		// node meanwhile: the client joins again, where the room is now.
		s.mu.Unlock()
		s.sendMoved(c)
		return
	}
	if r == nil && s.cfg.Admit != nil {
		if err := s.cfg.Admit(); err != nil {
			// Past its load the node says no to a new visit rather than
			// degrade every visit it carries, and lets go of the room.
			if s.cfg.Placement != nil {
				s.cfg.Placement.Closed(roomID)
			}
			s.mu.Unlock()
			s.refuse(c, id, CodeBusy, err.Error())
			return
		}
	}
	if r == nil {
		r = &room{id: roomID, members: map[string]*member{}, appt: appt, admitted: admitted}
		for _, g := range let {
			if r.let == nil {
				r.let = map[string]bool{}
			}
			r.let[g] = true
		}
		s.rooms[roomID] = r
	}
	var replaced *member
	for _, other := range r.members {
		if other.sub == claims.Subject && other.role == claims.Role {
			replaced = other
		}
	}
	if replaced == nil && len(r.members) >= s.cfg.MaxParticipants {
		if len(r.members) == 0 {
			delete(s.rooms, roomID)
		}
		s.mu.Unlock()
		s.refuse(c, id, CodeRoomFull, "the room is full")
		return
	}
	var oldConn *conn
	if replaced != nil {
		oldConn = replaced.conn
	}
	mb := &member{
		srv:         s,
		room:        r,
		id:          randomToken(9),
		sub:         claims.Subject,
		name:        name,
		role:        claims.Role,
		conn:        c,
		state:       StateActive,
		audio:       true,
		video:       true,
		resumeToken: randomToken(24),
		joinedAt:    time.Now(),
		waiting:     r.appt && IsGuest(claims.Role) && !(r.admitted && (claims.Role == RolePatient || r.let[claims.Role+"|"+claims.Subject])),
	}
	r.members[mb.id] = mb
	if replaced != nil {
		// After the new member is in: a room whose only member is replaced
		// must not close (and, in a cluster, give up its lease) under it.
		s.removeLocked(replaced)
	}
	s.resume[mb.resumeToken] = mb
	c.member = mb
	joined := Joined{
		Version:       ProtocolVersion,
		Room:          roomID,
		ParticipantID: mb.id,
		ResumeToken:   mb.resumeToken,
		Waiting:       mb.waiting,
		GraceSeconds:  int(s.cfg.GracePeriod / time.Second),
		ICEServers:    s.iceServers(mb.id),
		Participants:  r.listLocked(),
	}
	s.mu.Unlock()

	if replaced != nil {
		if oldConn != nil {
			oldConn.send(TypeLeave, "", Leave{Reason: ReasonReplaced})
			oldConn.close(websocket.CloseNormalClosure, ReasonReplaced)
		}
		if replaced.media != nil {
			replaced.media.Close()
		}
	}
	// The snapshot taken under the lock: an admission racing this join
	// starts the media itself.
	if joined.Waiting {
		// The arrival is on record before the guest hears it is waiting.
		s.arrived(roomID, claims)
		c.send(TypeJoined, id, joined)
		c.log.Info("waiting to be admitted", "participant", mb.id)
		s.broadcast(r)
		return
	}
	// joined goes out before anything the media side sends.
	c.send(TypeJoined, id, joined)
	if err := s.startMedia(mb); err != nil {
		c.member = nil
		s.refuseJoin(c, id, err)
		return
	}
	s.sendVitals(c, r)
}

// startMedia joins mb to the media server: on join, or on admission from the
// waiting room. On failure mb is removed from its room.
func (s *Server) startMedia(mb *member) error {
	r := mb.room
	p, err := s.media.Join(r.id, mb.id, mb)
	if err != nil {
		s.mu.Lock()
		s.removeLocked(mb)
		s.mu.Unlock()
		s.broadcast(r)
		return err
	}
	q := newQualityState(mb, p, r.appt)
	s.mu.Lock()
	gone := mb.gone
	if !gone {
		mb.media, mb.quality = p, q
	}
	s.mu.Unlock()
	if gone {
		p.Close()
		return nil
	}
	s.log.Info("in the call", "room", r.id, "participant", mb.id)
	s.broadcast(r)
	return nil
}

// refuseJoin tells the client why the media side would not take it.
func (s *Server) refuseJoin(c *conn, id string, err error) {
	code := CodeInternal
	if errors.Is(err, sfu.ErrRoomFull) {
		code = CodeRoomFull
	}
	c.log.Warn("media join failed", "err", err)
	s.refuse(c, id, code, "could not join the call: "+err.Error())
}

// resumeMember re-attaches a new connection to a participant within its grace
// period. The token must belong to the same person and room as the resume token.
func (s *Server) resumeMember(c *conn, claims *Claims, roomID, id string, m *Resume) {
	if c.member != nil {
		s.refuse(c, id, CodeAlreadyJoined, "this connection has joined already")
		return
	}
	s.mu.Lock()
	mb := s.resume[m.ResumeToken]
	if mb == nil || mb.gone || mb.room.id != roomID || mb.sub != claims.Subject || mb.role != claims.Role {
		s.mu.Unlock()
		s.refuse(c, id, CodeResumeFailed, "nothing to resume; join again")
		return
	}
	oldConn := mb.conn
	if mb.grace != nil {
		mb.grace.Stop()
		mb.grace = nil
	}
	delete(s.resume, mb.resumeToken)
	mb.resumeToken = randomToken(24)
	s.resume[mb.resumeToken] = mb
	mb.conn = c
	mb.state = StateActive
	mb.reconnects++
	c.member = mb
	pending := mb.pendingOffer
	layers, downlink := mb.layers, mb.downlink
	joined := Joined{
		Version:       ProtocolVersion,
		Room:          roomID,
		ParticipantID: mb.id,
		ResumeToken:   mb.resumeToken,
		Resumed:       true,
		Waiting:       mb.waiting,
		GraceSeconds:  int(s.cfg.GracePeriod / time.Second),
		ICEServers:    s.iceServers(mb.id),
		Participants:  mb.room.listLocked(),
	}
	r := mb.room
	s.mu.Unlock()

	if oldConn != nil && oldConn != c {
		oldConn.send(TypeLeave, "", Leave{Reason: ReasonReplaced})
		oldConn.close(websocket.CloseNormalClosure, ReasonReplaced)
	}
	c.send(TypeJoined, id, joined)
	if !mb.waiting {
		s.sendVitals(c, r)
	}
	if pending != "" {
		c.send(TypeOffer, "", SDP{PC: PCSubscribe, SDP: pending})
	}
	if layers != nil {
		c.send(TypeLayers, "", layers)
	}
	if downlink != nil {
		c.send(TypeQuality, "", downlink)
	}
	c.log.Info("resumed", "participant", mb.id)
	s.broadcast(r)
}

// dropped starts the grace period of the participant whose connection ended
// without a leave.
func (s *Server) dropped(c *conn) {
	mb := c.member
	if mb == nil {
		return
	}
	s.mu.Lock()
	if mb.gone || mb.conn != c {
		s.mu.Unlock()
		return
	}
	mb.conn = nil
	mb.state = StateReconnecting
	mb.grace = time.AfterFunc(s.cfg.GracePeriod, func() {
		if !s.begin() {
			return // shutting down: Shutdown has removed everyone
		}
		defer s.done()
		s.expire(mb)
	})
	r := mb.room
	s.mu.Unlock()
	c.log.Info("dropped; keeping the place", "participant", mb.id, "grace", s.cfg.GracePeriod)
	s.broadcast(r)
}

// expire removes a participant whose grace period ended.
func (s *Server) expire(mb *member) {
	s.mu.Lock()
	if mb.gone || mb.conn != nil {
		s.mu.Unlock()
		return
	}
	s.removeLocked(mb)
	r := mb.room
	s.mu.Unlock()
	s.log.Info("grace period over; removed", "room", r.id, "participant", mb.id)
	if mb.media != nil {
		mb.media.Close()
	}
	s.broadcast(r)
}

// leave ends a participant at its own request.
func (s *Server) leave(c *conn, mb *member) {
	s.mu.Lock()
	s.removeLocked(mb)
	r := mb.room
	s.mu.Unlock()
	c.send(TypeLeave, "", Leave{Reason: ReasonHangup})
	c.close(websocket.CloseNormalClosure, ReasonHangup)
	if mb.media != nil {
		mb.media.Close()
	}
	c.log.Info("left", "participant", mb.id)
	s.broadcast(r)
}

func (s *Server) mute(mb *member, m *Mute) {
	s.mu.Lock()
	mb.audio, mb.video, mb.screen = m.Audio, m.Video, m.Screen
	r := mb.room
	s.mu.Unlock()
	s.broadcast(r)
}

// removeLocked takes mb out of its room; the room goes when empty.
func (s *Server) removeLocked(mb *member) {
	if mb.gone {
		return
	}
	mb.gone = true
	if mb.grace != nil {
		mb.grace.Stop()
		mb.grace = nil
	}
	delete(s.resume, mb.resumeToken)
	delete(mb.room.members, mb.id)
	if mb.media != nil {
		s.qualityEnded = append(s.qualityEnded, mb) // its record's last sample
	}
	if len(mb.room.members) == 0 && s.rooms[mb.room.id] == mb.room {
		delete(s.rooms, mb.room.id)
		if s.cfg.Placement != nil {
			s.cfg.Placement.Closed(mb.room.id)
		}
	}
}

// sendMoved tells a client that its room is not (or no longer) on this
// node: leave {reason: moved}, close 1012 (service restart). The client
// connects again and joins where the room is now.
func (s *Server) sendMoved(c *conn) {
	c.send(TypeLeave, "", Leave{Reason: ReasonMoved})
	c.close(websocket.CloseServiceRestart, ReasonMoved)
}

// Evict ends rooms on this node that it may no longer host (their leases
// lapsed or went to another node, or the node drains): every participant
// gets leave {reason: moved} and joins again on the node that hosts the room
// next. Rooms not here are ignored.
func (s *Server) Evict(rooms []string) {
	for _, id := range rooms {
		s.mu.Lock()
		r := s.rooms[id]
		if r == nil {
			s.mu.Unlock()
			continue
		}
		var ms []*member
		var conns []*conn
		for _, m := range r.members {
			ms = append(ms, m)
			if m.conn != nil {
				conns = append(conns, m.conn)
			}
		}
		for _, m := range ms {
			s.removeLocked(m)
		}
		s.mu.Unlock()
		s.log.Warn("room moved away from this node", "room", id, "participants", len(ms))
		for _, c := range conns {
			s.sendMoved(c)
		}
		for _, m := range ms {
			if m.media != nil {
				m.media.Close()
			}
		}
	}
}

// RoomIDs lists the rooms live on this node.
func (s *Server) RoomIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.rooms))
	for id := range s.rooms {
		out = append(out, id)
	}
	return out
}

// Hosts reports whether room is live on this node.
func (s *Server) Hosts(room string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rooms[room] != nil
}

// current reports whether c is still the connection of mb.
func (s *Server) current(mb *member, c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !mb.gone && mb.conn == c
}

func (s *Server) mediaOf(mb *member) *sfu.Participant {
	s.mu.Lock()
	defer s.mu.Unlock()
	return mb.media
}

// iceServers are the ICE servers for participant id: the configured ones,
// and TURN with a credential of its own.
func (s *Server) iceServers(id string) []ICEServer {
	out := make([]ICEServer, len(s.cfg.ICEServers), len(s.cfg.ICEServers)+1)
	copy(out, s.cfg.ICEServers)
	if s.cfg.TURN != nil {
		out = append(out, s.cfg.TURN.Server(id))
	}
	return out
}

// listLocked returns the room's participants in join order.
func (r *room) listLocked() []Participant {
	ms := make([]*member, 0, len(r.members))
	for _, m := range r.members {
		ms = append(ms, m)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].joinedAt.Before(ms[j].joinedAt) })
	out := make([]Participant, len(ms))
	for i, m := range ms {
		state := m.state
		if m.waiting && state == StateActive {
			state = StateWaiting
		}
		out[i] = Participant{ID: m.id, Name: m.name, Role: m.role, State: state, Audio: m.audio, Video: m.video,
			Screen: m.screen, Quality: m.stats.Quality, QualityReasons: m.stats.QualityReasons}
	}
	return out
}

// broadcast sends the participant list to everyone connected in r.
func (s *Server) broadcast(r *room) {
	s.mu.Lock()
	list := r.listLocked()
	conns := make([]*conn, 0, len(r.members))
	for _, m := range r.members {
		if m.conn != nil {
			conns = append(conns, m.conn)
		}
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.send(TypeParticipants, "", Participants{Participants: list})
	}
}

// SubscribeOffer implements sfu.Handler.
func (m *member) SubscribeOffer(sdp string) {
	m.srv.mu.Lock()
	m.pendingOffer = sdp
	c := m.conn
	m.srv.mu.Unlock()
	if c != nil {
		c.send(TypeOffer, "", SDP{PC: PCSubscribe, SDP: sdp})
	}
}

// Layers implements sfu.LayerHandler: the client may pause the simulcast
// layers no one receives.
func (m *member) Layers(kind string, active []string) {
	msg := &Layers{Kind: kind, Active: active}
	m.srv.mu.Lock()
	m.layers = msg
	c := m.conn
	m.srv.mu.Unlock()
	if c != nil {
		c.send(TypeLayers, "", msg)
	}
}

// Downlink implements sfu.LinkHandler: the client hears how the media
// server sees its downlink.
func (m *member) Downlink(level string, bitrate uint64) {
	msg := &Quality{Level: level, Kbps: int(bitrate / 1000)}
	if level != QualityGood {
		msg.Reasons = []string{QualityBandwidth}
	}
	m.srv.mu.Lock()
	m.downlink = msg
	c := m.conn
	m.srv.mu.Unlock()
	if c != nil {
		c.send(TypeQuality, "", msg)
	}
}

// VideoPaused implements sfu.LinkHandler.
func (m *member) VideoPaused(publisherID string, paused bool) {
	m.srv.mu.Lock()
	c := m.conn
	m.srv.mu.Unlock()
	if c != nil {
		c.send(TypeVideoPaused, "", VideoPaused{ParticipantID: publisherID, Paused: paused})
	}
}

// Candidate implements sfu.Handler.
func (m *member) Candidate(pc sfu.PC, cand *webrtc.ICECandidateInit) {
	m.srv.mu.Lock()
	c := m.conn
	m.srv.mu.Unlock()
	if c == nil {
		return // the client restarts ICE after it resumes
	}
	msg := Candidate{PC: string(pc)}
	if cand != nil {
		msg.Candidate = &ICECandidate{
			Candidate:        cand.Candidate,
			SDPMid:           cand.SDPMid,
			SDPMLineIndex:    cand.SDPMLineIndex,
			UsernameFragment: cand.UsernameFragment,
		}
	}
	c.send(TypeCandidate, "", msg)
}

// ConnectionState implements sfu.Handler.
func (m *member) ConnectionState(pc sfu.PC, st webrtc.PeerConnectionState) {
	m.srv.log.Debug("peer connection state", "room", m.room.id, "participant", m.id, "pc", pc, "state", st.String())
}

func toICEInit(c *ICECandidate) webrtc.ICECandidateInit {
	return webrtc.ICECandidateInit{
		Candidate:        c.Candidate,
		SDPMid:           c.SDPMid,
		SDPMLineIndex:    c.SDPMLineIndex,
		UsernameFragment: c.UsernameFragment,
	}
}

// RoomStatus is what operations and clinicians see of a live room.
type RoomStatus struct {
	ID string `json:"id"`
	// Node is the id of the node that hosts the room.
	Node         string              `json:"node"`
	Participants []ParticipantStatus `json:"participants"`
}

// ParticipantStatus is one participant with its last reported receive quality.
// Name is left empty for viewers who may not see who is in a consultation.
type ParticipantStatus struct {
	Participant
	Stats   Stats      `json:"stats"`
	StatsAt *time.Time `json:"statsAt,omitempty"`
	// VideoLayers is how many simulcast layers of the participant's camera
	// reach the media server (1 without simulcast; absent without video).
	VideoLayers int `json:"videoLayers,omitempty"`
}

// Room returns the status of a live room; withNames false leaves names out.
func (s *Server) Room(id string, withNames bool) (RoomStatus, bool) {
	st, media, ok := s.roomStatus(id, withNames)
	// Asked of the media side after signaling's lock is released.
	for i, m := range media {
		if m != nil {
			st.Participants[i].VideoLayers = m.VideoLayers()
		}
	}
	return st, ok
}

// roomStatus is Room without the media side's part, and each participant's
// media connection.
func (s *Server) roomStatus(id string, withNames bool) (RoomStatus, []*sfu.Participant, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rooms[id]
	if r == nil {
		return RoomStatus{}, nil, false
	}
	if s.cfg.Placement != nil && !s.cfg.Placement.Holds(id) {
		// Not this node's any more (its lease lapsed): it goes now.
		go s.Evict([]string{id})
		return RoomStatus{}, nil, false
	}
	st := RoomStatus{ID: id, Node: s.cfg.NodeID}
	var media []*sfu.Participant
	for _, p := range r.listLocked() {
		m := r.members[p.ID]
		ps := ParticipantStatus{Participant: p, Stats: m.stats}
		if !withNames {
			ps.Name = ""
		}
		if !m.statsAt.IsZero() {
			t := m.statsAt.UTC()
			ps.StatsAt = &t
		}
		st.Participants = append(st.Participants, ps)
		media = append(media, m.media)
	}
	return st, media, true
}

// Presence returns how many are in room's waiting room and in its call now
// (participants reconnecting count where they were).
func (s *Server) Presence(room string) (waiting, inCall int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rooms[room]
	if r == nil {
		return 0, 0
	}
	for _, m := range r.members {
		if m.waiting {
			waiting++
		} else {
			inCall++
		}
	}
	return waiting, inCall
}
