package homekit

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"vclinic/internal/records"
)

// A home gateway's own credential. Staff register the gateway for a
// patient and get a pairing code, shown once (on screen to read to the
// patient, or printed with the kit); the gateway trades it once, within
// PairingFor, for its credential (POST /api/v1/kit/pair), a 256-bit secret
// it keeps. The clinic keeps only hashes of both. The credential sends that
// patient's readings and reads that patient's kit list (which devices to
// listen to); never readings, never anything of another patient. Staff
// revoke it, and it stops at once; a new pairing code replaces the
// credential when the gateway uses it (a gateway reset or replaced).
//
// The secrets are random, not chosen by people, so one SHA-256 is the
// right hash (a slow password hash guards guessable secrets); a pairing
// code has 60 bits, enough against guessing online within its time.

// PairingFor is how long a pairing code works.
const PairingFor = 7 * 24 * time.Hour

// CredentialPrefix starts every kit credential, so that it is told from a
// signed token at a glance (and by secret scanners).
const CredentialPrefix = "vkc_"

// Audit actions of the kit credential.
const (
	AuditPair   = "pair"
	AuditRevoke = "revoke"
)

// ErrRevoked: the gateway's credential was revoked.
var ErrRevoked = errors.New("revoked")

// Pairing is a new pairing code, shown once.
type Pairing struct {
	GatewayID string    `json:"gatewayId"`
	Code      string    `json:"pairingCode"`
	ExpiresAt time.Time `json:"pairingExpiresAt"`
}

// GatewayState is a gateway as staff see it: never a secret.
type GatewayState struct {
	Gateway
	Paired           bool       `json:"paired"`
	PairingExpiresAt *time.Time `json:"pairingExpiresAt,omitempty"` // a code is pending
	LastUsedAt       *time.Time `json:"lastUsedAt,omitempty"`
	RevokedAt        *time.Time `json:"revokedAt,omitempty"`
}

// pairingAlphabet is Crockford's base32 (no I, L, O, U): a code read aloud
// or typed from paper survives.
const pairingAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// newPairingCode is 12 symbols (60 bits), as XXXX-XXXX-XXXX.
func newPairingCode() string {
	b := make([]byte, 12)
	rand.Read(b)
	var sb strings.Builder
	for i, c := range b {
		if i > 0 && i%4 == 0 {
			sb.WriteByte('-')
		}
		sb.WriteByte(pairingAlphabet[c&31])
	}
	return sb.String()
}

// normalPairingCode is a code as typed: case, spaces and dashes aside, and
// the letters people confuse with digits read as those digits.
func normalPairingCode(code string) string {
	code = strings.ToUpper(code)
	code = strings.NewReplacer("-", "", " ", "", "O", "0", "I", "1", "L", "1").Replace(code)
	return code
}

// secretHash is the stored form of a secret.
func secretHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// NewPairing gives gatewayID of patientID a new pairing code; the current
// credential works until the code is used.
func (s *Store) NewPairing(ctx context.Context, actor Actor, patientID, gatewayID string) (Pairing, error) {
	p := Pairing{GatewayID: gatewayID, Code: newPairingCode(), ExpiresAt: records.Instant(s.now().Add(PairingFor))}
	err := s.db.InTx(ctx, "new pairing code", func(tx *sql.Tx) error {
		var revoked bool
		err := tx.QueryRowContext(ctx, `SELECT revoked_at IS NOT NULL FROM homekit_gateways WHERE id = $1 AND patient_id = $2`, gatewayID, patientID).Scan(&revoked)
		if errors.Is(err, sql.ErrNoRows) {
			return because(ErrNotFound, "no gateway %s for this patient", gatewayID)
		}
		if err != nil {
			return err
		}
		if revoked {
			return because(ErrConflict, "gateway %s is revoked; register a new one", gatewayID)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE homekit_gateways SET pairing_hash = $1, pairing_until = $2 WHERE id = $3`,
			secretHash(normalPairingCode(p.Code)), s.ts(p.ExpiresAt), gatewayID); err != nil {
			return err
		}
		return s.auditRecord(ctx, tx, actor, AuditUpdate, "gateway", gatewayID, patientID, "pairing code issued")
	})
	if err != nil {
		return Pairing{}, err
	}
	return p, nil
}

// PairedGateway is what a gateway learns when it pairs.
type PairedGateway struct {
	GatewayID  string `json:"gatewayId"`
	PatientID  string `json:"patientId"`
	Credential string `json:"credential"`
}

// Pair trades a pairing code for the gateway's credential, once. An
// unknown, used or expired code is ErrNotFound.
func (s *Store) Pair(ctx context.Context, code, address string) (PairedGateway, error) {
	norm := normalPairingCode(code)
	if len(norm) != 12 {
		return PairedGateway{}, because(ErrNotFound, "no such pairing code")
	}
	raw := make([]byte, 32)
	rand.Read(raw)
	out := PairedGateway{Credential: CredentialPrefix + base64.RawURLEncoding.EncodeToString(raw)}
	now := s.now()
	err := s.db.InTx(ctx, "pair gateway", func(tx *sql.Tx) error {
		var until time.Time
		err := tx.QueryRowContext(ctx, `SELECT id, patient_id, pairing_until FROM homekit_gateways WHERE pairing_hash = $1 AND revoked_at IS NULL`,
			secretHash(norm)).Scan(&out.GatewayID, &out.PatientID, records.Time(&until))
		if errors.Is(err, sql.ErrNoRows) || err == nil && now.After(until) {
			return because(ErrNotFound, "no such pairing code, or it was used or has run out; the clinic gives a new one")
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE homekit_gateways SET secret_hash = $1, pairing_hash = NULL, pairing_until = NULL, paired_at = $2, last_used_at = $2 WHERE id = $3`,
			secretHash(out.Credential), s.ts(now), out.GatewayID); err != nil {
			return err
		}
		actor := Actor{ID: out.GatewayID, Role: "gateway", Address: address}
		return s.auditRecord(ctx, tx, actor, AuditPair, "gateway", out.GatewayID, out.PatientID, "credential issued")
	})
	if err != nil {
		return PairedGateway{}, err
	}
	return out, nil
}

// credentialTouchEvery is how often a credential's last use is written.
const credentialTouchEvery = time.Minute

// GatewayByCredential finds the gateway whose credential this is:
// ErrNotFound for none (a revoked credential is none).
func (s *Store) GatewayByCredential(ctx context.Context, credential string) (Gateway, error) {
	if !strings.HasPrefix(credential, CredentialPrefix) || len(credential) > 100 {
		return Gateway{}, because(ErrNotFound, "not a kit credential")
	}
	var g Gateway
	var lastAt time.Time
	err := s.db.QueryRowContext(ctx, `SELECT id, patient_id, label, created_at, last_used_at FROM homekit_gateways WHERE secret_hash = $1 AND revoked_at IS NULL`,
		secretHash(credential)).Scan(&g.ID, &g.PatientID, &g.Label, records.Time(&g.CreatedAt), records.NullTime(&lastAt))
	if errors.Is(err, sql.ErrNoRows) {
		return Gateway{}, because(ErrNotFound, "unknown or revoked kit credential")
	}
	if err != nil {
		return Gateway{}, records.Map(err)
	}
	if now := s.now(); now.Sub(lastAt) >= credentialTouchEvery {
		err := s.db.InTx(ctx, "kit credential used", func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE homekit_gateways SET last_used_at = $1 WHERE id = $2`, s.ts(now), g.ID)
			return err
		})
		if err != nil {
			s.log.Warn("kit credential: last use not written", "gateway", g.ID, "err", err)
		}
	}
	return g, nil
}

// RevokeGateway ends gatewayID's credential and any pending pairing code,
// for good.
func (s *Store) RevokeGateway(ctx context.Context, actor Actor, patientID, gatewayID string) error {
	return s.db.InTx(ctx, "revoke gateway", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE homekit_gateways SET revoked_at = $1, secret_hash = NULL, pairing_hash = NULL, pairing_until = NULL
			WHERE id = $2 AND patient_id = $3 AND revoked_at IS NULL`, s.ts(s.now()), gatewayID, patientID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var one int
			err := tx.QueryRowContext(ctx, `SELECT 1 FROM homekit_gateways WHERE id = $1 AND patient_id = $2`, gatewayID, patientID).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return because(ErrNotFound, "no gateway %s for this patient", gatewayID)
			}
			return err // revoked already: nothing more to do
		}
		return s.auditRecord(ctx, tx, actor, AuditRevoke, "gateway", gatewayID, patientID, "credential revoked")
	})
}

// Gateways lists a patient's gateways, oldest first.
func (s *Store) Gateways(ctx context.Context, actor Actor, patientID string) ([]GatewayState, error) {
	out := []GatewayState{}
	err := records.QueryRows(ctx, s.db, `SELECT id, patient_id, label, created_at, secret_hash IS NOT NULL, pairing_until, last_used_at, revoked_at
		FROM homekit_gateways WHERE patient_id = $1 ORDER BY created_at, id`, []any{patientID}, func(r *sql.Rows) error {
		var g GatewayState
		var until, last, revoked time.Time
		if err := r.Scan(&g.ID, &g.PatientID, &g.Label, records.Time(&g.CreatedAt), &g.Paired,
			records.NullTime(&until), records.NullTime(&last), records.NullTime(&revoked)); err != nil {
			return err
		}
		if !until.IsZero() && s.now().Before(until) {
			g.PairingExpiresAt = &until
		}
		if !last.IsZero() {
			g.LastUsedAt = &last
		}
		if !revoked.IsZero() {
			g.RevokedAt = &revoked
		}
		out = append(out, g)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("gateways: %w", err)
	}
	return out, nil
}
