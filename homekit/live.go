package homekit

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"vclinic/internal/records"
)

// LiveFeed shows readings in the patient's visit as they arrive. recent holds
// the patient's readings of the last day, oldest first, the new ones among
// them, so that the feed can show trends.
type LiveFeed interface {
	Stored(patientID string, recent []Reading)
}

// LiveFeedFunc adapts a function to LiveFeed.
type LiveFeedFunc func(patientID string, recent []Reading)

// Stored calls f.
func (f LiveFeedFunc) Stored(patientID string, recent []Reading) { f(patientID, recent) }

// liveWindow is how far back the live feed looks for trends, and liveLimit
// how many readings at most: a continuous oximeter sends one a second, and
// the feed must not slow down as the day's readings pile up.
const (
	liveWindow = 24 * time.Hour
	liveLimit  = 200
)

// Recent returns the patient's readings since since, for the live view of
// the visit the patient is in (the participants' use of them is the call's
// purpose; reads by staff outside a call go through ListReadings, which
// audits).
func (s *Store) Recent(ctx context.Context, patientID string, since time.Time) ([]Reading, error) {
	var out []Reading
	err := s.db.InTx(ctx, "recent readings", func(tx *sql.Tx) error {
		// Start no earlier than the liveLimit-th newest reading.
		var nth time.Time
		err := tx.QueryRowContext(ctx, `SELECT observed_at FROM homekit_readings WHERE patient_id = $1
			ORDER BY observed_at DESC LIMIT 1 OFFSET $2`, patientID, liveLimit-1).Scan(records.Time(&nth))
		switch {
		case err == nil && nth.After(since):
			since = nth
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return err
		}
		out, err = s.readings(ctx, tx, patientID, since)
		return err
	})
	return out, err
}

// publish tells the live feed about new readings of patientID.
func (a *API) publish(ctx context.Context, patientID string, results []Result) {
	if a.cfg.Live == nil {
		return
	}
	stored := false
	for _, r := range results {
		if r.Status == StatusStored {
			stored = true
		}
	}
	if !stored {
		return
	}
	recent, err := a.store.Recent(ctx, patientID, a.cfg.Now().Add(-liveWindow))
	if err != nil {
		a.log.Warn("live readings", "err", err)
		return
	}
	a.cfg.Live.Stored(patientID, recent)
}
