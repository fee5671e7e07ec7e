package scheduler

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"vclinic/internal/records"
)

// Staff sign-in through the region's identity provider (OpenID Connect;
// the protocol is in api_oidc.go). The provider says who signed in (its
// issuer and subject, and an e-mail) and which vclinic roles its claim
// gives them; the records say which user that is:
//
//   - a user already matched to that issuer and subject;
//   - else, on their first sign-in there, the user whose e-mail is the
//     provider's verified e-mail and who is not matched to anyone else. The
//     match is kept and audited (AuditLink).
//
// Nobody without a user here gets in: an admin adds staff first (with an
// e-mail and, for those who sign in only at the region, no password). The
// provider's roles decide: a user whose role is among them keeps it; a
// user given exactly one other role there gets that one, audited; none, or
// several others, and the sign-in is refused. A disabled user is refused
// too. Every sign-in and refusal is on the audit log.

// AuditLink is the audit action of matching a user to the identity
// provider's account.
const AuditLink = "link"

// ExternalIdentity is who the identity provider says signed in.
type ExternalIdentity struct {
	Issuer, Subject string
	Email           string
	EmailVerified   bool
	// Roles are the vclinic roles the provider's roles claim maps to.
	Roles []string
}

// SignInExternal finds the user id vouches for, as above, and records the
// sign-in. Refusals are ErrForbidden with the reason to show.
func (s *Store) SignInExternal(ctx context.Context, id ExternalIdentity, address string) (User, error) {
	if id.Issuer == "" || id.Subject == "" {
		return User{}, because(ErrForbidden, "the identity provider named nobody")
	}
	email := strings.ToLower(strings.TrimSpace(id.Email))
	var u User
	var refused error
	err := s.db.InTx(ctx, "sign in through the identity provider", func(tx *sql.Tx) error {
		refused = nil
		var disabled bool
		var err error
		u, disabled, err = userByIdentity(ctx, tx, `oidc_issuer = $1 AND oidc_subject = $2`, id.Issuer, id.Subject)
		linked := err == nil
		if errors.Is(err, ErrNotFound) && email != "" && id.EmailVerified {
			var subject sql.NullString
			u, disabled, err = userByIdentity(ctx, tx, `email = $1`, email)
			if err == nil {
				err = tx.QueryRowContext(ctx, `SELECT oidc_subject FROM users WHERE id = $1`, u.ID).Scan(&subject)
			}
			if err == nil && subject.Valid {
				refused = because(ErrForbidden, "the account with the e-mail %s is matched to another sign-in at the identity provider; an administrator can help", email)
			}
		}
		actor := Actor{ID: "unknown", Role: "none", Address: address}
		switch {
		case errors.Is(err, ErrNotFound) && (email == "" || !id.EmailVerified):
			refused = because(ErrForbidden, "no account here is matched to this sign-in, and the identity provider gave no verified e-mail to find one by; an administrator adds staff")
		case errors.Is(err, ErrNotFound):
			refused = because(ErrForbidden, "no account here has the e-mail %s; an administrator adds staff", email)
		case err != nil:
			return err
		}
		if refused != nil {
			return s.auditRecord(ctx, tx, actor, AuditDenied, "user", "", "", "identity provider: "+Reason(refused))
		}
		actor = u.Actor()
		actor.Address = address
		role, why := roleFromProvider(u.Role, id.Roles)
		switch {
		case disabled:
			refused = because(ErrForbidden, "this account is disabled")
		case role == "":
			refused = because(ErrForbidden, "%s", why)
		}
		if refused != nil {
			return s.auditRecord(ctx, tx, actor, AuditDenied, "user", u.ID, "", "identity provider: "+Reason(refused))
		}
		if !linked {
			if _, err := tx.ExecContext(ctx, `UPDATE users SET oidc_issuer = $1, oidc_subject = $2 WHERE id = $3`, id.Issuer, id.Subject, u.ID); err != nil {
				return err
			}
			if err := s.auditRecord(ctx, tx, actor, AuditLink, "user", u.ID, "",
				fmt.Sprintf("matched by e-mail %s to subject %s of %s", email, id.Subject, id.Issuer)); err != nil {
				return err
			}
		}
		if role != u.Role {
			if _, err := tx.ExecContext(ctx, `UPDATE users SET role = $1 WHERE id = $2`, role, u.ID); err != nil {
				return err
			}
			if err := s.auditRecord(ctx, tx, actor, AuditUpdate, "user", u.ID, "",
				fmt.Sprintf("role %s to %s, as the identity provider says", u.Role, role)); err != nil {
				return err
			}
			u.Role = role
			actor.Role = role
		}
		return s.auditRecord(ctx, tx, actor, AuditLogin, "user", u.ID, "", "identity provider")
	})
	if err != nil {
		return User{}, fmt.Errorf("sign in through the identity provider: %w", err)
	}
	if refused != nil {
		return User{}, refused
	}
	return u, nil
}

// roleFromProvider is the role a user with role current gets from the
// provider's roles, or "" and why not.
func roleFromProvider(current string, roles []string) (string, string) {
	var known []string
	for _, r := range roles {
		if (r == RoleClinician || r == RoleScheduler || r == RoleAdmin) && !slices.Contains(known, r) {
			known = append(known, r)
		}
	}
	switch {
	case slices.Contains(known, current):
		return current, ""
	case len(known) == 1:
		return known[0], ""
	case len(known) == 0:
		return "", "the identity provider gives this account no role here (clinician, scheduler or admin); ask the region's administrator for one"
	}
	slices.Sort(known)
	return "", fmt.Sprintf("the identity provider gives this account several roles here (%s) and none it has; an administrator sets the one it should have", strings.Join(known, ", "))
}

// userByIdentity reads the user where cond holds (one row at most).
func userByIdentity(ctx context.Context, tx *sql.Tx, cond string, args ...any) (User, bool, error) {
	var u User
	var email sql.NullString
	var disabled bool
	err := tx.QueryRowContext(ctx, `SELECT id, username, name, role, created_at, email, disabled FROM users WHERE `+cond, args...).
		Scan(&u.ID, &u.Username, &u.Name, &u.Role, records.Time(&u.CreatedAt), &email, &disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, false, ErrNotFound
	}
	u.Email = email.String
	return u, disabled, err
}

// PendingSignIn is a sign-in sent to the identity provider: what the
// callback checks and uses (OpenID Connect Core 1.0 §3.1.2.1 state and
// nonce; RFC 7636 code verifier) and where to go after.
type PendingSignIn struct {
	Nonce, Verifier, Next string
}

// stateHash keys a pending sign-in by a hash of its state: the table holds
// nothing a callback could be forged from.
func stateHash(state string) string {
	sum := sha256.Sum256([]byte(state))
	return hex.EncodeToString(sum[:])
}

// BeginSignIn keeps a pending sign-in under state until ttl has passed,
// and forgets those whose time has passed.
func (s *Store) BeginSignIn(ctx context.Context, state string, p PendingSignIn, ttl time.Duration) error {
	now := s.now()
	return s.db.InTx(ctx, "begin sign-in", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM oidc_logins WHERE expires_at < $1`, s.ts(now)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO oidc_logins (state_hash, nonce, verifier, next, expires_at) VALUES ($1, $2, $3, $4, $5)`,
			stateHash(state), p.Nonce, p.Verifier, p.Next, s.ts(now.Add(ttl)))
		return err
	})
}

// TakeSignIn returns the pending sign-in of state and forgets it, so that
// each is used once; ErrNotFound when there is none or its time passed.
func (s *Store) TakeSignIn(ctx context.Context, state string) (PendingSignIn, error) {
	var p PendingSignIn
	var expires time.Time
	err := s.db.InTx(ctx, "take sign-in", func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `DELETE FROM oidc_logins WHERE state_hash = $1 RETURNING nonce, verifier, next, expires_at`, stateHash(state)).
			Scan(&p.Nonce, &p.Verifier, &p.Next, records.Time(&expires))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		return err
	})
	if err != nil {
		return PendingSignIn{}, err
	}
	if s.now().After(expires) {
		return PendingSignIn{}, ErrNotFound
	}
	return p, nil
}
