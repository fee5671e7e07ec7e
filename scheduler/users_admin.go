package scheduler

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// UserByUsername returns the user who signs in as username.
func (s *Store) UserByUsername(ctx context.Context, username string) (User, error) {
	u, _, err := s.userBy(ctx, "username", strings.ToLower(strings.TrimSpace(username)))
	if err != nil {
		return User{}, fmt.Errorf("get user %s: %w", username, err)
	}
	return u, nil
}

// SetPassword replaces a user's password (kept only as an argon2id hash)
// and signs the user out everywhere: a new password ends every session.
func (s *Store) SetPassword(ctx context.Context, actor Actor, userID, password string) error {
	if err := checkActor(actor); err != nil {
		return err
	}
	if len(password) < minPasswordLen || len(password) > maxPasswordLen {
		return because(ErrUnprocessable, "password must have %d to %d characters", minPasswordLen, maxPasswordLen)
	}
	free, err := s.passwordWork(ctx)
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	hash, err := hashPassword(password)
	free()
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	return s.db.InTx(ctx, "set password", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $1 WHERE id = $2`, hash, userID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return because(ErrNotFound, "no such user")
		}
		if err := s.signOutEverywhere(ctx, tx, userID); err != nil {
			return err
		}
		return s.auditRecord(ctx, tx, actor, AuditUpdate, "user", userID, "", "password")
	})
}
