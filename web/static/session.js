// Who is signed in, for the staff pages (/console, /calendar, /call/…). Staff
// sign in at /login, which sets the HttpOnly session cookie. A staff link may
// instead carry a session token in its fragment (#t=…): it is kept in this
// tab's sessionStorage, sent as Authorization: Bearer, and removed from the
// address bar. Also: where to go after signing in, and only ever to a path on
// this site.

import { APIError } from './api.js';

const storageKey = 'vclinic.session';

/**
 * @typedef {object} User
 * @property {string} id
 * @property {string} username
 * @property {string} name
 * @property {string} role clinician, scheduler or admin
 * @property {string} [clinicianId] the clinician record of a clinician
 */

/**
 * @typedef {object} PageEnv
 * @property {Location|URL} location
 * @property {{state: any, replaceState: (s: any, t: string, url: string) => void}} history
 * @property {Storage|null} storage sessionStorage
 */

/**
 * This page's environment, with storage null where the browser forbids it.
 * @returns {PageEnv}
 */
export function pageEnv() {
  let storage = null;
  try {
    storage = window.sessionStorage;
  } catch {
    // storage disabled
  }
  return { location, history, storage };
}

/**
 * Takes a session token from the fragment (#t=…) into storage and out of the
 * address bar; without one, returns the token kept earlier in this tab, or ''
 * (the cookie then decides).
 * @param {PageEnv} env
 * @returns {string}
 */
export function takeSessionToken(env) {
  const { location, history, storage } = env;
  const fromHash = new URLSearchParams(location.hash.replace(/^#/, '')).get('t') || '';
  if (fromHash) {
    try {
      storage?.setItem(storageKey, fromHash);
    } catch {
      // the token lives only for this page load
    }
    history.replaceState(history.state, '', location.pathname + location.search);
    return fromHash;
  }
  return storedSessionToken(storage);
}

/**
 * The session token kept in this tab, or ''.
 * @param {Storage|null} storage
 * @returns {string}
 */
export function storedSessionToken(storage) {
  try {
    return storage?.getItem(storageKey) || '';
  } catch {
    return '';
  }
}

/**
 * Forgets the session token kept in this tab.
 * @param {Storage|null} storage
 */
export function forgetSessionToken(storage) {
  try {
    storage?.removeItem(storageKey);
  } catch {
    // nothing kept
  }
}

/**
 * Signs the staff member out: ends the session on the server (a failure
 * there signs out here all the same), forgets the token kept in this tab
 * and goes to the sign-in page. Every staff page's Sign out button.
 * @param {import('./api.js').API} api
 * @param {Storage|null} storage
 */
export async function signOut(api, storage) {
  try {
    await api.post('/api/v1/logout');
  } catch {
    // signed out here either way
  }
  forgetSessionToken(storage);
  location.assign('/login');
}

/**
 * A ?next= target that is safe to follow: a path on this site ("/console",
 * "/call/a1?lang=da"), never another origin ("//evil.example", "/\evil",
 * "https://…") nor a script. Returns '' for anything else.
 * @param {string|null|undefined} next
 * @returns {string}
 */
export function safeNext(next) {
  if (typeof next !== 'string' || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(next)) return '';
  const base = 'https://vclinic.invalid';
  let u;
  try {
    u = new URL(next, base);
  } catch {
    return '';
  }
  if (u.origin !== base) return '';
  return u.pathname + u.search + u.hash;
}

/**
 * Where a member of staff starts: clinicians at their day list, schedulers and
 * admins at the calendar.
 * @param {string} role
 * @returns {string}
 */
export function homeFor(role) {
  return role === 'clinician' ? '/console' : '/calendar';
}

/**
 * The sign-in page, coming back to next afterwards.
 * @param {string} next a path on this site
 * @returns {string}
 */
export function loginURL(next) {
  const n = safeNext(next);
  return n ? '/login?next=' + encodeURIComponent(n) : '/login';
}

/**
 * Asks who is signed in. Without a valid session it sends the browser to the
 * sign-in page (coming back to this page) and never resolves.
 * @param {import('./api.js').API} api
 * @returns {Promise<User>}
 */
export async function requireUser(api) {
  try {
    return await api.get('/api/v1/me');
  } catch (err) {
    if (err instanceof APIError && err.status === 401) {
      forgetSessionToken(pageEnv().storage);
      location.replace(loginURL(location.pathname + location.search));
      return new Promise(() => {});
    }
    throw err;
  }
}
