package scheduler

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"time"

	"vclinic/internal/records"
	"vclinic/internal/records/audit"
)

// Config configures the scheduler's store.
type Config struct {
	// Clock stamps created and updated times. Default time.Now.
	Clock func() time.Time
	// IdempotencyRetention is how long an idempotency key replays its
	// booking, measured on Clock from the booking; an older key is treated
	// as new and PurgeIdempotencyKeys deletes it. Default 24 h.
	IdempotencyRetention time.Duration
	// HashSlots is how many argon2id password hashes (19 MiB each) run at
	// once; the others wait. Default the number of CPUs.
	HashSlots int
	// HashWait is how long a sign-in waits for a slot before it is turned
	// away (ErrThrottled). Default 10 s.
	HashWait time.Duration
	// CareWindow is how far before and after today an appointment gives
	// its clinician a care relation to the patient. Default 30 days.
	CareWindow time.Duration
	// CPRKey encrypts the patients' CPR numbers at rest. Without it the
	// store refuses to write or read a CPR number (ErrNoCPRKey), and to
	// open records that hold numbers in clear.
	CPRKey *CPRKey
	// MeasurementCodes are the LOINC codes an appointment type may expect
	// before its visit (what the home kit measures); empty accepts any
	// LOINC code.
	MeasurementCodes []string
	// Channels are the ways the clinic sends patients messages (an
	// e-mail server, an SMS provider); none queues no messages.
	Channels Channels
}

func (c Config) withDefaults() Config {
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.CareWindow == 0 {
		c.CareWindow = DefaultCareWindow
	}
	if c.IdempotencyRetention == 0 {
		c.IdempotencyRetention = 24 * time.Hour
	}
	if c.HashSlots == 0 {
		c.HashSlots = runtime.NumCPU()
	}
	if c.HashWait == 0 {
		c.HashWait = 10 * time.Second
	}
	return c
}

// Validate reports a configuration the store refuses.
func (c Config) Validate() error {
	if c.IdempotencyRetention < 0 {
		return errors.New("scheduler store: IdempotencyRetention must not be negative")
	}
	if c.HashSlots < 0 || c.HashWait < 0 {
		return errors.New("scheduler store: HashSlots and HashWait must not be negative")
	}
	return nil
}

// Store keeps the scheduler's records (users, clinicians, patients,
// availability, appointments) in the clinic's records database. Its methods
// are safe for concurrent use. Calls that read or write patient data take
// the acting user and record it in the audit log in the same transaction.
type Store struct {
	db    *records.DB
	trail *audit.Log
	cfg   Config
	log   *slog.Logger
	now   func() time.Time

	zones sync.Map // zone name -> *time.Location

	// hashSlots admits HashSlots argon2id computations at a time.
	hashSlots chan struct{}

	dummyOnce sync.Once // guards dummyHash
	dummyHash string    // verified against when the user is unknown
}

// NewStore applies the scheduler's schema migrations to db and returns the
// store. Its audit rows go to trail, which must be of the same db (its
// migrations carry the scheduler's older audit rows into it).
func NewStore(ctx context.Context, db *records.DB, trail *audit.Log, cfg Config, logger *slog.Logger) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if db == nil || trail == nil {
		return nil, errors.New("scheduler store: a records database and an audit log are required")
	}
	s := &Store{db: db, trail: trail, cfg: cfg, log: logger, now: cfg.Clock, hashSlots: make(chan struct{}, cfg.HashSlots)}
	if err := db.Migrate(ctx, "scheduler", migrations(cfg.CPRKey)); err != nil {
		return nil, fmt.Errorf("scheduler store: %w", err)
	}
	return s, nil
}

// clinicianLock names the lock that serialises the transactions that change
// one clinician's calendar (on PostgreSQL the exclusion constraint on
// appointments is the backstop).
func clinicianLock(clinicianID string) string {
	return "vclinic/scheduler/clinician\x00" + clinicianID
}

// ts converts an instant to its column value in the database's dialect.
func (s *Store) ts(t time.Time) any { return s.db.Dialect().TS(t) }

// durScan scans a duration kept as INTEGER/BIGINT milliseconds.
type durScan struct{ d *time.Duration }

func (d durScan) Scan(v any) error {
	x, ok := v.(int64)
	if !ok {
		return fmt.Errorf("duration column holds %T", v)
	}
	*d.d = time.Duration(x) * time.Millisecond
	return nil
}

// newID returns a random identifier: 26 characters of base32, 130 bits.
func newID() string { return strings.ToLower(rand.Text()) }

// location loads and caches an IANA zone.
func (s *Store) location(name string) (*time.Location, error) {
	if l, ok := s.zones.Load(name); ok {
		return l.(*time.Location), nil
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	s.zones.Store(name, l)
	return l, nil
}

// checkActor refuses calls without an acting user: the audit log must say
// who.
func checkActor(a Actor) error {
	if a.ID == "" || a.Role == "" {
		return because(ErrForbidden, "no acting user")
	}
	return nil
}
