package homekit

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"vclinic/internal/records"
	"vclinic/internal/records/audit"
)

// Config configures the home kit's store.
type Config struct {
	// Clock stamps creation times. Default time.Now.
	Clock func() time.Time
}

func (c Config) withDefaults() Config {
	if c.Clock == nil {
		c.Clock = time.Now
	}
	return c
}

// Store keeps kits, gateways, expected measurements and readings in the
// clinic's records database, in tables of its own (homekit_*). Its methods
// are safe for concurrent use; those that read or write a patient's data
// record it in the audit log in the same transaction.
type Store struct {
	db    *records.DB
	trail *audit.Log
	log   *slog.Logger
	now   func() time.Time
}

// NewStore applies the home kit's schema migrations to db and returns the
// store. Its audit rows go to trail, which must be of the same db (its
// migrations carry the home kit's older audit rows into it).
func NewStore(ctx context.Context, db *records.DB, trail *audit.Log, cfg Config, logger *slog.Logger) (*Store, error) {
	cfg = cfg.withDefaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if db == nil || trail == nil {
		return nil, errors.New("homekit store: a records database and an audit log are required")
	}
	if err := db.Migrate(ctx, "homekit", migrations()); err != nil {
		return nil, fmt.Errorf("homekit store: %w", err)
	}
	return &Store{db: db, trail: trail, log: logger, now: cfg.Clock}, nil
}

// ts converts an instant to its column value in the database's dialect.
func (s *Store) ts(t time.Time) any { return s.db.Dialect().TS(t) }

// newID returns a random identifier: 26 characters of base32, 130 bits. It
// is a valid FHIR id.
func newID() string { return strings.ToLower(rand.Text()) }

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}
