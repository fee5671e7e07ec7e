// Before an appointment's call: whether its invitation link works now. The
// visit page asks GET /api/v1/visit with the link's token before it connects:
// early or moved (come back later; the page checks again by itself), open
// (join; the server may still put the patient in the waiting room), or what
// happened: ended, cancelled, expired (the link's time is over) or invalid
// (no working link of ours).

import { APIError } from './api.js';
import { parseTime } from './time.js';

/** How often an early page asks again. */
export const RecheckMs = 30000;

/** Shortest wait before asking again. */
const minRecheckMs = 1000;

/** @typedef {'early'|'moved'|'open'|'ended'|'cancelled'|'expired'|'invalid'} VisitState */

/** The states the server may answer; anything else is taken as expired. */
export const visitStates = ['early', 'moved', 'open', 'ended', 'cancelled', 'expired', 'invalid'];

/**
 * The API's answer (scheduler/openapi.json, Visit).
 * @typedef {object} Visit
 * @property {VisitState} state
 * @property {string} [opens] RFC 3339
 * @property {string} [closes]
 * @property {string} [start]
 * @property {string} [end]
 * @property {string} [clinician] the clinician's name
 */

/**
 * What the page does with a Visit.
 * @typedef {object} Plan
 * @property {VisitState} state
 * @property {number} recheckMs early: when to ask again
 * @property {Date|null} start
 * @property {Date|null} opens
 * @property {string} clinician
 */

/**
 * Decides from the server's answer; the server's state wins over the
 * browser's clock, which may be wrong. An early page asks again every
 * RecheckMs, or at the opening time if that comes sooner.
 * @param {Visit|null} visit
 * @param {number} nowMs
 * @returns {Plan}
 */
export function visitPlan(visit, nowMs) {
  const start = parseTime(visit?.start);
  const opens = parseTime(visit?.opens);
  const clinician = typeof visit?.clinician === 'string' ? visit.clinician.trim() : '';
  const state = /** @type {VisitState} */ (visitStates.includes(visit?.state || '') ? visit?.state : 'expired');
  let recheckMs = 0;
  if (state === 'early' || state === 'moved') {
    recheckMs = RecheckMs;
    if (opens) recheckMs = Math.max(minRecheckMs, Math.min(RecheckMs, opens.getTime() - nowMs + 500));
  }
  return { state, recheckMs, start, opens, clinician };
}

/**
 * Whether a failed check means the link itself is no good (rather than the
 * network or the server having a bad moment).
 * @param {unknown} err
 * @returns {boolean}
 */
export function linkRefused(err) {
  return err instanceof APIError && (err.status === 401 || err.status === 403 || err.status === 404 || err.status === 410);
}

/**
 * What a refused check says happened: the state its problem names
 * (expired: a link of ours whose time is over), else invalid.
 * @param {unknown} err
 * @returns {VisitState}
 */
export function refusedState(err) {
  const s = err instanceof APIError ? /** @type {any} */ (err.problem)?.state : '';
  return s === 'expired' ? 'expired' : 'invalid';
}

/**
 * Waits ms, or less: when the network comes back or the page becomes visible
 * again (a phone that slept) it resolves at once.
 * @param {number} ms
 * @param {EventTarget|null} [win] window
 * @param {EventTarget|null} [doc] document
 * @returns {Promise<void>}
 */
export function pause(ms, win = globalThis.window ?? null, doc = globalThis.document ?? null) {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      win?.removeEventListener('online', done);
      doc?.removeEventListener('visibilitychange', visible);
      resolve();
    };
    const visible = () => {
      if (/** @type {any} */ (doc).visibilityState === 'visible') done();
    };
    const timer = setTimeout(done, ms);
    win?.addEventListener('online', done);
    doc?.addEventListener('visibilitychange', visible);
  });
}
