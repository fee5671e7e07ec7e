import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';

import { FakeClock, FakeWebSocket } from './fakes.mjs';
import { Signal, RefusedError, backoffMs, PingIntervalMs, DeadAfterMs } from '../static/signal.js';
import * as P from '../static/protocol.js';

beforeEach(() => FakeWebSocket.reset());

function newSignal(opts = {}) {
  const clock = new FakeClock();
  const states = [];
  const s = new Signal({
    url: 'ws://clinic.example/ws?room=r1',
    token: 'a.b.c',
    WebSocket: /** @type {any} */ (FakeWebSocket),
    clock,
    onState: (st, info) => states.push(info ? `${st}:${info.refused ? 'refused' : info.code}` : st),
    ...opts,
  });
  return { s, clock, states };
}

/** Connects, joins, and answers joined with the given grace. */
async function joined(s, graceSeconds = 20) {
  const p = s.connect();
  FakeWebSocket.last().open();
  await p;
  s.send(P.TypeJoin, { version: P.ProtocolVersion, name: 'Anna' });
  FakeWebSocket.last().receive(P.TypeJoined, {
    version: 1, room: 'r1', participantId: 'p1', resumeToken: 'rt-1', resumed: false,
    graceSeconds, iceServers: [], participants: [],
  });
}

test('backoff doubles from 0.5 s and stops at 5 s', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 9].map(backoffMs), [500, 1000, 2000, 4000, 5000, 5000, 5000]);
});

test('connect offers the protocol and the token as subprotocols', async () => {
  const { s, states } = newSignal();
  const p = s.connect();
  const ws = FakeWebSocket.last();
  assert.equal(ws.url, 'ws://clinic.example/ws?room=r1');
  assert.deepEqual(ws.protocols, ['vclinic.v1', 'access_token.a.b.c']);
  ws.open();
  await p;
  assert.deepEqual(states, ['connecting', 'open']);
});

test('without a token only the protocol is offered', async () => {
  const { s } = newSignal({ token: '' });
  s.connect().catch(() => {});
  assert.deepEqual(FakeWebSocket.last().protocols, ['vclinic.v1']);
  s.close();
});

test('send numbers envelopes with string ids and drops messages while closed', async () => {
  const { s } = newSignal();
  assert.equal(s.send(P.TypePing, {}), '', 'send before open');
  const p = s.connect();
  const ws = FakeWebSocket.last();
  ws.open();
  await p;
  assert.equal(s.send(P.TypeJoin, { version: 1, name: 'Anna' }), '1');
  assert.equal(s.send(P.TypeMute, { audio: true, video: false }), '2');
  assert.deepEqual(ws.sent, [
    { type: 'join', id: '1', payload: { version: 1, name: 'Anna' } },
    { type: 'mute', id: '2', payload: { audio: true, video: false } },
  ]);
});

test('on delivers payloads by type until removed', async () => {
  const { s } = newSignal();
  const got = [];
  const off = s.on(P.TypeParticipants, (p, env) => got.push([p.participants.length, env.type]));
  const p = s.connect();
  const ws = FakeWebSocket.last();
  ws.open();
  await p;
  ws.receive(P.TypeParticipants, { participants: [{ id: 'a' }] });
  ws.receive(P.TypePong, {});
  ws.onmessage({ data: 'not json' });
  off();
  ws.receive(P.TypeParticipants, { participants: [] });
  assert.deepEqual(got, [[1, 'participants']]);
});

test('a refused first connection rejects and does not retry', async () => {
  const { s, clock, states } = newSignal();
  const p = s.connect();
  FakeWebSocket.last().fail(1006);
  await assert.rejects(p, (err) => err instanceof RefusedError && err.code === 1006);
  assert.deepEqual(states, ['connecting', 'refused:refused']);
  clock.advance(60000);
  assert.equal(FakeWebSocket.made.length, 1);
});

test('a drop retries with backoff and resumes within the grace period', async () => {
  const { s, clock, states } = newSignal();
  await joined(s, 30);
  FakeWebSocket.last().fail(1006);
  assert.deepEqual(states.slice(-1), ['reconnecting:1006']);
  const delays = [];
  for (let i = 0; i < 6; i++) {
    delays.push(clock.pending()[0]);
    const before = FakeWebSocket.made.length;
    clock.advance(clock.pending()[0]);
    assert.equal(FakeWebSocket.made.length, before + 1, 'a new socket per attempt');
    FakeWebSocket.last().fail(1006); // still down
  }
  assert.deepEqual(delays, [500, 1000, 2000, 4000, 5000, 5000]);
  assert.ok(states.slice(-1)[0] === 'reconnecting:refused');
  clock.advance(clock.pending()[0]); // 22.5 s after the drop, within 30 s
  const ws = FakeWebSocket.last();
  ws.open();
  assert.deepEqual(ws.sent.map((e) => [e.type, e.payload]), [['resume', { resumeToken: 'rt-1' }]]);
  ws.receive(P.TypeJoined, { participantId: 'p1', resumeToken: 'rt-2', resumed: true, graceSeconds: 30 });
  // A later drop starts the backoff again from 0.5 s.
  ws.fail(1006);
  assert.equal(clock.pending()[0], 500);
  clock.advance(500);
  FakeWebSocket.last().open();
  assert.deepEqual(FakeWebSocket.last().sent[0].payload, { resumeToken: 'rt-2' });
});

test('after the grace period it joins afresh with the same join', async () => {
  const { s, clock } = newSignal();
  await joined(s, 2);
  FakeWebSocket.last().fail(1006);
  clock.advance(500);
  FakeWebSocket.last().fail(1006);
  clock.advance(1000);
  FakeWebSocket.last().fail(1006);
  clock.advance(2000); // 3.5 s after the drop
  const ws = FakeWebSocket.last();
  ws.open();
  assert.deepEqual(ws.sent.map((e) => [e.type, e.payload]), [['join', { version: 1, name: 'Anna' }]]);
});

test('resume-failed makes it join afresh', async () => {
  const { s, clock } = newSignal();
  await joined(s, 30);
  FakeWebSocket.last().fail(1001);
  clock.advance(500);
  const ws = FakeWebSocket.last();
  ws.open();
  const errors = [];
  s.on(P.TypeError, (e) => errors.push(e.code));
  ws.receive(P.TypeError, { code: P.CodeResumeFailed, message: 'unknown token', ref: ws.sent[0].id });
  assert.deepEqual(ws.types(), ['resume', 'join']);
  assert.deepEqual(errors, ['resume-failed'], 'the error still reaches handlers');
});

test('pings every 10 s and takes a silent socket for dead', async () => {
  const { s, clock, states } = newSignal();
  await joined(s);
  const ws = FakeWebSocket.last();
  clock.advance(PingIntervalMs);
  assert.deepEqual(ws.types().slice(-1), ['ping']);
  ws.receive(P.TypePong, {});
  clock.advance(PingIntervalMs);
  assert.equal(ws.types().filter((t) => t === 'ping').length, 2);
  // No answer any more: after DeadAfterMs of silence the socket is dropped.
  clock.advance(DeadAfterMs + PingIntervalMs);
  assert.equal(ws.closedWith, 1005);
  assert.equal(ws.onclose, null);
  assert.ok(states.includes('reconnecting:1006'));
  assert.equal(s.state, 'reconnecting');
});

test('close stops reconnection', async () => {
  const { s, clock, states } = newSignal();
  await joined(s);
  const ws = FakeWebSocket.last();
  s.close();
  assert.equal(ws.closedWith, 1000);
  ws.fail(1000);
  clock.advance(60000);
  assert.equal(FakeWebSocket.made.length, 1);
  assert.equal(states.slice(-1)[0], 'closed');
});

test('gives up after giveUpMs of failed attempts', async () => {
  const { s, clock, states } = newSignal({ giveUpMs: 10000 });
  await joined(s);
  FakeWebSocket.last().fail(1006);
  while (s.state === 'reconnecting') {
    clock.advance(clock.pending()[0]);
    FakeWebSocket.last().fail(1006);
  }
  assert.equal(s.state, 'lost');
  assert.equal(states.slice(-1)[0], 'lost:refused');
  assert.ok(clock.now() - 1_700_000_000_000 >= 10000);
  assert.deepEqual(clock.pending(), []);
});

test('the online event retries at once', async () => {
  const online = new EventTarget();
  const { s, clock } = newSignal({ online });
  await joined(s);
  FakeWebSocket.last().fail(1006);
  assert.equal(FakeWebSocket.made.length, 1);
  online.dispatchEvent(new Event('online'));
  assert.equal(FakeWebSocket.made.length, 2);
  assert.deepEqual(clock.pending(), []);
});
