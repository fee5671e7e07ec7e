// Small DOM helpers for the staff pages, which draw their lists and panels
// from data: an element builder, and keeping keyboard focus across a redraw.

/**
 * Builds an element: h('button', {type: 'button', className: 'btn'}, 'Book').
 * Keys starting with "data-" or "aria-", and role, become attributes; "on" +
 * event name a listener; the rest are properties. Children that are null,
 * undefined or false are left out.
 * @param {string} tag
 * @param {Record<string, any>} [props]
 * @param {...(Node|string|null|undefined|false)} children
 * @returns {any}
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('data-') || k.startsWith('aria-') || k === 'role') el.setAttribute(k, String(v));
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else /** @type {any} */ (el)[k] = v;
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

/**
 * Draws container anew with draw and puts keyboard focus back on the element
 * that stands for the one that had it (same id, data-action, data-slot or
 * data-appointment), so a refresh never throws a keyboard user out.
 * @param {HTMLElement} container
 * @param {() => void} draw
 */
export function keepFocus(container, draw) {
  const had = /** @type {HTMLElement|null} */ (container.contains(document.activeElement) ? document.activeElement : null);
  draw();
  if (!had || container.contains(had)) return;
  const key = had.id
    ? `#${CSS.escape(had.id)}`
    : ['data-slot', 'data-appointment', 'data-action']
        .filter((a) => had.hasAttribute(a))
        .map((a) => `[${a}="${CSS.escape(had.getAttribute(a) || '')}"]`)
        .join('');
  const again = key ? /** @type {HTMLElement|null} */ (container.querySelector(key)) : null;
  if (again && !(/** @type {any} */ (again).disabled)) again.focus();
  else container.focus?.();
}
