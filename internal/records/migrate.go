package records

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"
)

// Migration is one numbered step of an owner's schema. Versions start at 1
// and grow by one; a step, once released, never changes.
type Migration struct {
	Version  int
	Name     string
	Common   string // both dialects, after DDL's token replacement
	SQLite   string // SQLite only, after Common
	Postgres string // PostgreSQL only, after Common
	// Data, when set, runs after the DDL in the same transaction, for steps
	// that move rows rather than only change the schema.
	Data func(ctx context.Context, tx *sql.Tx, d Dialect) error
}

// ownerName is what an owner may be called: it names its ledger table.
var ownerName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,30}$`)

// migrationLock is the advisory lock under which PostgreSQL nodes that start
// together apply migrations one at a time, all owners alike.
const migrationLock = "vclinic/records/migrate"

// Migrate applies the steps of owner's schema that the database lacks, in
// order, each in its own transaction together with its line in owner's
// ledger (the table <owner>_schema_migrations). It refuses steps that are
// not numbered 1, 2, 3, ..., and a database whose ledger holds a step this
// build does not know (written by a newer release).
func (d *DB) Migrate(ctx context.Context, owner string, steps []Migration) error {
	if !ownerName.MatchString(owner) {
		return fmt.Errorf("records: migrate: owner %q: want lower-case letters, digits and _", owner)
	}
	for i, m := range steps {
		if m.Version != i+1 {
			return fmt.Errorf("records: migrate %s: step %d has version %d, want %d", owner, i, m.Version, i+1)
		}
	}
	ledger := owner + "_schema_migrations"
	for _, m := range steps {
		var applied bool
		err := d.InTx(ctx, fmt.Sprintf("%s migration %d (%s)", owner, m.Version, m.Name), func(tx *sql.Tx) error {
			applied = false
			if err := d.Lock(ctx, tx, migrationLock); err != nil {
				return err
			}
			create := d.dialect.DDL(`CREATE TABLE IF NOT EXISTS ` + ledger + ` (
				version    INTEGER PRIMARY KEY,
				name       TEXT NOT NULL,
				applied_at {{ts}} NOT NULL)`)
			if _, err := tx.ExecContext(ctx, create); err != nil {
				return err
			}
			if m.Version == 1 {
				var newest int
				if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM `+ledger).Scan(&newest); err != nil {
					return err
				}
				if newest > len(steps) {
					return fmt.Errorf("the database has %s step %d, this build knows %d: it was written by a newer release", owner, newest, len(steps))
				}
			}
			var n int
			err := tx.QueryRowContext(ctx, `SELECT count(*) FROM `+ledger+` WHERE version = $1`, m.Version).Scan(&n)
			if err != nil || n > 0 {
				return err
			}
			ddl := m.Common + m.SQLite
			if d.dialect == Postgres {
				ddl = m.Common + m.Postgres
			}
			if strings.TrimSpace(ddl) != "" {
				if _, err := tx.ExecContext(ctx, d.dialect.DDL(ddl)); err != nil {
					return err
				}
			}
			if m.Data != nil {
				if err := m.Data(ctx, tx, d.dialect); err != nil {
					return err
				}
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO `+ledger+` (version, name, applied_at) VALUES ($1, $2, $3)`,
				m.Version, m.Name, d.dialect.TS(d.now()))
			applied = err == nil
			return err
		})
		if err != nil {
			return fmt.Errorf("records: %w", err)
		}
		if applied {
			d.log.Info("records: applied migration", "owner", owner, "version", m.Version, "name", m.Name, "db", d.dialect.String())
		}
	}
	return nil
}
