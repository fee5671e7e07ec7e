package homekit

import (
	"vclinic/internal/records"
	"vclinic/internal/records/audit"
)

// The schema is written once for both dialects (see records.Dialect.DDL).
// Every table is named homekit_*: other parts keep their tables in the same
// database, and the store never reads or writes theirs (patient and
// appointment ids are plain text here, without foreign keys into the
// scheduler's tables).

// migrations is the homekit schema history.
func migrations() []records.Migration {
	return []records.Migration{{
		Version: 1,
		Name:    "kits and readings",
		Common: `
CREATE TABLE homekit_devices (
	id            TEXT PRIMARY KEY,
	patient_id    TEXT NOT NULL,
	type          TEXT NOT NULL CHECK (type IN ('thermometer', 'blood-pressure', 'pulse-oximeter',
	                  'scale', 'glucose-meter', 'heart-rate')),
	model         TEXT NOT NULL,
	address       TEXT NOT NULL, -- Bluetooth address, system id, Web Bluetooth id or serial
	identified_by TEXT NOT NULL CHECK (identified_by IN ('bluetooth-address', 'system-id',
	                  'web-bluetooth-id', 'serial')),
	label         TEXT NOT NULL,
	created_at    {{ts}} NOT NULL
);
CREATE INDEX homekit_devices_patient ON homekit_devices (patient_id);
CREATE TABLE homekit_gateways (
	id         TEXT PRIMARY KEY,
	patient_id TEXT NOT NULL,
	label      TEXT NOT NULL,
	created_at {{ts}} NOT NULL
);
CREATE TABLE homekit_expected (
	appointment_id TEXT NOT NULL,
	patient_id     TEXT NOT NULL,
	code           TEXT NOT NULL, -- LOINC
	PRIMARY KEY (appointment_id, code)
);
CREATE TABLE homekit_readings (
	id              TEXT PRIMARY KEY,
	patient_id      TEXT NOT NULL,
	source          TEXT NOT NULL CHECK (source IN ('device', 'patient-entered')),
	device_id       TEXT REFERENCES homekit_devices (id), -- NULL when patient-entered
	gateway_id      TEXT,    -- the gateway that forwarded it, if any
	submitted_by    TEXT NOT NULL, -- the token's subject
	characteristic  INTEGER, -- 16-bit GATT UUID; NULL when patient-entered
	raw             {{bytes}}, -- the value as the device sent it
	decoder_version INTEGER,
	seq             BIGINT,  -- the edge's number for the reading, if it numbers them
	observed_at     {{ts}} NOT NULL, -- when the edge received it (the edge's clock)
	received_at     {{ts}} NOT NULL, -- when the server stored it
	device_time     TEXT,    -- the device's own clock, no zone, as it sent it
	appointment_id  TEXT,    -- the consultation it was taken during
	flags           TEXT NOT NULL, -- comma-separated: implausible, device-clock-not-set
	CHECK ((source = 'device') = (device_id IS NOT NULL AND characteristic IS NOT NULL
	       AND raw IS NOT NULL AND decoder_version IS NOT NULL))
);
-- Idempotency: the edge's sequence number when it sends one, else the bytes
-- and the edge's time.
CREATE UNIQUE INDEX homekit_readings_seq ON homekit_readings (device_id, characteristic, seq)
	WHERE seq IS NOT NULL;
CREATE UNIQUE INDEX homekit_readings_raw ON homekit_readings (device_id, characteristic, raw, observed_at)
	WHERE seq IS NULL;
CREATE INDEX homekit_readings_patient ON homekit_readings (patient_id, observed_at);
CREATE TABLE homekit_measurements (
	reading_id  TEXT NOT NULL REFERENCES homekit_readings (id),
	idx         INTEGER NOT NULL,
	code        TEXT NOT NULL,  -- LOINC
	mdc         BIGINT NOT NULL, -- IEEE 11073-10101, 0 when none
	value       TEXT,           -- with the device's decimals; NULL for a special value
	unit        TEXT NOT NULL,  -- UCUM
	absent      TEXT NOT NULL,  -- FHIR dataAbsentReason code, '' when there is a value
	implausible BOOLEAN NOT NULL,
	implausible_reason TEXT NOT NULL,
	PRIMARY KEY (reading_id, idx)
);
CREATE INDEX homekit_measurements_code ON homekit_measurements (code, reading_id);
CREATE TABLE homekit_audit (
	id         {{serial}},
	at         {{ts}} NOT NULL,
	actor_id   TEXT NOT NULL,
	actor_role TEXT NOT NULL,
	action     TEXT NOT NULL,
	entity     TEXT NOT NULL,
	entity_id  TEXT NOT NULL,
	patient_id TEXT,
	detail     TEXT NOT NULL
);
CREATE INDEX homekit_audit_patient ON homekit_audit (patient_id, id);
`,
		SQLite: `
CREATE TRIGGER homekit_audit_no_update BEFORE UPDATE ON homekit_audit
BEGIN SELECT RAISE(ABORT, 'homekit_audit is append-only'); END;
CREATE TRIGGER homekit_audit_no_delete BEFORE DELETE ON homekit_audit
BEGIN SELECT RAISE(ABORT, 'homekit_audit is append-only'); END;
`,
		Postgres: `
CREATE FUNCTION homekit_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'homekit_audit is append-only';
END
$$;
CREATE TRIGGER homekit_audit_no_change BEFORE UPDATE OR DELETE ON homekit_audit
	FOR EACH ROW EXECUTE FUNCTION homekit_audit_append_only();
CREATE TRIGGER homekit_audit_no_truncate BEFORE TRUNCATE ON homekit_audit
	FOR EACH STATEMENT EXECUTE FUNCTION homekit_audit_append_only();
`,
	}, {
		Version: 2,
		Name:    "how the edge identified a reading's device",
		Common: `
-- What the edge matched the kit entry by; NULL when it did not say.
ALTER TABLE homekit_readings ADD COLUMN identified_by TEXT
	CHECK (identified_by IN ('bluetooth-address', 'system-id', 'serial', 'web-bluetooth-id', 'type'));
-- What the edge read from the device (DeviceInfo as JSON); NULL when nothing.
ALTER TABLE homekit_readings ADD COLUMN device_info TEXT;
`,
	},
		// The clinic keeps one audit log (package audit).
		audit.CarryOver(3, "homekit_audit", "homekit_audit_append_only"),
		{
			Version: 4,
			Name:    "each home gateway's own credential",
			Common: `
-- Hashes only (SHA-256 of random secrets): the credential the gateway
-- holds, and a pending pairing code it trades once for one.
ALTER TABLE homekit_gateways ADD COLUMN secret_hash TEXT;
ALTER TABLE homekit_gateways ADD COLUMN pairing_hash TEXT;
ALTER TABLE homekit_gateways ADD COLUMN pairing_until {{ts}};
ALTER TABLE homekit_gateways ADD COLUMN paired_at {{ts}};
ALTER TABLE homekit_gateways ADD COLUMN last_used_at {{ts}};
ALTER TABLE homekit_gateways ADD COLUMN revoked_at {{ts}};
CREATE UNIQUE INDEX homekit_gateways_secret ON homekit_gateways (secret_hash);
CREATE UNIQUE INDEX homekit_gateways_pairing ON homekit_gateways (pairing_hash);
`,
		},
		{
			Version: 5,
			Name:    "per-patient limits, flags outside them and their acknowledgement",
			Common: `
-- A patient's watch (limits per quantity and the NEWS2 facts), or an
-- appointment type's default one (limits.go). limits is a JSON array of
-- {code, unit, low, high}, read and written whole with its version.
CREATE TABLE homekit_watch (
	owner       TEXT NOT NULL CHECK (owner IN ('patient', 'appointment-type')),
	owner_id    TEXT NOT NULL,
	limits      TEXT NOT NULL,
	spo2_scale  INTEGER NOT NULL CHECK (spo2_scale IN (1, 2)),
	on_oxygen   BOOLEAN NOT NULL,
	version     INTEGER NOT NULL,
	updated_at  {{ts}} NOT NULL,
	updated_by  TEXT NOT NULL,
	seeded_from TEXT, -- the appointment type the patient's was first taken from
	PRIMARY KEY (owner, owner_id)
);
-- How each value stood against the limits in force when it was stored.
ALTER TABLE homekit_measurements ADD COLUMN outside TEXT NOT NULL DEFAULT ''
	CHECK (outside IN ('', 'below', 'above'));
ALTER TABLE homekit_measurements ADD COLUMN limit_low TEXT;
ALTER TABLE homekit_measurements ADD COLUMN limit_high TEXT;
-- A clinician's acknowledgement ("kvittering") of a flagged reading: once.
CREATE TABLE homekit_acknowledgements (
	reading_id TEXT PRIMARY KEY REFERENCES homekit_readings (id),
	patient_id TEXT NOT NULL,
	by_id      TEXT NOT NULL,
	by_role    TEXT NOT NULL,
	by_name    TEXT NOT NULL,
	at         {{ts}} NOT NULL,
	note       TEXT NOT NULL
);
`,
		},
	}
}
