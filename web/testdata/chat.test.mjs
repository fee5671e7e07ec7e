import { test } from 'node:test';
import assert from 'node:assert/strict';

import { ChatLog } from '../static/chat.js';
import * as P from '../static/protocol.js';

/** A connection that records what the log sends. */
function wire() {
  const sent = [];
  let n = 0;
  const send = (type, payload) => {
    sent.push({ type, payload, id: String(++n) });
    return String(n);
  };
  return { sent, send };
}

const msg = (seq, text, mine = false, clientId = 'c' + seq) => ({
  id: 'm' + seq, seq, clientId, name: mine ? 'Karen' : 'Dr. Holm', role: mine ? 'patient' : 'clinician',
  text, at: '2026-12-07T09:00:00Z', mine,
});

test('messages come out in the order filed, once each, whatever order they arrive in', () => {
  const fresh = [];
  const log = new ChatLog({ onChange: (f) => fresh.push(...f) });
  log.receive({ messages: [msg(2, 'b'), msg(1, 'a')] });
  log.receive({ messages: [msg(2, 'b')] }); // live copy after a history
  log.receive({ messages: [msg(4, 'd')] }); // 3 missed while away
  assert.deepEqual(log.messages.map((m) => m.seq), [1, 2, 4]);
  assert.equal(log.through, 2, 'catch up from the gap, not from the newest');
  assert.deepEqual(fresh.map((m) => m.text), ['b', 'a', 'd']);
  log.receive({ messages: [msg(3, 'c')], history: true });
  assert.deepEqual(log.messages.map((m) => m.text), ['a', 'b', 'c', 'd']);
  assert.equal(log.through, 4);
});

test('a message written while the connection is down waits, goes after the catch-up, and is settled by its receipt', () => {
  const log = new ChatLog({ newId: () => 'client-1' });
  assert.equal(log.post('Jeg kan ikke høre dig', 'cannot-hear'), 'client-1');
  assert.deepEqual(log.pending.map((p) => [p.text, p.state]), [['Jeg kan ikke høre dig', 'sending']]);
  log.receive({ messages: [msg(1, 'hej')] });

  const w = wire();
  log.connected(w.send);
  assert.deepEqual(w.sent.map((s) => s.type), [P.TypeChatSync, P.TypeChat]);
  assert.deepEqual(w.sent[0].payload, { after: 1 });
  assert.deepEqual(w.sent[1].payload, { clientId: 'client-1', text: 'Jeg kan ikke høre dig', phrase: 'cannot-hear' });

  // Dropped before the receipt: joined again, it is sent again under the same client id.
  log.disconnected();
  const w2 = wire();
  log.connected(w2.send);
  assert.equal(w2.sent[1].payload.clientId, 'client-1');
  log.receive({ messages: [msg(2, 'Jeg kan ikke høre dig', true, 'client-1')] });
  assert.equal(log.pending.length, 0);
  assert.equal(log.messages.length, 2);
});

test('a refused message is marked failed and can be sent again', () => {
  let id = 0;
  const log = new ChatLog({ newId: () => 'x' + ++id });
  const w = wire();
  log.connected(w.send);
  log.post('first');
  log.post('second');
  const ref = w.sent[1].id;
  assert.equal(log.refused(ref), true);
  assert.equal(log.refused('no-such-ref'), false, 'errors about other messages are not the chat\'s');
  assert.deepEqual(log.pending.map((p) => p.state), ['failed', 'sending']);
  log.retry('x1');
  assert.equal(w.sent.at(-1).payload.clientId, 'x1');
  assert.deepEqual(log.pending.map((p) => p.state), ['sending', 'sending']);
});

test('empty and too long messages are not sent', () => {
  const log = new ChatLog();
  const w = wire();
  log.connected(w.send);
  assert.equal(log.post('   \n '), '');
  assert.equal(log.post('x'.repeat(P.MaxChatText + 1)), '');
  assert.notEqual(log.post('æ'.repeat(P.MaxChatText)), '');
  assert.equal(w.sent.filter((s) => s.type === P.TypeChat).length, 1);
});

test('what is not a message is ignored', () => {
  const log = new ChatLog();
  log.receive(null);
  log.receive({ messages: 'x' });
  log.receive({ messages: [null, { seq: 'one', text: 'x' }, { seq: 1 }] });
  assert.equal(log.messages.length, 0);
});
