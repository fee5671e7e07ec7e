// Chat in the visit, both ways: for a patient who cannot hear, or a clinician
// who must spell a medicine's name. ChatLog is the page's copy of the visit's
// chat (no DOM): messages in the order the server filed them (seq), and the
// page's own messages that have no receipt yet. Every message the page sends
// has its own client id; after every joined the page asks for what it missed
// (chat-sync with the highest seq it holds in an unbroken run) and sends again
// what got no receipt, which the server files once (signaling/chat.go).
// ChatPanel draws it: the messages, quick phrases, a field and Send.

import { MaxChatText, TypeChat, TypeChatSync } from './protocol.js';
import { formatTime } from './time.js';

/** The quick phrases, by the code the server knows (signaling.ChatPhrases). */
export const phraseCodes = Object.freeze(['cannot-hear', 'cannot-see', 'please-repeat', 'one-moment', 'please-write', 'understood']);

/**
 * @typedef {object} ChatWords
 * @property {string} title
 * @property {string} open the Chat button
 * @property {string} unread "{n} new"
 * @property {string} field label of the text field
 * @property {string} send
 * @property {string} sending
 * @property {string} failed "Not sent."
 * @property {string} retry
 * @property {string} empty
 * @property {string} tooLong "At most {n} characters."
 * @property {string} quick label of the quick phrases
 * @property {string} you
 * @property {string} newFrom "New message from {name}: {text}"
 * @property {Record<string, string>} phrases by code
 * @property {Record<string, string>} roles by role
 */

/** @type {{en: ChatWords, da: ChatWords}} */
export const chatWords = {
  en: {
    title: 'Chat',
    open: 'Chat',
    unread: '{n} new',
    field: 'Write a message',
    send: 'Send',
    sending: 'Sending…',
    failed: 'Not sent.',
    retry: 'Send again',
    empty: 'No messages yet. You can write here if you cannot hear or speak.',
    tooLong: 'At most {n} characters.',
    quick: 'Quick messages',
    you: 'You',
    newFrom: 'New message from {name}: {text}',
    phrases: {
      'cannot-hear': 'I cannot hear you',
      'cannot-see': 'I cannot see you',
      'please-repeat': 'Could you say that again?',
      'one-moment': 'One moment, please',
      'please-write': 'Please write it here',
      understood: 'Understood',
    },
    roles: { patient: 'patient', clinician: 'clinician', relative: 'relative', interpreter: 'interpreter' },
  },
  da: {
    title: 'Chat',
    open: 'Chat',
    unread: '{n} nye',
    field: 'Skriv en besked',
    send: 'Send',
    sending: 'Sender…',
    failed: 'Ikke sendt.',
    retry: 'Send igen',
    empty: 'Ingen beskeder endnu. Du kan skrive her, hvis du ikke kan høre eller tale.',
    tooLong: 'Højst {n} tegn.',
    quick: 'Hurtige beskeder',
    you: 'Dig',
    newFrom: 'Ny besked fra {name}: {text}',
    phrases: {
      'cannot-hear': 'Jeg kan ikke høre dig',
      'cannot-see': 'Jeg kan ikke se dig',
      'please-repeat': 'Kan du sige det igen?',
      'one-moment': 'Et øjeblik',
      'please-write': 'Skriv det venligst her',
      understood: 'Forstået',
    },
    roles: { patient: 'patient', clinician: 'behandler', relative: 'pårørende', interpreter: 'tolk' },
  },
};

/**
 * @typedef {object} Pending
 * @property {string} clientId
 * @property {string} text
 * @property {string} phrase
 * @property {'sending'|'failed'} state
 * @property {string} ref envelope id of the last send
 */

/** @returns {string} a client id no other message of this page has */
function newClientId() {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === 'function') return c.randomUUID();
  const b = new Uint8Array(16);
  c.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

export class ChatLog {
  /**
   * @param {{onChange?: (fresh: import('./protocol.js').ChatMessage[]) => void, newId?: () => string}} [opts]
   *   onChange: after any change, with the messages from others that are new
   */
  constructor(opts = {}) {
    this._onChange = opts.onChange || (() => {});
    this._newId = opts.newId || newClientId;
    /** @type {Map<number, import('./protocol.js').ChatMessage>} by seq */
    this._bySeq = new Map();
    /** @type {Pending[]} */
    this._pending = [];
    /** @type {((type: string, payload: object) => string)|null} */
    this._send = null;
  }

  /** @returns {number} the highest seq held with none missing below it */
  get through() {
    let n = 0;
    while (this._bySeq.has(n + 1)) n++;
    return n;
  }

  /** @returns {import('./protocol.js').ChatMessage[]} filed messages, in order */
  get messages() {
    return [...this._bySeq.values()].sort((a, b) => a.seq - b.seq);
  }

  /** @returns {Pending[]} this page's messages without a receipt, oldest first */
  get pending() {
    return this._pending.map((p) => ({ ...p }));
  }

  /**
   * The connection has joined (or joined again): catch up, then send again
   * whatever has no receipt.
   * @param {(type: string, payload: object) => string} send returns the envelope id, '' if not sent
   */
  connected(send) {
    this._send = send;
    send(TypeChatSync, { after: this.through });
    for (const p of this._pending) this._transmit(p);
    this._onChange([]);
  }

  /** The connection is down: messages wait. */
  disconnected() {
    this._send = null;
  }

  /**
   * Writes a message. It shows at once as sending, and goes out now or
   * after the next joined.
   * @param {string} text
   * @param {string} [phrase] quick phrase code
   * @returns {string} its client id, '' if there is nothing to send
   */
  post(text, phrase = '') {
    text = text.trim();
    if (!text || [...text].length > MaxChatText) return '';
    /** @type {Pending} */
    const p = { clientId: this._newId(), text, phrase, state: 'sending', ref: '' };
    this._pending.push(p);
    this._transmit(p);
    this._onChange([]);
    return p.clientId;
  }

  /**
   * Sends a failed message again.
   * @param {string} clientId
   */
  retry(clientId) {
    const p = this._pending.find((x) => x.clientId === clientId);
    if (!p) return;
    p.state = 'sending';
    this._transmit(p);
    this._onChange([]);
  }

  /** @param {Pending} p */
  _transmit(p) {
    if (!this._send) return;
    const payload = { clientId: p.clientId, text: p.text };
    if (p.phrase) /** @type {any} */ (payload).phrase = p.phrase;
    p.ref = this._send(TypeChat, payload);
  }

  /**
   * A chat message from the server: live, a receipt, or history.
   * @param {{messages?: import('./protocol.js').ChatMessage[]}} payload
   */
  receive(payload) {
    const list = Array.isArray(payload?.messages) ? payload.messages : [];
    /** @type {import('./protocol.js').ChatMessage[]} */
    const fresh = [];
    for (const m of list) {
      if (!m || typeof m.seq !== 'number' || typeof m.text !== 'string') continue;
      if (m.mine) this._pending = this._pending.filter((p) => p.clientId !== m.clientId);
      if (this._bySeq.has(m.seq)) continue;
      this._bySeq.set(m.seq, m);
      if (!m.mine) fresh.push(m);
    }
    this._onChange(fresh);
  }

  /**
   * The server refused a message (error with ref): marks it failed. Returns
   * whether ref was a chat message of this page.
   * @param {string} ref
   * @returns {boolean}
   */
  refused(ref) {
    const p = ref ? this._pending.find((x) => x.ref === ref) : null;
    if (!p) return false;
    p.state = 'failed';
    this._onChange([]);
    return true;
  }
}

/**
 * @param {string} s
 * @param {Record<string, string|number>} vars
 */
const fill = (s, vars) => s.replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ''));

/**
 * The chat on a page: a log, quick phrases, a field and Send. On the
 * patient's page it opens from the Chat button and by itself when someone
 * writes (once closed by hand, the button counts what is new instead); on
 * the clinician's page it is always there.
 */
export class ChatPanel {
  /**
   * @param {HTMLElement} root the section to fill
   * @param {ChatLog} log
   * @param {{words: ChatWords, locale: string, roles?: Record<string, string>, toggle?: HTMLButtonElement|null, announce?: HTMLElement|null}} opts
   *   roles: the page's own words for roles, as its tiles name them;
   *   toggle: the button that opens and closes the panel (patient's page);
   *   announce: a polite live region that reads out messages from others
   */
  constructor(root, log, opts) {
    this._root = root;
    this._log = log;
    this._w = opts.words;
    this._roles = { ...opts.words.roles, ...(opts.roles || {}) };
    this._locale = opts.locale;
    this._toggle = opts.toggle || null;
    this._announce = opts.announce || null;
    this._unread = 0;
    this._closedByHand = false;
    this._build();
    if (this._toggle) {
      this._root.hidden = true;
      this._toggle.setAttribute('aria-expanded', 'false');
      this._toggle.setAttribute('aria-controls', root.id);
      this._toggle.addEventListener('click', () => {
        const open = this._root.hidden;
        this._closedByHand = !open;
        this.setOpen(open, true);
      });
    }
    this.render([]);
  }

  /** @returns {boolean} */
  get open() {
    return !this._root.hidden;
  }

  /**
   * @param {boolean} open
   * @param {boolean} [focus] move the focus to the field
   */
  setOpen(open, focus = false) {
    this._root.hidden = !open;
    if (open) this._unread = 0;
    this._toggle?.setAttribute('aria-expanded', String(open));
    this._renderToggle();
    if (open) {
      this._scrollDown();
      if (focus) this._field.focus();
    }
  }

  _build() {
    const w = this._w;
    const h = document.createElement('h2');
    h.id = this._root.id + '-title';
    h.className = 'chat-title';
    h.textContent = w.title;
    this._root.setAttribute('aria-labelledby', h.id);

    this._list = document.createElement('ol');
    this._list.className = 'chat-log';
    this._list.tabIndex = 0; // a long log scrolls by keyboard too
    this._list.setAttribute('aria-label', w.title);

    const quick = document.createElement('div');
    quick.className = 'chat-quick';
    quick.setAttribute('role', 'group');
    quick.setAttribute('aria-label', w.quick);
    for (const code of phraseCodes) {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'btn chat-phrase';
      b.dataset.action = 'chat-phrase';
      b.dataset.phrase = code;
      b.textContent = w.phrases[code];
      b.addEventListener('click', () => this._log.post(w.phrases[code], code));
      quick.append(b);
    }

    const form = document.createElement('form');
    form.className = 'chat-form';
    const label = document.createElement('label');
    label.htmlFor = this._root.id + '-text';
    label.textContent = w.field;
    this._field = document.createElement('textarea');
    this._field.id = this._root.id + '-text';
    this._field.rows = 2;
    this._field.maxLength = MaxChatText;
    this._field.autocomplete = 'off';
    this._field.dataset.chatField = '';
    this._field.addEventListener('keydown', (e) => {
      // Enter sends, Shift+Enter starts a new line, as in any chat.
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        form.requestSubmit();
      }
    });
    const send = document.createElement('button');
    send.type = 'submit';
    send.className = 'btn btn-main';
    send.dataset.action = 'send-chat';
    send.textContent = w.send;
    this._hint = document.createElement('p');
    this._hint.className = 'chat-hint';
    this._hint.setAttribute('aria-live', 'polite');
    form.append(label, this._field, send, this._hint);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const text = this._field.value;
      if ([...text.trim()].length > MaxChatText) {
        this._hint.textContent = fill(w.tooLong, { n: MaxChatText });
        return;
      }
      if (this._log.post(text)) {
        this._field.value = '';
        this._hint.textContent = '';
      }
    });
    this._root.replaceChildren(h, this._list, quick, form);
  }

  /**
   * Draws the log again; fresh messages from others are counted as unread
   * while the panel is closed, read out, and open a closed panel.
   * @param {import('./protocol.js').ChatMessage[]} fresh
   */
  render(fresh) {
    const w = this._w;
    const items = [];
    for (const m of this._log.messages) {
      const li = document.createElement('li');
      li.className = m.mine ? 'chat-msg chat-mine' : 'chat-msg';
      li.dataset.chatSeq = String(m.seq);
      if (m.mine) li.dataset.mine = '';
      const who = document.createElement('span');
      who.className = 'chat-who';
      const role = this._roles[m.role] || m.role;
      who.textContent = m.mine ? w.you : role && m.name !== role ? `${m.name} (${role})` : m.name;
      const at = document.createElement('time');
      at.dateTime = m.at;
      at.textContent = formatTime(new Date(m.at), this._locale);
      const text = document.createElement('p');
      text.className = 'chat-text';
      // A quick phrase reads in the reader's language.
      text.textContent = (m.phrase && w.phrases[m.phrase]) || m.text;
      li.append(who, ' ', at, text);
      items.push(li);
    }
    for (const p of this._log.pending) {
      const li = document.createElement('li');
      li.className = 'chat-msg chat-mine chat-pending';
      li.dataset.chatPending = p.state;
      const who = document.createElement('span');
      who.className = 'chat-who';
      who.textContent = w.you;
      const state = document.createElement('span');
      state.className = 'chat-state';
      state.textContent = p.state === 'failed' ? w.failed : w.sending;
      const text = document.createElement('p');
      text.className = 'chat-text';
      text.textContent = p.text;
      li.append(who, ' ', state, text);
      if (p.state === 'failed') {
        const again = document.createElement('button');
        again.type = 'button';
        again.className = 'btn';
        again.dataset.action = 'retry-chat';
        again.textContent = w.retry;
        again.addEventListener('click', () => this._log.retry(p.clientId));
        li.append(again);
      }
      items.push(li);
    }
    if (!items.length) {
      const li = document.createElement('li');
      li.className = 'chat-empty';
      li.textContent = w.empty;
      items.push(li);
    }
    this._list.replaceChildren(...items);
    if (fresh.length) {
      const last = fresh[fresh.length - 1];
      if (this._announce) {
        const text = (last.phrase && w.phrases[last.phrase]) || last.text;
        this._announce.textContent = fill(w.newFrom, { name: last.name, text });
      }
      // Someone wrote: the panel opens by itself (the focus stays where it
      // was), unless the reader closed it, when the Chat button counts.
      if (!this.open && this._closedByHand) this._unread += fresh.length;
      else if (!this.open) this.setOpen(true);
    }
    this._renderToggle();
    this._scrollDown();
  }

  _renderToggle() {
    const b = this._toggle;
    if (!b) return;
    b.dataset.unread = String(this._unread);
    b.textContent = this._unread ? `${this._w.open} (${fill(this._w.unread, { n: this._unread })})` : this._w.open;
  }

  _scrollDown() {
    this._list.scrollTop = this._list.scrollHeight;
  }
}
