// Package audit owns the clinic's one audit trail: who read or changed what
// about which patient, when, and from which address. The scheduler and the
// home kit append to it inside the transaction that does the work, so there
// is never a read or write without its row, nor a row for work that was
// rolled back. It is append-only: the schema refuses UPDATE, TRUNCATE and
// the DELETE of any row younger than a year, and the application deletes
// only rows older than the configured retention.
//
// The Danish Health Act (sundhedsloven §§ 42 a and 157 ff., and the "Min Log"
// service) gives patients the right to see who has looked up their data; the
// log answers that as one query. It knows nothing of users' names or roles
// beyond the text it is given, nor of HTTP.
package audit

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"time"

	"vclinic/internal/records"
)

// MinRetention is the shortest retention the log accepts, and what the
// schema itself enforces: rows younger than this cannot be deleted.
const MinRetention = 365 * 24 * time.Hour

// DefaultRetention is how long rows are kept unless configured: ten years.
const DefaultRetention = 10 * 365 * 24 * time.Hour

// Query limits.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// ErrInvalid marks a query the log cannot answer (a bad cursor, a limit out
// of range, a time range that ends before it starts) or a row it cannot
// take. The error is an *InvalidError with the reason.
var ErrInvalid = errors.New("audit: invalid")

// InvalidError says why a query or a row was refused.
type InvalidError struct{ Reason string }

func (e *InvalidError) Error() string        { return "audit: invalid: " + e.Reason }
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

func invalid(format string, args ...any) error {
	return &InvalidError{Reason: fmt.Sprintf(format, args...)}
}

// Config configures the log.
type Config struct {
	// Retention is how long rows are kept; Purge deletes older ones.
	// Default DefaultRetention, at least MinRetention.
	Retention time.Duration
	// Clock stamps the rows and decides what is old. Default time.Now.
	Clock func() time.Time
}

func (c Config) withDefaults() Config {
	if c.Retention == 0 {
		c.Retention = DefaultRetention
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	return c
}

// Validate reports a configuration the log refuses.
func (c Config) Validate() error {
	if c.Retention != 0 && c.Retention < MinRetention {
		return fmt.Errorf("audit: retention %v is shorter than the minimum of %v", c.Retention, MinRetention)
	}
	return nil
}

// Entry is one row of the log.
type Entry struct {
	ID        int64     `json:"id"`
	At        time.Time `json:"at"`
	ActorID   string    `json:"actorId"`   // user, patient or gateway id; "system"
	ActorRole string    `json:"actorRole"` // clinician, scheduler, admin, patient, gateway, system
	Action    string    `json:"action"`    // read, list, create, update, login, ...
	Entity    string    `json:"entity"`    // patient, appointment, reading, ...
	EntityID  string    `json:"entityId"`  // the record's id, "" for a list
	PatientID string    `json:"patientId"` // whose data, "" when no patient's
	Address   string    `json:"address"`   // where the request came from, "" when not known
	Detail    string    `json:"detail"`    // never holds a CPR number
}

// Log is the clinic's audit trail in the records database.
type Log struct {
	db  *records.DB
	cfg Config
	log *slog.Logger
}

// New applies the log's schema migrations and returns the log.
func New(ctx context.Context, db *records.DB, cfg Config, logger *slog.Logger) (*Log, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := db.Migrate(ctx, "audit", migrations()); err != nil {
		return nil, err
	}
	return &Log{db: db, cfg: cfg, log: logger}, nil
}

// CarryOver is the migration step by which an owner moves the rows of an
// audit table of its own, written before the clinic had one log, into the
// log: time, actor, action, entity, patient and detail as they were, no
// address. It drops the old table, and on PostgreSQL the trigger function
// (guard) that kept it append-only. The log's own migrations must have run
// first: New does that, and the owner's store takes the *Log.
func CarryOver(version int, table, guard string) records.Migration {
	return records.Migration{
		Version: version,
		Name:    "audit rows carried into the clinic's audit log",
		Common: `
INSERT INTO audit_log (at, actor_id, actor_role, action, entity, entity_id, patient_id, address, detail)
	SELECT at, actor_id, actor_role, action, entity, entity_id, patient_id, '', detail FROM ` + table + ` ORDER BY at, id;
DROP TABLE ` + table + `;
`,
		Postgres: `
DROP FUNCTION ` + guard + `();
`,
	}
}

func migrations() []records.Migration {
	return []records.Migration{{
		Version: 1,
		Name:    "one audit log",
		Common: `
CREATE TABLE audit_log (
	id         {{serial}},
	at         {{ts}} NOT NULL,
	actor_id   TEXT NOT NULL,
	actor_role TEXT NOT NULL,
	action     TEXT NOT NULL,
	entity     TEXT NOT NULL,
	entity_id  TEXT NOT NULL,
	patient_id TEXT, -- NULL when no patient's data was touched
	address    TEXT NOT NULL,
	detail     TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at, id);
CREATE INDEX audit_log_patient ON audit_log (patient_id, at, id);
CREATE INDEX audit_log_actor ON audit_log (actor_id, at, id);
`,
		// 31536000 s is MinRetention.
		SQLite: `
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_early_delete BEFORE DELETE ON audit_log
WHEN OLD.at > (CAST(strftime('%s', 'now') AS INTEGER) - 31536000) * 1000
BEGIN SELECT RAISE(ABORT, 'audit_log rows are kept at least a year'); END;
`,
		Postgres: `
CREATE FUNCTION audit_log_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'DELETE' AND OLD.at < now() - interval '365 days' THEN
		RETURN OLD;
	END IF;
	RAISE EXCEPTION 'audit_log is append-only: rows are never changed, and deleted only after a year';
END
$$;
CREATE TRIGGER audit_log_guard BEFORE UPDATE OR DELETE ON audit_log
	FOR EACH ROW EXECUTE FUNCTION audit_log_guard();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
	FOR EACH STATEMENT EXECUTE FUNCTION audit_log_guard();
`,
	}}
}

// Append adds e to the log inside tx, the transaction that does the work;
// At and ID are set by the log. Anything shaped like a CPR number is blanked
// out of Detail.
func (l *Log) Append(ctx context.Context, tx *sql.Tx, e Entry) error {
	if e.ActorID == "" || e.ActorRole == "" || e.Action == "" || e.Entity == "" {
		return invalid("an audit row needs an actor, a role, an action and an entity")
	}
	var pid any
	if e.PatientID != "" {
		pid = e.PatientID
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO audit_log (at, actor_id, actor_role, action, entity, entity_id, patient_id, address, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		l.db.Dialect().TS(l.cfg.Clock()), e.ActorID, e.ActorRole, e.Action, e.Entity, e.EntityID, pid, e.Address, RedactCPR(e.Detail))
	if err != nil {
		return fmt.Errorf("audit: append: %w", err)
	}
	return nil
}

// cprLike matches what could be a CPR number in free text: ten digits, or six
// and four with a dash or space between. Longer digit runs match too: when in
// doubt, redact.
var cprLike = regexp.MustCompile(`\d{6}[- ]?\d{4}`)

// RedactCPR blanks anything shaped like a CPR number, so that free text a
// person typed (a cancellation reason) cannot carry one into the log.
func RedactCPR(s string) string {
	return cprLike.ReplaceAllString(s, "[redacted]")
}

// Filter selects rows; each field is optional.
type Filter struct {
	PatientID string
	ActorID   string
	From      time.Time // rows at or after
	To        time.Time // rows before
	// Limit is the most rows a page holds: DefaultLimit when 0, at most
	// MaxLimit.
	Limit int
	// After is the Next of the page before, to read on from there.
	After string
}

// Page is one page of rows, newest first.
type Page struct {
	Rows []Entry `json:"rows"`
	// Next, when not "", is the cursor of the page after this one.
	Next string `json:"next"`
}

// cursor is where a page ends: the last row's time and id.
type cursor struct {
	at time.Time
	id int64
}

func (c cursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("1:%d:%d", c.at.UnixMilli(), c.id)))
}

func parseCursor(s string) (cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	parts := strings.Split(string(b), ":")
	if err != nil || len(parts) != 3 || parts[0] != "1" {
		return cursor{}, invalid("after: not a cursor this log gave")
	}
	ms, err1 := strconv.ParseInt(parts[1], 10, 64)
	id, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil || id <= 0 {
		return cursor{}, invalid("after: not a cursor this log gave")
	}
	return cursor{at: time.UnixMilli(ms).UTC(), id: id}, nil
}

// Query answers one page of the rows f selects, newest first (by time, then
// by id), read through q: the *records.DB, or a transaction that also
// records who read the log.
func (l *Log) Query(ctx context.Context, q records.Querier, f Filter) (Page, error) {
	limit := f.Limit
	switch {
	case limit == 0:
		limit = DefaultLimit
	case limit < 0 || limit > MaxLimit:
		return Page{}, invalid("limit: from 1 to %d", MaxLimit)
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return Page{}, invalid("from must be before to")
	}
	d := l.db.Dialect()
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.PatientID != "" {
		where = append(where, "patient_id = "+arg(f.PatientID))
	}
	if f.ActorID != "" {
		where = append(where, "actor_id = "+arg(f.ActorID))
	}
	if !f.From.IsZero() {
		where = append(where, "at >= "+arg(d.TS(f.From)))
	}
	if !f.To.IsZero() {
		where = append(where, "at < "+arg(d.TS(f.To)))
	}
	if f.After != "" {
		c, err := parseCursor(f.After)
		if err != nil {
			return Page{}, err
		}
		at := arg(d.TS(c.at))
		where = append(where, "(at < "+at+" OR (at = "+at+" AND id < "+arg(c.id)+"))")
	}
	query := `SELECT id, at, actor_id, actor_role, action, entity, entity_id, patient_id, address, detail FROM audit_log`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY at DESC, id DESC LIMIT " + arg(limit+1)
	page := Page{Rows: []Entry{}}
	err := records.QueryRows(ctx, q, query, args, func(r *sql.Rows) error {
		var e Entry
		var pid sql.NullString
		if err := r.Scan(&e.ID, records.Time(&e.At), &e.ActorID, &e.ActorRole, &e.Action, &e.Entity, &e.EntityID, &pid, &e.Address, &e.Detail); err != nil {
			return err
		}
		e.PatientID = pid.String
		page.Rows = append(page.Rows, e)
		return nil
	})
	if err != nil {
		return Page{}, fmt.Errorf("audit: query: %w", err)
	}
	if len(page.Rows) > limit {
		page.Rows = page.Rows[:limit]
		last := page.Rows[limit-1]
		page.Next = cursor{at: last.At, id: last.ID}.String()
	}
	return page, nil
}

// purgeBatch is how many rows one purge transaction deletes, so that a purge
// never holds the database for long.
const purgeBatch = 1000

// Purge deletes the rows older than the retention, a batch per transaction,
// and answers how many it deleted.
func (l *Log) Purge(ctx context.Context) (int64, error) {
	cutoff := l.db.Dialect().TS(l.cfg.Clock().Add(-l.cfg.Retention))
	var total int64
	for {
		var n int64
		err := l.db.InTx(ctx, "purge audit rows past retention", func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, `DELETE FROM audit_log WHERE id IN
				(SELECT id FROM audit_log WHERE at < $1 ORDER BY at, id LIMIT $2)`, cutoff, purgeBatch)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		total += n
		if err != nil {
			return total, fmt.Errorf("audit: %w", err)
		}
		if n < purgeBatch {
			return total, nil
		}
	}
}

// RunPurge purges every interval until ctx ends.
func (l *Log) RunPurge(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := l.Purge(ctx); err != nil {
			if ctx.Err() == nil {
				l.log.Warn("audit: purge failed", "err", err)
			}
		} else if n > 0 {
			l.log.Info("audit: purged rows past retention", "rows", n, "retention", l.cfg.Retention.String())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
