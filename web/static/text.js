// The words of a page: every page keeps its strings, English and Danish, in its
// own module; this one picks the language and puts the words into the markup.

import { clinic } from './clinic.js';

/**
 * Picks the strings for the reader: the language the address asks for
 * (?lang=, for whoever holds the phone), else the one the invitation link
 * carries (#t=…&lang=, the patient's own), else on a patient's page the
 * clinic's, else the browser's; Danish when that starts with "da", else
 * English.
 * @template T
 * @param {{en: T, da?: T}} all
 * @param {{search?: string, hash?: string, clinicLanguage?: string, language?: string}} [env] default: this page
 * @returns {T}
 */
export function pickLang(all, env) {
  const search = env ? env.search || '' : location.search;
  const hash = env ? env.hash || '' : location.hash;
  const fallback = env
    ? env.clinicLanguage || env.language || ''
    : (clinic && clinic.language) || navigator.language || '';
  const asked =
    new URLSearchParams(search).get('lang') || new URLSearchParams(hash.replace(/^#/, '')).get('lang') || fallback;
  return asked.toLowerCase().startsWith('da') && all.da ? all.da : all.en;
}

/**
 * Sets the text of every element with data-text="key" under root from words.
 * @param {ParentNode} root
 * @param {Record<string, string>} words
 */
export function applyText(root, words) {
  for (const el of root.querySelectorAll('[data-text]')) {
    const key = /** @type {HTMLElement} */ (el).dataset.text || '';
    if (key in words) el.textContent = words[key];
  }
}

/**
 * Fills "{key}" placeholders; unknown keys stay as they are.
 * @param {string} s
 * @param {Record<string, string|number>} vars
 * @returns {string}
 */
export function fill(s, vars) {
  return s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
}

/**
 * A message from elsewhere (the server's problem detail) as a sentence:
 * capital first letter, full stop at the end.
 * @param {string} s
 * @returns {string}
 */
export function sentence(s) {
  const v = (s || '').trim();
  if (!v) return '';
  const first = v[0].toLocaleUpperCase() + v.slice(1);
  return /[.!?…]$/.test(first) ? first : first + '.';
}
