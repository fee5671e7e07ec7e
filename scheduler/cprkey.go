package scheduler

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"vclinic/internal/records"
)

// CPRKey keeps CPR numbers encrypted at rest: AES-256-GCM (NIST SP 800-38D)
// with a random 96-bit nonce for each number, and an HMAC-SHA256 (RFC 2104)
// of the number as the index that finds a patient by it and keeps numbers
// unique. Both keys derive from one 32-byte secret held outside the
// database (cmd reads it from -cpr-key-file), so that a copy of the database
// alone, or of its backups, holds no CPR number.
type CPRKey struct {
	aead  cipher.AEAD
	index []byte
}

// CPRSecretSize is the size of the secret a CPRKey is made from.
const CPRSecretSize = 32

// cprPrefix marks an encrypted number (and its scheme's version).
const cprPrefix = "v1:"

// ErrNoCPRKey means the store was opened without the key its CPR numbers
// need.
var ErrNoCPRKey = errors.New("scheduler: CPR numbers need the CPR key (-cpr-key-file)")

// NewCPRKey makes the key from its secret.
func NewCPRKey(secret []byte) (*CPRKey, error) {
	if len(secret) != CPRSecretSize {
		return nil, fmt.Errorf("scheduler: the CPR key must be %d bytes, not %d", CPRSecretSize, len(secret))
	}
	derive := func(label string) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(label))
		return m.Sum(nil)
	}
	block, err := aes.NewCipher(derive("vclinic/cpr/encrypt/v1"))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &CPRKey{aead: aead, index: derive("vclinic/cpr/index/v1")}, nil
}

// seal encrypts a number for the cpr column.
func (k *CPRKey) seal(c CPR) string {
	nonce := make([]byte, k.aead.NonceSize())
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails (Go 1.24)
	ct := k.aead.Seal(nonce, nonce, []byte(c), []byte("cpr"))
	return cprPrefix + base64.RawStdEncoding.EncodeToString(ct)
}

// open decrypts a cpr column.
func (k *CPRKey) open(s string) (CPR, error) {
	raw, ok := strings.CutPrefix(s, cprPrefix)
	if !ok {
		return "", errors.New("scheduler: a CPR number is not encrypted")
	}
	b, err := base64.RawStdEncoding.DecodeString(raw)
	if err != nil || len(b) < k.aead.NonceSize() {
		return "", errors.New("scheduler: a CPR number is damaged")
	}
	n := k.aead.NonceSize()
	pt, err := k.aead.Open(nil, b[:n], b[n:], []byte("cpr"))
	if err != nil {
		return "", errors.New("scheduler: a CPR number does not open with this key (another -cpr-key-file?)")
	}
	return CPR(pt), nil
}

// indexOf is the index of a number.
func (k *CPRKey) indexOf(c CPR) string {
	m := hmac.New(sha256.New, k.index)
	m.Write([]byte(c))
	return hex.EncodeToString(m.Sum(nil))
}

// encryptCPRs is the data step of the migration that encrypts the numbers
// kept in clear before it: each gets its index and its ciphertext.
func encryptCPRs(key *CPRKey) func(ctx context.Context, tx *sql.Tx, d records.Dialect) error {
	return func(ctx context.Context, tx *sql.Tx, d records.Dialect) error {
		type row struct{ id, cpr string }
		var rows []row
		err := records.QueryRows(ctx, tx, `SELECT id, cpr FROM patients WHERE cpr IS NOT NULL`, nil, func(r *sql.Rows) error {
			var x row
			err := r.Scan(&x.id, &x.cpr)
			rows = append(rows, x)
			return err
		})
		if err != nil {
			return err
		}
		if len(rows) > 0 && key == nil {
			return ErrNoCPRKey
		}
		for _, x := range rows {
			c := CPR(x.cpr)
			if _, err := tx.ExecContext(ctx, `UPDATE patients SET cpr = $1, cpr_index = $2 WHERE id = $3`,
				key.seal(c), key.indexOf(c), x.id); err != nil {
				return err
			}
		}
		return nil
	}
}
