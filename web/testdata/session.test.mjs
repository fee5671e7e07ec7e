import { test } from 'node:test';
import assert from 'node:assert/strict';

import { homeFor, loginURL, safeNext, storedSessionToken, takeSessionToken } from '../static/session.js';
import { fill, pickLang, sentence } from '../static/text.js';
import { clinic, phoneText } from '../static/clinic.js';

test('safeNext follows only paths on this site', () => {
  const tests = [
    ['/console', '/console'],
    ['/call/a1?lang=da', '/call/a1?lang=da'],
    ['/calendar#week', '/calendar#week'],
    ['/a/../console', '/console'],
    ['', ''],
    [null, ''],
    [undefined, ''],
    ['console', ''],
    ['//evil.example/x', ''],
    ['/\\evil.example', ''],
    ['/\tevil', ''],
    ['https://evil.example/', ''],
    ['javascript:alert(1)', ''],
    ['/%2F%2Fevil.example', '/%2F%2Fevil.example'],
  ];
  for (const [next, want] of tests) assert.equal(safeNext(next), want, String(next));
});

test('homeFor sends clinicians to the console and others to the calendar', () => {
  assert.equal(homeFor('clinician'), '/console');
  assert.equal(homeFor('scheduler'), '/calendar');
  assert.equal(homeFor('admin'), '/calendar');
});

test('loginURL keeps a safe next', () => {
  assert.equal(loginURL('/console'), '/login?next=%2Fconsole');
  assert.equal(loginURL('//evil.example'), '/login');
});

function fakeEnv(url) {
  const store = new Map();
  const replaced = [];
  return {
    store,
    replaced,
    env: {
      location: new URL(url),
      history: { state: null, replaceState: (_s, _t, to) => replaced.push(to) },
      storage: { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => store.set(k, v), removeItem: (k) => store.delete(k) },
    },
  };
}

test('takeSessionToken keeps the fragment token for this tab and clears the address bar', () => {
  const { env, replaced } = fakeEnv('https://clinic.example/console?lang=da#t=a.b.c');
  assert.equal(takeSessionToken(/** @type {any} */ (env)), 'a.b.c');
  assert.deepEqual(replaced, ['/console?lang=da']);
  env.location = new URL('https://clinic.example/calendar');
  assert.equal(takeSessionToken(/** @type {any} */ (env)), 'a.b.c');
  assert.equal(storedSessionToken(env.storage), 'a.b.c');
  assert.equal(storedSessionToken(null), '');
});

test('pickLang and fill', () => {
  const all = { en: { hi: 'Hello, {name}' }, da: { hi: 'Hej {name}' } };
  assert.equal(pickLang(all, { search: '?lang=da', language: 'en-US' }), all.da);
  assert.equal(pickLang(all, { search: '', language: 'da-DK' }), all.da);
  assert.equal(pickLang(all, { search: '', language: 'sv' }), all.en);
  // The link's language (the patient's own) wins over the clinic's, which
  // wins over the browser's; ?lang= wins over all.
  assert.equal(pickLang(all, { hash: '#t=a.b.c&lang=da', clinicLanguage: 'en', language: 'en-US' }), all.da);
  assert.equal(pickLang(all, { hash: '#t=a.b.c&lang=en', clinicLanguage: 'da', language: 'da' }), all.en);
  assert.equal(pickLang(all, { hash: '#t=a.b.c', clinicLanguage: 'da', language: 'en-US' }), all.da);
  assert.equal(pickLang(all, { search: '?lang=en', hash: '#lang=da', clinicLanguage: 'da' }), all.en);
  assert.equal(fill(all.en.hi, { name: 'Anna' }), 'Hello, Anna');
  assert.equal(fill('{a} {b}', { a: 1 }), '1 {b}');
});

test('outside a patient page the clinic is not asked', () => {
  assert.equal(clinic, null);
});

test('phoneText writes a number as people read it', () => {
  assert.equal(phoneText('+4570112233'), '+45 70 11 22 33');
  assert.equal(phoneText('+4412345678901'), '+4412345678901');
  assert.equal(phoneText(''), '');
  assert.equal(phoneText('7011'), '7011');
});

test('sentence makes a server message read as a sentence', () => {
  assert.equal(sentence('wrong user name or password'), 'Wrong user name or password.');
  assert.equal(sentence('Slot taken!'), 'Slot taken!');
  assert.equal(sentence('  '), '');
  assert.equal(sentence(undefined), '');
});
