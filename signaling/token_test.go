package signaling

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func testKeyring(t *testing.T) *Keyring {
	t.Helper()
	k, err := OpenKeyring(filepath.Join(t.TempDir(), "keys"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustSign(t *testing.T, k *Keyring, req TokenRequest) string {
	t.Helper()
	if req.TTL == 0 {
		req.TTL = time.Hour
	}
	tok, err := k.Sign(req)
	if err != nil {
		t.Fatalf("Sign(%+v): %v", req, err)
	}
	return tok
}

// TestScopes checks every role against its own room, another room, and no room.
func TestScopes(t *testing.T) {
	k := testKeyring(t)
	const roomA, roomB = "room-a", "room-b"
	for _, role := range Roles {
		var room string
		if IsGuest(role) {
			room = roomA
		}
		tok := mustSign(t, k, TokenRequest{Role: role, Subject: "s-" + role, Room: room})
		claims, err := k.Verify(tok)
		if err != nil {
			t.Fatalf("%s: Verify: %v", role, err)
		}
		for _, target := range []string{roomA, roomB} {
			t.Run(role+"/"+target, func(t *testing.T) {
				err := claims.MayJoin(target)
				var want bool
				switch {
				case role == RoleClinician:
					want = true
				case IsGuest(role):
					want = target == roomA
				}
				if (err == nil) != want {
					t.Fatalf("MayJoin(%s) = %v, want allowed=%v", target, err, want)
				}
				if err != nil && !errors.Is(err, ErrForbidden) {
					t.Fatalf("MayJoin error %v is not ErrForbidden", err)
				}
			})
		}
	}
}

func TestSignRefuses(t *testing.T) {
	k := testKeyring(t)
	tests := []struct {
		name string
		req  TokenRequest
	}{
		{"unknown role", TokenRequest{Role: "doctor", Subject: "s", TTL: time.Hour}},
		{"no subject", TokenRequest{Role: RoleClinician, TTL: time.Hour}},
		{"guest without room", TokenRequest{Role: RolePatient, Subject: "s", TTL: time.Hour}},
		{"staff with room", TokenRequest{Role: RoleClinician, Subject: "s", Room: "a", TTL: time.Hour}},
		{"bad room id", TokenRequest{Role: RolePatient, Subject: "s", Room: "a/../b", TTL: time.Hour}},
		{"zero ttl", TokenRequest{Role: RoleClinician, Subject: "s"}},
		{"ttl too long", TokenRequest{Role: RoleClinician, Subject: "s", TTL: 401 * 24 * time.Hour}},
		{"staff bound to appointment", TokenRequest{Role: RoleClinician, Subject: "s", Appt: "a1", TTL: time.Hour}},
		{"appointment in another room", TokenRequest{Role: RolePatient, Subject: "s", Appt: "a1", Room: "a2", TTL: time.Hour}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tok, err := k.Sign(tc.req); err == nil {
				t.Fatalf("Sign(%+v) = %q, want an error", tc.req, tok)
			}
		})
	}
}

func TestVerifyRefuses(t *testing.T) {
	k := testKeyring(t)
	other := testKeyring(t)
	good := mustSign(t, k, TokenRequest{Role: RolePatient, Subject: "p", Room: "a"})
	foreign := mustSign(t, other, TokenRequest{Role: RolePatient, Subject: "p", Room: "a"})

	past := time.Now().Add(-2 * time.Hour)
	k.now = func() time.Time { return past }
	expired := mustSign(t, k, TokenRequest{Role: RolePatient, Subject: "p", Room: "a", TTL: time.Hour})
	k.now = time.Now

	parts := strings.Split(good, ".")
	tampered := parts[0] + "." + parts[1] + "x." + parts[2]
	unsigned := parts[0] + "." + parts[1] + "."
	// alg none header: {"alg":"none","typ":"JWT"}
	none := "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + parts[1] + "."

	for name, tok := range map[string]string{
		"empty": "", "garbage": "not-a-token", "foreign key": foreign, "expired": expired,
		"tampered": tampered, "unsigned": unsigned, "alg none": none,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := k.Verify(tok)
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("Verify = %v, want ErrInvalidToken", err)
			}
			if StatusFor(err) != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", StatusFor(err))
			}
		})
	}
	if _, err := k.Verify(good); err != nil {
		t.Fatalf("good token: %v", err)
	}
	// An expired token's claims come back with ErrTokenExpired, for the
	// caller that may honour a moved appointment; a tampered or foreign one
	// gives nothing, expired or not.
	claims, err := k.Verify(expired)
	if !errors.Is(err, ErrTokenExpired) || claims == nil || claims.Subject != "p" {
		t.Errorf("expired token: %+v, %v; want its claims and ErrTokenExpired", claims, err)
	}
	other.now = func() time.Time { return past }
	expiredForeign := mustSign(t, other, TokenRequest{Role: RolePatient, Subject: "p", Room: "a", TTL: time.Hour})
	for name, tok := range map[string]string{"foreign key": foreign, "tampered": tampered, "alg none": none, "expired and foreign": expiredForeign} {
		if claims, err := k.Verify(tok); claims != nil || errors.Is(err, ErrTokenExpired) {
			t.Errorf("%s: claims %+v, %v", name, claims, err)
		}
	}
}

func TestKeyringPersistsAndRotates(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	k1, err := OpenKeyring(dir)
	if err != nil {
		t.Fatal(err)
	}
	old := mustSign(t, k1, TokenRequest{Role: RoleClinician, Subject: "c"})
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("%d key files, want 1", len(entries))
	}
	info, _ := entries[0].Info()
	if info.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", info.Mode().Perm())
	}
	if _, err := k1.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	fresh := mustSign(t, k1, TokenRequest{Role: RoleClinician, Subject: "c"})

	// A second node opening the same directory verifies both and signs with the newest.
	k2, err := OpenKeyring(dir)
	if err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{"old": old, "fresh": fresh} {
		if _, err := k2.Verify(tok); err != nil {
			t.Errorf("%s token on second node: %v", name, err)
		}
	}
	if k2.active != k1.active {
		t.Errorf("second node signs with %s, want the newest key %s", k2.active, k1.active)
	}
}

func TestFromRequest(t *testing.T) {
	k := testKeyring(t)
	tok := mustSign(t, k, TokenRequest{Role: RolePatient, Subject: "p", Room: "a"})
	tests := []struct {
		name   string
		set    func(r *http.Request)
		wantOK bool
	}{
		{"bearer", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }, true},
		{"subprotocol", func(r *http.Request) {
			r.Header.Set("Sec-WebSocket-Protocol", ProtocolName+", "+TokenSubprotocolPrefix+tok)
		}, true},
		{"cookie", func(r *http.Request) { r.AddCookie(&http.Cookie{Name: SessionCookie, Value: tok}) }, true},
		{"basic auth", func(r *http.Request) { r.SetBasicAuth("u", "p") }, false},
		{"nothing", func(r *http.Request) {}, false},
		{"query is ignored", func(r *http.Request) { r.URL.RawQuery = "token=" + tok }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/ws?room=a", nil)
			tc.set(r)
			c, err := k.FromRequest(r)
			if (err == nil) != tc.wantOK {
				t.Fatalf("FromRequest = %v, want ok=%v", err, tc.wantOK)
			}
			if err == nil && c.Subject != "p" {
				t.Fatalf("subject %q", c.Subject)
			}
		})
	}
}

// memKeys is a KeyStore in memory, shared like a table of the records.
type memKeys struct {
	mu   sync.Mutex
	keys []StoredKey
}

func (m *memKeys) Keys(context.Context) ([]StoredKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.keys), nil
}

func (m *memKeys) Add(_ context.Context, k StoredKey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.keys = append(m.keys, k)
	return nil
}

// TestSharedKeys: nodes that share a key store verify each other's tokens,
// a key one node makes verifies at once on the others, and the newest key
// signs everywhere after a reload.
func TestSharedKeys(t *testing.T) {
	ctx := context.Background()
	store := &memKeys{}
	a, err := OpenKeyStore(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	b, err := OpenKeyStore(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	if len(store.keys) != 1 {
		t.Fatalf("%d keys after two nodes started, want the first node's one", len(store.keys))
	}
	tok := mustSign(t, a, TokenRequest{Role: RoleClinician, Subject: "c"})
	if _, err := b.Verify(tok); err != nil {
		t.Fatalf("node b verifies node a's token: %v", err)
	}
	kid, err := a.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fresh := mustSign(t, a, TokenRequest{Role: RoleClinician, Subject: "c"})
	if _, err := b.Verify(fresh); err != nil {
		t.Fatalf("node b verifies a token of node a's new key: %v", err)
	}
	b.mu.RLock()
	active := b.active
	b.mu.RUnlock()
	if active != kid {
		t.Errorf("node b signs with %s, want the newest key %s", active, kid)
	}
	// A token of a key no store holds stays refused.
	other, err := OpenKeyStore(ctx, &memKeys{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Verify(mustSign(t, other, TokenRequest{Role: RoleClinician, Subject: "c"})); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("a foreign token: %v", err)
	}
}
