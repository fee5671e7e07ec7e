// Signal is the client end of the signaling WebSocket: JSON envelopes, an
// application ping, and reconnection. When the socket drops unexpectedly it
// retries with backoff and, within the grace period the server gave in joined,
// sends resume so the participant keeps its place; after the grace period, or
// when the server answers resume-failed, it joins afresh (the caller sees a
// joined with resumed false and builds new peer connections).

import {
  CodeResumeFailed,
  ProtocolName,
  TokenSubprotocolPrefix,
  TypeError,
  TypeJoin,
  TypeJoined,
  TypePing,
  TypeResume,
} from './protocol.js';

/** How often the client pings while the socket is open. */
export const PingIntervalMs = 10000;

/** A socket that has received nothing for this long is taken for dead. */
export const DeadAfterMs = 25000;

/** How long to keep reconnecting after a drop before giving up. */
export const GiveUpMs = 120000;

/**
 * Delay before reconnection attempt number attempt (0-based): 0.5, 1, 2, 4 s,
 * then 5 s.
 * @param {number} attempt
 * @returns {number} milliseconds
 */
export function backoffMs(attempt) {
  return Math.min(500 * 2 ** attempt, 5000);
}

/**
 * @typedef {'idle'|'connecting'|'open'|'reconnecting'|'closed'|'refused'|'lost'} SignalState
 * open: the socket is open (joined or not); reconnecting: waiting to retry or
 * retrying after a drop; refused: the first connection closed before opening;
 * lost: reconnection gave up after GiveUpMs; closed: close() was called.
 */

/**
 * @typedef {object} DropInfo
 * @property {boolean} refused the last attempt closed without opening
 * @property {number} code WebSocket close code (1006 for a refused upgrade)
 * @property {number} [attempt] reconnection attempts so far
 */

/**
 * Timers and time, injectable for tests.
 * @typedef {object} Clock
 * @property {() => number} now milliseconds
 * @property {(f: () => void, ms: number) => any} setTimeout
 * @property {(id: any) => void} clearTimeout
 * @property {(f: () => void, ms: number) => any} setInterval
 * @property {(id: any) => void} clearInterval
 */

/** @type {Clock} */
const systemClock = {
  now: () => Date.now(),
  setTimeout: (f, ms) => setTimeout(f, ms),
  clearTimeout: (id) => clearTimeout(id),
  setInterval: (f, ms) => setInterval(f, ms),
  clearInterval: (id) => clearInterval(id),
};

/**
 * @typedef {object} SignalOptions
 * @property {string} url ws: or wss: URL of /ws?room=…
 * @property {string} [token] access token, offered as a subprotocol
 * @property {(state: SignalState, info?: DropInfo) => void} [onState]
 * @property {number} [giveUpMs] default GiveUpMs
 * @property {typeof WebSocket} [WebSocket] default globalThis.WebSocket
 * @property {Clock} [clock]
 * @property {EventTarget} [online] fires "online" when the network returns (window)
 */

/** The first connection closed before it opened: the server refused the token, or is unreachable. */
export class RefusedError extends Error {
  /** @param {number} code WebSocket close code */
  constructor(code) {
    super(`signaling connection refused (close code ${code})`);
    this.name = 'RefusedError';
    this.code = code;
  }
}

/** @typedef {(payload: any, envelope: import('./protocol.js').Envelope) => void} Handler */

export class Signal {
  /** @param {SignalOptions} opts */
  constructor(opts) {
    this.url = opts.url;
    this.token = opts.token || '';
    /** @type {SignalState} */
    this.state = 'idle';
    this._onState = opts.onState || (() => {});
    this._WS = opts.WebSocket || globalThis.WebSocket;
    this._clock = opts.clock || systemClock;
    this._giveUpMs = opts.giveUpMs ?? GiveUpMs;
    /** @type {Map<string, Set<Handler>>} */
    this._handlers = new Map();
    this._seq = 0;
    /** @type {WebSocket|null} */
    this._ws = null;
    this._closed = false;
    /** @type {{resolve: () => void, reject: (e: Error) => void}|null} */
    this._first = null;
    /** @type {import('./protocol.js').Join|null} */
    this._join = null;
    this._resumeToken = '';
    this._graceMs = 0;
    this._droppedAt = 0;
    this._attempt = 0;
    this._retry = null;
    this._ping = null;
    this._lastRx = 0;
    this._online = opts.online || null;
    this._onOnline = () => {
      if (this.state === 'reconnecting' && this._retry !== null) {
        this._clock.clearTimeout(this._retry);
        this._open();
      }
    };
    this._online?.addEventListener('online', this._onOnline);
  }

  /**
   * Opens the socket. Resolves once it is open; rejects with RefusedError if it
   * closes before opening. Later drops reconnect on their own.
   * @returns {Promise<void>}
   */
  connect() {
    return new Promise((resolve, reject) => {
      this._first = { resolve, reject };
      this._setState('connecting');
      this._open();
    });
  }

  /**
   * Sends one envelope. A join payload is remembered for joining again after a
   * drop. Returns the envelope id, or '' if the socket is not open (the
   * message is dropped: candidates and stats are stale after a reconnect).
   * @param {string} type
   * @param {object} [payload]
   * @returns {string}
   */
  send(type, payload = {}) {
    if (type === TypeJoin) this._join = /** @type {any} */ (payload);
    const ws = this._ws;
    if (!ws || ws.readyState !== 1) return '';
    const id = String(++this._seq);
    ws.send(JSON.stringify({ type, id, payload }));
    return id;
  }

  /**
   * Calls handler with the payload of every message of this type.
   * @param {string} type
   * @param {Handler} handler
   * @returns {() => void} removes the handler
   */
  on(type, handler) {
    let set = this._handlers.get(type);
    if (!set) this._handlers.set(type, (set = new Set()));
    set.add(handler);
    return () => set.delete(handler);
  }

  /** Closes the socket for good; no reconnection follows. */
  close() {
    if (this._closed) return;
    this._closed = true;
    if (this._retry !== null) this._clock.clearTimeout(this._retry);
    this._retry = null;
    this._stopPing();
    this._online?.removeEventListener('online', this._onOnline);
    const ws = this._ws;
    this._ws = null;
    if (ws) {
      try {
        ws.close(1000);
      } catch {
        // already closing
      }
    }
    if (this._first) {
      this._first.reject(new RefusedError(1000));
      this._first = null;
    }
    this._setState('closed');
  }

  /** @returns {string[]} */
  _protocols() {
    return this.token ? [ProtocolName, TokenSubprotocolPrefix + this.token] : [ProtocolName];
  }

  _open() {
    this._retry = null;
    if (this._closed) return;
    /** @type {WebSocket} */
    let ws;
    try {
      ws = new this._WS(this.url, this._protocols());
    } catch {
      this._closedBeforeOpen(1006);
      return;
    }
    this._ws = ws;
    let opened = false;
    ws.onopen = () => {
      if (this._ws !== ws) return;
      opened = true;
      this._lastRx = this._clock.now();
      this._startPing();
      const first = this._first;
      this._first = null;
      this._setState('open');
      if (first) first.resolve();
      else this._rejoin();
    };
    ws.onmessage = (ev) => {
      if (this._ws === ws) this._receive(ev.data);
    };
    ws.onerror = () => {}; // a close event follows
    ws.onclose = (ev) => {
      if (this._ws !== ws) return;
      this._ws = null;
      this._stopPing();
      if (opened) this._drop({ refused: false, code: ev.code });
      else this._closedBeforeOpen(ev.code);
    };
  }

  /** @param {number} code */
  _closedBeforeOpen(code) {
    if (this._closed) return;
    const first = this._first;
    if (first) {
      this._first = null;
      this._setState('refused', { refused: true, code });
      first.reject(new RefusedError(code));
      return;
    }
    this._drop({ refused: true, code });
  }

  /** After a reconnect: resume within the grace period, else join afresh. */
  _rejoin() {
    const now = this._clock.now();
    if (this._resumeToken && now - this._droppedAt < this._graceMs) {
      this.send(TypeResume, { resumeToken: this._resumeToken });
    } else if (this._join) {
      this.send(TypeJoin, this._join);
    }
  }

  /** @param {DropInfo} info */
  _drop(info) {
    if (this._closed) return;
    const now = this._clock.now();
    if (!this._droppedAt) this._droppedAt = now;
    if (now - this._droppedAt >= this._giveUpMs) {
      this._setState('lost', info);
      return;
    }
    info.attempt = this._attempt;
    this._setState('reconnecting', info);
    if (this._closed) return; // onState may close
    this._retry = this._clock.setTimeout(() => this._open(), backoffMs(this._attempt++));
  }

  /** @param {string} data */
  _receive(data) {
    this._lastRx = this._clock.now();
    let env;
    try {
      env = JSON.parse(data);
    } catch {
      return;
    }
    if (!env || typeof env.type !== 'string') return;
    const payload = env.payload ?? {};
    if (env.type === TypeJoined) {
      this._resumeToken = payload.resumeToken || '';
      this._graceMs = (payload.graceSeconds || 0) * 1000;
      this._droppedAt = 0;
      this._attempt = 0;
    } else if (env.type === TypeError && payload.code === CodeResumeFailed) {
      this._resumeToken = '';
      if (this._join) this.send(TypeJoin, this._join);
    }
    for (const h of [...(this._handlers.get(env.type) || [])]) {
      try {
        h(payload, env);
      } catch (err) {
        console.error(`vclinic: ${env.type} handler:`, err);
      }
    }
  }

  _startPing() {
    this._stopPing();
    this._ping = this._clock.setInterval(() => {
      if (this._clock.now() - this._lastRx > DeadAfterMs) this._kill();
      else this.send(TypePing, {});
    }, PingIntervalMs);
  }

  _stopPing() {
    if (this._ping !== null) this._clock.clearInterval(this._ping);
    this._ping = null;
  }

  /** The socket is silent for too long: drop it without waiting for TCP. */
  _kill() {
    const ws = this._ws;
    this._ws = null;
    this._stopPing();
    if (ws) {
      ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
      try {
        ws.close();
      } catch {
        // already closing
      }
    }
    this._drop({ refused: false, code: 1006 });
  }

  /**
   * @param {SignalState} state
   * @param {DropInfo} [info]
   */
  _setState(state, info) {
    if (state === this.state && state !== 'reconnecting') return;
    this.state = state;
    this._onState(state, info);
  }
}
