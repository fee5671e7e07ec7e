package scheduler

import (
	"vclinic/internal/records"
	"vclinic/internal/records/audit"
)

// The schema is written once for both dialects (see records.Dialect.DDL).
// Durations are BIGINT milliseconds, wall-clock times INTEGER minutes after
// local midnight, dates TEXT YYYY-MM-DD.

// migrations is the scheduler's schema history.
func migrations(key *CPRKey) []records.Migration {
	return []records.Migration{{
		Version: 1,
		Name:    "records",
		Common: `
CREATE TABLE users (
	id            TEXT PRIMARY KEY,
	username      TEXT NOT NULL UNIQUE,
	name          TEXT NOT NULL,
	role          TEXT NOT NULL CHECK (role IN ('clinician', 'scheduler', 'admin')),
	password_hash TEXT NOT NULL,
	created_at    {{ts}} NOT NULL
);
CREATE TABLE clinicians (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	department TEXT NOT NULL,
	zone       TEXT NOT NULL,
	user_id    TEXT REFERENCES users (id),
	created_at {{ts}} NOT NULL
);
CREATE TABLE patients (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	contact    TEXT NOT NULL,
	cpr        TEXT UNIQUE, -- NULL when not given
	created_at {{ts}} NOT NULL
);
CREATE TABLE appointment_types (
	id               TEXT PRIMARY KEY,
	name             TEXT NOT NULL,
	duration_ms      BIGINT NOT NULL,
	buffer_before_ms BIGINT NOT NULL,
	buffer_after_ms  BIGINT NOT NULL,
	min_notice_ms    BIGINT NOT NULL,
	horizon_ms       BIGINT NOT NULL,
	created_at       {{ts}} NOT NULL
);
CREATE TABLE availability_rules (
	clinician_id TEXT NOT NULL REFERENCES clinicians (id),
	weekday      INTEGER NOT NULL CHECK (weekday BETWEEN 0 AND 6),
	start_min    INTEGER NOT NULL,
	end_min      INTEGER NOT NULL,
	CHECK (0 <= start_min AND start_min < end_min AND end_min <= 1440)
);
CREATE INDEX availability_rules_clinician ON availability_rules (clinician_id);
CREATE TABLE availability_exceptions (
	id           TEXT PRIMARY KEY,
	clinician_id TEXT NOT NULL REFERENCES clinicians (id),
	day          TEXT NOT NULL, -- YYYY-MM-DD in the clinician's zone
	kind         TEXT NOT NULL CHECK (kind IN ('absence', 'extra-hours')),
	start_min    INTEGER NOT NULL,
	end_min      INTEGER NOT NULL,
	CHECK (0 <= start_min AND start_min < end_min AND end_min <= 1440)
);
CREATE INDEX availability_exceptions_clinician ON availability_exceptions (clinician_id, day);
CREATE TABLE appointments (
	id               TEXT PRIMARY KEY,
	clinician_id     TEXT NOT NULL REFERENCES clinicians (id),
	patient_id       TEXT NOT NULL REFERENCES patients (id),
	type_id          TEXT REFERENCES appointment_types (id),
	start_at         {{ts}} NOT NULL,
	end_at           {{ts}} NOT NULL,
	buffer_before_ms BIGINT NOT NULL,
	buffer_after_ms  BIGINT NOT NULL,
	occ_start        {{ts}} NOT NULL, -- start_at - buffer before
	occ_end          {{ts}} NOT NULL, -- end_at + buffer after
	status           TEXT NOT NULL CHECK (status IN ('booked', 'arrived', 'checked-in',
	                     'fulfilled', 'cancelled', 'noshow', 'entered-in-error')),
	status_reason    TEXT NOT NULL,
	sequence         INTEGER NOT NULL,
	created_at       {{ts}} NOT NULL,
	updated_at       {{ts}} NOT NULL,
	CHECK (start_at < end_at AND occ_start <= start_at AND end_at <= occ_end)
);
CREATE INDEX appointments_clinician_occ ON appointments (clinician_id, occ_start);
CREATE INDEX appointments_clinician_start ON appointments (clinician_id, start_at);
CREATE INDEX appointments_patient ON appointments (patient_id, start_at);
CREATE TABLE idempotency_keys (
	actor_id       TEXT NOT NULL,
	idem_key       TEXT NOT NULL,
	request_hash   TEXT NOT NULL,
	appointment_id TEXT NOT NULL REFERENCES appointments (id),
	created_at     {{ts}} NOT NULL,
	PRIMARY KEY (actor_id, idem_key)
);
CREATE TABLE audit (
	id         {{serial}},
	at         {{ts}} NOT NULL,
	actor_id   TEXT NOT NULL,
	actor_role TEXT NOT NULL,
	action     TEXT NOT NULL,
	entity     TEXT NOT NULL,
	entity_id  TEXT NOT NULL,
	patient_id TEXT, -- NULL when no patient's data was touched
	detail     TEXT NOT NULL
);
CREATE INDEX audit_patient ON audit (patient_id, id);
`,
		SQLite: `
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
`,
		Postgres: `
CREATE EXTENSION IF NOT EXISTS btree_gist;
-- The backstop of the per-clinician advisory lock: two occupying appointments
-- of one clinician never overlap, buffers included.
ALTER TABLE appointments ADD CONSTRAINT appointments_no_overlap
	EXCLUDE USING gist (clinician_id WITH =, tstzrange(occ_start, occ_end, '[)') WITH &&)
	WHERE (status NOT IN ('cancelled', 'entered-in-error'));
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'audit is append-only';
END
$$;
CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit
	FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
	FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
`,
	}, {
		Version: 2,
		Name:    "idempotency keys by age",
		// PurgeIdempotencyKeys deletes the oldest keys first, a batch at a
		// time.
		Common: `
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
`,
	},
		// The clinic keeps one audit log (package audit).
		audit.CarryOver(3, "audit", "audit_append_only"),
		{
			Version: 4,
			Name:    "sessions, sign-in throttling, disabled users",
			Common: `
-- A disabled user cannot sign in, and their sessions end.
ALTER TABLE users ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT false;
-- Tokens of the user issued before this no longer work (sign out
-- everywhere, a new password); NULL when never.
ALTER TABLE users ADD COLUMN signed_out_at {{ts}};
-- Failed sign-ins by the name tried, known or not, so that a lock says
-- nothing of whether the name exists.
CREATE TABLE login_failures (
	username     TEXT PRIMARY KEY,
	failures     INTEGER NOT NULL,
	locked_until {{ts}},
	last_at      {{ts}} NOT NULL
);
CREATE TABLE sessions (
	id           TEXT PRIMARY KEY,
	user_id      TEXT NOT NULL REFERENCES users (id),
	created_at   {{ts}} NOT NULL,
	last_seen_at {{ts}} NOT NULL,
	expires_at   {{ts}} NOT NULL,
	revoked_at   {{ts}},
	address      TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);
`,
		},
		{
			Version: 5,
			Name:    "care relations: care teams and breaking the glass",
			Common: `
-- Clinicians an admin has assigned to a patient's care, beyond those who
-- have an appointment with them.
CREATE TABLE care_team (
	patient_id  TEXT NOT NULL REFERENCES patients (id),
	user_id     TEXT NOT NULL REFERENCES users (id),
	assigned_by TEXT NOT NULL,
	assigned_at {{ts}} NOT NULL,
	PRIMARY KEY (patient_id, user_id)
);
-- A clinician without a care relation who opened a patient's data, with
-- the reason they gave, for admins to review.
CREATE TABLE break_glass (
	id         TEXT PRIMARY KEY,
	patient_id TEXT NOT NULL REFERENCES patients (id),
	user_id    TEXT NOT NULL REFERENCES users (id),
	reason     TEXT NOT NULL,
	opened_at  {{ts}} NOT NULL,
	until_at   {{ts}} NOT NULL
);
CREATE INDEX break_glass_user ON break_glass (user_id, patient_id, until_at);
CREATE INDEX break_glass_opened ON break_glass (opened_at);
`,
		},
		{
			Version: 6,
			Name:    "CPR numbers encrypted at rest",
			Common: `
-- The keyed hash of the number (CPRKey): finds a patient by it and keeps
-- numbers unique; cpr holds the number encrypted.
ALTER TABLE patients ADD COLUMN cpr_index TEXT;
CREATE UNIQUE INDEX patients_cpr_index ON patients (cpr_index);
`,
			Data: encryptCPRs(key),
		},
		{
			Version: 7,
			Name:    "staff sign-in through the region's identity provider",
			Common: `
-- A member of staff's work e-mail, which matches them to the identity
-- provider's account on their first sign-in there; lower case.
ALTER TABLE users ADD COLUMN email TEXT;
CREATE UNIQUE INDEX users_email ON users (email);
-- The identity provider's issuer and subject (OpenID Connect Core 1.0
-- §2: unique together, never reassigned) once the user is matched.
ALTER TABLE users ADD COLUMN oidc_issuer TEXT;
ALTER TABLE users ADD COLUMN oidc_subject TEXT;
CREATE UNIQUE INDEX users_oidc ON users (oidc_issuer, oidc_subject);
-- Sign-ins sent to the identity provider and not yet back: any node may
-- take the callback, and each state is used once.
CREATE TABLE oidc_logins (
	state_hash TEXT PRIMARY KEY,
	nonce      TEXT NOT NULL,
	verifier   TEXT NOT NULL,
	next       TEXT NOT NULL,
	expires_at {{ts}} NOT NULL
);
CREATE INDEX oidc_logins_expires ON oidc_logins (expires_at);
`,
		},
		{
			Version: 8,
			Name:    "connection quality of visits",
			Common: `
-- Each session of a visit's participants: its connection quality as
-- package callquality keeps it (JSON, histograms, no health data),
-- replaced by each later checkpoint of the same session.
CREATE TABLE visit_quality (
	appointment_id TEXT NOT NULL REFERENCES appointments (id),
	participant_id TEXT NOT NULL,
	role           TEXT NOT NULL,
	record         TEXT NOT NULL,
	updated_at     {{ts}} NOT NULL,
	PRIMARY KEY (appointment_id, participant_id)
);
`,
		},
		{
			Version: 9,
			Name:    "the clinic's settings and appointment types",
			Common: `
-- An appointment type's names in Danish and English (name keeps the
-- English, else the Danish), the measurements (LOINC codes, comma-
-- separated) it expects before the visit, and whether it is retired:
-- offered for no new booking. horizon_ms 0 is the clinic's horizon.
ALTER TABLE appointment_types ADD COLUMN name_da TEXT NOT NULL DEFAULT '';
ALTER TABLE appointment_types ADD COLUMN name_en TEXT NOT NULL DEFAULT '';
ALTER TABLE appointment_types ADD COLUMN expected TEXT NOT NULL DEFAULT '';
ALTER TABLE appointment_types ADD COLUMN retired BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE appointment_types ADD COLUMN updated_at {{ts}};
UPDATE appointment_types SET name_en = name;
-- The clinic's settings (Settings, as JSON): one row.
CREATE TABLE clinic_settings (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	doc        TEXT NOT NULL,
	version    INTEGER NOT NULL,
	updated_at {{ts}} NOT NULL
);
`,
		},
		{
			Version: 10,
			Name:    "patients' e-mail, telephone number, way of contact and language",
			Common: `
-- How the clinic reaches a patient: e-mail (as written), telephone number
-- (E.164), which of them invitations and reminders use (email, sms, both,
-- none), and the language the patient reads (da, en, or '' for the
-- clinic's). contact keeps the free text it was taken from.
ALTER TABLE patients ADD COLUMN email TEXT NOT NULL DEFAULT '';
ALTER TABLE patients ADD COLUMN phone TEXT NOT NULL DEFAULT '';
ALTER TABLE patients ADD COLUMN contact_by TEXT NOT NULL DEFAULT 'none'
	CHECK (contact_by IN ('email', 'sms', 'both', 'none'));
ALTER TABLE patients ADD COLUMN language TEXT NOT NULL DEFAULT '';
`,
			Data: splitContacts,
		},
		{
			Version: 11,
			Name:    "messages to patients, and reminders sent",
			Common: `
-- The outbox and record of messages to patients: queued in the
-- transaction that books, moves or cancels, sent by any node. body has
-- [link] where the invitation link goes (a credential, never stored).
CREATE TABLE messages (
	id             TEXT PRIMARY KEY,
	appointment_id TEXT NOT NULL REFERENCES appointments (id),
	patient_id     TEXT NOT NULL REFERENCES patients (id),
	kind           TEXT NOT NULL CHECK (kind IN ('invitation', 'reminder', 'moved', 'cancellation')),
	channel        TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
	address        TEXT NOT NULL,
	language       TEXT NOT NULL,
	subject        TEXT NOT NULL,
	body           TEXT NOT NULL,
	sequence       INTEGER NOT NULL,
	state          TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'failed', 'delivered')),
	detail         TEXT NOT NULL,
	attempts       INTEGER NOT NULL,
	created_at     {{ts}} NOT NULL,
	updated_at     {{ts}} NOT NULL,
	next_at        {{ts}} NOT NULL
);
CREATE INDEX messages_appointment ON messages (appointment_id, created_at);
CREATE INDEX messages_due ON messages (state, next_at);
-- The booked visits ahead, which reminders look through.
CREATE INDEX appointments_booked_start ON appointments (start_at) WHERE status = 'booked';
-- Each reminder of a visit, claimed once by the node that queues it: the
-- visit's start is part of the key, so a visit that moves is reminded
-- again.
CREATE TABLE reminders (
	appointment_id TEXT NOT NULL REFERENCES appointments (id),
	offset_ms      BIGINT NOT NULL,
	start_at       {{ts}} NOT NULL,
	claimed_at     {{ts}} NOT NULL,
	PRIMARY KEY (appointment_id, offset_ms, start_at)
);
`,
		},
		{
			Version: 12,
			Name:    "patients' replies to their invitations",
			Common: `
-- A patient's word on a visit without calling: they cannot come, or ask
-- for another time; once of each kind per visit.
CREATE TABLE replies (
	id             TEXT PRIMARY KEY,
	appointment_id TEXT NOT NULL REFERENCES appointments (id),
	patient_id     TEXT NOT NULL REFERENCES patients (id),
	kind           TEXT NOT NULL CHECK (kind IN ('cannot-come', 'new-time')),
	text           TEXT NOT NULL,
	created_at     {{ts}} NOT NULL,
	UNIQUE (appointment_id, kind)
);
`,
		},
		{
			Version: 13,
			Name:    "the chat of a visit",
			Common: `
-- What patient, clinician and guests wrote in a visit, as part of its
-- record: numbered 1, 2, 3 ... per visit in the order filed; a sender's
-- page names each message (client_id) so that one sent twice after a
-- reconnect is kept once.
CREATE TABLE visit_chat (
	id             TEXT PRIMARY KEY,
	appointment_id TEXT NOT NULL REFERENCES appointments (id),
	seq            INTEGER NOT NULL,
	sender_id      TEXT NOT NULL,
	sender_role    TEXT NOT NULL,
	sender_name    TEXT NOT NULL,
	client_id      TEXT NOT NULL,
	text           TEXT NOT NULL,
	phrase         TEXT NOT NULL DEFAULT '',
	created_at     {{ts}} NOT NULL,
	UNIQUE (appointment_id, seq),
	UNIQUE (appointment_id, sender_id, sender_role, client_id)
);
`,
		},
		{
			Version: 14,
			Name:    "invitations to a relative or an interpreter by e-mail or SMS",
			Common: `
-- A message to someone the patient brings along (a relative, an
-- interpreter): its link is minted for that guest, by role and name, when
-- it is sent. Empty for messages to the patient.
ALTER TABLE messages ADD COLUMN guest_role TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN guest_name TEXT NOT NULL DEFAULT '';
`,
		},
		{
			Version: 15,
			Name:    "appointments' status history, for the clinic's review statistics",
			Common: `
-- Each change of an appointment's status, written in the transaction that
-- makes it: booked, moved (a new time, still booked), arrived (in the
-- waiting room), checked-in (admitted), fulfilled (ended), cancelled,
-- noshow, entered-in-error, and booked again when a patient leaves the
-- waiting room before admission. by_id and by_role are the actor.
CREATE TABLE appointment_history (
	id             {{serial}},
	appointment_id TEXT NOT NULL REFERENCES appointments (id),
	status         TEXT NOT NULL CHECK (status IN ('booked', 'moved', 'arrived', 'checked-in',
	                   'fulfilled', 'cancelled', 'noshow', 'entered-in-error')),
	at             {{ts}} NOT NULL,
	by_id          TEXT NOT NULL,
	by_role        TEXT NOT NULL
);
CREATE INDEX appointment_history_appointment ON appointment_history (appointment_id, at);
-- The statistics read visits by start across all clinicians.
CREATE INDEX appointments_start ON appointments (start_at);
-- What is known of the appointments kept before: booked when created,
-- and the status they stand in when it last changed.
INSERT INTO appointment_history (appointment_id, status, at, by_id, by_role)
	SELECT id, 'booked', created_at, 'system', 'system' FROM appointments;
INSERT INTO appointment_history (appointment_id, status, at, by_id, by_role)
	SELECT id, status, updated_at, 'system', 'system' FROM appointments WHERE status <> 'booked';
`,
		},
		{
			Version: 16,
			Name:    "patients' pre-visit checks",
			Common: `
-- The patient's check of camera, microphone, speaker and connection before
-- a visit, one row per run (run_id, made by the page, so that a result
-- sent twice is stored once); the newest is the one staff see. Verdicts
-- per part: pass, warn, fail, skipped; transports also not-configured.
CREATE TABLE visit_checks (
	id             TEXT PRIMARY KEY,
	appointment_id TEXT NOT NULL REFERENCES appointments (id),
	patient_id     TEXT NOT NULL REFERENCES patients (id),
	run_id         TEXT NOT NULL,
	camera         TEXT NOT NULL,
	microphone     TEXT NOT NULL,
	speaker        TEXT NOT NULL,
	udp            TEXT NOT NULL,
	tcp            TEXT NOT NULL,
	relay          TEXT NOT NULL,
	down_kbps      INTEGER NOT NULL,
	up_kbps        INTEGER NOT NULL,
	verdict        TEXT NOT NULL CHECK (verdict IN ('ready', 'audio-only', 'no-connection')),
	duration_ms    INTEGER NOT NULL,
	summary        TEXT NOT NULL,
	created_at     {{ts}} NOT NULL,
	UNIQUE (appointment_id, run_id)
);
CREATE INDEX visit_checks_appointment ON visit_checks (appointment_id, created_at);
`,
		},
		{
			Version: 17,
			Name:    "a visit's first arrival, admission and end on the appointment",
			Common: `
-- The first arrival in the waiting room, admission and end of each visit,
-- kept on the appointment as its status history is written, so that the
-- review statistics read one row per visit instead of grouping the history.
ALTER TABLE appointments ADD COLUMN arrived_at {{ts}};
ALTER TABLE appointments ADD COLUMN admitted_at {{ts}};
ALTER TABLE appointments ADD COLUMN ended_at {{ts}};
UPDATE appointments SET
	arrived_at = (SELECT MIN(h.at) FROM appointment_history h WHERE h.appointment_id = appointments.id AND h.status = 'arrived'),
	admitted_at = (SELECT MIN(h.at) FROM appointment_history h WHERE h.appointment_id = appointments.id AND h.status = 'checked-in'),
	ended_at = (SELECT MIN(h.at) FROM appointment_history h WHERE h.appointment_id = appointments.id AND h.status = 'fulfilled');
`,
		},
		{
			Version: 18,
			Name:    "guests let into a visit",
			Common: `
-- The guests (a relative, an interpreter) the clinician admitted into a
-- visit, by the role and subject of their link ("relative|relative-…"):
-- each waits once, and comes back without waiting on whichever node hosts
-- the visit then. No name: the link's subject is a random id.
CREATE TABLE visit_guests_let (
	appointment_id TEXT NOT NULL REFERENCES appointments (id),
	guest          TEXT NOT NULL,
	let_by         TEXT NOT NULL,
	let_at         {{ts}} NOT NULL,
	PRIMARY KEY (appointment_id, guest)
);
`,
		},
	}
}
