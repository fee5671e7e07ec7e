import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  answers,
  codeName,
  deviceTypeFor,
  mergeVitals,
  Requestable,
  sortVitals,
  sparkPoints,
  trendDirection,
  unitText,
  valueWithUnit,
  vitalKey,
  vitalsStrings,
  vitalsWords,
} from '../static/vitals.js';

const at = (min) => new Date(Date.UTC(2026, 0, 5, 8, 0) + min * 60000).toISOString();
const bp = (value, min, extra = {}) => ({ code: '8480-6', value, unit: 'mm[Hg]', at: at(min), deviceId: 'cuff-1', source: 'device', ...extra });

test('mergeVitals keeps the newest value per code, device and source', () => {
  const newest = new Map();
  let taken = mergeVitals(newest, [bp('120', 0)]);
  assert.equal(taken.length, 1);
  assert.equal(newest.get(vitalKey(bp('', 0))).value, '120');

  taken = mergeVitals(newest, [bp('130', -5)]);
  assert.equal(taken.length, 0, 'an older value does not replace a newer one');
  assert.equal(newest.get('8480-6|cuff-1|device').value, '120');

  taken = mergeVitals(newest, [bp('125', 3)]);
  assert.deepEqual(taken.map((v) => v.value), ['125']);
  assert.equal(newest.get('8480-6|cuff-1|device').value, '125');

  // Another device and a typed value are kept beside it.
  mergeVitals(newest, [bp('140', 1, { deviceId: 'cuff-2' }), bp('118', 1, { source: 'patient-entered', deviceId: '' })]);
  assert.equal(newest.size, 3);

  // One message with two readings of the same key: the newer wins, whatever the order.
  const m = new Map();
  mergeVitals(m, [bp('150', 10), bp('110', 2)]);
  assert.equal(m.get('8480-6|cuff-1|device').value, '150');
});

test('mergeVitals: the same reading again is not news; as old but different replaces', () => {
  const newest = new Map();
  mergeVitals(newest, [bp('120', 0)]);
  assert.equal(mergeVitals(newest, [bp('120', 0)]).length, 0);
  const taken = mergeVitals(newest, [bp('121', 0, { flag: 'implausible jump' })]);
  assert.equal(taken.length, 1);
  assert.equal(newest.get('8480-6|cuff-1|device').flag, 'implausible jump');
});

test('mergeVitals keeps the value string exactly and skips malformed entries', () => {
  const newest = new Map();
  const taken = mergeVitals(newest, [
    { code: '8310-5', value: '37.60', unit: 'Cel', at: at(0), source: 'device' },
    { code: '', value: '1', unit: '', at: at(0) },
    { code: '8867-4', value: '70', unit: '/min', at: 'yesterday' },
    null,
    'x',
  ]);
  assert.equal(taken.length, 1);
  assert.equal([...newest.values()][0].value, '37.60');
  assert.equal(mergeVitals(newest, undefined).length, 0);
  assert.equal(mergeVitals(newest, { vitals: [] }).length, 0);
});

test('unitText and valueWithUnit write units as people do', () => {
  const tests = [
    ['mm[Hg]', 'mmHg', '120', '120 mmHg'],
    ['Cel', '°C', '37.60', '37.60 °C'],
    ['[degF]', '°F', '99.5', '99.5 °F'],
    ['/min', '/min', '72', '72/min'],
    ['%', '%', '97', '97%'],
    ['kg', 'kg', '81.4', '81.4 kg'],
    ['[lb_av]', 'lb', '180', '180 lb'],
    ['mmol/L', 'mmol/L', '6.2', '6.2 mmol/L'],
    ['mg/dL', 'mg/dL', '110', '110 mg/dL'],
    ['kg/m2', 'kg/m²', '24.1', '24.1 kg/m²'],
    ['{odd}', '{odd}', '1', '1 {odd}'],
    ['', '', '5', '5'],
  ];
  for (const [ucum, unit, value, both] of tests) {
    assert.equal(unitText(ucum), unit, ucum);
    assert.equal(valueWithUnit(value, ucum), both, ucum);
  }
});

test('codeName gives plain names, the code when unknown', () => {
  assert.equal(codeName('8480-6'), 'Systolic blood pressure');
  assert.equal(codeName('8462-4'), 'Diastolic blood pressure');
  assert.equal(codeName('8867-4'), 'Pulse / heart rate');
  assert.equal(codeName('59408-5'), 'Oxygen saturation (SpO2)');
  assert.equal(codeName('8310-5'), 'Body temperature');
  for (const c of ['2339-0', '41653-7', '14743-9', '15074-8']) assert.equal(codeName(c), 'Blood glucose');
  assert.equal(codeName('12345-6'), '12345-6');
  assert.equal(codeName('29463-7', vitalsStrings.da), 'Vægt');
  assert.equal(vitalsWords({ search: '?lang=da' }).heading, 'Hjemmemålinger');
  assert.equal(vitalsWords({ language: 'en-US' }).heading, 'Home measurements');
});

test('every language has every word', () => {
  const keys = (o, p = '') =>
    Object.entries(o).flatMap(([k, v]) => (v && typeof v === 'object' ? keys(v, p + k + '.') : [p + k])).sort();
  assert.deepEqual(keys(vitalsStrings.da), keys(vitalsStrings.en));
});

test('trendDirection compares with the last earlier value', () => {
  assert.equal(trendDirection(['120', '130'], '135'), 'up');
  assert.equal(trendDirection(['140', '130'], '128'), 'down');
  assert.equal(trendDirection(['37.6'], '37.60'), 'flat');
  assert.equal(trendDirection([], '120'), '');
  assert.equal(trendDirection(undefined, '120'), '');
  assert.equal(trendDirection(['120'], ''), '');
  assert.equal(trendDirection(['x'], '120'), '');
});

test('sparkPoints scales the values into the box', () => {
  assert.equal(sparkPoints(['1'], 60, 20), '');
  assert.equal(sparkPoints(['1', 'x'], 60, 20), '');
  assert.equal(sparkPoints(['10', '20'], 60, 20), '2,18 58,2');
  assert.equal(sparkPoints(['5', '5', '5'], 60, 20), '2,10 30,10 58,10');
});

test('sortVitals follows the code order, newest first within a code', () => {
  const list = sortVitals([
    { code: '99999-9', at: at(0) },
    { code: '8310-5', at: at(0) },
    { code: '8462-4', at: at(0) },
    { code: '8480-6', at: at(0) },
    { code: '8480-6', at: at(5) },
  ]);
  assert.deepEqual(list.map((v) => v.code + '@' + v.at.slice(11, 16)), [
    '8480-6@08:05',
    '8480-6@08:00',
    '8462-4@08:00',
    '8310-5@08:00',
    '99999-9@08:00',
  ]);
});

test('requests name a kit device, and readings answer them', () => {
  assert.deepEqual(
    Requestable.map((r) => `${r.code} ${r.deviceType}`),
    ['8480-6 blood-pressure', '59408-5 pulse-oximeter', '8310-5 thermometer', '29463-7 scale', '41653-7 glucose-meter', '8867-4 heart-rate'],
  );
  for (const d of Requestable) assert.ok(vitalsStrings.en.card.devices[d.deviceType], d.deviceType);
  assert.equal(deviceTypeFor('8462-4'), 'blood-pressure');
  assert.equal(deviceTypeFor('2339-0'), 'glucose-meter');
  assert.equal(deviceTypeFor('1-1'), '');
  assert.ok(answers({ code: '8480-6' }, '8480-6'));
  assert.ok(answers({ code: '8462-4' }, '8480-6'), 'a diastolic value answers a blood pressure request');
  assert.ok(answers({ code: '2339-0' }, '41653-7'));
  assert.ok(!answers({ code: '8867-4' }, '8480-6'), 'the cuff’s pulse is no blood pressure');
  assert.ok(!answers({ code: '8310-5' }, '8480-6'));
});
