// Dates and times as people read them: in the browser's own time zone, with
// days and weeks (Monday to Sunday) cut at local midnight, which is not always
// 24 hours after the one before (daylight saving). The API speaks RFC 3339;
// rfc3339 writes local times with their offset.

/**
 * Local midnight at the start of d's day.
 * @param {Date} d
 * @returns {Date}
 */
export function startOfDay(d) {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate());
}

/**
 * Local midnight n days after d's day (n may be negative).
 * @param {Date} d
 * @param {number} n
 * @returns {Date}
 */
export function addDays(d, n) {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate() + n);
}

/**
 * Monday 00:00, local time, of d's week.
 * @param {Date} d
 * @returns {Date}
 */
export function startOfWeek(d) {
  const back = (d.getDay() + 6) % 7; // Monday 0 ... Sunday 6
  return addDays(d, -back);
}

/**
 * The day of d: from its local midnight to the next.
 * @param {Date} d
 * @returns {{from: Date, to: Date}}
 */
export function dayRange(d) {
  return { from: startOfDay(d), to: addDays(d, 1) };
}

/**
 * The week of d: from Monday 00:00 to the next Monday 00:00, local time.
 * @param {Date} d
 * @returns {{from: Date, to: Date, days: Date[]}} days: the seven midnights
 */
export function weekRange(d) {
  const from = startOfWeek(d);
  const days = Array.from({ length: 7 }, (_, i) => addDays(from, i));
  return { from, to: addDays(from, 7), days };
}

/**
 * @param {Date} a
 * @param {Date} b
 * @returns {boolean} whether a and b fall on the same local day
 */
export function sameDay(a, b) {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

const pad = (/** @type {number} */ n, w = 2) => String(Math.trunc(Math.abs(n))).padStart(w, '0');

/**
 * RFC 3339 in local time with its offset, seconds precision:
 * 2025-03-30T00:00:00+01:00.
 * @param {Date} d
 * @returns {string}
 */
export function rfc3339(d) {
  const off = -d.getTimezoneOffset();
  const sign = off < 0 ? '-' : '+';
  return (
    `${pad(d.getFullYear(), 4)}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}` +
    `T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}` +
    `${sign}${pad(off / 60)}:${pad(off % 60)}`
  );
}

/**
 * Parses an RFC 3339 time from the API.
 * @param {unknown} s
 * @returns {Date|null} null when s is not a time
 */
export function parseTime(s) {
  if (typeof s !== 'string' || !s) return null;
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? null : d;
}

/**
 * The value of an <input type="date">: 2025-06-03, local.
 * @param {Date} d
 * @returns {string}
 */
export function dateValue(d) {
  return `${pad(d.getFullYear(), 4)}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/**
 * The value of an <input type="datetime-local">: 2025-06-03T10:30.
 * @param {Date} d
 * @returns {string}
 */
export function dateTimeValue(d) {
  return `${dateValue(d)}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/**
 * Reads an <input type="date"> or <input type="datetime-local"> value as local time.
 * @param {string} v 2025-06-03 or 2025-06-03T10:30
 * @returns {Date|null}
 */
export function fromInputValue(v) {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(v || '');
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map((x) => Number(x || 0));
  const out = new Date(y, mo - 1, d, h, mi, s);
  return out.getFullYear() === y && out.getMonth() === mo - 1 && out.getDate() === d ? out : null;
}

/**
 * The browser's time zone: its IANA name and its short name at d (CET, CEST, GMT+2).
 * @param {string} locale
 * @param {Date} [d]
 * @returns {{id: string, short: string}}
 */
export function zone(locale, d = new Date()) {
  const id = Intl.DateTimeFormat().resolvedOptions().timeZone || '';
  const part = new Intl.DateTimeFormat(locale, { timeZoneName: 'short' })
    .formatToParts(d)
    .find((p) => p.type === 'timeZoneName');
  return { id, short: part ? part.value : '' };
}

/**
 * "Europe/Copenhagen (CET)", or the short name alone when the browser names no zone.
 * @param {string} locale
 * @param {Date} [d]
 * @returns {string}
 */
export function zoneLabel(locale, d) {
  const z = zone(locale, d);
  if (!z.id) return z.short;
  return z.short && z.short !== z.id ? `${z.id} (${z.short})` : z.id;
}

/**
 * 10:30 (en) or 10.30 (da): 24-hour clock, local time.
 * @param {Date} d
 * @param {string} locale
 * @returns {string}
 */
export function formatTime(d, locale) {
  return new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(d);
}

/**
 * "10:30–10:50".
 * @param {Date} start
 * @param {Date} end
 * @param {string} locale
 * @returns {string}
 */
export function formatSpan(start, end, locale) {
  return `${formatTime(start, locale)}–${formatTime(end, locale)}`;
}

/**
 * "Tuesday 3 June" (en-GB), "tirsdag 3. juni" (da).
 * @param {Date} d
 * @param {string} locale
 * @returns {string}
 */
export function formatDay(d, locale) {
  return new Intl.DateTimeFormat(locale, { weekday: 'long', day: 'numeric', month: 'long' }).format(d);
}

/**
 * "Tue 3 Jun" (en-GB): a day heading in a week view.
 * @param {Date} d
 * @param {string} locale
 * @returns {string}
 */
export function formatShortDay(d, locale) {
  return new Intl.DateTimeFormat(locale, { weekday: 'short', day: 'numeric', month: 'short' }).format(d);
}

/**
 * "Tuesday 3 June 2025, 10:30".
 * @param {Date} d
 * @param {string} locale
 * @returns {string}
 */
export function formatDateTime(d, locale) {
  return new Intl.DateTimeFormat(locale, {
    weekday: 'long',
    day: 'numeric',
    month: 'long',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).format(d);
}

/**
 * The ISO 8601 week number of d's local day (weeks start on Monday; week 1
 * holds the year's first Thursday), as Danish calendars number them.
 * @param {Date} d
 * @returns {number}
 */
export function isoWeek(d) {
  const thursday = addDays(d, 3 - ((d.getDay() + 6) % 7));
  const jan4 = new Date(thursday.getFullYear(), 0, 4);
  const week1 = startOfWeek(jan4);
  return 1 + Math.round((startOfWeek(thursday).getTime() - week1.getTime()) / (7 * 86400000));
}

/** An RFC 3339 time inside a sentence. */
const rfc3339RE = /\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})/g;

/**
 * Rewrites the RFC 3339 times in a server's message in local time
 * ("busy from 2025-06-03T08:30:00Z" becomes "busy from Tue 3 Jun 10:30").
 * @param {string} text
 * @param {string} locale
 * @returns {string}
 */
export function localizeTimes(text, locale) {
  return (text || '').replace(rfc3339RE, (m) => {
    const d = parseTime(m);
    return d ? `${formatShortDay(d, locale)} ${formatTime(d, locale)}` : m;
  });
}

/**
 * Whole minutes from a to b.
 * @param {Date} a
 * @param {Date} b
 * @returns {number}
 */
export function minutesBetween(a, b) {
  return Math.round((b.getTime() - a.getTime()) / 60000);
}
