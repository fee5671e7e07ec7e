// The clinic's review page (/review, "eftersyn"), for admins: the figures of
// GET /api/v1/stats for a period and a grouping — a table with every figure
// per group (the main content), two bar charts drawn from it (bars.js), and
// a CSV export of the same query. Figures only, no patient is named; what
// the API suppresses (fewer than 5) reads "fewer than 5". The period and
// grouping live in the address (?from=&to=&by=), so a link shows the same
// figures to another admin. Other staff get the page, and the API's 403 as
// a plain sentence. The pure parts are in review-state.js, the words in
// review-text.js.

import { API, APIError } from './api.js';
import { drawBars, drawLegend, barLayout } from './bars.js';
import { h } from './dom.js';
import {
  Figures,
  QuickPeriods,
  cellText,
  clinicToday,
  groupName,
  queryFromState,
  quickPeriod,
  quickPeriodsOf,
  stateFromQuery,
  statsPath,
  stateProblem,
} from './review-state.js';
import { strings } from './review-text.js';
import { pageEnv, requireUser, signOut, takeSessionToken } from './session.js';
import { applyText, fill, pickLang, sentence } from './text.js';

const t = pickLang(strings);
document.documentElement.lang = t.lang;
document.title = t.title;
applyText(document, t.text);

/**
 * @param {string} id
 * @returns {any}
 */
const $ = (id) => document.getElementById(id);

const env = pageEnv();
const api = new API({ token: takeSessionToken(env) });
const today = clinicToday(new Date());
let state = stateFromQuery(location.search, today);
/** @type {AbortController|null} the figures being fetched */
let loading = null;

const form = /** @type {HTMLFormElement} */ ($('controls'));
const csvLink = /** @type {HTMLAnchorElement} */ (document.querySelector('a[data-action="download-csv"]'));
const cellWords = { locale: t.locale, fewer: t.fewer, none: t.none, min: t.min, sec: t.sec, ms: t.ms };

/** @param {string} s 'loading', 'ready', 'forbidden', 'invalid' or 'error' */
function setPageState(s) {
  document.body.dataset.reviewState = s;
}

/** @param {string} msg '' hides it */
function showError(msg) {
  $('error').textContent = msg;
  $('error').hidden = !msg;
}

/** @param {string} msg */
function say(msg) {
  $('status').textContent = msg;
}

/**
 * A failed request in words: the server's detail as a sentence.
 * @param {unknown} err
 */
function detail(err) {
  if (err instanceof APIError) return err.status === 0 ? sentence(t.network) : sentence(err.detail || `HTTP ${err.status}`);
  return String(err);
}

// --- the controls and the address ---

/** Puts state into the form, the quick choices and the CSV link. */
function showState() {
  $('r-from').value = state.from;
  $('r-to').value = state.to;
  $('r-by').value = state.by;
  const quick = quickPeriodsOf(state, today);
  for (const b of document.querySelectorAll('button[data-period]')) {
    b.setAttribute('aria-pressed', String(quick.includes(/** @type {HTMLElement} */ (b).dataset.period || '')));
  }
  csvLink.href = statsPath(state, 'csv');
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
}

/** @returns {import('./review-state.js').ReviewState} */
function readForm() {
  return { from: $('r-from').value, to: $('r-to').value, by: $('r-by').value };
}

/**
 * Takes next as the page's state: checks it, puts it in the address (a new
 * history entry, so Back goes to the figures before) and loads its figures.
 * @param {import('./review-state.js').ReviewState} next
 */
function apply(next) {
  const problem = stateProblem(next);
  if (problem) {
    const field = problem.field === 'from' ? t.text.from : t.text.to;
    showError(fill(t.bad[problem.why], { field }));
    const input = $(problem.field === 'from' ? 'r-from' : 'r-to');
    input.setAttribute('aria-invalid', 'true');
    input.focus();
    setPageState('invalid');
    return;
  }
  state = next;
  const q = queryFromState(state, location.search);
  if (q !== location.search) history.pushState(null, '', location.pathname + q);
  showState();
  load();
}

form.addEventListener('submit', (/** @type {Event} */ ev) => {
  ev.preventDefault();
  apply(readForm());
});
$('r-by').addEventListener('change', () => apply(readForm()));
for (const b of document.querySelectorAll('button[data-period]')) {
  b.addEventListener('click', () => {
    const name = /** @type {HTMLElement} */ (b).dataset.period || '';
    if (QuickPeriods.includes(name)) apply({ ...quickPeriod(name, today), by: $('r-by').value });
  });
}
window.addEventListener('popstate', () => {
  state = stateFromQuery(location.search, today);
  showState();
  load();
});

// The link's own address works with the session cookie. A page opened from
// a staff link holds a bearer token instead, which a plain link cannot send:
// then the page fetches the file itself and hands it over.
csvLink.addEventListener('click', async (/** @type {MouseEvent} */ ev) => {
  if (!api.token) return;
  ev.preventDefault();
  try {
    const blob = await api.blob(csvLink.getAttribute('href') || '');
    const url = URL.createObjectURL(blob);
    const a = h('a', { href: url, download: `vclinic-stats-${state.from}-${state.to}-${state.by}.csv` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (err) {
    showError(fill(t.loadFailed, { detail: detail(err) }));
  }
});

$('sign-out').addEventListener('click', () => signOut(api, env.storage));

// --- the figures ---

async function load() {
  loading?.abort();
  const ctl = new AbortController();
  loading = ctl;
  setPageState('loading');
  showError('');
  say(t.loading);
  /** @type {any} */
  let rep;
  try {
    rep = await api.get(statsPath(state), undefined, ctl.signal);
  } catch (err) {
    if (ctl.signal.aborted) return;
    loading = null;
    if (err instanceof APIError && err.status === 401) {
      await requireUser(api); // sends the browser to sign in
      return;
    }
    showFigures(false);
    say('');
    if (err instanceof APIError && err.status === 403) {
      $('not-admin').hidden = false;
      setPageState('forbidden');
      return;
    }
    showError(fill(t.loadFailed, { detail: detail(err) }));
    setPageState('error');
    return;
  }
  if (ctl.signal.aborted) return;
  loading = null;
  $('not-admin').hidden = true;
  render(rep);
}

/** @param {boolean} on */
function showFigures(on) {
  $('figures-card').hidden = !on;
  $('charts').hidden = !on;
}

/** @param {any} group */
function nameOf(group) {
  return groupName(group, state.by, { lang: t.lang, locale: t.locale, week: t.weekName });
}

/**
 * @param {any} rep a StatsReport
 */
function render(rep) {
  const groups = Array.isArray(rep.groups) ? rep.groups : [];
  const minCount = Number(rep.minCount) || 5;
  document.body.dataset.reviewGroups = String(groups.length);
  if (!groups.length) {
    showFigures(false);
    say(fill(t.empty, { from: rep.from, to: rep.to }));
    setPageState('ready');
    return;
  }
  say(fill(t.shown, { n: groups.length, from: rep.from, to: rep.to }));
  renderTable(groups, minCount);
  renderCharts(groups, minCount);
  showFigures(true);
  setPageState('ready');
}

/**
 * @param {any[]} groups
 * @param {number} minCount
 */
function renderTable(groups, minCount) {
  const cols = /** @type {Record<string, string>} */ (t.columns);
  const byName = /** @type {Record<string, string>} */ (t.text)[state.by] || state.by;
  $('figures-head').replaceChildren(
    h('th', { scope: 'col', role: 'columnheader' }, byName),
    ...Figures.map((f) => h('th', { scope: 'col', role: 'columnheader' }, cols[f.key])),
  );
  $('figures-body').replaceChildren(
    ...groups.map((g) =>
      h(
        'tr',
        { role: 'row', 'data-group': g.key },
        h('th', { scope: 'row', role: 'rowheader' }, nameOf(g)),
        ...Figures.map((f) => {
          const c = cellText(g, f, cellWords, minCount);
          const td = h('td', { role: 'cell', 'data-label': cols[f.key], 'data-field': f.key, 'data-state': c.state });
          if (c.state === 'suppressed') td.append(h('abbr', { title: fill(t.fewerTitle, { n: minCount }) }, c.text));
          else if (c.state === 'none') td.append(h('span', { 'aria-hidden': 'true' }, c.text), h('span', { className: 'sr-only' }, t.noneSr));
          else td.append(c.text);
          return td;
        }),
      ),
    ),
  );
}

/**
 * @param {any[]} groups
 * @param {number} minCount
 */
function renderCharts(groups, minCount) {
  const byName = (/** @type {Record<string, string>} */ (t.text)[state.by] || state.by).toLowerCase();
  const fig = (/** @type {string} */ key) => /** @type {import('./review-state.js').Figure} */ (Figures.find((f) => f.key === key));
  /** @param {any} g @param {string} key */
  const value = (g, key) => (cellText(g, fig(key), cellWords, minCount).state === 'value' ? g[key] : null);
  /** @param {any} g @param {string} key */
  const words = (g, key) => cellText(g, fig(key), cellWords, minCount).text;
  /** The same for a screen reader, which would not read "–". @param {any} g @param {string} key */
  const spoken = (g, key) => {
    const c = cellText(g, fig(key), cellWords, minCount);
    return c.state === 'none' ? t.noneSr : c.text;
  };

  // Held, cancelled and no-shows, stacked.
  const visitSeries = [
    { key: 'held', label: t.series.held, color: '#1d4ed8', pattern: /** @type {const} */ ('solid') },
    { key: 'cancelled', label: t.series.cancelled, color: '#b45309', pattern: /** @type {const} */ ('hatch') },
    { key: 'noShows', label: t.series.noShows, color: '#7e22ce', pattern: /** @type {const} */ ('dots') },
  ];
  const visitRows = groups.map((g) => {
    const note = visitSeries.map((s) => `${s.label} ${words(g, s.key)}`).join(' · ');
    const parts = visitSeries.map((s) => `${s.label} ${spoken(g, s.key)}`);
    return { label: nameOf(g), values: visitSeries.map((s) => value(g, s.key)), note, parts };
  });
  const visits = drawBars(document, barLayout(visitRows, { series: 3, stacked: true }), {
    id: 'visits',
    series: visitSeries,
    summary: fill(t.visitsSummary, { by: byName, rows: visitRows.map((r) => `${r.label}: ${r.parts.join(', ')}`).join('; ') }),
  });
  $('visits-chart').replaceChildren(drawLegend(document, { id: 'visits', series: visitSeries }), visits);

  // Arrival to admission, median and 90th percentile, side by side.
  const waitSeries = [
    { key: 'waitMedianSeconds', label: t.series.median, color: '#0f766e', pattern: /** @type {const} */ ('solid') },
    { key: 'waitP90Seconds', label: t.series.p90, color: '#b45309', pattern: /** @type {const} */ ('hatch') },
  ];
  const waitRows = groups.map((g) => {
    const texts = waitSeries.map((s) => words(g, s.key));
    const parts = waitSeries.map((s) => `${s.label} ${spoken(g, s.key)}`);
    return { label: nameOf(g), values: waitSeries.map((s) => value(g, s.key)), texts, parts };
  });
  const wait = drawBars(document, barLayout(waitRows, { series: 2, stacked: false, valueRoom: 96 }), {
    id: 'wait',
    series: waitSeries,
    summary: fill(t.waitSummary, {
      by: byName,
      rows: waitRows.map((r) => `${r.label}: ${r.parts.join(', ')}`).join('; '),
    }),
  });
  $('wait-chart').replaceChildren(drawLegend(document, { id: 'wait', series: waitSeries }), wait);
}

async function main() {
  showState();
  // The address keeps what the page shows, valid or not yet.
  const q = queryFromState(state, location.search);
  if (q !== location.search) history.replaceState(null, '', location.pathname + q);
  let me;
  try {
    me = await requireUser(api);
  } catch (err) {
    showError(fill(t.loadFailed, { detail: detail(err) }));
    setPageState('error');
    return;
  }
  $('who').textContent = fill(t.who, { name: me.name || me.username });
  await load();
}

main();
