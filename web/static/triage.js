// The clinician's triage list (/triage): their patients, most urgent first
// (GET /api/v1/triage, which orders them and whose read is audited), each
// row saying why in words, with their NEWS2, next visit and last reading,
// and leading to the call page of the next visit, or the day list. A table
// on wide screens, cards on a phone (triage.css). It refreshes every minute.

import { API, APIError } from './api.js';
import { pageEnv, requireUser, signOut, takeSessionToken } from './session.js';
import { applyText, fill, pickLang } from './text.js';
import { strings } from './triage-text.js';
import { news2Text, reasonTexts, rowHref, urgencyClass } from './triage-view.js';
import { vitalsWords } from './vitals.js';

/** How often the list is read again. */
export const RefreshMs = 5 * 60_000;

const t = pickLang(strings);
const vw = vitalsWords();
document.documentElement.lang = t.lang;
document.title = t.title;
applyText(document, t.text);

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
const table = $('triage');
const rows = $('rows');
const errorEl = $('error');
const note = $('note');
const env = pageEnv();
const api = new API({ token: takeSessionToken(env) });
let timer = 0;

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

/** @param {string} at */
function when(at) {
  return new Date(at).toLocaleString(t.locale, { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
}

/**
 * A cell with its label for the card layout.
 * @param {string} cls
 * @param {string} label
 */
function cell(cls, label) {
  const td = document.createElement('td');
  td.className = cls;
  td.dataset.label = label;
  return td;
}

/** @param {import('./triage-view.js').TriageEntry} e */
function row(e) {
  const now = new Date();
  const tr = document.createElement('tr');
  const u = urgencyClass(e);
  if (u) tr.className = u;
  tr.dataset.patientId = e.patientId;
  tr.dataset.group = String(e.group);
  tr.dataset.reasons = (e.reasons || []).join(' ');

  const name = document.createElement('td');
  name.className = 't-name';
  const a = document.createElement('a');
  a.href = rowHref(e);
  a.textContent = e.name;
  // Where the link leads, for a screen reader, after the visible name.
  const where = document.createElement('span');
  where.className = 'sr-only';
  where.textContent = ', ' + (e.next ? fill(t.openVisit, { time: when(e.next.start) }) : t.openDayList);
  a.append(where);
  name.append(a);

  const why = cell('t-why', t.text.colWhy);
  const ul = document.createElement('ul');
  for (const s of reasonTexts(e, t, vw, now)) {
    const li = document.createElement('li');
    li.textContent = s;
    ul.append(li);
  }
  why.append(ul);

  const news2 = cell('t-news2', t.text.colNews2);
  news2.textContent = e.news2 && e.news2.of ? fill(t.news2Short, { total: e.news2.total, band: t.band[e.news2.risk] || e.news2.risk, scored: e.news2.scored, of: e.news2.of }) : '–';
  if (e.news2 && e.news2.of) news2.title = news2Text(e.news2, t);

  const next = cell('t-next', t.text.colNext);
  next.textContent = e.next ? when(e.next.start) : t.noNext;
  const last = cell('t-last', t.text.colLast);
  last.textContent = e.lastReadingAt ? when(e.lastReadingAt) : t.never;

  tr.append(name, why, news2, next, last);
  return tr;
}

/** Reads the list and draws it; then again in RefreshMs. */
async function refresh() {
  clearTimeout(timer);
  try {
    const list = await api.get('/api/v1/triage');
    const patients = /** @type {import('./triage-view.js').TriageEntry[]} */ (list.patients || []);
    rows.replaceChildren(...patients.map(row));
    $('empty').hidden = patients.length > 0;
    const cut = $('cut');
    cut.hidden = !list.cut;
    cut.textContent = list.cut ? fill(t.cut, { max: list.max }) : '';
    table.dataset.triageState = patients.length ? 'ready' : 'empty';
    showError('');
    note.textContent = fill(t.updated, { time: new Date().toLocaleTimeString(t.locale, { hour: '2-digit', minute: '2-digit' }) });
  } catch (err) {
    if (err instanceof APIError && err.status === 401) {
      await requireUser(api); // sends the browser to sign in
      return;
    }
    if (rows.children.length) note.textContent = t.stale;
    else {
      table.dataset.triageState = 'error';
      showError(fill(t.failed, { detail: detail(err) }));
    }
  }
  timer = setTimeout(refresh, RefreshMs);
}

$('sign-out').addEventListener('click', () => signOut(api, env.storage));
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && table.dataset.triageState !== 'loading') refresh();
});

async function main() {
  let me;
  try {
    me = await requireUser(api);
  } catch (err) {
    table.dataset.triageState = 'error';
    showError(fill(t.failed, { detail: detail(err) }));
    timer = setTimeout(main, RefreshMs);
    return;
  }
  $('who').textContent = fill(t.who, { name: me.name || me.username });
  if (me.role !== 'clinician') {
    table.dataset.triageState = 'error';
    table.hidden = true;
    showError(t.notClinician);
    return;
  }
  refresh();
}

main();
