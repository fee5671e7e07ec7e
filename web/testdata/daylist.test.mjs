import { test } from 'node:test';
import assert from 'node:assert/strict';

import { normalizeEntries } from '../static/appt.js';
import { FullEveryMs, PollMs, mustReload, normalizePresence, withPresence } from '../static/daylist.js';

const from = '2026-06-02T00:00:00+02:00';
const t0 = Date.UTC(2026, 5, 2, 8);

const presence = (version, ...rows) =>
  normalizePresence({
    version,
    appointments: rows.map(([appointmentId, status, waiting = 0, inCall = 0]) => ({ appointmentId, status, waiting, inCall })),
  });

const dayList = () =>
  normalizeEntries([
    { appointment: { id: 'a', start: '2026-06-02T08:00:00Z', end: '2026-06-02T08:20:00Z', status: 'booked', patientName: 'Karen Jensen' }, waiting: 0, inCall: 0 },
    { appointment: { id: 'b', start: '2026-06-02T09:00:00Z', end: '2026-06-02T09:20:00Z', status: 'booked', patientName: 'Jens Nielsen' }, waiting: 0, inCall: 0 },
  ]);

test('polling is often, full reloads are rare', () => {
  assert.ok(PollMs <= 5000, 'a patient who starts waiting shows within 5 s');
  assert.ok(FullEveryMs >= 60 * PollMs, 'the full list is not reloaded at every poll');
});

test('normalizePresence reads the answer or refuses it', () => {
  const p = presence('v1', ['a', 'booked', 1, 0], ['b', 'arrived', '2', -1]);
  assert.equal(p?.version, 'v1');
  assert.deepEqual(p?.byId.get('a'), { status: 'booked', waiting: 1, inCall: 0 });
  assert.deepEqual(p?.byId.get('b'), { status: 'arrived', waiting: 2, inCall: 0 });
  assert.equal(normalizePresence(null), null);
  assert.equal(normalizePresence([]), null, 'the day list is no presence answer');
  assert.equal(normalizePresence({ appointments: [] }), null, 'no version');
  assert.equal(normalizePresence({ version: 'v', appointments: [{ waiting: 1 }] }), null, 'an entry without its id');
  assert.equal(normalizePresence({ version: 'v', appointments: [] })?.byId.size, 0);
});

test('mustReload: only when the list changed, the day changed, or it is old', () => {
  const loaded = { from, version: 'v1', at: t0 };
  const same = presence('v1', ['a', 'booked']);
  const cases = [
    { name: 'nothing loaded yet', loaded: null, from, p: same, now: t0, want: true },
    { name: 'same version, a poll later', loaded, from, p: same, now: t0 + PollMs, want: false },
    { name: 'same version, just before the full reload is due', loaded, from, p: same, now: t0 + FullEveryMs - 1, want: false },
    { name: 'same version, full reload due', loaded, from, p: same, now: t0 + FullEveryMs, want: true },
    { name: 'another version (booked, cancelled, moved)', loaded, from, p: presence('v2', ['a', 'booked']), now: t0 + PollMs, want: true },
    { name: 'another day shown', loaded, from: '2026-06-03T00:00:00+02:00', p: same, now: t0 + PollMs, want: true },
    { name: 'presence could not be read', loaded, from, p: null, now: t0 + PollMs, want: true },
    { name: 'the clock went back', loaded, from, p: same, now: t0 - 1000, want: true },
  ];
  for (const c of cases) assert.equal(mustReload(c.loaded, c.from, c.p, c.now), c.want, c.name);
  assert.equal(mustReload(loaded, from, same, t0 + 1000, 1000), true, 'everyMs');
});

test('withPresence updates counts and status of the rows on screen', () => {
  const entries = dayList();
  const got = withPresence(entries, /** @type {any} */ (presence('v1', ['a', 'booked', 0, 0], ['b', 'arrived', 1, 0])));
  assert.ok(got);
  assert.deepEqual(got.map((e) => [e.appointment.id, e.appointment.status, e.waiting, e.inCall]), [
    ['a', 'booked', 0, 0],
    ['b', 'arrived', 1, 0],
  ]);
  assert.equal(got[1].appointment.patientName, 'Jens Nielsen', 'names stay from the full list');
  assert.equal(got[0].start.getTime(), entries[0].start.getTime());
  assert.equal(entries[1].waiting, 0, 'the list on screen is not changed in place');
  assert.equal(entries[1].appointment.status, 'booked');
  // Another set of appointments: reload.
  assert.equal(withPresence(entries, /** @type {any} */ (presence('v1', ['a', 'booked']))), null);
  assert.equal(withPresence(entries, /** @type {any} */ (presence('v1', ['a', 'booked'], ['c', 'booked']))), null);
});

test('a patient who starts waiting shows at the next poll, without a reload', () => {
  // The console's loop: load once, then poll.
  let loaded = null;
  let shownEntries = [];
  let reloads = 0;
  const poll = (p, now) => {
    const next = mustReload(loaded, from, p, now) ? null : withPresence(shownEntries, p);
    if (next) {
      shownEntries = next;
      return;
    }
    reloads++;
    shownEntries = withPresence(dayList(), p) || dayList();
    loaded = { from, version: p ? p.version : '', at: now };
  };
  poll(presence('v1', ['a', 'booked'], ['b', 'booked']), t0);
  assert.equal(reloads, 1);
  for (let i = 1; i <= 10; i++) poll(presence('v1', ['a', 'booked'], ['b', 'booked']), t0 + i * PollMs);
  assert.equal(reloads, 1, 'ten quiet polls, no reload');
  poll(presence('v1', ['a', 'booked'], ['b', 'booked', 1]), t0 + 11 * PollMs);
  assert.equal(shownEntries[1].waiting, 1, 'waiting at the next poll');
  assert.equal(reloads, 1);
  poll(presence('v2', ['a', 'booked'], ['b', 'arrived', 1]), t0 + 12 * PollMs);
  assert.equal(reloads, 2, 'the arrival changed the list: reloaded');
  assert.equal(shownEntries[1].waiting, 1);
});
