// The access token of an invitation link. Links have the form
// /visit/<room>#t=<jwt> or /call/<room>#t=<jwt>: the token sits in the
// fragment, so it never reaches the server's logs or a Referer. The page keeps it
// in sessionStorage (a reload or a reconnect still works) and removes it from the
// address bar. The payload is decoded for display only; the server verifies it.

/**
 * Claims of an access token.
 * @typedef {object} Claims
 * @property {string} [role] patient, relative, interpreter, clinician…
 * @property {string} [sub] who it was issued to
 * @property {string} [name] display name
 * @property {string} [room] room id
 * @property {string} [appt] the appointment a guest's link belongs to
 * @property {number} [exp] expiry, seconds since 1970
 */

const storagePrefix = 'vclinic.token.';

/**
 * Decodes a JWT payload without verifying it.
 * @param {string} token
 * @returns {Claims|null} null if the token is not a JWT
 */
export function decodeClaims(token) {
  const parts = (token || '').split('.');
  if (parts.length !== 3) return null;
  try {
    const b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes));
    return claims && typeof claims === 'object' && !Array.isArray(claims) ? claims : null;
  } catch {
    return null;
  }
}

/**
 * Reports whether the claims have expired at nowMs.
 * @param {Claims|null} claims
 * @param {number} nowMs
 * @returns {boolean}
 */
export function tokenExpired(claims, nowMs) {
  return !!claims && typeof claims.exp === 'number' && claims.exp * 1000 <= nowMs;
}

/**
 * The room id from a page path such as /visit/<room>.
 * @param {string} pathname
 * @returns {string} '' if there is none
 */
export function roomFromPath(pathname) {
  const parts = pathname.split('/').filter(Boolean);
  if (parts.length < 2) return '';
  try {
    return decodeURIComponent(parts[parts.length - 1]);
  } catch {
    return '';
  }
}

/**
 * Takes the token from the fragment (#t=…), keeps it in storage for this room
 * and removes the fragment from the address bar; without a fragment, returns the
 * token kept earlier. Returns '' if there is none.
 * @param {string} room
 * @param {{location: Location, history: History, storage: Storage|null}} env
 * @returns {string}
 */
export function takeToken(room, env) {
  const { location, history, storage } = env;
  const key = storagePrefix + room;
  const params = new URLSearchParams(location.hash.replace(/^#/, ''));
  const fromHash = params.get('t') || '';
  if (fromHash) {
    try {
      storage?.setItem(key, fromHash);
    } catch {
      // storage full or forbidden: the token lives only for this page load
    }
    // The rest of the fragment stays (the link's lang=, which a reload
    // must still read).
    params.delete('t');
    const rest = params.toString();
    history.replaceState(history.state, '', location.pathname + location.search + (rest ? '#' + rest : ''));
    return fromHash;
  }
  try {
    return storage?.getItem(key) || '';
  } catch {
    return '';
  }
}

/**
 * A WebSocket URL on this page's host, ws: or wss: to match the page.
 * @param {string} path such as /ws?room=…
 * @param {Location|URL} location
 * @returns {string}
 */
export function wsURL(path, location) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return scheme + '//' + location.host + path;
}
