// When the clinician's day list reloads. The console asks every PollMs who is
// waiting (GET /api/v1/clinicians/{id}/presence, DayPresence in
// scheduler/openapi.json: no patient data, so nothing for the audit log) and
// updates the rows it shows from that. It loads the full day list, whose
// every read is in the audit log, only when presence says the list changed
// (another version), when the day shown changes, at most FullEveryMs after
// the last load otherwise, and when the user asks. A patient who starts
// waiting shows at the next poll either way. Pure functions, no page.

/** How often the console asks who is waiting. */
export const PollMs = 5000;

/** The longest the full list goes without a reload while nothing changes. */
export const FullEveryMs = 5 * 60 * 1000;

/**
 * @typedef {object} PresenceEntry
 * @property {string} status FHIR Appointment.status
 * @property {number} waiting guests in the waiting room now
 * @property {number} inCall participants in the call now
 */

/**
 * @typedef {object} Presence
 * @property {string} version changes whenever the day list would
 * @property {Map<string, PresenceEntry>} byId by appointment id
 */

/**
 * @typedef {object} Loaded what the full list on screen was loaded for
 * @property {string} from the start of the range asked (RFC 3339)
 * @property {string} version the presence version read just before the load
 * @property {number} at when it was loaded, ms since the epoch
 */

/**
 * Reads the presence answer; null when it is not one (then the console loads
 * the full list, as it would without presence).
 * @param {unknown} json
 * @returns {Presence|null}
 */
export function normalizePresence(json) {
  const p = /** @type {any} */ (json);
  if (!p || typeof p.version !== 'string' || !p.version || !Array.isArray(p.appointments)) return null;
  /** @type {Map<string, PresenceEntry>} */
  const byId = new Map();
  for (const e of p.appointments) {
    if (!e || typeof e.appointmentId !== 'string' || !e.appointmentId) return null;
    byId.set(e.appointmentId, {
      status: typeof e.status === 'string' ? e.status : '',
      waiting: Math.max(0, Number(e.waiting) || 0),
      inCall: Math.max(0, Number(e.inCall) || 0),
    });
  }
  return { version: p.version, byId };
}

/**
 * Whether the console must load the full day list now rather than update the
 * one on screen from presence.
 * @param {Loaded|null} loaded null when nothing (or another day) is on screen
 * @param {string} from the start of the range shown now
 * @param {Presence|null} presence null when it could not be read
 * @param {number} now ms since the epoch
 * @param {number} [everyMs] the longest between two loads
 * @returns {boolean}
 */
export function mustReload(loaded, from, presence, now, everyMs = FullEveryMs) {
  if (!loaded || !presence) return true;
  if (loaded.from !== from || loaded.version !== presence.version) return true;
  // A clock set back counts as time gone by.
  return now - loaded.at >= everyMs || now < loaded.at;
}

/**
 * The entries on screen with presence's counts and statuses; null when
 * presence does not name the same appointments (then reload).
 * @template {{appointment: {id: string, status: string}, waiting: number, inCall: number}} E
 * @param {E[]} entries
 * @param {Presence} presence
 * @returns {E[]|null}
 */
export function withPresence(entries, presence) {
  if (entries.length !== presence.byId.size) return null;
  /** @type {E[]} */
  const out = [];
  for (const e of entries) {
    const p = presence.byId.get(e.appointment.id);
    if (!p) return null;
    const appointment = p.status && p.status !== e.appointment.status ? { ...e.appointment, status: p.status } : e.appointment;
    out.push({ ...e, appointment, waiting: p.waiting, inCall: p.inCall });
  }
  return out;
}
