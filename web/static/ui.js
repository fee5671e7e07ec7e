// The page around a Call, shared by the visit page (patient) and the call page
// (clinician): the state on <body data-call-state>, the status line, the notice
// that explains an error and offers a way on, the Microphone, Camera and Leave
// buttons, the self-view, the remote tiles and, where the page has one, the
// participant list. Every word comes from the page's strings object.
//
// A guest's link that belongs to an appointment (claim "appt") is checked
// first (GET /api/v1/visit): too early, the page says when to come back and
// asks again by itself; expired, it says so; open, it joins. On the call page
// (staff) the session cookie or the tab's staff token stands in for a link
// token, waiting guests get an Admit button and the visit an End button.
// Both pages show the patient's home measurements as they arrive; the
// clinician can ask for one, and the patient's page then says how.

import { API } from './api.js';
import { Call } from './call.js';
import { twoStep } from './confirm.js';
import { linkRefused, pause, refusedState, visitPlan } from './lobby.js';
import { StateWaiting } from './protocol.js';
import { renderRoster } from './roster.js';
import { requireUser, storedSessionToken } from './session.js';
import { decodeClaims, roomFromPath, takeToken, wsURL } from './token.js';
import { Tiles } from './tiles.js';
import { applyText, fill, pickLang } from './text.js';
import { clinic, phoneText } from './clinic.js';
import { formatDay, formatTime, sameDay } from './time.js';
import { AskControl, MeasureCard, VitalsPanel, derivedCodes, vitalsWords } from './vitals.js';
import { ExpectedChecklist } from './expected.js';
import { HomeDevices } from './devices.js';
import { ChatLog, ChatPanel, chatWords } from './chat.js';
import { PreVisitCheck } from './check.js';

/** @typedef {import('./call.js').CallState} CallState */
/** @typedef {import('./media.js').MediaMode} MediaMode */
/** @typedef {import('./protocol.js').Participant} Participant */

/**
 * A problem or an ending, explained.
 * @typedef {object} Explanation
 * @property {string} title
 * @property {string} text
 * @property {Array<'retry'|'audioOnly'|'noMedia'|'joinAgain'|'reload'|'dayList'>} actions buttons offered, first is the main one
 */

/**
 * Everything a page says, in one language.
 * @typedef {object} PageStrings
 * @property {string} lang BCP 47 tag for <html lang>
 * @property {string} [locale] for dates and times: en-GB, da-DK
 * @property {string} title document title
 * @property {Record<string, string>} text texts of elements with data-text="key"
 * @property {string} greeting "Hello, {name}"
 * @property {Record<string, string>} status the status line for each state;
 *   early and waiting may name {clinician}, {start} and {opens}, with
 *   earlyAnon and waitingAnon for when the clinician's name is not known;
 *   checking and unreachable while the visit is looked up
 * @property {{today: string, other: string}} [when] how {start} reads: "at {time}", "on {day} at {time}"
 * @property {Record<string, Explanation>} explain by Call.why: media problems, refused, lost, busy, room-full, version, expired, visit-expired, and leave reasons
 * @property {Record<string, string>} actions button texts: retry, audioOnly, noMedia, joinAgain, reload, dayList
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
 * @property {Record<string, string>} quality this participant's connection: good, weak, very-weak
 * @property {Record<string, string>} peerQuality another participant's connection, on their tile
 * @property {Record<string, string>} qualityReasons loss, delay, jitter, bandwidth in plain words
 * @property {string} uplinkWeak said when our own uplink is weak: the others still hear us
 * @property {string} videoPaused on a tile whose video is paused for our weak link
 * @property {string} [sharingScreen] on the tile of someone sharing a screen
 * @property {string} [shareScreen] call page: the Share screen button
 * @property {string} [stopScreen] call page: the same button while sharing
 * @property {string} [inWaitingRoom] call page: a guest's state in the list
 * @property {string} [admit] call page: the Admit button
 * @property {string} [admitLabel] call page: "Admit {name}"
 * @property {string} [confirmEnd] call page: End visit asking for a second press
 * @property {string} [emptyWaiting] call page: "{name} is in the waiting room…"
 * @property {string} [contact] patient page: "Questions? Call {clinic}:" before the number
 * @property {string} [closedNow] patient page: said while the clinic is closed
 * @property {string} [readingsWatched] patient page: when the clinic sees readings, and that it is no alarm service
 * @property {string} [readingsUnwatched] patient page: said while no one at the clinic watches readings
 * @property {string} [callAction] patient page: the notice's call button, "Call {phone}"
 * @property {{confirm: string, sent: Record<string, string>, failed: string}} [reply] patient page: answering the
 *   invitation (cannot come, another time)
 * @property {import('./check.js').CheckWords} [check] patient page: the pre-visit check
 */

/**
 * The notices that tell the reader to call the clinic: they offer its
 * number as a button.
 */
const callClinicAfter = new Set(['refused', 'expired', 'visit-expired', 'visit-cancelled', 'visit-ended', 'visit-invalid',
  'busy', 'room-full', 'error']);

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
 * @param {{mainRole?: string, staff?: boolean}} [opts] mainRole: the role shown
 *   large; staff: the clinician's call page (session cookie, admit, end)
 */
export function startPage(all, opts = {}) {
  const t = pickStrings(all);
  const locale = t.locale || t.lang;
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
  let token = takeToken(room, { location, history, storage });
  if (!token && opts.staff) token = storedSessionToken(storage);
  const claims = decodeClaims(token);
  const greeting = $('greeting');
  const greet = (/** @type {string} */ name) => {
    if (greeting && name) greeting.textContent = fill(t.greeting, { name });
  };
  greet(claims?.name || '');
  showContact();
  showWatch();

  // The patient's answer to the invitation, before the visit: cannot come,
  // or another time (POST /api/v1/visit/reply).
  const replyEl = $('reply');
  /** @type {Set<string>} kinds the clinic has */
  const replied = new Set();
  /** @param {string} [status] */
  function renderReply(status) {
    if (!replyEl || !t.reply) return;
    const last = [...replied].pop();
    /** @type {HTMLElement} */ ($('reply-status')).textContent = status || (last ? t.reply.sent[last] || '' : '');
    replyEl.dataset.replySent = [...replied].join(' ');
    for (const kind of ['cannot-come', 'new-time']) {
      const b = $('reply-' + kind);
      if (b) b.hidden = replied.has(kind);
    }
  }
  /**
   * @param {boolean} show
   * @param {Array<{kind: string}>} [replies] what the clinic has
   */
  function showReply(show, replies) {
    if (!replyEl || !t.reply || opts.staff || claims?.role !== 'patient') return;
    replyEl.hidden = !show;
    for (const r of replies || []) if (typeof r?.kind === 'string') replied.add(r.kind);
    renderReply();
  }
  for (const kind of ['cannot-come', 'new-time']) {
    const b = /** @type {HTMLButtonElement|null} */ ($('reply-' + kind));
    if (!b || !t.reply) continue;
    const words = t.reply;
    twoStep(b, {
      confirmText: () => words.confirm,
      onConfirm: async () => {
        b.disabled = true;
        try {
          await api.post('/api/v1/visit/reply', { kind });
          replied.add(kind);
          renderReply();
        } catch {
          renderReply(words.failed);
        } finally {
          b.disabled = false;
        }
      },
    });
  }

  /**
   * Whether the clinic watches the patient's readings now (its opening
   * hours), said plainly so that no one takes the home kit for an alarm
   * service. Unknown (the clinic could not be read) is said as not watched.
   */
  function showWatch() {
    const el = $('readings-watch');
    if (!el || !t.readingsUnwatched) return;
    const watched = !!clinic?.openNow;
    el.dataset.readingsWatch = watched ? 'watched' : 'unwatched';
    el.textContent = (watched ? t.readingsWatched : t.readingsUnwatched) || '';
    el.hidden = false;
  }

  /** The clinic's name and number, under the controls of a patient's page. */
  function showContact() {
    const el = $('clinic-contact');
    if (!el || !clinic || !clinic.phone || !t.contact) return;
    const link = document.createElement('a');
    link.href = 'tel:' + clinic.phone;
    link.className = 'clinic-phone';
    link.dataset.clinicPhone = clinic.phone;
    link.textContent = phoneText(clinic.phone);
    const parts = [document.createTextNode(fill(t.contact, { clinic: clinic.name }) + ' '), link];
    if (!clinic.openNow && t.closedNow) {
      const closed = document.createElement('span');
      closed.className = 'clinic-closed';
      closed.textContent = ' ' + t.closedNow;
      parts.push(closed);
    }
    el.replaceChildren(...parts);
    el.hidden = false;
  }

  /** Words for the status line in early and waiting. */
  const vars = { clinician: '', start: '', opens: '' };

  const empty = $('empty');
  const tiles = new Tiles(/** @type {HTMLElement} */ ($('tiles')), t, {
    mainRole: opts.mainRole,
    onChange: (n) => {
      if (empty) empty.hidden = n > 0;
    },
  });
  const selfView = /** @type {HTMLVideoElement|null} */ ($('self-view'));
  const rosterEl = $('participant-list');

  // Home measurements: the panel on both pages, the request control for the
  // clinician, the card that asks the patient.
  const vw = vitalsWords();
  const vitalsEl = $('vitals');
  // Patients see what they measured, not values derived from it (mean
  // arterial pressure, BMI): those are for the clinician to read.
  // The clinician sees values outside the patient's limits marked, and
  // acknowledges them (POST .../flagged-readings/{reading}/acknowledge).
  /** @type {Promise<string>|null} */
  let patientOfVisit = null;
  /** @returns {Promise<string>} the visit's patient id, asked once */
  const visitPatient = () => {
    patientOfVisit ||= api.get(`/api/v1/appointments/${encodeURIComponent(room)}`).then((a) => String(a?.patientId || ''));
    return patientOfVisit.catch((e) => {
      patientOfVisit = null;
      throw e;
    });
  };
  /**
   * @param {import('./vitals.js').Vital} v
   * @param {string} note
   */
  const acknowledge = async (v, note) => {
    const pid = await visitPatient();
    const path = `/api/v1/patients/${encodeURIComponent(pid)}/flagged-readings/${encodeURIComponent(v.readingId || '')}/acknowledge`;
    return api.post(path, note ? { note } : {});
  };
  const vitals = vitalsEl
    ? new VitalsPanel(vitalsEl, {
        words: vw,
        locale,
        showEmpty: !!opts.staff,
        hide: opts.staff ? [] : derivedCodes,
        limits: !!opts.staff,
        onAcknowledge: opts.staff && room ? acknowledge : undefined,
      })
    : null;
  // Readings acknowledged before this page show who handled them; asked
  // once, when the first value outside limits arrives.
  let acksRead = false;
  const readAcks = async () => {
    if (acksRead || !opts.staff || !room) return;
    acksRead = true;
    try {
      const pid = await visitPatient();
      const since = new Date(Date.now() - 24 * 3600 * 1000).toISOString();
      const r = await api.get(`/api/v1/patients/${encodeURIComponent(pid)}/flagged-readings`, { since });
      vitals?.acknowledged(r?.flagged);
    } catch {
      acksRead = false; // not this time: the buttons stay, and a double acknowledgement is refused with who and when
    }
  };
  // The last 30 days beside each value, with the patient's limits: read
  // when the call page opens, and again (at most once a minute) as values
  // come.
  let trendsAt = 0;
  const readTrends = async () => {
    if (!opts.staff || !room || !vitals || Date.now() - trendsAt < 60000) return;
    trendsAt = Date.now();
    try {
      const pid = encodeURIComponent(await visitPatient());
      const [t, w] = await Promise.all([
        api.get(`/api/v1/patients/${pid}/trends`, { days: 30 }),
        api.get(`/api/v1/patients/${pid}/limits`).catch(() => null),
      ]);
      vitals.setTrends(t, w);
    } catch {
      trendsAt = 0; // not this time; the next values ask again
    }
  };
  const ask =
    vitalsEl && opts.staff
      ? new AskControl(
          vitalsEl,
          (code, deviceType) => {
            const id = call.requestMeasurement(code, deviceType);
            if (id) vitals?.asked(code);
            return id;
          },
          { words: vw, locale },
        )
      : null;
  const measureEl = $('measure');
  const card = measureEl && !opts.staff ? new MeasureCard(measureEl, { words: vw, clinician: clinicianName }) : null;

  /** @returns {string} the clinician's name: from the call, else from the appointment */
  function clinicianName() {
    const c = call.participants.find((p) => p.role === 'clinician' || p.role === 'doctor' || p.role === 'nurse');
    return c?.name || vars.clinician;
  }

  // The visit's chat: always beside the call on the clinician's page; behind
  // the Chat button on the patient's, opening by itself when someone writes.
  const chatEl = $('chat');
  const chatToggle = /** @type {HTMLButtonElement|null} */ ($('chat-toggle'));
  /** @type {ChatPanel|null} */
  let chatPanel = null;
  const chatLog = chatEl ? new ChatLog({ onChange: (fresh) => chatPanel?.render(fresh) }) : null;
  if (chatEl && chatLog) {
    chatPanel = new ChatPanel(chatEl, chatLog, {
      words: t.lang === 'da' ? chatWords.da : chatWords.en,
      locale,
      roles: t.roles,
      toggle: chatToggle,
      announce: $('chat-announce'),
    });
  }

  /** @type {MediaMode} */
  let mode = 'full';
  const call = new Call({
    chat: chatLog || undefined,
    wsURL: wsURL('/ws?room=' + encodeURIComponent(room), location),
    token,
    claims,
    devices: navigator.mediaDevices,
    online: window,
    events: {
      state: (state, why) => showState(state, why),
      participants: (list, selfId) => showParticipants(list, selfId),
      track: (id, stream) => tiles.attach(id, stream),
      local: (stream) => {
        if (selfView) selfView.srcObject = stream;
        const self = $('self');
        if (self) self.hidden = !stream;
        if (!stream) tiles.clear();
      },
      mute: () => {
        renderControls();
        renderShare();
      },
      quality: (q) => showQuality(q),
      videoPaused: (id, paused) => tiles.setPaused(id, paused),
      vitals: (list) => {
        // Update the panel first: on the clinician's page there is no card,
        // and card?.readings(...) would skip evaluating its argument.
        const fresh = vitals?.update(list) || [];
        readTrends();
        if (fresh.some((v) => v.outside)) readAcks();
        card?.readings(fresh);
        expected?.refresh();
      },
      measurement: (req) => {
        card?.show(req);
        // Asked for a measurement, the patient may type it: the form opens
        // (without taking the focus from the card's words).
        homeDevices?.openForm(false);
      },
      refused: (e) => ask?.refused(e),
    },
  });
  const api = new API({ token });
  readTrends();
  // The clinician's page of the patient: readings, trends, limits, score.
  const patientLink = /** @type {HTMLAnchorElement|null} */ ($('patient-link'));
  if (patientLink && opts.staff && room) {
    visitPatient().then(
      (pid) => {
        if (!pid) return;
        patientLink.href = '/patients/' + encodeURIComponent(pid);
        patientLink.hidden = false;
      },
      () => {}, // not an appointment's room, or not this clinician's
    );
  }

  // Bring someone along: the clinician always; the patient when the clinic
  // allows it.
  const inviteEl = $('invite');
  if (inviteEl && room && (opts.staff || (clinic?.guestsByPatient && claims?.role === 'patient'))) {
    // Loaded when it is offered: most patients' pages never show it.
    import('./invite.js').then(({ inviteWords, mountInvite }) => {
      mountInvite(inviteEl, { api, appointmentId: room, words: t.lang === 'da' ? inviteWords.da : inviteWords.en });
      inviteEl.hidden = false;
    });
  }

  // The patient's pre-visit check, offered until the visit begins.
  const checkEntry = $('check-entry');
  const checkRoot = $('check');
  const preCheck =
    checkEntry && checkRoot && t.check && !opts.staff && claims?.role === 'patient'
      ? new PreVisitCheck({ entry: checkEntry, root: checkRoot, api, words: t.check, phone: clinic?.phone ? phoneText(clinic.phone) : '' })
      : null;

  // What the appointment expects from the home kit, and what has arrived.
  const expected =
    vitalsEl && opts.staff && room ? new ExpectedChecklist(vitalsEl, { api, appointmentId: room, vitalsWords: vw }) : null;
  expected?.start();

  // The patient's own measuring devices (Web Bluetooth) and the form to type
  // a result: shown in the waiting room and in the call.
  const devicesEl = $('home-devices');
  let local = null;
  try {
    local = window.localStorage;
  } catch {
    // storage disabled: readings are numbered for this page load only
  }
  const homeDevices =
    devicesEl && !opts.staff && token
      ? new HomeDevices(devicesEl, {
          api,
          patientId: claims?.sub || '',
          bluetooth: /** @type {any} */ (navigator).bluetooth,
          storage: local,
          locale,
          socket: (readings) => call.sendReadings(readings),
        })
      : null;

  const mic = /** @type {HTMLButtonElement} */ ($('mic'));
  const camera = /** @type {HTMLButtonElement} */ ($('camera'));
  const leave = /** @type {HTMLButtonElement} */ ($('leave'));
  const endVisit = /** @type {HTMLButtonElement|null} */ ($('end-visit'));
  mic.addEventListener('click', () => call.setAudio(!call.sending.audio));
  // Share a screen (results, an X-ray): where the browser can (not phones).
  const share = /** @type {HTMLButtonElement|null} */ ($('share-screen'));
  const canShare = typeof (/** @type {any} */ (navigator.mediaDevices)?.getDisplayMedia) === 'function';
  const renderShare = () => {
    if (!share) return;
    share.setAttribute('aria-pressed', String(call.sharingScreen));
    share.textContent = (call.sharingScreen ? t.stopScreen : t.shareScreen) || '';
  };
  if (share && canShare && opts.staff) {
    share.addEventListener('click', async () => {
      share.disabled = true;
      delete share.dataset.error;
      try {
        if (call.sharingScreen) await call.stopScreen();
        else await call.shareScreen();
      } catch (err) {
        // The reader chose no screen (NotAllowedError), or the browser cannot.
        share.dataset.error = /** @type {any} */ (err)?.name || 'Error';
        console.info('vclinic: screen sharing:', err);
      } finally {
        share.disabled = false;
        renderShare();
      }
    });
  }
  camera.addEventListener('click', () => call.setVideo(!call.sending.video));
  leave.addEventListener('click', () => call.leave());
  if (endVisit) {
    twoStep(endVisit, {
      confirmText: () => t.confirmEnd || '',
      onConfirm: () => {
        endVisit.disabled = true;
        if (!call.endVisit()) endByAPI();
      },
    });
  }

  const connection = $('connection');
  /**
   * Shows this participant's connection in words: the level, why, and, when
   * it is the uplink that is weak, that the others still hear them.
   * @param {import('./call.js').ConnectionQuality} q
   */
  function showQuality(q) {
    if (!connection) return;
    connection.hidden = !q.level;
    connection.dataset.quality = q.level;
    let text = t.quality[q.level] || q.level;
    if (q.level !== 'good') {
      if (q.reasons.length) text += ': ' + q.reasons.map((r) => t.qualityReasons[r] || r).join(', ') + '.';
      if (q.uplink) text += ' ' + t.uplinkWeak;
    }
    connection.textContent = text;
  }

  /**
   * @param {Participant[]} list
   * @param {string} selfId
   */
  function showParticipants(list, selfId) {
    // Guests in the waiting room send nothing: no tile for them.
    tiles.update(
      list.filter((p) => p.state !== StateWaiting),
      selfId,
    );
    if (rosterEl) renderRoster(rosterEl, t, list, selfId, opts.staff ? (id) => call.admit(id) : null);
    if (opts.staff && empty && t.emptyWaiting) {
      const waiting = list.find((p) => p.state === StateWaiting && p.id !== selfId);
      empty.textContent = waiting ? fill(t.emptyWaiting, { name: waiting.name || t.someone }) : t.text.empty;
    }
  }

  /** Ends the visit over HTTP when the signaling socket is down. */
  async function endByAPI() {
    try {
      await api.post(`/api/v1/appointments/${encodeURIComponent(room)}/end`);
      call.leave();
      showState('ended', 'ended');
    } catch (err) {
      console.warn('vclinic: end visit:', err);
      if (endVisit) endVisit.disabled = false;
    }
  }

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
   * The status line of a state without a notice.
   * @param {string} state
   * @returns {string}
   */
  function statusText(state) {
    const anon = t.status[state + 'Anon'];
    return fill(!vars.clinician && anon ? anon : t.status[state] || '', vars);
  }

  /**
   * @param {CallState|'checking'|'unreachable'} state checking, unreachable:
   *   looking up the visit; the body shows idle
   * @param {string} why
   */
  function showState(state, why) {
    const before = state === 'checking' || state === 'unreachable';
    document.body.dataset.callState = before ? 'idle' : state;
    const explained = state === 'error' || state === 'expired' || state === 'ended';
    // The pre-visit check is over once the visit begins or cannot.
    const checkEntry = $('check-entry');
    if (checkEntry && (explained || state === 'in-call')) checkEntry.hidden = true;
    const ex = explained ? t.explain[why] || t.explain[state] : null;
    const status = $('status');
    if (status) status.textContent = ex ? ex.title : statusText(state === 'early' && why === 'moved' ? 'moved' : state);
    showNotice(ex, why || state);
    if (explained) card?.hide();
    const joined = ['waiting', 'connecting', 'in-call', 'reconnecting'].includes(state);
    if (devicesEl) devicesEl.hidden = !homeDevices || !joined;
    if (chatToggle) {
      chatToggle.hidden = !joined;
      if (!joined && chatPanel?.open && !chatLog?.messages.length) chatPanel.setOpen(false);
    }
    leave.disabled = explained || before || state === 'idle' || state === 'early';
    if (endVisit) endVisit.disabled = explained || !call.participantId;
    if (share) share.hidden = !canShare || !opts.staff || !['connecting', 'in-call', 'reconnecting'].includes(state);
    renderControls();
  }

  /**
   * @param {Explanation|null} ex
   * @param {string} why which explanation: refused, expired, busy, ...
   */
  function showNotice(ex, why) {
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
    if (clinic && clinic.phone && t.callAction && callClinicAfter.has(why)) {
      const call = document.createElement('a');
      call.className = ex.actions.length ? 'btn' : 'btn btn-main';
      call.href = 'tel:' + clinic.phone;
      call.dataset.action = 'call-clinic';
      call.textContent = fill(t.callAction, { phone: phoneText(clinic.phone) });
      actions.append(call);
    }
    /** @type {HTMLElement|null} */ (actions.firstElementChild)?.focus();
  }

  /** @param {string} action */
  function act(action) {
    if (action === 'reload') {
      location.reload();
      return;
    }
    if (action === 'dayList') {
      location.assign('/console');
      return;
    }
    if (action === 'audioOnly') mode = 'audio';
    else if (action === 'noMedia') mode = 'none';
    begin();
  }

  let attempt = 0;

  /**
   * Joins; an appointment's link only once its window is open. A guest page
   * whose link holds no token it can read asks the server too, which says
   * what is wrong with it.
   */
  async function begin() {
    const gen = ++attempt;
    const check = (claims?.appt && token) || (!opts.staff && !claims);
    if (check && !(await visitOpen(gen))) return;
    if (gen === attempt) call.start(mode);
  }

  /**
   * Asks the server whether the appointment's link works now, and waits while
   * it is too early.
   * @param {number} gen
   * @returns {Promise<boolean>} true: join now
   */
  async function visitOpen(gen) {
    let failures = 0;
    showState('checking', '');
    while (gen === attempt) {
      let visit;
      try {
        visit = await api.get('/api/v1/visit');
        failures = 0;
      } catch (err) {
        if (gen !== attempt) return false;
        if (linkRefused(err)) {
          const what = refusedState(err);
          document.body.dataset.visitState = what;
          showState('expired', 'visit-' + what);
          return false;
        }
        // The network or the server: say so calmly and ask again.
        showState('unreachable', '');
        await pause(Math.min(5000 * ++failures, 30000));
        continue;
      }
      if (gen !== attempt) return false;
      const plan = visitPlan(visit, Date.now());
      vars.clinician = plan.clinician;
      if (plan.start) {
        const time = formatTime(plan.start, locale);
        const when = t.when || { today: '{time}', other: '{day} {time}' };
        vars.start = sameDay(plan.start, new Date())
          ? fill(when.today, { time })
          : fill(when.other, { time, day: formatDay(plan.start, locale) });
      }
      if (plan.opens) vars.opens = formatTime(plan.opens, locale);
      // What the server said, for tests and support: early, moved, open,
      // ended, cancelled, expired or invalid.
      document.body.dataset.visitState = plan.state;
      showReply(plan.state === 'early' || plan.state === 'moved', /** @type {any} */ (visit)?.replies);
      preCheck?.offer(plan.state === 'early' || plan.state === 'moved' || plan.state === 'open');
      if (plan.state === 'open') return true;
      if (plan.state !== 'early' && plan.state !== 'moved') {
        showState('expired', 'visit-' + plan.state);
        return false;
      }
      showState('early', plan.state === 'moved' ? 'moved' : '');
      await pause(plan.recheckMs);
    }
    return false;
  }

  // For tests and support: the state, the receive stats, the first-frame time
  // and the participant list, read live.
  window.vclinic = Object.freeze({
    get state() {
      return document.body.dataset.callState || call.state;
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
    get waiting() {
      return call.waiting;
    },
    get quality() {
      return call.quality;
    },
    get sharingScreen() {
      return call.sharingScreen;
    },
    received: () => call.received(),
    sent: () => call.sent(),
    paths: () => call.paths(),
    get vitals() {
      return vitals ? [...vitals.newest.values()] : [];
    },
    readDevices: () => homeDevices?.readAll() ?? Promise.resolve(0),
    get chat() {
      return { messages: chatLog?.messages ?? [], pending: chatLog?.pending ?? [] };
    },
    get devices() {
      return homeDevices ? homeDevices.summary() : [];
    },
  });

  showState('idle', '');
  if (opts.staff && !token) {
    // The session cookie, or no sign-in at all: find out before joining.
    requireUser(api).then(
      (me) => {
        greet(me.name);
        begin();
      },
      () => begin(), // the server could not say; the WebSocket will
    );
    return;
  }
  begin();
}
