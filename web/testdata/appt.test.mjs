import { test } from 'node:test';
import assert from 'node:assert/strict';

import { formatCPR, isCancelled, isOpen, normalizeEntries, parseCPR, statusText } from '../static/appt.js';

test('statusText says every FHIR status in plain words, in both languages', () => {
  for (const s of ['booked', 'arrived', 'checked-in', 'fulfilled', 'cancelled', 'noshow', 'entered-in-error']) {
    assert.ok(statusText('en', s) && statusText('en', s) !== s, s);
    assert.ok(statusText('da', s) && statusText('da', s) !== s, s);
    assert.notEqual(statusText('en', s), statusText('da', s), s);
  }
  assert.equal(statusText('en', 'fulfilled'), 'Finished');
  assert.equal(statusText('da', 'cancelled'), 'Aflyst');
  assert.equal(statusText('en', 'proposed'), 'proposed', 'an unknown status is shown as it is');
});

test('isOpen and isCancelled', () => {
  assert.ok(isOpen('booked') && isOpen('arrived') && isOpen('checked-in'));
  assert.ok(!isOpen('fulfilled') && !isOpen('cancelled') && !isOpen('noshow'));
  assert.ok(isCancelled('cancelled') && isCancelled('entered-in-error') && !isCancelled('noshow'));
});

test('normalizeEntries sorts by start and drops what it cannot show', () => {
  const entry = (id, start, extra = {}) => ({
    appointment: { id, start, end: start.replace(':00:00', ':20:00'), status: 'booked' },
    waiting: 0,
    inCall: 0,
    ...extra,
  });
  const got = normalizeEntries([
    entry('b', '2025-06-03T10:00:00Z', { waiting: 2 }),
    entry('a', '2025-06-03T08:00:00Z', { waiting: '1', inCall: -3 }),
    { appointment: { id: 'x', start: 'soon', end: 'later' } },
    { waiting: 1 },
    null,
  ]);
  assert.deepEqual(got.map((e) => e.appointment.id), ['a', 'b']);
  assert.equal(got[0].waiting, 1);
  assert.equal(got[0].inCall, 0);
  assert.equal(got[1].waiting, 2);
  assert.equal(got[0].start.getTime(), Date.UTC(2025, 5, 3, 8));
  assert.deepEqual(normalizeEntries({ not: 'a list' }), []);
});

test('CPR numbers', () => {
  assert.equal(formatCPR('0101901234'), '010190-1234');
  assert.equal(formatCPR(''), '');
  assert.equal(formatCPR(undefined), '');
  assert.equal(parseCPR('010190-1234'), '0101901234');
  assert.equal(parseCPR(' 0101 90 1234 '), '0101901234');
  assert.equal(parseCPR(''), '');
  assert.equal(parseCPR('01019012'), null);
  assert.equal(parseCPR('01019O1234'), null);
});

test('latestReply says the newest reply in staff words', async () => {
  const { latestReply } = await import('../static/appt.js');
  assert.equal(latestReply('en', undefined), null);
  assert.equal(latestReply('en', []), null);
  assert.deepEqual(latestReply('da', [{ kind: 'new-time' }, { kind: 'cannot-come', text: ' syg ' }]), {
    kind: 'cannot-come',
    text: 'Patienten kan ikke komme: “syg”',
  });
  assert.deepEqual(latestReply('en', [{ kind: 'new-time' }, { kind: 'bogus' }]), { kind: 'new-time', text: 'Patient asks for another time' });
});
