// The patient picker of the calendar: a filter box over the list of patients
// (name, contact or CPR number), a list to choose from with the keyboard, and
// a small form that creates a patient and chooses it.

import { formatCPR, parseCPR } from './appt.js';
import { h } from './dom.js';
import { fill } from './text.js';

/** Most patients listed at once; the filter narrows the rest. */
export const MaxListed = 200;

/** @typedef {{id: string, name: string, contact?: string, cpr?: string}} Patient */

/**
 * "Karen Jensen · karen@example.org · 010190-1234".
 * @param {Patient} p
 * @returns {string}
 */
export function patientLabel(p) {
  return [p.name, p.contact, formatCPR(p.cpr)].filter(Boolean).join(' · ');
}

/**
 * The patients that match what was typed: part of the name or the contact,
 * or digits of the CPR number (with or without the dash).
 * @param {Patient[]} patients
 * @param {string} query
 * @returns {Patient[]}
 */
export function filterPatients(patients, query) {
  const q = (query || '').trim().toLowerCase();
  if (!q) return patients.slice();
  const digits = q.replace(/[\s-]/g, '');
  const cpr = /^\d+$/.test(digits) ? digits : '';
  return patients.filter(
    (p) =>
      (p.name || '').toLowerCase().includes(q) ||
      (p.contact || '').toLowerCase().includes(q) ||
      (!!cpr && (p.cpr || '').includes(cpr)),
  );
}

/**
 * @typedef {object} PickerStrings
 * @property {string} locale
 * @property {string} patientsAll "{n} patients"
 * @property {string} patientsSome "Showing {n} of {of} patients"
 * @property {{noName: string, badCPR: string}} err
 */

/**
 * @typedef {object} PickerOptions
 * @property {import('./api.js').API} api
 * @property {PickerStrings} t
 * @property {() => void} onChange the chosen patient changed
 * @property {(p: Patient) => void} onCreated a new patient was created and chosen
 * @property {(err: unknown, what: 'load'|'patient') => Promise<string|null>} explain
 *   the words for a failed request; null when the page handled it (sign-in)
 */

/** Binds the picker to #patient-filter, #patient, #patient-count and the #new-patient form. */
export class PatientPicker {
  /** @param {PickerOptions} opts */
  constructor(opts) {
    this._o = opts;
    /** @type {Patient[]} */
    this.patients = [];
    this.id = '';
    const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));
    this._filter = /** @type {HTMLInputElement} */ ($('patient-filter'));
    this._select = /** @type {HTMLSelectElement} */ ($('patient'));
    this._count = $('patient-count');
    this._form = /** @type {HTMLFormElement} */ ($('new-patient'));
    this._box = /** @type {HTMLDetailsElement} */ ($('new-patient-box'));
    this._error = $('np-error');
    this._fields = { name: $('np-name'), contact: $('np-contact'), language: $('np-language'), cpr: $('np-cpr'), submit: $('np-submit') };

    this._filter.addEventListener('input', () => this.render());
    this._filter.addEventListener('keydown', (/** @type {KeyboardEvent} */ ev) => {
      // Down arrow goes from the filter into the list.
      if (ev.key !== 'ArrowDown' || !this._select.options.length) return;
      ev.preventDefault();
      if (this._select.selectedIndex < 0) this._select.selectedIndex = 0;
      this._choose(this._select.value);
      this._select.focus();
    });
    this._select.addEventListener('change', () => this._choose(this._select.value));
    this._form.addEventListener('submit', (ev) => this._create(ev));
  }

  /** @returns {Patient|undefined} the chosen patient */
  get chosen() {
    return this.patients.find((p) => p.id === this.id);
  }

  /** @param {string} id */
  _choose(id) {
    if (id === this.id) return;
    this.id = id;
    this._o.onChange();
  }

  /** Fetches the patients. */
  async load() {
    try {
      const list = await this._o.api.get('/api/v1/patients');
      this._set(Array.isArray(list) ? list : []);
    } catch (err) {
      const msg = await this._o.explain(err, 'load');
      if (msg) this._count.textContent = msg;
    }
  }

  /** @param {Patient[]} list */
  _set(list) {
    this.patients = list.sort((a, b) => (a.name || '').localeCompare(b.name || '', this._o.t.locale));
    this.render();
  }

  /** Lists the patients that match the filter; the chosen one stays listed. */
  render() {
    const t = this._o.t;
    const found = filterPatients(this.patients, this._filter.value);
    const shown = found.slice(0, MaxListed);
    const chosen = this.chosen;
    if (chosen && !shown.includes(chosen)) shown.unshift(chosen);
    this._select.replaceChildren(...shown.map((p) => h('option', { value: p.id, selected: p.id === this.id }, patientLabel(p))));
    this._count.textContent =
      found.length > MaxListed ? fill(t.patientsSome, { n: MaxListed, of: found.length }) : fill(t.patientsAll, { n: found.length });
  }

  /** @param {string} msg '' hides it */
  _say(msg) {
    this._error.textContent = msg;
    this._error.hidden = !msg;
  }

  /** @param {SubmitEvent} ev */
  async _create(ev) {
    ev.preventDefault();
    const t = this._o.t;
    const f = this._fields;
    const name = f.name.value.trim();
    const contact = f.contact.value.trim();
    const cpr = parseCPR(f.cpr.value);
    if (!name) {
      this._say(t.err.noName);
      f.name.focus();
      return;
    }
    if (cpr === null) {
      this._say(t.err.badCPR);
      f.cpr.focus();
      return;
    }
    this._say('');
    f.submit.disabled = true;
    try {
      /** @type {Record<string, string>} */
      const body = { name };
      if (contact) body.contact = contact;
      if (cpr) body.cpr = cpr;
      const language = f.language ? /** @type {HTMLSelectElement} */ (f.language).value : '';
      if (language) body.language = language;
      /** @type {Patient} */
      const created = await this._o.api.post('/api/v1/patients', body);
      this.id = created.id;
      this._filter.value = '';
      this._form.reset();
      this._box.open = false;
      this._set([...this.patients, created]);
      this._o.onCreated(created);
      this._select.focus();
    } catch (err) {
      const msg = await this._o.explain(err, 'patient');
      if (msg) this._say(msg);
    } finally {
      f.submit.disabled = false;
    }
  }
}
