import { test } from 'node:test';
import assert from 'node:assert/strict';

import { calendarDays, daysSince, joinNames, news2Text, reasonTexts, rowHref, urgencyClass } from '../static/triage-view.js';
import { strings } from '../static/triage-text.js';
import { vitalsStrings } from '../static/vitals.js';

const en = strings.en;
const da = strings.da;
const now = new Date(2026, 2, 10, 9, 0); // local 10 March 09:00

/** @param {object} over */
function entry(over) {
  return {
    patientId: 'p1', name: 'Karen Jensen', next: null, previous: null,
    flagged: { count: 0, newest: null },
    news2: { total: 0, scored: 0, of: 7, redScore: false, risk: 'unscored' },
    missingExpected: [], lastReadingAt: now.toISOString(), group: 5, reasons: [],
    ...over,
  };
}

test('readings outside limits are counted in words, with the newest value', () => {
  const e = entry({ group: 2, reasons: ['flagged'], flagged: { count: 2, newest: { code: '8310-5', value: '38.4', unit: 'Cel', outside: 'above', at: '' } } });
  assert.deepEqual(reasonTexts(e, en, vitalsStrings.en, now), ['2 readings outside limits (newest: Body temperature 38.4 °C, above limit)']);
  assert.deepEqual(reasonTexts(e, da, vitalsStrings.da, now), ['2 målinger uden for grænserne (nyeste: Kropstemperatur 38.4 °C, over grænsen)']);
  assert.equal(reasonTexts(entry({ reasons: ['flagged'], flagged: { count: 1, newest: null } }), en, vitalsStrings.en, now)[0], '1 reading outside limits');
});

test('NEWS2 is said once, with band, parameters counted and red parameters named', () => {
  const e = entry({ group: 1, reasons: ['news2-red', 'news2-high'], news2: { total: 7, scored: 4, of: 7, redScore: true, redParameters: ['spo2', 'pulse'], risk: 'high' } });
  assert.deepEqual(reasonTexts(e, en, vitalsStrings.en, now), ['NEWS2 partial 7 (high), 4 of 7 parameters; a single parameter scores 3: oxygen saturation and pulse']);
  assert.equal(news2Text({ total: 5, scored: 4, of: 7, redScore: false, risk: 'medium' }, en), 'NEWS2 partial 5 (medium), 4 of 7 parameters');
  assert.equal(news2Text({ total: 5, scored: 4, of: 7, redScore: false, risk: 'medium' }, da), 'NEWS2 delvis 5 (middel), 4 af 7 parametre');
});

test("missing measurements name the visit's day", () => {
  const tomorrow = new Date(2026, 2, 11, 8, 30).toISOString();
  const today = new Date(2026, 2, 10, 15, 0).toISOString();
  const e = entry({ group: 4, reasons: ['expected-missing'], missingExpected: ['29463-7'], next: { id: 'a1', start: tomorrow } });
  assert.deepEqual(reasonTexts(e, en, vitalsStrings.en, now), ["Body weight expected before tomorrow's visit: not received"]);
  assert.deepEqual(reasonTexts({ ...e, next: { id: 'a1', start: today }, missingExpected: ['29463-7', '8867-4'] }, en, vitalsStrings.en, now),
    ["Body weight and Pulse / heart rate expected before today's visit: not received"]);
  assert.deepEqual(reasonTexts(e, da, vitalsStrings.da, now), ['Vægt forventet før morgendagens besøg: ikke modtaget']);
});

test('time since the last reading, never read, and nothing outstanding', () => {
  const nine = new Date(now.getTime() - 9 * 24 * 3600e3 - 3600e3).toISOString();
  assert.deepEqual(reasonTexts(entry({ reasons: ['quiet'], lastReadingAt: nine }), en, vitalsStrings.en, now), ['No reading for 9 days']);
  assert.deepEqual(reasonTexts(entry({ reasons: ['quiet'], lastReadingAt: null }), da, vitalsStrings.da, now), ['Ingen målinger endnu']);
  assert.deepEqual(reasonTexts(entry({}), en, vitalsStrings.en, now), ['Nothing outstanding in the home readings']);
  assert.equal(daysSince(nine, now), 9);
});

test('rows lead to the next visit or the day list; urgency class follows the group', () => {
  assert.equal(rowHref(entry({ patientId: 'p 1', next: { id: 'ap 1', start: '' } })), '/patients/p%201');
  assert.equal(urgencyClass(entry({ group: 1 })), 'is-urgent');
  assert.equal(urgencyClass(entry({ group: 5 })), '');
});

test('helpers', () => {
  assert.equal(joinNames(['A', 'B', 'C'], ' and '), 'A, B and C');
  assert.equal(joinNames(['A'], ' og '), 'A');
  assert.equal(calendarDays(new Date(2026, 2, 10, 23, 0), new Date(2026, 2, 11, 0, 30)), 1);
});

test('both languages have the same words', () => {
  const keys = (o, p = '') => Object.entries(o).flatMap(([k, v]) => (v && typeof v === 'object' ? keys(v, p + k + '.') : [p + k])).sort();
  assert.deepEqual(keys(da), keys(en));
});
