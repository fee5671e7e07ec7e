// The patient's pre-visit check, from the invitation link before the visit:
// camera, microphone, speaker, and the connection to the clinic's own media
// server over UDP, then TCP, then TURN (only when the clinic has TURN), with
// a short bitrate probe over a data channel (POST /api/v1/visit/check/probe,
// sfu/probe.go). The result goes to the clinic (POST /api/v1/visit/check),
// whose clinician sees it on the day list.
//
// Markup: each step is [data-check-step] with [data-check-verdict] (pass,
// warn, fail; skip for a way the clinic does not offer) once it has one;
// the whole check is [data-check-overall] (ready, audio-only,
// no-connection) and [data-check-saved] once the clinic has it.

/**
 * @typedef {object} CheckWords
 * @property {string} entry the button that opens the check
 * @property {string} title
 * @property {string} intro
 * @property {string} close
 * @property {string} again
 * @property {Record<string, string>} steps step names: camera, microphone, speaker, udp, tcp, relay, speed
 * @property {Record<string, string>} verdictWords pass, warn, fail, skip
 * @property {Record<string, string>} say what each step says, by "<step>-<outcome>"
 * @property {string} micLabel the level meter's label
 * @property {string} play play the test sound
 * @property {string} heard
 * @property {string} notHeard
 * @property {string} speed "{down} kbit/s down, {up} kbit/s up"
 * @property {Record<string, string>} overall ready, audio-only, no-connection
 * @property {Record<string, string>} advice ready, audio-only, no-connection ({phone})
 * @property {string} saved
 * @property {string} notSaved
 * @property {string} running
 */

/**
 * Below this many kbit/s in either direction video is unlikely to hold up,
 * so the verdict is "audio only likely". A two-way call sends our lowest
 * simulcast layer (320x180 VP8, about 150 kbit/s) plus Opus (about 40
 * kbit/s with RED) and receives the clinician's picture, and WebRTC starts
 * its estimate at 300 kbit/s; 500 kbit/s each way leaves room for the
 * estimator and for other traffic on the line. Sound alone needs under 100.
 */
export const VideoKbps = 500;

/** How long each direction of the bitrate probe runs, ms. */
export const ProbeMs = 2000;

/**
 * How long the sound step waits for the patient's answer, ms; then the
 * check goes on without it ("skipped"), so that a check left alone still
 * tells the clinic about the rest.
 */
export const AnswerMs = 30000;

/** How long the microphone step listens for sound, ms. */
export const ListenMs = 6000;

/**
 * A microphone level counts as sound above this RMS (about -38 dBFS) or at
 * four times the quietest level heard so far (the room's noise floor).
 */
export const SoundRMS = 0.0125;

/**
 * The overall verdict from the parts.
 * @param {{camera: string, udp: string, tcp: string, relay: string, downKbps: number, upKbps: number}} r
 * @returns {'ready'|'audio-only'|'no-connection'}
 */
export function overallVerdict(r) {
  if (![r.udp, r.tcp, r.relay].includes('pass')) return 'no-connection';
  if (r.downKbps < VideoKbps || r.upKbps < VideoKbps || r.camera === 'fail') return 'audio-only';
  return 'ready';
}

/**
 * Whether a microphone level is sound rather than the room's hum.
 * @param {number} rms this window's level, 0-1
 * @param {number} floor the quietest window so far
 * @returns {boolean}
 */
export function isSound(rms, floor) {
  return rms >= SoundRMS || (floor > 0 && rms >= 4 * floor && rms >= SoundRMS / 4);
}

/** @param {number} ms */
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Resolves with the value of p, or with fallback after ms.
 * @template T
 * @param {Promise<T>} p
 * @param {number} ms
 * @param {T} fallback
 * @returns {Promise<T>}
 */
function within(p, ms, fallback) {
  return Promise.race([p, sleep(ms).then(() => fallback)]);
}

/**
 * The pre-visit check on the patient's page.
 */
export class PreVisitCheck {
  /**
   * @param {object} o
   * @param {HTMLElement} o.entry the section with the start button
   * @param {HTMLElement} o.root the section the check screen goes in
   * @param {{get: (p: string) => Promise<any>, post: (p: string, b?: any) => Promise<any>}} o.api
   * @param {CheckWords} o.words
   * @param {string} o.phone the clinic's number in words ("" when none)
   */
  constructor({ entry, root, api, words, phone }) {
    this.entry = entry;
    this.root = root;
    this.api = api;
    this.w = words;
    this.phone = phone;
    this.running = false;
    this.opened = false;
    /** @type {MediaStream[]} */
    this.streams = [];
    /** @type {AudioContext|null} */
    this.audio = null;
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'btn';
    b.dataset.action = 'start-check';
    b.textContent = words.entry;
    b.addEventListener('click', () => this.start());
    entry.replaceChildren(b);
  }

  /**
   * Shows the entry while the visit's state allows the check. A link with
   * ?check=1 (one the clinic sends only for the check) opens the check at
   * once, the first time.
   * @param {boolean} show
   */
  offer(show) {
    this.entry.hidden = !show;
    if (!show && !this.running) this.root.hidden = true;
    if (show && !this.opened && new URLSearchParams(location.search).get('check') === '1') this.start();
  }

  /** Builds the screen and runs every step. */
  async start() {
    if (this.running) return;
    this.running = true;
    this.opened = true;
    const w = this.w;
    const began = performance.now();
    this.root.hidden = false;
    this.root.replaceChildren();
    delete this.root.dataset.checkOverall;
    const h = document.createElement('h2');
    h.id = 'check-title';
    h.textContent = w.title;
    h.tabIndex = -1;
    const intro = document.createElement('p');
    intro.textContent = w.intro;
    this.list = document.createElement('ol');
    this.list.className = 'check-steps';
    this.root.setAttribute('aria-labelledby', 'check-title');
    this.root.append(h, intro, this.list);
    h.focus();

    const camera = await this.camera();
    const microphone = await this.microphone();
    const speaker = await this.speaker();
    const net = await this.connection();
    this.stopMedia();
    const result = { camera, microphone, speaker, ...net };
    const verdict = overallVerdict(result);
    const durationMs = Math.round(performance.now() - began);
    this.showOverall(verdict);
    await this.save({
      runId: crypto.randomUUID(),
      ...result,
      verdict,
      durationMs,
      summary: `camera ${camera}, microphone ${microphone} (${this.micNote || ''}), speaker ${speaker}; udp ${net.udp}, tcp ${net.tcp}, relay ${net.relay}`,
    });
    this.running = false;
  }

  /**
   * Adds a step to the list.
   * @param {string} name
   * @returns {{li: HTMLLIElement, text: HTMLParagraphElement, body: HTMLDivElement, done: (v: string, say: string) => void}}
   */
  step(name) {
    const li = document.createElement('li');
    li.className = 'check-step';
    li.dataset.checkStep = name;
    li.setAttribute('aria-busy', 'true');
    const title = document.createElement('h3');
    title.textContent = this.w.steps[name] || name;
    const badge = document.createElement('span');
    badge.className = 'check-badge';
    title.append(' ', badge);
    const text = document.createElement('p');
    text.setAttribute('role', 'status');
    text.textContent = this.w.running;
    const body = document.createElement('div');
    li.append(title, text, body);
    /** @type {HTMLOListElement} */ (this.list).append(li);
    const done = (/** @type {string} */ v, /** @type {string} */ say) => {
      li.dataset.checkVerdict = v;
      li.removeAttribute('aria-busy');
      // The word and a sign, never colour alone.
      badge.textContent = { pass: '✓ ', warn: '! ', fail: '✕ ', skip: '– ' }[v] + (this.w.verdictWords[v] || v);
      text.textContent = say;
    };
    return { li, text, body, done };
  }

  /** @returns {Promise<string>} pass, warn or fail */
  async camera() {
    const s = this.step('camera');
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: true });
    } catch (err) {
      const name = /** @type {any} */ (err)?.name;
      s.done('fail', this.w.say[name === 'NotAllowedError' ? 'camera-denied' : name === 'NotFoundError' ? 'camera-none' : 'camera-error']);
      return 'fail';
    }
    this.streams.push(stream);
    const v = document.createElement('video');
    v.className = 'check-preview';
    v.muted = true;
    v.playsInline = true;
    v.autoplay = true;
    v.setAttribute('aria-label', this.w.steps.camera);
    v.srcObject = stream;
    s.body.append(v);
    const shown = await within(
      new Promise((r) => {
        const ok = () => v.videoWidth > 0 && r(true);
        v.addEventListener('loadeddata', ok);
        v.addEventListener('resize', ok);
        ok();
      }),
      5000,
      false,
    );
    s.done(shown ? 'pass' : 'warn', this.w.say[shown ? 'camera-pass' : 'camera-dark']);
    return shown ? 'pass' : 'warn';
  }

  /** @returns {Promise<string>} pass, warn or fail */
  async microphone() {
    const s = this.step('microphone');
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (err) {
      const name = /** @type {any} */ (err)?.name;
      s.done('fail', this.w.say[name === 'NotAllowedError' ? 'microphone-denied' : 'microphone-none']);
      return 'fail';
    }
    this.streams.push(stream);
    s.text.textContent = this.w.say['microphone-speak'];
    const label = document.createElement('label');
    label.textContent = this.w.micLabel + ' ';
    const meter = document.createElement('meter');
    meter.min = 0;
    meter.max = 1;
    meter.low = 0.25;
    meter.value = 0;
    label.append(meter);
    s.body.append(label);
    const ctx = this.context();
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 2048;
    const src = ctx.createMediaStreamSource(stream);
    src.connect(analyser);
    const buf = new Float32Array(analyser.fftSize);
    let floor = 0;
    let peak = 0;
    let heard = false;
    const until = performance.now() + ListenMs;
    while (performance.now() < until && !heard) {
      await sleep(100);
      analyser.getFloatTimeDomainData(buf);
      let sum = 0;
      for (const x of buf) sum += x * x;
      const rms = Math.sqrt(sum / buf.length);
      meter.value = Math.min(1, rms * 10);
      heard = isSound(rms, floor);
      peak = Math.max(peak, rms);
      if (rms > 0 && (floor === 0 || rms < floor)) floor = rms;
    }
    src.disconnect();
    // For the clinic's support: how loud, and whether sound was processed.
    this.micNote = `peak ${peak > 0 ? Math.round(20 * Math.log10(peak)) : '-inf'} dBFS, audio ${ctx.state}`;
    if (!heard && ctx.state !== 'running') {
      // The browser let no sound be processed (no tap on the page yet):
      // we did not listen, so we say nothing of the microphone.
      s.done('skip', this.w.say['microphone-unheard']);
      return 'skipped';
    }
    s.done(heard ? 'pass' : 'warn', this.w.say[heard ? 'microphone-pass' : 'microphone-quiet']);
    return heard ? 'pass' : 'warn';
  }

  /** @returns {AudioContext} */
  context() {
    if (!this.audio) this.audio = new AudioContext();
    if (this.audio.state === 'suspended') this.audio.resume().catch(() => {});
    return this.audio;
  }

  /** Plays a short tone: 660 Hz for 0.8 s, faded in and out. */
  tone() {
    const ctx = this.context();
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = 660;
    const t0 = ctx.currentTime;
    gain.gain.setValueAtTime(0, t0);
    gain.gain.linearRampToValueAtTime(0.3, t0 + 0.05);
    gain.gain.setValueAtTime(0.3, t0 + 0.7);
    gain.gain.linearRampToValueAtTime(0, t0 + 0.8);
    osc.connect(gain).connect(ctx.destination);
    osc.start(t0);
    osc.stop(t0 + 0.85);
  }

  /** @returns {Promise<string>} pass or fail, as the patient says */
  async speaker() {
    const s = this.step('speaker');
    s.text.textContent = this.w.say['speaker-ask'];
    const play = this.button(this.w.play, 'play-tone');
    const yes = this.button(this.w.heard, 'speaker-heard');
    const no = this.button(this.w.notHeard, 'speaker-not-heard');
    const row = document.createElement('div');
    row.className = 'actions';
    row.append(play, yes, no);
    s.body.append(row);
    play.addEventListener('click', () => this.tone());
    this.tone();
    /** @type {boolean|null} */
    const heard = await within(
      new Promise((r) => {
        yes.addEventListener('click', () => r(true));
        no.addEventListener('click', () => r(false));
      }),
      AnswerMs,
      null,
    );
    row.remove();
    if (heard === null) {
      s.done('skip', this.w.say['speaker-skipped']);
      return 'skipped';
    }
    s.done(heard ? 'pass' : 'fail', this.w.say[heard ? 'speaker-pass' : 'speaker-fail']);
    return heard ? 'pass' : 'fail';
  }

  /**
   * @param {string} text
   * @param {string} action
   * @returns {HTMLButtonElement}
   */
  button(text, action) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'btn';
    b.dataset.action = action;
    b.textContent = text;
    return b;
  }

  /**
   * UDP, then TCP, then TURN; the bitrate over the first way that works.
   * @returns {Promise<{udp: string, tcp: string, relay: string, downKbps: number, upKbps: number}>}
   */
  async connection() {
    const out = { udp: 'fail', tcp: 'fail', relay: 'not-configured', downKbps: 0, upKbps: 0 };
    /** @type {{udp: boolean, tcp: boolean, relay: boolean, iceServers: RTCIceServer[]}} */
    let servers = { udp: true, tcp: true, relay: false, iceServers: [] };
    try {
      servers = await this.api.get('/api/v1/visit/check/servers');
    } catch {
      // Try UDP and TCP as a call would; TURN cannot be tried without it.
    }
    /** @type {{pc: RTCPeerConnection, dc: RTCDataChannel}|null} */
    let best = null;
    for (const tr of /** @type {const} */ (['udp', 'tcp', 'relay'])) {
      const s = this.step(tr);
      if (!servers[tr]) {
        out[tr] = 'not-configured';
        s.done('skip', this.w.say[tr + '-none']);
        continue;
      }
      const link = await this.probe(tr, tr === 'relay' ? servers.iceServers : []);
      out[tr] = link ? 'pass' : 'fail';
      s.done(link ? 'pass' : 'fail', this.w.say[tr + (link ? '-pass' : '-fail')]);
      if (link && !best) best = link;
      else link?.pc.close();
    }
    const s = this.step('speed');
    if (!best) {
      s.done('fail', this.w.say['speed-none']);
      return out;
    }
    const { down, up } = await this.measure(best.dc);
    best.pc.close();
    out.downKbps = down;
    out.upKbps = up;
    const ok = down >= VideoKbps && up >= VideoKbps;
    s.done(ok ? 'pass' : 'warn', this.w.speed.replace('{down}', String(down)).replace('{up}', String(up)) + ' ' + this.w.say[ok ? 'speed-pass' : 'speed-slow']);
    return out;
  }

  /**
   * Connects a data channel to a probe over transport tr: the connection
   * and its open channel, or null when it does not connect in time.
   * @param {string} tr
   * @param {RTCIceServer[]} iceServers
   * @returns {Promise<{pc: RTCPeerConnection, dc: RTCDataChannel}|null>}
   */
  async probe(tr, iceServers) {
    const pc = new RTCPeerConnection({ iceServers, iceTransportPolicy: tr === 'relay' ? 'relay' : 'all' });
    const dc = pc.createDataChannel('probe');
    dc.binaryType = 'arraybuffer';
    try {
      await pc.setLocalDescription(await pc.createOffer());
      // No trickle: the probe takes the offer with its candidates.
      await within(
        new Promise((r) => {
          if (pc.iceGatheringState === 'complete') r(true);
          pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && r(true));
        }),
        5000,
        false,
      );
      const answer = await this.api.post('/api/v1/visit/check/probe', { sdp: pc.localDescription?.sdp, transport: tr });
      await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
      const open = await within(
        new Promise((r) => {
          if (dc.readyState === 'open') r(true);
          dc.addEventListener('open', () => r(true));
          pc.addEventListener('connectionstatechange', () => pc.connectionState === 'failed' && r(false));
        }),
        8000,
        false,
      );
      if (open) return { pc, dc };
    } catch {
      // Refused or unreachable: this way does not work.
    }
    pc.close();
    return null;
  }

  /**
   * The bitrate each way over an open probe channel (see sfu/probe.go).
   * @param {RTCDataChannel} dc
   * @returns {Promise<{down: number, up: number}>} kbit/s
   */
  async measure(dc) {
    /** @type {((m: MessageEvent) => void)|null} */
    let onText = null;
    let downBytes = 0;
    let downFirst = 0;
    dc.addEventListener('message', (m) => {
      if (typeof m.data === 'string') onText?.(m);
      else {
        if (!downFirst) downFirst = performance.now();
        downBytes += m.data.byteLength;
      }
    });
    const text = () =>
      within(
        new Promise((r) => {
          onText = (m) => r(String(m.data));
        }),
        ProbeMs + 5000,
        '',
      );
    // Up: send for ProbeMs, keeping at most 1 MiB queued.
    const chunk = new Uint8Array(16 * 1024);
    dc.bufferedAmountLowThreshold = 256 * 1024;
    const end = performance.now() + ProbeMs;
    while (performance.now() < end && dc.readyState === 'open') {
      if (dc.bufferedAmount > 1024 * 1024) {
        await within(new Promise((r) => dc.addEventListener('bufferedamountlow', r, { once: true })), 200, null);
        continue;
      }
      dc.send(chunk);
    }
    while (dc.bufferedAmount > 0 && dc.readyState === 'open' && performance.now() < end + 3000) await sleep(50);
    let up = 0;
    try {
      const reply = text();
      dc.send('up');
      const u = JSON.parse(await reply);
      up = u.upMs > 0 ? Math.round((u.upBytes * 8) / u.upMs) : 0;
    } catch {
      up = 0;
    }
    // Down: the probe sends for ProbeMs, then says how much.
    const ended = text();
    dc.send('down ' + ProbeMs);
    const said = await ended;
    const ms = downFirst ? performance.now() - downFirst : 0;
    const down = said.startsWith('end ') && ms > 0 ? Math.round((downBytes * 8) / ms) : 0;
    return { down, up };
  }

  /** @param {string} verdict */
  showOverall(verdict) {
    const box = document.createElement('div');
    box.className = 'check-overall';
    box.dataset.checkStep = 'overall';
    box.dataset.checkVerdict = { ready: 'pass', 'audio-only': 'warn', 'no-connection': 'fail' }[verdict] || 'fail';
    box.setAttribute('role', 'status');
    const h = document.createElement('h3');
    h.textContent = this.w.overall[verdict];
    const p = document.createElement('p');
    p.textContent = this.w.advice[verdict].replace('{phone}', this.phone || '');
    box.append(h, p);
    const again = this.button(this.w.again, 'restart-check');
    again.addEventListener('click', () => this.start());
    const close = this.button(this.w.close, 'close-check');
    close.addEventListener('click', () => {
      this.root.hidden = true;
      /** @type {HTMLElement|null} */ (this.entry.querySelector('button'))?.focus();
    });
    const row = document.createElement('div');
    row.className = 'actions';
    row.append(again, close);
    this.root.append(box, row);
    this.root.dataset.checkOverall = verdict;
  }

  /** @param {Record<string, any>} result */
  async save(result) {
    const p = document.createElement('p');
    p.setAttribute('role', 'status');
    this.root.append(p);
    try {
      await this.api.post('/api/v1/visit/check', result);
      p.textContent = this.w.saved;
      this.root.dataset.checkSaved = result.runId;
    } catch {
      p.textContent = this.w.notSaved;
    }
  }

  stopMedia() {
    for (const s of this.streams) for (const tr of s.getTracks()) tr.stop();
    this.streams = [];
    for (const v of this.root.querySelectorAll('video')) /** @type {HTMLVideoElement} */ (v).srcObject = null;
  }
}
