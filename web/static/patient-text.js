// Every word of the clinician's page of a patient (patient.js), in English
// and Danish, and the reading of its limits form.

export const strings = {
  en: {
    lang: 'en',
    locale: 'en-GB',
    title: 'Patient',
    text: {
      dayList: 'Day list',
      support:
        "Decision support, not a diagnosis: the score, the marks and the charts help a clinician read the home readings; they do not replace the clinician's judgement.",
      news2Title: 'Early warning score (NEWS2), partial',
      loading: 'Loading…',
      flaggedTitle: 'Readings outside limits, last 30 days',
      trendsTitle: 'Home readings, last 30 days',
      limitsTitle: 'Limits for this patient',
      quantity: 'Quantity',
      low: 'Low',
      high: 'High',
      unit: 'Unit',
      spo2Scale: 'NEWS2 SpO2 scale',
      scale1: 'Scale 1',
      scale2: 'Scale 2 (hypercapnic respiratory failure, as the clinician decided)',
      onOxygen: 'The patient uses oxygen at home',
      save: 'Save limits',
    },
    who: 'Signed in as {name}',
    acknowledge: 'Seen and handled',
    acked: 'Seen and handled by {by}, {when}',
    noneFlagged: 'No readings outside limits in the last 30 days.',
    saved: 'Limits saved.',
    conflict: 'Someone changed these limits meanwhile: reload the page to see theirs, then change again.',
    badNumber: '{field}: not a number',
    failed: 'Could not load: {detail}',
    notYours: 'Only the clinicians caring for this patient see their clinical data.',
  },
  da: {
    lang: 'da',
    locale: 'da-DK',
    title: 'Patient',
    text: {
      dayList: 'Dagsliste',
      support:
        'Beslutningsstøtte, ikke en diagnose: scoren, markeringerne og graferne hjælper en behandler med at læse hjemmemålingerne; de erstatter ikke behandlerens vurdering.',
      news2Title: 'Early warning score (NEWS2), delvis',
      loading: 'Henter…',
      flaggedTitle: 'Målinger uden for grænserne, seneste 30 dage',
      trendsTitle: 'Hjemmemålinger, seneste 30 dage',
      limitsTitle: 'Grænser for denne patient',
      quantity: 'Måling',
      low: 'Nedre',
      high: 'Øvre',
      unit: 'Enhed',
      spo2Scale: 'NEWS2 SpO2-skala',
      scale1: 'Skala 1',
      scale2: 'Skala 2 (hyperkapnisk respirationssvigt, efter behandlerens vurdering)',
      onOxygen: 'Patienten bruger ilt hjemme',
      save: 'Gem grænser',
    },
    who: 'Logget ind som {name}',
    acknowledge: 'Set og håndteret',
    acked: 'Set og håndteret af {by}, {when}',
    noneFlagged: 'Ingen målinger uden for grænserne de seneste 30 dage.',
    saved: 'Grænserne er gemt.',
    conflict: 'En anden har ændret grænserne imens: genindlæs siden for at se deres, og ret så igen.',
    badNumber: '{field}: ikke et tal',
    failed: 'Kunne ikke hente: {detail}',
    notYours: 'Kun de behandlere, der har patienten i behandling, ser patientens kliniske data.',
  },
};

/** The words of the partial early-warning score (GET /api/v1/patients/{id}/news2). */
export const news2Words = {
  en: {
    total: 'Partial score {total} ({risk}), from {scored} of {of} parameters',
    partial: 'Partial score, {scored} of {of} parameters: respiration rate and consciousness are not measured at home.',
    caption: 'Points per parameter, and the reading used',
    parameter: 'Parameter',
    points: 'Points',
    reading: 'Reading used',
    used: '{value} {unit}, {age} h ago',
    risk: { low: 'low', 'low-medium': 'low–medium: a single parameter scores 3', medium: 'medium', high: 'high', unscored: 'nothing scored' },
    parameters: {
      'respiration-rate': 'Respiration rate',
      spo2: 'SpO2',
      'air-or-oxygen': 'Air or oxygen',
      'systolic-bp': 'Systolic blood pressure',
      pulse: 'Pulse',
      consciousness: 'Consciousness',
      temperature: 'Temperature',
    },
    status: {
      scored: 'scored',
      'not-measured': 'not measured at home',
      'no-reading': 'no reading',
      stale: 'reading too old',
      'taken-as-air': 'taken as air (not recorded)',
    },
  },
  da: {
    total: 'Delvis score {total} ({risk}), ud fra {scored} af {of} parametre',
    partial: 'Delvis score, {scored} af {of} parametre: respirationsfrekvens og bevidsthed måles ikke hjemme.',
    caption: 'Point pr. parameter, og den måling der er brugt',
    parameter: 'Parameter',
    points: 'Point',
    reading: 'Måling brugt',
    used: '{value} {unit}, for {age} t siden',
    risk: { low: 'lav', 'low-medium': 'lav–middel: én parameter giver 3', medium: 'middel', high: 'høj', unscored: 'intet scoret' },
    parameters: {
      'respiration-rate': 'Respirationsfrekvens',
      spo2: 'SpO2',
      'air-or-oxygen': 'Luft eller ilt',
      'systolic-bp': 'Systolisk blodtryk',
      pulse: 'Puls',
      consciousness: 'Bevidsthed',
      temperature: 'Temperatur',
    },
    status: {
      scored: 'scoret',
      'not-measured': 'måles ikke hjemme',
      'no-reading': 'ingen måling',
      stale: 'målingen er for gammel',
      'taken-as-air': 'regnet som luft (ikke registreret)',
    },
  },
};

/** The quantities whose limits the clinic keeps, in the order shown, with their units (homekit LimitUnit). */
export const LimitQuantities = Object.freeze([
  ['8310-5', 'Cel'],
  ['8480-6', 'mm[Hg]'],
  ['8462-4', 'mm[Hg]'],
  ['8867-4', '/min'],
  ['59408-5', '%'],
  ['29463-7', 'kg'],
  ['14743-9', 'mmol/L'],
  ['41653-7', 'mg/dL'],
]);

/**
 * The limits form's rows as the API wants them: empty fields left out, a
 * row with neither low nor high dropped. A comma is read as the decimal
 * point; the server checks the rest (low below high, plausible ranges).
 * @param {Array<{code: string, unit: string, low: string, high: string}>} rows
 * @returns {Array<{code: string, unit: string, low?: number, high?: number}>|{bad: string}}
 */
export function limitsBody(rows) {
  const out = [];
  for (const r of rows) {
    const low = r.low.trim().replace(',', '.');
    const high = r.high.trim().replace(',', '.');
    if (!low && !high) continue;
    /** @type {{code: string, unit: string, low?: number, high?: number}} */
    const l = { code: r.code, unit: r.unit };
    for (const [k, v] of /** @type {Array<['low'|'high', string]>} */ ([['low', low], ['high', high]])) {
      if (!v) continue;
      const n = Number(v);
      if (!Number.isFinite(n)) return { bad: r.code + ' ' + k };
      l[k] = n;
    }
    out.push(l);
  }
  return out;
}
