// The review page's pure parts (review.js draws, this one decides): the
// page's state in its address (?from=YYYY-MM-DD&to=YYYY-MM-DD&by=…, so a
// link can be shared), the quick periods, the API paths for the figures and
// their CSV export, and how each figure reads in a table cell — a count, a
// duration, a share, or "fewer than 5" where the clinic suppresses it.
// The figures are GET /api/v1/stats's (scheduler/stats.go): periods are
// days in Europe/Copenhagen, both ends included.

/** The groupings, in the order the page offers them (scheduler.StatsGroupings). */
export const Groupings = ['department', 'clinician', 'type', 'week', 'month'];

/** The clinic's zone: the statistics' days are its days. */
export const ClinicZone = 'Europe/Copenhagen';

/** The longest period the API answers, in days, both ends included. */
export const MaxDays = 366;

/**
 * @typedef {object} ReviewState
 * @property {string} from first day, YYYY-MM-DD
 * @property {string} to last day, included
 * @property {string} by one of Groupings
 */

/**
 * @typedef {object} Figure one figure of a group's row
 * @property {string} key the JSON field of StatsGroup
 * @property {'count'|'seconds'|'share'|'number'|'ms'|'percent'} kind
 */

/** The figures of a group, in the order of the table's columns. */
export const Figures = /** @type {Figure[]} */ ([
  { key: 'booked', kind: 'count' },
  { key: 'held', kind: 'count' },
  { key: 'cancelled', kind: 'count' },
  { key: 'noShows', kind: 'count' },
  { key: 'waitMedianSeconds', kind: 'seconds' },
  { key: 'waitP90Seconds', kind: 'seconds' },
  { key: 'lengthMedianSeconds', kind: 'seconds' },
  { key: 'lengthP90Seconds', kind: 'seconds' },
  { key: 'measuredShare', kind: 'share' },
  { key: 'readingsPerPatient', kind: 'number' },
  { key: 'rttMsMedian', kind: 'ms' },
  { key: 'lossPctMedian', kind: 'percent' },
]);

const dateRE = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * Whether s is a real calendar day written YYYY-MM-DD.
 * @param {unknown} s
 * @returns {s is string}
 */
export function isDate(s) {
  if (typeof s !== 'string') return false;
  const m = dateRE.exec(s);
  if (!m) return false;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  return d.getUTCFullYear() === +m[1] && d.getUTCMonth() === +m[2] - 1 && d.getUTCDate() === +m[3];
}

/**
 * The day now is in the clinic's zone, YYYY-MM-DD.
 * @param {Date} now
 * @returns {string}
 */
export function clinicToday(now) {
  // en-CA writes dates as YYYY-MM-DD.
  return new Intl.DateTimeFormat('en-CA', { timeZone: ClinicZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
}

/**
 * @param {number} y
 * @param {number} m 1-12, may run over
 * @param {number} d may be 0 (the month's day before the 1st)
 * @returns {string}
 */
function ymd(y, m, d) {
  const t = new Date(Date.UTC(y, m - 1, d));
  const p = (/** @type {number} */ n) => String(n).padStart(2, '0');
  return `${t.getUTCFullYear()}-${p(t.getUTCMonth() + 1)}-${p(t.getUTCDate())}`;
}

/**
 * Days from a to b, both YYYY-MM-DD, both included (1 when a = b; 0 or
 * less when b is before a).
 * @param {string} a
 * @param {string} b
 * @returns {number}
 */
export function daysBetween(a, b) {
  const ms = (/** @type {string} */ s) => Date.UTC(+s.slice(0, 4), +s.slice(5, 7) - 1, +s.slice(8, 10));
  return Math.round((ms(b) - ms(a)) / 86400000) + 1;
}

/** The quick choices of period, in the order the page offers them. */
export const QuickPeriods = ['lastMonth', 'thisYear', 'last12Months'];

/**
 * A quick period ending at today (YYYY-MM-DD): last month is the whole
 * calendar month before today's; this year is 1 January to today; the last
 * 12 months are the 11 months before today's and today's so far (so that
 * a grouping by month shows 12 months, within the API's 366 days).
 * @param {string} name one of QuickPeriods
 * @param {string} today
 * @returns {{from: string, to: string}}
 */
export function quickPeriod(name, today) {
  const y = +today.slice(0, 4);
  const m = +today.slice(5, 7);
  switch (name) {
    case 'lastMonth':
      return { from: ymd(y, m - 1, 1), to: ymd(y, m, 0) };
    case 'thisYear':
      return { from: ymd(y, 1, 1), to: today };
    case 'last12Months':
      return { from: ymd(y, m - 11, 1), to: today };
    default:
      throw new Error(`quick period ${name}: want one of ${QuickPeriods.join(', ')}`);
  }
}

/**
 * The quick periods that state's days are (in December, this year is also
 * the last 12 months); none when it is another period.
 * @param {ReviewState} state
 * @param {string} today
 * @returns {string[]}
 */
export function quickPeriodsOf(state, today) {
  return QuickPeriods.filter((n) => {
    const p = quickPeriod(n, today);
    return p.from === state.from && p.to === state.to;
  });
}

/**
 * The page's state from its address: from, to and by as given where they
 * are valid, else the last 12 months by month (the API's own default
 * grouping).
 * @param {string} search location.search
 * @param {string} today YYYY-MM-DD in the clinic's zone
 * @returns {ReviewState}
 */
export function stateFromQuery(search, today) {
  const q = new URLSearchParams(search);
  const def = quickPeriod('last12Months', today);
  const from = q.get('from');
  const to = q.get('to');
  const by = q.get('by') || '';
  return {
    from: isDate(from) ? from : def.from,
    to: isDate(to) ? to : def.to,
    by: Groupings.includes(by) ? by : 'month',
  };
}

/**
 * The page's address query for state, keeping the other parameters of
 * search (?lang=, say).
 * @param {ReviewState} state
 * @param {string} [search] the address's current query
 * @returns {string} "?from=…&to=…&by=…[&…]"
 */
export function queryFromState(state, search = '') {
  const q = new URLSearchParams(search);
  for (const k of ['from', 'to', 'by', 'format']) q.delete(k);
  const out = new URLSearchParams({ from: state.from, to: state.to, by: state.by });
  for (const [k, v] of q) out.append(k, v);
  return '?' + out.toString();
}

/**
 * The API's path for state's figures, as JSON or as CSV.
 * @param {ReviewState} state
 * @param {'json'|'csv'} [format]
 * @returns {string}
 */
export function statsPath(state, format = 'json') {
  const q = new URLSearchParams({ from: state.from, to: state.to, by: state.by });
  if (format === 'csv') q.set('format', 'csv');
  return '/api/v1/stats?' + q.toString();
}

/**
 * What is wrong with state before the API is asked: the field and why
 * ('date', 'order' or 'long'), or null when nothing is.
 * @param {ReviewState} state
 * @returns {{field: 'from'|'to', why: 'date'|'order'|'long'}|null}
 */
export function stateProblem(state) {
  if (!isDate(state.from)) return { field: 'from', why: 'date' };
  if (!isDate(state.to)) return { field: 'to', why: 'date' };
  const days = daysBetween(state.from, state.to);
  if (days < 1) return { field: 'to', why: 'order' };
  if (days > MaxDays) return { field: 'to', why: 'long' };
  return null;
}

/**
 * @typedef {object} CellWords the words a cell needs
 * @property {string} locale
 * @property {string} fewer "fewer than {n}"
 * @property {string} none what an unknown figure reads as
 * @property {string} min minutes' unit
 * @property {string} sec seconds' unit
 * @property {string} ms milliseconds' unit
 */

/**
 * @typedef {object} Cell how one figure reads
 * @property {'value'|'suppressed'|'none'} state
 * @property {string} text
 */

/**
 * How a group's figure reads: its value in the figure's unit, "fewer than
 * 5" when the group names it in suppressedFields, or the word for none
 * when no visit measured it.
 * @param {any} group a StatsGroup
 * @param {Figure} fig
 * @param {CellWords} w
 * @param {number} minCount the report's minCount
 * @returns {Cell}
 */
export function cellText(group, fig, w, minCount) {
  const v = group[fig.key];
  if (Array.isArray(group.suppressedFields) && group.suppressedFields.includes(fig.key)) {
    return { state: 'suppressed', text: w.fewer.replace('{n}', String(minCount)) };
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) return { state: 'none', text: w.none };
  const nf = (/** @type {number} */ digits) =>
    new Intl.NumberFormat(w.locale, { maximumFractionDigits: digits, minimumFractionDigits: 0 });
  switch (fig.kind) {
    case 'count':
      return { state: 'value', text: nf(0).format(v) };
    case 'seconds':
      return { state: 'value', text: durationText(v, w) };
    case 'share':
      return { state: 'value', text: new Intl.NumberFormat(w.locale, { style: 'percent', maximumFractionDigits: 0 }).format(v) };
    case 'ms':
      return { state: 'value', text: `${nf(0).format(v)} ${w.ms}` };
    case 'percent':
      return { state: 'value', text: `${nf(1).format(v)} %` };
    default:
      return { state: 'value', text: nf(1).format(v) };
  }
}

/**
 * A duration in whole seconds as minutes and seconds: "45 s", "4 min",
 * "12 min 5 s".
 * @param {number} seconds
 * @param {{min: string, sec: string}} w
 * @returns {string}
 */
export function durationText(seconds, w) {
  const s = Math.max(0, Math.round(seconds));
  const m = Math.floor(s / 60);
  const r = s % 60;
  if (m === 0) return `${r} ${w.sec}`;
  return r === 0 ? `${m} ${w.min}` : `${m} ${w.min} ${r} ${w.sec}`;
}

/**
 * A group's name for the reader: a department's or type's name in the
 * reader's language when the clinic has it, a week as "Week 13, 2026" or
 * a month in words, else the API's label or key.
 * @param {any} group
 * @param {string} by
 * @param {{lang: string, locale: string, week: string}} w week: "Week {w}, {y}"
 * @returns {string}
 */
export function groupName(group, by, w) {
  const names = group.names || {};
  const own = w.lang === 'da' ? names.da || names.en : names.en || names.da;
  if (own) return own;
  const key = String(group.key || '');
  if (by === 'week') {
    const m = /^(\d{4})-W(\d{2})$/.exec(key);
    if (m) return w.week.replace('{w}', String(+m[2])).replace('{y}', m[1]);
  }
  if (by === 'month') {
    const m = /^(\d{4})-(\d{2})$/.exec(key);
    if (m) {
      return new Intl.DateTimeFormat(w.locale, { month: 'long', year: 'numeric', timeZone: 'UTC' }).format(
        new Date(Date.UTC(+m[1], +m[2] - 1, 1)),
      );
    }
  }
  return group.label || key;
}
