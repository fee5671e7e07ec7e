import { test } from 'node:test';
import assert from 'node:assert/strict';

import { APIError } from '../static/api.js';
import { RecheckMs, linkRefused, refusedState, visitPlan } from '../static/lobby.js';

const now = Date.UTC(2025, 5, 3, 8, 0); // 08:00Z

test('visitPlan follows the server and asks again when early', () => {
  const at = (m) => new Date(now + m * 60000).toISOString();
  const tests = [
    { name: 'open', visit: { state: 'open', start: at(5), opens: at(-10), clinician: 'Dr. Anna Holm' }, state: 'open', recheck: 0 },
    { name: 'early, opens in an hour', visit: { state: 'early', start: at(75), opens: at(60) }, state: 'early', recheck: RecheckMs },
    { name: 'early, opens in 10 s', visit: { state: 'early', start: at(15), opens: new Date(now + 10000).toISOString() }, state: 'early', recheck: 10500 },
    { name: 'early by the server, open by this clock', visit: { state: 'early', opens: at(-1) }, state: 'early', recheck: 1000 },
    { name: 'early without times', visit: { state: 'early' }, state: 'early', recheck: RecheckMs },
    { name: 'expired', visit: { state: 'expired', start: at(-120) }, state: 'expired', recheck: 0 },
    { name: 'moved, asks again as early does', visit: { state: 'moved', start: at(75), opens: at(60) }, state: 'moved', recheck: RecheckMs },
    { name: 'ended', visit: { state: 'ended', start: at(-60) }, state: 'ended', recheck: 0 },
    { name: 'cancelled', visit: { state: 'cancelled', start: at(60) }, state: 'cancelled', recheck: 0 },
    { name: 'unknown state', visit: { state: 'later' }, state: 'expired', recheck: 0 },
    { name: 'nothing', visit: null, state: 'expired', recheck: 0 },
  ];
  for (const tt of tests) {
    const plan = visitPlan(/** @type {any} */ (tt.visit), now);
    assert.equal(plan.state, tt.state, tt.name);
    assert.equal(plan.recheckMs, tt.recheck, tt.name);
  }
  const plan = visitPlan({ state: 'early', start: at(30), opens: at(15), clinician: ' Dr. Anna Holm ' }, now);
  assert.equal(plan.clinician, 'Dr. Anna Holm');
  assert.equal(plan.start.getTime(), now + 30 * 60000);
  assert.equal(plan.opens.getTime(), now + 15 * 60000);
});

test('linkRefused tells a bad link from a bad moment', () => {
  assert.ok(linkRefused(new APIError(401, 'expired')));
  assert.ok(linkRefused(new APIError(403, '')));
  assert.ok(linkRefused(new APIError(404, '')));
  assert.ok(!linkRefused(new APIError(0, '')));
  assert.ok(!linkRefused(new APIError(503, '')));
  assert.ok(!linkRefused(new Error('x')));
});

test('refusedState reads what the refusal names', () => {
  assert.equal(refusedState(new APIError(401, 'over', { state: 'expired' })), 'expired');
  assert.equal(refusedState(new APIError(401, 'no link', { state: 'invalid' })), 'invalid');
  assert.equal(refusedState(new APIError(404, '')), 'invalid');
  assert.equal(refusedState(new Error('x')), 'invalid');
});
