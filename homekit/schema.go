package homekit

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// The schema is written once; a few tokens differ by dialect:
//
//	{{ts}}      an instant: timestamptz on PostgreSQL; INTEGER milliseconds
//	            since the Unix epoch, UTC, on SQLite
//	{{serial}}  an increasing integer primary key
//	{{bytes}}   raw bytes: bytea on PostgreSQL, BLOB on SQLite
//
// Placeholders are $1, $2, ... in both dialects. Every table is named
// homekit_*: other packages keep their tables in the same database, and the
// store never reads or writes theirs (patient and appointment ids are plain
// text here, without foreign keys into the scheduler's tables).
func (d dialect) ddl(s string) string {
	if d == dialectPostgres {
		return strings.NewReplacer(
			"{{ts}}", "timestamptz",
			"{{serial}}", "bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
			"{{bytes}}", "bytea",
		).Replace(s)
	}
	return strings.NewReplacer(
		"{{ts}}", "INTEGER",
		"{{serial}}", "INTEGER PRIMARY KEY AUTOINCREMENT",
		"{{bytes}}", "BLOB",
	).Replace(s)
}

// migration is one numbered step of the schema. Versions only grow; a step,
// once released, never changes.
type migration struct {
	version  int
	name     string
	common   string // both dialects, after token replacement
	sqlite   string // SQLite only, after common
	postgres string // PostgreSQL only, after common
}

// migrations is the homekit schema history.
func migrations() []migration {
	return []migration{{
		version: 1,
		name:    "kits and readings",
		common: `
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
		sqlite: `
CREATE TRIGGER homekit_audit_no_update BEFORE UPDATE ON homekit_audit
BEGIN SELECT RAISE(ABORT, 'homekit_audit is append-only'); END;
CREATE TRIGGER homekit_audit_no_delete BEFORE DELETE ON homekit_audit
BEGIN SELECT RAISE(ABORT, 'homekit_audit is append-only'); END;
`,
		postgres: `
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
		version: 2,
		name:    "how the edge identified a reading's device",
		common: `
-- What the edge matched the kit entry by; NULL when it did not say.
ALTER TABLE homekit_readings ADD COLUMN identified_by TEXT
	CHECK (identified_by IN ('bluetooth-address', 'system-id', 'serial', 'web-bluetooth-id', 'type'));
-- What the edge read from the device (DeviceInfo as JSON); NULL when nothing.
ALTER TABLE homekit_readings ADD COLUMN device_info TEXT;
`,
	}}
}

// migrationsTable records the applied steps of this package's schema.
const migrationsTable = "homekit_schema_migrations"

// migrationLock is the advisory lock key under which PostgreSQL nodes that
// start together apply migrations one at a time ("vchomek" in ASCII).
const migrationLock = 0x7663686f6d656b00

// migrate applies, in order and each in its own transaction, the migrations
// the database lacks.
func (s *Store) migrate(ctx context.Context) error {
	for _, m := range migrations() {
		var applied bool
		err := s.inTx(ctx, fmt.Sprintf("migration %d (%s)", m.version, m.name), func(tx *sql.Tx) error {
			applied = false
			if s.dialect == dialectPostgres {
				if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLock)); err != nil {
					return err
				}
			}
			create := s.dialect.ddl(`CREATE TABLE IF NOT EXISTS ` + migrationsTable + ` (
				version    INTEGER PRIMARY KEY,
				name       TEXT NOT NULL,
				applied_at {{ts}} NOT NULL)`)
			if _, err := tx.ExecContext(ctx, create); err != nil {
				return err
			}
			var n int
			err := tx.QueryRowContext(ctx, `SELECT count(*) FROM `+migrationsTable+` WHERE version = $1`, m.version).Scan(&n)
			if err != nil || n > 0 {
				return err
			}
			ddl := m.common + m.sqlite
			if s.dialect == dialectPostgres {
				ddl = m.common + m.postgres
			}
			if _, err := tx.ExecContext(ctx, s.dialect.ddl(ddl)); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO `+migrationsTable+` (version, name, applied_at) VALUES ($1, $2, $3)`,
				m.version, m.name, s.ts(s.now()))
			applied = err == nil
			return err
		})
		if err != nil {
			return err
		}
		if applied {
			s.log.Info("homekit store: applied migration", "version", m.version, "name", m.name, "db", s.Dialect())
		}
	}
	return nil
}
