// The clinician's day list (/console): the day's appointments in local time,
// who is in the waiting room now (highlighted, with Admit), and Join for the
// others. Every 5 s it asks who is waiting (presence, which holds no patient
// data) and reloads the full list, whose reads are audited, only when that
// says the list changed, every few minutes otherwise, or on the user's
// action (daylist.js decides). It keeps keyboard focus where it was, and puts
// the number of waiting patients in the tab's title. All its words are here,
// in English and Danish.

import { API, APIError, seg } from './api.js';
import { checkText, isOpen, latestReply, normalizeEntries, statusText } from './appt.js';
import { PollMs, mustReload, normalizePresence, withPresence } from './daylist.js';
import { pageEnv, requireUser, signOut, takeSessionToken } from './session.js';
import { applyText, fill, pickLang } from './text.js';
import { addDays, dayRange, formatDay, formatSpan, rfc3339, sameDay, zoneLabel } from './time.js';

const strings = {
  en: {
    lang: 'en',
    locale: 'en-GB',
    title: 'Day list',
    text: {
      heading: 'Day list',
      calendar: 'Calendar',
      triage: 'Triage list',
      signOut: 'Sign out',
      prev: 'Previous day',
      today: 'Today',
      next: 'Next day',
      empty: 'No appointments this day.',
    },
    who: 'Signed in as {name}',
    todayIs: 'Today, {day}',
    zone: 'Times in {zone}',
    waitingOne: 'Waiting now',
    waitingMany: '{n} waiting now',
    inCall: '{n} in the call',
    leftWaiting: 'left the waiting room',
    flaggedOne: '1 reading outside limits since last visit',
    flaggedMany: '{n} readings outside limits since last visit',
    admit: 'Admit',
    admitLabel: 'Admit {name} ({time})',
    join: 'Join',
    joinLabel: 'Join the video visit with {name} ({time})',
    someone: 'Patient',
    admitting: 'Letting {name} in…',
    arrived: '{name} is in the waiting room.',
    updated: 'Updated {time}',
    stale: 'Could not refresh the list. Trying again…',
    admitFailed: 'Could not let the patient in: {detail}',
    notClinician: 'This day list is for clinicians. Schedulers book in the calendar.',
    failed: 'The day list could not be loaded: {detail}',
    network: 'the server could not be reached',
  },
  da: {
    lang: 'da',
    locale: 'da-DK',
    title: 'Dagsliste',
    text: {
      heading: 'Dagsliste',
      calendar: 'Kalender',
      triage: 'Triageliste',
      signOut: 'Log ud',
      prev: 'Forrige dag',
      today: 'I dag',
      next: 'Næste dag',
      empty: 'Ingen aftaler denne dag.',
    },
    who: 'Logget ind som {name}',
    todayIs: 'I dag, {day}',
    zone: 'Tider i {zone}',
    waitingOne: 'Venter nu',
    waitingMany: '{n} venter nu',
    inCall: '{n} i samtalen',
    leftWaiting: 'har forladt venteværelset',
    flaggedOne: '1 måling uden for grænserne siden sidste besøg',
    flaggedMany: '{n} målinger uden for grænserne siden sidste besøg',
    admit: 'Lad komme ind',
    admitLabel: 'Lad {name} komme ind ({time})',
    join: 'Deltag',
    joinLabel: 'Deltag i videokonsultationen med {name} ({time})',
    someone: 'Patient',
    admitting: 'Lukker {name} ind…',
    arrived: '{name} er i venteværelset.',
    updated: 'Opdateret {time}',
    stale: 'Listen kunne ikke opdateres. Prøver igen…',
    admitFailed: 'Patienten kunne ikke lukkes ind: {detail}',
    notClinician: 'Dagslisten er for behandlere. Sekretærer booker i kalenderen.',
    failed: 'Dagslisten kunne ikke hentes: {detail}',
    network: 'serveren kunne ikke nås',
  },
};

const t = pickLang(strings);
document.documentElement.lang = t.lang;
document.title = t.title;
applyText(document, t.text);

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
const list = $('daylist');
const errorEl = $('error');
const note = $('note');
const env = pageEnv();
const api = new API({ token: takeSessionToken(env) });

/** The day shown; null follows today, also past midnight. */
let shown = /** @type {Date|null} */ (null);
let clinicianId = '';
let timer = 0;
let loading = /** @type {AbortController|null} */ (null);
/** Appointments someone was waiting for at the last refresh. */
let wasWaiting = new Set();
/** The entries on screen. */
let entries = /** @type {ReturnType<typeof normalizeEntries>} */ ([]);
/** What the full list on screen was loaded for; null reloads it. */
let loaded = /** @type {import('./daylist.js').Loaded|null} */ (null);

/** @param {string} msg '' hides it */
function showError(msg) {
  errorEl.textContent = msg;
  errorEl.hidden = !msg;
}

/** @param {unknown} err */
function detail(err) {
  if (err instanceof APIError) return err.status === 0 ? t.network : err.detail || `HTTP ${err.status}`;
  return String(err);
}

/**
 * Who is waiting for the clinician's appointments in range; null when that
 * cannot be read (an older server, an error), and the full list is loaded.
 * @param {{from: string, to: string}} range
 * @param {AbortSignal} signal
 */
async function readPresence(range, signal) {
  try {
    return normalizePresence(await api.get(`/api/v1/clinicians/${seg(clinicianId)}/presence`, range, signal));
  } catch (err) {
    if ((err && /** @type {any} */ (err).name === 'AbortError') || (err instanceof APIError && err.status === 401)) throw err;
    return null;
  }
}

/**
 * Asks who is waiting for the shown day and draws it, loading the full list
 * when daylist.js says so; then waits PollMs and does it again.
 * @param {boolean} [full] load the full list whatever presence says
 */
async function refresh(full = false) {
  clearTimeout(timer);
  loading?.abort();
  const ctl = new AbortController();
  loading = ctl;
  if (full) loaded = null;
  const day = shown || new Date();
  const { from, to } = dayRange(day);
  const range = { from: rfc3339(from), to: rfc3339(to) };
  try {
    const presence = await readPresence(range, ctl.signal);
    if (loading !== ctl) return;
    let next = mustReload(loaded, range.from, presence, Date.now()) ? null : withPresence(entries, /** @type {import('./daylist.js').Presence} */ (presence));
    if (!next) {
      // The version read before the load: a change in between reloads again.
      const at = Date.now();
      next = normalizeEntries(await api.get(`/api/v1/clinicians/${seg(clinicianId)}/appointments`, range, ctl.signal));
      if (loading !== ctl) return;
      loaded = presence ? { from: range.from, version: presence.version, at } : null;
    }
    entries = next;
    render(day, next);
    showError('');
    note.textContent = fill(t.updated, { time: new Date().toLocaleTimeString(t.locale, { hour: '2-digit', minute: '2-digit', second: '2-digit' }) });
  } catch (err) {
    if (loading !== ctl || (err && /** @type {any} */ (err).name === 'AbortError')) return;
    if (err instanceof APIError && err.status === 401) {
      await requireUser(api); // sends the browser to sign in
      return;
    }
    if (list.children.length) note.textContent = t.stale;
    else showError(fill(t.failed, { detail: detail(err) }));
  }
  if (loading === ctl) {
    loading = null;
    timer = setTimeout(refresh, PollMs);
  }
}

/**
 * @param {Date} day
 * @param {ReturnType<typeof normalizeEntries>} entries
 */
function render(day, entries) {
  const today = sameDay(day, new Date());
  $('day-title').textContent = today ? fill(t.todayIs, { day: formatDay(day, t.locale) }) : capitalize(formatDay(day, t.locale));
  $('zone').textContent = fill(t.zone, { zone: zoneLabel(t.locale, day) });
  $('empty').hidden = entries.length > 0;

  const waitingTotal = entries.reduce((n, e) => n + (isOpen(e.appointment.status) ? e.waiting : 0), 0);
  document.title = (waitingTotal ? `(${waitingTotal}) ` : '') + t.title;
  // Say it once when someone new starts waiting, not at every refresh.
  const nowWaiting = new Set(entries.filter((e) => e.waiting > 0 && isOpen(e.appointment.status)).map((e) => e.appointment.id));
  const arrived = entries.find((e) => nowWaiting.has(e.appointment.id) && !wasWaiting.has(e.appointment.id));
  if (arrived) $('announce').textContent = fill(t.arrived, { name: arrived.appointment.patientName || t.someone });
  wasWaiting = nowWaiting;

  const focused = /** @type {HTMLElement|null} */ (list.contains(document.activeElement) ? document.activeElement : null);
  const focusRow = focused?.closest('li')?.dataset.appointment || '';
  const old = new Map([...list.children].map((li) => [/** @type {HTMLElement} */ (li).dataset.appointment, li]));
  const now = Date.now();
  const rows = entries.map((e) => {
    const sig = JSON.stringify([e.appointment.status, e.appointment.patientName, e.appointment.start, e.appointment.end, e.waiting, e.inCall, now >= e.end.getTime(), now >= e.start.getTime(), /** @type {any} */ (e.appointment).replies, /** @type {any} */ (e).flaggedReadings, /** @type {any} */ (e.appointment).check]);
    const had = old.get(e.appointment.id);
    if (had && /** @type {HTMLElement} */ (had).dataset.sig === sig) return had;
    const li = row(e, now);
    li.dataset.sig = sig;
    return li;
  });
  const keep = new Set(rows);
  for (const li of [...list.children]) if (!keep.has(li)) li.remove();
  rows.forEach((li, i) => {
    if (list.children[i] !== li) list.insertBefore(li, list.children[i] || null);
  });
  if (focusRow && !list.contains(document.activeElement)) {
    const li = /** @type {HTMLElement|null} */ (list.querySelector(`li[data-appointment="${CSS.escape(focusRow)}"]`));
    /** @type {HTMLElement|null|undefined} */ (li?.querySelector('[data-action]'))?.focus();
  }
}

/**
 * One appointment: time, patient, status, waiting now, and Admit or Join.
 * @param {ReturnType<typeof normalizeEntries>[number]} e
 * @param {number} now
 * @returns {HTMLLIElement}
 */
function row(e, now) {
  const a = e.appointment;
  const open = isOpen(a.status);
  const waiting = open ? e.waiting : 0;
  const li = document.createElement('li');
  li.dataset.appointment = a.id;
  li.dataset.waiting = String(waiting);
  li.dataset.status = a.status;
  li.classList.toggle('is-waiting', waiting > 0);
  li.classList.toggle('is-over', now >= e.end.getTime() || !open);
  li.classList.toggle('is-now', open && now >= e.start.getTime() && now < e.end.getTime());
  li.classList.toggle('is-cancelled', a.status === 'cancelled');

  const time = document.createElement('span');
  time.className = 'd-time';
  const span = formatSpan(e.start, e.end, t.locale);
  time.textContent = span;

  const who = document.createElement('span');
  who.className = 'd-who';
  const name = document.createElement('span');
  name.className = 'd-name';
  const patient = a.patientName || t.someone;
  name.textContent = patient;
  who.append(name);
  if (waiting > 0) {
    const badge = document.createElement('span');
    badge.className = 'd-waiting';
    badge.textContent = waiting === 1 ? t.waitingOne : fill(t.waitingMany, { n: waiting });
    who.append(badge);
  }
  const reply = open ? latestReply(t.lang, /** @type {any} */ (a).replies) : null;
  if (reply) {
    const badge = document.createElement('span');
    badge.className = 'd-reply';
    badge.dataset.patientReply = reply.kind;
    badge.textContent = reply.text;
    who.append(badge);
  }
  // Home readings outside the patient's limits, not yet acknowledged.
  const flagged = Number(/** @type {any} */ (e).flaggedReadings) || 0;
  if (flagged > 0 && open) {
    const badge = document.createElement('span');
    badge.className = 'd-flagged';
    badge.dataset.flaggedReadings = String(flagged);
    badge.textContent = flagged === 1 ? t.flaggedOne : fill(t.flaggedMany, { n: flagged });
    who.append(badge);
  }
  const check = open ? checkText(t.lang, /** @type {any} */ (a).check) : null;
  if (check) {
    const badge = document.createElement('span');
    badge.className = 'd-check';
    badge.dataset.visitCheck = check.verdict;
    badge.textContent = check.text;
    who.append(badge);
  }
  const status = document.createElement('span');
  status.className = 'd-status';
  const words = [statusText(t.lang, a.status)];
  if (e.inCall > 0) words.push(fill(t.inCall, { n: e.inCall }));
  // Arrived, not admitted, and nobody there now: the patient gave up, or
  // lost the connection for longer than the server keeps a place (call
  // them).
  if (open && a.status === 'arrived' && e.waiting === 0 && e.inCall === 0) {
    words.push(t.leftWaiting);
    li.dataset.leftWaiting = 'true';
  }
  status.textContent = words.join(' · ');
  who.append(status);

  const action = document.createElement('span');
  action.className = 'd-action';
  if (waiting > 0) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'btn btn-main';
    b.dataset.action = 'admit';
    b.dataset.appointment = a.id;
    b.textContent = t.admit;
    b.setAttribute('aria-label', fill(t.admitLabel, { name: patient, time: span }));
    b.addEventListener('click', () => admit(b, a.id, patient));
    action.append(b);
  } else if (open) {
    const join = document.createElement('a');
    join.className = 'btn';
    join.dataset.action = 'join';
    join.href = '/call/' + seg(a.id);
    join.textContent = t.join;
    join.setAttribute('aria-label', fill(t.joinLabel, { name: patient, time: span }));
    action.append(join);
  }
  li.append(time, who, action);
  return li;
}

/**
 * Lets everyone waiting for the appointment in, then opens its call.
 * @param {HTMLButtonElement} button
 * @param {string} id
 * @param {string} name
 */
async function admit(button, id, name) {
  if (button.disabled) return;
  button.disabled = true;
  note.textContent = fill(t.admitting, { name });
  try {
    await api.post(`/api/v1/appointments/${seg(id)}/admit`);
    clearTimeout(timer);
    location.assign('/call/' + seg(id));
  } catch (err) {
    button.disabled = false;
    showError(fill(t.admitFailed, { detail: detail(err) }));
    refresh(true);
  }
}

/** @param {string} s */
function capitalize(s) {
  return s ? s[0].toUpperCase() + s.slice(1) : s;
}

/** @param {number} n days from the day shown; 0 goes back to today */
function move(n) {
  const base = shown || new Date();
  const next = n === 0 ? null : addDays(base, n);
  shown = next && sameDay(next, new Date()) ? null : next;
  list.replaceChildren();
  entries = [];
  wasWaiting = new Set();
  note.textContent = '';
  refresh(true);
}

$('prev-day').addEventListener('click', () => move(-1));
$('next-day').addEventListener('click', () => move(1));
$('today').addEventListener('click', () => move(0));
$('sign-out').addEventListener('click', () => signOut(api, env.storage));
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && clinicianId) refresh();
});

async function main() {
  let me;
  try {
    me = await requireUser(api);
  } catch (err) {
    showError(fill(t.failed, { detail: detail(err) }));
    setTimeout(main, PollMs);
    return;
  }
  $('who').textContent = fill(t.who, { name: me.name || me.username });
  if (!me.clinicianId) {
    showError(t.notClinician);
    $('empty').hidden = true;
    return;
  }
  clinicianId = me.clinicianId;
  refresh();
}

main();
