import { test } from 'node:test';
import assert from 'node:assert/strict';

import { inviteBody, inviteWords } from '../static/invite.js';

const w = inviteWords.en;

test('an invitation needs a way to reach the guest', () => {
  const r = inviteBody({ role: 'relative', name: 'Bo', phone: ' ', email: '', language: '' }, w);
  assert.deepEqual(r, { error: w.need });
});

test('what is given goes, trimmed; the clinic\'s language is left to the server', () => {
  assert.deepEqual(inviteBody({ role: 'interpreter', name: ' Ali Yilmaz ', phone: '', email: ' ali@example.dk ', language: '' }, w), {
    body: { role: 'interpreter', name: 'Ali Yilmaz', email: 'ali@example.dk' },
  });
  assert.deepEqual(inviteBody({ role: 'relative', name: 'Bo', phone: '20 00 00 09', email: '', language: 'da' }, w), {
    body: { role: 'relative', name: 'Bo', phone: '20 00 00 09', language: 'da' },
  });
});

test('both languages have every word', () => {
  assert.deepEqual(Object.keys(inviteWords.da).sort(), Object.keys(inviteWords.en).sort());
});
