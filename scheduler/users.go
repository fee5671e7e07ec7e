package scheduler

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"

	"vclinic/internal/records"
)

// Staff roles.
const (
	RoleClinician = "clinician"
	RoleScheduler = "scheduler"
	RoleAdmin     = "admin"
)

// User is a member of staff who signs in.
type User struct {
	ID        string    `json:"id"`
	Username  string    `json:"username"`
	Name      string    `json:"name"`
	Role      string    `json:"role"` // RoleClinician, RoleScheduler or RoleAdmin
	Email     string    `json:"email,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
}

// Actor is the user as the actor of store calls.
func (u User) Actor() Actor { return Actor{ID: u.ID, Role: u.Role} }

// Password rules.
const (
	minPasswordLen = 10
	maxPasswordLen = 256
)

// CreateUser adds a member of staff with a password, kept only as an
// argon2id hash.
func (s *Store) CreateUser(ctx context.Context, actor Actor, username, name, role, password string) (User, error) {
	return s.AddUser(ctx, actor, NewUser{Username: username, Name: name, Role: role, Password: password})
}

// NewUser is a member of staff to add.
type NewUser struct {
	Username, Name, Role string
	// Password is kept only as an argon2id hash. It may be empty when
	// Email is given: the user then signs in only through the region's
	// identity provider, which finds them by that e-mail the first time.
	Password string
	Email    string
}

// noPassword is the hash of a user without a password: no password
// verifies against it (verifyPassword wants argon2id's PHC form).
const noPassword = "!"

// AddUser adds a member of staff.
func (s *Store) AddUser(ctx context.Context, actor Actor, in NewUser) (User, error) {
	if err := checkActor(actor); err != nil {
		return User{}, err
	}
	u := User{ID: newID(), Username: strings.ToLower(strings.TrimSpace(in.Username)), Name: strings.TrimSpace(in.Name), Role: in.Role,
		Email: strings.ToLower(strings.TrimSpace(in.Email)), CreatedAt: records.Instant(s.now())}
	if err := validUsername(u.Username); err != nil {
		return User{}, err
	}
	switch {
	case u.Name == "":
		return User{}, because(ErrUnprocessable, "name is required")
	case records.CheckText(u.Name, maxName) != "":
		return User{}, because(ErrUnprocessable, "name: %s", records.CheckText(u.Name, maxName))
	case u.Role != RoleClinician && u.Role != RoleScheduler && u.Role != RoleAdmin:
		return User{}, because(ErrUnprocessable, "role must be clinician, scheduler or admin")
	case u.Email != "" && !plainAddress(u.Email):
		return User{}, because(ErrUnprocessable, "e-mail %q: want name@domain", u.Email)
	case in.Password == "" && u.Email == "":
		return User{}, because(ErrUnprocessable, "a password, or an e-mail for signing in through the identity provider, is required")
	case in.Password != "" && len(in.Password) < minPasswordLen:
		return User{}, because(ErrUnprocessable, "password must have at least %d characters", minPasswordLen)
	case len(in.Password) > maxPasswordLen:
		return User{}, because(ErrUnprocessable, "password must have at most %d characters", maxPasswordLen)
	}
	hash := noPassword
	if in.Password != "" {
		free, err := s.passwordWork(ctx)
		if err != nil {
			return User{}, fmt.Errorf("create user: %w", err)
		}
		hash, err = hashPassword(in.Password)
		free()
		if err != nil {
			return User{}, fmt.Errorf("create user: %w", err)
		}
	}
	var email any
	if u.Email != "" {
		email = u.Email
	}
	err := s.db.InTx(ctx, "create user", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO users (id, username, name, role, password_hash, created_at, email)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, u.ID, u.Username, u.Name, u.Role, hash, s.ts(u.CreatedAt), email)
		if records.Unique(err) {
			return because(ErrConflict, "user name %q or e-mail %q is taken", u.Username, u.Email)
		}
		if err != nil {
			return err
		}
		return s.auditRecord(ctx, tx, actor, AuditCreate, "user", u.ID, "", "role "+u.Role)
	})
	if err != nil {
		return User{}, err
	}
	return u, nil
}

func validUsername(n string) error {
	if len(n) < 2 || len(n) > 64 {
		return because(ErrUnprocessable, "user name must have 2 to 64 characters")
	}
	for _, r := range n {
		if !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || strings.ContainsRune(".-_@", r)) {
			return because(ErrUnprocessable, "user name may hold only letters a-z, digits and . - _ @")
		}
	}
	return nil
}

// GetUser returns the user with the id.
func (s *Store) GetUser(ctx context.Context, id string) (User, error) {
	u, _, err := s.userBy(ctx, "id", id)
	if err != nil {
		return User{}, fmt.Errorf("get user %s: %w", id, err)
	}
	return u, nil
}

// userBy reads a user and the password hash by id or username.
func (s *Store) userBy(ctx context.Context, column, value string) (User, string, error) {
	var u User
	var hash string
	var email sql.NullString
	err := s.db.QueryRowContext(ctx, `SELECT id, username, name, role, password_hash, created_at, email FROM users WHERE `+column+` = $1`, value).
		Scan(&u.ID, &u.Username, &u.Name, &u.Role, &hash, records.Time(&u.CreatedAt), &email)
	u.Email = email.String
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, "", ErrNotFound
	}
	if err != nil {
		return User{}, "", err
	}
	return u, hash, nil
}

// dummy is a hash with the current parameters to verify against when the
// user is unknown, so that the answer takes as long as for a known one.
func (s *Store) dummy() string {
	s.dummyOnce.Do(func() {
		h, err := hashPassword(newID())
		if err != nil {
			h = "" // verifyPassword fails fast; only a broken crypto/rand gets here
		}
		s.dummyHash = h
	})
	return s.dummyHash
}

// argon2id parameters: the OWASP Password Storage Cheat Sheet's first
// recommendation (19 MiB, 2 passes, 1 lane), within RFC 9106 §4's bounds.
// A hash records its parameters, so raising them later keeps old hashes valid.
const (
	argonMemory  = 19 * 1024 // KiB
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// hashPassword returns the PHC string form
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key> (unpadded standard base64).
func hashPassword(password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemory, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// verifyPassword reports whether password matches the PHC-form hash.
func verifyPassword(encoded, password string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var version int
	var memory, passes uint32
	var lanes uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &memory, &passes, &lanes); err != nil {
		return false
	}
	if memory == 0 || memory > 1<<20 || passes == 0 || passes > 16 || lanes == 0 {
		return false // not a hash we would write; refuse rather than burn memory
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, passes, memory, lanes, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}
