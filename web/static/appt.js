// Appointments as staff read them (scheduler/openapi.json, Appointment and
// DayEntry): the status in plain words, English and Danish, and what can be
// done with one now. Shared by the day list and the calendar.

import { parseTime } from './time.js';

/**
 * @typedef {object} Appointment
 * @property {string} id
 * @property {string} clinicianId
 * @property {string} patientId
 * @property {string} [typeId]
 * @property {string} start RFC 3339
 * @property {string} end
 * @property {string} status booked, arrived, checked-in, fulfilled, cancelled, noshow, entered-in-error
 * @property {number} [sequence]
 * @property {string} [patientLink] the patient's invitation link (staff only)
 * @property {string} [patientName]
 * @property {string} [clinicianName]
 */

/**
 * @typedef {object} DayEntry
 * @property {Appointment} appointment
 * @property {number} waiting guests in the waiting room now
 * @property {number} inCall participants in the call now
 * @property {number} [flaggedReadings] the patient's home readings outside limits, not acknowledged, since the last visit
 */

/** FHIR Appointment.status in plain words. */
export const statusWords = {
  en: {
    booked: 'Booked',
    arrived: 'Arrived',
    'checked-in': 'Checked in',
    fulfilled: 'Finished',
    cancelled: 'Cancelled',
    noshow: 'Did not attend',
    'entered-in-error': 'Entered in error',
  },
  da: {
    booked: 'Booket',
    arrived: 'Ankommet',
    'checked-in': 'Tjekket ind',
    fulfilled: 'Afsluttet',
    cancelled: 'Aflyst',
    noshow: 'Udeblevet',
    'entered-in-error': 'Oprettet ved en fejl',
  },
};

/**
 * @param {'en'|'da'|string} lang
 * @param {string} status
 * @returns {string}
 */
export function statusText(lang, status) {
  const words = /** @type {Record<string, string>} */ (lang === 'da' ? statusWords.da : statusWords.en);
  return words[status] || status || '';
}

/** What a patient's reply says, to staff. */
const replyWords = {
  en: { 'cannot-come': 'Patient cannot come', 'new-time': 'Patient asks for another time' },
  da: { 'cannot-come': 'Patienten kan ikke komme', 'new-time': 'Patienten beder om en anden tid' },
};

/**
 * The patient's replies to the invitation, newest last, in words for staff:
 * {kind, text} for each known kind, "" when there are none.
 * @param {'en'|'da'|string} lang
 * @param {unknown} replies the appointment's replies
 * @returns {{kind: string, text: string}|null} the newest
 */
export function latestReply(lang, replies) {
  if (!Array.isArray(replies)) return null;
  const words = /** @type {Record<string, string>} */ (lang === 'da' ? replyWords.da : replyWords.en);
  const known = replies.filter((r) => r && typeof r.kind === 'string' && r.kind in words);
  const last = known[known.length - 1];
  if (!last) return null;
  const note = typeof last.text === 'string' && last.text.trim() ? ': “' + last.text.trim() + '”' : '';
  return { kind: last.kind, text: words[last.kind] + note };
}

/** The patient's pre-visit check, to staff: the verdict, and when. */
const checkWords = {
  en: {
    ready: 'Check passed {when}: ready for video',
    'audio-only': 'Check passed {when}, audio only likely',
    'no-connection': 'Check failed {when}: will not connect',
  },
  da: {
    ready: 'Tjek bestået {when}: klar til video',
    'audio-only': 'Tjek bestået {when}, sandsynligvis kun lyd',
    'no-connection': 'Tjek fejlet {when}: kan ikke forbinde',
  },
};

/**
 * The newest pre-visit check of the patient in words for staff, "Check
 * passed yesterday, audio only likely"; null when there is none.
 * @param {'en'|'da'|string} lang
 * @param {unknown} check the appointment's check (scheduler/openapi.json, Check)
 * @param {Date} [now]
 * @returns {{verdict: string, text: string}|null}
 */
export function checkText(lang, check, now = new Date()) {
  const c = /** @type {any} */ (check);
  const words = /** @type {Record<string, string>} */ (lang === 'da' ? checkWords.da : checkWords.en);
  const at = parseTime(c?.at);
  if (!c || typeof c.verdict !== 'string' || !(c.verdict in words) || !at) return null;
  const day = (/** @type {Date} */ d) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  const days = Math.round((day(at) - day(now)) / 86400000);
  const when =
    days >= -6
      ? new Intl.RelativeTimeFormat(lang === 'da' ? 'da-DK' : 'en-GB', { numeric: 'auto' }).format(days, 'day')
      : at.toLocaleDateString(lang === 'da' ? 'da-DK' : 'en-GB', { day: 'numeric', month: 'short' });
  return { verdict: c.verdict, text: words[c.verdict].replace('{when}', when) };
}

/**
 * Whether the visit can still take place: booked, arrived or checked in.
 * @param {string} status
 * @returns {boolean}
 */
export function isOpen(status) {
  return status === 'booked' || status === 'arrived' || status === 'checked-in';
}

/**
 * Whether the appointment no longer takes a slot in the calendar.
 * @param {string} status
 * @returns {boolean}
 */
export function isCancelled(status) {
  return status === 'cancelled' || status === 'entered-in-error';
}

/**
 * Entries with usable times, by start; waiting and inCall as numbers.
 * @param {unknown} list the API's answer
 * @returns {Array<DayEntry & {start: Date, end: Date}>}
 */
export function normalizeEntries(list) {
  if (!Array.isArray(list)) return [];
  /** @type {Array<DayEntry & {start: Date, end: Date}>} */
  const out = [];
  for (const e of list) {
    const a = e && e.appointment;
    const start = parseTime(a?.start);
    const end = parseTime(a?.end);
    if (!a || typeof a.id !== 'string' || !start || !end) continue;
    out.push({
      appointment: a,
      waiting: Math.max(0, Number(e.waiting) || 0),
      inCall: Math.max(0, Number(e.inCall) || 0),
      flaggedReadings: Math.max(0, Number(e.flaggedReadings) || 0),
      start,
      end,
    });
  }
  return out.sort((x, y) => x.start.getTime() - y.start.getTime() || x.appointment.id.localeCompare(y.appointment.id));
}

/**
 * A Danish CPR number as people write it: 010190-1234.
 * @param {string} [cpr] 10 digits
 * @returns {string}
 */
export function formatCPR(cpr) {
  return cpr && /^\d{10}$/.test(cpr) ? `${cpr.slice(0, 6)}-${cpr.slice(6)}` : cpr || '';
}

/**
 * Reads a CPR number typed with or without the dash or spaces.
 * @param {string} s
 * @returns {string|null} 10 digits, '' for none, null when it is not a CPR number
 */
export function parseCPR(s) {
  const v = (s || '').replace(/[\s-]/g, '');
  if (!v) return '';
  return /^\d{10}$/.test(v) ? v : null;
}
