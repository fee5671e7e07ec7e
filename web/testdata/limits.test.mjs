import { test } from 'node:test';
import assert from 'node:assert/strict';

import { askAnswered, groupByQuantity, outsideText, sortVitals, sourceText, vitalsStrings } from '../static/vitals.js';

const at = (min) => new Date(Date.UTC(2026, 0, 5, 8, 0) + min * 60000).toISOString();
const pulse = (value, min, deviceId, via, deviceName) => ({ code: '8867-4', value, unit: '/min', at: at(min), deviceId, source: via === 'patient' ? 'patient-entered' : 'device', via, deviceName });

test('groupByQuantity merges the same quantity from several devices: newest shown, others listed newest first', () => {
  const list = sortVitals([
    pulse('72', 0, 'oxi', 'bluetooth', 'Oximeter'),
    pulse('75', 2, 'cuff', 'gateway', 'Arm cuff'),
    pulse('70', 1, 'hr', 'bluetooth', 'Chest strap'),
    { code: '8310-5', value: '37.6', unit: 'Cel', at: at(1), deviceId: 'th', source: 'device', via: 'bluetooth' },
  ]);
  const groups = groupByQuantity(list);
  assert.equal(groups.length, 2, 'one row for pulse, one for temperature');
  const p = groups.find((g) => g.main.code === '8867-4');
  assert.equal(p.main.value, '75', 'the newest value is shown');
  assert.deepEqual(p.others.map((o) => o.deviceId), ['hr', 'oxi'], 'the others newest first');
});

test('groupByQuantity leaves systolic and diastolic one per device, for the blood pressure pairing', () => {
  const bp = (code, dev, min) => ({ code, value: '120', unit: 'mm[Hg]', at: at(min), deviceId: dev, source: 'device' });
  const groups = groupByQuantity(sortVitals([bp('8480-6', 'a', 0), bp('8480-6', 'b', 1), bp('8462-4', 'a', 0)]));
  assert.equal(groups.length, 3);
});

test('sourceText names the device and how the value came, in English and Danish', () => {
  const en = vitalsStrings.en;
  const da = vitalsStrings.da;
  assert.equal(sourceText(pulse('72', 0, 'oxi', 'bluetooth', 'Oximeter'), en), 'Oximeter, Bluetooth');
  assert.equal(sourceText(pulse('72', 0, 'cuff', 'gateway', 'Arm cuff'), da), 'Arm cuff, hjemmeboks');
  assert.equal(sourceText(pulse('72', 0, '', 'patient', ''), en), 'typed by the patient');
  assert.equal(sourceText(pulse('72', 0, '', 'staff', ''), da), 'indtastet af personalet');
  assert.equal(sourceText({ code: '8867-4', unit: '/min', at: at(0), source: 'patient-entered' }, en), 'typed by the patient', 'an older server sends no via');
});

test('outsideText says which limit, with its unit, and nothing within limits', () => {
  const v = { code: '8310-5', value: '38.4', unit: 'Cel', at: at(0), source: 'device', outside: 'above', limitLow: '35.5', limitHigh: '38.0', limitUnit: 'Cel' };
  assert.equal(outsideText(v, vitalsStrings.en), 'above limit 38.0 °C');
  assert.equal(outsideText({ ...v, outside: 'below', value: '35.0' }, vitalsStrings.da), 'under grænsen 35.5 °C');
  assert.equal(outsideText({ ...v, outside: '' }, vitalsStrings.en), '');
  assert.equal(outsideText({ ...v, outside: 'above', limitHigh: '' }, vitalsStrings.en), '', 'no limit, no claim');
});

test('every new word exists in both languages', () => {
  for (const k of ['via', 'from', 'others', 'outside', 'decisionSupport', 'acknowledge', 'acknowledgeLabel', 'acknowledged', 'ackFailed', 'requested']) {
    assert.ok(vitalsStrings.en[k], `en.${k}`);
    assert.ok(vitalsStrings.da[k], `da.${k}`);
  }
});

test('the day list keeps each appointment count of flagged readings', async () => {
  const { normalizeEntries } = await import('../static/appt.js');
  const e = (id, flaggedReadings) => ({ appointment: { id, start: '2026-01-05T08:00:00Z', end: '2026-01-05T08:20:00Z', status: 'booked' }, waiting: 0, inCall: 0, flaggedReadings });
  const got = normalizeEntries([e('a', 2), e('b', undefined), e('c', -1)]);
  assert.deepEqual(got.map((x) => x.flaggedReadings), [2, 0, 0]);
});

test('askAnswered: "requested 10:02, received 10:04" only for a value received after the ask', () => {
  const asks = new Map([['8480-6', new Date(Date.UTC(2026, 0, 5, 10, 2))]]);
  const dia = { code: '8462-4', value: '80', unit: 'mm[Hg]', at: at(123), receivedAt: new Date(Date.UTC(2026, 0, 5, 10, 4)).toISOString(), source: 'device' };
  assert.equal(askAnswered(asks, dia)?.toISOString(), '2026-01-05T10:02:00.000Z', 'a diastolic value answers a blood pressure request');
  assert.equal(askAnswered(asks, { ...dia, receivedAt: new Date(Date.UTC(2026, 0, 5, 10, 1)).toISOString() }), null, 'received before the ask');
  assert.equal(askAnswered(asks, { ...dia, code: '8310-5' }), null, 'another quantity');
});
