// Tiles shows one tile per other participant: a <video> playing that person's
// stream (picture and sound through the same element), a label "Name (role)",
// the name in large letters while the camera is off, "reconnecting…" while
// that person's connection is down, how good that person's connection is (as
// their page judges it), and a note when their video is paused because this
// page's own link carries only sound. Tiles appear when a participant is listed
// or a track arrives, whichever comes first, and go when the list no longer
// names them.

import { fill } from './text.js';

/** @typedef {import('./protocol.js').Participant} Participant */

/**
 * The strings Tiles needs from the page's strings.
 * @typedef {object} TileStrings
 * @property {string} tileLabel "{name} ({role})"
 * @property {string} someone name of a participant without one
 * @property {string} reconnecting
 * @property {string} micOff
 * @property {string} tapForSound
 * @property {Record<string, string>} roles role in plain words
 * @property {Record<string, string>} peerQuality good, weak, very-weak in words
 * @property {string} videoPaused the note on a tile whose video is paused
 */

/**
 * @typedef {object} Tile
 * @property {HTMLElement} el
 * @property {HTMLVideoElement} video
 * @property {HTMLElement} label
 * @property {HTMLElement} novideo
 * @property {HTMLElement} mic
 * @property {HTMLButtonElement} sound
 * @property {HTMLElement} quality
 * @property {HTMLElement} paused
 * @property {boolean} listed the participant list has named this id
 * @property {Participant|null} p
 */

/**
 * @param {TileStrings} t
 * @param {string} role
 * @returns {string}
 */
export function roleWords(t, role) {
  return t.roles[role] || role || '';
}

export class Tiles {
  /**
   * @param {HTMLElement} container
   * @param {TileStrings} t
   * @param {{mainRole?: string, onChange?: (count: number) => void}} [opts]
   *   mainRole: tiles of this role are large and come first (the clinician on the patient's page)
   */
  constructor(container, t, opts = {}) {
    this._box = container;
    this._t = t;
    this._main = opts.mainRole || '';
    this._onChange = opts.onChange || (() => {});
    /** @type {Map<string, Tile>} */
    this._tiles = new Map();
  }

  /** @returns {number} */
  get count() {
    return this._tiles.size;
  }

  /**
   * Plays stream on the tile of participant id.
   * @param {string} id
   * @param {MediaStream} stream
   */
  attach(id, stream) {
    const tile = this._ensure(id);
    if (tile.video.srcObject !== stream) {
      tile.video.srcObject = stream;
      stream.addEventListener('addtrack', () => this._render(tile));
      stream.addEventListener('removetrack', () => this._render(tile));
    }
    this._play(tile);
    this._render(tile);
  }

  /**
   * Brings the tiles in line with the participant list.
   * @param {Participant[]} list everyone, this participant included
   * @param {string} selfId
   */
  update(list, selfId) {
    const seen = new Set();
    for (const p of list) {
      if (!p || p.id === selfId) continue;
      seen.add(p.id);
      const tile = this._ensure(p.id);
      tile.listed = true;
      tile.p = p;
      this._render(tile);
    }
    for (const [id, tile] of this._tiles) {
      if (seen.has(id)) continue;
      const stream = /** @type {MediaStream|null} */ (tile.video.srcObject);
      const live = !!stream && stream.getTracks().some((t) => t.readyState === 'live');
      if (tile.listed || !live) this._remove(id);
    }
  }

  /**
   * Notes that the video of participant id is paused for this page's weak
   * link (the sound goes on), or no longer.
   * @param {string} id
   * @param {boolean} paused
   */
  setPaused(id, paused) {
    const tile = this._ensure(id);
    tile.el.classList.toggle('video-paused', paused);
    tile.paused.hidden = !paused;
  }

  /** Removes every tile. */
  clear() {
    for (const id of [...this._tiles.keys()]) this._remove(id);
  }

  /** @param {string} id */
  _remove(id) {
    const tile = this._tiles.get(id);
    if (!tile) return;
    tile.video.srcObject = null;
    tile.el.remove();
    this._tiles.delete(id);
    this._onChange(this._tiles.size);
  }

  /**
   * @param {string} id
   * @returns {Tile}
   */
  _ensure(id) {
    const had = this._tiles.get(id);
    if (had) return had;
    const el = document.createElement('figure');
    el.className = 'tile';
    el.dataset.participant = id;
    const video = document.createElement('video');
    video.autoplay = true;
    video.playsInline = true;
    video.dataset.participant = id;
    const novideo = document.createElement('div');
    novideo.className = 'tile-novideo';
    const status = document.createElement('p');
    status.className = 'tile-status';
    status.textContent = this._t.reconnecting;
    const sound = document.createElement('button');
    sound.type = 'button';
    sound.className = 'tile-sound';
    sound.textContent = this._t.tapForSound;
    sound.hidden = true;
    sound.addEventListener('click', () => this._startSound());
    const caption = document.createElement('figcaption');
    caption.className = 'tile-label';
    const label = document.createElement('span');
    const mic = document.createElement('span');
    mic.className = 'tile-mic';
    mic.textContent = this._t.micOff;
    mic.hidden = true;
    const quality = document.createElement('span');
    quality.className = 'tile-quality';
    quality.hidden = true;
    caption.append(label, mic, quality);
    const paused = document.createElement('p');
    paused.className = 'tile-paused';
    paused.textContent = this._t.videoPaused;
    paused.hidden = true;
    el.append(video, novideo, status, paused, sound, caption);
    /** @type {Tile} */
    const tile = { el, video, label, novideo, mic, sound, quality, paused, listed: false, p: null };
    this._tiles.set(id, tile);
    this._box.append(el);
    this._render(tile);
    this._onChange(this._tiles.size);
    return tile;
  }

  /** @param {Tile} tile */
  _render(tile) {
    const p = tile.p;
    const name = (p && p.name) || this._t.someone;
    const role = (p && p.role) || '';
    const words = roleWords(this._t, role);
    tile.label.textContent = words ? fill(this._t.tileLabel, { name, role: words }) : name;
    // A shared screen is shown whole, and said.
    const screen = !!p && !!p.screen;
    tile.el.classList.toggle('tile-screen', screen);
    tile.el.dataset.screen = String(screen);
    if (screen && this._t.sharingScreen) tile.label.textContent += ' – ' + this._t.sharingScreen;
    tile.novideo.textContent = name;
    if (role) {
      tile.el.dataset.role = role;
      tile.video.dataset.role = role;
    }
    const stream = /** @type {MediaStream|null} */ (tile.video.srcObject);
    const hasVideo = !!stream && stream.getVideoTracks().length > 0 && (!p || p.video);
    tile.el.classList.toggle('no-video', !hasVideo);
    tile.el.classList.toggle('is-reconnecting', !!p && p.state === 'reconnecting');
    tile.mic.hidden = !p || p.audio;
    const q = (p && p.quality) || '';
    tile.quality.hidden = !q;
    tile.quality.dataset.quality = q;
    tile.el.dataset.quality = q;
    tile.quality.textContent = q ? this._t.peerQuality[q] || q : '';
    const main = !!this._main && role === this._main;
    if (main !== tile.el.classList.contains('tile-main')) {
      tile.el.classList.toggle('tile-main', main);
      if (main) this._box.prepend(tile.el);
    }
  }

  /**
   * Plays the tile's video with sound. If the browser forbids sound before a
   * tap, plays it muted and shows the "tap to start sound" button.
   * @param {Tile} tile
   */
  _play(tile) {
    const v = tile.video;
    v.play().catch((err) => {
      if (!err || err.name !== 'NotAllowedError') return; // AbortError: a newer stream replaced this one
      v.muted = true;
      tile.sound.hidden = false;
      v.play().catch(() => {});
    });
  }

  /** The tap that lets the browser play sound: unmute every tile. */
  _startSound() {
    for (const tile of this._tiles.values()) {
      tile.sound.hidden = true;
      tile.video.muted = false;
      tile.video.play().catch(() => {});
    }
  }
}
