// The scheduler's calendar (/calendar): pick a clinician and a week (Monday to
// Sunday, local time), see the appointments, ask for free times of an
// appointment type, pick or create a patient and book; then hand over the
// patient's link (copy) and the invitation (.ics). An appointment opens to be
// moved or cancelled. A booking sends an Idempotency-Key made once per
// attempt, so a double click or a retry books once. All its words are here,
// in English and Danish.

import { API, APIError, idempotencyKey, seg } from './api.js';
import { isCancelled, isOpen, latestReply, normalizeEntries, statusText } from './appt.js';
import { twoStep } from './confirm.js';
import { h, keepFocus } from './dom.js';
import { GatewayPanel } from './gateways.js';
import { PatientPicker, patientLabel } from './patients.js';
import { pageEnv, requireUser, signOut, takeSessionToken } from './session.js';
import { applyText, fill, pickLang } from './text.js';
import {
  addDays,
  dateTimeValue,
  dateValue,
  formatDay,
  formatShortDay,
  formatSpan,
  formatTime,
  fromInputValue,
  isoWeek,
  localizeTimes,
  parseTime,
  rfc3339,
  sameDay,
  startOfWeek,
  weekRange,
  zone,
  zoneLabel,
} from './time.js';
import { strings } from './calendar-text.js';

/** How often the week is fetched again while the page is visible. */
const RefreshMs = 60000;

const t = pickLang(strings);
document.documentElement.lang = t.lang;
document.title = t.title;
applyText(document, t.text);

/**
 * @param {string} id
 * @returns {any}
 */
const $ = (id) => document.getElementById(id);

/** @typedef {import('./appt.js').Appointment} Appointment */
/** @typedef {{id: string, name: string, department?: string, zone?: string}} Clinician */
/** @typedef {{id: string, name: string, names?: {da?: string, en?: string}, durationMinutes: number}} AppointmentType */
/** @typedef {{start: Date, end: Date, startText: string}} Slot */
/**
 * What the panel above the week shows.
 * @typedef {{kind: 'book', slot: Slot, key: string, error: string, busy: boolean}
 *   | {kind: 'booked', appt: Appointment}
 *   | {kind: 'appt', id: string, error: string, busy: boolean, moveTo: string}} Panel
 */

const env = pageEnv();
const api = new API({ token: takeSessionToken(env) });
const params = new URLSearchParams(location.search);

const state = {
  /** @type {Clinician[]} */ clinicians: [],
  /** @type {AppointmentType[]} */ types: [],
  clinicianId: params.get('clinician') || '',
  typeId: params.get('type') || '',
  week: startOfWeek(fromInputValue(params.get('week') || '') || new Date()),
  showSlots: false,
  /** @type {ReturnType<typeof normalizeEntries>} */ entries: [],
  /** @type {Slot[]} */ slots: [],
  /** @type {Panel|null} */ panel: null,
};

let loading = /** @type {AbortController|null} */ (null);
let refreshTimer = 0;

// --- messages ---

/** @param {string} msg '' hides it */
function showError(msg) {
  $('error').textContent = msg;
  $('error').hidden = !msg;
}

/**
 * Says that something was done (moved, cancelled, created).
 * @param {string} msg '' hides it
 */
function showDone(msg) {
  $('done').textContent = msg;
  $('done').hidden = !msg;
}

/**
 * A failed request in plain words, with the server's detail when it has one.
 * @param {unknown} err
 * @param {'book'|'move'|'cancel'|'patient'|'load'} what
 * @returns {string}
 */
function plain(err, what) {
  if (!(err instanceof APIError)) return String(err);
  if (err.status === 0) return what === 'book' ? t.err.networkBook : t.err.network;
  const lead = (t.err[`${what}${err.status}`] || t.err[String(err.status)] || t.err.other).trim();
  return err.detail ? `${lead} (${localizeTimes(err.detail, t.locale)})` : lead;
}

/** @param {unknown} err */
async function signInIfNeeded(err) {
  if (err instanceof APIError && err.status === 401) {
    await requireUser(api); // sends the browser to sign in
    return true;
  }
  return false;
}

// --- the week ---

/** Keeps the clinician, week and type in the address, for reloads and bookmarks. */
function saveInURL() {
  const q = new URLSearchParams(location.search);
  q.set('clinician', state.clinicianId);
  q.set('week', dateValue(state.week));
  if (state.typeId) q.set('type', state.typeId);
  history.replaceState(history.state, '', location.pathname + '?' + q.toString());
}

/** Fetches the week's appointments (and free times when shown) and draws them. */
async function loadWeek() {
  clearTimeout(refreshTimer);
  loading?.abort();
  const ctl = new AbortController();
  loading = ctl;
  saveInURL();
  renderWeekHead();
  if (!state.clinicianId) return;
  const { from, to } = weekRange(state.week);
  const range = { from: rfc3339(from), to: rfc3339(to) };
  const base = `/api/v1/clinicians/${seg(state.clinicianId)}`;
  $('note').textContent = t.loading;
  try {
    /** @type {Date|null} the type's booking horizon, when the week reaches past it */
    let horizon = null;
    const [entries, slots] = await Promise.all([
      api.get(base + '/appointments', range, ctl.signal),
      state.showSlots && state.typeId
        ? api.get(base + '/slots', { ...range, type: state.typeId }, ctl.signal).catch((err) => {
            // The week reaches past how far ahead the type books: ask up to
            // the last bookable start instead, and say so.
            const until = err instanceof APIError && err.status === 422 ? bookableUntil(err.problem) : null;
            if (!until) throw err;
            horizon = until;
            if (until <= from) return null;
            return api.get(base + '/slots', { ...range, to: rfc3339(new Date(until.getTime() + 1000)), type: state.typeId }, ctl.signal);
          })
        : Promise.resolve(null),
    ]);
    if (loading !== ctl) return;
    state.entries = normalizeEntries(entries);
    state.slots = toSlots(slots);
    let note = state.showSlots ? fill(t.freeCount, { n: state.slots.length }) : '';
    if (state.showSlots && horizon) note += ' ' + fill(t.bookableUntil, { day: formatDay(horizon, t.locale) });
    $('note').textContent = note;
    showError('');
    renderWeek();
  } catch (err) {
    if (loading !== ctl || (err && /** @type {any} */ (err).name === 'AbortError')) return;
    if (await signInIfNeeded(err)) return;
    $('note').textContent = '';
    showError(plain(err, 'load'));
  } finally {
    if (loading === ctl) {
      loading = null;
      refreshTimer = setTimeout(() => document.visibilityState === 'visible' && loadWeek(), RefreshMs);
    }
  }
}

/**
 * The last bookable start a slot search's 422 names (RFC 9457 extension
 * member bookableUntil), or null.
 * @param {any} problem
 * @returns {Date|null}
 */
function bookableUntil(problem) {
  const s = problem && typeof problem.bookableUntil === 'string' ? problem.bookableUntil : '';
  const d = s ? new Date(s) : null;
  return d && !Number.isNaN(d.getTime()) ? d : null;
}

/**
 * @param {any} body the slots answer
 * @returns {Slot[]}
 */
function toSlots(body) {
  const list = body && Array.isArray(body.slots) ? body.slots : [];
  /** @type {Slot[]} */
  const out = [];
  for (const s of list) {
    const start = parseTime(s?.start);
    const end = parseTime(s?.end);
    if (start && end) out.push({ start, end, startText: s.start });
  }
  return out.sort((a, b) => a.start.getTime() - b.start.getTime());
}

function renderWeekHead() {
  const { days } = weekRange(state.week);
  const last = days[6];
  $('week-title').textContent = fill(t.weekTitle, {
    n: isoWeek(state.week),
    from: formatShortDay(days[0], t.locale),
    to: formatShortDay(last, t.locale),
    year: last.getFullYear(),
  });
  $('week-date').value = dateValue(state.week);
  const c = state.clinicians.find((x) => x.id === state.clinicianId);
  const here = zone(t.locale, state.week).id;
  let z = fill(t.zone, { zone: zoneLabel(t.locale, state.week) });
  if (c?.zone && here && c.zone !== here) z += ' ' + fill(t.otherZone, { name: c.name, zone: c.zone });
  $('zone').textContent = z;
}

function renderWeek() {
  const { days } = weekRange(state.week);
  const today = new Date();
  const selected = state.panel?.kind === 'appt' ? state.panel.id : state.panel?.kind === 'booked' ? state.panel.appt.id : '';
  const p = state.panel;
  const moving = p?.kind === 'appt' && state.entries.some((e) => e.appointment.id === p.id && isOpen(e.appointment.status));
  const chosenSlot = state.panel?.kind === 'book' ? state.panel.slot.startText : '';
  const cols = days.map((day) => {
    const items = [];
    for (const e of state.entries) {
      if (!sameDay(e.start, day)) continue;
      items.push({ at: e.start.getTime(), kind: 'li-appt', el: apptButton(e, e.appointment.id === selected) });
    }
    for (const s of state.slots) {
      if (!sameDay(s.start, day)) continue;
      items.push({ at: s.start.getTime(), kind: 'li-slot', el: slotButton(s, moving, s.startText === chosenSlot) });
    }
    items.sort((a, b) => a.at - b.at);
    const list = items.length
      ? h('ul', {}, ...items.map((i) => h('li', { className: i.kind }, i.el)))
      : h('p', { className: 'none' }, t.nothing);
    return h(
      'section',
      { className: 'day' + (sameDay(day, today) ? ' is-today' : ''), 'data-day': dateValue(day) },
      h('h3', {}, formatShortDay(day, t.locale)),
      list,
    );
  });
  keepFocus($('week'), () => $('week').replaceChildren(...cols));
}

/**
 * @param {ReturnType<typeof normalizeEntries>[number]} e
 * @param {boolean} pressed
 */
function apptButton(e, pressed) {
  const a = e.appointment;
  const span = formatSpan(e.start, e.end, t.locale);
  const status = a.status !== 'booked' ? statusText(t.lang, a.status) : '';
  const reply = isOpen(a.status) ? latestReply(t.lang, /** @type {any} */ (a).replies) : null;
  return h(
    'button',
    {
      type: 'button',
      className: 'appt' + (isCancelled(a.status) ? ' is-cancelled' : isOpen(a.status) ? '' : ' is-closed'),
      'data-appointment': a.id,
      'data-status': a.status,
      'aria-pressed': String(pressed),
      onclick: () => openAppt(a.id),
    },
    h('span', { className: 'a-time' }, span),
    h('span', { className: 'a-name' }, a.patientName || t.someone),
    status ? h('span', { className: 'a-status' }, ' · ' + status) : null,
    reply ? h('span', { className: 'a-reply', 'data-patient-reply': reply.kind }, reply.text) : null,
  );
}

/**
 * @param {Slot} s
 * @param {boolean} moving an appointment is open: the slot offers to move it here
 * @param {boolean} chosen
 */
function slotButton(s, moving, chosen) {
  const time = formatTime(s.start, t.locale);
  const label = fill(moving ? t.moveHereLabel : t.bookLabel, { time, day: formatDay(s.start, t.locale) });
  return h(
    'button',
    {
      type: 'button',
      className: moving ? 'slot is-move' : 'slot',
      'data-slot': s.startText,
      'aria-label': label,
      'aria-pressed': String(chosen),
      onclick: () => (moving ? chooseMove(s) : openBook(s)),
    },
    time,
  );
}

// --- the panel: book, booked, one appointment ---

/** @param {Slot} slot */
function openBook(slot) {
  showDone('');
  state.panel = { kind: 'book', slot, key: idempotencyKey(), error: '', busy: false };
  renderPanel(true);
  renderWeek();
}

/** @param {string} id */
function openAppt(id) {
  showDone('');
  const e = state.entries.find((x) => x.appointment.id === id);
  state.panel = { kind: 'appt', id, error: '', busy: false, moveTo: e ? dateTimeValue(e.start) : '' };
  renderPanel(true);
  renderWeek();
}

function closePanel() {
  state.panel = null;
  renderPanel(false);
  renderWeek();
}

/**
 * @param {boolean} focus move keyboard focus to the panel (it was opened)
 */
function renderPanel(focus) {
  const panel = $('panel');
  const p = state.panel;
  panel.hidden = !p;
  if (!p) {
    $('panel-body').replaceChildren();
    return;
  }
  keepFocus(panel, () => {
    if (p.kind === 'book') renderBook(p);
    else if (p.kind === 'booked') renderBooked(p.appt);
    else renderAppt(p);
  });
  if (focus) {
    panel.focus({ preventScroll: true });
    panel.scrollIntoView({ block: 'nearest' });
  }
}

/**
 * Puts children into the panel, leaving out the empty ones.
 * @param {...(Node|null|undefined|false)} children
 */
function panelBody(...children) {
  $('panel-body').replaceChildren(.../** @type {Node[]} */ (children.filter(Boolean)));
}

/** @param {Extract<Panel, {kind: 'book'}>} p */
function renderBook(p) {
  $('panel-title').textContent = t.bookTitle;
  const patient = picker.chosen;
  const type = state.types.find((x) => x.id === state.typeId);
  const clin = state.clinicians.find((x) => x.id === state.clinicianId);
  const bookButton = h('button', { type: 'button', className: 'btn btn-main', 'data-action': 'book', disabled: !patient || p.busy, onclick: () => book() }, p.busy ? t.booking : t.book);
  panelBody(
    h(
      'dl',
      {},
      h('dt', {}, t.when),
      h('dd', {}, `${capitalize(formatDay(p.slot.start, t.locale))}, ${formatSpan(p.slot.start, p.slot.end, t.locale)} (${zone(t.locale, p.slot.start).short})`),
      h('dt', {}, t.clinicianLabel),
      h('dd', {}, clin?.name || ''),
      h('dt', {}, t.typeLabel),
      h('dd', {}, type ? typeName(type) : ''),
      h('dt', {}, t.patientLabel),
      h('dd', {}, patient ? patientLabel(patient) : h('strong', {}, t.choosePatient)),
    ),
    p.error ? h('p', { className: 'error', role: 'alert' }, p.error) : null,
    h('div', { className: 'actions' }, bookButton, h('button', { type: 'button', className: 'btn', onclick: closePanel }, t.close)),
  );
}

/** Books the chosen slot for the chosen patient, once however often it is pressed. */
async function book() {
  const p = state.panel;
  if (!p || p.kind !== 'book' || p.busy || !picker.id) return;
  p.busy = true;
  p.error = '';
  renderPanel(false);
  /** @type {Record<string, any>} */
  const body = { clinicianId: state.clinicianId, patientId: picker.id, start: p.slot.startText };
  if (state.typeId) body.typeId = state.typeId;
  else body.durationMinutes = Math.round((p.slot.end.getTime() - p.slot.start.getTime()) / 60000);
  try {
    /** @type {Appointment} */
    const appt = await api.post('/api/v1/appointments', body, { 'Idempotency-Key': p.key });
    if (state.panel !== p) return;
    state.panel = { kind: 'booked', appt };
    renderPanel(true);
    loadWeek();
  } catch (err) {
    if (await signInIfNeeded(err)) return;
    p.busy = false;
    p.error = plain(err, 'book');
    // A definite answer ends this attempt; after a network failure the same
    // key makes a retry safe.
    if (err instanceof APIError && err.status !== 0) p.key = idempotencyKey();
    if (state.panel === p) renderPanel(false);
    if (err instanceof APIError && (err.status === 409 || err.status === 422)) loadWeek();
  }
}

/** @param {Appointment} a */
function renderBooked(a) {
  $('panel-title').textContent = t.bookedTitle;
  const start = parseTime(a.start);
  const end = parseTime(a.end);
  panelBody(
    h('p', { className: 'ok', role: 'status' }, fill(t.booked, { name: a.patientName || t.someone })),
    h(
      'dl',
      {},
      h('dt', {}, t.when),
      h('dd', {}, start && end ? `${capitalize(formatDay(start, t.locale))}, ${formatSpan(start, end, t.locale)} (${zone(t.locale, start).short})` : ''),
      h('dt', {}, t.clinicianLabel),
      h('dd', {}, a.clinicianName || ''),
      h('dt', {}, t.patientLabel),
      h('dd', {}, a.patientName || ''),
    ),
    linkBlock(a),
    h('div', { className: 'actions' }, h('button', { type: 'button', className: 'btn', onclick: closePanel }, t.close)),
  );
}

/**
 * The patient's link with a copy button, and the invitation file.
 * @param {Appointment} a
 */
function linkBlock(a) {
  const href = `/api/v1/appointments/${seg(a.id)}/invite.ics`;
  const ics = h('a', { href, download: `invite-${a.id}.ics`, 'data-action': 'ics', onclick: (/** @type {MouseEvent} */ ev) => downloadWithToken(ev, href) }, t.ics);
  if (!a.patientLink || !isOpen(a.status)) return h('p', {}, ics);
  const input = h('input', { id: 'patient-link', type: 'text', readOnly: true, value: a.patientLink, 'aria-label': t.linkLabel });
  const done = h('span', { className: 'hint', role: 'status' });
  const copy = h('button', {
    type: 'button',
    className: 'btn btn-small',
    'data-action': 'copy-link',
    onclick: async () => {
      done.textContent = (await copyText(a.patientLink || '', input)) ? t.copied : t.copyFailed;
    },
  }, t.copy);
  return h(
    'div',
    { className: 'field' },
    h('label', { htmlFor: 'patient-link', className: 'label' }, t.linkLabel),
    h('div', { className: 'copy' }, input, copy),
    done,
    h('p', { className: 'hint' }, t.linkHint),
    h('p', {}, ics),
  );
}

/**
 * A plain link sends only the cookie. When this tab signed in with a token
 * from its link, fetch the file with the token and save it from memory.
 * @param {MouseEvent} ev
 * @param {string} href
 */
async function downloadWithToken(ev, href) {
  if (!api.token) return; // the cookie does it
  ev.preventDefault();
  const a = /** @type {HTMLAnchorElement} */ (ev.currentTarget);
  try {
    const blob = await api.blob(href);
    const url = URL.createObjectURL(blob);
    const save = h('a', { href: url, download: a.download });
    document.body.append(save);
    save.click();
    save.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (err) {
    if (await signInIfNeeded(err)) return;
    showError(plain(err, 'load'));
  }
}

/**
 * Copies text to the clipboard; falls back to selecting it in input.
 * @param {string} text
 * @param {HTMLInputElement} input
 * @returns {Promise<boolean>}
 */
async function copyText(text, input) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    input.focus();
    input.select();
    try {
      return document.execCommand('copy');
    } catch {
      return false;
    }
  }
}

/** @param {Extract<Panel, {kind: 'appt'}>} p */
function renderAppt(p) {
  const e = state.entries.find((x) => x.appointment.id === p.id);
  if (!e) {
    closePanel();
    return;
  }
  const a = e.appointment;
  $('panel-title').textContent = a.patientName || t.someone;
  const open = isOpen(a.status);
  const moveInput = h('input', { id: 'move-to', type: 'datetime-local', value: p.moveTo, step: 300, oninput: () => (p.moveTo = moveInput.value) });
  const cancelBtn = h('button', { type: 'button', className: 'btn btn-danger', 'data-action': 'cancel', disabled: p.busy }, t.cancelAppt);
  twoStep(cancelBtn, { confirmText: () => t.cancelConfirm, onConfirm: () => cancelAppt(p) });
  panelBody(
    h(
      'dl',
      {},
      h('dt', {}, t.when),
      h('dd', {}, `${capitalize(formatDay(e.start, t.locale))}, ${formatSpan(e.start, e.end, t.locale)} (${zone(t.locale, e.start).short})`),
      h('dt', {}, t.statusLabel),
      h('dd', {}, statusText(t.lang, a.status)),
      h('dt', {}, t.clinicianLabel),
      h('dd', {}, a.clinicianName || ''),
    ),
    p.error ? h('p', { className: 'error', role: 'alert' }, p.error) : null,
    linkBlock(a),
    open
      ? h(
          'div',
          { className: 'form' },
          h(
            'div',
            { className: 'row' },
            h('p', { className: 'field' }, h('label', { htmlFor: 'move-to' }, t.moveTo), moveInput),
            h('button', { type: 'button', className: 'btn', 'data-action': 'reschedule', disabled: p.busy, onclick: () => moveAppt(p) }, t.move),
          ),
          h('p', { className: 'hint' }, state.showSlots ? t.moveHint : t.moveHintNoSlots),
        )
      : null,
    h('div', { className: 'actions' }, open ? cancelBtn : null, h('button', { type: 'button', className: 'btn', onclick: closePanel }, t.close)),
  );
}

/** @param {Slot} s */
function chooseMove(s) {
  const p = state.panel;
  if (!p || p.kind !== 'appt') return;
  p.moveTo = dateTimeValue(s.start);
  renderPanel(false);
  /** @type {HTMLElement|null} */ (document.querySelector('[data-action="reschedule"]'))?.focus();
}

/** @param {Extract<Panel, {kind: 'appt'}>} p */
async function moveAppt(p) {
  const start = fromInputValue(p.moveTo);
  if (!start) {
    p.error = t.err.badTime;
    renderPanel(false);
    return;
  }
  p.busy = true;
  p.error = '';
  renderPanel(false);
  try {
    await api.post(`/api/v1/appointments/${seg(p.id)}/reschedule`, { start: rfc3339(start) });
    p.busy = false;
    if (!sameWeek(start)) state.week = startOfWeek(start);
    await loadWeek();
    showDone(fill(t.moved, { when: `${formatDay(start, t.locale)} ${formatTime(start, t.locale)}` }));
    if (state.panel === p) renderPanel(false);
  } catch (err) {
    if (await signInIfNeeded(err)) return;
    p.busy = false;
    p.error = plain(err, 'move');
    if (state.panel === p) renderPanel(false);
  }
}

/** @param {Extract<Panel, {kind: 'appt'}>} p */
async function cancelAppt(p) {
  p.busy = true;
  p.error = '';
  renderPanel(false);
  try {
    await api.post(`/api/v1/appointments/${seg(p.id)}/cancel`, {});
    p.busy = false;
    await loadWeek();
    if (state.panel === p) renderPanel(false);
    showDone(t.cancelled);
  } catch (err) {
    if (await signInIfNeeded(err)) return;
    p.busy = false;
    p.error = plain(err, 'cancel');
    if (state.panel === p) renderPanel(false);
  }
}

/** @param {Date} d */
function sameWeek(d) {
  return sameDay(startOfWeek(d), state.week);
}

// --- patients ---

const gateways = new GatewayPanel({
  api,
  t,
  explain: async (err) => ((await signInIfNeeded(err)) ? null : plain(err, 'gateway')),
});

const picker = new PatientPicker({
  api,
  t,
  onChange: () => {
    if (state.panel?.kind === 'book') renderPanel(false);
    gateways.show(picker.id, picker.chosen?.name || '');
  },
  onCreated: (p) => {
    showDone(fill(t.patientCreated, { name: p.name }));
    if (state.panel?.kind === 'book') renderPanel(false);
    gateways.show(p.id, p.name);
  },
  explain: async (err, what) => ((await signInIfNeeded(err)) ? null : plain(err, what)),
});

// --- setup ---

/** @param {AppointmentType} ty */
function typeName(ty) {
  const names = ty.names || {};
  return fill(t.typeName, { name: (t.lang === 'da' ? names.da : names.en) || ty.name, min: ty.durationMinutes });
}

/** @param {string} s */
function capitalize(s) {
  return s ? s[0].toUpperCase() + s.slice(1) : s;
}

function renderChoices() {
  $('clinician').replaceChildren(
    ...state.clinicians.map((c) => h('option', { value: c.id, selected: c.id === state.clinicianId }, c.department ? `${c.name} (${c.department})` : c.name)),
  );
  $('type').replaceChildren(...state.types.map((ty) => h('option', { value: ty.id, selected: ty.id === state.typeId }, typeName(ty))));
}

function renderSlotsToggle() {
  const b = $('show-slots');
  b.setAttribute('aria-pressed', String(state.showSlots));
  b.textContent = state.showSlots ? t.hideSlots : t.text.showSlots;
}

/** @param {Date} week */
function goToWeek(week) {
  state.week = startOfWeek(week);
  if (state.panel?.kind === 'book') state.panel = null;
  renderPanel(false);
  state.entries = [];
  state.slots = [];
  renderWeek();
  loadWeek();
}

$('clinician').addEventListener('change', () => {
  state.clinicianId = $('clinician').value;
  state.panel = null;
  renderPanel(false);
  goToWeek(state.week);
});
$('type').addEventListener('change', () => {
  state.typeId = $('type').value;
  if (state.panel?.kind === 'book') closePanel();
  if (state.showSlots) loadWeek();
});
$('show-slots').addEventListener('click', () => {
  state.showSlots = !state.showSlots;
  if (!state.showSlots) state.slots = [];
  renderSlotsToggle();
  renderWeek();
  loadWeek();
});
$('prev-week').addEventListener('click', () => goToWeek(addDays(state.week, -7)));
$('next-week').addEventListener('click', () => goToWeek(addDays(state.week, 7)));
$('this-week').addEventListener('click', () => goToWeek(new Date()));
$('week-date').addEventListener('change', () => {
  const d = fromInputValue($('week-date').value);
  if (d) goToWeek(d);
});
$('panel').addEventListener('keydown', (/** @type {KeyboardEvent} */ ev) => {
  if (ev.key === 'Escape') closePanel();
});
$('sign-out').addEventListener('click', () => signOut(api, env.storage));
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && state.clinicianId && !loading) loadWeek();
});

async function main() {
  let me;
  try {
    me = await requireUser(api);
  } catch (err) {
    showError(plain(err, 'load'));
    setTimeout(main, 5000);
    return;
  }
  $('who').textContent = fill(t.who, { name: me.name || me.username });
  $('to-console').hidden = !me.clinicianId;
  $('to-admin').hidden = me.role !== 'admin';
  $('to-review').hidden = me.role !== 'admin';
  try {
    const [clinicians, types] = await Promise.all([api.get('/api/v1/clinicians'), api.get('/api/v1/appointment-types', { retired: 'false' })]);
    state.clinicians = Array.isArray(clinicians) ? clinicians : [];
    state.types = Array.isArray(types) ? types : [];
  } catch (err) {
    if (await signInIfNeeded(err)) return;
    showError(plain(err, 'load'));
    return;
  }
  if (!state.clinicians.some((c) => c.id === state.clinicianId)) {
    state.clinicianId = me.clinicianId && state.clinicians.some((c) => c.id === me.clinicianId) ? me.clinicianId : state.clinicians[0]?.id || '';
  }
  if (!state.types.some((ty) => ty.id === state.typeId)) state.typeId = state.types[0]?.id || '';
  if (!state.clinicians.length) showError(t.err.noClinicians);
  renderChoices();
  renderSlotsToggle();
  picker.render();
  renderWeek();
  loadWeek();
  picker.load();
}

main();
