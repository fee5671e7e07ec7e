package recordstest

import (
	"context"
	"database/sql"
	"errors"
	"testing"
)

func TestServer(t *testing.T) {
	ctx := context.Background()
	s, err := Start(ctx)
	if errors.Is(err, ErrUnavailable) && !Required() {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	}()
	name, dsn, err := s.CreateDatabase(ctx)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	var got string
	if err := db.QueryRowContext(ctx, `SELECT current_database()`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != name {
		t.Errorf("connected to %q, want %q", got, name)
	}
	if _, err := db.ExecContext(ctx, `CREATE EXTENSION IF NOT EXISTS btree_gist`); err != nil {
		t.Errorf("btree_gist: %v", err)
	}
	// The database is dropped while a connection is still open.
	if err := s.DropDatabase(ctx, name); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := s.DropDatabase(ctx, "postgres"); err == nil {
		t.Error("DropDatabase dropped a database it did not create")
	}
}
