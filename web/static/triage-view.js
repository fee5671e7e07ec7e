// The words and links of the triage list (triage.js), pure: no DOM, no
// network, so node tests them. The urgency is said in words first, never
// by colour alone; the server decides the order (scheduler/triage.go) and
// names the reasons, which are said here in the rule's order.

import { fill } from './text.js';
import { codeName, valueWithUnit } from './vitals.js';

/**
 * @typedef {object} TriageEntry as GET /api/v1/triage gives it
 * @property {string} patientId
 * @property {string} name
 * @property {{id: string, start: string}|null} next
 * @property {{id: string, start: string}|null} previous
 * @property {{count: number, newest: {code: string, value: string, unit: string, outside: string, at: string}|null}} flagged
 * @property {{total: number, scored: number, of: number, redScore: boolean, redParameters?: string[], risk: string}} news2
 * @property {string[]} missingExpected
 * @property {string|null} lastReadingAt
 * @property {number} group
 * @property {string[]} reasons
 */

const dayMs = 24 * 60 * 60 * 1000;

/**
 * Whole local calendar days from a to b (b's day minus a's day).
 * @param {Date} a
 * @param {Date} b
 */
export function calendarDays(a, b) {
  const da = Date.UTC(a.getFullYear(), a.getMonth(), a.getDate());
  const db = Date.UTC(b.getFullYear(), b.getMonth(), b.getDate());
  return Math.round((db - da) / dayMs);
}

/**
 * Whole days since at, rounded down.
 * @param {string} at RFC 3339
 * @param {Date} now
 */
export function daysSince(at, now) {
  return Math.max(0, Math.floor((now.getTime() - Date.parse(at)) / dayMs));
}

/**
 * Names joined as a sentence: "Weight", "Weight and Pulse", "A, B and C".
 * @param {string[]} names
 * @param {string} and
 */
export function joinNames(names, and) {
  if (names.length <= 1) return names.join('');
  return names.slice(0, -1).join(', ') + and + names[names.length - 1];
}

/**
 * The NEWS2 in words: "NEWS2 partial 5 (medium), 4 of 7 parameters", with
 * the red parameters named.
 * @param {TriageEntry['news2']} n
 * @param {any} t triage words
 */
export function news2Text(n, t) {
  let s = fill(t.news2, { total: n.total, band: t.band[n.risk] || n.risk, scored: n.scored, of: n.of });
  if (n.redScore && n.redParameters && n.redParameters.length) {
    s += '; ' + fill(t.red, { params: joinNames(n.redParameters.map((p) => t.params[p] || p), t.and) });
  }
  return s;
}

/**
 * Why the patient is where they are on the list, most urgent first, in
 * words. Every row says something: when nothing is outstanding, that.
 * @param {TriageEntry} e
 * @param {any} t triage words
 * @param {any} vw the measurement names (vitals.js vitalsStrings.en or .da)
 * @param {Date} now
 * @returns {string[]}
 */
export function reasonTexts(e, t, vw, now) {
  const out = [];
  let news2Said = false;
  for (const r of e.reasons || []) {
    switch (r) {
      case 'news2-red':
      case 'news2-high':
      case 'news2-medium':
        if (!news2Said) out.push(news2Text(e.news2, t));
        news2Said = true;
        break;
      case 'flagged': {
        let s = e.flagged.count === 1 ? t.flaggedOne : fill(t.flaggedMany, { n: e.flagged.count });
        const nw = e.flagged.newest;
        if (nw) s += ' (' + fill(t.newest, { name: codeName(nw.code, vw), value: valueWithUnit(nw.value, nw.unit), side: t.side[nw.outside] || nw.outside }) + ')';
        out.push(s);
        break;
      }
      case 'expected-missing': {
        const names = joinNames(e.missingExpected.map((c) => codeName(c, vw)), t.and);
        const start = e.next ? new Date(e.next.start) : now;
        const d = calendarDays(now, start);
        const day = start.toLocaleDateString(t.locale, { weekday: 'long', day: 'numeric', month: 'long' });
        const tmpl = d <= 0 ? t.missingToday : d === 1 ? t.missingTomorrow : t.missingOn;
        out.push(capitalize(fill(tmpl, { names, day })));
        break;
      }
      case 'quiet':
        out.push(e.lastReadingAt ? fill(t.quietDays, { n: daysSince(e.lastReadingAt, now) }) : t.neverRead);
        break;
    }
  }
  if (!out.length) out.push(t.nothing);
  return out;
}

/**
 * Where the row leads: the clinician's page of the patient (their score,
 * readings outside limits, trends and limits).
 * @param {TriageEntry} e
 */
export function rowHref(e) {
  return '/patients/' + encodeURIComponent(e.patientId);
}

/**
 * How urgent the row looks: a class for the eye, always with the words.
 * @param {TriageEntry} e
 */
export function urgencyClass(e) {
  return e.group === 1 ? 'is-urgent' : e.group === 2 || e.group === 3 ? 'is-attention' : e.group === 4 ? 'is-missing' : '';
}

/** @param {string} s */
function capitalize(s) {
  return s ? s[0].toLocaleUpperCase() + s.slice(1) : s;
}
