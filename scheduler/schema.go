package scheduler

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
//
// Durations are BIGINT milliseconds, wall-clock times INTEGER minutes after
// local midnight, dates TEXT YYYY-MM-DD. Placeholders are $1, $2, ... in
// both dialects (modernc.org/sqlite binds $N to the N-th argument).
func (d dialect) ddl(s string) string {
	if d == dialectPostgres {
		return strings.NewReplacer(
			"{{ts}}", "timestamptz",
			"{{serial}}", "bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
		).Replace(s)
	}
	return strings.NewReplacer(
		"{{ts}}", "INTEGER",
		"{{serial}}", "INTEGER PRIMARY KEY AUTOINCREMENT",
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

// migrations is the scheduler's schema history.
func migrations() []migration {
	return []migration{{
		version: 1,
		name:    "records",
		common: `
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
		sqlite: `
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
`,
		postgres: `
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
		version: 2,
		name:    "idempotency keys by age",
		// PurgeIdempotencyKeys deletes the oldest keys first, a batch at a
		// time.
		common: `
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
`,
	}}
}

// migrationsTable records the applied steps. It is named after the package
// because other packages keep their own tables, and their own history, in the
// same database.
const migrationsTable = "scheduler_schema_migrations"

// migrationLock is the advisory lock key under which PostgreSQL nodes that
// start together apply migrations one at a time ("vcsched" in ASCII).
const migrationLock = 0x7663736368656400

// migrate applies, in order and each in its own transaction, the migrations
// the database lacks.
func (s *Store) migrate(ctx context.Context) error {
	for _, m := range migrations() {
		var applied bool
		err := s.inTx(ctx, fmt.Sprintf("migration %d (%s)", m.version, m.name), func(tx *sql.Tx) error {
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
			s.log.Info("scheduler store: applied migration", "version", m.version, "name", m.name, "db", s.Dialect())
		}
	}
	return nil
}
