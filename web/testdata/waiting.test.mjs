// The waiting room in Call, with a fake WebSocket, camera and RTCPeerConnection:
// no peer connection and no offer while waiting; publish on admitted.
import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';

import { FakeWebSocket } from './fakes.mjs';
import * as P from '../static/protocol.js';

class FakeTrack {
  constructor(kind) {
    this.kind = kind;
    this.readyState = 'live';
    this.enabled = true;
  }
  addEventListener() {}
  stop() {
    this.readyState = 'ended';
  }
}

class FakeStream {
  constructor() {
    this.tracks = [new FakeTrack('audio'), new FakeTrack('video')];
    this.id = 'local';
  }
  getTracks() {
    return this.tracks;
  }
  getAudioTracks() {
    return this.tracks.filter((t) => t.kind === 'audio');
  }
  getVideoTracks() {
    return this.tracks.filter((t) => t.kind === 'video');
  }
}

class FakePC {
  /** @type {FakePC[]} */
  static made = [];
  /** Whether transceivers take codec preferences. */
  static codecPreferences = false;
  /** Whether addTransceiver refuses several encodings, as a browser without simulcast. */
  static noSimulcast = false;
  constructor() {
    this.senders = [];
    /** @type {any[]} */
    this.transceivers = [];
    this.signalingState = 'stable';
    this.iceConnectionState = 'new';
    this.connectionState = 'new';
    this.localDescription = null;
    this.remoteDescription = null;
    this.closed = false;
    FakePC.made.push(this);
  }
  addTransceiver(track, init) {
    const asked = init?.sendEncodings || [{}];
    if (FakePC.noSimulcast && asked.length > 1) throw new Error('OperationError: simulcast not supported');
    const sender = {
      track,
      params: { encodings: asked.map((e) => ({ ...e, active: true })) },
      sets: 0,
      getParameters() {
        return structuredClone(this.params);
      },
      async setParameters(p) {
        this.params = p;
        this.sets++;
      },
    };
    this.senders.push(sender);
    if (!FakePC.codecPreferences) return { sender }; // a browser without setCodecPreferences
    const tr = {
      sender,
      kind: track.kind,
      /** @param {{mimeType: string}[]} codecs */
      setCodecPreferences(codecs) {
        tr.preferred = codecs.map((c) => c.mimeType);
      },
      /** @type {string[] | undefined} */
      preferred: undefined,
    };
    this.transceivers.push(tr);
    return tr;
  }
  getSenders() {
    return this.senders;
  }
  async createOffer() {
    return { type: 'offer', sdp: 'v=0 fake offer' };
  }
  async createAnswer() {
    return { type: 'answer', sdp: 'v=0 fake answer' };
  }
  async setLocalDescription(d) {
    this.localDescription = d;
    this.signalingState = d.type === 'offer' ? 'have-local-offer' : 'stable';
  }
  async setRemoteDescription(d) {
    this.remoteDescription = d;
    this.signalingState = d.type === 'offer' ? 'have-remote-offer' : 'stable';
  }
  async addIceCandidate() {}
  async getStats() {
    return new Map();
  }
  close() {
    this.closed = true;
    this.signalingState = 'closed';
  }
}

globalThis.WebSocket = /** @type {any} */ (FakeWebSocket);
globalThis.RTCPeerConnection = /** @type {any} */ (FakePC);
const { Call } = await import('../static/call.js');

const flush = () => new Promise((r) => setTimeout(r, 0));

beforeEach(() => {
  FakeWebSocket.reset();
  FakePC.made = [];
  FakePC.codecPreferences = false;
  FakePC.noSimulcast = false;
  delete globalThis.RTCRtpReceiver;
});

/** Starts a call and answers its join with joined {waiting}. */
async function joinedCall(waiting, events = {}) {
  const states = [];
  const call = new Call({
    wsURL: 'ws://clinic.example/ws?room=a1',
    token: 'x.y.z',
    claims: { role: 'patient', appt: 'a1' },
    devices: /** @type {any} */ ({ getUserMedia: async () => new FakeStream() }),
    events: { state: (s, why) => states.push(why ? `${s}:${why}` : s), ...events },
  });
  const started = call.start();
  await flush();
  const ws = FakeWebSocket.last();
  ws.open();
  await started;
  assert.deepEqual(ws.types(), [P.TypeJoin]);
  ws.receive(P.TypeJoined, {
    version: 1, room: 'a1', participantId: 'p1', resumeToken: 'rt', resumed: false, waiting,
    graceSeconds: 20, iceServers: [],
    participants: [{ id: 'p1', name: 'Karen', role: 'patient', state: waiting ? P.StateWaiting : P.StateActive, audio: true, video: true }],
  });
  await flush();
  return { call, ws, states };
}

test('a waiting guest shows its camera but offers nothing until admitted', async () => {
  const { call, ws, states } = await joinedCall(true);
  assert.equal(call.state, 'waiting');
  assert.equal(call.waiting, true);
  assert.ok(call.sending.hasVideo, 'the camera is on for the self-view');
  assert.equal(FakePC.made.length, 0, 'no peer connection while waiting');
  assert.ok(!ws.types().includes(P.TypeOffer), `sent ${ws.types()}`);

  ws.receive(P.TypeAdmitted, { participants: [] });
  await flush();
  assert.equal(call.waiting, false);
  assert.equal(FakePC.made.length, 2, 'publish and subscribe');
  const offer = ws.sent.find((e) => e.type === P.TypeOffer);
  assert.ok(offer, `no offer after admitted; sent ${ws.types()}`);
  assert.equal(offer.payload.pc, P.PCPublish);
  assert.notEqual(call.state, 'waiting');
  assert.ok(states.includes('waiting'), states.join(' '));
  call.leave();
});

test('the microphone asks for redundant audio first where the browser has it', async () => {
  FakePC.codecPreferences = true;
  globalThis.RTCRtpReceiver = /** @type {any} */ ({
    getCapabilities: () => ({
      codecs: [
        { mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
        { mimeType: 'audio/red', clockRate: 48000, channels: 2 },
        { mimeType: 'audio/PCMU', clockRate: 8000 },
      ],
    }),
  });
  const { call } = await joinedCall(false);
  try {
    const audio = FakePC.made.flatMap((pc) => pc.transceivers).filter((tr) => tr.kind === 'audio');
    assert.equal(audio.length, 1);
    assert.deepEqual(audio[0].preferred, ['audio/red', 'audio/opus', 'audio/PCMU']);
    const video = FakePC.made.flatMap((pc) => pc.transceivers).filter((tr) => tr.kind === 'video');
    assert.ok(video.every((tr) => tr.preferred === undefined), 'video keeps the browser\'s order');
  } finally {
    call.leave(); // also when an assertion fails, so that nothing keeps the test running
  }
});

test('an error "waiting" puts the call back in the waiting room', async () => {
  const { call, ws } = await joinedCall(false);
  assert.equal(FakePC.made.length, 2);
  ws.receive(P.TypeError, { code: P.CodeWaiting, message: 'wait to be admitted' });
  await flush();
  assert.equal(call.state, 'waiting');
  assert.ok(FakePC.made.every((pc) => pc.closed), 'peer connections closed');
  ws.receive(P.TypeAdmitted, { participants: [] });
  await flush();
  assert.equal(FakePC.made.length, 4, 'new peer connections once admitted');
  call.leave();
});

test('leave with reason "ended" ends the call', async () => {
  const { call, ws, states } = await joinedCall(true);
  ws.receive(P.TypeLeave, { reason: P.ReasonEnded });
  await flush();
  assert.equal(call.state, 'ended');
  assert.equal(call.why, 'ended');
  assert.equal(states.at(-1), 'ended:ended');
  assert.equal(call.sending.hasVideo, false, 'camera stopped');
});

test('a clinician admits and ends', async () => {
  const { call, ws } = await joinedCall(false);
  assert.ok(call.admit('p9'));
  assert.ok(call.endVisit());
  const admit = ws.sent.find((e) => e.type === P.TypeAdmit);
  assert.deepEqual(admit.payload, { participantId: 'p9' });
  assert.ok(ws.sent.some((e) => e.type === P.TypeEnd));
  call.leave();
  assert.equal(call.endVisit(), false, 'nothing sent once left');
});

test('the camera goes out as three simulcast layers, and the layers no one receives are paused', async () => {
  const { call, ws } = await joinedCall(false);
  try {
    const video = FakePC.made.flatMap((pc) => pc.senders).find((s) => s.track.kind === 'video');
    assert.deepEqual(video.params.encodings.map((e) => e.rid), ['q', 'h', 'f']);
    assert.deepEqual(video.params.encodings.map((e) => e.scaleResolutionDownBy), [4, 2, 1]);
    ws.receive(P.TypeLayers, { kind: 'video', active: ['q'] });
    await flush();
    await flush();
    assert.deepEqual(video.params.encodings.map((e) => e.active), [true, false, false]);
    ws.receive(P.TypeLayers, { kind: 'video', active: ['q', 'f'] });
    await flush();
    await flush();
    assert.deepEqual(video.params.encodings.map((e) => e.active), [true, false, true]);
    const sets = video.sets;
    ws.receive(P.TypeLayers, { kind: 'video', active: ['q', 'f'] });
    ws.receive(P.TypeLayers, { kind: 'audio', active: [] });
    ws.receive(P.TypeLayers, { kind: 'video', active: 'q' });
    await flush();
    await flush();
    assert.equal(video.sets, sets, 'nothing changed, nothing set');
  } finally {
    call.leave();
  }
});

test('a browser without simulcast sends one encoding, and layers messages change nothing', async () => {
  FakePC.noSimulcast = true;
  const { call, ws } = await joinedCall(false);
  try {
    const video = FakePC.made.flatMap((pc) => pc.senders).find((s) => s.track.kind === 'video');
    assert.equal(video.params.encodings.length, 1);
    assert.ok(video.params.encodings[0].maxBitrate > 0);
    ws.receive(P.TypeLayers, { kind: 'video', active: ['q'] });
    await flush();
    await flush();
    assert.equal(video.sets, 0);
    assert.equal(video.params.encodings[0].active, true);
  } finally {
    call.leave();
  }
});

test('the server\'s view of the downlink and paused video reach the page', async () => {
  const qualities = [];
  const paused = [];
  const { call, ws } = await joinedCall(false, {
    quality: (q) => qualities.push(q),
    videoPaused: (id, on) => paused.push(`${id}:${on}`),
  });
  try {
    await call._statsTick(); // a first sample: a clean link
    assert.equal(call.quality.level, 'good');
    ws.receive(P.TypeQuality, { level: P.QualityWeak, reasons: [P.QualityBandwidth], kbps: 280 });
    await flush();
    assert.deepEqual(call.quality, { level: 'weak', reasons: ['bandwidth'], uplink: false });
    assert.deepEqual(qualities.map((q) => q.level), ['good', 'weak']);
    // The stats sent next carry the verdict, for the others to see.
    await call._statsTick();
    const stats = ws.sent.filter((m) => m.type === P.TypeStats).at(-1);
    assert.equal(stats.payload.quality, 'weak');
    assert.deepEqual(stats.payload.qualityReasons, ['bandwidth']);
    ws.receive(P.TypeVideoPaused, { participantId: 'p2', paused: true });
    ws.receive(P.TypeVideoPaused, { participantId: 'p2', paused: false });
    ws.receive(P.TypeVideoPaused, { paused: true }); // malformed: ignored
    await flush();
    assert.deepEqual(paused, ['p2:true', 'p2:false']);
    // Better again: shown only after two good ticks in a row.
    ws.receive(P.TypeQuality, { level: P.QualityGood, kbps: 2000 });
    await flush();
    assert.equal(call.quality.level, 'good', 'the server\'s word counts at once');
  } finally {
    call.leave();
  }
});

test('a weak uplink sends only the lowest layer, slower, and the voice goes on; the camera comes back with the link', async () => {
  const { call, ws } = await joinedCall(false);
  try {
    const video = FakePC.made.flatMap((pc) => pc.senders).find((s) => s.track.kind === 'video');
    const audio = FakePC.made.flatMap((pc) => pc.senders).find((s) => s.track.kind === 'audio');
    assert.equal(audio.params.encodings[0].priority, 'high', 'the voice asks for the larger share');
    ws.receive(P.TypeLayers, { kind: 'video', active: ['q', 'f'] });
    await flush();
    await flush();
    const link = (over) => ({ at: 0, received: 0, lost: 0, rtt: 0.02, jitter: 0, upLoss: 0, upLimited: true, upAvailable: 1500000, ...over });
    call._judge(link({ upAvailable: 80000 }), null);
    await flush();
    await flush();
    assert.deepEqual(call.quality, { level: 'very-weak', reasons: ['bandwidth'], uplink: true });
    assert.deepEqual(video.params.encodings.map((e) => e.active), [true, false, false]);
    assert.equal(video.params.encodings[0].maxFramerate, 10);
    assert.equal(audio.track.enabled, true);
    // The layers the server asks for wait while the uplink is weak.
    ws.receive(P.TypeLayers, { kind: 'video', active: ['q', 'h', 'f'] });
    await flush();
    await flush();
    assert.deepEqual(video.params.encodings.map((e) => e.active), [true, false, false]);
    // Good again twice in a row: the layers the server asked for come back.
    call._judge(link(), null);
    call._judge(link(), null);
    await flush();
    await flush();
    assert.equal(call.quality.level, 'good');
    assert.deepEqual(video.params.encodings.map((e) => e.active), [true, true, true]);
    assert.equal(video.params.encodings[0].maxFramerate, 15);
  } finally {
    call.leave();
  }
});
