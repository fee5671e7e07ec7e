// The page around a Call, shared by the visit page (patient) and the call page
// (clinician): the state on <body data-call-state>, the status line, the notice
// that explains an error and offers a way on, the Microphone, Camera and Leave
// buttons, the self-view, the remote tiles and, where the page has one, the
// participant list. Every word comes from the page's strings object.

import { Call } from './call.js';
import { decodeClaims, roomFromPath, takeToken, wsURL } from './token.js';
import { Tiles, roleWords } from './tiles.js';
import { applyText, fill, pickLang } from './text.js';

/** @typedef {import('./call.js').CallState} CallState */
/** @typedef {import('./media.js').MediaMode} MediaMode */
/** @typedef {import('./protocol.js').Participant} Participant */

/**
 * A problem or an ending, explained.
 * @typedef {object} Explanation
 * @property {string} title
 * @property {string} text
 * @property {Array<'retry'|'audioOnly'|'noMedia'|'joinAgain'|'reload'>} actions buttons offered, first is the main one
 */

/**
 * Everything a page says, in one language.
 * @typedef {object} PageStrings
 * @property {string} lang BCP 47 tag for <html lang>
 * @property {string} title document title
 * @property {Record<string, string>} text texts of elements with data-text="key"
 * @property {string} greeting "Hello, {name}"
 * @property {Record<CallState, string>} status the status line for each state
 * @property {Record<string, Explanation>} explain by Call.why: media problems, refused, lost, room-full, version, expired, and leave reasons
 * @property {Record<string, string>} actions button texts: retry, audioOnly, noMedia, joinAgain, reload
 * @property {string} on
 * @property {string} off
 * @property {string} tileLabel
 * @property {string} someone
 * @property {string} reconnecting
 * @property {string} micOff
 * @property {string} camOff
 * @property {string} tapForSound
 * @property {string} you "{name} (you)"
 * @property {Record<string, string>} roles role in plain words
 */

/**
 * Picks the strings for the browser's language: Danish when it starts with
 * "da" (or ?lang=da), else English.
 * @param {{en: PageStrings, da?: PageStrings}} all
 * @returns {PageStrings}
 */
export function pickStrings(all) {
  return pickLang(all);
}

/**
 * @param {string} id
 * @returns {HTMLElement|null}
 */
const $ = (id) => document.getElementById(id);

/**
 * Starts the page: reads the link, wires the controls and joins.
 * @param {{en: PageStrings, da?: PageStrings}} all
 * @param {{mainRole?: string}} [opts] mainRole: the role shown large
 */
export function startPage(all, opts = {}) {
  const t = pickStrings(all);
  document.documentElement.lang = t.lang;
  document.title = t.title;
  applyText(document, t.text);

  const room = roomFromPath(location.pathname);
  let storage = null;
  try {
    storage = window.sessionStorage;
  } catch {
    // storage disabled: the token lives only for this page load
  }
  const token = takeToken(room, { location, history, storage });
  const claims = decodeClaims(token);
  const greeting = $('greeting');
  if (greeting && claims?.name) greeting.textContent = fill(t.greeting, { name: claims.name });

  const empty = $('empty');
  const tiles = new Tiles(/** @type {HTMLElement} */ ($('tiles')), t, {
    mainRole: opts.mainRole,
    onChange: (n) => {
      if (empty) empty.hidden = n > 0;
    },
  });
  const selfView = /** @type {HTMLVideoElement|null} */ ($('self-view'));

  /** @type {MediaMode} */
  let mode = 'full';
  const call = new Call({
    wsURL: wsURL('/ws?room=' + encodeURIComponent(room), location),
    token,
    claims,
    devices: navigator.mediaDevices,
    online: window,
    events: {
      state: (state, why) => showState(state, why),
      participants: (list, selfId) => {
        tiles.update(list, selfId);
        renderList(t, list, selfId);
      },
      track: (id, stream) => tiles.attach(id, stream),
      local: (stream) => {
        if (selfView) selfView.srcObject = stream;
        const self = $('self');
        if (self) self.hidden = !stream;
        if (!stream) tiles.clear();
      },
      mute: () => renderControls(),
    },
  });

  const mic = /** @type {HTMLButtonElement} */ ($('mic'));
  const camera = /** @type {HTMLButtonElement} */ ($('camera'));
  const leave = /** @type {HTMLButtonElement} */ ($('leave'));
  mic.addEventListener('click', () => call.setAudio(!call.sending.audio));
  camera.addEventListener('click', () => call.setVideo(!call.sending.video));
  leave.addEventListener('click', () => call.leave());

  function renderControls() {
    const s = call.sending;
    toggle(mic, s.audio, s.hasAudio);
    toggle(camera, s.video, s.hasVideo);
    $('self')?.classList.toggle('no-video', !s.video);
  }

  /**
   * @param {HTMLButtonElement} b
   * @param {boolean} on
   * @param {boolean} available
   */
  function toggle(b, on, available) {
    b.setAttribute('aria-pressed', String(on));
    b.disabled = !available;
    const state = b.querySelector('.btn-state');
    if (state) state.textContent = on ? t.on : t.off;
  }

  /**
   * @param {CallState} state
   * @param {string} why
   */
  function showState(state, why) {
    document.body.dataset.callState = state;
    const explained = state === 'error' || state === 'expired' || state === 'ended';
    const ex = explained ? t.explain[why] || t.explain[state] : null;
    const status = $('status');
    if (status) status.textContent = ex ? ex.title : t.status[state];
    showNotice(ex);
    leave.disabled = explained || state === 'idle';
    renderControls();
  }

  /** @param {Explanation|null} ex */
  function showNotice(ex) {
    const notice = $('notice');
    if (!notice) return;
    notice.hidden = !ex;
    const actions = /** @type {HTMLElement} */ ($('notice-actions'));
    actions.replaceChildren();
    if (!ex) return;
    /** @type {HTMLElement} */ ($('notice-title')).textContent = ex.title;
    /** @type {HTMLElement} */ ($('notice-text')).textContent = ex.text;
    ex.actions.forEach((a, i) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = i === 0 ? 'btn btn-main' : 'btn';
      b.dataset.action = a;
      b.textContent = t.actions[a];
      b.addEventListener('click', () => act(a));
      actions.append(b);
    });
    /** @type {HTMLElement|null} */ (actions.firstElementChild)?.focus();
  }

  /** @param {string} action */
  function act(action) {
    if (action === 'reload') {
      location.reload();
      return;
    }
    if (action === 'audioOnly') mode = 'audio';
    else if (action === 'noMedia') mode = 'none';
    call.start(mode);
  }

  // For tests and support: the state, the receive stats, the first-frame time
  // and the participant list, read live.
  window.vclinic = Object.freeze({
    get state() {
      return call.state;
    },
    stats: () => call.stats(),
    get firstFrameMillis() {
      return call.firstFrameMillis;
    },
    get participants() {
      return call.participants;
    },
    get participantId() {
      return call.participantId;
    },
  });

  showState('idle', '');
  call.start(mode);
}

/**
 * Renders the participant list, on pages that have one (#participant-list).
 * @param {PageStrings} t
 * @param {Participant[]} list
 * @param {string} selfId
 */
function renderList(t, list, selfId) {
  const ul = $('participant-list');
  if (!ul) return;
  ul.replaceChildren(
    ...list.map((p) => {
      const li = document.createElement('li');
      li.dataset.participant = p.id;
      li.dataset.role = p.role;
      li.dataset.state = p.state;
      const name = document.createElement('span');
      name.className = 'p-name';
      const who = p.name || t.someone;
      name.textContent = p.id === selfId ? fill(t.you, { name: who }) : who;
      const role = document.createElement('span');
      role.className = 'p-role';
      role.textContent = roleWords(t, p.role);
      const notes = [];
      if (p.state === 'reconnecting') notes.push(t.reconnecting);
      if (!p.audio) notes.push(t.micOff);
      if (!p.video) notes.push(t.camOff);
      const state = document.createElement('span');
      state.className = 'p-state';
      state.textContent = notes.join(' · ');
      li.append(name, role, state);
      return li;
    }),
  );
}
