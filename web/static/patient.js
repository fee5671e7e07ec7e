// The clinician's picture of one patient (/patients/{id}): the partial
// early-warning score from home readings (GET .../news2, with the patient's
// own SpO2 scale and oxygen from their limits), the readings outside limits
// of the last 30 days with who acknowledged them (or a button to), each
// quantity's last 30 days as a trend against the limits (GET .../trends),
// and the limits themselves to change (GET/PUT .../limits, versioned). All
// of it is decision support, and the page says so. Every word is in
// patient-text.js.

import { API, APIError, seg } from './api.js';
import { LimitQuantities, limitsBody, news2Words, strings } from './patient-text.js';
import { pageEnv, requireUser, takeSessionToken } from './session.js';
import { applyText, fill, pickLang } from './text.js';
import { drawTrend, trendWords } from './trend.js';
import { codeName, unitText, vitalsWords } from './vitals.js';

const t = pickLang(strings);
const vw = vitalsWords();
const tw = t.lang === 'da' ? trendWords.da : trendWords.en;
const nw = t.lang === 'da' ? news2Words.da : news2Words.en;
const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
const env = pageEnv();
const api = new API({ token: takeSessionToken(env) });
const patientId = decodeURIComponent(location.pathname.split('/')[2] || '');

/** The watch (limits) last read, for its version. */
let watch = /** @type {any} */ (null);

function showError(/** @type {string} */ msg) {
  const e = $('error');
  e.textContent = msg;
  e.hidden = !msg;
}

/** @param {unknown} err */
const detail = (err) => (err instanceof APIError ? err.detail || err.message : String(err));

/** @returns {Map<string, {low: number|null, high: number|null}>} */
function limitsByCode() {
  const m = new Map();
  for (const l of watch?.limits || []) {
    m.set(l.code, { low: l.low == null ? null : Number(l.low), high: l.high == null ? null : Number(l.high) });
  }
  return m;
}

// --- the early-warning score ---

async function showNEWS2() {
  const body = $('news2-body');
  let s;
  try {
    // The server takes the SpO2 scale and oxygen from the patient's limits.
    s = await api.get(`/api/v1/patients/${seg(patientId)}/news2`);
  } catch (err) {
    body.replaceChildren(Object.assign(document.createElement('p'), { className: 'error', textContent: detail(err) }));
    return;
  }
  const head = document.createElement('p');
  head.className = 'news2-total';
  head.dataset.news2Total = String(s.total);
  head.dataset.news2Risk = s.risk;
  head.textContent = fill(nw.total, { total: s.total, scored: s.scored, of: s.of, risk: nw.risk[s.risk] || s.risk });
  const partial = document.createElement('p');
  partial.className = 'news2-partial';
  partial.textContent = fill(nw.partial, { scored: s.scored, of: s.of });
  const table = document.createElement('table');
  table.className = 'news2-table';
  const cap = document.createElement('caption');
  cap.textContent = nw.caption;
  const thead = document.createElement('thead');
  thead.innerHTML = '';
  const hr = document.createElement('tr');
  for (const h of [nw.parameter, nw.points, nw.reading]) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = h;
    hr.append(th);
  }
  thead.append(hr);
  const tbody = document.createElement('tbody');
  for (const p of s.parameters || []) {
    const tr = document.createElement('tr');
    tr.dataset.parameter = p.parameter;
    const name = document.createElement('th');
    name.scope = 'row';
    name.textContent = nw.parameters[p.parameter] || p.parameter;
    const pts = document.createElement('td');
    pts.textContent = typeof p.points === 'number' ? String(p.points) : nw.status[p.status] || p.status;
    const rd = document.createElement('td');
    if (p.reading) {
      const age = Math.round((p.reading.ageSeconds || 0) / 3600);
      rd.textContent = fill(nw.used, { value: p.reading.value, unit: unitText(p.reading.unit), age });
    } else {
      rd.textContent = nw.status[p.status] || '';
    }
    tr.append(name, pts, rd);
    tbody.append(tr);
  }
  table.append(cap, thead, tbody);
  const ds = document.createElement('p');
  ds.className = 'support';
  ds.textContent = (t.lang === 'da' ? s.decisionSupport?.da : s.decisionSupport?.en) || '';
  body.replaceChildren(head, partial, table, ds);
}

// --- readings outside limits ---

async function showFlagged() {
  const ul = $('flagged-list');
  const since = new Date(Date.now() - 30 * 86400000).toISOString();
  let r;
  try {
    r = await api.get(`/api/v1/patients/${seg(patientId)}/flagged-readings`, { since });
  } catch (err) {
    ul.replaceChildren(Object.assign(document.createElement('li'), { className: 'error', textContent: detail(err) }));
    return;
  }
  const items = [];
  for (const f of [...(r?.flagged || [])].reverse()) {
    const li = document.createElement('li');
    li.dataset.readingId = f.id;
    const at = new Date(f.observedAt).toLocaleString(t.locale, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
    const outside = (f.measurements || []).filter((/** @type {any} */ m) => m.outside);
    const what = outside.map((/** @type {any} */ m) => `${codeName(m.code, vw)} ${m.value} ${unitText(m.unit)}`).join(', ');
    li.append(Object.assign(document.createElement('span'), { className: 'flagged-what', textContent: `${at}: ${what}` }));
    if (f.acknowledged) {
      const by = f.acknowledged.byName || f.acknowledged.by || '';
      const when = new Date(f.acknowledged.at).toLocaleString(t.locale, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
      li.append(Object.assign(document.createElement('span'), { className: 'flagged-acked', textContent: ' ' + fill(t.acked, { by, when }) + (f.acknowledged.note ? ` – ${f.acknowledged.note}` : '') }));
    } else {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'btn btn-small';
      b.dataset.action = 'acknowledge-reading';
      b.textContent = t.acknowledge;
      b.addEventListener('click', async () => {
        b.disabled = true;
        try {
          await api.post(`/api/v1/patients/${seg(patientId)}/flagged-readings/${seg(f.id)}/acknowledge`, {});
        } catch (err) {
          showError(detail(err));
        }
        showFlagged();
      });
      li.append(' ', b);
    }
    items.push(li);
  }
  if (!items.length) items.push(Object.assign(document.createElement('li'), { className: 'note', textContent: t.noneFlagged }));
  ul.replaceChildren(...items);
}

// --- trends ---

async function showTrends() {
  const box = $('trends-body');
  let tr;
  try {
    tr = await api.get(`/api/v1/patients/${seg(patientId)}/trends`, { days: 30 });
  } catch (err) {
    box.replaceChildren(Object.assign(document.createElement('p'), { className: 'error', textContent: detail(err) }));
    return;
  }
  const lim = limitsByCode();
  const figs = [];
  for (const sr of tr.series || []) {
    const fig = document.createElement('figure');
    fig.className = 'trend-figure';
    const cap = document.createElement('figcaption');
    const name = sr.code === '85354-9' ? vw.bloodPressure : codeName(sr.code, vw);
    cap.textContent = name;
    const chart = document.createElement('div');
    const l = lim.get(sr.code === '85354-9' ? '8480-6' : sr.code) || { low: null, high: null };
    drawTrend(chart, sr, { name, unit: unitText(sr.unit), from: tr.from, to: tr.to, days: 30, locale: t.locale, words: tw,
      low: l.low, high: l.high, width: 320, height: 80 });
    fig.append(cap, chart);
    figs.push(fig);
  }
  if (!figs.length) figs.push(Object.assign(document.createElement('p'), { className: 'note', textContent: fill(tw.none, { days: 30 }) }));
  box.replaceChildren(...figs);
}

// --- limits ---

function fillLimits() {
  const lim = limitsByCode();
  const rows = [];
  for (const [code, unit] of LimitQuantities) {
    const tr = document.createElement('tr');
    tr.dataset.code = code;
    const th = document.createElement('th');
    th.scope = 'row';
    th.id = 'q-' + code;
    th.textContent = codeName(code, vw);
    tr.append(th);
    for (const k of ['low', 'high']) {
      const td = document.createElement('td');
      const input = document.createElement('input');
      input.id = `limit-${code}-${k}`;
      input.name = k;
      input.inputMode = 'decimal';
      input.autocomplete = 'off';
      input.size = 6;
      input.setAttribute('aria-labelledby', `q-${code} h-${k}`);
      const v = lim.get(code)?.[/** @type {'low'|'high'} */ (k)];
      input.value = v == null || Number.isNaN(v) ? '' : String(v).replace('.', t.lang === 'da' ? ',' : '.');
      td.append(input);
      tr.append(td);
    }
    const u = document.createElement('td');
    u.textContent = unitText(unit);
    tr.append(u);
    rows.push(tr);
  }
  $('limits-rows').replaceChildren(...rows);
  const ths = document.querySelectorAll('.limits-table thead th');
  if (ths[1]) ths[1].id = 'h-low';
  if (ths[2]) ths[2].id = 'h-high';
  /** @type {HTMLSelectElement} */ ($('spo2-scale')).value = String(watch?.spo2Scale || 1);
  /** @type {HTMLInputElement} */ ($('on-oxygen')).checked = !!watch?.onOxygen;
}

async function readWatch() {
  watch = await api.get(`/api/v1/patients/${seg(patientId)}/limits`);
}

async function saveLimits(/** @type {SubmitEvent} */ ev) {
  ev.preventDefault();
  const status = $('limits-status');
  const rows = [...document.querySelectorAll('#limits-rows tr')].map((tr) => ({
    code: /** @type {HTMLElement} */ (tr).dataset.code || '',
    unit: LimitQuantities.find(([c]) => c === /** @type {HTMLElement} */ (tr).dataset.code)?.[1] || '',
    low: /** @type {HTMLInputElement} */ (tr.querySelector('input[name="low"]')).value,
    high: /** @type {HTMLInputElement} */ (tr.querySelector('input[name="high"]')).value,
  }));
  const limits = limitsBody(rows);
  if (!Array.isArray(limits)) {
    status.textContent = fill(t.badNumber, { field: limits.bad });
    status.dataset.state = 'invalid';
    return;
  }
  const body = {
    version: watch?.version || 0,
    limits,
    spo2Scale: Number(/** @type {HTMLSelectElement} */ ($('spo2-scale')).value),
    onOxygen: /** @type {HTMLInputElement} */ ($('on-oxygen')).checked,
  };
  try {
    watch = await api.request('PUT', `/api/v1/patients/${seg(patientId)}/limits`, { body });
    status.textContent = t.saved;
    status.dataset.state = 'saved';
    fillLimits();
    showTrends();
    showNEWS2();
  } catch (err) {
    status.dataset.state = 'failed';
    status.textContent = err instanceof APIError && err.status === 409 ? t.conflict : fill(t.failed, { detail: detail(err) });
  }
}

async function main() {
  document.documentElement.lang = t.lang;
  document.title = t.title;
  applyText(document, t.text);
  let me;
  try {
    me = await requireUser(api);
  } catch (err) {
    showError(fill(t.failed, { detail: detail(err) }));
    return;
  }
  $('who').textContent = fill(t.who, { name: me.name || me.username });
  try {
    const p = await api.get(`/api/v1/patients/${seg(patientId)}`);
    $('heading').textContent = p.name;
    document.title = `${p.name} – ${t.title}`;
  } catch (err) {
    showError(fill(t.failed, { detail: detail(err) }));
    return;
  }
  try {
    await readWatch();
  } catch (err) {
    // Not this patient's clinician (403): the clinical parts stay closed.
    showError(err instanceof APIError && err.status === 403 ? t.notYours : fill(t.failed, { detail: detail(err) }));
    for (const id of ['news2', 'flagged', 'trends', 'limits']) $(id).hidden = true;
    return;
  }
  fillLimits();
  $('limits-form').addEventListener('submit', saveLimits);
  await Promise.all([showNEWS2(), showFlagged(), showTrends()]);
  document.body.dataset.ready = 'true';
}

main();
