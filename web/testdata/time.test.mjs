// Copenhagen: CET (+01:00) in winter, CEST (+02:00) from the last Sunday of
// March (2025-03-30, 02:00 -> 03:00) to the last Sunday of October (2025-10-26,
// 03:00 -> 02:00). Set before any Date is made; node reads TZ on change.
process.env.TZ = 'Europe/Copenhagen';

const { test } = await import('node:test');
const { default: assert } = await import('node:assert/strict');
const T = await import('../static/time.js');

const hours = (a, b) => (b.getTime() - a.getTime()) / 3600000;

test('rfc3339 writes local time with its offset', () => {
  assert.equal(T.rfc3339(new Date(2025, 0, 15, 9, 5, 7)), '2025-01-15T09:05:07+01:00');
  assert.equal(T.rfc3339(new Date(2025, 6, 1)), '2025-07-01T00:00:00+02:00');
  assert.equal(T.rfc3339(new Date('2025-03-30T01:30:00Z')), '2025-03-30T03:30:00+02:00');
});

test('a day runs from local midnight to the next, 23 or 25 hours across daylight saving', () => {
  const tests = [
    { name: 'ordinary', at: new Date(2025, 5, 3, 14, 0), from: '2025-06-03T00:00:00+02:00', to: '2025-06-04T00:00:00+02:00', h: 24 },
    { name: 'spring forward', at: new Date(2025, 2, 30, 12, 0), from: '2025-03-30T00:00:00+01:00', to: '2025-03-31T00:00:00+02:00', h: 23 },
    { name: 'fall back', at: new Date(2025, 9, 26, 23, 59), from: '2025-10-26T00:00:00+02:00', to: '2025-10-27T00:00:00+01:00', h: 25 },
    { name: 'just after midnight', at: new Date(2025, 5, 3, 0, 0, 1), from: '2025-06-03T00:00:00+02:00', to: '2025-06-04T00:00:00+02:00', h: 24 },
  ];
  for (const tt of tests) {
    const { from, to } = T.dayRange(tt.at);
    assert.equal(T.rfc3339(from), tt.from, tt.name);
    assert.equal(T.rfc3339(to), tt.to, tt.name);
    assert.equal(hours(from, to), tt.h, tt.name);
  }
});

test('a week runs Monday to Monday, local time', () => {
  const tests = [
    { name: 'a Wednesday', at: new Date(2025, 5, 4, 10), from: '2025-06-02T00:00:00+02:00', to: '2025-06-09T00:00:00+02:00' },
    { name: 'a Monday at midnight', at: new Date(2025, 5, 2), from: '2025-06-02T00:00:00+02:00', to: '2025-06-09T00:00:00+02:00' },
    { name: 'a Sunday night', at: new Date(2025, 5, 8, 23, 59), from: '2025-06-02T00:00:00+02:00', to: '2025-06-09T00:00:00+02:00' },
    { name: 'across the spring change', at: new Date(2025, 2, 30, 12), from: '2025-03-24T00:00:00+01:00', to: '2025-03-31T00:00:00+02:00' },
    { name: 'across the year', at: new Date(2026, 0, 1, 8), from: '2025-12-29T00:00:00+01:00', to: '2026-01-05T00:00:00+01:00' },
  ];
  for (const tt of tests) {
    const w = T.weekRange(tt.at);
    assert.equal(T.rfc3339(w.from), tt.from, tt.name);
    assert.equal(T.rfc3339(w.to), tt.to, tt.name);
    assert.equal(w.days.length, 7, tt.name);
    assert.equal(w.days[0].getDay(), 1, tt.name);
    assert.equal(w.days[6].getDay(), 0, tt.name);
    for (const d of w.days) assert.equal(d.getHours() + d.getMinutes(), 0, `${tt.name}: ${d}`);
  }
});

test('input values round-trip in local time, and nonsense is refused', () => {
  const d = new Date(2025, 2, 30, 10, 30);
  assert.equal(T.dateValue(d), '2025-03-30');
  assert.equal(T.dateTimeValue(d), '2025-03-30T10:30');
  assert.equal(T.fromInputValue('2025-03-30T10:30').getTime(), d.getTime());
  assert.equal(T.fromInputValue('2025-03-30').getTime(), new Date(2025, 2, 30).getTime());
  for (const bad of ['', '2025-02-30', '2025-13-01', 'tomorrow', '2025-3-3']) assert.equal(T.fromInputValue(bad), null, bad);
});

test('parseTime reads the API times and refuses others', () => {
  assert.equal(T.parseTime('2025-06-03T08:30:00Z').getTime(), Date.UTC(2025, 5, 3, 8, 30));
  assert.equal(T.parseTime('nope'), null);
  assert.equal(T.parseTime(''), null);
  assert.equal(T.parseTime(undefined), null);
});

test('formatting is local, 24-hour, in the page language', () => {
  const d = T.parseTime('2025-06-03T08:30:00Z'); // 10:30 in Copenhagen
  assert.equal(T.formatTime(d, 'en-GB'), '10:30');
  assert.equal(T.formatTime(d, 'da-DK'), '10.30');
  assert.equal(T.formatSpan(d, T.parseTime('2025-06-03T08:50:00Z'), 'en-GB'), '10:30–10:50');
  assert.equal(T.formatDay(d, 'en-GB'), 'Tuesday 3 June');
  assert.match(T.formatDay(d, 'da-DK'), /^tirsdag (den )?3\. juni$/); // ICU versions differ on "den"
  assert.equal(T.formatTime(T.parseTime('2025-06-03T22:05:00Z'), 'en-GB'), '00:05');
});

test('the zone label names the zone and its short name for the date', () => {
  assert.equal(T.zoneLabel('en-GB', new Date(2025, 0, 1)), 'Europe/Copenhagen (CET)');
  assert.equal(T.zoneLabel('en-GB', new Date(2025, 6, 1)), 'Europe/Copenhagen (CEST)');
});

test('sameDay and minutesBetween', () => {
  assert.ok(T.sameDay(new Date(2025, 5, 3, 0, 0), new Date(2025, 5, 3, 23, 59)));
  assert.ok(!T.sameDay(new Date(2025, 5, 3, 23, 59), new Date(2025, 5, 4, 0, 0)));
  assert.equal(T.minutesBetween(new Date(2025, 2, 30, 1, 0), new Date(2025, 2, 30, 4, 0)), 120);
});

test('isoWeek numbers weeks as Danish calendars do', () => {
  const tests = [
    [new Date(2025, 0, 1), 1],
    [new Date(2024, 11, 30), 1], // Monday of 2025's week 1
    [new Date(2021, 0, 3), 53], // Sunday in 2020's week 53
    [new Date(2025, 2, 30, 23), 13], // the spring change
    [new Date(2025, 5, 4), 23],
    [new Date(2026, 11, 31), 53],
    [new Date(2027, 0, 4), 1],
  ];
  for (const [d, want] of tests) assert.equal(T.isoWeek(d), want, d.toDateString());
});

test('localizeTimes puts a server message in local time', () => {
  assert.equal(
    T.localizeTimes('the clinician is busy from 2026-11-30T07:00:00Z to 2026-11-30T07:10:00Z (buffers included)', 'en-GB'),
    'the clinician is busy from Mon 30 Nov 08:00 to Mon 30 Nov 08:10 (buffers included)',
  );
  assert.equal(T.localizeTimes('starts 2025-06-03T10:30:00.5+02:00.', 'en-GB'), 'starts Tue 3 Jun 10:30.');
  assert.equal(T.localizeTimes('no times here: 2025-06-03', 'en-GB'), 'no times here: 2025-06-03');
  assert.equal(T.localizeTimes(undefined, 'en-GB'), '');
});
