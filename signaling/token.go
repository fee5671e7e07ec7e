package signaling

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Roles. Staff roles are not bound to a room; guest roles are scoped to one room
// (later one appointment); a gateway only delivers home-device data.
const (
	RoleClinician   = "clinician"
	RoleScheduler   = "scheduler"
	RoleAdmin       = "admin"
	RolePatient     = "patient"
	RoleRelative    = "relative"
	RoleInterpreter = "interpreter"
	RoleGateway     = "gateway"
)

// Roles lists every role.
var Roles = []string{RoleClinician, RoleScheduler, RoleAdmin, RolePatient, RoleRelative, RoleInterpreter, RoleGateway}

// IsGuest reports whether role is scoped to a single room.
func IsGuest(role string) bool {
	return role == RolePatient || role == RoleRelative || role == RoleInterpreter
}

func validRole(role string) bool {
	for _, r := range Roles {
		if r == role {
			return true
		}
	}
	return false
}

// issuer is the JWT "iss" of every token vclinic signs.
const issuer = "vclinic"

// SessionCookie is the name of the HttpOnly cookie that may carry a token.
const SessionCookie = "vclinic_session"

// Claims are the JWT claims of a vclinic access token (RFC 7519).
type Claims struct {
	Role string `json:"role"`
	Name string `json:"name,omitempty"`
	// Room scopes a guest token to one room; empty for staff.
	Room string `json:"room,omitempty"`
	// Appt names the appointment a guest's invitation belongs to; its room is
	// the appointment id, and it passes through the waiting room.
	Appt string `json:"appt,omitempty"`
	// Session is the staff session (sign-in) the token belongs to.
	Session string `json:"sid,omitempty"`
	jwt.RegisteredClaims
}

// MayJoin reports whether the claims' role allows entering room's call:
// ErrForbidden if not. Clinicians pass here (an appointment's room is further
// kept to the appointment's own clinician, see checkPractitioner); patients,
// relatives and interpreters only the room in their token; schedulers, admins
// and gateways join no calls.
func (c *Claims) MayJoin(room string) error {
	switch {
	case c.Role == RoleClinician:
		return nil
	case IsGuest(c.Role):
		if c.Room != "" && c.Room == room {
			return nil
		}
		return fmt.Errorf("%w: %s token for another room", ErrForbidden, c.Role)
	default:
		return fmt.Errorf("%w: role %s does not join calls", ErrForbidden, c.Role)
	}
}

var roomIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidRoomID reports whether id can name a room: 1-64 letters, digits, - or _.
func ValidRoomID(id string) bool { return roomIDPattern.MatchString(id) }

// keyFileSuffix ends a signing key file's name.
const keyFileSuffix = ".key"

// Keyring holds the Ed25519 keys that sign and verify tokens. The keys live in
// a KeyStore: a directory of PKCS #8 PEM files (one node, DirKeys) or a table
// of the clinic's records shared by every node of a cluster. Keys rotate: the
// newest signs, older ones verify until removed. A token signed with a key
// the keyring has not seen makes it read the store again (at most once a
// second), so that a key another node made verifies at once.
type Keyring struct {
	store KeyStore
	now   func() time.Time

	mu       sync.RWMutex // guards the following
	keys     map[string]ed25519.PrivateKey
	created  map[string]time.Time
	active   string
	reloaded time.Time // when the store was last read for an unknown key
}

// StoredKey is one signing key as a KeyStore keeps it.
type StoredKey struct {
	ID      string    // keyID of its public key
	Created time.Time // the newest signs
	DER     []byte    // PKCS #8
}

// KeyStore keeps a keyring's keys.
type KeyStore interface {
	// Keys answers every key stored.
	Keys(ctx context.Context) ([]StoredKey, error)
	// Add stores a new key.
	Add(ctx context.Context, k StoredKey) error
}

// SetClock sets the clock that signing and verifying read (time.Now unless
// set), for tests that need tokens to expire.
func (k *Keyring) SetClock(now func() time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.now = now
}

// clock reads the keyring's clock.
func (k *Keyring) clock() time.Time {
	k.mu.RLock()
	now := k.now
	k.mu.RUnlock()
	return now()
}

// OpenKeyring loads the keys in dir, creating dir and a first key if there are none.
func OpenKeyring(dir string) (*Keyring, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("keyring %s: %w", dir, err)
	}
	return OpenKeyStore(context.Background(), DirKeys(dir))
}

// OpenKeyStore loads the keys store keeps, and makes a first one if there
// are none.
func OpenKeyStore(ctx context.Context, store KeyStore) (*Keyring, error) {
	k := &Keyring{store: store, now: time.Now, keys: map[string]ed25519.PrivateKey{}, created: map[string]time.Time{}}
	if err := k.Reload(ctx); err != nil {
		return nil, err
	}
	k.mu.RLock()
	none := len(k.keys) == 0
	k.mu.RUnlock()
	if none {
		if _, err := k.Rotate(ctx); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// Reload reads the store again: keys another node added verify, and the
// newest of all signs.
func (k *Keyring) Reload(ctx context.Context) error {
	stored, err := k.store.Keys(ctx)
	if err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, sk := range stored {
		if _, ok := k.keys[sk.ID]; ok {
			continue
		}
		parsed, err := x509.ParsePKCS8PrivateKey(sk.DER)
		if err != nil {
			return fmt.Errorf("keyring: key %s: %w", sk.ID, err)
		}
		priv, ok := parsed.(ed25519.PrivateKey)
		if !ok {
			return fmt.Errorf("keyring: key %s: not an Ed25519 key", sk.ID)
		}
		kid := keyID(priv.Public().(ed25519.PublicKey))
		if kid != sk.ID {
			return fmt.Errorf("keyring: key %s holds the key of %s", sk.ID, kid)
		}
		k.keys[kid], k.created[kid] = priv, sk.Created
	}
	for kid, at := range k.created {
		if a, ok := k.created[k.active]; !ok || at.After(a) || (at.Equal(a) && kid > k.active) {
			k.active = kid
		}
	}
	return nil
}

// keyID derives a key id from the public key: the first 12 bytes of its SHA-256,
// base64url. Stable across nodes that share the key.
func keyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

// Rotate creates a new signing key, stores it and makes it the active one;
// older keys keep verifying. It returns the new key id.
func (k *Keyring) Rotate(ctx context.Context) (string, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", fmt.Errorf("keyring: generate: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", fmt.Errorf("keyring: marshal: %w", err)
	}
	sk := StoredKey{ID: keyID(priv.Public().(ed25519.PublicKey)), Created: k.clock().UTC(), DER: der}
	if err := k.store.Add(ctx, sk); err != nil {
		return "", fmt.Errorf("keyring: %w", err)
	}
	k.mu.Lock()
	k.keys[sk.ID], k.created[sk.ID] = priv, sk.Created
	k.active = sk.ID
	k.mu.Unlock()
	return sk.ID, nil
}

// verificationKey finds the public key of kid, reading the store again
// (at most once a second) when it is not known.
func (k *Keyring) verificationKey(kid string) (ed25519.PublicKey, error) {
	k.mu.RLock()
	priv, ok := k.keys[kid]
	recent := time.Since(k.reloaded) < time.Second
	k.mu.RUnlock()
	if !ok && !recent {
		k.mu.Lock()
		k.reloaded = time.Now()
		k.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := k.Reload(ctx)
		cancel()
		if err != nil {
			return nil, err
		}
		k.mu.RLock()
		priv, ok = k.keys[kid]
		k.mu.RUnlock()
	}
	if !ok {
		return nil, fmt.Errorf("unknown key id %q", kid)
	}
	return priv.Public().(ed25519.PublicKey), nil
}

// DirKeys keeps keys as PKCS #8 PEM files named <creation time>-<kid>.key
// (mode 0600) in a directory: the keys of one node.
type DirKeys string

// Keys implements KeyStore.
func (d DirKeys) Keys(context.Context) ([]StoredKey, error) {
	entries, err := os.ReadDir(string(d))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", d, err)
	}
	var out []StoredKey
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, keyFileSuffix) {
			continue
		}
		path := filepath.Join(string(d), name)
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		block, _ := pem.Decode(raw)
		if block == nil || block.Type != "PRIVATE KEY" {
			return nil, fmt.Errorf("%s: not a PEM private key", path)
		}
		parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		priv, ok := parsed.(ed25519.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("%s: not an Ed25519 key", path)
		}
		// Names start with the creation time; the file's own time is the
		// fallback for a name that does not.
		created, err := time.Parse(keyTimeLayout, strings.SplitN(name, "-", 2)[0])
		if err != nil {
			if info, err := e.Info(); err == nil {
				created = info.ModTime()
			}
		}
		out = append(out, StoredKey{ID: keyID(priv.Public().(ed25519.PublicKey)), Created: created.UTC(), DER: block.Bytes})
	}
	return out, nil
}

// keyTimeLayout is how a key file's name begins: its creation time.
const keyTimeLayout = "20060102T150405.000000000Z"

// Add implements KeyStore: it writes the file and syncs it.
func (d DirKeys) Add(_ context.Context, k StoredKey) error {
	path := filepath.Join(string(d), k.Created.UTC().Format(keyTimeLayout)+"-"+k.ID+keyFileSuffix)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: k.DER}); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	return nil
}

// TokenRequest describes a token to sign.
type TokenRequest struct {
	Role    string
	Subject string
	Name    string
	Room    string
	// Appt binds a guest token to an appointment; Room is then the
	// appointment id too (set automatically when empty).
	Appt string
	// Session names the staff session the token belongs to (a sign-in),
	// so that the session's end ends the token; staff only.
	Session string
	TTL     time.Duration
}

// maxTTL bounds any token's lifetime.
const maxTTL = 400 * 24 * time.Hour

// Sign issues a token. Guests need a room; staff tokens carry none.
func (k *Keyring) Sign(req TokenRequest) (string, error) {
	if !validRole(req.Role) {
		return "", fmt.Errorf("sign: unknown role %q (want one of %s)", req.Role, strings.Join(Roles, ", "))
	}
	if req.Subject == "" || len(req.Subject) > 128 {
		return "", fmt.Errorf("sign: subject: want 1-128 characters")
	}
	if req.Appt != "" {
		if !IsGuest(req.Role) {
			return "", fmt.Errorf("sign: a %s token is not bound to an appointment", req.Role)
		}
		if req.Room == "" {
			req.Room = req.Appt
		}
		if req.Room != req.Appt {
			return "", fmt.Errorf("sign: an appointment token's room is the appointment id")
		}
	}
	if IsGuest(req.Role) && req.Room == "" {
		return "", fmt.Errorf("sign: a %s token needs a room", req.Role)
	}
	if req.Session != "" && (IsGuest(req.Role) || req.Role == RoleGateway) {
		return "", fmt.Errorf("sign: a %s token belongs to no staff session", req.Role)
	}
	if !IsGuest(req.Role) && req.Room != "" {
		return "", fmt.Errorf("sign: a %s token is not scoped to a room", req.Role)
	}
	if req.Room != "" && !ValidRoomID(req.Room) {
		return "", fmt.Errorf("sign: room %q: want 1-64 letters, digits, - or _", req.Room)
	}
	if req.TTL <= 0 || req.TTL > maxTTL {
		return "", fmt.Errorf("sign: ttl %s: want more than 0 and at most %s", req.TTL, maxTTL)
	}
	now := k.clock()
	jti := make([]byte, 12)
	if _, err := rand.Read(jti); err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	claims := Claims{
		Role:    req.Role,
		Name:    req.Name,
		Room:    req.Room,
		Appt:    req.Appt,
		Session: req.Session,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    issuer,
			Subject:   req.Subject,
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)),
			ExpiresAt: jwt.NewNumericDate(now.Add(req.TTL)),
			ID:        base64.RawURLEncoding.EncodeToString(jti),
		},
	}
	k.mu.RLock()
	kid, priv := k.active, k.keys[k.active]
	k.mu.RUnlock()
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(priv)
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return s, nil
}

// Verify checks a token's signature, key id, issuer and lifetime (30 s leeway for
// clock skew between nodes) and returns its claims, or ErrInvalidToken.
func (k *Keyring) Verify(token string) (*Claims, error) {
	var claims Claims
	_, err := jwt.ParseWithClaims(token, &claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		return k.verificationKey(kid)
	},
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithIssuer(issuer),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(30*time.Second),
		jwt.WithTimeFunc(k.clock),
	)
	expired := errors.Is(err, jwt.ErrTokenExpired)
	if err != nil && !(expired && onlyExpired(err)) {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if !validRole(claims.Role) || claims.Subject == "" {
		return nil, fmt.Errorf("%w: missing role or subject", ErrInvalidToken)
	}
	if IsGuest(claims.Role) && claims.Room == "" {
		return nil, fmt.Errorf("%w: %s token without a room", ErrInvalidToken, claims.Role)
	}
	if claims.Appt != "" && (!IsGuest(claims.Role) || claims.Room != claims.Appt) {
		return nil, fmt.Errorf("%w: inconsistent appointment scope", ErrInvalidToken)
	}
	if expired {
		// Well signed and only past its expiry: the claims come back with
		// the error, so that an invitation whose appointment was moved
		// later can be honoured by who knows the appointment.
		return &claims, fmt.Errorf("%w: %w", ErrTokenExpired, err)
	}
	return &claims, nil
}

// onlyExpired reports whether a jwt validation error says nothing but that
// the token expired (jwt/v5 joins every failed check into one error).
func onlyExpired(err error) bool {
	for _, e := range []error{jwt.ErrTokenMalformed, jwt.ErrTokenUnverifiable, jwt.ErrTokenSignatureInvalid,
		jwt.ErrTokenRequiredClaimMissing, jwt.ErrTokenInvalidAudience, jwt.ErrTokenUsedBeforeIssued,
		jwt.ErrTokenInvalidIssuer, jwt.ErrTokenInvalidSubject, jwt.ErrTokenNotValidYet, jwt.ErrTokenInvalidId} {
		if errors.Is(err, e) {
			return false
		}
	}
	return true
}

// FromRequest finds and verifies the token of an HTTP request: an
// "Authorization: Bearer" header, a WebSocket subprotocol "access_token.<jwt>", or
// the session cookie, in that order. ErrInvalidToken if none is present or valid.
func (k *Keyring) FromRequest(r *http.Request) (*Claims, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return nil, fmt.Errorf("%w: Authorization is not a Bearer token", ErrInvalidToken)
		}
		return k.Verify(strings.TrimSpace(tok))
	}
	for _, p := range websocketProtocols(r) {
		if tok, ok := strings.CutPrefix(p, TokenSubprotocolPrefix); ok {
			return k.Verify(tok)
		}
	}
	if c, err := r.Cookie(SessionCookie); err == nil {
		return k.Verify(c.Value)
	}
	return nil, fmt.Errorf("%w: no token", ErrInvalidToken)
}

func websocketProtocols(r *http.Request) []string {
	var out []string
	for _, h := range r.Header.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(h, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// StatusFor maps an authentication or authorisation error to its HTTP status.
func StatusFor(err error) int {
	switch {
	case errors.Is(err, ErrInvalidToken):
		return http.StatusUnauthorized
	case errors.Is(err, ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, ErrUnavailable):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}
