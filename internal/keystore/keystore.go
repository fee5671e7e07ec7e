// Package keystore opens the clinic's token signing keys where they live:
// in the records database when it is PostgreSQL (every node of a cluster
// signs and verifies with the same keys), else in the data directory. The
// server, `vclinic token` and the load tool open them the same way.
package keystore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"vclinic/internal/records"
	"vclinic/signaling"
)

// recordKeys keeps the token signing keys in the records database, so that
// every node of a cluster signs and verifies with the same keys, and a key
// one node makes (a rotation) verifies on all. Whoever can read the
// database can sign tokens: its backups are as secret as the keys.
type recordKeys struct{ db *records.DB }

// openRecordKeys applies the key table's migration.
func openRecordKeys(ctx context.Context, db *records.DB) (recordKeys, error) {
	err := db.Migrate(ctx, "keys", []records.Migration{{
		Version: 1,
		Name:    "token signing keys",
		Common: `
CREATE TABLE signing_keys (
	id         TEXT PRIMARY KEY, -- the key id (kid) tokens name
	created_at {{ts}} NOT NULL,  -- the newest signs
	der        {{bytes}} NOT NULL -- PKCS #8 Ed25519 private key
);
`,
	}})
	return recordKeys{db}, err
}

// Keys implements signaling.KeyStore.
func (k recordKeys) Keys(ctx context.Context) ([]signaling.StoredKey, error) {
	var out []signaling.StoredKey
	err := records.QueryRows(ctx, k.db, `SELECT id, created_at, der FROM signing_keys ORDER BY created_at`, nil, func(r *sql.Rows) error {
		var sk signaling.StoredKey
		err := r.Scan(&sk.ID, records.Time(&sk.Created), &sk.DER)
		out = append(out, sk)
		return err
	})
	return out, err
}

// Add implements signaling.KeyStore.
func (k recordKeys) Add(ctx context.Context, sk signaling.StoredKey) error {
	return k.db.InTx(ctx, "add signing key", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO signing_keys (id, created_at, der) VALUES ($1, $2, $3)`,
			sk.ID, k.db.Dialect().TS(sk.Created), sk.DER)
		return err
	})
}

// recordKeysIn opens the key table of db and reads the keys it holds.
func recordKeysIn(ctx context.Context, db *records.DB) (recordKeys, []signaling.StoredKey, error) {
	store, err := openRecordKeys(ctx, db)
	if err != nil {
		return recordKeys{}, nil, err
	}
	have, err := store.Keys(ctx)
	if err != nil {
		return recordKeys{}, nil, fmt.Errorf("signing keys: %w", err)
	}
	return store, have, nil
}

// Open opens the token signing keys: in the records database when they
// are PostgreSQL (a cluster shares them), else in the data directory. A
// PostgreSQL database that holds no key yet takes the data directory's, so
// that links sent before the move keep working.
func Open(ctx context.Context, data string, db *records.DB) (*signaling.Keyring, error) {
	dir := filepath.Join(data, "keys")
	if db == nil || db.Dialect() != records.Postgres {
		return signaling.OpenKeyring(dir)
	}
	store, have, err := recordKeysIn(ctx, db)
	if err != nil {
		return nil, err
	}
	if len(have) == 0 {
		old, err := signaling.DirKeys(dir).Keys(ctx)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("signing keys of %s: %w", dir, err)
		}
		for _, sk := range old {
			if err := store.Add(ctx, sk); err != nil && !records.Unique(err) {
				return nil, fmt.Errorf("signing keys: carry over %s: %w", sk.ID, err)
			}
		}
	}
	return signaling.OpenKeyStore(ctx, store)
}

// OpenExisting opens the keys kept in db (PostgreSQL) without making one: a
// tool that signs for a running cluster must use its keys. It fails when db
// holds none.
func OpenExisting(ctx context.Context, db *records.DB) (*signaling.Keyring, error) {
	if db.Dialect() != records.Postgres {
		return nil, errors.New("keystore: the records keep signing keys only on PostgreSQL")
	}
	store, have, err := recordKeysIn(ctx, db)
	if err != nil {
		return nil, err
	}
	if len(have) == 0 {
		return nil, errors.New("signing keys: the database holds none yet; start a node on it first")
	}
	return signaling.OpenKeyStore(ctx, store)
}
