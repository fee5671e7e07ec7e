// A small trend chart of one quantity (GET /api/v1/patients/{id}/trends):
// the last days as a line in an SVG drawn here, no library; each point's
// range (lowest to highest in its stretch of time) as a faint bar; the
// patient's limits as dashed lines with the band between them shaded;
// blood pressure as two lines, systolic over diastolic. Pointing at the
// chart, tapping it, or the arrow keys when it has the focus, show a
// reading in words below it: when, the value, and which device sent it.
// The chart has a text equivalent (its label: the range and the newest),
// so it is never the only way to read the values.

const SVGNS = 'http://www.w3.org/2000/svg';

/**
 * @typedef {object} TrendPoint
 * @property {string} at RFC 3339
 * @property {number} value systolic for blood pressure
 * @property {number} [value2] diastolic
 * @property {number} min
 * @property {number} max
 * @property {number} n
 * @property {string} [deviceId]
 * @property {string} source bluetooth, gateway, typed (by the patient), staff (typed by staff)
 */

/**
 * @typedef {object} Geometry
 * @property {Array<[number, number]>} line the value's points, x and y
 * @property {Array<[number, number]>} line2 the diastolic's, for blood pressure
 * @property {Array<[number, number, number]>} ranges x, y of the highest, y of the lowest
 * @property {number|null} lowY the low limit's y, null when none or out of view
 * @property {number|null} highY
 * @property {number} lo the lowest value shown
 * @property {number} hi the highest value shown
 */

/**
 * Where each point goes in a chart of width x height: time across from
 * `from` to `to`, values up, the scale taking in the points and the limits
 * with a little room.
 * @param {TrendPoint[]} points oldest first
 * @param {{width: number, height: number, from: number, to: number, low?: number|null, high?: number|null}} box
 *   from, to: milliseconds
 * @returns {Geometry}
 */
export function trendGeometry(points, box) {
  const values = [];
  for (const p of points) values.push(p.min, p.max, p.value, ...(typeof p.value2 === 'number' ? [p.value2] : []));
  for (const l of [box.low, box.high]) if (typeof l === 'number') values.push(l);
  let lo = values.length ? Math.min(...values) : 0;
  let hi = values.length ? Math.max(...values) : 1;
  if (hi - lo < 1e-9) {
    lo -= 1;
    hi += 1;
  }
  const pad = (hi - lo) * 0.08;
  lo -= pad;
  hi += pad;
  const span = Math.max(1, box.to - box.from);
  const x = (/** @type {number} */ t) => round(((t - box.from) / span) * box.width);
  const y = (/** @type {number} */ v) => round(box.height - ((v - lo) / (hi - lo)) * box.height);
  /** @type {Geometry} */
  const g = { line: [], line2: [], ranges: [], lowY: null, highY: null, lo, hi };
  for (const p of points) {
    const px = x(Date.parse(p.at));
    g.line.push([px, y(p.value)]);
    if (typeof p.value2 === 'number') g.line2.push([px, y(p.value2)]);
    if (p.n > 1 && p.max > p.min) g.ranges.push([px, y(p.max), y(p.min)]);
  }
  if (typeof box.low === 'number') g.lowY = y(box.low);
  if (typeof box.high === 'number') g.highY = y(box.high);
  return g;
}

/** @param {number} v */
const round = (v) => Math.round(v * 10) / 10;

/**
 * The index of the point nearest to x (a chart coordinate).
 * @param {Array<[number, number]>} line
 * @param {number} x
 * @returns {number} -1 when there are none
 */
export function nearestIndex(line, x) {
  let best = -1;
  let dist = Infinity;
  line.forEach(([px], i) => {
    const d = Math.abs(px - x);
    if (d < dist) {
      dist = d;
      best = i;
    }
  });
  return best;
}

/**
 * @typedef {object} TrendWords
 * @property {string} label "{name}, last {days} days: {lo} to {hi} {unit}; newest {value} {unit}, {when}"
 * @property {string} reading "{when}: {value} {unit}, {device} ({source})"
 * @property {string} limits "limits {low} to {high}"
 * @property {string} none "No readings in the last {days} days."
 * @property {string} pointHint "Point at the chart, tap it, or use the arrow keys to read a value."
 * @property {Record<string, string>} sources bluetooth, gateway, typed, staff
 */

/** @type {{en: TrendWords, da: TrendWords}} */
export const trendWords = {
  en: {
    label: '{name}, last {days} days: {lo} to {hi} {unit}; newest {value} {unit}, {when}',
    reading: '{when}: {value} {unit}, {device} ({source})',
    limits: 'limits {low} to {high}',
    none: 'No readings in the last {days} days.',
    pointHint: 'Point at the chart, tap it, or use the arrow keys to read a value.',
    sources: { bluetooth: 'Bluetooth', gateway: 'home gateway', typed: 'typed by the patient', staff: 'typed by staff' },
  },
  da: {
    label: '{name}, seneste {days} dage: {lo} til {hi} {unit}; nyeste {value} {unit}, {when}',
    reading: '{when}: {value} {unit}, {device} ({source})',
    limits: 'grænser {low} til {high}',
    none: 'Ingen målinger de seneste {days} dage.',
    pointHint: 'Peg på grafen, tryk på den, eller brug piletasterne for at læse en værdi.',
    sources: { bluetooth: 'Bluetooth', gateway: 'hjemmeboks', typed: 'indtastet af patienten', staff: 'indtastet af personalet' },
  },
};

/**
 * @param {string} s
 * @param {Record<string, string|number>} vars
 */
const fill = (s, vars) => s.replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ''));

/**
 * A value as the chart says it: blood pressure as "140/90".
 * @param {TrendPoint} p
 * @param {Intl.NumberFormat} nf
 */
export function valueText(p, nf) {
  return typeof p.value2 === 'number' ? `${nf.format(p.value)}/${nf.format(p.value2)}` : nf.format(p.value);
}

/**
 * Draws a trend into root: an SVG chart and a line of words under it.
 * @param {HTMLElement} root
 * @param {{code: string, unit: string, points: TrendPoint[]}} series
 * @param {{name: string, unit?: string, from: string, to: string, days: number, locale: string, words: TrendWords,
 *   low?: number|null, high?: number|null, deviceName?: (id: string|undefined) => string, width?: number, height?: number}} opts
 * @returns {{select: (i: number) => void, geometry: Geometry}}
 */
export function drawTrend(root, series, opts) {
  const w = opts.words;
  const width = opts.width || 240;
  const height = opts.height || 56;
  const from = Date.parse(opts.from);
  const to = Date.parse(opts.to);
  const unit = opts.unit ?? series.unit;
  const nf = new Intl.NumberFormat(opts.locale, { maximumFractionDigits: 1 });
  const df = new Intl.DateTimeFormat(opts.locale, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
  const pts = series.points || [];
  root.classList.add('trend');
  root.dataset.trendCode = series.code;
  if (!pts.length) {
    const p = document.createElement('p');
    p.className = 'trend-none';
    p.textContent = fill(w.none, { days: opts.days });
    root.replaceChildren(p);
    return { select: () => {}, geometry: trendGeometry([], { width, height, from, to }) };
  }
  const g = trendGeometry(pts, { width, height, from, to, low: opts.low, high: opts.high });
  const svg = document.createElementNS(SVGNS, 'svg');
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('width', String(width));
  svg.setAttribute('height', String(height));
  svg.setAttribute('class', 'trend-chart');
  svg.setAttribute('role', 'img');
  svg.setAttribute('tabindex', '0');
  const newest = pts[pts.length - 1];
  let label = fill(w.label, {
    name: opts.name,
    days: opts.days,
    lo: nf.format(Math.min(...pts.map((p) => Math.min(p.min, p.value2 ?? p.min)))),
    hi: nf.format(Math.max(...pts.map((p) => p.max))),
    unit,
    value: valueText(newest, nf),
    when: df.format(new Date(newest.at)),
  });
  if (typeof opts.low === 'number' || typeof opts.high === 'number') {
    label += '; ' + fill(w.limits, { low: opts.low == null ? '–' : nf.format(opts.low), high: opts.high == null ? '–' : nf.format(opts.high) });
  }
  svg.setAttribute('aria-label', label + '. ' + w.pointHint);

  const el = (/** @type {string} */ name, /** @type {Record<string, string|number>} */ attrs) => {
    const e = document.createElementNS(SVGNS, name);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    svg.append(e);
    return e;
  };
  // The band within the limits, then the limits themselves.
  if (g.lowY !== null || g.highY !== null) {
    const top = g.highY ?? 0;
    const bottom = g.lowY ?? height;
    el('rect', { x: 0, y: Math.min(top, bottom), width, height: Math.abs(bottom - top), class: 'trend-band' });
    for (const [ly, kind] of /** @type {Array<[number|null, string]>} */ ([[g.highY, 'high'], [g.lowY, 'low']])) {
      if (ly !== null) el('line', { x1: 0, x2: width, y1: ly, y2: ly, class: 'trend-limit', 'data-limit': kind });
    }
  }
  // Every stretch's range as one path: hundreds of elements would cost the
  // page more than the chart is worth.
  if (g.ranges.length) el('path', { d: g.ranges.map(([x, y1, y2]) => `M${x} ${y1}V${y2}`).join(''), class: 'trend-range' });
  const poly = (/** @type {Array<[number, number]>} */ line, /** @type {string} */ cls) =>
    el('polyline', { points: line.map(([x, y]) => `${x},${y}`).join(' '), class: cls });
  poly(g.line, 'trend-line');
  if (g.line2.length) poly(g.line2, 'trend-line trend-line2');
  const last = g.line[g.line.length - 1];
  el('circle', { cx: last[0], cy: last[1], r: 2.5, class: 'trend-last' });
  const mark = el('circle', { cx: -10, cy: -10, r: 3.5, class: 'trend-mark' });

  const out = document.createElement('p');
  out.className = 'trend-readout';
  out.setAttribute('aria-live', 'polite');
  root.replaceChildren(svg, out);

  let sel = -1;
  const select = (/** @type {number} */ i) => {
    if (i < 0 || i >= pts.length) return;
    sel = i;
    const p = pts[i];
    mark.setAttribute('cx', String(g.line[i][0]));
    mark.setAttribute('cy', String(g.line[i][1]));
    out.dataset.index = String(i);
    out.textContent = fill(w.reading, {
      when: df.format(new Date(p.at)),
      value: valueText(p, nf),
      unit,
      device: opts.deviceName?.(p.deviceId) || '',
      source: w.sources[p.source] || p.source,
    });
  };
  const fromEvent = (/** @type {PointerEvent} */ ev) => {
    const r = svg.getBoundingClientRect();
    if (!r.width) return;
    select(nearestIndex(g.line, ((ev.clientX - r.left) / r.width) * width));
  };
  svg.addEventListener('pointermove', fromEvent);
  svg.addEventListener('pointerdown', fromEvent);
  svg.addEventListener('keydown', (ev) => {
    const step = { ArrowLeft: -1, ArrowRight: 1, Home: -Infinity, End: Infinity }[ev.key];
    if (step === undefined) return;
    ev.preventDefault();
    const start = sel < 0 ? pts.length - 1 : sel;
    select(Math.max(0, Math.min(pts.length - 1, start + (Number.isFinite(step) ? step : step > 0 ? pts.length : -pts.length))));
  });
  return { select, geometry: g };
}
