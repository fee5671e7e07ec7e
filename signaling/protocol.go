package signaling

// This file holds the whole vclinic signaling protocol. web/static/protocol.js
// mirrors it for the browser; golden files in testdata/ pin the JSON.
//
// Transport: one WebSocket per participant at /ws?room=<room id>. The access token
// travels in the upgrade request, never in the URL: as the WebSocket subprotocol
// "access_token.<jwt>" offered next to ProtocolName (browsers cannot set headers on
// a WebSocket), as "Authorization: Bearer <jwt>", or as the session cookie. A bad
// token is refused before the upgrade with 401 (invalid or expired) or 403 (valid
// but not for this room). The server answers with the subprotocol ProtocolName.
//
// Every frame is one JSON envelope {"type", "id", "payload"}. "id" is chosen by the
// sender and echoed in the "ref" of an error about that message. Text frames only;
// a frame larger than MaxMessageBytes closes the connection with 1009.
//
// Flow (C = client, S = server):
//
//	C: join {version, name}                  or  resume {resumeToken} after a drop
//	S: joined {participantId, resumeToken, participants}
//	C: offer {pc:"publish", sdp}             the client publishes audio and video
//	S: answer {pc:"publish", sdp}
//	S: offer {pc:"subscribe", sdp}           the server offers everyone else's tracks,
//	C: answer {pc:"subscribe", sdp}          again whenever they change
//	C/S: candidate {pc, candidate}           trickle ICE both ways, both connections
//	S: participants {participants}           whenever someone joins, leaves, mutes,
//	                                         drops (state "reconnecting") or returns
//	C: mute {audio, video, screen}           what this participant sends; screen:
//	                                         its video is a shared screen (results,
//	                                         an X-ray) in place of its camera
//	C: stats {...}                           receive quality, every few seconds
//	C: ice-restart {pc:"subscribe"}          the server re-offers with new ICE
//	                                         credentials; for "publish" the client
//	                                         sends a new offer with iceRestart itself
//	S: layers {kind, active}                 the simulcast layers (by RID) of the
//	                                         client's video that someone receives;
//	                                         the client may pause the others
//	S: quality {level, reasons, kbps}        the client's downlink as the media
//	                                         server sees it, on change
//	S: video-paused {participantId, paused}  a participant's video is paused for
//	                                         this client (its link carries sound
//	                                         only), or comes again
//
// A client's stats carry its own verdict on its connection (quality and
// qualityReasons); the others see it in the participant list, so that a
// clinician knows when the patient's connection is weak.
//	C: ping {}  /  S: pong {}                application keepalive (the server also
//	                                         sends WebSocket pings)
//	C: leave {}                              the participant hangs up
//
// Appointment rooms have a waiting room. A guest whose link belongs to an
// appointment (token claim "appt") gets joined with waiting=true and sends no
// media yet; the others see its state "waiting". A clinician admits it:
//
//	C(clinician): admit {participantId}       or POST /api/v1/appointments/{id}/admit
//	S(guest): admitted {participants}         now the guest offers on publish
//	C(clinician): end {}                      the visit is over: everyone gets
//	S: leave {reason:"ended"}                 leave with reason "ended"
//
// Once admitted, the visit is open: the patient joining later (again after
// the grace period, or from another device) enters directly. Someone the
// patient brings along (a relative, an interpreter) waits to be admitted
// like the patient, once: admitted, they come back without waiting again,
// on whichever node hosts the visit then (Visits keeps who was let in).
//
// Home-kit readings reach the room live, from the patient's page or the home
// gateway, within a second of arriving at the server:
//
//	S: vitals {vitals}                        the newest value per code and device
//	C(clinician): request-measurement {code}  ask the patient for a measurement
//	S(patient): request-measurement {code, deviceType}
//	C(patient): readings {readings}           raw readings from the patient's page,
//	                                          each item as POST /api/v1/readings takes it
//	S(patient): readings-result {results}     one result per item, in order, under
//	                                          the id of the readings message
//
// Chat, both ways, for a patient who cannot hear or a clinician who must
// spell a medicine's name (chat.go). Everyone in the room, waiting guests
// too, reads and writes it; in an appointment's room it is kept with the
// visit as part of the record:
//
//	C: chat {clientId, text, phrase}          a message; clientId is the page's
//	                                          own id for it, so that sending it
//	                                          again after a reconnect files it once
//	S: chat {messages}                        to everyone, the sender too (its
//	                                          receipt), in the order filed (seq)
//	C: chat-sync {after}                      after every joined: the messages
//	S: chat {messages, history: true}         with seq above after, in order
//
//	S: leave {reason}                        the server ends the session
//	S: error {code, message, ref}            a message was refused; the session
//	                                         goes on unless the code says otherwise
//
// Readings sent over the WebSocket are filed exactly as POST /api/v1/readings
// files them: each item on its own (stored, duplicate or rejected with a
// reason), and the stored ones reach the visit live as vitals. Only the
// patient's own token sends them, for the patient's own kit; anyone else gets
// error forbidden. A payload that is not a batch, or holds more than
// MaxReadings items, gets error bad-payload. The session goes on either way.
//
// Each participant has two peer connections, as LiveKit does: "publish", where the
// client offers and sends media, and "subscribe", where the server offers and sends
// everyone else's media; whoever sends media makes the offer, so offers never
// collide. On a subscribe track, the MediaStream id is the publisher's participant id.
//
// A participant whose WebSocket drops keeps its place for the grace period; the
// others see its state as "reconnecting". Within the grace period a new WebSocket
// sends resume with the resumeToken from joined and carries on with the same
// participant id and peer connections (restarting ICE if media stopped).

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"vclinic/internal/callquality"
)

// ProtocolVersion is the version of this protocol. A client sends it in join; the
// server refuses other versions with CodeVersion.
const ProtocolVersion = 1

// ProtocolName is the WebSocket subprotocol the server selects.
const ProtocolName = "vclinic.v1"

// TokenSubprotocolPrefix prefixes the access token offered as a subprotocol.
const TokenSubprotocolPrefix = "access_token."

// MaxMessageBytes bounds one inbound frame. SDP offers of a browser with audio and
// video are 4-8 KiB; 64 KiB leaves room without letting a client hold megabytes.
const MaxMessageBytes = 64 << 10

// Message types.
const (
	TypeJoin               = "join"
	TypeResume             = "resume"
	TypeJoined             = "joined"
	TypeParticipants       = "participants"
	TypeOffer              = "offer"
	TypeAnswer             = "answer"
	TypeCandidate          = "candidate"
	TypeMute               = "mute"
	TypeStats              = "stats"
	TypeICERestart         = "ice-restart"
	TypePing               = "ping"
	TypePong               = "pong"
	TypeLeave              = "leave"
	TypeError              = "error"
	TypeAdmit              = "admit"
	TypeAdmitted           = "admitted"
	TypeEnd                = "end"
	TypeVitals             = "vitals"
	TypeRequestMeasurement = "request-measurement"
	TypeReadings           = "readings"
	TypeReadingsResult     = "readings-result"
	TypeLayers             = "layers"
	TypeQuality            = "quality"
	TypeVideoPaused        = "video-paused"
	TypeChat               = "chat"
	TypeChatSync           = "chat-sync"
)

// Peer connection names.
const (
	PCPublish   = "publish"
	PCSubscribe = "subscribe"
)

// Participant states.
const (
	StateActive       = "active"
	StateReconnecting = "reconnecting"
	StateWaiting      = "waiting" // in the waiting room, not yet admitted
)

// Error codes carried in Error.Code.
const (
	CodeBadJSON       = "bad-json"       // not a JSON envelope
	CodeUnknownType   = "unknown-type"   // envelope type is not one of the above
	CodeBadPayload    = "bad-payload"    // payload missing, malformed or out of range
	CodeNotJoined     = "not-joined"     // a call message before join/resume
	CodeAlreadyJoined = "already-joined" // a second join/resume on one connection
	CodeVersion       = "version"        // join with an unsupported protocol version
	CodeBadSDP        = "bad-sdp"        // an offer or answer the media server refused
	CodeBadCandidate  = "bad-candidate"  // an ICE candidate the media server refused
	CodeRoomFull      = "room-full"      // the room already has its maximum participants
	CodeResumeFailed  = "resume-failed"  // unknown or expired resume token; join again
	CodeRateLimited   = "rate-limited"   // too many messages; slow down
	CodeForbidden     = "forbidden"      // the role may not do this
	CodeNotFound      = "not-found"      // no such participant
	CodeWaiting       = "waiting"        // media before admission from the waiting room
	CodeInternal      = "internal"       // the server failed; try again
	CodeBusy          = "busy"           // the node takes no new visits now (at capacity); try again in a minute
)

// Leave reasons sent by the server.
const (
	ReasonHangup   = "hangup"   // echo of the client's own leave
	ReasonReplaced = "replaced" // the same person joined from another device or tab
	ReasonShutdown = "shutdown" // the server is shutting down; reconnect shortly
	ReasonTimeout  = "timeout"  // no message within the keepalive window
	ReasonEnded    = "ended"    // the room was closed
	ReasonMoved    = "moved"    // the room is on another node now; reconnect and join again
)

// Envelope is one frame on the wire.
type Envelope struct {
	Type    string          `json:"type"`
	ID      string          `json:"id,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// Join asks to enter the room named in the WebSocket URL.
type Join struct {
	Version int    `json:"version"`
	Name    string `json:"name,omitempty"` // display name; the token's name wins for staff
}

// Resume re-attaches a new WebSocket to a participant that dropped.
type Resume struct {
	ResumeToken string `json:"resumeToken"`
}

// Joined confirms join or resume.
type Joined struct {
	Version       int    `json:"version"`
	Room          string `json:"room"`
	ParticipantID string `json:"participantId"`
	ResumeToken   string `json:"resumeToken"`
	Resumed       bool   `json:"resumed"`
	// Waiting is true for a guest in the waiting room: wait for admitted
	// before publishing.
	Waiting      bool          `json:"waiting"`
	GraceSeconds int           `json:"graceSeconds"`
	ICEServers   []ICEServer   `json:"iceServers"`
	Participants []Participant `json:"participants"`
}

// ICEServer mirrors RTCIceServer.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// Participant describes one person in the room, including the receiver.
type Participant struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Role  string `json:"role"`
	State string `json:"state"` // StateActive, StateReconnecting or StateWaiting
	Audio bool   `json:"audio"` // sending audio (not muted)
	Video bool   `json:"video"` // sending video (camera on)
	// Screen says the participant's video is a shared screen, in place of
	// its camera: pages show it whole (not cropped) and say so.
	Screen bool `json:"screen,omitempty"`
	// Quality is the participant's connection as its page last judged it
	// (QualityGood, QualityWeak or QualityVeryWeak; empty until it has),
	// and QualityReasons why, in QualityLoss... codes.
	Quality        string   `json:"quality,omitempty"`
	QualityReasons []string `json:"qualityReasons,omitempty"`
}

// Connection quality levels.
const (
	QualityGood     = "good"
	QualityWeak     = "weak"
	QualityVeryWeak = "very-weak"
)

// Reasons for a weak connection.
const (
	QualityLoss      = "loss"      // packets lost
	QualityDelay     = "delay"     // a long round trip
	QualityJitter    = "jitter"    // packets arrive unevenly
	QualityBandwidth = "bandwidth" // too little bandwidth: less video, or none
)

// Quality is the client's downlink as the media server sees it: Level as
// Participant.Quality, with QualityBandwidth the reason when it is not good,
// and Kbps the server's estimate of it. Sent when the level changes, after
// congestion first limited the downlink.
type Quality struct {
	Level   string   `json:"level"`
	Reasons []string `json:"reasons,omitempty"`
	Kbps    int      `json:"kbps"`
}

// VideoPaused tells a client that the video of ParticipantID is paused for
// it because its link carries only sound (Paused), or that it comes again.
type VideoPaused struct {
	ParticipantID string `json:"participantId"`
	Paused        bool   `json:"paused"`
}

// Participants is the full list after any change.
type Participants struct {
	Participants []Participant `json:"participants"`
}

// SDP is an offer or an answer on one of the two peer connections.
type SDP struct {
	PC  string `json:"pc"`
	SDP string `json:"sdp"`

	kind string // TypeOffer or TypeAnswer, from the envelope
}

// Candidate is one trickled ICE candidate. A nil Candidate ends gathering.
type Candidate struct {
	PC        string        `json:"pc"`
	Candidate *ICECandidate `json:"candidate"`
}

// ICECandidate mirrors RTCIceCandidateInit.
type ICECandidate struct {
	Candidate        string  `json:"candidate"`
	SDPMid           *string `json:"sdpMid,omitempty"`
	SDPMLineIndex    *uint16 `json:"sdpMLineIndex,omitempty"`
	UsernameFragment *string `json:"usernameFragment,omitempty"`
}

// Mute says what the participant is sending. Screen: its video track
// carries a shared screen instead of the camera (the page swapped the
// track's source, RTCRtpSender.replaceTrack), until a mute without it.
type Mute struct {
	Audio  bool `json:"audio"`
	Video  bool `json:"video"`
	Screen bool `json:"screen,omitempty"`
}

// Stats is the client's receive summary over all its subscribed tracks, for
// operations (who has a poor connection) and for tests.
type Stats struct {
	FramesDecoded        int64   `json:"framesDecoded"`
	VideoPacketsReceived int64   `json:"videoPacketsReceived"`
	VideoPacketsLost     int64   `json:"videoPacketsLost"`
	AudioPacketsReceived int64   `json:"audioPacketsReceived"`
	AudioPacketsLost     int64   `json:"audioPacketsLost"`
	RoundTripSeconds     float64 `json:"roundTripSeconds"`
	FirstFrameMillis     int64   `json:"firstFrameMillis"` // page load to first decoded remote frame; 0 if none yet
	// The page's verdict on its connection, shown to the others (see
	// Participant.Quality); empty if it has none.
	Quality        string   `json:"quality,omitempty"`
	QualityReasons []string `json:"qualityReasons,omitempty"`
	// For the visit's quality record (all optional; an older page sends
	// none). The largest remote video decoded now and its frame rate
	// (inbound-rtp frameWidth, frameHeight, framesPerSecond); the freezes
	// counted so far over all received video (inbound-rtp freezeCount,
	// totalFreezesDuration in milliseconds, W3C webrtc-stats); the local
	// ICE candidate type of the selected pair, "tcp" for ICE-TCP
	// (callquality's candidate types).
	FrameWidth      int     `json:"frameWidth,omitempty"`
	FrameHeight     int     `json:"frameHeight,omitempty"`
	FramesPerSecond float64 `json:"framesPerSecond,omitempty"`
	FreezeCount     int64   `json:"freezeCount,omitempty"`
	FreezeMillis    int64   `json:"freezeMillis,omitempty"`
	CandidateType   string  `json:"candidateType,omitempty"`
}

// Layers tells a client that publishes simulcast (RFC 8853) which of its
// layers someone receives: Active lists their RIDs (RFC 8852), lowest
// first. The client may stop encoding the others (RTCRtpSender
// setParameters with an encoding's active flag) and must send them again
// when a later layers message lists them; the lowest layer is always
// listed. A client that ignores the message keeps sending every layer and
// works as before. Sent when the set changes, and again after a resume.
type Layers struct {
	Kind   string   `json:"kind"` // "video"
	Active []string `json:"active"`
}

// ICERestart asks the server to restart ICE on a peer connection.
type ICERestart struct {
	PC string `json:"pc"`
}

// Admit lets a waiting guest into the call; clinicians only.
type Admit struct {
	ParticipantID string `json:"participantId"`
}

// Admitted tells a waiting guest it is in the call.
type Admitted struct {
	Participants []Participant `json:"participants"`
}

// End closes the visit for everyone; clinicians only.
type End struct{}

// Vital is the newest value of one measurement from one source.
type Vital struct {
	Code string `json:"code"` // LOINC
	// Value is the number exactly as the device gave it ("37.60"), empty
	// when the device sent a special value (see Absent).
	Value  string `json:"value,omitempty"`
	Unit   string `json:"unit"`             // UCUM
	Absent string `json:"absent,omitempty"` // FHIR dataAbsentReason code
	// Flag says the value is implausible, with why; it is shown, not hidden.
	Flag     string    `json:"flag,omitempty"`
	At       time.Time `json:"at"`
	DeviceID string    `json:"deviceId,omitempty"`
	// Source is "device" or "patient-entered".
	Source string `json:"source"`
	// Trend holds up to the last ten earlier values of the same code and
	// source, oldest first, for a small trend line.
	Trend []string `json:"trend,omitempty"`
	// Via says how the value came: "bluetooth" (the patient's page),
	// "gateway", "patient" (typed by the patient) or "staff" (typed by
	// staff); DeviceName is the kit device's label.
	Via        string `json:"via,omitempty"`
	DeviceName string `json:"deviceName,omitempty"`
	// ReadingID names the stored reading (for its acknowledgement);
	// ReceivedAt is when the server stored it.
	ReadingID  string    `json:"readingId,omitempty"`
	ReceivedAt time.Time `json:"receivedAt,omitzero"`
	// Outside is "below" or "above" when the value lay outside the
	// patient's limits when it arrived, LimitLow and LimitHigh the limits
	// then in force (in LimitUnit). Decision support, not a diagnosis.
	Outside   string `json:"outside,omitempty"`
	LimitLow  string `json:"limitLow,omitempty"`
	LimitHigh string `json:"limitHigh,omitempty"`
	LimitUnit string `json:"limitUnit,omitempty"`
}

// Vitals carries new readings to everyone in the visit.
type Vitals struct {
	Vitals []Vital `json:"vitals"`
}

// RequestMeasurement asks the patient for a measurement: sent by a clinician
// with Code, relayed to the patient with the device type to use.
type RequestMeasurement struct {
	Code       string `json:"code"`
	DeviceType string `json:"deviceType,omitempty"`
}

// MaxReadings is the most items one readings message may hold, as many as
// one POST /api/v1/readings (a frame of MaxMessageBytes bounds it too).
const MaxReadings = 500

// Readings carries home-kit readings from the patient's page. Each item is
// one reading object exactly as POST /api/v1/readings takes it: {deviceId,
// characteristic, value (hex, as the device sent it), seq, observedAt,
// identifiedBy, deviceInfo}. The server checks each item on its own, so the
// items stay raw JSON here; an item that is not a reading is rejected in
// its result, not by an error.
type Readings struct {
	Readings []json.RawMessage `json:"readings"`
}

// Reading result statuses.
const (
	ReadingStored    = "stored"    // filed; ID names the new reading
	ReadingDuplicate = "duplicate" // sent before; ID names the reading stored then
	ReadingRejected  = "rejected"  // not filed; Reason says why
)

// ReadingResult is the answer for one item of a readings message.
type ReadingResult struct {
	Index  int      `json:"index"`  // of the item in the readings message
	Status string   `json:"status"` // ReadingStored, ReadingDuplicate or ReadingRejected
	ID     string   `json:"id,omitempty"`
	Reason string   `json:"reason,omitempty"`
	Flags  []string `json:"flags,omitempty"` // e.g. "implausible"
}

// ReadingsResult answers a readings message: one result per item, in order.
// The envelope's id is the readings message's.
type ReadingsResult struct {
	Results []ReadingResult `json:"results"`
}

// ChatSend is a chat message from a client. Text is what the sender wrote
// (or the quick phrase in the sender's language); Phrase, when set, names the
// quick phrase (ChatPhrases) so that each reader's page can show it in its
// own language.
type ChatSend struct {
	ClientID string `json:"clientId"`
	Text     string `json:"text"`
	Phrase   string `json:"phrase,omitempty"`
}

// ChatSync asks for the messages filed after seq After (0: all of them).
type ChatSync struct {
	After int64 `json:"after"`
}

// ChatMessage is one message of a visit's chat as clients see it.
type ChatMessage struct {
	ID       string    `json:"id"`
	Seq      int64     `json:"seq"` // 1, 2, 3 ... in the order filed
	ClientID string    `json:"clientId"`
	Name     string    `json:"name"` // the sender's display name
	Role     string    `json:"role"` // the sender's role
	Text     string    `json:"text"`
	Phrase   string    `json:"phrase,omitempty"`
	At       time.Time `json:"at"`
	// Mine is set for the reader who sent it (the same person, on any
	// device or after a reload).
	Mine bool `json:"mine,omitempty"`

	// Sender is the sender's token subject; never sent to clients.
	Sender string `json:"-"`
}

// Chat carries chat messages, in seq order; History marks the answer to a
// chat-sync.
type Chat struct {
	Messages []ChatMessage `json:"messages"`
	History  bool          `json:"history,omitempty"`
}

// ChatPhrases are the quick phrases a page offers, by code.
var ChatPhrases = map[string]bool{
	"cannot-hear": true, "cannot-see": true, "one-moment": true,
	"please-repeat": true, "please-write": true, "understood": true,
}

// MaxChatText bounds one chat message, in characters: a few sentences, a
// medicine's name spelt out, a dose.
const MaxChatText = 1000

// Leave ends a session; Reason is set by the server.
type Leave struct {
	Reason string `json:"reason,omitempty"`
}

// Error refuses a message.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Ref     string `json:"ref,omitempty"` // id of the refused message
}

// Ping and Pong carry nothing.
type Ping struct{}

// Pong answers Ping.
type Pong struct{}

// Limits on fields, checked by Validate.
const (
	maxIDLen        = 64
	maxNameLen      = 100
	maxSDPLen       = 60 << 10
	maxCandidateLen = 1024
)

// Validator is implemented by every inbound payload.
type Validator interface {
	Validate() error
}

// Validate checks a join.
func (m *Join) Validate() error {
	if m.Version != ProtocolVersion {
		return fmt.Errorf("%w: version %d, server speaks %d", errVersion, m.Version, ProtocolVersion)
	}
	return checkText("name", m.Name, maxNameLen)
}

// Validate checks a resume.
func (m *Resume) Validate() error {
	if m.ResumeToken == "" || len(m.ResumeToken) > 128 {
		return fmt.Errorf("resumeToken: want 1-128 characters")
	}
	return nil
}

// Validate checks an offer or answer.
func (m *SDP) Validate() error {
	if err := checkPC(m.PC); err != nil {
		return err
	}
	if m.SDP == "" {
		return fmt.Errorf("sdp: empty")
	}
	if len(m.SDP) > maxSDPLen {
		return fmt.Errorf("sdp: %d bytes, limit %d", len(m.SDP), maxSDPLen)
	}
	return nil
}

// Validate checks a trickled candidate.
func (m *Candidate) Validate() error {
	if err := checkPC(m.PC); err != nil {
		return err
	}
	if m.Candidate != nil {
		if len(m.Candidate.Candidate) > maxCandidateLen {
			return fmt.Errorf("candidate: %d bytes, limit %d", len(m.Candidate.Candidate), maxCandidateLen)
		}
		if m.Candidate.SDPMid != nil && len(*m.Candidate.SDPMid) > maxIDLen {
			return fmt.Errorf("sdpMid: longer than %d", maxIDLen)
		}
	}
	return nil
}

// Validate checks mute; every combination is valid.
func (m *Mute) Validate() error { return nil }

// maxFrameSide bounds a video frame's width or height (8K).
const maxFrameSide = 8192

// Validate checks stats.
func (m *Stats) Validate() error {
	if m.FramesDecoded < 0 || m.VideoPacketsReceived < 0 || m.AudioPacketsReceived < 0 ||
		m.FirstFrameMillis < 0 || m.RoundTripSeconds < 0 || m.FreezeCount < 0 || m.FreezeMillis < 0 {
		return fmt.Errorf("stats: negative counter")
	}
	if m.FrameWidth < 0 || m.FrameWidth > maxFrameSide || m.FrameHeight < 0 || m.FrameHeight > maxFrameSide {
		return fmt.Errorf("stats: frameWidth, frameHeight: want 0-%d", maxFrameSide)
	}
	if m.FramesPerSecond < 0 || m.FramesPerSecond > 240 || math.IsNaN(m.FramesPerSecond) {
		return fmt.Errorf("stats: framesPerSecond: want 0-240")
	}
	if m.RoundTripSeconds > 60 || math.IsNaN(m.RoundTripSeconds) {
		return fmt.Errorf("stats: roundTripSeconds: want 0-60")
	}
	if m.CandidateType != "" && !callquality.ValidCandidate(m.CandidateType) {
		return fmt.Errorf("stats: candidateType %q: want host, srflx, prflx, relay or tcp", m.CandidateType)
	}
	switch m.Quality {
	case "", QualityGood, QualityWeak, QualityVeryWeak:
	default:
		return fmt.Errorf("stats: quality %q: want %q, %q or %q", m.Quality, QualityGood, QualityWeak, QualityVeryWeak)
	}
	if len(m.QualityReasons) > 4 {
		return fmt.Errorf("stats: qualityReasons: %d, want at most 4", len(m.QualityReasons))
	}
	for _, r := range m.QualityReasons {
		switch r {
		case QualityLoss, QualityDelay, QualityJitter, QualityBandwidth:
		default:
			return fmt.Errorf("stats: qualityReasons: unknown %q", r)
		}
	}
	return nil
}

// Validate checks an ICE restart request.
func (m *ICERestart) Validate() error {
	if m.PC != PCSubscribe {
		return fmt.Errorf("pc: the server restarts ICE only on %q; restart %q with a new offer", PCSubscribe, PCPublish)
	}
	return nil
}

// Validate checks admit.
func (m *Admit) Validate() error {
	if m.ParticipantID == "" || len(m.ParticipantID) > maxIDLen {
		return fmt.Errorf("participantId: want 1-%d characters", maxIDLen)
	}
	return nil
}

// Validate checks end.
func (m *End) Validate() error { return nil }

// Validate checks a measurement request: a LOINC code such as 8480-6.
func (m *RequestMeasurement) Validate() error {
	if m.Code == "" || len(m.Code) > 16 {
		return fmt.Errorf("code: want a LOINC code such as 8480-6")
	}
	for _, r := range m.Code {
		if (r < '0' || r > '9') && r != '-' {
			return fmt.Errorf("code: want a LOINC code such as 8480-6")
		}
	}
	return nil
}

// Validate checks a batch of readings: present (an empty list is a valid
// batch) and at most MaxReadings items; the items are the sink's to check.
func (m *Readings) Validate() error {
	if m.Readings == nil {
		return fmt.Errorf(`want {"readings": [{"deviceId", "characteristic", "value", "seq", "observedAt"}, ...]}`)
	}
	if len(m.Readings) > MaxReadings {
		return fmt.Errorf("readings: %d items, at most %d", len(m.Readings), MaxReadings)
	}
	return nil
}

// Validate checks a chat message: a client id, and 1-MaxChatText
// characters of text that is not only spaces, or a known quick phrase.
func (m *ChatSend) Validate() error {
	if m.ClientID == "" || len(m.ClientID) > maxIDLen {
		return fmt.Errorf("clientId: want 1-%d characters", maxIDLen)
	}
	if m.Phrase != "" && !ChatPhrases[m.Phrase] {
		return fmt.Errorf("phrase: unknown %q", m.Phrase)
	}
	if !utf8.ValidString(m.Text) {
		return fmt.Errorf("text: not UTF-8")
	}
	if strings.TrimSpace(m.Text) == "" {
		return fmt.Errorf("text: empty")
	}
	if n := utf8.RuneCountInString(m.Text); n > MaxChatText {
		return fmt.Errorf("text: %d characters, at most %d", n, MaxChatText)
	}
	for _, r := range m.Text {
		if r < ' ' && r != '\n' && r != '\t' || r == 0x7f {
			return fmt.Errorf("text: control character %U", r)
		}
	}
	return nil
}

// Validate checks a chat sync.
func (m *ChatSync) Validate() error {
	if m.After < 0 {
		return fmt.Errorf("after: want 0 or a message's seq")
	}
	return nil
}

// Validate checks leave.
func (m *Leave) Validate() error { return nil }

// Validate checks ping.
func (m *Ping) Validate() error { return nil }

func checkPC(pc string) error {
	if pc != PCPublish && pc != PCSubscribe {
		return fmt.Errorf("pc: want %q or %q", PCPublish, PCSubscribe)
	}
	return nil
}

func checkText(field, s string, max int) error {
	if len(s) > max {
		return fmt.Errorf("%s: longer than %d bytes", field, max)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s: not UTF-8", field)
	}
	return nil
}

// inbound returns a fresh payload value for a client message type, or nil if the
// type is not one a client may send.
func inbound(typ string) Validator {
	switch typ {
	case TypeJoin:
		return &Join{}
	case TypeResume:
		return &Resume{}
	case TypeOffer, TypeAnswer:
		return &SDP{kind: typ}
	case TypeCandidate:
		return &Candidate{}
	case TypeMute:
		return &Mute{}
	case TypeStats:
		return &Stats{}
	case TypeICERestart:
		return &ICERestart{}
	case TypePing:
		return &Ping{}
	case TypeLeave:
		return &Leave{}
	case TypeAdmit:
		return &Admit{}
	case TypeEnd:
		return &End{}
	case TypeRequestMeasurement:
		return &RequestMeasurement{}
	case TypeReadings:
		return &Readings{}
	case TypeChat:
		return &ChatSend{}
	case TypeChatSync:
		return &ChatSync{}
	}
	return nil
}
