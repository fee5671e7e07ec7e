import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  expectedBody,
  ExpectedChoices,
  expectedName,
  expectedStrings,
  expectedWords,
  hides,
  parseExpected,
  refreshMillis,
  startOfDay,
} from '../static/expected.js';
import { APIError } from '../static/api.js';
import { vitalsStrings } from '../static/vitals.js';

test('the editor offers blood pressure, SpO2, temperature, weight, glucose and pulse', () => {
  assert.deepEqual(ExpectedChoices, ['8480-6', '59408-5', '8310-5', '29463-7', '41653-7', '8867-4']);
  assert.equal(refreshMillis, 300000);
});

test('parseExpected keeps code and arrived, skips malformed entries', () => {
  assert.deepEqual(
    parseExpected({
      expected: [
        { code: '8480-6', arrived: true },
        { code: '59408-5', arrived: false },
        { code: '8310-5' },
        { code: '' },
        null,
        { arrived: true },
        { code: '29463-7', arrived: 'yes' },
      ],
    }),
    [
      { code: '8480-6', arrived: true },
      { code: '59408-5', arrived: false },
      { code: '8310-5', arrived: false },
      { code: '29463-7', arrived: false },
    ],
  );
  assert.deepEqual(parseExpected(null), []);
  assert.deepEqual(parseExpected({}), []);
  assert.deepEqual(parseExpected({ expected: 'x' }), []);
});

test('startOfDay is local midnight, as RFC 3339', () => {
  const now = new Date(2026, 10, 26, 14, 35, 12);
  const s = startOfDay(now);
  assert.match(s, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  const d = new Date(s);
  assert.equal(d.getFullYear(), 2026);
  assert.equal(d.getMonth(), 10);
  assert.equal(d.getDate(), 26);
  assert.equal(d.getHours(), 0);
  assert.equal(d.getMinutes(), 0);
  assert.equal(startOfDay(new Date(2026, 10, 26, 0, 0, 0)), s);
  assert.equal(startOfDay(new Date(2026, 10, 26, 23, 59, 59)), s);
});

test('expectedName: plain names from the vitals panel, blood pressure as a whole', () => {
  assert.equal(expectedName('8480-6'), 'Blood pressure');
  assert.equal(expectedName('59408-5'), 'Oxygen saturation (SpO2)');
  assert.equal(expectedName('41653-7'), 'Blood glucose');
  assert.equal(expectedName('8867-4'), 'Pulse / heart rate');
  assert.equal(expectedName('8480-6', vitalsStrings.da), 'Blodtryk');
  assert.equal(expectedName('1234-5'), '1234-5');
});

test('hides on 401, 403 and 404, not on other failures', () => {
  assert.equal(hides(new APIError(404, 'not found')), true);
  assert.equal(hides(new APIError(403, 'forbidden')), true);
  assert.equal(hides(new APIError(401, 'unauthorized')), true);
  assert.equal(hides(new APIError(500, 'oops')), false);
  assert.equal(hides(new APIError(0, '')), false);
  assert.equal(hides(null), false);
});

test('expectedBody: the patient and the codes in the editor order', () => {
  assert.deepEqual(expectedBody('pat-1', ['8867-4', '8480-6', '59408-5']), {
    patientId: 'pat-1',
    codes: ['8480-6', '59408-5', '8867-4'],
  });
  assert.deepEqual(expectedBody('pat-1', []), { patientId: 'pat-1', codes: [] });
  assert.deepEqual(expectedBody('p', new Set(['9999-9', '8310-5'])).codes, ['8310-5', '9999-9']);
});

test('the words exist in English and Danish alike', () => {
  assert.deepEqual(Object.keys(expectedStrings.da).sort(), Object.keys(expectedStrings.en).sort());
  assert.equal(expectedWords({ search: '?lang=da' }).heading, 'Forventet i dag');
  assert.equal(expectedWords({ search: '', language: 'en-GB' }).heading, 'Expected today');
});
