import { test } from 'node:test';
import assert from 'node:assert/strict';

import { gatewayStatus } from '../static/gateways.js';
import { strings } from '../static/calendar-text.js';

test('gatewayStatus says revoked, paired, waiting or neither, in both languages', () => {
  for (const t of [strings.en, strings.da]) {
    const revoked = gatewayStatus({ id: 'g', label: '', paired: false, revokedAt: '2026-12-04T10:00:00Z', lastUsedAt: '2026-12-03T10:00:00Z' }, t);
    assert.ok(revoked.startsWith(t.gwRevoked.split('{')[0]), revoked);
    assert.ok(revoked.includes('2026'), revoked);
    const paired = gatewayStatus({ id: 'g', label: '', paired: true, lastUsedAt: '2026-12-03T10:00:00Z' }, t);
    assert.ok(paired.startsWith(t.gwPaired.split('{')[0]) && paired.includes('2026'), paired);
    const waiting = gatewayStatus({ id: 'g', label: '', paired: false, pairingExpiresAt: '2026-12-11T10:00:00Z' }, t);
    assert.ok(waiting.startsWith(t.gwWaiting.split('{')[0]) && waiting.includes('2026'), waiting);
    assert.equal(gatewayStatus({ id: 'g', label: '', paired: false }, t), t.gwUnpaired);
    // A revoked gateway is revoked, whatever else it says.
    assert.ok(gatewayStatus({ id: 'g', label: '', paired: true, revokedAt: '2026-12-04T10:00:00Z' }, t).startsWith(t.gwRevoked.split('{')[0]));
  }
});
