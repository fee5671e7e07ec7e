import { test } from 'node:test';
import assert from 'node:assert/strict';

import { nearestIndex, trendGeometry, trendWords, valueText } from '../static/trend.js';

const day = 24 * 3600 * 1000;
const from = Date.parse('2026-11-01T00:00:00Z');
const to = from + 30 * day;
const pt = (d, value, extra = {}) => ({ at: new Date(from + d * day).toISOString(), value, min: value, max: value, n: 1, source: 'bluetooth', ...extra });

test('time runs across and values up; the limits are in view', () => {
  const g = trendGeometry([pt(0, 60), pt(15, 80), pt(30, 100)], { width: 300, height: 100, from, to, low: 50, high: 90 });
  assert.deepEqual(g.line.map(([x]) => x), [0, 150, 300]);
  const ys = g.line.map(([, y]) => y);
  assert.ok(ys[0] > ys[1] && ys[1] > ys[2], `higher values higher up: ${ys}`);
  assert.ok(g.lowY > ys[0] && g.highY < ys[1] && g.highY > ys[2], `limits where they belong: low ${g.lowY}, high ${g.highY}, ${ys}`);
  assert.ok(g.lo <= 50 && g.hi >= 100, 'the scale takes in the points and the limits');
  for (const [, y] of g.line) assert.ok(y >= 0 && y <= 100, `inside the box: ${y}`);
});

test('blood pressure draws two lines, and a stretch with several values its range', () => {
  const g = trendGeometry([pt(1, 140, { value2: 90, min: 80, max: 140, n: 2 }), pt(2, 120, { value2: 80 })], { width: 100, height: 50, from, to });
  assert.equal(g.line2.length, 2);
  assert.ok(g.line2[0][1] > g.line[0][1], 'diastolic below systolic');
  assert.equal(g.ranges.length, 1);
  assert.equal(g.lowY, null);
});

test('one value or none still makes a scale', () => {
  const g = trendGeometry([pt(3, 37)], { width: 100, height: 50, from, to });
  assert.ok(Number.isFinite(g.line[0][1]) && g.hi > g.lo);
  assert.deepEqual(trendGeometry([], { width: 100, height: 50, from, to }).line, []);
});

test('the nearest point to where one points', () => {
  const line = [[0, 5], [50, 5], [100, 5]];
  assert.equal(nearestIndex(line, 20), 0);
  assert.equal(nearestIndex(line, 30), 1);
  assert.equal(nearestIndex(line, 1000), 2);
  assert.equal(nearestIndex([], 3), -1);
});

test('values read as numbers, blood pressure as a pair; both languages have every word', () => {
  const nf = new Intl.NumberFormat('da-DK', { maximumFractionDigits: 1 });
  assert.equal(valueText(pt(0, 37.25), nf), '37,3');
  assert.equal(valueText(pt(0, 140, { value2: 90 }), nf), '140/90');
  assert.deepEqual(Object.keys(trendWords.da).sort(), Object.keys(trendWords.en).sort());
});
