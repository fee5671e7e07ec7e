// The clinic as its patients see it (GET /api/v1/clinic): its name, its
// telephone number, the language patients read unless they chose their own,
// and its opening hours. A patient's page (/visit/…) reads it once, before
// it chooses its words, so that a Danish clinic speaks Danish to a patient on
// an English phone and every "call the clinic" can say which number. The
// answer needs no sign-in, so a link that no longer works still shows it.
// Staff pages do not wait for it: there it is null.

/**
 * @typedef {object} Clinic
 * @property {string} name
 * @property {string} phone E.164, "" when none is given
 * @property {string} language "da" or "en"
 * @property {boolean} openNow
 * @property {boolean} [guestsByPatient] patients may invite a relative or an interpreter
 */

/** How long a patient's page waits for the clinic before it goes on without. */
export const waitMillis = 2500;

/** @type {Clinic|null} */
export const clinic = await load();

/** @returns {Promise<Clinic|null>} */
async function load() {
  if (typeof location === 'undefined' || !location.pathname.startsWith('/visit/')) return null;
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), waitMillis);
  try {
    const r = await fetch('/api/v1/clinic', { signal: ctl.signal, cache: 'no-store', credentials: 'omit' });
    if (!r.ok) return null;
    const c = await r.json();
    return c && typeof c === 'object' && typeof c.name === 'string' ? c : null;
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Writes an E.164 number as people read it: a Danish number in pairs
 * ("+45 70 11 22 33"), another after its country code in groups of three
 * or four.
 * @param {string} e164
 * @returns {string}
 */
export function phoneText(e164) {
  const m = /^\+(\d+)$/.exec(e164 || '');
  if (!m) return e164 || '';
  const digits = m[1];
  if (digits.startsWith('45') && digits.length === 10) {
    return '+45 ' + digits.slice(2).replace(/(\d\d)(?=\d)/g, '$1 ');
  }
  return '+' + digits;
}
