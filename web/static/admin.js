// The clinic's configuration (/admin): its settings (name, telephone number,
// the patients' language, reminders, booking horizon, opening hours,
// departments) and its appointment types (names, length, buffers, notice,
// horizon, the home measurements a visit expects), added, changed, retired,
// offered again and deleted. Staff read it all; only admins change it, so
// for others the page is read-only. A save sends the settings' version the
// page loaded, so an admin never overwrites another's change unknowingly;
// the server's problem detail is shown as it is, and the fields it names are
// marked. The pure parts are in admin-form.js, the words in admin-text.js.

import { API, APIError, seg } from './api.js';
import {
  ExpectableCodes,
  Weekdays,
  minutesText,
  settingsBody,
  settingsForm,
  settingsProblemFields,
  typeBody,
  typeForm,
  typeProblemFields,
} from './admin-form.js';
import { strings } from './admin-text.js';
import { twoStep } from './confirm.js';
import { h, keepFocus } from './dom.js';
import { pageEnv, requireUser, signOut, takeSessionToken } from './session.js';
import { applyText, fill, pickLang, sentence } from './text.js';
import { codeName, vitalsWords } from './vitals.js';
import { mountTypeLimits } from './type-limits.js';

const t = pickLang(strings);
document.documentElement.lang = t.lang;
document.title = t.title;
applyText(document, t.text);
const vw = vitalsWords();

/**
 * @param {string} id
 * @returns {any}
 */
const $ = (id) => document.getElementById(id);

/**
 * An appointment type as GET /api/v1/appointment-types gives it.
 * @typedef {{id: string, name: string, names?: {da?: string, en?: string}, durationMinutes: number,
 *   bufferBeforeMinutes: number, bufferAfterMinutes: number, noticeMinutes: number,
 *   horizonDays: number|null, bookableDays: number, expected: string[], retired: boolean}} AppointmentType
 */

const env = pageEnv();
const api = new API({ token: takeSessionToken(env) });

const state = {
  admin: false,
  /** @type {any} the settings last loaded or saved */ settings: null,
  version: 0,
  /** @type {AppointmentType[]} */ types: [],
  /** @type {string|null} the type in the form; null for a new one */ editing: null,
  savingSettings: false,
  savingType: false,
};

const settingsStatus = $('settings-status');
const typesStatus = $('types-status');
const reloadButton = /** @type {HTMLButtonElement} */ (document.querySelector('[data-action="reload-settings"]'));
/** @param {boolean} show whether to offer to load the settings again */
const offerReload = (show) => {
  $('reload-box').hidden = !show;
};
const cancelButton = /** @type {HTMLButtonElement} */ (document.querySelector('[data-action="cancel-edit"]'));

// --- messages ---

/** @param {string} msg '' hides it */
function showError(msg) {
  $('error').textContent = msg;
  $('error').hidden = !msg;
}

/**
 * Puts a message in a status line: 'ok' for done, 'error' for not done,
 * 'busy' while waiting, '' for a plain note.
 * @param {HTMLElement} el
 * @param {string} msg
 * @param {'ok'|'error'|'busy'|''} kind
 */
function say(el, msg, kind) {
  el.textContent = msg;
  el.dataset.state = msg ? kind : '';
  el.classList.toggle('ok', !!msg && kind === 'ok');
  el.classList.toggle('error', !!msg && kind === 'error');
}

/**
 * A failed request in words: the server's detail as a sentence.
 * @param {unknown} err
 * @returns {string}
 */
function detail(err) {
  if (err instanceof APIError) return err.status === 0 ? sentence(t.network) : sentence(err.detail || `HTTP ${err.status}`);
  return String(err);
}

/** @param {unknown} err */
async function signInIfNeeded(err) {
  if (err instanceof APIError && err.status === 401) {
    await requireUser(api); // sends the browser to sign in
    return true;
  }
  return false;
}

/** @param {HTMLElement} root */
function clearInvalid(root) {
  for (const el of root.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
}

/**
 * Marks the inputs as invalid and moves focus to the first.
 * @param {Array<HTMLElement|null>} inputs
 */
function markInvalid(inputs) {
  const found = /** @type {HTMLElement[]} */ (inputs.filter(Boolean));
  for (const el of found) el.setAttribute('aria-invalid', 'true');
  found[0]?.focus();
}

// --- clinic settings ---

/** @returns {import('./admin-form.js').SettingsForm} */
function readSettingsForm() {
  /** @type {Record<string, string>} */
  const hours = {};
  for (const d of Weekdays) hours[d] = $('s-hours-' + d).value;
  return {
    name: $('s-name').value,
    phone: $('s-phone').value,
    language: $('s-language').value,
    reminders: $('s-reminders').value,
    horizonDays: $('s-horizon').value,
    guestsByPatient: /** @type {HTMLInputElement} */ ($('s-guests')).checked,
    hours,
    departments: readDepartments(),
  };
}

/** @param {any} st */
function fillSettings(st) {
  const f = settingsForm(st);
  $('s-name').value = f.name;
  $('s-phone').value = f.phone;
  $('s-language').value = f.language;
  $('s-reminders').value = f.reminders;
  $('s-horizon').value = f.horizonDays;
  /** @type {HTMLInputElement} */ ($('s-guests')).checked = !!f.guestsByPatient;
  for (const d of Weekdays) $('s-hours-' + d).value = f.hours[d];
  renderDepartments(f.departments);
  clearInvalid($('settings-form'));
}

/** @returns {Array<{id: string, da: string, en: string}>} */
function readDepartments() {
  return [...$('departments').querySelectorAll('fieldset.dept')].map((fs) => ({
    id: fs.querySelector('[data-key="id"]').value,
    da: fs.querySelector('[data-key="da"]').value,
    en: fs.querySelector('[data-key="en"]').value,
  }));
}

/** @param {Array<{id: string, da: string, en: string}>} rows */
function renderDepartments(rows) {
  $('departments').replaceChildren(...rows.map(departmentRow));
  $('dept-none').hidden = rows.length > 0;
}

/**
 * One department: its id and names, and Remove.
 * @param {{id: string, da: string, en: string}} d
 * @param {number} i
 */
function departmentRow(d, i) {
  /**
   * @param {'id'|'da'|'en'} key
   * @param {string} label
   * @param {Record<string, any>} extra
   */
  const field = (key, label, extra) =>
    h(
      'p',
      { className: 'field' },
      h('label', { htmlFor: `dept-${i}-${key}` }, label),
      h('input', { id: `dept-${i}-${key}`, name: `department-${key}`, value: d[key], autocomplete: 'off', 'data-key': key, ...extra }),
    );
  return h(
    'fieldset',
    { className: 'dept', 'data-dept': String(i) },
    h('legend', {}, fill(t.dept, { n: i + 1 })),
    field('id', t.deptId, { spellcheck: false, 'aria-describedby': 'dept-id-hint' }),
    field('da', t.deptDa, { lang: 'da' }),
    field('en', t.deptEn, { lang: 'en' }),
    h(
      'p',
      { className: 'dept-remove' },
      h(
        'button',
        {
          type: 'button',
          className: 'btn btn-small',
          'data-action': 'remove-department',
          'aria-label': fill(t.removeDeptLabel, { n: i + 1 }),
          onclick: () => removeDepartment(i),
        },
        t.removeDept,
      ),
    ),
  );
}

/** @param {number} i */
function removeDepartment(i) {
  const rows = readDepartments();
  rows.splice(i, 1);
  renderDepartments(rows);
  say(settingsStatus, t.deptRemoved, '');
  const next = $(`dept-${Math.min(i, rows.length - 1)}-id`) || document.querySelector('[data-action="add-department"]');
  next?.focus();
}

function addDepartment() {
  const rows = readDepartments();
  rows.push({ id: '', da: '', en: '' });
  renderDepartments(rows);
  $(`dept-${rows.length - 1}-id`).focus();
}

/**
 * The input a field of the settings names ("hours.tuesday",
 * "departments.1.names"), with rows mapping the body's departments to the
 * form's rows.
 * @param {string} field
 * @param {number[]} rows
 * @returns {HTMLElement[]}
 */
function settingsInputs(field, rows) {
  const [head, a, b] = field.split('.');
  switch (head) {
    case 'name':
      return [$('s-name')];
    case 'phone':
      return [$('s-phone')];
    case 'language':
      return [$('s-language')];
    case 'reminders':
      return [$('s-reminders')];
    case 'horizonDays':
      return [$('s-horizon')];
    case 'hours':
      return a ? [$('s-hours-' + a)] : Weekdays.map((d) => $('s-hours-' + d));
    case 'departments': {
      if (a === undefined) return [];
      const row = rows[Number(a)] ?? Number(a);
      return b === 'id' ? [$(`dept-${row}-id`)] : [$(`dept-${row}-da`), $(`dept-${row}-en`)];
    }
  }
  return [];
}

/** @param {import('./admin-form.js').FormError} e */
function settingsErrorText(e) {
  if (e.field.startsWith('hours.')) return fill(t.badHours, { day: t.text[/** @type {keyof typeof t.text} */ (e.field.slice(6))] });
  return t.badHorizon;
}

async function saveSettings() {
  if (state.savingSettings || !state.admin) return;
  clearInvalid($('settings-form'));
  const { body, errors, rows } = settingsBody(readSettingsForm(), state.version);
  if (!body) {
    say(settingsStatus, errors.map(settingsErrorText).join(' '), 'error');
    markInvalid(errors.flatMap((e) => settingsInputs(e.field, rows)));
    return;
  }
  state.savingSettings = true;
  say(settingsStatus, t.saving, 'busy');
  try {
    const st = await api.request('PUT', '/api/v1/settings', { body });
    state.settings = st;
    state.version = st.version || 0;
    fillSettings(st);
    offerReload(false);
    say(settingsStatus, fill(t.saved, { time: new Date().toLocaleTimeString(t.locale, { hour: '2-digit', minute: '2-digit' }) }), 'ok');
    renderTypes(); // the clinic's horizon shows there
  } catch (err) {
    if (await signInIfNeeded(err)) return;
    if (err instanceof APIError && err.status === 409) {
      say(settingsStatus, fill(t.conflict, { detail: detail(err) }), 'error');
      offerReload(true);
    } else {
      say(settingsStatus, fill(t.notSaved, { detail: detail(err) }), 'error');
      if (err instanceof APIError && err.status === 422) {
        markInvalid(settingsProblemFields(err.detail).flatMap((f) => settingsInputs(f, rows)));
      }
    }
  } finally {
    state.savingSettings = false;
  }
}

/** @returns {Promise<boolean>} whether the settings came */
async function loadSettings() {
  try {
    const st = await api.get('/api/v1/settings');
    state.settings = st;
    state.version = st?.version || 0;
    fillSettings(st);
    return true;
  } catch (err) {
    if (await signInIfNeeded(err)) return false;
    say(settingsStatus, fill(t.loadFailed, { detail: detail(err) }), 'error');
    offerReload(true);
    return false;
  }
}

async function reloadSettings() {
  say(settingsStatus, t.loading, 'busy');
  if (!(await loadSettings())) return;
  say(settingsStatus, t.reloaded, '');
  offerReload(false);
  $('settings-fields').disabled = !state.admin;
  $('s-name').focus();
}

// --- appointment types ---

/** @param {AppointmentType} ty */
function typeName(ty) {
  const n = ty.names || {};
  return (t.lang === 'da' ? n.da || n.en : n.en || n.da) || ty.name || ty.id;
}

/** @param {string} code */
function codeLabel(code) {
  return /** @type {Record<string, string>} */ (t.codes)[code] || codeName(code, vw);
}

/** @param {number} minutes */
function minutes(minutes) {
  return minutesText(minutes, t.units);
}

/** @param {AppointmentType} ty */
function horizonText(ty) {
  if (typeof ty.horizonDays === 'number') return fill(t.days, { n: ty.horizonDays });
  return fill(t.clinicsHorizon, { n: state.settings?.horizonDays || ty.bookableDays });
}

/** @type {{setTypes: (types: any[]) => void}|null} the types' default limits */
let typeLimits = null;

function renderTypes() {
  typeLimits?.setTypes(state.types);
  const body = $('types-body');
  keepFocus(body, () => body.replaceChildren(...state.types.map(typeRow)));
  $('types-none').hidden = state.types.length > 0;
  $('th-actions').hidden = !state.admin;
}

/**
 * One type: a row of the table, with Edit, Retire or Offer again, and
 * Delete for admins. Its buttons are named by their word and the type's
 * name (aria-labelledby: the button and the row's header).
 * @param {AppointmentType} ty
 */
function typeRow(ty) {
  const head = `type-${ty.id}`;
  /**
   * @param {string} label
   * @param {...(Node|string)} content
   */
  const cell = (label, ...content) => h('td', { role: 'cell', 'data-label': label }, ...content);
  const expected = ty.expected?.length ? ty.expected.map(codeLabel).join(', ') : t.noExpected;
  const cells = [
    h('th', { scope: 'row', role: 'rowheader', id: head, 'data-label': t.text.thDa, lang: 'da' }, ty.names?.da || '—'),
    h('td', { role: 'cell', 'data-label': t.text.thEn, lang: 'en' }, ty.names?.en || '—'),
    cell(t.text.thDuration, minutes(ty.durationMinutes)),
    cell(t.text.thBuffers, `${minutes(ty.bufferBeforeMinutes)} / ${minutes(ty.bufferAfterMinutes)}`),
    cell(t.text.thNotice, minutes(ty.noticeMinutes ?? 0)),
    cell(t.text.thHorizon, horizonText(ty)),
    cell(t.text.thExpected, expected),
    cell(t.text.thState, ty.retired ? t.retiredState : t.offered),
  ];
  if (state.admin) {
    /**
     * @param {string} id
     * @param {string} action
     * @param {string} text
     * @param {string} className
     */
    const button = (id, action, text, className) =>
      h('button', { type: 'button', id, className, 'data-action': action, 'data-type-id': ty.id, 'aria-labelledby': `${id} ${head}` }, text);
    const edit = button(`edit-${ty.id}`, 'edit-type', t.edit, 'btn btn-small');
    edit.addEventListener('click', () => startEdit(ty));
    const toggle = ty.retired
      ? button(`state-${ty.id}`, 'unretire-type', t.unretire, 'btn btn-small')
      : button(`state-${ty.id}`, 'retire-type', t.retire, 'btn btn-small');
    toggle.addEventListener('click', () => setRetired(ty, !ty.retired));
    const del = button(`delete-${ty.id}`, 'delete-type', t.del, 'btn btn-small btn-danger');
    twoStep(del, { confirmText: () => t.delConfirm, onConfirm: () => deleteType(ty) });
    cells.push(h('td', { role: 'cell', 'data-label': t.text.thActions }, h('div', { className: 'type-actions' }, edit, toggle, del)));
  }
  return h('tr', { role: 'row', 'data-type-id': ty.id, 'data-retired': String(!!ty.retired), className: ty.retired ? 'is-retired' : '' }, ...cells);
}

/** @returns {Promise<boolean>} whether the types came */
async function loadTypes() {
  try {
    const ts = await api.get('/api/v1/appointment-types');
    state.types = Array.isArray(ts) ? ts : [];
    renderTypes();
    return true;
  } catch (err) {
    if (await signInIfNeeded(err)) return false;
    say(typesStatus, fill(t.loadFailed, { detail: detail(err) }), 'error');
    return false;
  }
}

function hideOffer() {
  $('types-offer').replaceChildren();
  $('types-offer').hidden = true;
}

/**
 * Offers to retire a type that could not be deleted.
 * @param {AppointmentType} ty
 */
function offerRetire(ty) {
  const b = h(
    'button',
    { type: 'button', className: 'btn', 'data-action': 'retire-type', 'data-type-id': ty.id, onclick: () => setRetired(ty, true) },
    fill(t.retireOffer, { name: typeName(ty) }),
  );
  $('types-offer').replaceChildren(b);
  $('types-offer').hidden = false;
  b.focus();
}

/**
 * Retires a type (it is no longer offered for booking) or offers it again.
 * @param {AppointmentType} ty
 * @param {boolean} retired
 */
async function setRetired(ty, retired) {
  const name = typeName(ty);
  hideOffer();
  say(typesStatus, t.saving, 'busy');
  try {
    await api.request('PUT', `/api/v1/appointment-types/${seg(ty.id)}`, { body: { retired } });
    say(typesStatus, fill(retired ? t.retired : t.unretired, { name }), 'ok');
  } catch (err) {
    if (await signInIfNeeded(err)) return;
    say(typesStatus, fill(t.notSaved, { detail: detail(err) }), 'error');
  }
  await loadTypes();
  $(`state-${ty.id}`)?.focus();
}

/** @param {AppointmentType} ty */
async function deleteType(ty) {
  const name = typeName(ty);
  hideOffer();
  say(typesStatus, t.deleting, 'busy');
  try {
    await api.request('DELETE', `/api/v1/appointment-types/${seg(ty.id)}`);
  } catch (err) {
    if (await signInIfNeeded(err)) return;
    say(typesStatus, fill(t.notDeleted, { detail: detail(err) }), 'error');
    if (err instanceof APIError && err.status === 409 && !ty.retired) offerRetire(ty);
    return;
  }
  say(typesStatus, fill(t.deleted, { name }), 'ok');
  if (state.editing === ty.id) resetTypeForm();
  const at = state.types.findIndex((x) => x.id === ty.id);
  await loadTypes();
  const next = state.types[Math.min(at, state.types.length - 1)];
  (next ? $(`edit-${next.id}`) : $('t-da'))?.focus();
}

/**
 * The checkboxes of the measurements a type may expect: those the home kit
 * takes, and any other code the type has already.
 * @param {string[]} checked
 */
function renderCodes(checked) {
  const codes = [...ExpectableCodes, ...checked.filter((c) => !ExpectableCodes.includes(c))];
  $('t-codes').replaceChildren(
    ...codes.map((c) =>
      h(
        'label',
        { className: 'check' },
        h('input', { type: 'checkbox', name: 'expected', value: c, id: `t-exp-${c}`, checked: checked.includes(c) }),
        h('span', {}, codeLabel(c)),
        ' ',
        h('span', { className: 'code' }, `(${c})`),
      ),
    ),
  );
}

/** @returns {import('./admin-form.js').TypeForm} */
function readTypeForm() {
  return {
    da: $('t-da').value,
    en: $('t-en').value,
    duration: $('t-duration').value,
    bufferBefore: $('t-before').value,
    bufferAfter: $('t-after').value,
    notice: $('t-notice').value,
    horizon: $('t-horizon').value,
    expected: [...$('t-codes').querySelectorAll('input[name="expected"]:checked')].map((i) => i.value),
  };
}

/** @param {import('./admin-form.js').TypeForm} f */
function fillTypeForm(f) {
  $('t-da').value = f.da;
  $('t-en').value = f.en;
  $('t-duration').value = f.duration;
  $('t-before').value = f.bufferBefore;
  $('t-after').value = f.bufferAfter;
  $('t-notice').value = f.notice;
  $('t-horizon').value = f.horizon;
  renderCodes(f.expected);
  clearInvalid($('type-form'));
}

/** Empties the form for a new type. */
function resetTypeForm() {
  state.editing = null;
  fillTypeForm(typeForm());
  $('type-form-title').textContent = t.addType;
  $('t-save').textContent = t.addButton;
  cancelButton.hidden = true;
}

/** @param {AppointmentType} ty */
function startEdit(ty) {
  hideOffer();
  state.editing = ty.id;
  fillTypeForm(typeForm(ty));
  $('type-form-title').textContent = fill(t.editType, { name: typeName(ty) });
  $('t-save').textContent = t.saveButton;
  cancelButton.hidden = false;
  $('type-form-title').focus();
  $('type-form-title').scrollIntoView?.({ block: 'nearest' });
}

/** @param {string} field */
function typeInputs(field) {
  /** @type {Record<string, string[]>} */
  const ids = {
    names: ['t-da', 't-en'],
    duration: ['t-duration'],
    bufferBefore: ['t-before'],
    bufferAfter: ['t-after'],
    notice: ['t-notice'],
    horizon: ['t-horizon'],
  };
  if (field === 'expected') return [$('t-codes').querySelector('input')];
  return (ids[field] || []).map((id) => $(id));
}

/** @param {import('./admin-form.js').FormError} e */
function typeErrorText(e) {
  if (e.field === 'names') return t.badNames;
  const field = /** @type {Record<string, string>} */ (t.fields)[e.field] || e.field;
  return fill(e.value.trim() ? t.badNumber : t.required, { field });
}

async function saveType() {
  if (state.savingType || !state.admin) return;
  clearInvalid($('type-form'));
  hideOffer();
  const { body, errors } = typeBody(readTypeForm());
  if (!body) {
    say(typesStatus, errors.map(typeErrorText).join(' '), 'error');
    markInvalid(errors.flatMap((e) => typeInputs(e.field)));
    return;
  }
  const editing = state.editing;
  const name = (t.lang === 'da' ? body.names.da || body.names.en : body.names.en || body.names.da) || '';
  state.savingType = true;
  say(typesStatus, t.saving, 'busy');
  try {
    if (editing) await api.request('PUT', `/api/v1/appointment-types/${seg(editing)}`, { body });
    else await api.post('/api/v1/appointment-types', body);
  } catch (err) {
    state.savingType = false;
    if (await signInIfNeeded(err)) return;
    say(typesStatus, fill(t.notSaved, { detail: detail(err) }), 'error');
    if (err instanceof APIError && err.status === 422) markInvalid(typeProblemFields(err.detail).flatMap(typeInputs));
    return;
  }
  state.savingType = false;
  resetTypeForm();
  say(typesStatus, fill(editing ? t.typeSaved : t.added, { name }), 'ok');
  await loadTypes();
  if (editing) $(`edit-${editing}`)?.focus();
}

// --- wiring ---

$('settings-form').addEventListener('submit', (/** @type {Event} */ ev) => {
  ev.preventDefault();
  saveSettings();
});
$('type-form').addEventListener('submit', (/** @type {Event} */ ev) => {
  ev.preventDefault();
  saveType();
});
document.querySelector('[data-action="add-department"]')?.addEventListener('click', addDepartment);
reloadButton.addEventListener('click', reloadSettings);
cancelButton.addEventListener('click', () => {
  const was = state.editing;
  resetTypeForm();
  say(typesStatus, '', '');
  (was ? $(`edit-${was}`) : null)?.focus();
});
$('type-form').addEventListener('keydown', (/** @type {KeyboardEvent} */ ev) => {
  if (ev.key === 'Escape' && state.editing) cancelButton.click();
});
$('sign-out').addEventListener('click', () => signOut(api, env.storage));

async function main() {
  let me;
  try {
    me = await requireUser(api);
  } catch (err) {
    showError(fill(t.loadFailed, { detail: detail(err) }));
    setTimeout(main, 5000);
    return;
  }
  showError('');
  $('who').textContent = fill(t.who, { name: me.name || me.username });
  state.admin = me.role === 'admin';
  $('read-only').hidden = state.admin;
  $('to-review').hidden = !state.admin;
  $('type-form').hidden = !state.admin;
  say(settingsStatus, t.loading, 'busy');
  const [settingsLoaded] = await Promise.all([loadSettings(), loadTypes()]);
  if (settingsLoaded) say(settingsStatus, '', '');
  typeLimits = mountTypeLimits($('type-limits'), { api, lang: t.lang, admin: state.admin, types: state.types });
  $('settings-fields').disabled = !state.admin || !settingsLoaded;
  $('type-fields').disabled = !state.admin;
  document.body.dataset.adminState = 'ready';
}

resetTypeForm();
main();
