import { test } from 'node:test';
import assert from 'node:assert/strict';

import { decodeClaims, roomFromPath, takeToken, tokenExpired, wsURL } from '../static/token.js';

const b64url = (obj) => Buffer.from(JSON.stringify(obj)).toString('base64url');
const jwt = (claims) => `${b64url({ alg: 'EdDSA', typ: 'JWT' })}.${b64url(claims)}.c2ln`;

test('decodeClaims reads a base64url payload with non-ASCII names', () => {
  const claims = { role: 'patient', sub: 'pt-1', name: 'Søren Ærø', room: 'r1', exp: 1900000000 };
  assert.deepEqual(decodeClaims(jwt(claims)), claims);
});

test('decodeClaims returns null for what is not a JWT', () => {
  for (const bad of ['', 'abc', 'a.b', 'a.!!!.c', `x.${Buffer.from('[1]').toString('base64url')}.y`, 'a.b.c.d']) {
    assert.equal(decodeClaims(bad), null, bad);
  }
});

test('tokenExpired compares exp in seconds', () => {
  assert.equal(tokenExpired({ exp: 100 }, 99_000), false);
  assert.equal(tokenExpired({ exp: 100 }, 100_000), true);
  assert.equal(tokenExpired({}, 100_000), false);
  assert.equal(tokenExpired(null, 100_000), false);
});

test('roomFromPath', () => {
  assert.equal(roomFromPath('/visit/r1'), 'r1');
  assert.equal(roomFromPath('/call/r%C3%B8d%20stue'), 'rød stue');
  assert.equal(roomFromPath('/visit/'), '');
  assert.equal(roomFromPath('/visit/%E0%A4%A'), '');
});

function fakeEnv(url) {
  const u = new URL(url);
  const store = new Map();
  const replaced = [];
  return {
    replaced,
    store,
    env: {
      location: u,
      history: { state: null, replaceState: (_s, _t, to) => replaced.push(to) },
      storage: { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => store.set(k, v) },
    },
  };
}

test('takeToken moves the fragment token to storage and out of the address bar', () => {
  const { env, store, replaced } = fakeEnv('https://clinic.example/visit/r1?lang=da#t=aaa.bbb.ccc');
  assert.equal(takeToken('r1', /** @type {any} */ (env)), 'aaa.bbb.ccc');
  assert.deepEqual(replaced, ['/visit/r1?lang=da']);
  assert.equal(store.get('vclinic.token.r1'), 'aaa.bbb.ccc');

  // A reload has no fragment: the kept token is used.
  const again = fakeEnv('https://clinic.example/visit/r1');
  again.store.set('vclinic.token.r1', 'aaa.bbb.ccc');
  assert.equal(takeToken('r1', /** @type {any} */ (again.env)), 'aaa.bbb.ccc');
  assert.deepEqual(again.replaced, []);
  assert.equal(takeToken('other', /** @type {any} */ (again.env)), '');
});

test('takeToken keeps the rest of the fragment: the language the link carries', () => {
  const { env, replaced } = fakeEnv('https://clinic.example/visit/r1#t=aaa.bbb.ccc&lang=da');
  assert.equal(takeToken('r1', /** @type {any} */ (env)), 'aaa.bbb.ccc');
  assert.deepEqual(replaced, ['/visit/r1#lang=da']);
});

test('takeToken survives storage that throws', () => {
  const { env } = fakeEnv('https://clinic.example/visit/r1#t=x.y.z');
  env.storage = /** @type {any} */ ({
    getItem() { throw new Error('denied'); },
    setItem() { throw new Error('denied'); },
  });
  assert.equal(takeToken('r1', /** @type {any} */ (env)), 'x.y.z');
});

test('wsURL follows the page scheme', () => {
  assert.equal(wsURL('/ws?room=r1', new URL('https://clinic.example:8443/visit/r1')), 'wss://clinic.example:8443/ws?room=r1');
  assert.equal(wsURL('/ws?room=r1', new URL('http://127.0.0.1:8099/call/r1')), 'ws://127.0.0.1:8099/ws?room=r1');
});
