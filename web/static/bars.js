// Plain horizontal bar charts in SVG, ours, no library: one row per group
// (its name above its bar, a line of words below it), the series either
// stacked in one bar or as a bar each. Horizontal, so that long names fit a
// phone. Colour is never the only difference: each series has its own fill
// pattern (solid, hatched, dotted) and outline, the legend names them, and
// the numbers are written out beside the bars. The chart is one picture to a
// screen reader (role="img" with a summary as its name); the table beside
// it is where the figures are read. barLayout is pure (tested in node);
// drawBars and drawLegend build the elements.

const SVGNS = 'http://www.w3.org/2000/svg';

/**
 * @typedef {object} BarRow
 * @property {string} label the group's name, above its bar(s)
 * @property {Array<number|null>} values one per series; null draws no bar
 * @property {string[]} [texts] per series, written after its bar (grouped only)
 * @property {string} [note] a line of words below the bar(s)
 */

/**
 * @typedef {object} LayoutOptions
 * @property {number} series how many values a row has
 * @property {boolean} stacked one bar per row, segments end to end; else a bar per series
 * @property {number} [width] of the drawing, in its own units (default 320)
 * @property {number} [barHeight] default 16
 * @property {number} [labelHeight] room for the name above, default 18
 * @property {number} [noteHeight] room for the note below, default 16 when a row has one
 * @property {number} [gap] between rows, default 10
 * @property {number} [valueRoom] kept free right of the longest bar for its text, default 0 stacked, 64 grouped
 */

/**
 * @typedef {object} Bar
 * @property {number} series
 * @property {number} x
 * @property {number} y
 * @property {number} width
 * @property {number} height
 * @property {number} value
 */

/**
 * @typedef {object} RowLayout
 * @property {string} label
 * @property {number} labelY baseline of the name
 * @property {Bar[]} bars
 * @property {Array<{x: number, y: number, text: string}>} texts after the bars
 * @property {string} note
 * @property {number} noteY baseline of the note
 */

/**
 * @typedef {object} Layout
 * @property {number} width
 * @property {number} height
 * @property {number} max the value the full plot width stands for (0 when all are 0 or none)
 * @property {number} plotWidth
 * @property {RowLayout[]} rows
 */

/**
 * Where every bar goes. Values scale linearly from 0 at x = 0 to max, the
 * largest bar (a stacked row's sum), at the plot's full width; a value
 * above 0 gets at least 1 unit so that it shows; negative values count as 0.
 * @param {BarRow[]} rows
 * @param {LayoutOptions} opts
 * @returns {Layout}
 */
export function barLayout(rows, opts) {
  const width = opts.width ?? 320;
  const barHeight = opts.barHeight ?? 16;
  const labelHeight = opts.labelHeight ?? 18;
  const gap = opts.gap ?? 10;
  const valueRoom = opts.valueRoom ?? (opts.stacked ? 0 : 64);
  const hasNotes = rows.some((r) => r.note);
  const noteHeight = hasNotes ? (opts.noteHeight ?? 16) : 0;
  const plotWidth = Math.max(0, width - valueRoom);
  const clean = (/** @type {number|null|undefined} */ v) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0);
  let max = 0;
  for (const r of rows) {
    const vs = r.values.slice(0, opts.series).map(clean);
    max = Math.max(max, opts.stacked ? vs.reduce((a, b) => a + b, 0) : Math.max(0, ...vs));
  }
  const scale = (/** @type {number} */ v) => (max > 0 && v > 0 ? Math.max(1, (v / max) * plotWidth) : 0);
  const barsHeight = opts.stacked ? barHeight : barHeight * opts.series;
  const rowHeight = labelHeight + barsHeight + noteHeight;
  /** @type {RowLayout[]} */
  const out = rows.map((r, i) => {
    const top = i * (rowHeight + gap);
    const barTop = top + labelHeight;
    /** @type {Bar[]} */
    const bars = [];
    const texts = [];
    let x = 0;
    for (let s = 0; s < opts.series; s++) {
      const raw = r.values[s];
      if (raw === null || raw === undefined) {
        // No bar; a grouped row still says why (its text at the start).
        const text = opts.stacked ? '' : r.texts?.[s];
        if (text) texts.push({ x: 0, y: barTop + s * barHeight + barHeight - 5, text });
        continue;
      }
      const value = clean(raw);
      const w = scale(value);
      if (opts.stacked) {
        if (w > 0) bars.push({ series: s, x, y: barTop, width: w, height: barHeight, value });
        x += w;
      } else {
        const y = barTop + s * barHeight;
        bars.push({ series: s, x: 0, y, width: w, height: barHeight - 2, value });
        const text = r.texts?.[s];
        if (text) texts.push({ x: w + 4, y: y + barHeight - 5, text });
      }
    }
    return {
      label: r.label,
      labelY: top + labelHeight - 5,
      bars,
      texts,
      note: r.note || '',
      noteY: barTop + barsHeight + noteHeight - 3,
    };
  });
  const height = rows.length ? rows.length * rowHeight + (rows.length - 1) * gap : 0;
  return { width, height, max, plotWidth, rows: out };
}

/**
 * @typedef {object} SeriesStyle
 * @property {string} label
 * @property {string} color at least 3:1 against white (WCAG 1.4.11)
 * @property {'solid'|'hatch'|'dots'} pattern
 */

/**
 * @param {Document} doc
 * @param {string} name
 * @param {Record<string, string|number>} [attrs]
 * @returns {SVGElement}
 */
function svgEl(doc, name, attrs = {}) {
  const el = /** @type {SVGElement} */ (doc.createElementNS(SVGNS, name));
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/**
 * The fill of a series: its colour, or a pattern of it (diagonal lines, or
 * dots) defined in defs under id.
 * @param {Document} doc
 * @param {SVGElement} defs
 * @param {string} id
 * @param {SeriesStyle} st
 * @returns {string} the fill attribute's value
 */
function seriesFill(doc, defs, id, st) {
  if (st.pattern === 'solid') return st.color;
  const p = svgEl(doc, 'pattern', { id, width: 6, height: 6, patternUnits: 'userSpaceOnUse' });
  p.append(svgEl(doc, 'rect', { width: 6, height: 6, fill: '#ffffff' }));
  if (st.pattern === 'hatch') {
    p.setAttribute('patternTransform', 'rotate(45)');
    p.append(svgEl(doc, 'rect', { width: 3, height: 6, fill: st.color }));
  } else {
    p.append(svgEl(doc, 'circle', { cx: 3, cy: 3, r: 1.6, fill: st.color }));
  }
  defs.append(p);
  return `url(#${id})`;
}

/**
 * Draws layout as an SVG picture named by summary. id makes its patterns'
 * ids unique in the page.
 * @param {Document} doc
 * @param {Layout} layout
 * @param {{id: string, series: SeriesStyle[], summary: string}} opts
 * @returns {SVGSVGElement}
 */
export function drawBars(doc, layout, opts) {
  const svg = /** @type {SVGSVGElement} */ (
    svgEl(doc, 'svg', {
      viewBox: `0 0 ${layout.width} ${Math.max(1, layout.height)}`,
      width: '100%',
      role: 'img',
      'aria-label': opts.summary,
      class: 'bars',
    })
  );
  const defs = svgEl(doc, 'defs');
  svg.append(defs);
  const fills = opts.series.map((st, i) => seriesFill(doc, defs, `${opts.id}-s${i}`, st));
  for (const row of layout.rows) {
    const g = svgEl(doc, 'g');
    const label = svgEl(doc, 'text', { x: 0, y: row.labelY, class: 'bars-label' });
    label.textContent = row.label;
    g.append(label);
    for (const b of row.bars) {
      const st = opts.series[b.series];
      g.append(
        svgEl(doc, 'rect', {
          x: b.x,
          y: b.y,
          width: b.width,
          height: b.height,
          fill: fills[b.series],
          stroke: st.color,
          'stroke-width': 1,
          'data-series': b.series,
          'data-value': b.value,
        }),
      );
    }
    for (const tx of row.texts) {
      const el = svgEl(doc, 'text', { x: tx.x, y: tx.y, class: 'bars-value' });
      el.textContent = tx.text;
      g.append(el);
    }
    if (row.note) {
      const note = svgEl(doc, 'text', { x: 0, y: row.noteY, class: 'bars-note' });
      note.textContent = row.note;
      g.append(note);
    }
    svg.append(g);
  }
  return svg;
}

/**
 * The legend of a chart: each series' swatch (its pattern, hidden from
 * screen readers) and name.
 * @param {Document} doc
 * @param {{id: string, series: SeriesStyle[]}} opts
 * @returns {HTMLUListElement}
 */
export function drawLegend(doc, opts) {
  const ul = /** @type {HTMLUListElement} */ (doc.createElement('ul'));
  ul.className = 'legend';
  opts.series.forEach((st, i) => {
    const li = doc.createElement('li');
    const sw = svgEl(doc, 'svg', { width: 18, height: 14, viewBox: '0 0 18 14', 'aria-hidden': 'true', focusable: 'false' });
    const defs = svgEl(doc, 'defs');
    sw.append(defs);
    const fill = seriesFill(doc, defs, `${opts.id}-k${i}`, st);
    sw.append(svgEl(doc, 'rect', { x: 0.5, y: 0.5, width: 17, height: 13, fill, stroke: st.color, 'stroke-width': 1 }));
    li.append(sw, doc.createTextNode(' ' + st.label));
    ul.append(li);
  });
  return ul;
}
