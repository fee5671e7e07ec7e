package scheduler

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"vclinic/internal/records"
)

// Idempotency keys make a retried booking book once. A key belongs to the
// acting user; it is recorded in the booking's own transaction together with
// a fingerprint of the request, so a failed booking leaves no key behind.
// For Config.IdempotencyRetention after its booking (24 h by default, as
// payment APIs keep theirs) the same key with the same request answers with
// the appointment it booked (Booking.Replayed); with another request it is
// refused. After that the key has expired: a request that carries it is a
// new request, whose booking replaces the expired key in its own
// transaction. PurgeIdempotencyKeys deletes expired keys; the appointments
// they booked stay.

// maxIdemKeyLen bounds the length of a key.
const maxIdemKeyLen = 200

// purgeBatch bounds the keys one purge transaction deletes, so that it holds
// SQLite's write lock only briefly and bookings get their turn between
// batches.
const purgeBatch = 500

// fingerprint identifies what a booking request asks for.
func (r BookRequest) fingerprint() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%d\x00%d", r.ClinicianID, r.PatientID, r.TypeID,
		r.Duration.Milliseconds(), records.Instant(r.Start).UnixMilli())
	return hex.EncodeToString(h.Sum(nil))
}

// keyCutoff is the creation time at or before which a key has expired at
// instant now.
func (s *Store) keyCutoff(now time.Time) time.Time {
	return records.Instant(now.Add(-s.cfg.IdempotencyRetention))
}

// replay looks up an idempotency key of actor. It returns the id of the
// appointment the key booked, or "" when the key is new or has expired; an
// expired key is deleted in tx, so that the booking can record it anew.
func (s *Store) replay(ctx context.Context, tx *sql.Tx, actor Actor, key, fingerprint string) (string, error) {
	var hash, id string
	var created time.Time
	err := tx.QueryRowContext(ctx, `SELECT request_hash, appointment_id, created_at FROM idempotency_keys
		WHERE actor_id = $1 AND idem_key = $2`, actor.ID, key).Scan(&hash, &id, records.Time(&created))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", nil
	case err != nil:
		return "", err
	}
	if cutoff := s.keyCutoff(s.now()); !created.After(cutoff) {
		// A concurrent booking with the same key may have replaced the row
		// already; then this deletes nothing, and rememberKey reports the
		// contention.
		_, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys
			WHERE actor_id = $1 AND idem_key = $2 AND created_at <= $3`, actor.ID, key, s.ts(cutoff))
		return "", err
	}
	if hash != fingerprint {
		return "", because(ErrUnprocessable, "idempotency key reused with a different request")
	}
	return id, nil
}

// rememberKey records that actor's key booked appointmentID. A concurrent
// request with the same key that committed first makes this transaction
// lose; run again, it replays that request's answer or refuses.
func (s *Store) rememberKey(ctx context.Context, tx *sql.Tx, actor Actor, key, fingerprint, appointmentID string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO idempotency_keys (actor_id, idem_key, request_hash, appointment_id, created_at)
		VALUES ($1, $2, $3, $4, $5)`, actor.ID, key, fingerprint, appointmentID, s.ts(s.now()))
	if records.Unique(err) {
		return fmt.Errorf("idempotency key: %w", records.ErrRetry)
	}
	return err
}

// PurgeIdempotencyKeys deletes the idempotency keys that have expired at
// instant now (booked Config.IdempotencyRetention or longer before) and
// returns how many it deleted. It deletes the oldest first, in transactions
// of a bounded number of keys, so that bookings never wait long behind it.
// Several nodes may purge at once.
func (s *Store) PurgeIdempotencyKeys(ctx context.Context, now time.Time) (int64, error) {
	return s.purgeKeys(ctx, now, purgeBatch)
}

// purgeKeys deletes expired keys, batch at a time.
func (s *Store) purgeKeys(ctx context.Context, now time.Time, batch int) (int64, error) {
	cutoff := s.ts(s.keyCutoff(now))
	var total int64
	for {
		var n int64
		err := s.db.InTx(ctx, "purge idempotency keys", func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE (actor_id, idem_key) IN (
				SELECT actor_id, idem_key FROM idempotency_keys WHERE created_at <= $1
				ORDER BY created_at LIMIT $2)`, cutoff, batch)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return total, err
		}
		total += n
		// A short batch is the last; on PostgreSQL it may also mean that
		// another node deleted some of it.
		if n < int64(batch) {
			return total, nil
		}
	}
}

// RunIdempotencyPurge purges expired idempotency keys at once and then
// every interval (hourly when interval is not positive), judged by
// Config.Clock, until ctx ends. It logs how many keys went at debug level and
// a failure at warn.
func (s *Store) RunIdempotencyPurge(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = time.Hour
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		n, err := s.PurgeIdempotencyKeys(ctx, s.now())
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			s.log.Warn("scheduler store: purging idempotency keys", "err", err)
		default:
			s.log.Debug("scheduler store: purged idempotency keys", "keys", n)
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}
