import { test } from 'node:test';
import assert from 'node:assert/strict';

import { checkText } from '../static/appt.js';
import { SoundRMS, VideoKbps, isSound, overallVerdict } from '../static/check.js';

const ok = { camera: 'pass', udp: 'pass', tcp: 'pass', relay: 'not-configured', downKbps: 4000, upKbps: 2000 };

test('overallVerdict: ready, audio only below what video needs, no connection without a way through', () => {
  assert.equal(overallVerdict(ok), 'ready');
  assert.equal(overallVerdict({ ...ok, udp: 'fail', tcp: 'fail', relay: 'pass' }), 'ready', 'TURN alone is a way through');
  assert.equal(overallVerdict({ ...ok, downKbps: VideoKbps - 1 }), 'audio-only');
  assert.equal(overallVerdict({ ...ok, upKbps: 120 }), 'audio-only');
  assert.equal(overallVerdict({ ...ok, camera: 'fail' }), 'audio-only', 'no camera: sound only');
  assert.equal(overallVerdict({ ...ok, udp: 'fail', tcp: 'fail' }), 'no-connection', 'not-configured is never a pass');
  assert.equal(overallVerdict({ ...ok, udp: 'fail', tcp: 'not-configured', relay: 'fail' }), 'no-connection');
});

test('isSound: speech-level sound, or well above the room floor; not the hum', () => {
  assert.ok(isSound(SoundRMS, 0));
  assert.ok(!isSound(SoundRMS / 2, 0), 'no floor yet, below the level');
  assert.ok(isSound(SoundRMS / 2, SoundRMS / 10), 'four times the floor');
  assert.ok(!isSound(SoundRMS / 10, SoundRMS / 40), 'four times a floor of near silence is still silence');
  assert.ok(!isSound(0, 0));
});

test('checkText says the newest check to staff, in both languages, with when', () => {
  const now = new Date(2026, 5, 2, 10, 0);
  const yesterday = new Date(2026, 5, 1, 18, 30).toISOString();
  assert.deepEqual(checkText('en', { verdict: 'audio-only', at: yesterday }, now), {
    verdict: 'audio-only',
    text: 'Check passed yesterday, audio only likely',
  });
  assert.equal(checkText('da', { verdict: 'audio-only', at: yesterday }, now)?.text, 'Tjek bestået i går, sandsynligvis kun lyd');
  assert.equal(checkText('en', { verdict: 'ready', at: now.toISOString() }, now)?.text, 'Check passed today: ready for video');
  assert.equal(checkText('da', { verdict: 'no-connection', at: now.toISOString() }, now)?.text, 'Tjek fejlet i dag: kan ikke forbinde');
  assert.match(checkText('en', { verdict: 'ready', at: new Date(2026, 4, 1).toISOString() }, now)?.text || '', /1 May/);
  assert.equal(checkText('en', null, now), null);
  assert.equal(checkText('en', { verdict: 'great', at: yesterday }, now), null);
  assert.equal(checkText('en', { verdict: 'ready' }, now), null);
});
