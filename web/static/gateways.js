// The patient's home gateways on the calendar page: register one and show
// its pairing code this once (to read out, or print and pack with the
// kit), see whether each is paired and when it was last heard from, give a
// new code, revoke. The clinic keeps only hashes: a code not written down
// now is gone, and a new one is the way on.

import { seg } from './api.js';
import { twoStep } from './confirm.js';
import { h, keepFocus } from './dom.js';
import { fill } from './text.js';
import { formatDateTime, parseTime } from './time.js';

/**
 * @typedef {object} GatewayState
 * @property {string} id
 * @property {string} label
 * @property {boolean} paired
 * @property {string} [pairingExpiresAt]
 * @property {string} [lastUsedAt]
 * @property {string} [revokedAt]
 */

/**
 * @typedef {object} GatewayStrings
 * @property {string} locale
 * @property {string} gwPaired "Paired, last heard {when}"
 * @property {string} gwWaiting "Waiting to be paired (code valid until {when})"
 * @property {string} gwUnpaired "Not paired: give it a new code"
 * @property {string} gwRevoked "Revoked {when}"
 * @property {string} gwNewCode
 * @property {string} gwRevoke
 * @property {string} gwRevokeConfirm
 * @property {string} gwCodeFor "Pairing code for {name}"
 * @property {string} gwCodeUntil "Valid once, until {when}. Shown only now."
 */

/**
 * What a gateway's state says, in words.
 * @param {GatewayState} g
 * @param {GatewayStrings} t
 * @returns {string}
 */
export function gatewayStatus(g, t) {
  const when = (/** @type {string|undefined} */ s) => {
    const d = s ? parseTime(s) : null;
    return d ? formatDateTime(d, t.locale) : '';
  };
  if (g.revokedAt) return fill(t.gwRevoked, { when: when(g.revokedAt) });
  if (g.paired) return fill(t.gwPaired, { when: when(g.lastUsedAt) });
  if (g.pairingExpiresAt) return fill(t.gwWaiting, { when: when(g.pairingExpiresAt) });
  return t.gwUnpaired;
}

/**
 * @typedef {object} PanelOptions
 * @property {import('./api.js').API} api
 * @property {GatewayStrings} t
 * @property {(err: unknown) => Promise<string|null>} explain the words for a failed request; null when the page handled it
 */

/** Binds the panel to #gateways and its parts. */
export class GatewayPanel {
  /** @param {PanelOptions} opts */
  constructor(opts) {
    this._o = opts;
    this.patientId = '';
    this.patientName = '';
    /** @type {GatewayState[]} */
    this.gateways = [];
    const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));
    this._box = $('gateways');
    this._list = $('gw-list');
    this._none = $('gw-none');
    this._error = $('gw-error');
    this._codeBox = $('gw-code-box');
    this._codeFor = $('gw-code-for');
    this._code = $('gw-code');
    this._until = $('gw-code-until');
    this._register = /** @type {HTMLButtonElement} */ ($('gw-register'));
    this._register.addEventListener('click', () => this._create());
    $('gw-print').addEventListener('click', () => {
      document.body.classList.add('print-pairing');
      window.print();
      document.body.classList.remove('print-pairing');
    });
  }

  /**
   * Shows the gateways of a patient ('' hides the panel).
   * @param {string} id
   * @param {string} name
   */
  async show(id, name) {
    if (id === this.patientId) return;
    this.patientId = id;
    this.patientName = name;
    this.gateways = [];
    this._showCode(null);
    this._say('');
    this._box.hidden = !id;
    this.render();
    if (id) await this.load();
  }

  async load() {
    const id = this.patientId;
    try {
      const r = await this._o.api.get(`/api/v1/patients/${seg(id)}/gateways`);
      if (id !== this.patientId) return;
      this.gateways = Array.isArray(r?.gateways) ? r.gateways : [];
      this.render();
    } catch (err) {
      const msg = await this._o.explain(err);
      if (msg) this._say(msg);
    }
  }

  render() {
    const t = this._o.t;
    this._none.hidden = this.gateways.length > 0;
    keepFocus(this._list, () => {
      this._list.replaceChildren(
        ...this.gateways.map((g) => {
          const revoke = h('button', { type: 'button', className: 'btn btn-small', 'data-action': 'revoke-gateway', 'data-gateway': g.id }, t.gwRevoke);
          twoStep(revoke, { confirmText: () => t.gwRevokeConfirm, onConfirm: () => this._revoke(g.id) });
          return h(
            'li',
            { 'data-gateway': g.id, 'data-paired': String(g.paired), 'data-revoked': String(!!g.revokedAt) },
            h('span', { className: 'gw-name' }, g.label || g.id),
            ' ',
            h('span', { className: 'hint' }, gatewayStatus(g, t)),
            !g.revokedAt && h('span', { className: 'gw-actions' },
              h('button', { type: 'button', className: 'btn btn-small', 'data-action': 'new-pairing-code', 'data-gateway': g.id,
                onclick: () => this._newCode(g.id) }, t.gwNewCode),
              ' ', revoke),
          );
        }),
      );
    });
  }

  /** @param {{pairingCode: string, pairingExpiresAt: string, gatewayId?: string, id?: string}|null} p */
  _showCode(p) {
    this._codeBox.hidden = !p;
    if (!p) {
      this._code.textContent = '';
      return;
    }
    const t = this._o.t;
    const until = parseTime(p.pairingExpiresAt);
    this._codeFor.textContent = fill(t.gwCodeFor, { name: this.patientName });
    this._code.textContent = p.pairingCode;
    this._until.textContent = fill(t.gwCodeUntil, { when: until ? formatDateTime(until, t.locale) : '' });
    this._code.focus();
  }

  /** @param {string} msg '' hides it */
  _say(msg) {
    this._error.textContent = msg;
    this._error.hidden = !msg;
  }

  async _create() {
    if (!this.patientId || this._register.disabled) return;
    this._register.disabled = true;
    this._say('');
    try {
      const r = await this._o.api.post(`/api/v1/patients/${seg(this.patientId)}/gateways`, {});
      this._showCode(r);
      await this.load();
    } catch (err) {
      const msg = await this._o.explain(err);
      if (msg) this._say(msg);
    } finally {
      this._register.disabled = false;
    }
  }

  /** @param {string} gw */
  async _newCode(gw) {
    this._say('');
    try {
      const r = await this._o.api.post(`/api/v1/patients/${seg(this.patientId)}/gateways/${seg(gw)}/pairing`, {});
      this._showCode(r);
      await this.load();
    } catch (err) {
      const msg = await this._o.explain(err);
      if (msg) this._say(msg);
    }
  }

  /** @param {string} gw */
  async _revoke(gw) {
    this._say('');
    try {
      await this._o.api.post(`/api/v1/patients/${seg(this.patientId)}/gateways/${seg(gw)}/revoke`, {});
      this._showCode(null);
      await this.load();
    } catch (err) {
      const msg = await this._o.explain(err);
      if (msg) this._say(msg);
    }
  }
}
