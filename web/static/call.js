// Call is one participant's side of a video visit, shared by the patient's and
// the clinician's pages. It holds no DOM: the page listens to its events.
//
// Two peer connections, as the server expects (see signaling/protocol.go):
// "publish", where this client offers and sends its camera and microphone, and
// "subscribe", where the server offers everyone else's tracks. ICE candidates
// trickle both ways. A connection whose ICE stays disconnected or failed for
// more than 3 s is restarted: publish with a new offer {iceRestart: true},
// subscribe by asking the server (ice-restart). So is one whose media stops for
// 6 s while ICE still says connected: after an ICE restart during an outage the
// server's end can give up while the browser's stays up. Signal handles the
// WebSocket and its reconnection; a joined with resumed false (a fresh join
// after the grace period) builds new peer connections.
//
// In an appointment's waiting room (joined {waiting: true}) the camera is on
// for the self-view but nothing is published and no peer connection exists
// until admitted arrives; then the call goes on as after any join. A
// clinician admits waiting guests (admit) and ends the visit for everyone
// (end); everyone then gets leave {reason: "ended"}.

import {
  CodeBusy,
  CodeNotJoined,
  CodeResumeFailed,
  CodeRoomFull,
  CodeVersion,
  CodeWaiting,
  PCPublish,
  PCSubscribe,
  ProtocolVersion,
  ReasonMoved,
  ReasonShutdown,
  StateActive,
  TypeAdmit,
  TypeAdmitted,
  TypeAnswer,
  TypeCandidate,
  TypeChat,
  TypeEnd,
  TypeError,
  TypeICERestart,
  TypeJoin,
  TypeJoined,
  TypeLayers,
  TypeLeave,
  TypeMute,
  TypeOffer,
  TypeParticipants,
  TypeQuality,
  TypeReadings,
  TypeReadingsResult,
  TypeRequestMeasurement,
  TypeStats,
  TypeVideoPaused,
  TypeVitals,
} from './protocol.js';
import { Signal } from './signal.js';
import { getLocalMedia } from './media.js';
import { StallWatch, assessQuality, hasDecodedFrame, linkSample, receivedVideo, receiverReports, selectedPath, summarize } from './stats.js';
import { tokenExpired } from './token.js';

/** A reading sent over the socket that has no answer after this long goes over HTTP. */
export const ReadingsAnswerMs = 4000;

/** Stats go to the server this often. */
export const StatsIntervalMs = 3000;

/** ICE that stays disconnected or failed this long is restarted. */
export const ICERestartAfterMs = 3000;

/** A restarted ICE that has not connected after this long is restarted again. */
const iceRetryMs = 10000;

/** Media that stops this long while ICE says connected gets an ICE restart too. */
export const StallMs = 6000;

/**
 * The camera goes out as three simulcast layers (RFC 8853), lowest first,
 * each named by its RID: the media server sends each viewer the one its
 * link carries and tells this page (layers) which ones anyone receives, so
 * the others are paused and cost neither uplink nor encoder. The layers are
 * always offered, not only when the room is large: a one-to-one visit needs
 * them as much, for the day the other side's link weakens, and the paused
 * ones cost nothing; what is left is the low layer, about 150 kbit/s. A
 * browser that cannot send simulcast sends one encoding, capped as before.
 * Chromium sends all three only from a 960x540 capture up (fewer below).
 */
export const simulcastEncodings = Object.freeze([
  { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150000, maxFramerate: 15 },
  { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500000 },
  { rid: 'f', scaleResolutionDownBy: 1, maxBitrate: 1200000 },
]);

/** The camera's frame rate while our uplink is weak: motion matters less than the voice. */
const weakUplinkFramerate = 10;

/** Video send bitrate cap without simulcast: enough for 640x480, kind to a weak uplink. */
const maxVideoBitrate = 600000;

/**
 * The page's state, shown as <body data-call-state>. early: before the
 * appointment's link opens (the page's to set; Call never enters it);
 * waiting: joined, in the waiting room until admitted.
 * @typedef {'idle'|'early'|'waiting'|'connecting'|'in-call'|'reconnecting'|'ended'|'expired'|'error'} CallState
 */

/** @typedef {import('./protocol.js').Participant} Participant */
/** @typedef {import('./protocol.js').Stats} Stats */
/** @typedef {import('./media.js').MediaMode} MediaMode */
/** @typedef {'publish'|'subscribe'} PCName */

/**
 * What the page hears from a Call. why is the reason of a state: for error, a
 * MediaProblem or refused, lost, busy, room-full, version; for ended, the
 * server's leave reason or hangup; for expired, expired.
 * @typedef {object} CallEvents
 * @property {(state: CallState, why: string) => void} [state]
 * @property {(participants: Participant[], selfId: string) => void} [participants]
 * @property {(participantId: string, stream: MediaStream) => void} [track]
 * @property {(stream: MediaStream|null) => void} [local] the self-view stream
 * @property {() => void} [mute] microphone or camera changed
 * @property {(vitals: unknown) => void} [vitals] the vitals list of a vitals message
 * @property {(req: import('./protocol.js').RequestMeasurement) => void} [measurement]
 *   the clinician asks this patient for a measurement
 * @property {(e: import('./protocol.js').ErrorMsg) => void} [refused] the server
 *   refused a message this page sent (one the call does not handle itself)
 * @property {(q: ConnectionQuality) => void} [quality] this participant's
 *   connection, judged anew (on change)
 * @property {(participantId: string, paused: boolean) => void} [videoPaused]
 *   a participant's video is paused for this page's weak link, or back
 */

/**
 * This participant's connection: level good, weak or very-weak ('' before
 * the first judgement), the reasons (QualityLoss...), and whether the
 * uplink is what is weak.
 * @typedef {{level: string, reasons: string[], uplink: boolean}} ConnectionQuality
 */

/** A better verdict on the connection is shown after this many stats ticks in a row. */
const qualityRecoverTicks = 2;

/**
 * @typedef {object} CallOptions
 * @property {string} wsURL the signaling WebSocket URL for this room
 * @property {string} token access token ('' to rely on the session cookie)
 * @property {import('./token.js').Claims|null} claims
 * @property {CallEvents} events
 * @property {MediaDevices} [devices] navigator.mediaDevices
 * @property {EventTarget} [online] window, for its "online" event
 * @property {import('./chat.js').ChatLog} [chat] the visit's chat, carried over
 *   the signaling connection: caught up and resent after every joined
 */

const iceUp = (/** @type {RTCPeerConnection} */ pc) =>
  pc.iceConnectionState === 'connected' || pc.iceConnectionState === 'completed';

export class Call {
  /** @param {CallOptions} opts */
  constructor(opts) {
    this._opts = opts;
    this._ev = opts.events;
    /** @type {CallState} */
    this._state = 'idle';
    this._why = '';
    this._gen = 0;
    /** @type {Map<string, {resolve: (r: any[]) => void, reject: (e: Error) => void, timer: any}>} readings sent, by envelope id */
    this._readings = new Map();
    this._reset();
    this._firstFrame = 0;
    /** @type {ConnectionQuality} */
    this._quality = { level: '', reasons: [], uplink: false };
    /** @type {import('./stats.js').LinkSample|null} */
    this._linkPrev = null;
    this._serverLink = '';
    this._better = 0;
    /** @type {Set<string>} participants whose video is paused for this page's link */
    this._pausedVideo = new Set();
    /** @type {string[]|null} the layers the server last said anyone receives (null: all) */
    this._serverActive = null;
    this._uplinkSaving = false; // our uplink is weak: the camera sends less
    /** @type {MediaStreamTrack|null} a shared screen, sent in the camera's place */
    this._screen = null;
  }

  /** @returns {ConnectionQuality} this participant's connection, as last judged */
  get quality() {
    return this._quality;
  }

  /** @returns {string[]} participants whose video the server paused for this page's weak link */
  get pausedVideo() {
    return [...this._pausedVideo];
  }

  /** @returns {CallState} */
  get state() {
    return this._state;
  }

  /** Why the current state was entered (see CallEvents). */
  get why() {
    return this._why;
  }

  /** @returns {Participant[]} everyone in the room, this participant included */
  get participants() {
    return this._participants;
  }

  /** @returns {boolean} in the waiting room: joined, not yet admitted */
  get waiting() {
    return this._waiting;
  }

  /** @returns {string} this participant's id, '' before joined */
  get participantId() {
    return this._selfId;
  }

  /** @returns {number} ms from page start to the first decoded remote frame; 0 until then */
  get firstFrameMillis() {
    return this._firstFrame;
  }

  /** @returns {{audio: boolean, video: boolean, hasAudio: boolean, hasVideo: boolean}} */
  get sending() {
    const has = (/** @type {string} */ kind) =>
      !!this._local && this._local.getTracks().some((t) => t.kind === kind && t.readyState === 'live');
    return { audio: this._audioOn, video: this._videoOn, hasAudio: has('audio'), hasVideo: has('video') };
  }

  _reset() {
    /** @type {Signal|null} */
    this._signal = null;
    /** @type {MediaStream|null} */
    this._local = null;
    this._audioOn = false;
    this._videoOn = false;
    /** @type {Participant[]} */
    this._participants = [];
    this._selfId = '';
    this._joinSent = false;
    this._joined = false;
    this._waiting = false;
    this._sigDown = false;
    this._everUp = false;
    this._terminal = false;
    /** @type {RTCIceServer[]} */
    this._iceServers = [];
    /** @type {{publish: RTCPeerConnection|null, subscribe: RTCPeerConnection|null}} */
    this._pcs = { publish: null, subscribe: null };
    this._ops = { publish: Promise.resolve(), subscribe: Promise.resolve() };
    /** @type {{publish: any[], subscribe: any[]}} */
    this._pending = { publish: [], subscribe: [] };
    this._iceTimer = { publish: null, subscribe: null };
    this._iceRetry = { publish: null, subscribe: null };
    this._restarting = { publish: false, subscribe: false };
    this._pubBusy = false;
    /** @type {{iceRestart: boolean}|null} */
    this._pubAgain = null;
    this._pubOfferId = '';
    this._statsTimer = null;
    this._frameTimer = null;
    this._subWatch = new StallWatch(StallMs);
    this._pubWatch = new StallWatch(StallMs);
  }

  /**
   * Captures media, connects and joins. Call again to retry after an error or
   * to join again after leaving.
   * @param {MediaMode} [mode]
   */
  async start(mode = 'full') {
    this._teardown();
    this._reset();
    const gen = ++this._gen;
    this._setState('idle', '');
    let stream;
    try {
      stream = await getLocalMedia(mode, this._opts.devices);
    } catch (err) {
      if (gen === this._gen) this._end('error', /** @type {any} */ (err).problem || 'media');
      return;
    }
    if (gen !== this._gen) {
      stream.getTracks().forEach((t) => t.stop());
      return;
    }
    if (typeof RTCPeerConnection === 'undefined') {
      stream.getTracks().forEach((t) => t.stop());
      this._end('error', 'unsupported');
      return;
    }
    this._local = stream;
    for (const t of stream.getTracks()) t.addEventListener('ended', () => this._trackEnded(t));
    this._audioOn = stream.getAudioTracks().length > 0;
    this._videoOn = stream.getVideoTracks().length > 0;
    this._ev.local?.(stream);
    this._ev.mute?.();

    const signal = new Signal({
      url: this._opts.wsURL,
      token: this._opts.token,
      online: this._opts.online,
      onState: (s, info) => {
        if (this._signal === signal) this._onSignalState(s, info);
      },
    });
    this._signal = signal;
    signal.on(TypeJoined, (p) => this._onJoined(p));
    signal.on(TypeAdmitted, (p) => this._onAdmitted(p));
    signal.on(TypeParticipants, (p) => this._setParticipants(p.participants));
    signal.on(TypeOffer, (p) => this._onOffer(p));
    signal.on(TypeAnswer, (p) => this._onAnswer(p));
    signal.on(TypeCandidate, (p) => this._onCandidate(p));
    signal.on(TypeLeave, (p) => this._onLeave(p));
    signal.on(TypeError, (p) => this._onError(p));
    signal.on(TypeVitals, (p) => this._ev.vitals?.(p?.vitals));
    signal.on(TypeLayers, (p) => this._onLayers(p));
    signal.on(TypeQuality, (p) => {
      if (typeof p?.level !== 'string') return;
      this._serverLink = p.level;
      if (this._linkPrev) this._judge(this._linkPrev, null, true);
    });
    signal.on(TypeVideoPaused, (p) => {
      if (typeof p?.participantId !== 'string') return;
      if (p.paused) this._pausedVideo.add(p.participantId);
      else this._pausedVideo.delete(p.participantId);
      this._ev.videoPaused?.(p.participantId, !!p.paused);
    });
    signal.on(TypeReadingsResult, (p, env) => this._settleReadings(env?.id || '', null, p?.results));
    signal.on(TypeRequestMeasurement, (p) => {
      if (p && typeof p.code === 'string') this._ev.measurement?.(p);
    });
    signal.on(TypeChat, (p) => this._opts.chat?.receive(p));
    try {
      await signal.connect();
    } catch {
      if (this._signal === signal) this._refused();
      return;
    }
    if (this._signal !== signal) return;
    signal.send(TypeJoin, { version: ProtocolVersion, name: this._opts.claims?.name || '' });
    this._joinSent = true;
    this._recompute();
  }

  /** Hangs up: tells the server, closes the connections, stops the camera. */
  leave() {
    this._signal?.send(TypeLeave, {});
    this._end('ended', 'hangup');
  }

  /**
   * Lets a participant in from the waiting room (clinicians only).
   * @param {string} participantId
   * @returns {boolean} whether the request went out
   */
  admit(participantId) {
    return !!this._signal?.send(TypeAdmit, { participantId });
  }

  /**
   * Ends the visit for everyone (clinicians only). The server answers with
   * leave {reason: "ended"}, which ends this call too.
   * @returns {boolean} whether the request went out
   */
  endVisit() {
    return !!this._signal?.send(TypeEnd, {});
  }

  /**
   * Sends home-kit readings over the signaling socket (the patient's own
   * page). Resolves with the server's results, one per reading in order;
   * rejects when the socket is not open, the server refuses the message, or
   * no answer comes within ReadingsAnswerMs.
   * @param {object[]} readings
   * @returns {Promise<any[]>}
   */
  sendReadings(readings) {
    const id = this._joined ? this._signal?.send(TypeReadings, { readings }) || '' : '';
    if (!id) return Promise.reject(new Error('not connected'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this._settleReadings(id, new Error('no answer')), ReadingsAnswerMs);
      this._readings.set(id, { resolve, reject, timer });
    });
  }

  /**
   * @param {string} id
   * @param {Error|null} err
   * @param {any} [results]
   */
  _settleReadings(id, err, results) {
    const w = this._readings.get(id);
    if (!w) return;
    this._readings.delete(id);
    clearTimeout(w.timer);
    if (err) w.reject(err);
    else if (Array.isArray(results)) w.resolve(results);
    else w.reject(new Error('bad answer'));
  }

  /**
   * Asks the patient for a measurement (clinicians only).
   * @param {string} code LOINC
   * @param {string} deviceType
   * @returns {string} the message id, for matching a refusal; '' when unsent
   */
  requestMeasurement(code, deviceType) {
    return this._signal?.send(TypeRequestMeasurement, { code, deviceType }) || '';
  }

  /**
   * Turns the microphone on or off (the track stays, sending silence).
   * @param {boolean} on
   */
  setAudio(on) {
    if (!this.sending.hasAudio) on = false;
    this._local?.getAudioTracks().forEach((t) => (t.enabled = on));
    this._audioOn = on;
    this._sendMute();
  }

  /**
   * Turns the camera on or off (the track stays, sending black).
   * @param {boolean} on
   */
  setVideo(on) {
    if (!this.sending.hasVideo) on = false;
    this._local?.getVideoTracks().forEach((t) => (t.enabled = on));
    this._videoOn = on;
    this._sendMute();
  }

  /** @returns {boolean} a screen is shared now, in place of the camera */
  get sharingScreen() {
    return !!this._screen;
  }

  /**
   * Shares a screen (results, an X-ray) in place of the camera: the browser
   * asks which screen or window, and the video sender sends it
   * (RTCRtpSender.replaceTrack, no new negotiation) until stopScreen or the
   * browser's own "Stop sharing". The others are told (mute {screen}) and
   * show it whole. The media server forwards one video per participant, so
   * the camera pauses meanwhile; the voice goes on.
   * @returns {Promise<boolean>} false when the reader chose nothing
   */
  async shareScreen() {
    if (this._screen) return true;
    const md = /** @type {any} */ (this._opts.devices);
    if (!md || typeof md.getDisplayMedia !== 'function') throw new Error('screen sharing is not supported here');
    const s = await md.getDisplayMedia({ video: { frameRate: { ideal: 15, max: 30 } }, audio: false });
    const track = s.getVideoTracks()[0];
    if (!track || !this._joined) {
      s.getTracks().forEach((/** @type {MediaStreamTrack} */ t) => t.stop());
      return false;
    }
    // Text and fine lines stay sharp: the encoder keeps resolution and
    // gives up frame rate (W3C mst-content-hint).
    if ('contentHint' in track) track.contentHint = 'detail';
    this._screen = track;
    track.addEventListener('ended', () => {
      if (this._screen === track) this.stopScreen();
    });
    await this._sendVideo(track);
    this._sendMute();
    return true;
  }

  /** Stops sharing: the camera is sent again. */
  async stopScreen() {
    const track = this._screen;
    if (!track) return;
    this._screen = null;
    track.stop();
    await this._sendVideo(this._local?.getVideoTracks()[0] || null);
    this._sendMute();
  }

  /**
   * Sends track on the publish connection's video: swapped in on the video
   * transceiver, or on a new one (and a new offer) when there is none.
   * @param {MediaStreamTrack|null} track
   */
  async _sendVideo(track) {
    const pc = this._pcs.publish;
    if (!pc) return; // the next _publish sends what is current
    const tr = pc.getTransceivers().find((x) => x.receiver.track?.kind === 'video' && !x.stopped);
    if (tr) {
      await tr.sender.replaceTrack(track);
      return;
    }
    if (!track) return;
    pc.addTransceiver(track, { direction: 'sendonly', streams: this._local ? [this._local] : [], sendEncodings: [{ maxBitrate: maxVideoBitrate }] });
    this._negotiatePublish(false);
  }

  /**
   * The receive summary sent as stats: inbound-rtp of the subscribe connection,
   * the round trip of its selected candidate pair (else of the publish one).
   * @returns {Promise<Stats>}
   */
  async stats() {
    const { publish, subscribe } = this._pcs;
    const report = await statsOf(subscribe);
    const sum = summarize(report);
    if (!sum.roundTripSeconds && publish) sum.roundTripSeconds = summarize(await statsOf(publish)).roundTripSeconds;
    this._noteFirstFrame(report);
    return { ...sum, firstFrameMillis: this._firstFrame };
  }

  /**
   * The video received from each participant (size, frame rate, frames).
   * @returns {Promise<ReturnType<typeof receivedVideo>>}
   */
  async received() {
    return receivedVideo(await statsOf(this._pcs.subscribe));
  }

  /**
   * The video this page sends, per simulcast layer (outbound-rtp): size,
   * frames encoded and what limits it; for support and tests.
   * @returns {Promise<{rid: string, frameWidth: number, frameHeight: number, framesEncoded: number, limitation: string}[]>}
   */
  async sent() {
    const report = await statsOf(this._pcs.publish);
    const out = [];
    for (const s of report ? report.values() : []) {
      if (s.type !== 'outbound-rtp' || (s.kind || s.mediaType) !== 'video') continue;
      out.push({ rid: s.rid || '', frameWidth: s.frameWidth || 0, frameHeight: s.frameHeight || 0,
        framesEncoded: s.framesEncoded || 0, limitation: s.qualityLimitationReason || '' });
    }
    return out;
  }

  /**
   * The path each connection's media takes (its selected candidate pair's
   * local end) and the media server's ICE username fragment on it, which
   * names the connection in the server's logs; for support and tests.
   */
  async paths() {
    const path = async (/** @type {RTCPeerConnection|null} */ pc) => {
      const sel = selectedPath(await statsOf(pc));
      const ufrag = /a=ice-ufrag:(\S+)/.exec(pc?.currentRemoteDescription?.sdp || '')?.[1] || '';
      return sel && { ...sel, serverUfrag: ufrag };
    };
    return { publish: await path(this._pcs.publish), subscribe: await path(this._pcs.subscribe) };
  }

  // --- signaling ---

  /**
   * @param {import('./signal.js').SignalState} s
   * @param {import('./signal.js').DropInfo} [info]
   */
  _onSignalState(s, info) {
    if (s !== 'open') this._opts.chat?.disconnected();
    if (s === 'reconnecting') {
      this._sigDown = true;
      if (info?.refused && tokenExpired(this._opts.claims, Date.now())) {
        this._end('expired', 'expired');
        return;
      }
      this._recompute();
    } else if (s === 'lost') {
      const expired = tokenExpired(this._opts.claims, Date.now());
      this._end(expired ? 'expired' : 'error', expired ? 'expired' : 'lost');
    }
  }

  _refused() {
    const expired = tokenExpired(this._opts.claims, Date.now());
    this._end(expired ? 'expired' : 'error', expired ? 'expired' : 'refused');
  }

  /** @param {import('./protocol.js').Joined} j */
  _onJoined(j) {
    this._selfId = j.participantId;
    this._iceServers = (j.iceServers || []).map((s) => ({ ...s }));
    this._sigDown = false;
    this._joined = true;
    this._waiting = !!j.waiting;
    if (this._waiting) {
      this._closePeerConnections(); // no media until admitted
    } else if (!j.resumed || !this._pcs.publish) {
      this._newPeerConnections();
      this._publish();
    } else {
      this._afterResume();
    }
    this._sendMute();
    this._setParticipants(j.participants);
    this._startStats();
    this._recompute();
    const signal = this._signal;
    this._opts.chat?.connected((type, payload) => (this._signal === signal ? signal.send(type, payload) : ''));
  }

  /**
   * Out of the waiting room: publish now. The server sends admitted before
   * its first subscribe offer.
   * @param {import('./protocol.js').Admitted} p
   */
  _onAdmitted(p) {
    if (!this._joined) return;
    if (this._waiting || !this._pcs.publish) {
      this._waiting = false;
      this._newPeerConnections();
      this._publish();
    }
    if (p && Array.isArray(p.participants)) this._setParticipants(p.participants);
    this._recompute();
  }

  /** @param {Participant[]} list */
  _setParticipants(list) {
    this._participants = Array.isArray(list) ? list : [];
    this._ev.participants?.(this._participants, this._selfId);
  }

  /** @param {import('./protocol.js').Leave} p */
  _onLeave(p) {
    // On shutdown, or when the room moves to another node of the clinic,
    // the server closes the socket next; Signal reconnects and joins again.
    if (p.reason === ReasonShutdown || p.reason === ReasonMoved) return;
    this._end('ended', p.reason || 'ended');
  }

  /** @param {import('./protocol.js').ErrorMsg} e */
  _onError(e) {
    if (this._opts.chat?.refused(e.ref || '')) return;
    if (e.ref && this._readings.has(e.ref)) {
      this._settleReadings(e.ref, new Error(`${e.code}: ${e.message}`));
      return;
    }
    switch (e.code) {
      case CodeResumeFailed:
        return; // Signal joins afresh
      case CodeRoomFull:
        this._end('error', 'room-full');
        return;
      case CodeBusy:
        this._end('error', 'busy');
        return;
      case CodeVersion:
        this._end('error', 'version');
        return;
      case CodeNotJoined:
        if (this._joinSent) this._signal?.send(TypeJoin, { version: ProtocolVersion, name: this._opts.claims?.name || '' });
        return;
      case CodeWaiting:
        // Media before admission: the server says we are still waiting. Stop
        // sending and wait for admitted.
        if (this._joined && !this._waiting) {
          this._waiting = true;
          this._closePeerConnections();
          this._recompute();
        }
        return;
    }
    const pc = this._pcs.publish;
    if (pc && e.ref && e.ref === this._pubOfferId) {
      // The server refused our publish offer: take it back so a later restart can offer again.
      this._chain('publish', pc, async () => {
        if (pc.signalingState === 'have-local-offer') await pc.setLocalDescription({ type: 'rollback' });
        this._pubBusy = false;
      });
    }
    console.warn(`vclinic: server refused a message: ${e.code}: ${e.message}`);
    this._ev.refused?.(e);
  }

  // --- peer connections ---

  _newPeerConnections() {
    this._closePeerConnections();
    /** @type {RTCConfiguration} */
    const config = { iceServers: this._iceServers, bundlePolicy: 'max-bundle' };
    for (const name of /** @type {PCName[]} */ ([PCPublish, PCSubscribe])) {
      const pc = new RTCPeerConnection(config);
      pc.onicecandidate = (e) => {
        if (this._pcs[name] === pc) this._sendCandidate(name, e.candidate);
      };
      pc.oniceconnectionstatechange = () => {
        if (this._pcs[name] === pc) this._onICE(name);
      };
      pc.onconnectionstatechange = () => {
        if (this._pcs[name] === pc) this._recompute();
      };
      this._pcs[name] = pc;
      this._ops[name] = Promise.resolve();
      this._pending[name] = [];
    }
    this._subWatch = new StallWatch(StallMs);
    this._pubWatch = new StallWatch(StallMs);
    const sub = this._pcs.subscribe;
    sub.ontrack = (e) => {
      const stream = e.streams[0];
      if (this._pcs.subscribe !== sub || !stream) return;
      this._ev.track?.(stream.id, stream);
      this._watchFirstFrame();
    };
  }

  _closePeerConnections() {
    for (const name of /** @type {PCName[]} */ ([PCPublish, PCSubscribe])) {
      clearTimeout(this._iceTimer[name]);
      clearTimeout(this._iceRetry[name]);
      this._iceTimer[name] = this._iceRetry[name] = null;
      this._restarting[name] = false;
      this._pcs[name]?.close();
      this._pcs[name] = null;
    }
    this._pubBusy = false;
    this._pubAgain = null;
    this._linkPrev = null; // the counters start again with new connections
    this._pausedVideo?.clear();
    this._serverActive = null;
    this._uplinkSaving = false;
  }

  /** Adds the local tracks, send only, and offers them. */
  _publish() {
    const pc = this._pcs.publish;
    const stream = this._local;
    if (!pc || !stream) return;
    const tracks = stream.getTracks();
    // A screen shared before this (re)connection is sent in the camera's place.
    if (this._screen) {
      const cam = tracks.findIndex((x) => x.kind === 'video');
      if (cam >= 0) tracks[cam] = this._screen;
      else tracks.push(this._screen);
    }
    for (const track of tracks) {
      /** @type {RTCRtpTransceiverInit} */
      const init = { direction: 'sendonly', streams: [stream] };
      let tr;
      if (track.kind === 'video') {
        try {
          tr = pc.addTransceiver(track, { ...init, sendEncodings: simulcastEncodings.map((e) => ({ ...e })) });
        } catch {
          tr = null; // no simulcast here: one encoding
        }
        if (!tr) tr = pc.addTransceiver(track, { ...init, sendEncodings: [{ maxBitrate: maxVideoBitrate }] });
      } else {
        // The voice first: browsers that weigh encodings give it the
        // larger share of a tight uplink (WebRTC priority control).
        try {
          tr = pc.addTransceiver(track, { ...init, sendEncodings: [{ priority: 'high', networkPriority: 'high' }] });
        } catch {
          tr = pc.addTransceiver(track, init);
        }
      }
      if (track.kind === 'audio') preferRedundantAudio(tr);
    }
    if (tracks.length > 0) this._negotiatePublish(false);
  }

  /**
   * Offers on the publish connection; one offer at a time.
   * @param {boolean} iceRestart
   */
  _negotiatePublish(iceRestart) {
    const pc = this._pcs.publish;
    if (!pc) return;
    if (this._pubBusy) {
      this._pubAgain = { iceRestart: iceRestart || !!this._pubAgain?.iceRestart };
      return;
    }
    this._pubBusy = true;
    this._chain('publish', pc, async () => {
      await pc.setLocalDescription(await pc.createOffer({ iceRestart }));
      this._pubOfferId = this._signal?.send(TypeOffer, { pc: PCPublish, sdp: pc.localDescription?.sdp }) || '';
      // Unsent (the socket is down): _afterResume takes the offer back and offers again.
    });
  }

  /**
   * Pauses the simulcast layers no one receives and resumes the ones someone
   * does (layers from the server).
   * @param {import('./protocol.js').Layers} p
   */
  _onLayers(p) {
    if (p?.kind !== 'video' || !Array.isArray(p.active)) return;
    this._serverActive = p.active.filter((r) => typeof r === 'string');
    this._applySendParams();
  }

  /**
   * Sets the camera's encodings from what the server says anyone receives
   * (layers) and from our own uplink: while it is weak, only the lowest
   * layer goes, at a lower frame rate (one encoding: half the size and a
   * lower frame rate), so that the voice keeps its share. The calls are
   * chained: each reads what the one before set.
   */
  _applySendParams() {
    const pc = this._pcs.publish;
    const sender = pc?.getSenders().find((s) => s.track?.kind === 'video');
    if (!sender) return;
    const saving = this._uplinkSaving;
    const server = this._serverActive;
    this._layerChain = (this._layerChain || Promise.resolve())
      .then(async () => {
        const params = sender.getParameters();
        const encodings = params.encodings || [];
        if (encodings.length === 0) return;
        let changed = false;
        const set = (/** @type {any} */ e, /** @type {string} */ k, /** @type {any} */ v) => {
          if (e[k] !== v) {
            if (v === undefined) delete e[k];
            else e[k] = v;
            changed = true;
          }
        };
        if (encodings.length > 1 && encodings.every((e) => e.rid)) {
          encodings.forEach((e, i) => {
            const wanted = !server || server.includes(/** @type {string} */ (e.rid));
            set(e, 'active', i === 0 || (wanted && !saving));
          });
          set(encodings[0], 'maxFramerate', saving ? weakUplinkFramerate : simulcastEncodings[0].maxFramerate);
        } else {
          set(encodings[0], 'maxFramerate', saving ? weakUplinkFramerate : undefined);
          set(encodings[0], 'scaleResolutionDownBy', saving ? 2 : undefined);
        }
        if (changed) await sender.setParameters(params);
      })
      .catch(() => {});
  }

  /** @param {import('./protocol.js').SDP} p */
  _onAnswer(p) {
    const pc = this._pcs.publish;
    if (p.pc !== PCPublish || !pc) return;
    this._chain('publish', pc, async () => {
      if (pc.signalingState !== 'have-local-offer') return;
      await pc.setRemoteDescription({ type: 'answer', sdp: p.sdp });
      await this._flush('publish', pc);
      this._pubBusy = false;
      const again = this._pubAgain;
      this._pubAgain = null;
      if (again) this._negotiatePublish(again.iceRestart);
    });
  }

  /** @param {import('./protocol.js').SDP} p */
  _onOffer(p) {
    const pc = this._pcs.subscribe;
    if (p.pc !== PCSubscribe || !pc) return;
    this._chain('subscribe', pc, async () => {
      await pc.setRemoteDescription({ type: 'offer', sdp: p.sdp });
      await this._flush('subscribe', pc);
      await pc.setLocalDescription(await pc.createAnswer());
      this._signal?.send(TypeAnswer, { pc: PCSubscribe, sdp: pc.localDescription?.sdp });
    });
  }

  /** @param {import('./protocol.js').Candidate} p */
  _onCandidate(p) {
    const name = p.pc === PCPublish ? PCPublish : p.pc === PCSubscribe ? PCSubscribe : null;
    const pc = name && this._pcs[name];
    if (!name || !pc) return;
    this._chain(name, pc, async () => {
      if (!pc.remoteDescription) this._pending[name].push(p.candidate);
      else await addCandidate(pc, p.candidate);
    });
  }

  /**
   * Adds the candidates that arrived before the remote description.
   * @param {PCName} name
   * @param {RTCPeerConnection} pc
   */
  async _flush(name, pc) {
    for (const c of this._pending[name].splice(0)) await addCandidate(pc, c);
  }

  /**
   * @param {PCName} name
   * @param {RTCIceCandidate|null} c
   */
  _sendCandidate(name, c) {
    if (c && !c.candidate) return; // an empty end-of-generation marker; null follows
    this._signal?.send(TypeCandidate, { pc: name, candidate: c ? c.toJSON() : null });
  }

  /**
   * Runs op after the earlier operations on the same connection, so offers,
   * answers and candidates apply in the order they arrived.
   * @param {PCName} name
   * @param {RTCPeerConnection} pc
   * @param {() => Promise<void>} op
   */
  _chain(name, pc, op) {
    this._ops[name] = this._ops[name]
      .then(() => (this._pcs[name] === pc && pc.signalingState !== 'closed' ? op() : undefined))
      .catch((err) => console.warn(`vclinic: ${name}:`, err));
  }

  // --- ICE restarts ---

  /** @param {PCName} name */
  _onICE(name) {
    const pc = this._pcs[name];
    const s = pc.iceConnectionState;
    clearTimeout(this._iceTimer[name]);
    this._iceTimer[name] = null;
    if (s === 'connected' || s === 'completed') {
      clearTimeout(this._iceRetry[name]);
      this._iceRetry[name] = null;
      this._restarting[name] = false;
    } else if (s === 'disconnected' || s === 'failed') {
      this._iceTimer[name] = setTimeout(() => this._restartICE(name), ICERestartAfterMs);
    }
    this._recompute();
  }

  /**
   * @param {PCName} name
   * @param {boolean} [stalled] media stopped although ICE is up: restart anyway,
   *   without showing reconnecting (ICE may not change state to say it is done)
   */
  _restartICE(name, stalled = false) {
    this._iceTimer[name] = null;
    const pc = this._pcs[name];
    if (!pc || (iceUp(pc) && !stalled) || !this._joined || this._sigDown) return; // after a resume, _afterResume decides
    if (stalled) {
      if (name === PCPublish) this._negotiatePublish(true);
      else this._signal?.send(TypeICERestart, { pc: PCSubscribe });
      return;
    }
    this._restarting[name] = true;
    if (name === PCPublish) this._negotiatePublish(true);
    else this._signal?.send(TypeICERestart, { pc: PCSubscribe });
    clearTimeout(this._iceRetry[name]);
    this._iceRetry[name] = setTimeout(() => this._restartICE(name), iceRetryMs);
    this._recompute();
  }

  /** After a resume: redo an offer that was lost with the socket, restart ICE that went down. */
  _afterResume() {
    const pub = this._pcs.publish;
    const sub = this._pcs.subscribe;
    if (pub) {
      this._chain('publish', pub, async () => {
        if (pub.signalingState === 'have-local-offer') {
          await pub.setLocalDescription({ type: 'rollback' });
          this._pubBusy = false;
          this._negotiatePublish(!iceUp(pub));
        } else if (!iceUp(pub) && pub.getSenders().some((s) => s.track)) {
          this._restartICE(PCPublish);
        }
      });
    }
    if (sub && sub.remoteDescription && !iceUp(sub)) this._restartICE(PCSubscribe);
  }

  // --- state ---

  _recompute() {
    if (this._terminal) return;
    /** @type {CallState} */
    let s;
    if (this._sigDown) s = 'reconnecting';
    else if (!this._joined) s = this._joinSent ? 'connecting' : 'idle';
    else if (this._waiting) s = 'waiting';
    else {
      const pub = this._pcs.publish;
      const publishing = !!pub && pub.getSenders().some((x) => x.track);
      const up = !publishing || pub.connectionState === 'connected';
      if (up && !this._restarting.publish) {
        this._everUp = true;
        s = 'in-call';
      } else {
        s = this._everUp ? 'reconnecting' : 'connecting';
      }
    }
    this._setState(s, '');
  }

  /**
   * Enters a final state: ended, expired or error.
   * @param {CallState} state
   * @param {string} why
   */
  _end(state, why) {
    this._teardown();
    this._terminal = true;
    this._setState(state, why);
  }

  _teardown() {
    this._gen++;
    this._screen?.stop();
    this._screen = null;
    const signal = this._signal;
    this._signal = null;
    signal?.close();
    for (const id of [...this._readings.keys()]) this._settleReadings(id, new Error('call over'));
    this._closePeerConnections();
    clearInterval(this._statsTimer);
    clearInterval(this._frameTimer);
    this._statsTimer = this._frameTimer = null;
    if (this._local) {
      this._local.getTracks().forEach((t) => t.stop());
      this._local = null;
      this._ev.local?.(null);
    }
  }

  /**
   * @param {CallState} state
   * @param {string} why
   */
  _setState(state, why) {
    if (state === this._state && why === this._why) return;
    this._state = state;
    this._why = why;
    this._ev.state?.(state, why);
  }

  // --- media and stats ---

  _sendMute() {
    const screen = !!this._screen;
    this._signal?.send(TypeMute, { audio: this._audioOn, video: this._videoOn || screen, screen });
    this._ev.mute?.();
  }

  /** @param {MediaStreamTrack} t */
  _trackEnded(t) {
    if (this._local !== null && t.kind === 'video') this._videoOn = false;
    if (this._local !== null && t.kind === 'audio') this._audioOn = false;
    if (this._local !== null) this._sendMute();
  }

  _startStats() {
    if (this._statsTimer !== null) return;
    this._statsTimer = setInterval(() => this._statsTick(), StatsIntervalMs);
  }

  /**
   * Judges the connection from a new sample (and the one before), or again
   * from the last one when the server's view changed (now); a worse
   * verdict shows at once, a better one after qualityRecoverTicks ticks.
   * @param {import('./stats.js').LinkSample} sample
   * @param {import('./stats.js').LinkSample|null} prev
   * @param {boolean} [now]
   */
  _judge(sample, prev, now = false) {
    const q = assessQuality(sample, prev, this._serverLink);
    const rank = (/** @type {string} */ l) => ['good', 'weak', 'very-weak'].indexOf(l);
    const old = this._quality;
    if (old.level && rank(q.level) < rank(old.level) && !now) {
      if (++this._better < qualityRecoverTicks) return;
    }
    this._better = 0;
    const saving = q.uplink && q.level !== 'good';
    if (saving !== this._uplinkSaving) {
      this._uplinkSaving = saving;
      this._applySendParams();
    }
    const same = q.level === old.level && q.uplink === old.uplink && q.reasons.join() === old.reasons.join();
    this._quality = q;
    if (!same) this._ev.quality?.(q);
  }

  /** Sends stats and restarts ICE on a connection whose media has stalled. */
  async _statsTick() {
    if (this._waiting) return; // nothing received yet
    const { publish: pub, subscribe: sub } = this._pcs;
    const subReport = await statsOf(sub);
    const pubReport = await statsOf(pub);
    const sample = linkSample(subReport, pubReport, Date.now(), this._linkPrev);
    this._judge(sample, this._linkPrev);
    this._linkPrev = sample;
    const sum = summarize(subReport);
    if (!sum.roundTripSeconds && pubReport) sum.roundTripSeconds = summarize(pubReport).roundTripSeconds;
    this._noteFirstFrame(subReport);
    /** @type {Stats} */
    const s = { ...sum, firstFrameMillis: this._firstFrame };
    if (this._quality.level) {
      s.quality = this._quality.level;
      if (this._quality.reasons.length) s.qualityReasons = this._quality.reasons;
    }
    this._signal?.send(TypeStats, s);
    const now = Date.now();
    // Only while ICE says up: when it is down, _onICE restarts it already.
    const live = this._joined && !this._sigDown;
    const others = this._participants.filter((p) => p.id !== this._selfId);
    const othersSending =
      others.length > 0 && others.every((p) => p.state === StateActive) && others.some((p) => p.audio || p.video);
    const subUp = !!sub && iceUp(sub);
    if (this._subWatch.update(s.audioPacketsReceived + s.videoPacketsReceived, live && subUp && othersSending, now)) {
      console.warn('vclinic: no media received for a while; restarting ICE on subscribe');
      this._restartICE(PCSubscribe, true);
    }
    if (pub && pub.getSenders().some((x) => x.track)) {
      if (this._pubWatch.update(receiverReports(pubReport), live && iceUp(pub), now)) {
        console.warn('vclinic: the server stopped reporting on our media; restarting ICE on publish');
        this._restartICE(PCPublish, true);
      }
    }
  }

  /**
   * Polls for the first decoded frame, so firstFrameMillis is accurate to
   * ~0.1 s. After 30 s (audio only, say) the 3 s stats loop goes on looking.
   */
  _watchFirstFrame() {
    if (this._firstFrame || this._frameTimer !== null) return;
    let polls = 0;
    this._frameTimer = setInterval(async () => {
      this._noteFirstFrame(await statsOf(this._pcs.subscribe));
      if (this._firstFrame || ++polls >= 300) {
        clearInterval(this._frameTimer);
        this._frameTimer = null;
      }
    }, 100);
  }

  /** @param {RTCStatsReport|null} report */
  _noteFirstFrame(report) {
    if (!this._firstFrame && hasDecodedFrame(report)) this._firstFrame = Math.max(1, Math.round(performance.now()));
  }
}

/**
 * @param {RTCPeerConnection|null} pc
 * @returns {Promise<RTCStatsReport|null>}
 */
async function statsOf(pc) {
  if (!pc || pc.signalingState === 'closed') return null;
  try {
    return await pc.getStats();
  } catch {
    return null;
  }
}

/**
 * @param {RTCPeerConnection} pc
 * @param {import('./protocol.js').ICECandidate|null} c null: end of candidates
 */
async function addCandidate(pc, c) {
  try {
    await pc.addIceCandidate(c ?? undefined);
  } catch (err) {
    console.warn('vclinic: remote candidate refused:', err);
  }
}

/**
 * Puts redundant audio (RFC 2198, audio/red) first among the codecs the
 * transceiver offers, where the browser has it: each packet then carries the
 * previous Opus frame too, and the patient's voice survives a lost packet.
 * The media server forwards it to those who negotiated it and plain Opus to
 * the others. Browsers without it, or without setCodecPreferences, send
 * plain Opus as before.
 * @param {RTCRtpTransceiver} tr
 */
function preferRedundantAudio(tr) {
  if (typeof tr?.setCodecPreferences !== 'function' || typeof globalThis.RTCRtpReceiver?.getCapabilities !== 'function') return;
  const codecs = RTCRtpReceiver.getCapabilities('audio')?.codecs || [];
  const isRed = (/** @type {RTCRtpCodec} */ c) => c.mimeType.toLowerCase() === 'audio/red';
  if (!codecs.some(isRed)) return;
  try {
    tr.setCodecPreferences([...codecs.filter(isRed), ...codecs.filter((c) => !isRed(c))]);
  } catch {
    // Keep the browser's own order.
  }
}
