import { test } from 'node:test';
import assert from 'node:assert/strict';

import { LimitQuantities, limitsBody, news2Words, strings } from '../static/patient-text.js';

test('the limits form: empty rows dropped, a comma read as the point, numbers that are not refused by name', () => {
  assert.deepEqual(
    limitsBody([
      { code: '8310-5', unit: 'Cel', low: '35,5', high: ' 37.5 ' },
      { code: '8480-6', unit: 'mm[Hg]', low: '', high: '160' },
      { code: '8867-4', unit: '/min', low: '', high: '' },
    ]),
    [
      { code: '8310-5', unit: 'Cel', low: 35.5, high: 37.5 },
      { code: '8480-6', unit: 'mm[Hg]', high: 160 },
    ],
  );
  assert.deepEqual(limitsBody([{ code: '8310-5', unit: 'Cel', low: 'høj', high: '' }]), { bad: '8310-5 low' });
});

test('every quantity has a unit, and both languages have every word', () => {
  for (const [code, unit] of LimitQuantities) assert.ok(code && unit);
  assert.deepEqual(Object.keys(strings.da.text).sort(), Object.keys(strings.en.text).sort());
  assert.deepEqual(Object.keys(strings.da).sort(), Object.keys(strings.en).sort());
  assert.deepEqual(Object.keys(news2Words.da.parameters).sort(), Object.keys(news2Words.en.parameters).sort());
  assert.deepEqual(Object.keys(news2Words.da.status).sort(), Object.keys(news2Words.en.status).sort());
});
