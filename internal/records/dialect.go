package records

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Dialect is the database a DB speaks to.
type Dialect int

// The dialects.
const (
	SQLite Dialect = iota
	Postgres
)

// String names the dialect: "sqlite" or "postgres".
func (d Dialect) String() string {
	if d == Postgres {
		return "postgres"
	}
	return "sqlite"
}

// DDL replaces the tokens in a schema written once for both dialects:
//
//	{{ts}}      an instant: timestamptz on PostgreSQL; INTEGER milliseconds
//	            since the Unix epoch, UTC, on SQLite
//	{{serial}}  an increasing integer primary key
//	{{bytes}}   raw bytes: bytea on PostgreSQL, BLOB on SQLite
//
// Placeholders are $1, $2, ... in both dialects (modernc.org/sqlite binds $N
// to the N-th argument).
func (d Dialect) DDL(s string) string {
	if d == Postgres {
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

// TS converts an instant to the value of a {{ts}} column: a time.Time on
// PostgreSQL, INTEGER milliseconds since the Unix epoch (UTC) on SQLite.
func (d Dialect) TS(t time.Time) any {
	t = Instant(t)
	if d == Postgres {
		return t
	}
	return t.UnixMilli()
}

// ForUpdate is the row-locking suffix of a SELECT in a read-write
// transaction: " FOR UPDATE" on PostgreSQL; SQLite needs none, its write
// transactions hold the database's write lock.
func (d Dialect) ForUpdate() string {
	if d == Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// Instant is the form in which records keep times: UTC, whole milliseconds.
func Instant(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

// Time scans a {{ts}} column into *t, in either dialect.
func Time(t *time.Time) sql.Scanner { return timeScan{t} }

type timeScan struct{ t *time.Time }

func (d timeScan) Scan(v any) error {
	switch x := v.(type) {
	case int64:
		*d.t = time.UnixMilli(x).UTC()
	case time.Time:
		*d.t = x.UTC()
	default:
		return fmt.Errorf("timestamp column holds %T", v)
	}
	return nil
}

// NullTime scans a {{ts}} column that may be NULL into *t (the zero time
// for NULL).
func NullTime(t *time.Time) sql.Scanner { return nullTimeScan{t} }

type nullTimeScan struct{ t *time.Time }

func (d nullTimeScan) Scan(v any) error {
	if v == nil {
		*d.t = time.Time{}
		return nil
	}
	return timeScan(d).Scan(v)
}

// Querier is what reads need: a *DB, or a *sql.Tx inside InTx.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// QueryRows runs query on q and calls scan for each row.
func QueryRows(ctx context.Context, q Querier, query string, args []any, scan func(*sql.Rows) error) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
