import { test } from 'node:test';
import assert from 'node:assert/strict';

import { hasDecodedFrame, summarize } from '../static/stats.js';

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

test('hasDecodedFrame', () => {
  assert.equal(hasDecodedFrame(null), false);
  assert.equal(hasDecodedFrame(report({ id: 'v', type: 'inbound-rtp', kind: 'video', framesDecoded: 0 })), false);
  assert.equal(hasDecodedFrame(report({ id: 'v', type: 'inbound-rtp', kind: 'video', framesDecoded: 1 })), true);
});
