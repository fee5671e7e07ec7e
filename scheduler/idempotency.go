package scheduler

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
)

// Idempotency keys make a retried booking book once. A key belongs to the
// acting user; it is recorded in the booking's own transaction together with
// a fingerprint of the request, so a key exists exactly when its booking
// does. The same key with the same request answers with the appointment it
// booked (Booking.Replayed); with another request it is refused.

// maxIdemKeyLen bounds the length of a key.
const maxIdemKeyLen = 200

// fingerprint identifies what a booking request asks for.
func (r BookRequest) fingerprint() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%d\x00%d", r.ClinicianID, r.PatientID, r.TypeID,
		r.Duration.Milliseconds(), instant(r.Start).UnixMilli())
	return hex.EncodeToString(h.Sum(nil))
}

// replay looks up an idempotency key of actor. It returns the id of the
// appointment the key booked, or "" when the key is new.
func (s *Store) replay(ctx context.Context, tx *sql.Tx, actor Actor, key, fingerprint string) (string, error) {
	var hash, id string
	err := tx.QueryRowContext(ctx, `SELECT request_hash, appointment_id FROM idempotency_keys
		WHERE actor_id = $1 AND idem_key = $2`, actor.ID, key).Scan(&hash, &id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", nil
	case err != nil:
		return "", err
	case hash != fingerprint:
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
	if uniqueViolation(err) {
		return fmt.Errorf("idempotency key: %w", errContention)
	}
	return err
}
