import { test } from 'node:test';
import assert from 'node:assert/strict';

import { barLayout } from '../static/bars.js';
import {
  Figures,
  Groupings,
  cellText,
  clinicToday,
  daysBetween,
  durationText,
  groupName,
  isDate,
  queryFromState,
  quickPeriod,
  quickPeriodsOf,
  stateFromQuery,
  stateProblem,
  statsPath,
} from '../static/review-state.js';
import { strings } from '../static/review-text.js';

test('the address gives the state, and the state the address', () => {
  const today = '2026-03-15';
  const cases = [
    { search: '?from=2026-01-01&to=2026-01-31&by=clinician', want: { from: '2026-01-01', to: '2026-01-31', by: 'clinician' } },
    // Nothing asked: the last 12 months by month.
    { search: '', want: { from: '2025-04-01', to: '2026-03-15', by: 'month' } },
    // Not dates, or an unknown grouping: the defaults for those.
    { search: '?from=2026-02-30&to=yesterday&by=patient', want: { from: '2025-04-01', to: '2026-03-15', by: 'month' } },
    { search: '?by=week&lang=da', want: { from: '2025-04-01', to: '2026-03-15', by: 'week' } },
  ];
  for (const c of cases) {
    assert.deepEqual(stateFromQuery(c.search, today), c.want, c.search);
    // Round trip: the address the page writes gives the same state again.
    assert.deepEqual(stateFromQuery(queryFromState(c.want, c.search), today), c.want, c.search);
  }
  for (const by of Groupings) {
    const st = { from: '2026-01-01', to: '2026-01-31', by };
    assert.deepEqual(stateFromQuery(queryFromState(st), today), st);
  }
});

test('the address keeps the language and drops an old format', () => {
  const q = queryFromState({ from: '2026-01-01', to: '2026-01-31', by: 'week' }, '?lang=da&from=2025-01-01&format=csv');
  assert.equal(q, '?from=2026-01-01&to=2026-01-31&by=week&lang=da');
});

test('the API paths for the figures and the CSV export', () => {
  const st = { from: '2026-01-01', to: '2026-01-31', by: 'type' };
  assert.equal(statsPath(st), '/api/v1/stats?from=2026-01-01&to=2026-01-31&by=type');
  assert.equal(statsPath(st, 'csv'), '/api/v1/stats?from=2026-01-01&to=2026-01-31&by=type&format=csv');
});

test('quick periods', () => {
  const cases = [
    { name: 'lastMonth', today: '2026-03-15', want: { from: '2026-02-01', to: '2026-02-28' } },
    { name: 'lastMonth', today: '2024-03-31', want: { from: '2024-02-01', to: '2024-02-29' } },
    { name: 'lastMonth', today: '2026-01-05', want: { from: '2025-12-01', to: '2025-12-31' } },
    { name: 'thisYear', today: '2026-03-15', want: { from: '2026-01-01', to: '2026-03-15' } },
    { name: 'last12Months', today: '2026-03-15', want: { from: '2025-04-01', to: '2026-03-15' } },
    { name: 'last12Months', today: '2026-12-31', want: { from: '2026-01-01', to: '2026-12-31' } },
  ];
  for (const c of cases) {
    const got = quickPeriod(c.name, c.today);
    assert.deepEqual(got, c.want, `${c.name} at ${c.today}`);
    // Every quick period is one the API answers.
    assert.equal(stateProblem({ ...got, by: 'month' }), null, `${c.name} at ${c.today}`);
    assert.ok(quickPeriodsOf({ ...got, by: 'week' }, c.today).includes(c.name), `${c.name} at ${c.today}`);
  }
  assert.deepEqual(quickPeriodsOf({ from: '2026-01-02', to: '2026-03-15', by: 'week' }, '2026-03-15'), []);
  assert.deepEqual(quickPeriodsOf({ from: '2026-01-01', to: '2026-12-31', by: 'week' }, '2026-12-31'), ['thisYear', 'last12Months']);
  assert.throws(() => quickPeriod('lastWeek', '2026-03-15'), /lastWeek/);
});

test('the day in the clinic’s zone', () => {
  // 23:30 UTC on 31 March is 1 April in Copenhagen (summer time, UTC+2).
  assert.equal(clinicToday(new Date('2026-03-31T23:30:00Z')), '2026-04-01');
  assert.equal(clinicToday(new Date('2026-01-15T12:00:00Z')), '2026-01-15');
});

test('what is wrong with a period, by field', () => {
  assert.equal(isDate('2024-02-29'), true);
  assert.equal(isDate('2025-02-29'), false);
  assert.equal(daysBetween('2026-01-01', '2026-01-01'), 1);
  assert.equal(daysBetween('2025-01-01', '2025-12-31'), 365);
  const cases = [
    { st: { from: '', to: '2026-01-01' }, want: { field: 'from', why: 'date' } },
    { st: { from: '2026-01-01', to: '2026-13-01' }, want: { field: 'to', why: 'date' } },
    { st: { from: '2026-02-01', to: '2026-01-31' }, want: { field: 'to', why: 'order' } },
    { st: { from: '2025-01-01', to: '2026-01-01' }, want: null }, // 366 days
    { st: { from: '2025-01-01', to: '2026-01-02' }, want: { field: 'to', why: 'long' } },
  ];
  for (const c of cases) assert.deepEqual(stateProblem({ ...c.st, by: 'month' }), c.want, JSON.stringify(c.st));
});

const fig = (/** @type {string} */ key) => Figures.find((f) => f.key === key);

test('suppressed figures read "fewer than 5", in both languages', () => {
  const g = { booked: 12, held: null, cancelled: null, noShows: 0, waitMedianSeconds: null, suppressedFields: ['held', 'cancelled'] };
  for (const [lang, want] of [
    ['en', 'fewer than 5'],
    ['da', 'færre end 5'],
  ]) {
    const t = strings[lang];
    const w = { locale: t.locale, fewer: t.fewer, none: t.none, min: t.min, sec: t.sec, ms: t.ms };
    assert.deepEqual(cellText(g, fig('held'), w, 5), { state: 'suppressed', text: want });
    assert.deepEqual(cellText(g, fig('cancelled'), w, 5), { state: 'suppressed', text: want });
    // Zero names nobody and is shown; an unknown figure is none.
    assert.deepEqual(cellText(g, fig('noShows'), w, 5), { state: 'value', text: '0' });
    assert.deepEqual(cellText(g, fig('waitMedianSeconds'), w, 5), { state: 'none', text: '–' });
  }
});

test('figures in their units', () => {
  const t = strings.en;
  const w = { locale: t.locale, fewer: t.fewer, none: t.none, min: t.min, sec: t.sec, ms: t.ms };
  const g = {
    booked: 1234,
    waitMedianSeconds: 245,
    lengthP90Seconds: 1200,
    measuredShare: 0.8333,
    readingsPerPatient: 7.25,
    rttMsMedian: 41.6,
    lossPctMedian: 0.25,
    suppressedFields: [],
  };
  const cases = [
    ['booked', '1,234'],
    ['waitMedianSeconds', '4 min 5 s'],
    ['lengthP90Seconds', '20 min'],
    ['measuredShare', '83%'],
    ['readingsPerPatient', '7.3'],
    ['rttMsMedian', '42 ms'],
    ['lossPctMedian', '0.3 %'],
  ];
  for (const [key, want] of cases) assert.equal(cellText(g, fig(key), w, 5).text, want, key);
  assert.equal(durationText(45, w), '45 s');
  assert.equal(durationText(0, w), '0 s');
  const da = strings.da;
  assert.equal(cellText({ booked: 1234 }, fig('booked'), { ...w, locale: da.locale }, 5).text, '1.234');
});

test('group names', () => {
  const en = { lang: 'en', locale: 'en-GB', week: strings.en.weekName };
  const da = { lang: 'da', locale: 'da-DK', week: strings.da.weekName };
  assert.equal(groupName({ key: 'cardio', label: 'Kardiologi', names: { da: 'Kardiologi', en: 'Cardiology' } }, 'department', en), 'Cardiology');
  assert.equal(groupName({ key: 'cardio', label: 'Kardiologi', names: { da: 'Kardiologi' } }, 'department', en), 'Kardiologi');
  assert.equal(groupName({ key: 'c1', label: 'Dr. Anna Holm' }, 'clinician', da), 'Dr. Anna Holm');
  assert.equal(groupName({ key: '2026-W03', label: '2026-W03' }, 'week', en), 'Week 3, 2026');
  assert.equal(groupName({ key: '2026-W03', label: '2026-W03' }, 'week', da), 'Uge 3, 2026');
  assert.equal(groupName({ key: '2026-03', label: '2026-03' }, 'month', en), 'March 2026');
});

test('stacked bars: segments end to end, the largest sum fills the plot', () => {
  const rows = [
    { label: 'A', values: [10, 5, 5] },
    { label: 'B', values: [5, null, 0] }, // suppressed: no segment; zero: no segment
  ];
  const l = barLayout(rows, { series: 3, stacked: true, width: 200, barHeight: 10, labelHeight: 20, gap: 10 });
  assert.equal(l.max, 20);
  assert.equal(l.plotWidth, 200);
  assert.deepEqual(
    l.rows[0].bars.map((b) => [b.series, b.x, b.width, b.y, b.height]),
    [
      [0, 0, 100, 20, 10],
      [1, 100, 50, 20, 10],
      [2, 150, 50, 20, 10],
    ],
  );
  assert.deepEqual(l.rows[1].bars.map((b) => [b.series, b.x, b.width, b.y]), [[0, 0, 50, 60]]);
  assert.equal(l.height, 2 * 30 + 10);
  assert.equal(l.rows[1].labelY, 40 + 20 - 5);
});

test('grouped bars: one per series, texts after them, a small value still shows', () => {
  const rows = [
    { label: 'A', values: [60, 600], texts: ['1 min', '10 min'] },
    { label: 'B', values: [1, null], texts: ['1 s', 'fewer than 5'] },
  ];
  const l = barLayout(rows, { series: 2, stacked: false, width: 300, barHeight: 10, labelHeight: 20, gap: 0, valueRoom: 100 });
  assert.equal(l.max, 600);
  assert.equal(l.plotWidth, 200);
  assert.deepEqual(
    l.rows[0].bars.map((b) => [b.series, b.y, Math.round(b.width * 10) / 10]),
    [
      [0, 20, 20],
      [1, 30, 200],
    ],
  );
  assert.deepEqual(l.rows[0].texts.map((x) => [x.text, Math.round(x.x)]), [
    ['1 min', 24],
    ['10 min', 204],
  ]);
  // 1 of 600 would be 0.33 units: drawn 1 wide. The suppressed one has no bar, but its words.
  assert.deepEqual(l.rows[1].bars.map((b) => [b.series, b.width]), [[0, 1]]);
  assert.deepEqual(l.rows[1].texts.map((x) => [x.text, x.x]), [
    ['1 s', 5],
    ['fewer than 5', 0],
  ]);
});

test('bars with nothing to draw', () => {
  const l = barLayout([{ label: 'A', values: [0, null, 0] }], { series: 3, stacked: true });
  assert.equal(l.max, 0);
  assert.deepEqual(l.rows[0].bars, []);
  assert.equal(barLayout([], { series: 2, stacked: false }).height, 0);
});

test('every figure and grouping has words in both languages', () => {
  for (const lang of ['en', 'da']) {
    const t = strings[lang];
    for (const f of Figures) assert.ok(t.columns[f.key], `${lang}: column ${f.key}`);
    for (const g of Groupings) assert.ok(t.text[g], `${lang}: grouping ${g}`);
    assert.deepEqual(Object.keys(t.text).sort(), Object.keys(strings.en.text).sort(), lang);
  }
});
