// The patient's own measuring devices on the visit page: "Connect a measuring
// device" pairs a Bluetooth health device through Web Bluetooth (Chrome, Edge
// and Android), subscribes to its measurement characteristic and forwards
// every value, as the raw bytes the device sent, to POST /api/v1/readings with
// the patient's link token; the server decodes them. Where the browser has no
// Web Bluetooth (iPhone, Firefox) it says so in plain words and offers the
// form to type a result instead (POST /api/v1/readings/manual, stored as
// patient-entered). The pure parts are exported for tests.

import { fill, pickLang, sentence } from './text.js';

/**
 * A health service the page can read: the kit's device type and the
 * characteristic that carries its measurements.
 * @typedef {object} HealthService
 * @property {number} service 16-bit GATT service UUID
 * @property {string} deviceType homekit device type
 * @property {number} characteristic 16-bit measurement characteristic UUID
 */

/** @type {HealthService[]} */
export const HealthServices = [
  { service: 0x1810, deviceType: 'blood-pressure', characteristic: 0x2a35 },
  { service: 0x1822, deviceType: 'pulse-oximeter', characteristic: 0x2a5e },
  { service: 0x1809, deviceType: 'thermometer', characteristic: 0x2a1c },
  { service: 0x181d, deviceType: 'scale', characteristic: 0x2a9d },
  { service: 0x1808, deviceType: 'glucose-meter', characteristic: 0x2a18 },
  { service: 0x180d, deviceType: 'heart-rate', characteristic: 0x2a37 },
];

/** A glucose meter's Record Access Control Point (indications, write). */
export const RACPCharacteristic = 0x2a52;

/**
 * The RACP request "report stored records: all records" (op code 0x01,
 * operator 0x01): the meter then sends every stored record as a Glucose
 * Measurement notification, and a response code when done.
 * @returns {Uint8Array}
 */
export function racpReportAll() {
  return new Uint8Array([0x01, 0x01]);
}

/**
 * Reads a RACP indication. A response code (0x06, operator 0x00, the request
 * op code, the result) to "report stored records" gives outcome 'sent'
 * (0x01 success), 'none' (0x06 no records found) or 'failed' (any other
 * result); anything else gives outcome ''.
 * @param {DataView|ArrayBuffer|Uint8Array} value
 * @returns {{opCode: number, request: number, result: number, outcome: 'sent'|'none'|'failed'|''}}
 */
export function parseRACP(value) {
  const b =
    value instanceof Uint8Array
      ? value
      : ArrayBuffer.isView(value)
        ? new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
        : new Uint8Array(value);
  const out = { opCode: b[0] ?? -1, request: b[2] ?? -1, result: b[3] ?? -1, outcome: /** @type {'sent'|'none'|'failed'|''} */ ('') };
  if (b.length < 4 || b[0] !== 0x06 || b[1] !== 0x00 || b[2] !== 0x01) return out;
  out.outcome = b[3] === 0x01 ? 'sent' : b[3] === 0x06 ? 'none' : 'failed';
  return out;
}

/** Device Information Service: read when present, never required. */
export const DeviceInformationService = 0x180a;

/** The requestDevice options: one filter per health service. */
export function requestOptions() {
  return {
    filters: HealthServices.map((h) => ({ services: [h.service] })),
    optionalServices: [DeviceInformationService],
  };
}

/**
 * The full 128-bit form of a 16-bit Bluetooth SIG UUID.
 * @param {number} short
 * @returns {string}
 */
export function fullUUID(short) {
  return short.toString(16).padStart(8, '0') + '-0000-1000-8000-00805f9b34fb';
}

/**
 * The health service of a UUID, 16-bit number or full string; null if none.
 * @param {number|string} uuid
 * @returns {HealthService|null}
 */
export function serviceInfo(uuid) {
  const want = typeof uuid === 'number' ? fullUUID(uuid) : String(uuid).toLowerCase();
  return HealthServices.find((h) => fullUUID(h.service) === want) || null;
}

/**
 * A characteristic's name as the readings API takes it: "2A35".
 * @param {number} short
 * @returns {string}
 */
export function characteristicName(short) {
  return short.toString(16).toUpperCase().padStart(4, '0');
}

/**
 * The bytes of a DataView (or ArrayBuffer, or typed array) as hex, upper
 * case, no spaces: "04780050".
 * @param {DataView|ArrayBuffer|ArrayBufferView} v
 * @returns {string}
 */
export function toHex(v) {
  const bytes =
    v instanceof ArrayBuffer
      ? new Uint8Array(v)
      : new Uint8Array(/** @type {ArrayBufferView} */ (v).buffer, v.byteOffset, v.byteLength);
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s.toUpperCase();
}

/**
 * The sequence number a glucose meter gives each stored record (Glucose
 * Measurement 0x2A18: flags, then a uint16 sequence number, little-endian;
 * GATT Specification Supplement). It is the reading's seq; the server files
 * a stored record under the meter's own record number and base time whatever
 * seq comes with it, so a record sent again after a reconnect (the Record
 * Access Control Point request asks for all of them), or by the home gateway
 * too, is stored once.
 * @param {number} characteristic
 * @param {DataView} value
 * @returns {number|null} null for other characteristics or a value too short
 */
export function glucoseRecordSeq(characteristic, value) {
  if (characteristic !== 0x2a18 || !value || value.byteLength < 3) return null;
  return value.getUint16(1, true);
}

const seqPrefix = 'vclinic.seq.';

/**
 * Numbers the readings of each kit device, 1, 2, 3…, and keeps the last
 * number in storage (localStorage) so a reload goes on counting: the server
 * stores a (device, characteristic, seq) once.
 */
export class SeqCounter {
  /** @param {Storage|null} storage */
  constructor(storage) {
    this.storage = storage;
    /** @type {Map<string, number>} numbers given when storage fails */
    this.memory = new Map();
  }

  /**
   * The next number for a device.
   * @param {string} deviceId kit device id
   * @returns {number}
   */
  next(deviceId) {
    const key = seqPrefix + deviceId;
    let last = this.memory.get(key) || 0;
    try {
      const stored = Number.parseInt(this.storage?.getItem(key) || '', 10);
      if (Number.isSafeInteger(stored) && stored > last) last = stored;
    } catch {
      // storage forbidden: count in memory
    }
    const n = last + 1;
    this.memory.set(key, n);
    try {
      this.storage?.setItem(key, String(n));
    } catch {
      // storage full or forbidden: the number lives in memory
    }
    return n;
  }
}

/**
 * One device of the patient's kit, as GET /api/v1/patients/{id}/devices gives it.
 * @typedef {object} KitDevice
 * @property {string} id
 * @property {string} type
 * @property {string} [model]
 * @property {string} [address]
 * @property {string} [identifiedBy]
 * @property {string} [label]
 */

/**
 * What the page can learn of a device's identity. Web Bluetooth never shows
 * the Bluetooth address: it gives an id of its own (the same device has
 * another id in another browser or on another site) and lets the page read
 * the Device Information Service 0x180A where the device has one.
 * @typedef {object} DeviceInfo
 * @property {string} [systemId] System ID 0x2A23: 8 bytes as hex, in the order received
 * @property {string} [manufacturer] Manufacturer Name String 0x2A29
 * @property {string} [model] Model Number String 0x2A24
 * @property {string} [serial] Serial Number String 0x2A25 (the Web Bluetooth GATT blocklist forbids it, so browsers give none)
 * @property {string} [firmware] Firmware Revision String 0x2A26
 * @property {string} [webBluetoothId] BluetoothDevice.id
 */

/**
 * The Device Information Service characteristics the page reads (Bluetooth
 * SIG Device Information Service 1.1; their layouts are in the GATT
 * Specification Supplement: System ID, Manufacturer Name String, Model Number
 * String, Serial Number String, Firmware Revision String).
 */
export const DeviceInfoCharacteristics = [
  { name: 'systemId', uuid: 0x2a23 },
  { name: 'manufacturer', uuid: 0x2a29 },
  { name: 'model', uuid: 0x2a24 },
  { name: 'serial', uuid: 0x2a25 },
  { name: 'firmware', uuid: 0x2a26 },
];

/** The longest identity text kept; the server refuses longer. */
export const MaxInfoChars = 64;

/**
 * One Device Information value as the reading carries it: the System ID as
 * 16 hex digits (8 bytes: a 40-bit manufacturer-defined identifier and a
 * 24-bit OUI, little-endian), a string without its padding and control
 * characters. '' when the value is not usable.
 * @param {string} name a DeviceInfoCharacteristics name
 * @param {DataView} value
 * @returns {string}
 */
export function deviceInfoValue(name, value) {
  if (!value) return '';
  if (name === 'systemId') return value.byteLength === 8 ? toHex(value) : '';
  const bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  let text;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return '';
  }
  // Devices pad with NULs or spaces; anything unprintable is dropped.
  text = text.replace(/[\u0000-\u001f\u007f]/g, '').trim();
  return text.length > MaxInfoChars ? '' : text;
}

/**
 * An identifier as written in a kit entry, for comparing: hex digits only,
 * upper case ("00:1B:DC:FF:FE:07:AB:CD" and "001bdcfffe07abcd" are the same).
 * @param {string|undefined} s
 * @returns {string}
 */
export function normalHex(s) {
  return String(s || '')
    .replace(/[^0-9a-f]/gi, '')
    .toUpperCase();
}

/**
 * Whether a kit entry's System ID is the one the device gave. The
 * characteristic sends its 8 bytes least significant first; staff may have
 * typed the identifier as printed on the device, most significant first: both
 * orders count, with or without separators.
 * @param {string|undefined} kitAddress
 * @param {string} systemId 16 hex digits as received
 * @returns {boolean}
 */
export function sameSystemId(kitAddress, systemId) {
  const a = normalHex(kitAddress);
  const b = normalHex(systemId);
  if (a.length !== 16 || b.length !== 16) return false;
  const reversed = (b.match(/../g) || []).reverse().join('');
  return a === b || a === reversed;
}

/**
 * The kit device a paired Bluetooth device is, and what identified it. In
 * order: a kit entry of the device's type whose identifiedBy is "system-id"
 * and whose address is the System ID the device gave; one identified by
 * "serial" with the device's serial; one identified by "web-bluetooth-id"
 * with this browser's id for the device; else, the first kit entry of the
 * type that the device's own identity does not contradict (an entry bound to
 * another System ID or serial is another device). The page sends what it
 * matched by with every reading, and the server keeps it.
 * @param {KitDevice[]} kit
 * @param {{id: string, name?: string, systemId?: string, serial?: string}} seen
 * @param {string} deviceType
 * @returns {{device: KitDevice, by: 'system-id'|'serial'|'web-bluetooth-id'|'type'}|null}
 */
export function matchKitDevice(kit, seen, deviceType) {
  const list = (Array.isArray(kit) ? kit : []).filter((d) => d.type === deviceType);
  const systemId = normalHex(seen.systemId);
  const serial = String(seen.serial || '');
  if (systemId) {
    const d = list.find((d) => d.identifiedBy === 'system-id' && sameSystemId(d.address, systemId));
    if (d) return { device: d, by: 'system-id' };
  }
  if (serial) {
    const d = list.find((d) => d.identifiedBy === 'serial' && String(d.address || '').trim().toLowerCase() === serial.trim().toLowerCase());
    if (d) return { device: d, by: 'serial' };
  }
  const exact = list.find((d) => d.identifiedBy === 'web-bluetooth-id' && d.address && d.address === seen.id);
  if (exact) return { device: exact, by: 'web-bluetooth-id' };
  const other = (/** @type {KitDevice} */ d) =>
    (d.identifiedBy === 'system-id' && !!systemId && !sameSystemId(d.address, systemId)) ||
    (d.identifiedBy === 'serial' && !!serial && String(d.address || '').trim().toLowerCase() !== serial.trim().toLowerCase());
  const typed = list.find((d) => !other(d));
  return typed ? { device: typed, by: 'type' } : null;
}

/** Waits before reconnecting after a drop: 1 s, 2 s, 4 s, 8 s, 16 s, then every reconnectEveryMs. */
export const reconnectDelays = [1000, 2000, 4000, 8000, 16000];

/** After the first tries, a dropped device is tried this often while the page is open. */
export const reconnectEveryMs = 30000;

/** What the patient may type: LOINC code, UCUM unit, allowed range. */
export const ManualFields = [
  { name: 'systolic', code: '8480-6', unit: 'mm[Hg]', min: 50, max: 260, step: '1' },
  { name: 'diastolic', code: '8462-4', unit: 'mm[Hg]', min: 30, max: 160, step: '1' },
  { name: 'temperature', code: '8310-5', unit: 'Cel', min: 30, max: 45, step: '0.1' },
  { name: 'spo2', code: '59408-5', unit: '%', min: 50, max: 100, step: '1' },
  { name: 'weight', code: '29463-7', unit: 'kg', min: 1, max: 350, step: '0.1' },
];

/**
 * The body of POST /api/v1/readings/manual from the typed values (name →
 * text); empty fields are left out, a comma is a decimal point. Blood
 * pressure needs both numbers.
 * @param {Record<string, string>} typed
 * @returns {{body: {values: Array<{code: string, value: string, unit: string}>}|null, problem: ''|'empty'|'range'|'pair'}}
 */
export function manualBody(typed) {
  /** @type {Array<{code: string, value: string, unit: string}>} */
  const values = [];
  for (const f of ManualFields) {
    const raw = String(typed[f.name] ?? '').trim().replace(',', '.');
    if (!raw) continue;
    const n = Number(raw);
    if (!/^\d+(\.\d+)?$/.test(raw) || !Number.isFinite(n) || n < f.min || n > f.max) return { body: null, problem: 'range' };
    values.push({ code: f.code, value: raw, unit: f.unit });
  }
  const hasSys = values.some((v) => v.code === '8480-6');
  const hasDia = values.some((v) => v.code === '8462-4');
  if (hasSys !== hasDia) return { body: null, problem: 'pair' };
  if (!values.length) return { body: null, problem: 'empty' };
  return { body: { values }, problem: '' };
}

/** The words of the device panel, English and Danish. */
export const devicesStrings = {
  en: {
    heading: 'Your measuring devices',
    pair: 'Connect a measuring device',
    unsupported: 'This browser cannot connect to measuring devices. You can type the result instead, or use the home box.',
    connecting: 'Connecting to {name}…',
    connected: 'Connected: {name}',
    lastSent: 'Last value sent: {time}',
    reconnecting: 'The connection to {name} was lost. Reconnecting…',
    asleep: '{name} is off or out of reach. Turn it on and keep it close: it connects by itself.',
    cancelled: 'No device was chosen.',
    notInKit: 'This device is not part of your home kit. Please call the clinic.',
    unknownDevice: 'This device cannot be used here.',
    failed: 'The device could not be connected. Turn it on, keep it close and try again.',
    sendFailed: 'The value could not be sent to the clinic. Please measure again in a moment.',
    queued: 'The value is kept on this device and is sent as soon as the clinic answers. Keep this page open.',
    rejected: 'The clinic could not use this value. Please measure again. If it happens again, call the clinic.',
    racp: {
      sent: 'The meter has sent its stored values.',
      none: 'The meter has no stored values.',
      failed: 'The meter could not send its stored values.',
    },
    device: 'device',
    manual: {
      heading: 'Type a result',
      bloodPressure: 'Blood pressure',
      systolic: 'Upper number (systolic), mmHg',
      diastolic: 'Lower number (diastolic), mmHg',
      temperature: 'Temperature, °C',
      spo2: 'Oxygen level (SpO2), %',
      weight: 'Weight, kg',
      send: 'Send to the clinic',
      sending: 'Sending…',
      sent: 'Thank you. The result was sent to the clinic.',
      empty: 'Please type at least one result.',
      range: 'One of the numbers looks wrong. Please check it and try again.',
      pair: 'For blood pressure, please type both the upper and the lower number.',
      failed: 'The result could not be sent. Check that Wi-Fi or mobile data is on and try again.',
      refused: 'The clinic did not accept the result: {detail}',
    },
  },
  da: {
    heading: 'Dine måleapparater',
    pair: 'Forbind et måleapparat',
    unsupported: 'Denne browser kan ikke forbinde til måleapparater. Du kan skrive resultatet i stedet eller bruge hjemmeboksen.',
    connecting: 'Forbinder til {name}…',
    connected: 'Forbundet: {name}',
    lastSent: 'Sidste værdi sendt: {time}',
    reconnecting: 'Forbindelsen til {name} blev afbrudt. Forbinder igen…',
    asleep: '{name} er slukket eller uden for rækkevidde. Tænd det, og hold det tæt på: det forbinder selv.',
    cancelled: 'Der blev ikke valgt noget apparat.',
    notInKit: 'Dette apparat hører ikke til dit hjemmesæt. Ring til klinikken.',
    unknownDevice: 'Dette apparat kan ikke bruges her.',
    failed: 'Apparatet kunne ikke forbindes. Tænd det, hold det tæt på, og prøv igen.',
    sendFailed: 'Værdien kunne ikke sendes til klinikken. Mål igen om lidt.',
    queued: 'Værdien gemmes på dette apparat og sendes, så snart klinikken svarer. Hold siden åben.',
    rejected: 'Klinikken kunne ikke bruge denne værdi. Mål igen. Ring til klinikken, hvis det sker igen.',
    racp: {
      sent: 'Apparatet har sendt sine gemte værdier.',
      none: 'Apparatet har ingen gemte værdier.',
      failed: 'Apparatet kunne ikke sende sine gemte værdier.',
    },
    device: 'apparat',
    manual: {
      heading: 'Skriv et resultat',
      bloodPressure: 'Blodtryk',
      systolic: 'Øverste tal (systolisk), mmHg',
      diastolic: 'Nederste tal (diastolisk), mmHg',
      temperature: 'Temperatur, °C',
      spo2: 'Iltmætning (SpO2), %',
      weight: 'Vægt, kg',
      send: 'Send til klinikken',
      sending: 'Sender…',
      sent: 'Tak. Resultatet er sendt til klinikken.',
      empty: 'Skriv mindst ét resultat.',
      range: 'Et af tallene ser forkert ud. Tjek det, og prøv igen.',
      pair: 'Skriv både det øverste og det nederste tal for blodtrykket.',
      failed: 'Resultatet kunne ikke sendes. Tjek, at wi-fi eller mobildata er slået til, og prøv igen.',
      refused: 'Klinikken tog ikke imod resultatet: {detail}',
    },
  },
};

/** @typedef {typeof devicesStrings.en} DevicesWords */

/**
 * @param {{search?: string, language?: string}} [env]
 * @returns {DevicesWords}
 */
export function devicesWords(env) {
  return pickLang(devicesStrings, env);
}

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
 * One paired device: its GATT link, its kit entry and its characteristic.
 * @typedef {object} Paired
 * @property {any} device BluetoothDevice
 * @property {HealthService} info
 * @property {KitDevice} kit
 * @property {'system-id'|'serial'|'web-bluetooth-id'|'type'} by what identified the kit entry
 * @property {DeviceInfo} identity what the device told of itself
 * @property {any} [characteristic] BluetoothRemoteGATTCharacteristic
 * @property {any} [racp] a glucose meter's Record Access Control Point
 * @property {string} lastValue hex
 * @property {string} lastStatus the server's answer: stored, duplicate, rejected, or failed
 * @property {'socket'|'http'|''} lastVia how the last value went
 * @property {boolean} [live] connected and subscribed
 * @property {boolean} [reconnecting] a reconnect loop runs
 * @property {number} lastSentAt when the last value arrived from the device (epoch ms)
 */

/**
 * Sends a batch of readings over the visit's signaling socket and gives the
 * server's per-item results; it rejects when the socket is not open or no
 * answer came, and the page then posts over HTTP.
 * @typedef {(readings: object[]) => Promise<Array<{index: number, status: string, id?: string, reason?: string}>>} SocketSend
 */

/**
 * Reads what the device tells of itself in its Device Information Service
 * (0x180A); a device without it, or a characteristic the browser forbids
 * (the Serial Number String is on the Web Bluetooth GATT blocklist) or the
 * device does not have, leaves that field out. Never throws.
 * @param {any} server BluetoothRemoteGATTServer
 * @returns {Promise<DeviceInfo>}
 */
export async function readIdentity(server) {
  /** @type {Record<string, string>} */
  const out = {};
  let dis;
  try {
    dis = await server.getPrimaryService(DeviceInformationService);
  } catch {
    return out;
  }
  for (const c of DeviceInfoCharacteristics) {
    try {
      const ch = await dis.getCharacteristic(c.uuid);
      const v = deviceInfoValue(c.name, await ch.readValue());
      if (v) out[c.name] = v;
    } catch {
      // not there, not readable, or blocklisted
    }
  }
  return out;
}

/**
 * @typedef {object} Outbox
 * @property {Array<{p: Paired, reading: object}>} items
 * @property {number} attempt sends that failed in a row
 * @property {boolean} timer a later send is set
 */

/**
 * How long the outbox waits before it sends again after attempt failures
 * in a row: 2 s, 4 s, 8 s, 16 s, then every 30 s.
 * @param {number} attempt
 */
export function outboxDelayMs(attempt) {
  return Math.min(2000 * 2 ** attempt, 30000);
}

/**
 * Whether a failed send may pass by itself: no answer at all (status 0 or
 * none), or the clinic's servers busy or failing over (429, 5xx). A 4xx
 * says the reading itself is refused, and sending it again changes nothing.
 * @param {any} err
 */
export function retryable(err) {
  const status = err?.status;
  return typeof status !== 'number' || status === 0 || status === 429 || status >= 500;
}

/**
 * The device panel on the patient's page: the pair button (or the plain
 * explanation where the browser cannot), the connection line, the last value
 * sent, and the manual entry form.
 */
export class HomeDevices {
  /**
   * @param {HTMLElement} root a section to fill
   * @param {{api: import('./api.js').API, patientId: string, words?: DevicesWords,
   *   bluetooth?: any, storage?: Storage|null, locale?: string, socket?: SocketSend|null,
   *   later?: (fn: () => void, ms: number) => unknown}} opts
   */
  constructor(root, opts) {
    this.root = root;
    this.api = opts.api;
    this.patientId = opts.patientId;
    this.w = opts.words || devicesWords();
    this.bluetooth = opts.bluetooth;
    this.locale = opts.locale || undefined;
    this.socket = opts.socket || null;
    /** @type {(fn: () => void, ms: number) => unknown} */
    this.later = opts.later || ((fn, ms) => setTimeout(fn, ms));
    /** @type {Outbox} readings waiting for the clinic to answer, oldest first */
    this.outbox = { items: [], attempt: 0, timer: false };
    this.seq = new SeqCounter(opts.storage ?? null);
    /** @type {Map<string, Paired>} by Web Bluetooth device id */
    this.paired = new Map();
    this.render();
  }

  render() {
    const w = this.w;
    this.root.classList.add('devices');
    const heading = el('h2', 'devices-title', w.heading);
    heading.id = 'devices-title';
    this.root.setAttribute('aria-labelledby', heading.id);
    this.status = el('p', 'devices-status');
    this.status.setAttribute('role', 'status');
    this.status.setAttribute('aria-live', 'polite');
    this.last = el('p', 'devices-last');
    this.last.hidden = true;
    this.stored = el('p', 'devices-stored');
    this.stored.hidden = true;
    /** @type {HTMLElement[]} */
    const parts = [heading];
    this.form = this.manualForm();
    if (this.bluetooth) {
      const b = /** @type {HTMLButtonElement} */ (el('button', 'btn btn-main', w.pair));
      b.type = 'button';
      b.dataset.action = 'pair-device';
      b.addEventListener('click', () => this.pair());
      this.button = b;
      parts.push(b, this.status, this.last, this.stored);
    } else {
      this.status.textContent = w.unsupported;
      this.root.dataset.bluetooth = 'unsupported';
      parts.push(this.status);
    }
    // The form to type a result waits behind a button: a phone's screen
    // is for the visit, and the form opens by itself when the clinician
    // asks for a measurement (openForm).
    const toggle = /** @type {HTMLButtonElement} */ (el('button', 'btn manual-toggle', w.manual.heading));
    toggle.type = 'button';
    toggle.dataset.action = 'open-manual';
    this.form.id = 'manual-form';
    toggle.setAttribute('aria-controls', this.form.id);
    toggle.addEventListener('click', () => (this.form.hidden ? this.openForm() : this.closeForm()));
    this.toggle = toggle;
    this.form.hidden = true;
    toggle.setAttribute('aria-expanded', 'false');
    parts.push(toggle, this.form);
    this.root.replaceChildren(...parts);
  }

  /**
   * Shows the form to type a result and puts the cursor in its first field.
   * @param {boolean} [focus] default true
   */
  openForm(focus = true) {
    this.form.hidden = false;
    this.toggle?.setAttribute('aria-expanded', 'true');
    if (focus) /** @type {HTMLInputElement|null} */ (this.form.querySelector('input'))?.focus();
  }

  /** Hides the form again. */
  closeForm() {
    this.form.hidden = true;
    this.toggle?.setAttribute('aria-expanded', 'false');
  }

  /** @returns {HTMLFormElement} */
  manualForm() {
    const m = this.w.manual;
    const form = /** @type {HTMLFormElement} */ (el('form', 'manual'));
    form.dataset.action = 'manual-reading';
    form.noValidate = false;
    form.append(el('h3', 'manual-title', m.heading));
    for (const f of ManualFields) {
      const id = 'manual-' + f.name;
      const row = el('p', 'manual-field');
      const label = /** @type {HTMLLabelElement} */ (el('label', '', /** @type {any} */ (m)[f.name]));
      label.htmlFor = id;
      const input = /** @type {HTMLInputElement} */ (el('input'));
      input.id = id;
      input.name = f.name;
      input.type = 'number';
      input.inputMode = 'decimal';
      input.min = String(f.min);
      input.max = String(f.max);
      input.step = f.step;
      input.autocomplete = 'off';
      row.append(label, input);
      form.append(row);
    }
    const send = /** @type {HTMLButtonElement} */ (el('button', 'btn', m.send));
    send.type = 'submit';
    const result = el('p', 'manual-result');
    result.setAttribute('role', 'status');
    result.setAttribute('aria-live', 'polite');
    form.append(send, result);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.submitManual(form, send, result);
    });
    return form;
  }

  /**
   * @param {HTMLFormElement} form
   * @param {HTMLButtonElement} send
   * @param {HTMLElement} result
   */
  async submitManual(form, send, result) {
    const m = this.w.manual;
    /** @type {Record<string, string>} */
    const typed = {};
    for (const f of ManualFields) {
      const input = /** @type {HTMLInputElement|null} */ (form.elements.namedItem(f.name));
      typed[f.name] = input?.value || '';
    }
    const { body, problem } = manualBody(typed);
    if (!body) {
      result.textContent = m[problem || 'empty'];
      result.dataset.result = 'invalid';
      return;
    }
    send.disabled = true;
    result.textContent = m.sending;
    delete result.dataset.result;
    try {
      await this.api.post('/api/v1/readings/manual', body);
      result.textContent = m.sent;
      result.dataset.result = 'sent';
      form.reset();
    } catch (err) {
      const e = /** @type {any} */ (err);
      result.textContent = e && e.status >= 400 && e.status < 500 && e.detail ? fill(m.refused, { detail: sentence(e.detail) }) : m.failed;
      result.dataset.result = 'failed';
    } finally {
      send.disabled = false;
    }
  }

  /** @param {string} text */
  say(text) {
    if (this.status) this.status.textContent = text;
  }

  /** Asks for a device (needs the click's user gesture) and connects it. */
  async pair() {
    const w = this.w;
    let device;
    try {
      device = await this.bluetooth.requestDevice(requestOptions());
    } catch (err) {
      const e = /** @type {any} */ (err);
      this.say(e && e.name === 'NotFoundError' ? w.cancelled : w.failed);
      if (!(e && e.name === 'NotFoundError')) console.warn('vclinic: requestDevice:', err);
      return;
    }
    const name = device.name || w.device;
    this.say(fill(w.connecting, { name }));
    try {
      await this.connect(device);
    } catch (err) {
      console.warn('vclinic: connect:', err);
      this.say(w.failed);
    }
  }

  /**
   * Connects, finds the health service and its kit entry, and subscribes.
   * @param {any} device BluetoothDevice
   */
  async connect(device) {
    const w = this.w;
    const name = device.name || w.device;
    const server = await device.gatt.connect();
    let p = this.paired.get(device.id);
    if (!p) {
      const services = await server.getPrimaryServices();
      /** @type {HealthService|null} */
      let info = null;
      for (const s of services) {
        info = serviceInfo(s.uuid);
        if (info) break;
      }
      if (!info) {
        this.say(w.unknownDevice);
        device.gatt.disconnect();
        return;
      }
      const identity = await readIdentity(server);
      identity.webBluetoothId = device.id;
      const kit = await this.kit();
      const match = matchKitDevice(kit, { id: device.id, name: device.name, systemId: identity.systemId, serial: identity.serial }, info.deviceType);
      if (!match) {
        this.say(w.notInKit);
        device.gatt.disconnect();
        return;
      }
      p = { device, info, kit: match.device, by: match.by, identity, lastValue: '', lastStatus: '', lastVia: '', lastSentAt: 0 };
      this.paired.set(device.id, p);
      device.addEventListener('gattserverdisconnected', () => this.reconnect(/** @type {Paired} */ (p)));
    }
    const service = await server.getPrimaryService(p.info.service);
    const ch = await service.getCharacteristic(p.info.characteristic);
    if (p.characteristic !== ch) {
      ch.addEventListener('characteristicvaluechanged', (/** @type {any} */ ev) => this.forward(/** @type {Paired} */ (p), ev.target.value));
    }
    p.characteristic = ch;
    await ch.startNotifications();
    p.live = true;
    this.say(fill(w.connected, { name }));
    this.root.dataset.connected = p.info.deviceType;
    if (p.info.service === 0x1808) await this.requestStored(service, p);
  }

  /**
   * Asks a glucose meter for its stored records (RACP "report stored
   * records: all"); they arrive as Glucose Measurement notifications and are
   * forwarded like any other. A meter without RACP is left alone.
   * @param {any} service BluetoothRemoteGATTService
   * @param {Paired} p
   */
  async requestStored(service, p) {
    try {
      const racp = await service.getCharacteristic(RACPCharacteristic);
      if (p.racp !== racp) {
        racp.addEventListener('characteristicvaluechanged', (/** @type {any} */ ev) => this.storedResult(ev.target.value));
      }
      p.racp = racp;
      await racp.startNotifications();
      const req = racpReportAll();
      if (typeof racp.writeValueWithResponse === 'function') await racp.writeValueWithResponse(req);
      else await racp.writeValue(req);
    } catch (err) {
      console.warn('vclinic: stored records:', err);
    }
  }

  /**
   * Shows the meter's RACP response code.
   * @param {DataView} value
   */
  storedResult(value) {
    const r = parseRACP(value);
    if (!r.outcome || !this.stored) return;
    this.stored.hidden = false;
    this.stored.textContent = this.w.racp[r.outcome];
    this.stored.dataset.racp = r.outcome;
    this.stored.dataset.result = String(r.result);
  }

  /**
   * The patient's kit; [] when it cannot be read.
   * @returns {Promise<KitDevice[]>}
   */
  async kit() {
    const res = await this.api.get(`/api/v1/patients/${encodeURIComponent(this.patientId)}/devices`);
    return Array.isArray(res?.devices) ? res.devices : [];
  }

  /**
   * Reconnects a device that dropped, waiting longer each time.
   * @param {Paired} p
   */
  async reconnect(p) {
    p.live = false;
    delete this.root.dataset.connected;
    if (p.reconnecting) return;
    p.reconnecting = true;
    const name = p.device.name || this.w.device;
    try {
      for (let i = 0; !p.live; i++) {
        // Many monitors turn themselves off after each measurement: after
        // the first tries, the page keeps trying, calmly, while it is open.
        this.say(fill(i < reconnectDelays.length ? this.w.reconnecting : this.w.asleep, { name }));
        await new Promise((r) => setTimeout(r, reconnectDelays[i] ?? reconnectEveryMs));
        if (p.live) return;
        try {
          await this.connect(p.device);
        } catch (err) {
          console.info('vclinic: reconnect:', err);
        }
      }
    } finally {
      p.reconnecting = false;
    }
  }

  /**
   * Sends one value, the device's bytes as they came.
   * @param {Paired} p
   * @param {DataView} value
   */
  async forward(p, value) {
    const at = Date.now();
    const hex = toHex(value);
    const reading = {
      deviceId: p.kit.id,
      characteristic: characteristicName(p.info.characteristic),
      value: hex,
      seq: glucoseRecordSeq(p.info.characteristic, value) ?? this.seq.next(p.kit.id),
      observedAt: new Date(at).toISOString(),
      identifiedBy: p.by,
      deviceInfo: p.identity,
    };
    p.lastValue = hex;
    p.lastSentAt = at;
    await this.deliver(p, reading);
  }

  /**
   * Sends a reading of p, and when the clinic cannot take it now (no
   * network, or the clinic's servers answer 5xx or 429 while they fail
   * over) keeps it in the outbox, in order, and sends it again later: a
   * reading taken at home is not lost to a bad moment. Sending again is
   * safe: the server stores a (device, characteristic, seq) once.
   * @param {Paired} p
   * @param {object} reading
   */
  async deliver(p, reading) {
    if (this.outbox.items.length > 0) {
      // Behind the ones waiting: readings arrive in the order taken.
      this.outbox.items.push({ p, reading });
      this.showLast(p, 'queued', '');
      return;
    }
    const sent = await this.send(reading);
    if (sent.status === 'failed' && sent.retry) {
      this.outbox.items.push({ p, reading });
      this.showLast(p, 'queued', '');
      this.flushLater();
      return;
    }
    this.showLast(p, sent.status, sent.via);
  }

  /** Sends the outbox again after the next delay (outboxDelayMs). */
  flushLater() {
    if (this.outbox.timer) return;
    this.outbox.timer = true;
    this.later(() => {
      this.outbox.timer = false;
      this.flush();
    }, outboxDelayMs(this.outbox.attempt++));
  }

  /** Sends the outbox's readings in order until one cannot go yet. */
  async flush() {
    const box = this.outbox;
    while (box.items.length > 0) {
      const { p, reading } = box.items[0];
      const sent = await this.send(reading);
      if (sent.status === 'failed' && sent.retry) {
        this.flushLater();
        return;
      }
      box.items.shift();
      this.showLast(p, sent.status, sent.via);
    }
    box.attempt = 0;
  }

  /**
   * Shows what became of p's last value.
   * @param {Paired} p
   * @param {string} status stored, duplicate, rejected, failed or queued
   * @param {string} via
   */
  showLast(p, status, via) {
    p.lastStatus = status;
    p.lastVia = via;
    if (!this.last) return;
    this.last.hidden = false;
    const time = new Date().toLocaleTimeString(this.locale, { hour: '2-digit', minute: '2-digit' });
    this.last.textContent =
      status === 'failed'
        ? this.w.sendFailed
        : status === 'rejected'
          ? this.w.rejected
          : status === 'queued'
            ? this.w.queued
            : fill(this.w.lastSent, { time });
    this.last.dataset.value = p.lastValue;
    this.last.dataset.status = status;
  }

  /**
   * Sends one reading: over the visit's signaling socket when it is open (it
   * is already connected, so a weak network adds no new connection), else,
   * or when the socket gives no answer, over HTTP. Sending twice is safe: the
   * server stores a (device, characteristic, seq) once and answers
   * "duplicate".
   * @param {object} reading
   * @returns {Promise<{status: string, via: 'socket'|'http'|'', retry?: boolean}>} retry
   *   says a failure may pass (see retryable)
   */
  async send(reading) {
    if (this.socket) {
      try {
        const results = await this.socket([reading]);
        const status = results?.[0]?.status;
        if (status) return { status, via: 'socket' };
      } catch (err) {
        // the socket is down or slow: HTTP next
        console.info('vclinic: reading over the socket:', err);
      }
    }
    try {
      const res = await this.api.post('/api/v1/readings', { readings: [reading] });
      return { status: res?.results?.[0]?.status || '', via: 'http' };
    } catch (err) {
      console.warn('vclinic: send reading:', err);
      return { status: 'failed', via: '', retry: retryable(err) };
    }
  }

  /**
   * For tests and support: reads every connected characteristic once; the
   * value arrives through characteristicvaluechanged and is handled like a
   * notification.
   * @returns {Promise<number>} how many were read
   */
  async readAll() {
    let n = 0;
    for (const p of this.paired.values()) {
      if (p.characteristic && p.live) {
        await p.characteristic.readValue();
        n++;
        // A Record Access Control Point that allows reads (real meters only
        // indicate) gives its response code the same way.
        if (p.racp?.properties?.read) {
          await p.racp.readValue();
          n++;
        }
      }
    }
    return n;
  }

  /** @returns {Array<{name: string, kitDevice: string, by: string, systemId: string, connected: boolean, lastValue: string, lastStatus: string, lastVia: string, lastSentAt: number}>} */
  summary() {
    return [...this.paired.values()].map((p) => ({
      name: p.device.name || '',
      kitDevice: p.kit.id,
      by: p.by,
      systemId: p.identity.systemId || '',
      connected: p.live,
      lastValue: p.lastValue,
      lastStatus: p.lastStatus,
      lastVia: p.lastVia,
      lastSentAt: p.lastSentAt,
    }));
  }
}
