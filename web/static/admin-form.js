// The pure parts of the admin page (admin.js): opening hours as people write
// them ("08:00-12:00, 12:30-15:30") and as the API keeps them (spans), the
// reminders as a comma-separated line, the bodies of PUT /api/v1/settings
// and of POST and PUT /api/v1/appointment-types built from what the forms
// hold, the fields a server's problem detail names, and lengths in minutes
// as words. Nothing here touches the page, so node tests it.

/** The weekdays as the API names them, Monday first. */
export const Weekdays = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];

/**
 * The measurements the home kit takes that an appointment type may expect
 * (LOINC), in the order the form offers them.
 */
export const ExpectableCodes = ['85354-9', '8310-5', '8867-4', '59408-5', '29463-7', '39156-5', '8302-2', '2339-0', '15074-8'];

/** @typedef {{open: string, close: string}} Span */

/**
 * @typedef {object} SettingsForm what the settings form holds, as typed
 * @property {string} name
 * @property {string} phone
 * @property {string} language
 * @property {string} reminders comma-separated
 * @property {string} horizonDays
 * @property {boolean} [guestsByPatient] patients may invite a relative or an interpreter
 * @property {Record<string, string>} hours by weekday, "08:00-12:00, 12:30-15:30"
 * @property {Array<{id: string, da: string, en: string}>} departments
 */

/**
 * @typedef {object} TypeForm what the appointment type form holds, as typed
 * @property {string} da
 * @property {string} en
 * @property {string} duration minutes
 * @property {string} bufferBefore minutes
 * @property {string} bufferAfter minutes
 * @property {string} notice minutes
 * @property {string} horizon days; '' for the clinic's
 * @property {string[]} expected LOINC codes
 */

/**
 * A field the form could not read: its name ("hours.tuesday", "duration")
 * and what was typed.
 * @typedef {{field: string, value: string}} FormError
 */

const clockRE = /^(\d{1,2})[:.](\d{2})$/;

/**
 * A time of day as "HH:MM" ("8:00" and "8.00" become "08:00"; "24:00" is
 * midnight at the end of the day), or '' when it is none.
 * @param {string} s
 * @returns {string}
 */
export function clockValue(s) {
  const m = clockRE.exec(s.trim());
  if (!m) return '';
  const h = Number(m[1]);
  const min = Number(m[2]);
  if (h > 24 || min > 59 || (h === 24 && min !== 0)) return '';
  return `${String(h).padStart(2, '0')}:${m[2]}`;
}

/**
 * Reads one day's opening hours: spans separated by commas (or semicolons),
 * each two times joined by a hyphen or a dash. Empty text is a closed day.
 * Only the form is checked here; the server says when spans overlap or
 * close before they open.
 * @param {string} text
 * @returns {{ok: true, spans: Span[]} | {ok: false, part: string}} part: the span that could not be read
 */
export function parseSpans(text) {
  /** @type {Span[]} */
  const spans = [];
  for (const raw of String(text || '').split(/[,;\n]/)) {
    const part = raw.trim();
    if (!part) continue;
    const times = part.split(/\s*[-–—]\s*/);
    const open = times.length === 2 ? clockValue(times[0]) : '';
    const close = times.length === 2 ? clockValue(times[1]) : '';
    if (!open || !close) return { ok: false, part };
    spans.push({ open, close });
  }
  return { ok: true, spans };
}

/**
 * One day's spans as the form shows them: "08:00-12:00, 12:30-15:30"; ''
 * for a closed day.
 * @param {Span[]|null|undefined} spans
 * @returns {string}
 */
export function spansText(spans) {
  return (Array.isArray(spans) ? spans : []).map((s) => `${s.open}-${s.close}`).join(', ');
}

/**
 * Reads the reminders line: "24h, 1h" gives ["24h", "1h"]; spaces inside one
 * go ("1h 30m" is "1h30m"), empty entries are left out. The server checks
 * each and puts them longest first.
 * @param {string} text
 * @returns {string[]}
 */
export function parseReminders(text) {
  return String(text || '')
    .split(/[,;\n]/)
    .map((s) => s.replace(/\s+/g, '').toLowerCase())
    .filter(Boolean);
}

/**
 * @param {string[]|null|undefined} list
 * @returns {string}
 */
export function remindersText(list) {
  return (Array.isArray(list) ? list : []).join(', ');
}

/**
 * A whole number as typed: the number, null when nothing is typed, NaN when
 * it is not a whole number.
 * @param {string} s
 * @returns {number|null}
 */
export function wholeNumber(s) {
  const v = String(s ?? '').trim();
  if (!v) return null;
  return /^\d{1,9}$/.test(v) ? Number(v) : NaN;
}

/**
 * A department id made from its name, for a row left without one: lower
 * case, æ ø å written out, anything else but letters and digits a hyphen.
 * @param {string} name
 * @returns {string}
 */
export function departmentId(name) {
  return String(name || '')
    .toLowerCase()
    .replace(/æ/g, 'ae')
    .replace(/ø/g, 'oe')
    .replace(/å/g, 'aa')
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64);
}

/**
 * The settings form as it is shown for settings the API gave.
 * @param {any} st GET /api/v1/settings
 * @returns {SettingsForm}
 */
export function settingsForm(st) {
  const s = st && typeof st === 'object' ? st : {};
  /** @type {Record<string, string>} */
  const hours = {};
  for (const d of Weekdays) hours[d] = spansText(s.hours?.[d]);
  return {
    name: s.name || '',
    phone: s.phone || '',
    language: s.language || 'da',
    reminders: remindersText(s.reminders),
    horizonDays: s.horizonDays ? String(s.horizonDays) : '',
    guestsByPatient: !!s.guestsByPatient,
    hours,
    departments: (Array.isArray(s.departments) ? s.departments : []).map((/** @type {any} */ d) => ({
      id: d?.id || '',
      da: d?.names?.da || '',
      en: d?.names?.en || '',
    })),
  };
}

/**
 * The body of PUT /api/v1/settings for what the form holds, with the
 * version the page loaded (a change by someone else in between is then
 * refused). Department rows left empty are dropped; one without an id gets
 * one made from its name. What cannot be read comes back as errors, and
 * the body is then null. rows gives the form's row of each department in
 * the body, for the fields a server's answer names.
 * @param {SettingsForm} f
 * @param {number} version
 * @returns {{body: any, errors: FormError[], rows: number[]}}
 */
export function settingsBody(f, version) {
  /** @type {FormError[]} */
  const errors = [];
  /** @type {Record<string, Span[]>} */
  const hours = {};
  for (const d of Weekdays) {
    const text = f.hours?.[d] || '';
    const r = parseSpans(text);
    if (r.ok) hours[d] = r.spans;
    else errors.push({ field: 'hours.' + d, value: text });
  }
  const horizon = wholeNumber(f.horizonDays);
  if (horizon === null || Number.isNaN(horizon)) errors.push({ field: 'horizonDays', value: f.horizonDays });
  const departments = [];
  /** @type {number[]} */
  const rows = [];
  (f.departments || []).forEach((row, i) => {
    const id = (row.id || '').trim();
    const da = (row.da || '').trim();
    const en = (row.en || '').trim();
    if (!id && !da && !en) return;
    departments.push({ id: id || departmentId(en || da), names: { da, en } });
    rows.push(i);
  });
  if (errors.length) return { body: null, errors, rows };
  return {
    body: {
      name: (f.name || '').trim(),
      phone: (f.phone || '').replace(/\s+/g, ''),
      language: f.language,
      reminders: parseReminders(f.reminders),
      horizonDays: horizon,
      guestsByPatient: !!f.guestsByPatient,
      hours,
      departments,
      version: version || 0,
    },
    errors,
    rows,
  };
}

/**
 * The type form as it is shown for a type the API gave ('' everywhere for a
 * new one).
 * @param {any} [ty]
 * @returns {TypeForm}
 */
export function typeForm(ty) {
  if (!ty || typeof ty !== 'object') {
    return { da: '', en: '', duration: '', bufferBefore: '', bufferAfter: '', notice: '', horizon: '', expected: [] };
  }
  const n = (/** @type {unknown} */ v) => (typeof v === 'number' ? String(v) : '');
  return {
    da: ty.names?.da || '',
    en: ty.names?.en || (ty.names?.da ? '' : ty.name || ''),
    duration: n(ty.durationMinutes),
    bufferBefore: n(ty.bufferBeforeMinutes),
    bufferAfter: n(ty.bufferAfterMinutes),
    notice: n(ty.noticeMinutes ?? ty.minNoticeMinutes),
    horizon: n(ty.horizonDays),
    expected: Array.isArray(ty.expected) ? [...ty.expected] : [],
  };
}

/**
 * The body of POST /api/v1/appointment-types (a new type) or PUT
 * /api/v1/appointment-types/{id} (the fields the form holds replace the
 * type's; whether it is retired stays as it is). Empty buffers and notice
 * are 0; an empty horizon is null, the clinic's. What cannot be read comes
 * back as errors, and the body is then null.
 * @param {TypeForm} f
 * @returns {{body: any, errors: FormError[]}}
 */
export function typeBody(f) {
  /** @type {FormError[]} */
  const errors = [];
  /**
   * @param {'duration'|'bufferBefore'|'bufferAfter'|'notice'|'horizon'} field
   * @param {boolean} required
   */
  const num = (field, required) => {
    const v = wholeNumber(f[field]);
    if ((v === null && required) || Number.isNaN(v)) errors.push({ field, value: f[field] || '' });
    return v;
  };
  const duration = num('duration', true);
  const before = num('bufferBefore', false);
  const after = num('bufferAfter', false);
  const notice = num('notice', false);
  const horizon = num('horizon', false);
  const da = (f.da || '').trim();
  const en = (f.en || '').trim();
  if (!da && !en) errors.push({ field: 'names', value: '' });
  if (errors.length) return { body: null, errors };
  return {
    body: {
      names: { da, en },
      durationMinutes: duration,
      bufferBeforeMinutes: before ?? 0,
      bufferAfterMinutes: after ?? 0,
      noticeMinutes: notice ?? 0,
      horizonDays: horizon,
      expected: [...new Set(f.expected || [])],
    },
    errors,
  };
}

/**
 * The settings fields a 422's detail names ("phone: want …; hours:
 * tuesday: …; departments[1].id: …"), as the form names them: "phone",
 * "hours.tuesday", "departments.1.id".
 * @param {string} detail
 * @returns {string[]}
 */
export function settingsProblemFields(detail) {
  const out = [];
  for (const part of String(detail || '').split(/;\s*/)) {
    const m = /^(name|phone|language|reminders|horizonDays|hours|departments)(?:\[(\d+)\]\.(id|names))?:\s*(?:(\w+):)?/.exec(part.trim());
    if (!m) continue;
    let field = m[1];
    if (m[2] !== undefined) field += `.${m[2]}.${m[3]}`;
    else if (field === 'hours' && m[4] && Weekdays.includes(m[4])) field += '.' + m[4];
    if (!out.includes(field)) out.push(field);
  }
  return out;
}

/**
 * The type form's fields a 422's detail names ("duration must be …",
 * "buffers must be …", "names: …"), as the form names them.
 * @param {string} detail
 * @returns {string[]}
 */
export function typeProblemFields(detail) {
  const d = String(detail || '').trim().toLowerCase();
  if (d.startsWith('names')) return ['names'];
  if (d.startsWith('duration')) return ['duration'];
  if (d.startsWith('buffers')) return ['bufferBefore', 'bufferAfter'];
  if (d.startsWith('minimum notice')) return ['notice'];
  if (d.startsWith('horizon')) return ['horizon'];
  if (d.startsWith('expected')) return ['expected'];
  return [];
}

/**
 * A length in minutes in words: 15 → "15 min", 90 → "1 h 30 min", 2880 →
 * "2 days".
 * @param {number} minutes
 * @param {{min: string, h: string, day: string, days: string}} w
 * @returns {string}
 */
export function minutesText(minutes, w) {
  const n = Math.max(0, Math.round(Number(minutes) || 0));
  const days = Math.floor(n / 1440);
  const hours = Math.floor((n % 1440) / 60);
  const mins = n % 60;
  const parts = [];
  if (days) parts.push(`${days} ${days === 1 ? w.day : w.days}`);
  if (hours) parts.push(`${hours} ${w.h}`);
  if (mins || !parts.length) parts.push(`${mins} ${w.min}`);
  return parts.join(' ');
}
