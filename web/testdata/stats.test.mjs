import { test } from 'node:test';
import assert from 'node:assert/strict';

import { StallWatch, assessQuality, hasDecodedFrame, linkSample, receivedVideo, receiverReports, selectedPath, summarize } from '../static/stats.js';

const report = (...stats) => new Map(stats.map((s) => [s.id, s]));

test('summarize sums inbound-rtp by kind and takes the selected pair RTT', () => {
  const r = report(
    { id: 'v1', type: 'inbound-rtp', kind: 'video', framesDecoded: 10, packetsReceived: 100, packetsLost: 2 },
    { id: 'v2', type: 'inbound-rtp', kind: 'video', framesDecoded: 5, packetsReceived: 50, packetsLost: -1 },
    { id: 'a1', type: 'inbound-rtp', kind: 'audio', packetsReceived: 300, packetsLost: 3 },
    { id: 'o1', type: 'outbound-rtp', kind: 'video', packetsSent: 999 },
    { id: 'cp1', type: 'candidate-pair', nominated: true, state: 'succeeded', currentRoundTripTime: 0.9 },
    { id: 'cp2', type: 'candidate-pair', nominated: true, state: 'succeeded', currentRoundTripTime: 0.042 },
    { id: 't1', type: 'transport', selectedCandidatePairId: 'cp2' },
  );
  assert.deepEqual(summarize(r), {
    framesDecoded: 15,
    videoPacketsReceived: 150,
    videoPacketsLost: 2,
    audioPacketsReceived: 300,
    audioPacketsLost: 3,
    roundTripSeconds: 0.042,
  });
});

test('summarize falls back to the nominated pair and tolerates missing fields', () => {
  const r = report(
    { id: 'v1', type: 'inbound-rtp', mediaType: 'video' },
    { id: 'cp1', type: 'candidate-pair', nominated: false, state: 'succeeded', currentRoundTripTime: 0.5 },
    { id: 'cp2', type: 'candidate-pair', nominated: true, state: 'succeeded', currentRoundTripTime: 0.1 },
  );
  assert.deepEqual(summarize(r), {
    framesDecoded: 0, videoPacketsReceived: 0, videoPacketsLost: 0,
    audioPacketsReceived: 0, audioPacketsLost: 0, roundTripSeconds: 0.1,
  });
  assert.equal(summarize(null).framesDecoded, 0);
});

test('summarize reports the largest video decoded, freezes and the path for the quality record', () => {
  const r = report(
    { id: 'v1', type: 'inbound-rtp', kind: 'video', framesDecoded: 10, frameWidth: 320, frameHeight: 180, framesPerSecond: 15,
      freezeCount: 1, totalFreezesDuration: 0.4 },
    { id: 'v2', type: 'inbound-rtp', kind: 'video', framesDecoded: 5, frameWidth: 1280, frameHeight: 720, framesPerSecond: 29.97,
      freezeCount: 2, totalFreezesDuration: 1.25 },
    { id: 'cp', type: 'candidate-pair', localCandidateId: 'l1', currentRoundTripTime: 0.03 },
    { id: 'l1', type: 'local-candidate', candidateType: 'host', protocol: 'tcp' },
    { id: 't1', type: 'transport', selectedCandidatePairId: 'cp' },
  );
  const s = summarize(r);
  assert.equal(s.frameWidth, 1280);
  assert.equal(s.frameHeight, 720);
  assert.equal(s.framesPerSecond, 30);
  assert.equal(s.freezeCount, 3);
  assert.equal(s.freezeMillis, 1650);
  assert.equal(s.candidateType, 'tcp');
  const relay = report(
    { id: 'cp', type: 'candidate-pair', localCandidateId: 'l1' },
    { id: 'l1', type: 'local-candidate', candidateType: 'relay', protocol: 'udp', relayProtocol: 'tls' },
    { id: 't1', type: 'transport', selectedCandidatePairId: 'cp' },
  );
  assert.equal(summarize(relay).candidateType, 'relay');
  // Firefox counts no freezes: none are reported, rather than zero.
  const ff = summarize(report({ id: 'v', type: 'inbound-rtp', kind: 'video', frameWidth: 640, frameHeight: 360 }));
  assert.equal(ff.freezeCount, undefined);
  assert.equal(ff.frameWidth, 640);
});

test('hasDecodedFrame', () => {
  assert.equal(hasDecodedFrame(null), false);
  assert.equal(hasDecodedFrame(report({ id: 'v', type: 'inbound-rtp', kind: 'video', framesDecoded: 0 })), false);
  assert.equal(hasDecodedFrame(report({ id: 'v', type: 'inbound-rtp', kind: 'video', framesDecoded: 1 })), true);
});

test('receiverReports sums remote-inbound-rtp measurements', () => {
  const r = report(
    { id: 'ra', type: 'remote-inbound-rtp', kind: 'audio', roundTripTimeMeasurements: 4 },
    { id: 'rv', type: 'remote-inbound-rtp', kind: 'video', roundTripTimeMeasurements: 5 },
    { id: 'v', type: 'inbound-rtp', kind: 'video', roundTripTimeMeasurements: 100 },
  );
  assert.equal(receiverReports(r), 9);
  assert.equal(receiverReports(null), 0);
});

test('StallWatch reports a counter that stopped after growing, then waits', () => {
  const w = new StallWatch(6000);
  const steps = [
    // [value, expected, now, want]
    [0, true, 0, false], // nothing yet: never a stall before the first growth
    [0, true, 9000, false],
    [10, true, 12000, false], // grew
    [20, true, 15000, false],
    [20, true, 18000, false], // 3 s still
    [20, true, 21000, true], // 6 s still: stall
    [20, true, 24000, false], // waits another 6 s
    [20, true, 27000, true],
    [20, false, 40000, false], // not expected: no stall, clock restarts
    [20, true, 43000, false],
    [30, true, 46000, false], // flows again
    [30, true, 52000, true],
  ];
  for (const [i, [v, e, now, want]] of steps.entries()) {
    assert.equal(w.update(v, e, now), want, `step ${i}: update(${v}, ${e}, ${now})`);
  }
});

test('StallWatch restarts its count when the counter resets (new connection)', () => {
  const w = new StallWatch(6000);
  w.update(0, true, 0);
  w.update(50, true, 3000);
  assert.equal(w.update(2, true, 6000), false);
  assert.equal(w.update(2, true, 9000), false);
  assert.equal(w.update(2, true, 12000), true);
});

test('StallWatch counts a first non-zero reading as flow', () => {
  const w = new StallWatch(6000);
  assert.equal(w.update(92, true, 0), false);
  assert.equal(w.update(92, true, 3000), false);
  assert.equal(w.update(92, true, 6000), true);
});

test('receivedVideo names each participant\'s video by its track id, with its size', () => {
  const report = new Map([
    ['v1', { type: 'inbound-rtp', kind: 'video', trackIdentifier: 'p1-video', frameWidth: 320, frameHeight: 180, framesPerSecond: 15, framesDecoded: 90 }],
    ['v2', { type: 'inbound-rtp', kind: 'video', trackIdentifier: 'p2-video', frameWidth: 1280, frameHeight: 720, framesDecoded: 300 }],
    ['a1', { type: 'inbound-rtp', kind: 'audio', trackIdentifier: 'p1-audio' }],
  ]);
  assert.deepEqual(receivedVideo(report), [
    { participant: 'p1', frameWidth: 320, frameHeight: 180, framesPerSecond: 15, framesDecoded: 90 },
    { participant: 'p2', frameWidth: 1280, frameHeight: 720, framesPerSecond: 0, framesDecoded: 300 },
  ]);
  assert.deepEqual(receivedVideo(null), []);
});

test('selectedPath reads the local end of the selected candidate pair', () => {
  const report = new Map([
    ['T1', { type: 'transport', selectedCandidatePairId: 'CP1' }],
    ['CP1', { type: 'candidate-pair', id: 'CP1', localCandidateId: 'L1', state: 'succeeded' }],
    ['L1', { type: 'local-candidate', address: '192.0.2.7', port: 50123, protocol: 'udp', candidateType: 'srflx' }],
  ]);
  assert.deepEqual(selectedPath(report), { address: '192.0.2.7', port: 50123, protocol: 'udp', candidateType: 'srflx' });
  // Firefox names no selected pair on the transport: the selected pair.
  const ff = new Map([
    ['CP2', { type: 'candidate-pair', id: 'CP2', localCandidateId: 'L2', state: 'succeeded', selected: true }],
    ['L2', { type: 'local-candidate', address: '127.0.0.1', port: 40000, protocol: 'tcp', candidateType: 'host' }],
  ]);
  assert.equal(selectedPath(ff)?.protocol, 'tcp');
  assert.equal(selectedPath(new Map()), null);
});

const sample = (over = {}) => ({ at: 0, received: 0, lost: 0, rtt: 0.02, jitter: 0.005, upLoss: 0, upLimited: false, upAvailable: 0,
  reports: 0, stalled: false, ...over });

test('assessQuality: a clean link is good', () => {
  assert.deepEqual(assessQuality(sample({ received: 1000 }), sample()), { level: 'good', reasons: [], uplink: false });
  assert.deepEqual(assessQuality(sample(), null), { level: 'good', reasons: [], uplink: false });
});

test('assessQuality: loss, delay and jitter make a link weak or very weak, with the reasons', () => {
  // 5 % lost between the samples: weak; 20 %: very weak.
  assert.deepEqual(assessQuality(sample({ received: 950, lost: 50 }), sample()), { level: 'weak', reasons: ['loss'], uplink: false });
  assert.equal(assessQuality(sample({ received: 800, lost: 200 }), sample()).level, 'very-weak');
  // Too few packets to judge loss by.
  assert.equal(assessQuality(sample({ received: 20, lost: 10 }), sample()).level, 'good');
  assert.deepEqual(assessQuality(sample({ rtt: 0.5, jitter: 0.08 }), null), { level: 'weak', reasons: ['delay', 'jitter'], uplink: false });
  assert.equal(assessQuality(sample({ rtt: 1.2 }), null).level, 'very-weak');
});

test('assessQuality: a weak uplink says so, and the server can only make it worse', () => {
  assert.deepEqual(assessQuality(sample({ upLimited: true, upAvailable: 250000 }), null), { level: 'weak', reasons: ['bandwidth'], uplink: true });
  // Held back with plenty of room: a simulcast camera's top layer is off, nothing more.
  assert.equal(assessQuality(sample({ upLimited: true, upAvailable: 1200000 }), null).level, 'good');
  assert.deepEqual(assessQuality(sample({ upLoss: 0.12 }), null), { level: 'very-weak', reasons: ['loss'], uplink: true });
  assert.deepEqual(assessQuality(sample({ upAvailable: 80000 }), null), { level: 'very-weak', reasons: ['bandwidth'], uplink: true });
  assert.deepEqual(assessQuality(sample(), null, 'weak'), { level: 'weak', reasons: ['bandwidth'], uplink: false });
  assert.equal(assessQuality(sample(), null, 'very-weak').level, 'very-weak');
  assert.equal(assessQuality(sample(), null, 'good').level, 'good');
});

test('assessQuality: the loss reported just after an outage was the outage, and is not judged', () => {
  const out = sample({ received: 1000, stalled: true });
  // 3 s of packets counted lost at once, and the server's report of 100 % up.
  const back = sample({ received: 1100, lost: 400, upLoss: 1 });
  assert.deepEqual(assessQuality(back, out), { level: 'good', reasons: [], uplink: false });
  // The next sample is judged again.
  assert.equal(assessQuality(sample({ received: 1300, lost: 500, upLoss: 0.2 }), back).level, 'very-weak');
});

test('linkSample reads both connections', () => {
  const sub = new Map([
    ['a', { type: 'inbound-rtp', kind: 'audio', packetsReceived: 500, packetsLost: 5, jitter: 0.03 }],
    ['v', { type: 'inbound-rtp', kind: 'video', packetsReceived: 1500, packetsLost: 15 }],
    ['t', { type: 'transport', selectedCandidatePairId: 'cp' }],
    ['cp', { type: 'candidate-pair', id: 'cp', state: 'succeeded', nominated: true, currentRoundTripTime: 0.25 }],
  ]);
  const pub = new Map([
    ['r', { type: 'remote-inbound-rtp', kind: 'video', fractionLost: 0.04 }],
    ['o', { type: 'outbound-rtp', kind: 'video', qualityLimitationReason: 'bandwidth' }],
    ['cp2', { type: 'candidate-pair', state: 'succeeded', nominated: true, availableOutgoingBitrate: 250000 }],
  ]);
  pub.set('rr', { type: 'remote-inbound-rtp', kind: 'audio', fractionLost: 0, roundTripTimeMeasurements: 9 });
  const first = linkSample(sub, pub, 7);
  assert.deepEqual(first, { at: 7, received: 2000, lost: 20, rtt: 0.25, jitter: 0.03, upLoss: 0.04, upLimited: true, upAvailable: 250000,
    reports: 9, stalled: false });
  // Nothing arrived and no report came since: the link was out.
  assert.equal(linkSample(sub, pub, 3007, first).stalled, true);
  assert.deepEqual(linkSample(null, null, 1), { at: 1, received: 0, lost: 0, rtt: 0, jitter: 0, upLoss: 0, upLimited: false, upAvailable: 0,
    reports: 0, stalled: false });
});
