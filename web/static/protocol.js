// The vclinic signaling protocol, mirrored from signaling/protocol.go. Read the
// flow comment there; this module only names the same constants and shapes.
//
// Transport: one WebSocket per participant at /ws?room=<room id>, offering the
// subprotocols ProtocolName and TokenSubprotocolPrefix + <access token>. Every
// frame is one JSON envelope {type, id, payload}; "id" is a string chosen by the
// sender and echoed as "ref" in an error about that message. Without a token
// the session cookie authenticates the upgrade (staff on the call page).
//
// Appointment rooms have a waiting room: a guest gets joined {waiting: true},
// shows its self-view and publishes nothing until admitted arrives; the others
// list it with state StateWaiting. A clinician sends admit {participantId} or
// end {}; end gives everyone leave {reason: ReasonEnded}.

/** Version sent in join; the server refuses others with CodeVersion. */
export const ProtocolVersion = 1;

/** WebSocket subprotocol the server selects. */
export const ProtocolName = 'vclinic.v1';

/** Prefix of the access token offered as a second subprotocol. */
export const TokenSubprotocolPrefix = 'access_token.';

/** Largest frame the server accepts (64 KiB). */
export const MaxMessageBytes = 64 << 10;

/** Message types. */
export const TypeJoin = 'join';
export const TypeResume = 'resume';
export const TypeJoined = 'joined';
export const TypeParticipants = 'participants';
export const TypeOffer = 'offer';
export const TypeAnswer = 'answer';
export const TypeCandidate = 'candidate';
export const TypeMute = 'mute';
export const TypeStats = 'stats';
export const TypeICERestart = 'ice-restart';
export const TypePing = 'ping';
export const TypePong = 'pong';
export const TypeLeave = 'leave';
export const TypeError = 'error';
export const TypeAdmit = 'admit';
export const TypeAdmitted = 'admitted';
export const TypeEnd = 'end';
export const TypeVitals = 'vitals';
export const TypeRequestMeasurement = 'request-measurement';
export const TypeReadings = 'readings'; // patient -> server: home-kit readings, as POST /api/v1/readings takes them
export const TypeReadingsResult = 'readings-result'; // server -> patient: the results, with the readings' envelope id
export const TypeLayers = 'layers'; // server -> publisher: the simulcast layers someone receives; pause the rest
export const TypeQuality = 'quality'; // server -> client: its downlink as the media server sees it
export const TypeVideoPaused = 'video-paused'; // server -> client: a participant's video paused for this client's weak link, or back
export const TypeChat = 'chat'; // both ways: a chat message; from the server, messages in the order filed
export const TypeChatSync = 'chat-sync'; // client -> server: the messages after seq `after`, please

/** Connection quality levels (Participant.quality, Stats.quality, Quality.level). */
export const QualityGood = 'good';
export const QualityWeak = 'weak';
export const QualityVeryWeak = 'very-weak';

/** Reasons for a weak connection. */
export const QualityLoss = 'loss'; // packets lost
export const QualityDelay = 'delay'; // a long round trip
export const QualityJitter = 'jitter'; // packets arrive unevenly
export const QualityBandwidth = 'bandwidth'; // too little bandwidth: less video, or none

/** The most items one readings message may hold (as one POST /api/v1/readings). */
export const MaxReadings = 500;

/** Statuses in the results of a readings message. */
export const ReadingStored = 'stored'; // filed; id names the new reading
export const ReadingDuplicate = 'duplicate'; // sent before; id names the reading stored then
export const ReadingRejected = 'rejected'; // not filed; reason says why

/** The most characters one chat message may hold. */
export const MaxChatText = 1000;

/**
 * One chat message as the server sends it.
 * @typedef {object} ChatMessage
 * @property {string} id
 * @property {number} seq 1, 2, 3 ... in the order filed
 * @property {string} clientId the sender's page's id for it
 * @property {string} name the sender's display name
 * @property {string} role the sender's role
 * @property {string} text
 * @property {string} [phrase] the quick phrase it is, by code
 * @property {string} at RFC 3339
 * @property {boolean} [mine] sent by this person
 */

/** Peer connection names. */
export const PCPublish = 'publish';
export const PCSubscribe = 'subscribe';

/** Participant states. */
export const StateActive = 'active';
export const StateReconnecting = 'reconnecting';
export const StateWaiting = 'waiting'; // in the waiting room, not yet admitted

/** Error codes carried in ErrorMsg.code. */
export const CodeBadJSON = 'bad-json'; // not a JSON envelope
export const CodeUnknownType = 'unknown-type'; // envelope type is not one of the above
export const CodeBadPayload = 'bad-payload'; // payload missing, malformed or out of range
export const CodeNotJoined = 'not-joined'; // a call message before join/resume
export const CodeAlreadyJoined = 'already-joined'; // a second join/resume on one connection
export const CodeVersion = 'version'; // join with an unsupported protocol version
export const CodeBadSDP = 'bad-sdp'; // an offer or answer the media server refused
export const CodeBadCandidate = 'bad-candidate'; // an ICE candidate the media server refused
export const CodeRoomFull = 'room-full'; // the room already has its maximum participants
export const CodeResumeFailed = 'resume-failed'; // unknown or expired resume token; join again
export const CodeRateLimited = 'rate-limited'; // too many messages; slow down
export const CodeForbidden = 'forbidden'; // the role may not do this
export const CodeNotFound = 'not-found'; // no such participant
export const CodeWaiting = 'waiting'; // media before admission from the waiting room
export const CodeInternal = 'internal'; // the server failed; try again
export const CodeBusy = 'busy'; // the node takes no new visits now (at capacity); try again in a minute

/** Leave reasons sent by the server. */
export const ReasonHangup = 'hangup'; // echo of the client's own leave
export const ReasonReplaced = 'replaced'; // the same person joined from another device or tab
export const ReasonShutdown = 'shutdown'; // the server is shutting down; reconnect shortly
export const ReasonTimeout = 'timeout'; // no message within the keepalive window
export const ReasonEnded = 'ended'; // the room was closed
export const ReasonMoved = 'moved'; // the room is on another node now; reconnect and join again

/**
 * One frame on the wire.
 * @typedef {object} Envelope
 * @property {string} type
 * @property {string} [id]
 * @property {object} [payload]
 */

/**
 * Asks to enter the room named in the WebSocket URL.
 * @typedef {object} Join
 * @property {number} version ProtocolVersion
 * @property {string} [name] display name; the token's name wins for staff
 */

/**
 * Re-attaches a new WebSocket to a participant that dropped.
 * @typedef {object} Resume
 * @property {string} resumeToken
 */

/**
 * Confirms join or resume.
 * @typedef {object} Joined
 * @property {number} version
 * @property {string} room
 * @property {string} participantId
 * @property {string} resumeToken
 * @property {boolean} resumed
 * @property {boolean} [waiting] a guest in the waiting room: publish nothing until admitted
 * @property {number} graceSeconds
 * @property {ICEServer[]} iceServers
 * @property {Participant[]} participants
 */

/**
 * Mirrors RTCIceServer.
 * @typedef {object} ICEServer
 * @property {string[]} urls
 * @property {string} [username]
 * @property {string} [credential]
 */

/**
 * One person in the room, including the receiver.
 * @typedef {object} Participant
 * @property {string} id
 * @property {string} name
 * @property {string} role
 * @property {string} state StateActive, StateReconnecting or StateWaiting
 * @property {boolean} audio sending audio (not muted)
 * @property {boolean} video sending video (camera on)
 * @property {boolean} [screen] the video is a shared screen, in place of the camera
 * @property {string} [quality] the participant's connection as its page judges it
 * @property {string[]} [qualityReasons] why it is not good
 */

/**
 * The full list after any change.
 * @typedef {object} Participants
 * @property {Participant[]} participants
 */

/**
 * An offer or an answer on one of the two peer connections.
 * @typedef {object} SDP
 * @property {'publish'|'subscribe'} pc
 * @property {string} sdp
 */

/**
 * One trickled ICE candidate; null ends gathering.
 * @typedef {object} Candidate
 * @property {'publish'|'subscribe'} pc
 * @property {ICECandidate|null} candidate
 */

/**
 * Mirrors RTCIceCandidateInit.
 * @typedef {object} ICECandidate
 * @property {string} candidate
 * @property {string} [sdpMid]
 * @property {number} [sdpMLineIndex]
 * @property {string} [usernameFragment]
 */

/**
 * What the participant is sending.
 * @typedef {object} Mute
 * @property {boolean} audio
 * @property {boolean} video
 */

/**
 * The client's receive summary over all its subscribed tracks.
 * @typedef {object} Stats
 * @property {number} framesDecoded
 * @property {number} videoPacketsReceived
 * @property {number} videoPacketsLost
 * @property {number} audioPacketsReceived
 * @property {number} audioPacketsLost
 * @property {number} roundTripSeconds
 * @property {number} firstFrameMillis page load to first decoded remote frame; 0 if none yet
 * @property {string} [quality] this page's verdict on its connection, shown to the others
 * @property {string[]} [qualityReasons]
 * @property {number} [frameWidth] for the visit's quality record: the largest remote video decoded now
 * @property {number} [frameHeight]
 * @property {number} [framesPerSecond]
 * @property {number} [freezeCount] freezes so far over all received video
 * @property {number} [freezeMillis] their total duration
 * @property {string} [candidateType] host, srflx, prflx, relay or tcp: the path in use
 */

/**
 * Asks the server to restart ICE; only for "subscribe".
 * @typedef {object} ICERestart
 * @property {'subscribe'} pc
 */

/**
 * Lets a waiting guest into the call; clinicians only.
 * @typedef {object} Admit
 * @property {string} participantId
 */

/**
 * Tells a waiting guest it is in the call: now it publishes.
 * @typedef {object} Admitted
 * @property {Participant[]} participants
 */

/**
 * The client's downlink as the media server sees it, on change.
 * @typedef {object} Quality
 * @property {string} level QualityGood, QualityWeak or QualityVeryWeak
 * @property {string[]} [reasons] QualityBandwidth when not good
 * @property {number} kbps the server's estimate of the downlink
 */

/**
 * A participant's video is paused for this client because its link carries
 * only sound (paused), or comes again.
 * @typedef {object} VideoPaused
 * @property {string} participantId
 * @property {boolean} paused
 */

/**
 * The simulcast layers of the client's video that someone receives, by RID,
 * lowest first; the client may pause the others and sends them again when a
 * later layers message lists them. The lowest is always listed.
 * @typedef {object} Layers
 * @property {string} kind "video"
 * @property {string[]} active
 */

/**
 * Closes the visit for everyone (each gets leave with ReasonEnded); clinicians only.
 * @typedef {Record<string, never>} End
 */

/**
 * The newest value of one measurement from one source.
 * @typedef {object} Vital
 * @property {string} code LOINC
 * @property {string} [value] the number exactly as the device gave it ("37.60"); absent for special values
 * @property {string} unit UCUM
 * @property {string} [absent] FHIR dataAbsentReason code when the device sent a special value
 * @property {string} [flag] non-empty: the value is implausible, with why; shown, not hidden
 * @property {string} at RFC 3339
 * @property {string} [deviceId]
 * @property {string} source "device" or "patient-entered"
 * @property {string[]} [trend] up to ten earlier values, oldest first
 * @property {string} [via] bluetooth, gateway, patient (typed by the patient) or staff (typed by staff)
 * @property {string} [deviceName] the kit device's label
 * @property {string} [readingId] the stored reading, for its acknowledgement
 * @property {string} [receivedAt] RFC 3339, when the clinic stored it
 * @property {string} [outside] "below" or "above" the patient's limits when it arrived (decision support)
 * @property {string} [limitLow] the limits then in force, in limitUnit
 * @property {string} [limitHigh]
 * @property {string} [limitUnit] UCUM
 */

/**
 * New readings for everyone in the visit.
 * @typedef {object} Vitals
 * @property {Vital[]} vitals
 */

/**
 * Asks the patient for a measurement: from a clinician with code, relayed to
 * the patient with the device type to use.
 * @typedef {object} RequestMeasurement
 * @property {string} code LOINC
 * @property {string} [deviceType] thermometer, blood-pressure, pulse-oximeter, scale, glucose-meter, heart-rate
 */

/**
 * Ends a session; reason is set by the server.
 * @typedef {object} Leave
 * @property {string} [reason]
 */

/**
 * A refused message.
 * @typedef {object} ErrorMsg
 * @property {string} code
 * @property {string} message
 * @property {string} [ref] id of the refused message
 */

/** @typedef {Record<string, never>} Ping */
/** @typedef {Record<string, never>} Pong */
