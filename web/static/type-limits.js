// An appointment type's default limits, on the admin page: the limits per
// quantity (with the NEWS2 SpO2 scale and oxygen) that a patient with none
// of their own gets when booked for a visit of the type (GET/PUT
// /api/v1/appointment-types/{id}/limits, versioned). Admins change them;
// other staff read them.

import { APIError, seg } from './api.js';
import { LimitQuantities, limitsBody } from './patient-text.js';
import { fill } from './text.js';
import { codeName, unitText, vitalsWords } from './vitals.js';

/** @type {{en: Record<string, string>, da: Record<string, string>}} */
export const typeLimitsWords = {
  en: {
    title: 'Default limits of a type',
    hint: 'A patient without limits of their own gets these when booked for a visit of the type.',
    type: 'Appointment type',
    quantity: 'Quantity',
    low: 'Low',
    high: 'High',
    unit: 'Unit',
    scale: 'NEWS2 SpO2 scale',
    scale1: 'Scale 1',
    scale2: 'Scale 2',
    oxygen: 'On oxygen at home',
    save: 'Save default limits',
    saved: 'Default limits saved.',
    conflict: 'Someone changed these limits meanwhile: choose the type again to see theirs.',
    failed: 'Not saved: {detail}',
    badNumber: '{field}: not a number',
    none: 'No appointment types yet.',
  },
  da: {
    title: 'Standardgrænser for en aftaletype',
    hint: 'En patient uden egne grænser får disse, når der bookes en konsultation af typen.',
    type: 'Aftaletype',
    quantity: 'Måling',
    low: 'Nedre',
    high: 'Øvre',
    unit: 'Enhed',
    scale: 'NEWS2 SpO2-skala',
    scale1: 'Skala 1',
    scale2: 'Skala 2',
    oxygen: 'Bruger ilt hjemme',
    save: 'Gem standardgrænser',
    saved: 'Standardgrænserne er gemt.',
    conflict: 'En anden har ændret grænserne imens: vælg typen igen for at se deres.',
    failed: 'Ikke gemt: {detail}',
    badNumber: '{field}: ikke et tal',
    none: 'Ingen aftaletyper endnu.',
  },
};

/**
 * Builds the section in root.
 * @param {HTMLElement} root
 * @param {{api: import('./api.js').API, lang: string, admin: boolean, types: Array<{id: string, name?: string, names?: {da?: string, en?: string}}>}} opts
 * @returns {{setTypes: (types: any[]) => void}}
 */
export function mountTypeLimits(root, opts) {
  const w = opts.lang === 'da' ? typeLimitsWords.da : typeLimitsWords.en;
  const vw = vitalsWords();
  const el = (/** @type {string} */ tag, /** @type {Record<string, any>} */ props = {}, ...kids) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props)) {
      if (k === 'text') e.textContent = v;
      else if (k.startsWith('data-') || k.startsWith('aria-') || k === 'for') e.setAttribute(k, v);
      else /** @type {any} */ (e)[k] = v;
    }
    e.append(...kids);
    return e;
  };
  const select = /** @type {HTMLSelectElement} */ (el('select', { id: 'tl-type' }));
  const rows = LimitQuantities.map(([code, unit]) => {
    const low = /** @type {HTMLInputElement} */ (el('input', { id: `tl-${code}-low`, inputMode: 'decimal', autocomplete: 'off', size: 6, disabled: !opts.admin, 'aria-labelledby': `tl-q-${code} tl-h-low` }));
    const high = /** @type {HTMLInputElement} */ (el('input', { id: `tl-${code}-high`, inputMode: 'decimal', autocomplete: 'off', size: 6, disabled: !opts.admin, 'aria-labelledby': `tl-q-${code} tl-h-high` }));
    const tr = el('tr', { 'data-code': code }, el('th', { scope: 'row', id: `tl-q-${code}`, text: codeName(code, vw) }), el('td', {}, low), el('td', {}, high), el('td', { text: unitText(unit) }));
    return { code, unit, low, high, tr };
  });
  const scale = /** @type {HTMLSelectElement} */ (el('select', { id: 'tl-scale', disabled: !opts.admin }, el('option', { value: '1', text: w.scale1 }), el('option', { value: '2', text: w.scale2 })));
  const oxygen = /** @type {HTMLInputElement} */ (el('input', { id: 'tl-oxygen', type: 'checkbox', disabled: !opts.admin }));
  const status = el('p', { className: 'note', role: 'status', id: 'tl-status' });
  const save = el('button', { type: 'submit', className: 'btn btn-main', 'data-action': 'save-type-limits', text: w.save, hidden: !opts.admin });
  const form = el(
    'form',
    { className: 'type-limits-form', noValidate: true },
    el('p', { className: 'field' }, el('label', { for: 'tl-type', text: w.type }), select),
    el(
      'table',
      { className: 'limits-table' },
      el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: w.quantity }), el('th', { scope: 'col', id: 'tl-h-low', text: w.low }), el('th', { scope: 'col', id: 'tl-h-high', text: w.high }), el('th', { scope: 'col', text: w.unit }))),
      el('tbody', {}, ...rows.map((r) => r.tr)),
    ),
    el('p', { className: 'field' }, el('label', { for: 'tl-scale', text: w.scale }), scale),
    el('p', { className: 'field field-check' }, oxygen, el('label', { for: 'tl-oxygen', text: w.oxygen })),
    save,
    status,
  );
  root.replaceChildren(el('h2', { id: 'tl-title', text: w.title }), el('p', { className: 'hint', text: w.hint }), form);
  root.setAttribute('aria-labelledby', 'tl-title');

  let version = 0;
  const show = async () => {
    status.textContent = '';
    delete status.dataset.state;
    if (!select.value) return;
    const wt = await opts.api.get(`/api/v1/appointment-types/${seg(select.value)}/limits`);
    version = wt?.version || 0;
    const by = new Map((wt?.limits || []).map((/** @type {any} */ l) => [l.code, l]));
    for (const r of rows) {
      const l = by.get(r.code);
      r.low.value = l?.low == null ? '' : String(l.low);
      r.high.value = l?.high == null ? '' : String(l.high);
    }
    scale.value = String(wt?.spo2Scale || 1);
    oxygen.checked = !!wt?.onOxygen;
  };
  select.addEventListener('change', () => show().catch((err) => (status.textContent = String(err?.detail || err))));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!opts.admin || !select.value) return;
    const limits = limitsBody(rows.map((r) => ({ code: r.code, unit: r.unit, low: r.low.value, high: r.high.value })));
    if (!Array.isArray(limits)) {
      status.textContent = fill(w.badNumber, { field: limits.bad });
      status.dataset.state = 'invalid';
      return;
    }
    try {
      const wt = await opts.api.request('PUT', `/api/v1/appointment-types/${seg(select.value)}/limits`, {
        body: { version, limits, spo2Scale: Number(scale.value), onOxygen: oxygen.checked },
      });
      version = wt?.version || version + 1;
      status.textContent = w.saved;
      status.dataset.state = 'saved';
    } catch (err) {
      status.dataset.state = 'failed';
      status.textContent = err instanceof APIError && err.status === 409 ? w.conflict : fill(w.failed, { detail: /** @type {any} */ (err)?.detail || String(err) });
    }
  });

  /** @param {any[]} types */
  const setTypes = (types) => {
    const keep = select.value;
    select.replaceChildren(
      ...types.map((ty) => el('option', { value: ty.id, text: (opts.lang === 'da' ? ty.names?.da || ty.names?.en : ty.names?.en || ty.names?.da) || ty.name || ty.id })),
    );
    if (!types.length) {
      status.textContent = w.none;
      return;
    }
    select.value = types.some((ty) => ty.id === keep) ? keep : types[0].id;
    if (select.value !== keep) show().catch(() => {});
  };
  setTypes(opts.types);
  return { setTypes };
}
