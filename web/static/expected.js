// "Expected today" on the clinician's call page: the home measurements the
// appointment expects (GET /api/v1/appointments/{id}/expected?since=…), each
// with ✓ arrived or not yet, and a small editor that sets the list (PUT the
// same path with {"patientId", "codes"}). It asks again after each vitals
// message (a reading arrived) and, as a safety net, every 5 minutes: each
// answer is a read of the patient's data and on the audit log, so the list
// is not polled. Where the endpoints answer 401, 403 or 404 (no
// such appointment, no home kit, not allowed) it stays hidden. The pure parts
// are exported for tests.

import { pickLang } from './text.js';
import { codeName, Requestable, vitalsStrings } from './vitals.js';

/** How often the list is asked for again when no reading arrives. */
export const refreshMillis = 5 * 60 * 1000;

/** The words, English and Danish. */
export const expectedStrings = {
  en: {
    heading: 'Expected today',
    none: 'No measurements expected.',
    arrived: '✓ arrived',
    notYet: 'not yet',
    edit: 'Change what is expected',
    save: 'Save',
    saved: 'Saved.',
    failed: 'Could not save: {message}',
  },
  da: {
    heading: 'Forventet i dag',
    none: 'Ingen målinger forventet.',
    arrived: '✓ modtaget',
    notYet: 'ikke endnu',
    edit: 'Ændr det forventede',
    save: 'Gem',
    saved: 'Gemt.',
    failed: 'Kunne ikke gemme: {message}',
  },
};

/**
 * @param {{search?: string, language?: string}} [env]
 * @returns {typeof expectedStrings.en}
 */
export function expectedWords(env) {
  return pickLang(expectedStrings, env);
}

/** The codes the editor offers, in the order of the ask control. */
export const ExpectedChoices = Requestable.map((r) => r.code);

/**
 * The list from a GET or PUT answer: {code, arrived} entries; malformed ones
 * are left out.
 * @param {unknown} res
 * @returns {Array<{code: string, arrived: boolean}>}
 */
export function parseExpected(res) {
  const list = /** @type {any} */ (res)?.expected;
  if (!Array.isArray(list)) return [];
  return list
    .filter((e) => e && typeof e === 'object' && typeof e.code === 'string' && e.code)
    .map((e) => ({ code: e.code, arrived: e.arrived === true }));
}

/**
 * The start of the day of now in local time, as RFC 3339 (UTC).
 * @param {Date} now
 * @returns {string}
 */
export function startOfDay(now) {
  return new Date(now.getFullYear(), now.getMonth(), now.getDate()).toISOString();
}

/**
 * The plain name of an expected code: systolic stands for the whole blood
 * pressure.
 * @param {string} code
 * @param {typeof vitalsStrings.en} [vw]
 * @returns {string}
 */
export function expectedName(code, vw = vitalsStrings.en) {
  return code === '8480-6' ? vw.bloodPressure : codeName(code, vw);
}

/**
 * Whether an error means the page should not show the list at all.
 * @param {unknown} err
 * @returns {boolean}
 */
export function hides(err) {
  const s = /** @type {any} */ (err)?.status;
  return s === 401 || s === 403 || s === 404;
}

/**
 * The PUT body: the patient and the chosen codes, in the editor's order.
 * @param {string} patientId
 * @param {Iterable<string>} chosen
 * @returns {{patientId: string, codes: string[]}}
 */
export function expectedBody(patientId, chosen) {
  const set = new Set(chosen);
  const codes = ExpectedChoices.filter((c) => set.has(c));
  for (const c of set) if (!codes.includes(c)) codes.push(c);
  return { patientId, codes };
}

/**
 * @param {string} tag
 * @param {string} [className]
 * @param {string} [text]
 * @returns {HTMLElement}
 */
function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** The checklist and its editor, in the vitals panel. */
export class ExpectedChecklist {
  /**
   * @param {HTMLElement} parent where it goes (appended)
   * @param {{api: import('./api.js').API, appointmentId: string,
   *   words?: typeof expectedStrings.en, vitalsWords?: typeof vitalsStrings.en,
   *   now?: () => Date}} opts
   */
  constructor(parent, opts) {
    this.api = opts.api;
    this.id = opts.appointmentId;
    this.w = opts.words || expectedWords();
    this.vw = opts.vitalsWords || vitalsStrings.en;
    this.now = opts.now || (() => new Date());
    this.patientId = '';
    this.stopped = false;
    /** @type {ReturnType<typeof setInterval>|undefined} */
    this.timer = undefined;
    /** @type {Array<{code: string, arrived: boolean}>} */
    this.items = [];

    this.root = el('div', 'expected');
    this.root.hidden = true;
    this.root.append(el('h3', 'expected-title', this.w.heading));
    this.none = el('p', 'expected-none', this.w.none);
    this.list = el('ul', 'expected-list');
    this.editor = /** @type {HTMLDetailsElement} */ (el('details', 'expected-edit'));
    this.editor.append(el('summary', '', this.w.edit));
    /** @type {Map<string, HTMLInputElement>} */
    this.boxes = new Map();
    for (const code of ExpectedChoices) {
      const label = el('label', 'expected-choice');
      const box = /** @type {HTMLInputElement} */ (el('input'));
      box.type = 'checkbox';
      box.value = code;
      box.dataset.expectedChoice = code;
      label.append(box, ' ' + expectedName(code, this.vw));
      this.boxes.set(code, box);
      this.editor.append(label);
    }
    this.saveButton = /** @type {HTMLButtonElement} */ (el('button', 'btn', this.w.save));
    this.saveButton.type = 'button';
    this.saveButton.dataset.action = 'save-expected';
    this.saveButton.addEventListener('click', () => this.save());
    this.status = el('p', 'expected-status');
    this.status.setAttribute('role', 'status');
    this.editor.append(this.saveButton, this.status);
    this.root.append(this.none, this.list, this.editor);
    parent.append(this.root);
  }

  /** Reads the appointment's patient, then the list, then every 10 seconds. */
  async start() {
    try {
      const appt = await this.api.get(`/api/v1/appointments/${encodeURIComponent(this.id)}`);
      this.patientId = typeof appt?.patientId === 'string' ? appt.patientId : '';
    } catch (err) {
      if (hides(err)) return this.stop();
    }
    if (this.stopped) return;
    await this.refresh();
    if (!this.stopped) this.timer = setInterval(() => this.refresh(), refreshMillis);
  }

  stop() {
    this.stopped = true;
    this.root.hidden = true;
    clearInterval(this.timer);
  }

  /** Asks for the list again; shows it, or hides when refused. */
  async refresh() {
    if (this.stopped) return;
    try {
      const res = await this.api.get(`/api/v1/appointments/${encodeURIComponent(this.id)}/expected`, {
        since: startOfDay(this.now()),
      });
      this.show(parseExpected(res));
    } catch (err) {
      if (hides(err)) this.stop();
      // Otherwise the network or the server: keep what is shown.
    }
  }

  /**
   * @param {Array<{code: string, arrived: boolean}>} items
   */
  show(items) {
    if (this.stopped) return;
    this.items = items;
    this.root.hidden = false;
    this.none.hidden = items.length > 0;
    this.list.replaceChildren(
      ...items.map((e) => {
        const li = el('li', 'expected-item' + (e.arrived ? ' is-arrived' : ''));
        li.dataset.expected = e.code;
        li.dataset.arrived = String(e.arrived);
        li.append(el('span', 'expected-name', expectedName(e.code, this.vw) + ': '), el('span', 'expected-state', e.arrived ? this.w.arrived : this.w.notYet));
        return li;
      }),
    );
    // The editor follows the list unless it is open (the clinician is choosing).
    if (!this.editor.open) for (const [code, box] of this.boxes) box.checked = items.some((e) => e.code === code);
    this.saveButton.disabled = !this.patientId;
  }

  /** Sends the chosen list. */
  async save() {
    if (!this.patientId) return;
    const chosen = [...this.boxes].filter(([, b]) => b.checked).map(([c]) => c);
    this.saveButton.disabled = true;
    this.status.classList.remove('is-error');
    try {
      const res = await this.api.request('PUT', `/api/v1/appointments/${encodeURIComponent(this.id)}/expected`, {
        body: expectedBody(this.patientId, chosen),
        query: { since: startOfDay(this.now()) },
      });
      this.status.textContent = this.w.saved;
      this.editor.open = false;
      this.show(parseExpected(res));
    } catch (err) {
      const e = /** @type {any} */ (err);
      this.status.textContent = this.w.failed.replace('{message}', e?.detail || e?.message || '');
      this.status.classList.add('is-error');
    } finally {
      this.saveButton.disabled = !this.patientId;
    }
  }
}
