import { test } from 'node:test';
import assert from 'node:assert/strict';

import { filterPatients, patientLabel } from '../static/patients.js';

const patients = [
  { id: '1', name: 'Karen Jensen', contact: 'karen.jensen@example.org', cpr: '0101901234' },
  { id: '2', name: 'Jens Nielsen', contact: '+45 20 00 00 00' },
  { id: '3', name: 'Søren Ærø', contact: '', cpr: '3112855678' },
];

test('filterPatients finds by name, contact or CPR digits', () => {
  const ids = (q) => filterPatients(patients, q).map((p) => p.id).join(',');
  const tests = [
    ['', '1,2,3'],
    ['  ', '1,2,3'],
    ['jens', '1,2'],
    ['JENSEN', '1'],
    ['søren', '3'],
    ['example.org', '1'],
    ['+45 20', '2'],
    ['010190', '1'],
    ['010190-1234', '1'],
    ['5678', '3'],
    ['20 00', '2'],
    ['nobody', ''],
  ];
  for (const [q, want] of tests) assert.equal(ids(q), want, JSON.stringify(q));
});

test('patientLabel shows name, contact and CPR with a dash', () => {
  assert.equal(patientLabel(patients[0]), 'Karen Jensen · karen.jensen@example.org · 010190-1234');
  assert.equal(patientLabel(patients[1]), 'Jens Nielsen · +45 20 00 00 00');
  assert.equal(patientLabel(patients[2]), 'Søren Ærø · 311285-5678');
});
