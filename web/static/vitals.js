// Home measurements in the visit: the panel that shows the patient's newest
// values from the home kit (the vitals message), on the clinician's call page
// and on the patient's visit page; the clinician's "Ask for a measurement"
// control; and the patient's card that says which device to use and how.
//
// Each measurement is one element with data-code (LOINC), data-value (the
// value exactly as the device gave it, '' when it sent none) and data-unit
// (UCUM). Values are never rounded or reformatted; a flagged value is shown
// with its warning, never hidden. The pure parts (merging, names, units,
// trend) are exported for tests.

import { fill, pickLang } from './text.js';
import { formatShortDay, formatTime, sameDay } from './time.js';

/**
 * One reading, as in signaling/protocol.go.
 * @typedef {object} Vital
 * @property {string} code LOINC
 * @property {string} [value] the number exactly as the device gave it
 * @property {string} unit UCUM
 * @property {string} [absent] FHIR dataAbsentReason code
 * @property {string} [flag] non-empty: implausible, with why
 * @property {string} at RFC 3339
 * @property {string} [deviceId]
 * @property {string} source "device" or "patient-entered"
 * @property {string[]} [trend] up to ten earlier values, oldest first
 * @property {string} [via] bluetooth, gateway, patient (typed by the patient) or staff (typed by staff)
 * @property {string} [deviceName] the kit device's label
 * @property {string} [readingId] the stored reading, for its acknowledgement
 * @property {string} [receivedAt] RFC 3339, when the clinic stored it
 * @property {string} [outside] "below" or "above" the patient's limits when it arrived
 * @property {string} [limitLow] the limits then in force, in limitUnit
 * @property {string} [limitHigh]
 * @property {string} [limitUnit]
 */

/** Systolic and diastolic blood pressure, shown together as "120/80 mmHg". */
export const CodeSystolic = '8480-6';
export const CodeDiastolic = '8462-4';

/** Codes in the order the panel shows them; others follow, by code. */
const order = [
  '8480-6', '8462-4', '8478-0', '8867-4', '59408-5', '8310-5',
  '2339-0', '41653-7', '14743-9', '15074-8', '29463-7', '39156-5', '8302-2',
];

/** Glucose codes share one plain name. */
const glucoseCodes = ['2339-0', '41653-7', '14743-9', '15074-8'];

/**
 * What the clinician can ask for: a code and the home-kit device that
 * measures it.
 * @type {Array<{key: string, code: string, deviceType: string}>}
 */
export const Requestable = [
  { key: 'bloodPressure', code: '8480-6', deviceType: 'blood-pressure' },
  { key: 'oxygen', code: '59408-5', deviceType: 'pulse-oximeter' },
  { key: 'temperature', code: '8310-5', deviceType: 'thermometer' },
  { key: 'weight', code: '29463-7', deviceType: 'scale' },
  { key: 'glucose', code: '41653-7', deviceType: 'glucose-meter' },
  { key: 'pulse', code: '8867-4', deviceType: 'heart-rate' },
];

/** The words of the panel, the control and the card, English and Danish. */
export const vitalsStrings = {
  en: {
    heading: 'Home measurements',
    empty: 'No home measurements yet.',
    names: {
      '8480-6': 'Systolic blood pressure',
      '8462-4': 'Diastolic blood pressure',
      '8478-0': 'Mean arterial pressure',
      '8867-4': 'Pulse / heart rate',
      '59408-5': 'Oxygen saturation (SpO2)',
      '8310-5': 'Body temperature',
      '29463-7': 'Body weight',
      '39156-5': 'BMI',
      '8302-2': 'Height',
      glucose: 'Blood glucose',
    },
    bloodPressure: 'Blood pressure',
    typed: 'typed by the patient',
    via: { bluetooth: 'Bluetooth', gateway: 'home gateway', patient: 'typed by the patient', staff: 'typed by staff' },
    from: '{device}, {via}',
    others: 'Also measured',
    outside: { above: 'above limit {limit}', below: 'below limit {limit}' },
    decisionSupport: 'Limits and flags are decision support, not a diagnosis.',
    acknowledge: 'Mark as seen',
    acknowledgeLabel: 'Mark as seen: {name} {value}',
    acknowledged: 'Seen by {name} at {time}',
    ackFailed: 'Not marked: {message}',
    requested: 'requested {asked}, received {received}',
    absent: 'no valid reading (device reported an error)',
    absentReasons: {
      error: 'no valid reading (device reported an error)',
      'not-a-number': 'no valid reading (device sent no number)',
      'positive-infinity': 'no valid reading (above the device’s range)',
      'negative-infinity': 'no valid reading (below the device’s range)',
      unknown: 'no valid reading (device could not measure)',
    },
    flagged: 'Check: {flag}',
    trend: { up: 'rising since last time', down: 'falling since last time', flat: 'unchanged since last time' },
    at: 'at {time}',
    atDay: '{day} at {time}',
    announce: 'New measurement: {text}',
    ask: {
      label: 'Ask for a measurement',
      button: 'Ask the patient',
      asked: 'Asked at {time}',
      notFound: 'The patient is not in the call.',
      failed: 'The request was not sent: {message}',
      offline: 'Not connected. Try again in a moment.',
      options: {
        bloodPressure: 'Blood pressure',
        oxygen: 'Oxygen saturation',
        temperature: 'Temperature',
        weight: 'Weight',
        glucose: 'Blood glucose',
        pulse: 'Pulse',
      },
    },
    card: {
      done: 'Done',
      sent: 'The result is sent to {clinician} automatically.',
      clinic: 'the clinic',
      devices: {
        'blood-pressure': {
          title: 'Please measure your blood pressure now',
          how: 'Sit down, rest your arm on the table at heart height, put the cuff on your upper arm and press the start button. Keep still and quiet until it is done.',
        },
        'pulse-oximeter': {
          title: 'Please measure your oxygen level now',
          how: 'Put the small clip on a finger, keep your hand still and wait until the numbers stop changing.',
        },
        thermometer: {
          title: 'Please take your temperature now',
          how: 'Use the thermometer as you usually do and wait until it beeps.',
        },
        scale: {
          title: 'Please weigh yourself now',
          how: 'Step onto the scale without shoes and stand still until the number stays.',
        },
        'glucose-meter': {
          title: 'Please measure your blood sugar now',
          how: 'Wash and dry your hands, put a test strip in the meter, prick a finger and touch the drop of blood to the strip.',
        },
        'heart-rate': {
          title: 'Please measure your pulse now',
          how: 'Sit still for a minute, then start the pulse measurement on your device.',
        },
        other: {
          title: 'Please take a measurement now',
          how: 'Use the device from your home kit that the clinic asked for.',
        },
      },
    },
  },
  da: {
    heading: 'Hjemmemålinger',
    empty: 'Ingen hjemmemålinger endnu.',
    names: {
      '8480-6': 'Systolisk blodtryk',
      '8462-4': 'Diastolisk blodtryk',
      '8478-0': 'Middelarterietryk',
      '8867-4': 'Puls',
      '59408-5': 'Iltmætning (SpO2)',
      '8310-5': 'Kropstemperatur',
      '29463-7': 'Vægt',
      '39156-5': 'BMI',
      '8302-2': 'Højde',
      glucose: 'Blodsukker',
    },
    bloodPressure: 'Blodtryk',
    typed: 'indtastet af patienten',
    via: { bluetooth: 'Bluetooth', gateway: 'hjemmeboks', patient: 'indtastet af patienten', staff: 'indtastet af personalet' },
    from: '{device}, {via}',
    others: 'Også målt',
    outside: { above: 'over grænsen {limit}', below: 'under grænsen {limit}' },
    decisionSupport: 'Grænser og markeringer er beslutningsstøtte, ikke en diagnose.',
    acknowledge: 'Kvittér',
    acknowledgeLabel: 'Kvittér: {name} {value}',
    acknowledged: 'Kvitteret af {name} kl. {time}',
    ackFailed: 'Ikke kvitteret: {message}',
    requested: 'bedt om kl. {asked}, modtaget kl. {received}',
    absent: 'ingen gyldig måling (apparatet meldte fejl)',
    absentReasons: {
      error: 'ingen gyldig måling (apparatet meldte fejl)',
      'not-a-number': 'ingen gyldig måling (apparatet sendte intet tal)',
      'positive-infinity': 'ingen gyldig måling (over apparatets område)',
      'negative-infinity': 'ingen gyldig måling (under apparatets område)',
      unknown: 'ingen gyldig måling (apparatet kunne ikke måle)',
    },
    flagged: 'Tjek: {flag}',
    trend: { up: 'stigende siden sidst', down: 'faldende siden sidst', flat: 'uændret siden sidst' },
    at: 'kl. {time}',
    atDay: '{day} kl. {time}',
    announce: 'Ny måling: {text}',
    ask: {
      label: 'Bed om en måling',
      button: 'Spørg patienten',
      asked: 'Spurgt kl. {time}',
      notFound: 'Patienten er ikke med i samtalen.',
      failed: 'Anmodningen blev ikke sendt: {message}',
      offline: 'Ikke forbundet. Prøv igen om lidt.',
      options: {
        bloodPressure: 'Blodtryk',
        oxygen: 'Iltmætning',
        temperature: 'Temperatur',
        weight: 'Vægt',
        glucose: 'Blodsukker',
        pulse: 'Puls',
      },
    },
    card: {
      done: 'Færdig',
      sent: 'Resultatet bliver sendt til {clinician} af sig selv.',
      clinic: 'klinikken',
      devices: {
        'blood-pressure': {
          title: 'Mål venligst dit blodtryk nu',
          how: 'Sæt dig ned, læg armen på bordet i hjertehøjde, sæt manchetten på overarmen og tryk på startknappen. Sid stille og tal ikke, til den er færdig.',
        },
        'pulse-oximeter': {
          title: 'Mål venligst din iltmætning nu',
          how: 'Sæt den lille klemme på en finger, hold hånden i ro og vent, til tallene står stille.',
        },
        thermometer: {
          title: 'Tag venligst din temperatur nu',
          how: 'Brug termometeret, som du plejer, og vent, til det bipper.',
        },
        scale: {
          title: 'Vej dig venligst nu',
          how: 'Stil dig på vægten uden sko, og stå stille, til tallet ikke ændrer sig.',
        },
        'glucose-meter': {
          title: 'Mål venligst dit blodsukker nu',
          how: 'Vask og tør hænderne, sæt en teststrimmel i apparatet, stik i en finger og hold bloddråben mod strimlen.',
        },
        'heart-rate': {
          title: 'Mål venligst din puls nu',
          how: 'Sid stille et minut, og start så pulsmålingen på dit apparat.',
        },
        other: {
          title: 'Tag venligst en måling nu',
          how: 'Brug det apparat fra dit hjemmesæt, som klinikken bad om.',
        },
      },
    },
  },
};

/** @typedef {typeof vitalsStrings.en} VitalsWords */

/**
 * The words for this page's reader.
 * @param {{search?: string, language?: string}} [env]
 * @returns {VitalsWords}
 */
export function vitalsWords(env) {
  return pickLang(vitalsStrings, env);
}

// --- pure parts ---

/**
 * The key under which a reading is kept: one value per code, device and source.
 * @param {Vital} v
 * @returns {string}
 */
export function vitalKey(v) {
  return `${v.code}|${v.deviceId || ''}|${v.source || ''}`;
}

/**
 * Merges readings into newest: the newest value per code, device and source
 * wins; one older than the one kept is dropped, one as old replaces it (as
 * the server does). Malformed entries are skipped. Only readings that are
 * news come back: not one kept already, sent again after a reconnect.
 * @param {Map<string, Vital>} newest changed in place
 * @param {unknown} list
 * @returns {Vital[]} the readings taken
 */
export function mergeVitals(newest, list) {
  /** @type {Vital[]} */
  const taken = [];
  if (!Array.isArray(list)) return taken;
  for (const v of list) {
    if (!v || typeof v !== 'object' || typeof v.code !== 'string' || !v.code) continue;
    const at = Date.parse(v.at);
    if (Number.isNaN(at)) continue;
    const k = vitalKey(v);
    const old = newest.get(k);
    const oldAt = old ? Date.parse(old.at) : NaN;
    if (at < oldAt) continue;
    newest.set(k, v);
    // The same reading again (sent anew after a reconnect) is not news.
    if (at === oldAt && old && old.value === v.value && old.absent === v.absent && old.flag === v.flag) continue;
    taken.push(v);
  }
  return taken;
}

/**
 * The plain name of a LOINC code; the code itself when unknown.
 * @param {string} code
 * @param {VitalsWords} [w]
 * @returns {string}
 */
export function codeName(code, w = vitalsStrings.en) {
  const names = /** @type {Record<string, string>} */ (w.names);
  if (glucoseCodes.includes(code)) return names.glucose;
  return names[code] || code;
}

/** UCUM codes in readable form. */
const units = {
  'mm[Hg]': 'mmHg',
  Cel: '°C',
  '[degF]': '°F',
  '/min': '/min',
  '{beats}/min': '/min',
  '%': '%',
  kg: 'kg',
  g: 'g',
  '[lb_av]': 'lb',
  'mmol/L': 'mmol/L',
  'mg/dL': 'mg/dL',
  'kg/m2': 'kg/m²',
  m: 'm',
  cm: 'cm',
  '[in_i]': 'in',
};

/**
 * A UCUM unit as people write it: mm[Hg] → mmHg, Cel → °C, kg/m2 → kg/m².
 * Unknown units are shown as they came.
 * @param {string} ucum
 * @returns {string}
 */
export function unitText(ucum) {
  return /** @type {Record<string, string>} */ (units)[ucum] ?? ucum ?? '';
}

/**
 * A value with its unit: "120 mmHg", "37.60 °C", "98%", "72/min". The value
 * stays exactly as received.
 * @param {string} value
 * @param {string} ucum
 * @returns {string}
 */
export function valueWithUnit(value, ucum) {
  const u = unitText(ucum);
  if (!u) return value;
  return u === '%' || u.startsWith('/') ? value + u : `${value} ${u}`;
}

/**
 * Which way the value went since the last earlier value: up, down, flat, or
 * '' when either is missing or not a number.
 * @param {string[]|undefined} trend earlier values, oldest first
 * @param {string|undefined} value
 * @returns {'up'|'down'|'flat'|''}
 */
export function trendDirection(trend, value) {
  if (!Array.isArray(trend) || trend.length === 0) return '';
  const last = Number.parseFloat(trend[trend.length - 1]);
  const now = Number.parseFloat(value || '');
  if (!Number.isFinite(last) || !Number.isFinite(now)) return '';
  return now > last ? 'up' : now < last ? 'down' : 'flat';
}

/** Arrows for the trend. */
export const trendArrows = { up: '↑', down: '↓', flat: '→' };

/**
 * The points of a sparkline of values (earlier values then the current one)
 * in a width × height box, y growing downwards; values that are not numbers
 * are left out. Fewer than two numbers give ''.
 * @param {string[]} values
 * @param {number} width
 * @param {number} height
 * @returns {string} "x,y x,y …"
 */
export function sparkPoints(values, width, height) {
  const nums = values.map((s) => Number.parseFloat(s)).filter((n) => Number.isFinite(n));
  if (nums.length < 2) return '';
  const min = Math.min(...nums);
  const max = Math.max(...nums);
  const pad = 2;
  const step = (width - 2 * pad) / (nums.length - 1);
  const span = max - min;
  return nums
    .map((n, i) => {
      const x = pad + i * step;
      const y = span === 0 ? height / 2 : pad + ((max - n) / span) * (height - 2 * pad);
      return `${round1(x)},${round1(y)}`;
    })
    .join(' ');
}

const round1 = (/** @type {number} */ n) => Math.round(n * 10) / 10;

/**
 * Sorts readings for the panel: by the order of the codes, then newest first.
 * @param {Vital[]} list
 * @returns {Vital[]}
 */
export function sortVitals(list) {
  const rank = (/** @type {string} */ c) => {
    const i = order.indexOf(c);
    return i < 0 ? order.length : i;
  };
  return [...list].sort(
    (a, b) => rank(a.code) - rank(b.code) || a.code.localeCompare(b.code) || Date.parse(b.at) - Date.parse(a.at),
  );
}

/**
 * The device type that measures code; '' when none of the kit's does.
 * @param {string} code
 * @returns {string}
 */
export function deviceTypeFor(code) {
  if (code === CodeDiastolic || code === '8478-0') return 'blood-pressure';
  if (glucoseCodes.includes(code)) return 'glucose-meter';
  return Requestable.find((r) => r.code === code)?.deviceType || '';
}

/**
 * Whether reading v answers a request for code: the same code, or the same
 * device type (a diastolic value answers a blood pressure request).
 * @param {Vital} v
 * @param {string} code
 * @returns {boolean}
 */
export function answers(v, code) {
  if (v.code === code) return true;
  const d = deviceTypeFor(code);
  return d !== '' && d !== 'heart-rate' && deviceTypeFor(v.code) === d;
}

/**
 * Groups the readings shown into one row per quantity: duplicates of the
 * same code from several devices or sources (pulse from the oximeter, the
 * cuff and the heart-rate sensor) become one row whose newest value is
 * shown and whose others are listed under it, newest first. Systolic and
 * diastolic values are left one per device and source, as the panel pairs
 * them into a blood pressure.
 * @param {Vital[]} list sorted by sortVitals
 * @returns {Array<{main: Vital, others: Vital[]}>} in list's order of first appearance
 */
export function groupByQuantity(list) {
  /** @type {Map<string, {main: Vital, others: Vital[]}>} */
  const groups = new Map();
  /** @type {Array<{main: Vital, others: Vital[]}>} */
  const out = [];
  for (const v of list) {
    const key = v.code === CodeSystolic || v.code === CodeDiastolic ? vitalKey(v) : v.code;
    const g = groups.get(key);
    if (!g) {
      const n = { main: v, others: /** @type {Vital[]} */ ([]) };
      groups.set(key, n);
      out.push(n);
      continue;
    }
    if (Date.parse(v.at) > Date.parse(g.main.at)) {
      g.others.unshift(g.main);
      g.main = v;
    } else {
      g.others.push(v);
    }
  }
  for (const g of out) g.others.sort((a, b) => Date.parse(b.at) - Date.parse(a.at));
  return out;
}

/**
 * Where a value came from, as the panel says it: "Arm cuff, Bluetooth",
 * "typed by the patient".
 * @param {Vital} v
 * @param {VitalsWords} [w]
 * @returns {string}
 */
export function sourceText(v, w = vitalsStrings.en) {
  const via = /** @type {Record<string, string>} */ (w.via);
  const how = via[v.via || (v.source === 'patient-entered' ? 'patient' : '')] || '';
  if (!v.deviceName) return how;
  return how ? fill(w.from, { device: v.deviceName, via: how }) : v.deviceName;
}

/**
 * What a value outside the patient's limits says, in words as well as
 * colour: "above limit 38.0 °C"; '' when it is within them.
 * @param {Vital} v
 * @param {VitalsWords} [w]
 * @returns {string}
 */
export function outsideText(v, w = vitalsStrings.en) {
  if (v.outside !== 'above' && v.outside !== 'below') return '';
  const limit = v.outside === 'above' ? v.limitHigh : v.limitLow;
  if (!limit) return '';
  return fill(w.outside[v.outside], { limit: valueWithUnit(limit, v.limitUnit || v.unit) });
}

/**
 * The clinician's request that value v answers: the latest ask for its code
 * (or its device's, as answers() says) made before the clinic received it;
 * null when none.
 * @param {Map<string, Date>} asks when each code was asked for in this call
 * @param {Vital} v
 * @returns {Date|null}
 */
export function askAnswered(asks, v) {
  const got = Date.parse(v.receivedAt || v.at);
  /** @type {Date|null} */
  let best = null;
  for (const [code, at] of asks) {
    if (answers(v, code) && at.getTime() <= got && (!best || at > best)) best = at;
  }
  return best;
}

// --- the panel ---

const svgNS = 'http://www.w3.org/2000/svg';

/**
 * @param {string} tag
 * @param {string} [className]
 * @param {string} [text]
 * @returns {HTMLElement}
 */
function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

/**
 * Shows the newest home measurements in a section: a heading, a list of
 * name and value, and a live region that announces new values.
 */
/** LOINC codes of values derived from others: mean arterial pressure, BMI. */
export const derivedCodes = ['8478-0', '39156-5'];

/** Codes whose trend is kept under another code of the same quantity. */
const trendAlias = /** @type {Record<string, string>} */ ({ '2708-6': '59408-5' });

export class VitalsPanel {
  /**
   * @param {HTMLElement} section the <section> to fill; it gets its aria-label here
   * @param {{words?: VitalsWords, locale?: string, showEmpty?: boolean, now?: () => Date, hide?: string[],
   *   limits?: boolean, onAcknowledge?: (v: Vital, note: string) => Promise<{byName?: string, by?: string, at: string}>}} [opts]
   *   showEmpty: say "No home measurements yet" rather than hide the section;
   *   hide: LOINC codes not to show (derivedCodes on the patient's page);
   *   limits: mark values outside the patient's limits (the clinician's page);
   *   onAcknowledge: marks a flagged reading seen and handled, answering who and when
   */
  constructor(section, opts = {}) {
    this.section = section;
    this.limits = !!opts.limits;
    this.onAcknowledge = opts.onAcknowledge || null;
    /** @type {Map<string, Date>} when the clinician asked for each code in this call */
    this.asks = new Map();
    /** @type {Map<string, {name: string, at: Date}>} acknowledgements by reading id */
    this.acks = new Map();
    this.hide = new Set(opts.hide || []);
    this.w = opts.words || vitalsWords();
    this.locale = opts.locale || 'en-GB';
    this.showEmpty = !!opts.showEmpty;
    this.now = opts.now || (() => new Date());
    /** @type {Map<string, Vital>} */
    this.newest = new Map();
    /** @type {{from: string, to: string, days: number, series: Map<string, any>, limits: Map<string, {low: number|null, high: number|null}>}|null} */
    this.trends = null;
    /** @type {typeof import('./trend.js')|null} loaded with the first trends */
    this.trendModule = null;

    section.classList.add('vitals');
    section.setAttribute('aria-label', this.w.heading);
    this.heading = el('h2', 'vitals-title', this.w.heading);
    this.empty = el('p', 'vitals-empty', this.w.empty);
    this.list = /** @type {HTMLDListElement} */ (el('dl', 'vitals-list'));
    this.live = el('p', 'sr-only');
    this.live.setAttribute('aria-live', 'polite');
    section.prepend(this.heading, this.empty, this.list, this.live);
    this._render();
  }

  /**
   * Takes the readings of one vitals message.
   * @param {unknown} list
   * @returns {Vital[]} the readings taken (newer than those shown)
   */
  update(list) {
    const taken = mergeVitals(this.newest, list).filter((v) => !this.hide.has(v.code));
    if (taken.length === 0) return taken;
    this._render();
    this.live.textContent = fill(this.w.announce, {
      text: taken.map((v) => `${codeName(v.code, this.w)} ${this._valueText(v)}`).join('; '),
    });
    return taken;
  }

  _render() {
    const all = sortVitals([...this.newest.values()].filter((v) => !this.hide.has(v.code)));
    const has = all.length > 0;
    this.section.hidden = !has && !this.showEmpty;
    this.empty.hidden = has;
    this.list.hidden = !has;
    this.list.replaceChildren();
    const used = new Set();
    for (const g of groupByQuantity(all)) {
      const v = g.main;
      if (used.has(v)) continue;
      used.add(v);
      const dia = v.code === CodeSystolic ? this._pair(v, all) : null;
      if (dia) {
        used.add(dia);
        this.list.append(this._bloodPressure(v, dia));
      } else {
        this.list.append(this._row(v, g.others));
      }
    }
  }

  /**
   * Takes a patient's trends (GET /api/v1/patients/{id}/trends) and limits
   * (GET .../limits): each value then has its last days drawn beside it,
   * with the limits.
   * @param {any} t the trends
   * @param {any} [watch] the limits
   */
  async setTrends(t, watch) {
    if (!t || !Array.isArray(t.series)) return;
    // The chart module is the clinician's only: the patient's page never
    // loads it.
    this.trendModule ||= await import('./trend.js');
    const series = new Map();
    for (const sr of t.series) if (sr && typeof sr.code === 'string') series.set(sr.code, sr);
    const limits = new Map();
    for (const l of Array.isArray(watch?.limits) ? watch.limits : []) {
      const n = (/** @type {any} */ x) => (x === undefined || x === null || x === '' ? null : Number(x));
      if (l && typeof l.code === 'string') limits.set(l.code, { low: n(l.low), high: n(l.high) });
    }
    const days = Math.round((Date.parse(t.to) - Date.parse(t.from)) / 86400000) || 30;
    this.trends = { from: t.from, to: t.to, days, series, limits };
    this._render();
  }

  /**
   * The last days of code beside its value, when the trends are known.
   * @param {HTMLElement} dd
   * @param {string} code LOINC of the value (systolic for blood pressure)
   */
  _days(dd, code) {
    const t = this.trends;
    if (!t || !this.trendModule) return;
    const key = code === CodeSystolic ? '85354-9' : trendAlias[code] || code;
    const sr = t.series.get(key);
    if (!sr) return;
    const box = el('div', 'vital-days');
    const lim = t.limits.get(code) || t.limits.get(key) || { low: null, high: null };
    const { drawTrend, trendWords } = this.trendModule;
    drawTrend(box, sr, {
      name: code === CodeSystolic ? this.w.bloodPressure : codeName(code, this.w),
      unit: unitText(sr.unit),
      from: t.from,
      to: t.to,
      days: t.days,
      locale: this.locale,
      words: this.locale.startsWith('da') ? trendWords.da : trendWords.en,
      low: lim.low,
      high: lim.high,
      deviceName: (id) => (id && this.deviceNames.get(id)) || '',
      width: 200,
      height: 44,
    });
    dd.append(box);
  }

  /** @returns {Map<string, string>} device names by id, from the values seen */
  get deviceNames() {
    const m = new Map();
    for (const v of this.newest.values()) if (v.deviceId && v.deviceName) m.set(v.deviceId, v.deviceName);
    return m;
  }

  /**
   * Takes acknowledgements made before this page (GET
   * /api/v1/patients/{id}/flagged-readings), so that a reading handled
   * already shows who handled it rather than a button.
   * @param {unknown} flagged the answer's flagged list
   */
  acknowledged(flagged) {
    if (!Array.isArray(flagged)) return;
    let changed = false;
    for (const f of flagged) {
      const a = f && f.acknowledged;
      if (!a || typeof f.id !== 'string' || this.acks.has(f.id)) continue;
      this.acks.set(f.id, { name: a.byName || a.by || '', at: new Date(a.at) });
      changed = true;
    }
    if (changed) this._render();
  }

  /**
   * Notes that the clinician asked for code at at: a value that answers it
   * says "requested 10:02, received 10:04".
   * @param {string} code
   * @param {Date} [at]
   */
  asked(code, at = this.now()) {
    this.asks.set(code, at);
  }

  /**
   * The request a value answers: the latest ask it answers, made before the
   * clinic received the value; null when none.
   * @param {Vital} v
   * @returns {Date|null}
   */
  _askFor(v) {
    return askAnswered(this.asks, v);
  }

  /**
   * The diastolic value that goes with systolic s: same device and source,
   * both with a value, taken within a minute of each other.
   * @param {Vital} s
   * @param {Vital[]} all
   * @returns {Vital|null}
   */
  _pair(s, all) {
    if (!s.value) return null;
    const d = all.find(
      (v) =>
        v.code === CodeDiastolic &&
        (v.deviceId || '') === (s.deviceId || '') &&
        v.source === s.source &&
        !!v.value &&
        Math.abs(Date.parse(v.at) - Date.parse(s.at)) <= 60000,
    );
    return d || null;
  }

  /**
   * @param {Vital} v
   * @returns {string}
   */
  _valueText(v) {
    if (!v.value) return this.w.absentReasons[/** @type {keyof VitalsWords['absentReasons']} */ (v.absent || '')] || this.w.absent;
    return valueWithUnit(v.value, v.unit);
  }

  /**
   * The measurement element with the data attributes.
   * @param {Vital} v
   * @param {string} tag
   * @param {string} text
   * @returns {HTMLElement}
   */
  _measure(v, tag, text) {
    const m = el(tag, 'vital-value', text);
    m.dataset.code = v.code;
    m.dataset.value = v.value || '';
    m.dataset.unit = v.unit || '';
    if (v.flag) m.classList.add('is-flagged');
    if (!v.value) m.classList.add('is-absent');
    return m;
  }

  /**
   * One reading: name, then value, time, source, warning and trend.
   * @param {Vital} v
   * @returns {HTMLElement}
   */
  _row(v, others = []) {
    const row = this._measure(v, 'div', '');
    row.className = 'vital';
    if (v.flag) row.classList.add('is-flagged');
    if (!v.value) row.classList.add('is-absent');
    const dd = el('dd', 'vital-body');
    dd.append(el('span', 'vital-number', this._valueText(v)));
    this._trend(dd, v);
    this._meta(dd, [v]);
    this._limits(row, dd, [v]);
    if (others.length) dd.append(this._others(others));
    this._days(dd, v.code);
    row.append(el('dt', 'vital-name', codeName(v.code, this.w)), dd);
    return row;
  }

  /**
   * The other values of the same quantity: value, device and source, time.
   * @param {Vital[]} others newest first
   * @returns {HTMLElement}
   */
  _others(others) {
    const wrap = el('div', 'vital-others');
    const label = el('span', 'vital-others-label', this.w.others);
    const ul = el('ul', 'vital-others-list');
    label.id = `vo-${Math.random().toString(36).slice(2)}`;
    ul.setAttribute('aria-labelledby', label.id);
    for (const o of others) {
      const li = el('li', 'vital-other');
      li.append(this._measure(o, 'span', this._valueText(o)));
      const src = sourceText(o, this.w);
      if (src) li.append(' · ', el('span', 'vital-source', src));
      const at = new Date(Date.parse(o.at));
      const t = el('time', 'vital-time', ' · ' + formatTime(at, this.locale));
      t.setAttribute('datetime', at.toISOString());
      li.append(t);
      const out = this.limits ? outsideText(o, this.w) : '';
      if (out) li.append(' ', el('span', 'vital-outside', '⚠ ' + out));
      ul.append(li);
    }
    wrap.append(label, ul);
    return wrap;
  }

  /**
   * Values outside the patient's limits: the words (never colour alone),
   * the decision-support label, and the acknowledgement.
   * @param {HTMLElement} row
   * @param {HTMLElement} dd
   * @param {Vital[]} vs
   */
  _limits(row, dd, vs) {
    if (!this.limits) return;
    const out = vs.filter((v) => outsideText(v, this.w));
    if (!out.length) return;
    row.classList.add('is-outside');
    row.dataset.outside = out.map((v) => v.outside).join(' ');
    for (const v of out) {
      const name = vs.length > 1 ? `${codeName(v.code, this.w)}: ` : '';
      const o = el('span', 'vital-outside', '⚠ ' + name + outsideText(v, this.w));
      o.dataset.outside = v.outside || '';
      dd.append(o);
    }
    dd.append(el('span', 'vital-support', this.w.decisionSupport));
    const ids = [...new Set(out.map((v) => v.readingId || '').filter(Boolean))];
    for (const id of ids) {
      const ack = this.acks.get(id);
      if (ack) {
        const done = el('span', 'vital-acked', fill(this.w.acknowledged, { name: ack.name, time: formatTime(ack.at, this.locale) }));
        done.dataset.acknowledged = id;
        dd.append(done);
        row.dataset.acknowledged = 'true';
        continue;
      }
      if (!this.onAcknowledge) continue;
      const v = /** @type {Vital} */ (out.find((x) => x.readingId === id));
      const b = /** @type {HTMLButtonElement} */ (el('button', 'btn vital-ack', this.w.acknowledge));
      b.type = 'button';
      b.dataset.action = 'acknowledge-reading';
      b.dataset.reading = id;
      b.setAttribute('aria-label', fill(this.w.acknowledgeLabel, { name: codeName(v.code, this.w), value: this._valueText(v) }));
      const err = el('span', 'vital-ack-error');
      err.setAttribute('role', 'status');
      b.addEventListener('click', () => this._acknowledge(b, err, v));
      dd.append(b, err);
    }
  }

  /**
   * @param {HTMLButtonElement} b
   * @param {HTMLElement} err
   * @param {Vital} v
   */
  async _acknowledge(b, err, v) {
    if (!this.onAcknowledge || !v.readingId) return;
    b.disabled = true;
    try {
      const a = await this.onAcknowledge(v, '');
      this.acks.set(v.readingId, { name: a.byName || a.by || '', at: new Date(a.at) });
      this._render();
      this.live.textContent = fill(this.w.acknowledged, { name: a.byName || a.by || '', time: formatTime(new Date(a.at), this.locale) });
    } catch (e) {
      b.disabled = false;
      err.textContent = fill(this.w.ackFailed, { message: /** @type {any} */ (e)?.detail || String(e) });
    }
  }

  /**
   * Systolic and diastolic as "120/80 mmHg", each number its own element.
   * @param {Vital} s
   * @param {Vital} d
   * @returns {HTMLElement}
   */
  _bloodPressure(s, d) {
    const row = el('div', 'vital vital-bp');
    if (s.flag || d.flag) row.classList.add('is-flagged');
    const dd = el('dd', 'vital-body');
    const num = el('span', 'vital-number');
    num.append(this._measure(s, 'span', s.value || ''), '/', this._measure(d, 'span', d.value || ''));
    const u = unitText(s.unit);
    if (u) num.append(` ${u}`);
    dd.append(num);
    this._trend(dd, s);
    this._meta(dd, [s, d]);
    this._limits(row, dd, [s, d]);
    this._days(dd, s.code);
    row.append(el('dt', 'vital-name', this.w.bloodPressure), dd);
    return row;
  }

  /**
   * Time, "typed by the patient" and the warnings under a value.
   * @param {HTMLElement} dd
   * @param {Vital[]} vs
   */
  _meta(dd, vs) {
    const meta = el('span', 'vital-meta');
    const at = new Date(Math.max(...vs.map((v) => Date.parse(v.at))));
    const time = formatTime(at, this.locale);
    const when = sameDay(at, this.now())
      ? fill(this.w.at, { time })
      : fill(this.w.atDay, { time, day: formatShortDay(at, this.locale) });
    const t = el('time', 'vital-time', when);
    t.setAttribute('datetime', at.toISOString());
    meta.append(t);
    const src = sourceText(vs[0], this.w);
    if (vs[0].source === 'patient-entered') meta.append(el('span', 'vital-typed', src || this.w.typed));
    else if (src) meta.append(el('span', 'vital-source', src));
    const asked = this._askFor(vs[0]);
    if (asked) {
      const got = new Date(Date.parse(vs[0].receivedAt || vs[0].at));
      meta.append(el('span', 'vital-requested', fill(this.w.requested, { asked: formatTime(asked, this.locale), received: formatTime(got, this.locale) })));
    }
    dd.append(meta);
    for (const v of vs) {
      if (!v.flag) continue;
      const name = vs.length > 1 ? `${codeName(v.code, this.w)}: ` : '';
      dd.append(el('span', 'vital-flag', '⚠ ' + name + fill(this.w.flagged, { flag: v.flag })));
    }
  }

  /**
   * The sparkline and the arrow, from the earlier values to this one.
   * @param {HTMLElement} dd
   * @param {Vital} v
   */
  _trend(dd, v) {
    const dir = trendDirection(v.trend, v.value);
    if (!dir) return;
    const wrap = el('span', 'vital-trend');
    const pts = sparkPoints([...(v.trend || []), v.value || ''], 60, 20);
    if (pts) {
      const svg = document.createElementNS(svgNS, 'svg');
      svg.setAttribute('class', 'spark');
      svg.setAttribute('viewBox', '0 0 60 20');
      svg.setAttribute('width', '60');
      svg.setAttribute('height', '20');
      svg.setAttribute('aria-hidden', 'true');
      svg.setAttribute('focusable', 'false');
      const line = document.createElementNS(svgNS, 'polyline');
      line.setAttribute('class', 'spark-line');
      line.setAttribute('points', pts);
      svg.append(line);
      const last = pts.split(' ').pop()?.split(',') || ['0', '0'];
      const dot = document.createElementNS(svgNS, 'circle');
      dot.setAttribute('class', 'spark-dot');
      dot.setAttribute('cx', last[0]);
      dot.setAttribute('cy', last[1]);
      dot.setAttribute('r', '2');
      svg.append(dot);
      wrap.append(svg);
    }
    const arrow = el('span', `trend-arrow trend-${dir}`, trendArrows[dir]);
    arrow.setAttribute('aria-hidden', 'true');
    wrap.append(arrow, el('span', 'sr-only', this.w.trend[dir]));
    wrap.title = this.w.trend[dir];
    dd.append(wrap);
  }
}

// --- the clinician's request ---

/**
 * The clinician's "Ask for a measurement" control: a select of what to ask
 * for and a button that sends request-measurement through send; then "Asked
 * at 09:32", or the server's refusal via refused.
 */
export class AskControl {
  /**
   * @param {HTMLElement} parent where the control goes (appended)
   * @param {(code: string, deviceType: string) => string} send returns the
   *   message id, '' when it could not go out
   * @param {{words?: VitalsWords, locale?: string, now?: () => Date}} [opts]
   */
  constructor(parent, send, opts = {}) {
    this.w = opts.words || vitalsWords();
    this.locale = opts.locale || 'en-GB';
    this.now = opts.now || (() => new Date());
    this.send = send;
    this.pendingId = '';

    const a = this.w.ask;
    this.root = el('div', 'ask');
    const label = el('label', 'ask-label', a.label);
    label.htmlFor = 'ask-what';
    this.select = /** @type {HTMLSelectElement} */ (el('select', 'ask-what'));
    this.select.id = 'ask-what';
    for (const r of Requestable) {
      const o = /** @type {HTMLOptionElement} */ (el('option', '', a.options[/** @type {keyof typeof a.options} */ (r.key)]));
      o.value = r.code;
      o.dataset.deviceType = r.deviceType;
      this.select.append(o);
    }
    this.button = /** @type {HTMLButtonElement} */ (el('button', 'btn btn-ask', a.button));
    this.button.type = 'button';
    this.button.dataset.action = 'request-measurement';
    this.button.addEventListener('click', () => this.ask());
    this.status = el('p', 'ask-status');
    this.status.setAttribute('role', 'status');
    this.status.setAttribute('aria-live', 'polite');
    const row = el('div', 'ask-row');
    row.append(this.select, this.button);
    this.root.append(label, row, this.status);
    parent.append(this.root);
  }

  /** Sends the request for what is selected. */
  ask() {
    const o = this.select.selectedOptions[0];
    if (!o) return;
    const id = this.send(o.value, o.dataset.deviceType || '');
    this.status.classList.remove('is-error');
    if (!id) {
      this.pendingId = '';
      this.status.textContent = this.w.ask.offline;
      this.status.classList.add('is-error');
      return;
    }
    this.pendingId = id;
    this.status.textContent = fill(this.w.ask.asked, { time: formatTime(this.now(), this.locale) });
  }

  /**
   * A refused message: shown when it refers to the last request.
   * @param {{code: string, message?: string, ref?: string}} e
   * @returns {boolean} whether it was about a request
   */
  refused(e) {
    if (!e || !this.pendingId || e.ref !== this.pendingId) return false;
    this.pendingId = '';
    this.status.textContent =
      e.code === 'not-found' ? this.w.ask.notFound : fill(this.w.ask.failed, { message: e.message || e.code });
    this.status.classList.add('is-error');
    return true;
  }
}

// --- the patient's card ---

/**
 * The patient's card that asks for a measurement: which device and how, in
 * plain words, with a Done button. It goes away on Done, or when a reading
 * that answers the request arrives.
 */
export class MeasureCard {
  /**
   * @param {HTMLElement} card an element to fill (shown and hidden here)
   * @param {{words?: VitalsWords, clinician?: () => string}} [opts]
   *   clinician: who gets the result, '' for "the clinic"
   */
  constructor(card, opts = {}) {
    this.card = card;
    this.w = opts.words || vitalsWords();
    this.clinician = opts.clinician || (() => '');
    this.code = '';
    this.askedAt = 0;
    card.classList.add('measure');
    card.setAttribute('role', 'alert');
    card.hidden = true;
  }

  /**
   * Shows the card for a request-measurement message.
   * @param {{code?: string, deviceType?: string}} req
   */
  show(req) {
    if (!req || typeof req.code !== 'string') return;
    const c = this.w.card;
    const devices = /** @type {Record<string, {title: string, how: string}>} */ (c.devices);
    const type = req.deviceType || deviceTypeFor(req.code);
    const d = devices[type] || devices.other;
    this.code = req.code;
    this.askedAt = Date.now();
    this.card.dataset.code = req.code;
    this.card.dataset.deviceType = type;
    const title = el('h2', 'measure-title', d.title);
    const how = el('p', 'measure-how', d.how);
    const sent = el('p', 'measure-sent', fill(c.sent, { clinician: this.clinician() || c.clinic }));
    const done = /** @type {HTMLButtonElement} */ (el('button', 'btn btn-main btn-done', c.done));
    done.type = 'button';
    done.dataset.action = 'measure-done';
    done.addEventListener('click', () => this.hide());
    this.card.replaceChildren(title, how, sent, done);
    this.card.hidden = false;
    done.focus({ preventScroll: true });
    this.card.scrollIntoView?.({ block: 'nearest' });
  }

  hide() {
    this.card.hidden = true;
    this.code = '';
    this.card.replaceChildren();
  }

  /**
   * New readings: the card goes when one answers the request.
   * @param {Vital[]} taken
   */
  readings(taken) {
    if (!this.code || !Array.isArray(taken)) return;
    // A reading from before the request (sent again after a reconnect) is no
    // answer; a few minutes allow for a device clock that runs behind.
    const since = this.askedAt - 5 * 60000;
    if (taken.some((v) => answers(v, this.code) && Date.parse(v.at) >= since)) this.hide();
  }
}
