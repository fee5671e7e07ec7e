import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  characteristicName,
  devicesStrings,
  fullUUID,
  HealthServices,
  manualBody,
  matchKitDevice,
  parseRACP,
  racpReportAll,
  RACPCharacteristic,
  requestOptions,
  SeqCounter,
  serviceInfo,
  toHex,
  glucoseRecordSeq,
  deviceInfoValue,
  HomeDevices,
  normalHex,
  readIdentity,
  sameSystemId,
  devicesWords,
  outboxDelayMs,
  retryable,
} from '../static/devices.js';

test('toHex gives the bytes of a DataView, upper case, no spaces', () => {
  const bytes = new Uint8Array([0x04, 0x78, 0x00, 0x50, 0x00, 0x5d, 0x00, 0x48, 0x00]);
  assert.equal(toHex(new DataView(bytes.buffer)), '04780050005D004800');
  // A view into part of a larger buffer: only its own bytes.
  const big = new Uint8Array([0xff, 0x01, 0x0a, 0xee]);
  assert.equal(toHex(new DataView(big.buffer, 1, 2)), '010A');
  assert.equal(toHex(new DataView(new ArrayBuffer(0))), '');
  assert.equal(toHex(big.buffer), 'FF010AEE');
});

test('each health service maps to its device type and measurement characteristic', () => {
  const want = {
    0x1810: ['blood-pressure', '2A35'],
    0x1822: ['pulse-oximeter', '2A5E'],
    0x1809: ['thermometer', '2A1C'],
    0x181d: ['scale', '2A9D'],
    0x1808: ['glucose-meter', '2A18'],
    0x180d: ['heart-rate', '2A37'],
  };
  for (const [service, [type, ch]] of Object.entries(want)) {
    const s = Number(service);
    const byNumber = serviceInfo(s);
    assert.equal(byNumber?.deviceType, type);
    assert.equal(characteristicName(byNumber.characteristic), ch);
    // Web Bluetooth reports a service's uuid as the full lower-case string.
    assert.equal(serviceInfo(fullUUID(s))?.deviceType, type);
    assert.equal(serviceInfo(fullUUID(s).toUpperCase())?.deviceType, type);
  }
  assert.equal(serviceInfo(0x180a), null, 'device information is no health service');
  assert.equal(serviceInfo('not-a-uuid'), null);
  assert.equal(fullUUID(0x1810), '00001810-0000-1000-8000-00805f9b34fb');
});

test('requestDevice asks for any health service, device information optional', () => {
  const o = requestOptions();
  assert.deepEqual(o.filters, HealthServices.map((h) => ({ services: [h.service] })));
  assert.deepEqual(o.filters.map((f) => f.services[0]), [0x1810, 0x1822, 0x1809, 0x181d, 0x1808, 0x180d]);
  assert.deepEqual(o.optionalServices, [0x180a]);
});

class FakeStorage {
  constructor() {
    this.m = new Map();
  }
  getItem(k) {
    return this.m.has(k) ? this.m.get(k) : null;
  }
  setItem(k, v) {
    this.m.set(k, String(v));
  }
}

test('SeqCounter counts per device and goes on after a reload', () => {
  const storage = new FakeStorage();
  const a = new SeqCounter(storage);
  assert.equal(a.next('dev-1'), 1);
  assert.equal(a.next('dev-1'), 2);
  assert.equal(a.next('dev-2'), 1);
  // A reload: a new counter over the same storage.
  const b = new SeqCounter(storage);
  assert.equal(b.next('dev-1'), 3);
  assert.equal(b.next('dev-2'), 2);
  // Garbage in storage is ignored.
  storage.setItem('vclinic.seq.dev-3', 'x');
  assert.equal(b.next('dev-3'), 1);
});

test('SeqCounter counts in memory when storage fails or is missing', () => {
  const broken = {
    getItem() {
      throw new Error('SecurityError');
    },
    setItem() {
      throw new Error('QuotaExceededError');
    },
  };
  const c = new SeqCounter(broken);
  assert.equal(c.next('d'), 1);
  assert.equal(c.next('d'), 2);
  const n = new SeqCounter(null);
  assert.equal(n.next('d'), 1);
  assert.equal(n.next('d'), 2);
});

test('matchKitDevice prefers the web-bluetooth-id entry, else the first of the type', () => {
  const kit = [
    { id: 'k1', type: 'thermometer', address: '00:09:1F:00:00:01', identifiedBy: 'bluetooth-address' },
    { id: 'k2', type: 'blood-pressure', address: '00:09:1F:00:00:02', identifiedBy: 'bluetooth-address' },
    { id: 'k3', type: 'blood-pressure', address: 'abcDEF==', identifiedBy: 'web-bluetooth-id' },
  ];
  assert.deepEqual(matchKitDevice(kit, { id: 'abcDEF==', name: 'BP' }, 'blood-pressure'), { device: kit[2], by: 'web-bluetooth-id' });
  assert.deepEqual(matchKitDevice(kit, { id: 'other', name: 'BP' }, 'blood-pressure'), { device: kit[1], by: 'type' });
  assert.equal(matchKitDevice(kit, { id: 'other' }, 'scale'), null);
  assert.equal(matchKitDevice([], { id: 'x' }, 'thermometer'), null);
  assert.equal(matchKitDevice(/** @type {any} */ (null), { id: 'x' }, 'thermometer'), null);
  // An id that matches a non-web-bluetooth address does not count as exact.
  assert.deepEqual(matchKitDevice(kit, { id: '00:09:1F:00:00:01' }, 'thermometer'), { device: kit[0], by: 'type' });
  // The web-bluetooth-id entry of another type is not this device.
  assert.deepEqual(matchKitDevice(kit, { id: 'abcDEF==' }, 'thermometer'), { device: kit[0], by: 'type' });
});

test('matchKitDevice identifies by System ID, then serial, and never files under another device', () => {
  const kit = [
    { id: 'a', type: 'blood-pressure', address: 'AA:BB:CC:DD:EE:FF:00:11', identifiedBy: 'system-id' },
    { id: 'b', type: 'blood-pressure', address: '0011223344556677', identifiedBy: 'system-id' },
    { id: 'c', type: 'blood-pressure', address: 'SN-42', identifiedBy: 'serial' },
    { id: 'd', type: 'blood-pressure', address: 'webid', identifiedBy: 'web-bluetooth-id' },
  ];
  // Separators and case in the kit entry do not matter.
  assert.deepEqual(matchKitDevice(kit, { id: 'webid', systemId: '0011223344556677' }, 'blood-pressure'), { device: kit[1], by: 'system-id' });
  assert.deepEqual(matchKitDevice(kit, { id: 'webid', systemId: 'aabbccddeeff0011' }, 'blood-pressure'), { device: kit[0], by: 'system-id' });
  assert.deepEqual(matchKitDevice(kit, { id: 'x', serial: 'SN-42' }, 'blood-pressure'), { device: kit[2], by: 'serial' });
  assert.deepEqual(matchKitDevice(kit, { id: 'webid', systemId: '9999999999999999' }, 'blood-pressure'), { device: kit[3], by: 'web-bluetooth-id' });
  // An unknown System ID: the entries bound to other System IDs are other
  // devices; the serial entry cannot be told apart (no serial was read).
  assert.deepEqual(matchKitDevice(kit, { id: 'x', systemId: '9999999999999999' }, 'blood-pressure'), { device: kit[2], by: 'type' });
  // Nothing but other devices' entries: no match at all.
  const bound = kit.slice(0, 2);
  assert.equal(matchKitDevice(bound, { id: 'x', systemId: '9999999999999999' }, 'blood-pressure'), null);
  // A device that gives no System ID cannot contradict an entry.
  assert.deepEqual(matchKitDevice(bound, { id: 'x' }, 'blood-pressure'), { device: kit[0], by: 'type' });
  assert.equal(normalHex('00:1b:DC-ff'), '001BDCFF');
  // The kit may hold the System ID as printed, most significant byte first.
  const printed = [{ id: 'p', type: 'scale', address: '00:1B:DC:FF:FE:07:AB:CD', identifiedBy: 'system-id' }];
  assert.deepEqual(matchKitDevice(printed, { id: 'x', systemId: 'CDAB07FEFFDC1B00' }, 'scale'), { device: printed[0], by: 'system-id' });
  assert.equal(sameSystemId('00:1B:DC:FF:FE:07:AB:CD', 'CDAB07FEFFDC1B00'), true);
  assert.equal(sameSystemId('CDAB07FEFFDC1B00', 'CDAB07FEFFDC1B00'), true);
  assert.equal(sameSystemId('CDAB07FEFFDC1B01', 'CDAB07FEFFDC1B00'), false);
  assert.equal(sameSystemId('CDAB', 'CDAB07FEFFDC1B00'), false);
  // Serials compare without case and surrounding spaces, as the server does.
  assert.deepEqual(matchKitDevice(kit, { id: 'x', serial: ' sn-42' }, 'blood-pressure'), { device: kit[2], by: 'serial' });
  assert.equal(normalHex(undefined), '');
});

test('deviceInfoValue: System ID as 16 hex digits, strings without padding', () => {
  const dv = (/** @type {number[]} */ b) => new DataView(new Uint8Array(b).buffer);
  assert.equal(deviceInfoValue('systemId', dv([0xcd, 0xab, 0x07, 0xfe, 0xff, 0xdc, 0x1b, 0x00])), 'CDAB07FEFFDC1B00');
  assert.equal(deviceInfoValue('systemId', dv([1, 2, 3])), '', 'a System ID is 8 bytes');
  const text = (/** @type {string} */ s) => new DataView(new TextEncoder().encode(s).buffer);
  assert.equal(deviceInfoValue('model', text('BP-786\u0000\u0000')), 'BP-786');
  assert.equal(deviceInfoValue('manufacturer', text('  Omron  ')), 'Omron');
  assert.equal(deviceInfoValue('model', text('x'.repeat(65))), '', 'too long');
  assert.equal(deviceInfoValue('model', dv([0xff, 0xfe])), '', 'not UTF-8');
  assert.equal(deviceInfoValue('model', /** @type {any} */ (null)), '');
});

test('readIdentity reads what the device has and skips what it cannot read', async () => {
  const values = {
    0x2a23: [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88],
    0x2a24: [...new TextEncoder().encode('M7')],
  };
  const dis = {
    async getCharacteristic(/** @type {number} */ uuid) {
      if (uuid === 0x2a25) throw Object.assign(new Error('blocklisted'), { name: 'SecurityError' });
      if (!(uuid in values)) throw Object.assign(new Error('none'), { name: 'NotFoundError' });
      return { readValue: async () => new DataView(new Uint8Array(values[uuid]).buffer) };
    },
  };
  const server = { getPrimaryService: async (/** @type {number} */ s) => (s === 0x180a ? dis : Promise.reject(new Error('no'))) };
  assert.deepEqual(await readIdentity(server), { systemId: '1122334455667788', model: 'M7' });
  const none = { getPrimaryService: async () => Promise.reject(Object.assign(new Error('none'), { name: 'NotFoundError' })) };
  assert.deepEqual(await readIdentity(none), {});
});

test('a reading goes over the socket when it answers, else over HTTP', async () => {
  const posted = [];
  const api = {
    post: async (/** @type {string} */ path, /** @type {any} */ body) => {
      posted.push({ path, body });
      return { results: [{ index: 0, status: 'duplicate' }] };
    },
  };
  const reading = { deviceId: 'd', characteristic: '2A35', value: '00', seq: 1, observedAt: '2026-01-01T00:00:00Z' };
  const send = HomeDevices.prototype.send;

  const viaSocket = [];
  const socket = async (/** @type {any[]} */ r) => {
    viaSocket.push(r);
    return [{ index: 0, status: 'stored', id: 'r1' }];
  };
  assert.deepEqual(await send.call({ socket, api }, reading), { status: 'stored', via: 'socket' });
  assert.deepEqual(viaSocket, [[reading]]);
  assert.equal(posted.length, 0);

  // The socket is down or gives no answer: the same reading goes over HTTP,
  // where the server may already have it (seq makes that safe).
  const down = async () => Promise.reject(new Error('no answer'));
  assert.deepEqual(await send.call({ socket: down, api }, reading), { status: 'duplicate', via: 'http' });
  assert.deepEqual(posted, [{ path: '/api/v1/readings', body: { readings: [reading] } }]);

  // No socket (outside a visit), and HTTP failing too: a failure that may
  // pass (no answer) says so, a refusal (4xx) does not.
  const failing = { post: async () => Promise.reject(new Error('offline')) };
  assert.deepEqual(await send.call({ socket: null, api: failing }, reading), { status: 'failed', via: '', retry: true });
  const refusing = { post: async () => Promise.reject(Object.assign(new Error('HTTP 403'), { status: 403 })) };
  assert.deepEqual(await send.call({ socket: null, api: refusing }, reading), { status: 'failed', via: '', retry: false });
});

test('retryable: no answer, 429 and 5xx may pass; other 4xx do not', () => {
  assert.equal(retryable(new Error('offline')), true);
  for (const status of [0, 429, 500, 502, 503]) assert.equal(retryable({ status }), true, String(status));
  for (const status of [400, 401, 403, 404, 409, 413, 422]) assert.equal(retryable({ status }), false, String(status));
  assert.deepEqual([0, 1, 2, 3, 4, 5, 9].map(outboxDelayMs), [2000, 4000, 8000, 16000, 30000, 30000, 30000]);
});

test('readings the clinic cannot take now wait in the outbox and go in order once it answers', async () => {
  // The clinic answers 503 (its database fails over) twice, then stores.
  let down = 2;
  const posted = [];
  const api = {
    post: async (/** @type {string} */ _path, /** @type {any} */ body) => {
      if (down > 0) {
        down--;
        return Promise.reject(Object.assign(new Error('HTTP 503'), { status: 503 }));
      }
      posted.push(body.readings[0].seq);
      return { results: [{ index: 0, status: 'stored' }] };
    },
  };
  /** @type {Array<{fn: () => void, ms: number}>} */
  const timers = [];
  const box = Object.create(HomeDevices.prototype);
  Object.assign(box, {
    api,
    socket: null,
    last: null,
    w: devicesWords({ language: 'en' }),
    later: (/** @type {() => void} */ fn, /** @type {number} */ ms) => timers.push({ fn, ms }),
    outbox: { items: [], attempt: 0, timer: false },
  });
  const p = /** @type {any} */ ({ lastValue: '', lastStatus: '', lastVia: '' });
  const reading = (/** @type {number} */ seq) => ({ deviceId: 'd', characteristic: '2A35', value: '00', seq, observedAt: '2026-01-01T00:00:00Z' });

  await box.deliver(p, reading(1));
  assert.equal(p.lastStatus, 'queued');
  await box.deliver(p, reading(2)); // behind the first, not sent ahead of it
  assert.equal(p.lastStatus, 'queued');
  assert.equal(box.outbox.items.length, 2);
  assert.deepEqual(timers.map((t) => t.ms), [2000]);

  // The first retry meets the second 503 and waits longer.
  await timers.shift()?.fn();
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(posted, []);
  assert.deepEqual(timers.map((t) => t.ms), [4000]);

  // Then the clinic answers: both go, in the order taken.
  await timers.shift()?.fn();
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(posted, [1, 2]);
  assert.equal(box.outbox.items.length, 0);
  assert.equal(p.lastStatus, 'stored');
  assert.equal(box.outbox.attempt, 0);
  assert.equal(timers.length, 0);

  // A refused reading is not kept.
  const refusing = { post: async () => Promise.reject(Object.assign(new Error('HTTP 422'), { status: 422 })) };
  box.api = refusing;
  await box.deliver(p, reading(3));
  assert.equal(p.lastStatus, 'failed');
  assert.equal(box.outbox.items.length, 0);
});

test('manualBody sends LOINC codes and UCUM units, leaves empty fields out', () => {
  const { body, problem } = manualBody({ systolic: '120', diastolic: '80', temperature: '37,5', spo2: '', weight: '' });
  assert.equal(problem, '');
  assert.deepEqual(body, {
    values: [
      { code: '8480-6', value: '120', unit: 'mm[Hg]' },
      { code: '8462-4', value: '80', unit: 'mm[Hg]' },
      { code: '8310-5', value: '37.5', unit: 'Cel' },
    ],
  });
  assert.deepEqual(manualBody({ spo2: '97', weight: '72.4' }).body, {
    values: [
      { code: '59408-5', value: '97', unit: '%' },
      { code: '29463-7', value: '72.4', unit: 'kg' },
    ],
  });
  assert.equal(manualBody({}).problem, 'empty');
  assert.equal(manualBody({ systolic: '120' }).problem, 'pair');
  assert.equal(manualBody({ temperature: '73' }).problem, 'range');
  assert.equal(manualBody({ weight: '-3' }).problem, 'range');
  assert.equal(manualBody({ spo2: '9e1' }).problem, 'range');
});

test('the words exist in English and Danish alike', () => {
  const keys = (o, p = '') =>
    Object.entries(o).flatMap(([k, v]) => (v && typeof v === 'object' ? keys(v, p + k + '.') : [p + k])).sort();
  assert.deepEqual(keys(devicesStrings.da), keys(devicesStrings.en));
  assert.equal(
    devicesStrings.en.unsupported,
    'This browser cannot connect to measuring devices. You can type the result instead, or use the home box.',
  );
  assert.equal(devicesStrings.en.pair, 'Connect a measuring device');
});

test('RACP: report stored records, all records, is op code 0x01 with operator 0x01', () => {
  assert.equal(RACPCharacteristic, 0x2a52);
  assert.equal(characteristicName(RACPCharacteristic), '2A52');
  assert.deepEqual([...racpReportAll()], [0x01, 0x01]);
});

test('parseRACP reads the response code to report stored records', () => {
  const dv = (...b) => new DataView(new Uint8Array(b).buffer);
  assert.deepEqual(parseRACP(dv(0x06, 0x00, 0x01, 0x01)), { opCode: 6, request: 1, result: 1, outcome: 'sent' });
  assert.equal(parseRACP(dv(0x06, 0x00, 0x01, 0x06)).outcome, 'none');
  assert.equal(parseRACP(dv(0x06, 0x00, 0x01, 0x02)).outcome, 'failed', 'op code not supported');
  assert.equal(parseRACP(dv(0x06, 0x00, 0x01, 0x08)).outcome, 'failed', 'procedure not completed');
  // A view into part of a larger buffer, an ArrayBuffer and a Uint8Array alike.
  const big = new Uint8Array([0xff, 0x06, 0x00, 0x01, 0x06, 0xee]);
  assert.equal(parseRACP(new DataView(big.buffer, 1, 4)).outcome, 'none');
  assert.equal(parseRACP(new Uint8Array([0x06, 0x00, 0x01, 0x01]).buffer).outcome, 'sent');
  assert.equal(parseRACP(new Uint8Array([0x06, 0x00, 0x01, 0x01])).outcome, 'sent');
  // Not a response to report stored records: no outcome.
  assert.equal(parseRACP(dv(0x05, 0x00, 0x03, 0x00)).outcome, '', 'number of records response');
  assert.equal(parseRACP(dv(0x06, 0x00, 0x04, 0x01)).outcome, '', 'response to another request');
  assert.equal(parseRACP(dv(0x06, 0x00)).outcome, '', 'too short');
  assert.equal(parseRACP(dv()).outcome, '');
});

test('a glucose record keeps its own sequence number as the seq', () => {
  // flags 0x02, sequence number 0x0105 (261), then the rest of the record
  const rec = new DataView(new Uint8Array([0x02, 0x05, 0x01, 0xea, 0x07, 0x0b, 0x1a]).buffer);
  assert.equal(glucoseRecordSeq(0x2a18, rec), 261);
  assert.equal(glucoseRecordSeq(0x2a35, rec), null);
  assert.equal(glucoseRecordSeq(0x2a18, new DataView(new Uint8Array([0x02, 0x05]).buffer)), null);
});
