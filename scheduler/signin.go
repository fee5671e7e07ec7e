package scheduler

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"vclinic/internal/records"
)

// Signing in, and the sessions it opens.
//
// Throttling: a name that fails LockAfter times in a row (known to the
// clinic or not, so that a lock says nothing of who exists) is locked for
// LockFor, doubling with each failure after that up to MaxLock; while it is
// locked no password is even checked, and the answer is ErrThrottled with
// the time to wait. A success clears the count; an admin may unlock. Per
// client address, the API limits attempts as well (see loginLimiter).
//
// Password work: argon2id takes 19 MiB a hash, so at most HashSlots hashes
// run at once and the rest wait their turn (at most HashWait): memory stays
// flat under a flood of sign-ins.
//
// Sessions: signing in opens a session, whose id the staff token carries. A
// session ends at its lifetime, after IdleTimeout without a request, at
// logout, when an admin signs the user out everywhere, when the password
// changes, and when the user is disabled. CheckStaff decides at every
// request.

// Sign-in limits.
const (
	LockAfter = 5
	LockFor   = 15 * time.Minute
	MaxLock   = 24 * time.Hour
)

// ErrThrottled: too many attempts; try again after RetryAfter(err).
var ErrThrottled = errors.New("too many attempts")

// ErrSessionEnded: the staff token's session has ended (logged out, signed
// out everywhere, idle, expired, or the user disabled): sign in again.
var ErrSessionEnded = errors.New("session ended")

// throttled is ErrThrottled with the wait.
type throttled struct{ after time.Duration }

func (e *throttled) Error() string {
	return fmt.Sprintf("%v: try again in %s", ErrThrottled, e.after.Round(time.Second))
}
func (e *throttled) Unwrap() error { return ErrThrottled }

// RetryAfter is how long an ErrThrottled asks to wait, at least a second.
func RetryAfter(err error) time.Duration {
	var t *throttled
	if errors.As(err, &t) && t.after > time.Second {
		return t.after
	}
	return time.Second
}

// lockFor is how long a name is locked after failures failures in a row.
func lockFor(failures int) time.Duration {
	if failures < LockAfter {
		return 0
	}
	d := LockFor
	for i := LockAfter; i < failures && d < MaxLock; i++ {
		d *= 2
	}
	return min(d, MaxLock)
}

// passwordWork waits for one of the slots in which argon2id runs; the
// returned func frees it.
func (s *Store) passwordWork(ctx context.Context) (func(), error) {
	wait := time.NewTimer(s.cfg.HashWait)
	defer wait.Stop()
	select {
	case s.hashSlots <- struct{}{}:
		return func() { <-s.hashSlots }, nil
	case <-wait.C:
		return nil, &throttled{after: time.Second}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Authenticate checks a user name and password and returns the user. An
// unknown name costs the same password hashing as a wrong password, and
// both, like a disabled user, give ErrBadCredentials; a locked name gives
// ErrThrottled. Every attempt is logged, without the name tried when it
// matches no user, with the address the attempt came from.
func (s *Store) Authenticate(ctx context.Context, username, password, address string) (User, error) {
	username = strings.ToLower(strings.TrimSpace(username))
	if len(username) > 64 {
		username = username[:64] // a name that long is nobody's; keep the row small
	}
	now := s.now()
	if wait, err := s.lockedFor(ctx, username, now); err != nil {
		return User{}, fmt.Errorf("authenticate: %w", err)
	} else if wait > 0 {
		actor := Actor{ID: "unknown", Role: "none", Address: address}
		if u, _, err := s.userBy(ctx, "username", username); err == nil {
			actor = u.Actor()
			actor.Address = address
		}
		err := s.db.InTx(ctx, "authenticate", func(tx *sql.Tx) error {
			return s.auditRecord(ctx, tx, actor, AuditDenied, "user", "", "", "locked")
		})
		if err != nil {
			return User{}, err
		}
		return User{}, &throttled{after: wait}
	}
	u, hash, disabled, err := s.userForSignIn(ctx, username)
	known := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		return User{}, fmt.Errorf("authenticate: %w", err)
	}
	if !known {
		hash = s.dummy()
	}
	free, err := s.passwordWork(ctx)
	if err != nil {
		return User{}, fmt.Errorf("authenticate: %w", err)
	}
	ok := len(password) <= maxPasswordLen && verifyPassword(hash, password) && known && !disabled
	free()
	actor, action, detail := Actor{ID: "unknown", Role: "none"}, AuditDenied, ""
	switch {
	case ok:
		actor, action = u.Actor(), AuditLogin
	case known:
		actor = u.Actor()
		if disabled {
			detail = "disabled"
		}
	}
	actor.Address = address
	err = s.db.InTx(ctx, "authenticate", func(tx *sql.Tx) error {
		if ok {
			if _, err := tx.ExecContext(ctx, `DELETE FROM login_failures WHERE username = $1`, username); err != nil {
				return err
			}
		} else if err := s.recordFailure(ctx, tx, username, now); err != nil {
			return err
		}
		return s.auditRecord(ctx, tx, actor, action, "user", u.ID, "", detail)
	})
	if err != nil {
		return User{}, err
	}
	if !ok {
		return User{}, fmt.Errorf("authenticate: %w", ErrBadCredentials)
	}
	return u, nil
}

// lockedFor is how long username stays locked, 0 when it is not.
func (s *Store) lockedFor(ctx context.Context, username string, now time.Time) (time.Duration, error) {
	var until time.Time
	err := s.db.QueryRowContext(ctx, `SELECT locked_until FROM login_failures WHERE username = $1`, username).
		Scan(records.NullTime(&until))
	if errors.Is(err, sql.ErrNoRows) || until.IsZero() {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return max(until.Sub(now), 0), nil
}

// recordFailure counts a failed attempt for username and locks it once it
// has failed LockAfter times in a row.
func (s *Store) recordFailure(ctx context.Context, tx *sql.Tx, username string, now time.Time) error {
	var failures int
	err := tx.QueryRowContext(ctx, `SELECT failures FROM login_failures WHERE username = $1`+s.db.Dialect().ForUpdate(), username).Scan(&failures)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	failures++
	var locked any
	if d := lockFor(failures); d > 0 {
		locked = s.ts(now.Add(d))
	}
	if errors.Is(err, sql.ErrNoRows) {
		_, err = tx.ExecContext(ctx, `INSERT INTO login_failures (username, failures, locked_until, last_at) VALUES ($1, $2, $3, $4)`,
			username, failures, locked, s.ts(now))
	} else {
		_, err = tx.ExecContext(ctx, `UPDATE login_failures SET failures = $2, locked_until = $3, last_at = $4 WHERE username = $1`,
			username, failures, locked, s.ts(now))
	}
	if records.Unique(err) {
		// Another attempt at the same name inserted first: count again.
		return fmt.Errorf("count failed sign-in: %w", records.ErrRetry)
	}
	return err
}

// userForSignIn reads a user, the password hash and whether the user is
// disabled.
func (s *Store) userForSignIn(ctx context.Context, username string) (User, string, bool, error) {
	var u User
	var hash string
	var disabled bool
	err := s.db.QueryRowContext(ctx, `SELECT id, username, name, role, password_hash, created_at, disabled FROM users WHERE username = $1`, username).
		Scan(&u.ID, &u.Username, &u.Name, &u.Role, &hash, records.Time(&u.CreatedAt), &disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, "", false, ErrNotFound
	}
	return u, hash, disabled, err
}

// Unlock clears the failed sign-ins of user id's name, so that a locked
// user may try again at once (admins).
func (s *Store) Unlock(ctx context.Context, actor Actor, id string) error {
	if actor.Role != RoleAdmin {
		return because(ErrForbidden, "only an admin unlocks a user")
	}
	return s.db.InTx(ctx, "unlock user "+id, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM login_failures WHERE username = (SELECT username FROM users WHERE id = $1)`, id)
		if err != nil {
			return err
		}
		if err := userExists(ctx, tx, id); err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		return s.auditRecord(ctx, tx, actor, AuditUpdate, "user", id, "", fmt.Sprintf("unlocked (%d failed sign-ins cleared)", n))
	})
}

func userExists(ctx context.Context, tx *sql.Tx, id string) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE id = $1`, id).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return because(ErrNotFound, "no user %s", id)
	}
	return nil
}

// Session is a staff member's signed-in session.
type Session struct {
	ID        string    `json:"id"`
	UserID    string    `json:"userId"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// OpenSession opens a session of u for ttl, from address.
func (s *Store) OpenSession(ctx context.Context, u User, ttl time.Duration, address string) (Session, error) {
	now := records.Instant(s.now())
	ss := Session{ID: newID(), UserID: u.ID, ExpiresAt: now.Add(ttl)}
	err := s.db.InTx(ctx, "open session", func(tx *sql.Tx) error {
		// Sessions that ended a day ago go as new ones come.
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1 AND expires_at < $2`, u.ID, s.ts(now.Add(-24*time.Hour))); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (id, user_id, created_at, last_seen_at, expires_at, address)
			VALUES ($1, $2, $3, $3, $4, $5)`, ss.ID, u.ID, s.ts(now), s.ts(ss.ExpiresAt), address)
		return err
	})
	if err != nil {
		return Session{}, err
	}
	return ss, nil
}

// touchEvery is how often a session's last use is written: a session is
// idle when its last request is older than the idle timeout, to this.
const touchEvery = time.Minute

// CheckStaff decides whether a staff token still works: its user exists and
// is not disabled, it was issued after the user was last signed out
// everywhere, and its session (sid, when it names one) is open, neither
// expired nor idle for longer than idle. ErrSessionEnded otherwise. It
// writes when the session was last used, at most once a minute.
func (s *Store) CheckStaff(ctx context.Context, userID, sid string, issued time.Time, idle time.Duration) error {
	now := s.now()
	var disabled bool
	var signedOut time.Time
	err := s.db.QueryRowContext(ctx, `SELECT disabled, signed_out_at FROM users WHERE id = $1`, userID).
		Scan(&disabled, records.NullTime(&signedOut))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%w: no such user", ErrSessionEnded)
	case err != nil:
		return fmt.Errorf("check session: %w", err)
	case disabled:
		return fmt.Errorf("%w: the user is disabled", ErrSessionEnded)
	case sid == "" && !signedOut.IsZero() && issued.Before(signedOut):
		return fmt.Errorf("%w: signed out everywhere", ErrSessionEnded)
	case sid == "":
		// A token minted by an operator (vclinic token): bounded by its own
		// lifetime and by signing the user out everywhere. A session's
		// token is ended with its session, below.
		return nil
	}
	var owner string
	var lastSeen, expires, revoked time.Time
	err = s.db.QueryRowContext(ctx, `SELECT user_id, last_seen_at, expires_at, revoked_at FROM sessions WHERE id = $1`, sid).
		Scan(&owner, records.Time(&lastSeen), records.Time(&expires), records.NullTime(&revoked))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%w: no such session", ErrSessionEnded)
	case err != nil:
		return fmt.Errorf("check session: %w", err)
	case owner != userID:
		return fmt.Errorf("%w: another user's session", ErrSessionEnded)
	case !revoked.IsZero():
		return fmt.Errorf("%w: signed out", ErrSessionEnded)
	case !now.Before(expires):
		return fmt.Errorf("%w: expired", ErrSessionEnded)
	case idle > 0 && now.Sub(lastSeen) >= idle:
		return fmt.Errorf("%w: idle for %s", ErrSessionEnded, now.Sub(lastSeen).Round(time.Second))
	case now.Sub(lastSeen) < touchEvery:
		return nil
	}
	return s.db.InTx(ctx, "touch session", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE sessions SET last_seen_at = $1 WHERE id = $2 AND revoked_at IS NULL`, s.ts(now), sid)
		return err
	})
}

// EndSession revokes one session (logout). Ending a session that has ended
// already is no error.
func (s *Store) EndSession(ctx context.Context, actor Actor, sid string) error {
	return s.db.InTx(ctx, "end session", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL`,
			s.ts(s.now()), sid, actor.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		return s.auditRecord(ctx, tx, actor, AuditUpdate, "session", sid, "", "signed out")
	})
}

// SignOutEverywhere ends every session and every token of user id: the
// user's own choice, an admin's, or part of a password change or of
// disabling the user.
func (s *Store) SignOutEverywhere(ctx context.Context, actor Actor, id string) error {
	if actor.Role != RoleAdmin && actor.ID != id {
		return because(ErrForbidden, "only an admin signs another user out")
	}
	return s.db.InTx(ctx, "sign out user "+id+" everywhere", func(tx *sql.Tx) error {
		if err := userExists(ctx, tx, id); err != nil {
			return err
		}
		if err := s.signOutEverywhere(ctx, tx, id); err != nil {
			return err
		}
		return s.auditRecord(ctx, tx, actor, AuditUpdate, "user", id, "", "signed out everywhere")
	})
}

// signOutEverywhere revokes id's sessions and marks the tokens issued until
// now as ended. Tokens carry whole seconds (JWT iat), so the mark is the
// second after now: a token issued in this second ends too.
func (s *Store) signOutEverywhere(ctx context.Context, tx *sql.Tx, id string) error {
	now := s.now()
	if _, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL`, s.ts(now), id); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE users SET signed_out_at = $1 WHERE id = $2`, s.ts(now.Truncate(time.Second).Add(time.Second)), id)
	return err
}

// SetDisabled disables user id (who cannot sign in, and is signed out
// everywhere) or enables them again (admins).
func (s *Store) SetDisabled(ctx context.Context, actor Actor, id string, disabled bool) error {
	if actor.Role != RoleAdmin {
		return because(ErrForbidden, "only an admin disables or enables a user")
	}
	if disabled && actor.ID == id {
		return because(ErrConflict, "an admin does not disable themselves")
	}
	return s.db.InTx(ctx, "set user "+id+" disabled", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET disabled = $1 WHERE id = $2`, disabled, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return because(ErrNotFound, "no user %s", id)
		}
		detail := "enabled"
		if disabled {
			detail = "disabled"
			if err := s.signOutEverywhere(ctx, tx, id); err != nil {
				return err
			}
		}
		return s.auditRecord(ctx, tx, actor, AuditUpdate, "user", id, "", detail)
	})
}
