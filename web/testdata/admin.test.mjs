import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  clockValue,
  departmentId,
  ExpectableCodes,
  minutesText,
  parseReminders,
  parseSpans,
  remindersText,
  settingsBody,
  settingsForm,
  settingsProblemFields,
  spansText,
  typeBody,
  typeForm,
  typeProblemFields,
  Weekdays,
  wholeNumber,
} from '../static/admin-form.js';
import { strings } from '../static/admin-text.js';

/** The settings as GET /api/v1/settings gives them. */
const settings = {
  name: 'Lægehuset',
  phone: '+4512345678',
  language: 'da',
  reminders: ['24h', '1h'],
  hours: {
    monday: [{ open: '08:00', close: '12:00' }, { open: '12:30', close: '15:30' }],
    tuesday: [{ open: '08:00', close: '15:30' }],
    wednesday: [{ open: '08:00', close: '15:30' }],
    thursday: [{ open: '08:00', close: '15:30' }],
    friday: [{ open: '08:00', close: '14:00' }],
    saturday: [],
    sunday: [],
  },
  departments: [{ id: 'med', names: { da: 'Medicinsk', en: 'Medical' } }],
  horizonDays: 180,
  version: 7,
  updatedAt: '2026-01-05T10:00:00Z',
};

test('clockValue writes a time as HH:MM, 24:00 the end of the day', () => {
  const tests = [
    ['08:00', '08:00'],
    ['8:00', '08:00'],
    ['8.30', '08:30'],
    [' 15:30 ', '15:30'],
    ['24:00', '24:00'],
    ['24:30', ''],
    ['25:00', ''],
    ['12:60', ''],
    ['1200', ''],
    ['8', ''],
    ['', ''],
  ];
  for (const [in_, want] of tests) assert.equal(clockValue(in_), want, in_);
});

test('parseSpans reads a day of opening hours', () => {
  const tests = [
    { in: '08:00-12:00, 12:30-15:30', want: [{ open: '08:00', close: '12:00' }, { open: '12:30', close: '15:30' }] },
    { in: '8:00 - 16:00', want: [{ open: '08:00', close: '16:00' }] },
    { in: '08.00–12.00; 13.00—15.30', want: [{ open: '08:00', close: '12:00' }, { open: '13:00', close: '15:30' }] },
    { in: '20:00-24:00,', want: [{ open: '20:00', close: '24:00' }] },
    { in: '', want: [] },
    { in: '   ', want: [] },
  ];
  for (const tt of tests) assert.deepEqual(parseSpans(tt.in), { ok: true, spans: tt.want }, tt.in);
  assert.deepEqual(parseSpans('08:00-12:00, lunch'), { ok: false, part: 'lunch' });
  assert.deepEqual(parseSpans('08:00'), { ok: false, part: '08:00' });
  assert.deepEqual(parseSpans('08:00-12:00-13:00'), { ok: false, part: '08:00-12:00-13:00' });
  assert.deepEqual(parseSpans('8-12'), { ok: false, part: '8-12' });
  assert.deepEqual(parseSpans('08:00-25:00'), { ok: false, part: '08:00-25:00' });
});

test('spansText and parseSpans go there and back', () => {
  for (const d of Weekdays) {
    const text = spansText(settings.hours[d]);
    assert.deepEqual(parseSpans(text), { ok: true, spans: settings.hours[d] }, d);
  }
  assert.equal(spansText(settings.hours.monday), '08:00-12:00, 12:30-15:30');
  assert.equal(spansText([]), '');
  assert.equal(spansText(null), '');
});

test('reminders: a comma-separated line and back', () => {
  assert.deepEqual(parseReminders('24h, 1h'), ['24h', '1h']);
  assert.deepEqual(parseReminders(' 1h 30m ,, 15M; 48h'), ['1h30m', '15m', '48h']);
  assert.deepEqual(parseReminders(''), []);
  assert.equal(remindersText(['24h', '1h']), '24h, 1h');
  assert.equal(remindersText(undefined), '');
  assert.deepEqual(parseReminders(remindersText(settings.reminders)), settings.reminders);
});

test('wholeNumber: a number, null for nothing, NaN for anything else', () => {
  assert.equal(wholeNumber('15'), 15);
  assert.equal(wholeNumber(' 0 '), 0);
  assert.equal(wholeNumber(''), null);
  assert.equal(wholeNumber('  '), null);
  assert.ok(Number.isNaN(wholeNumber('1.5')));
  assert.ok(Number.isNaN(wholeNumber('-5')));
  assert.ok(Number.isNaN(wholeNumber('15 min')));
});

test('departmentId makes an id from a name', () => {
  assert.equal(departmentId('Børneafdelingen'), 'boerneafdelingen');
  assert.equal(departmentId('Hjerte & lunge'), 'hjerte-lunge');
  assert.equal(departmentId('  Ærø Ålborg '), 'aeroe-aalborg');
  assert.equal(departmentId('Médecine'), 'medecine');
  assert.equal(departmentId(''), '');
  assert.equal(departmentId('x'.repeat(80)).length, 64);
});

test('the settings form shows what the API gave, and gives the same back', () => {
  const f = settingsForm(settings);
  assert.equal(f.reminders, '24h, 1h');
  assert.equal(f.horizonDays, '180');
  assert.equal(f.hours.monday, '08:00-12:00, 12:30-15:30');
  assert.equal(f.hours.sunday, '');
  assert.deepEqual(f.departments, [{ id: 'med', da: 'Medicinsk', en: 'Medical' }]);
  const { body, errors, rows } = settingsBody(f, settings.version);
  assert.deepEqual(errors, []);
  assert.deepEqual(rows, [0]);
  assert.deepEqual(body, {
    name: settings.name,
    phone: settings.phone,
    language: settings.language,
    reminders: settings.reminders,
    horizonDays: settings.horizonDays,
    guestsByPatient: false,
    hours: settings.hours,
    departments: settings.departments,
    version: 7,
  });
  assert.deepEqual(settingsForm(null).hours.monday, '');
  // A setting that is on stays on through the form.
  assert.equal(settingsBody(settingsForm({ ...settings, guestsByPatient: true }), 7).body.guestsByPatient, true);
});

test('settingsBody: the admin’s changes, empty rows dropped, ids made, the version sent', () => {
  const f = settingsForm(settings);
  f.name = '  Lægehuset Nord ';
  f.phone = '+45 70 11 22 33';
  f.language = 'en';
  f.reminders = '1h, 24h, 30m';
  f.horizonDays = ' 90 ';
  f.hours.saturday = '9:00-12:00';
  f.hours.friday = '';
  f.departments = [
    { id: '', da: '', en: '' },
    { id: 'med', da: 'Medicinsk', en: 'Medical' },
    { id: '', da: 'Børn', en: '' },
  ];
  const { body, errors, rows } = settingsBody(f, 7);
  assert.deepEqual(errors, []);
  assert.equal(body.name, 'Lægehuset Nord');
  assert.equal(body.phone, '+4570112233');
  assert.equal(body.language, 'en');
  assert.deepEqual(body.reminders, ['1h', '24h', '30m']);
  assert.equal(body.horizonDays, 90);
  assert.deepEqual(body.hours.saturday, [{ open: '09:00', close: '12:00' }]);
  assert.deepEqual(body.hours.friday, []);
  assert.deepEqual(body.departments, [
    { id: 'med', names: { da: 'Medicinsk', en: 'Medical' } },
    { id: 'boern', names: { da: 'Børn', en: '' } },
  ]);
  assert.deepEqual(rows, [1, 2]);
  assert.equal(body.version, 7);
  assert.deepEqual(Object.keys(body.hours), Weekdays);
});

test('settingsBody names what it cannot read and sends nothing', () => {
  const f = settingsForm(settings);
  f.hours.tuesday = '08:00 to 12:00';
  f.hours.thursday = 'closed';
  f.horizonDays = 'half a year';
  const { body, errors } = settingsBody(f, 7);
  assert.equal(body, null);
  assert.deepEqual(errors, [
    { field: 'hours.tuesday', value: '08:00 to 12:00' },
    { field: 'hours.thursday', value: 'closed' },
    { field: 'horizonDays', value: 'half a year' },
  ]);
  f.hours.tuesday = f.hours.thursday = '';
  f.horizonDays = '';
  assert.deepEqual(settingsBody(f, 7).errors, [{ field: 'horizonDays', value: '' }]);
});

test('settingsProblemFields reads the fields a 422 names', () => {
  const detail =
    'phone: want an E.164 number, + and the country code, e.g. +4570112233; hours: tuesday: "8"-"12": want HH:MM times, e.g. 08:00 and 15:30; ' +
    'reminders: "2x": want a duration from 5m0s to 720h0m0s, e.g. 24h or 1h30m; departments[1].id: want 1-64 letters, digits, - or _; ' +
    'departments[0].names: give da, en or both; horizonDays: want 1 to 732; name: required';
  assert.deepEqual(settingsProblemFields(detail), [
    'phone',
    'hours.tuesday',
    'reminders',
    'departments.1.id',
    'departments.0.names',
    'horizonDays',
    'name',
  ]);
  assert.deepEqual(settingsProblemFields('the settings changed since version 3 (now 4); load them again'), []);
  assert.deepEqual(settingsProblemFields(''), []);
});

test('the type form shows a type, and typeBody gives it back', () => {
  const ty = {
    id: 't1',
    name: 'Telephone follow-up',
    names: { da: 'Telefonopfølgning', en: 'Telephone follow-up' },
    durationMinutes: 15,
    bufferBeforeMinutes: 0,
    bufferAfterMinutes: 5,
    noticeMinutes: 60,
    minNoticeMinutes: 60,
    horizonDays: null,
    bookableDays: 180,
    expected: ['85354-9'],
    retired: false,
  };
  const f = typeForm(ty);
  assert.deepEqual(f, {
    da: 'Telefonopfølgning',
    en: 'Telephone follow-up',
    duration: '15',
    bufferBefore: '0',
    bufferAfter: '5',
    notice: '60',
    horizon: '',
    expected: ['85354-9'],
  });
  assert.deepEqual(typeBody(f), {
    body: {
      names: { da: 'Telefonopfølgning', en: 'Telephone follow-up' },
      durationMinutes: 15,
      bufferBeforeMinutes: 0,
      bufferAfterMinutes: 5,
      noticeMinutes: 60,
      horizonDays: null,
      expected: ['85354-9'],
    },
    errors: [],
  });
  // Retired stays as it is: the body does not name it.
  assert.equal('retired' in typeBody(f).body, false);
  assert.equal(typeForm({ ...ty, horizonDays: 30 }).horizon, '30');
  assert.equal(typeForm({ name: 'Old', durationMinutes: 20 }).en, 'Old');
});

test('typeBody: a new type with only a name and a length', () => {
  const f = typeForm();
  f.en = '  Check-up ';
  f.duration = '20';
  f.expected = ['8310-5', '8310-5'];
  assert.deepEqual(typeBody(f).body, {
    names: { da: '', en: 'Check-up' },
    durationMinutes: 20,
    bufferBeforeMinutes: 0,
    bufferAfterMinutes: 0,
    noticeMinutes: 0,
    horizonDays: null,
    expected: ['8310-5'],
  });
});

test('typeBody names what it cannot read and sends nothing', () => {
  const f = typeForm();
  f.duration = '';
  f.bufferBefore = 'five';
  f.horizon = '2.5';
  const { body, errors } = typeBody(f);
  assert.equal(body, null);
  assert.deepEqual(errors, [
    { field: 'duration', value: '' },
    { field: 'bufferBefore', value: 'five' },
    { field: 'horizon', value: '2.5' },
    { field: 'names', value: '' },
  ]);
});

test('typeProblemFields reads the field a 422 names', () => {
  assert.deepEqual(typeProblemFields('duration must be 5m0s to 8h0m0s'), ['duration']);
  assert.deepEqual(typeProblemFields('buffers must be 0 to 2h0m0s'), ['bufferBefore', 'bufferAfter']);
  assert.deepEqual(typeProblemFields('minimum notice must be 0 to 17568h0m0s'), ['notice']);
  assert.deepEqual(typeProblemFields('horizon must be longer than the minimum notice and at most 732 days (none: the clinic’s)'), ['horizon']);
  assert.deepEqual(typeProblemFields('names: give da, en or both'), ['names']);
  assert.deepEqual(typeProblemFields('expected: "1-1" is not a measurement the home kit takes'), ['expected']);
  assert.deepEqual(typeProblemFields('3 appointments ahead use X; retire it instead'), []);
});

test('minutesText says a length in words', () => {
  const en = strings.en.units;
  assert.equal(minutesText(15, en), '15 min');
  assert.equal(minutesText(0, en), '0 min');
  assert.equal(minutesText(60, en), '1 h');
  assert.equal(minutesText(90, en), '1 h 30 min');
  assert.equal(minutesText(1440, en), '1 day');
  assert.equal(minutesText(2 * 1440 + 60, en), '2 days 1 h');
  assert.equal(minutesText(2880, strings.da.units), '2 dage');
  assert.equal(minutesText(90, strings.da.units), '1 t 30 min');
});

test('the form offers the measurements the home kit takes', () => {
  assert.deepEqual(
    [...ExpectableCodes].sort(),
    ['15074-8', '2339-0', '29463-7', '39156-5', '59408-5', '8302-2', '8310-5', '85354-9', '8867-4'],
  );
});

test('the page has every word in English and Danish', () => {
  /** @param {any} o @param {string} p */
  const keys = (o, p = '') =>
    Object.entries(o).flatMap(([k, v]) => (v && typeof v === 'object' ? keys(v, `${p}${k}.`) : [`${p}${k}`])).sort();
  assert.deepEqual(keys(strings.da), keys(strings.en));
  for (const d of Weekdays) assert.ok(strings.en.text[d] && strings.da.text[d], d);
});
