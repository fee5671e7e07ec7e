import { test } from 'node:test';
import assert from 'node:assert/strict';

import { API, APIError, buildRequest, idempotencyKey, readResponse, seg, withQuery } from '../static/api.js';

/** A fetch that records its calls and answers with the given responses in turn. */
function fakeFetch(...responses) {
  const calls = [];
  const f = async (url, init) => {
    calls.push({ url, init });
    const r = responses.shift();
    if (r instanceof Error) throw r;
    return r;
  };
  return { f, calls };
}

const json = (status, body, type = 'application/json') =>
  new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'Content-Type': type } });

test('withQuery leaves out empty values and escapes the rest', () => {
  assert.equal(withQuery('/a', {}), '/a');
  assert.equal(withQuery('/a', { from: '2025-03-30T00:00:00+01:00', type: '', x: undefined, y: null }),
    '/a?from=2025-03-30T00%3A00%3A00%2B01%3A00');
  assert.equal(withQuery('/a?b=1', { c: 2 }), '/a?b=1&c=2');
});

test('buildRequest sends JSON, the cookie, and the bearer token when there is one', () => {
  const { url, init } = buildRequest('POST', '/api/v1/appointments', { body: { a: 1 }, headers: { 'Idempotency-Key': 'k1' } }, 'tok');
  assert.equal(url, '/api/v1/appointments');
  assert.equal(init.method, 'POST');
  assert.equal(init.credentials, 'same-origin');
  assert.equal(init.body, '{"a":1}');
  assert.equal(init.headers['Content-Type'], 'application/json');
  assert.equal(init.headers.Authorization, 'Bearer tok');
  assert.equal(init.headers['Idempotency-Key'], 'k1');

  const get = buildRequest('GET', '/api/v1/me', {}, '');
  assert.equal(get.init.body, undefined);
  assert.equal(get.init.headers.Authorization, undefined);
  assert.equal(get.init.headers['Content-Type'], undefined);
});

test('readResponse returns JSON, text, or null for an empty body', async () => {
  assert.deepEqual(await readResponse(json(200, { id: 'a1' })), { id: 'a1' });
  assert.equal(await readResponse(new Response(null, { status: 204 })), null);
  assert.equal(await readResponse(new Response('BEGIN:VCALENDAR', { status: 200, headers: { 'Content-Type': 'text/calendar' } })), 'BEGIN:VCALENDAR');
  await assert.rejects(readResponse(new Response('{oops', { status: 200, headers: { 'Content-Type': 'application/json' } })),
    (e) => e instanceof APIError && e.status === 200);
});

test('readResponse throws problem details as APIError with status and detail', async () => {
  const tests = [
    { name: 'problem detail', res: json(409, { type: 'about:blank', title: 'Conflict', status: 409, detail: 'the slot is taken' }, 'application/problem+json'), status: 409, detail: 'the slot is taken' },
    { name: 'problem title only', res: json(422, { title: 'Unprocessable' }, 'application/problem+json'), status: 422, detail: 'Unprocessable' },
    { name: 'plain text', res: new Response('method not allowed\n', { status: 405, headers: { 'Content-Type': 'text/plain' } }), status: 405, detail: 'method not allowed' },
    { name: 'no body', res: new Response(null, { status: 401, statusText: 'Unauthorized' }), status: 401, detail: 'Unauthorized' },
    { name: 'broken JSON', res: new Response('<html>', { status: 502, statusText: 'Bad Gateway', headers: { 'Content-Type': 'application/json' } }), status: 502, detail: 'Bad Gateway' },
  ];
  for (const tt of tests) {
    await assert.rejects(readResponse(tt.res), (e) => {
      assert.ok(e instanceof APIError, tt.name);
      assert.equal(e.status, tt.status, tt.name);
      assert.equal(e.detail, tt.detail, tt.name);
      return true;
    });
  }
});

test('API turns a network failure into APIError status 0 and passes aborts through', async () => {
  const { f } = fakeFetch(new TypeError('Failed to fetch'), Object.assign(new Error('aborted'), { name: 'AbortError' }));
  const api = new API({ fetch: f });
  await assert.rejects(api.get('/api/v1/me'), (e) => e instanceof APIError && e.status === 0);
  await assert.rejects(api.get('/api/v1/me'), (e) => e.name === 'AbortError');
});

test('API get and post', async () => {
  const { f, calls } = fakeFetch(json(200, [{ id: 'c1' }]), json(201, { id: 'a1' }));
  const api = new API({ fetch: f, token: 't1' });
  assert.deepEqual(await api.get('/api/v1/clinicians/' + seg('c/1') + '/slots', { from: 'x', type: '' }), [{ id: 'c1' }]);
  assert.equal(calls[0].url, '/api/v1/clinicians/c%2F1/slots?from=x');
  assert.equal(calls[0].init.headers.Authorization, 'Bearer t1');
  assert.deepEqual(await api.post('/api/v1/appointments', { start: 's' }, { 'Idempotency-Key': 'k' }), { id: 'a1' });
  assert.equal(calls[1].init.method, 'POST');
  assert.equal(calls[1].init.headers['Idempotency-Key'], 'k');
});

test('idempotencyKey is new every time', () => {
  const a = idempotencyKey();
  const b = idempotencyKey();
  assert.notEqual(a, b);
  assert.ok(a.length >= 32 && a.length <= 128, a);
});
