package scheduler

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseRoleMap(t *testing.T) {
	m, err := ParseRoleMap(" clinician=RH-Læger, clinician=RH-Sygeplejersker,scheduler=RH-Sekretærer,admin=RH-Admin ")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"RH-Læger": RoleClinician, "RH-Sygeplejersker": RoleClinician, "RH-Sekretærer": RoleScheduler, "RH-Admin": RoleAdmin}
	if len(m) != len(want) {
		t.Fatalf("%v", m)
	}
	for k, v := range want {
		if m[k] != v {
			t.Fatalf("%s: %q, want %q", k, m[k], v)
		}
	}
	for _, bad := range []string{"", ",", "clinician", "doctor=RH-Læger", "clinician=", "clinician=X,admin=X"} {
		if _, err := ParseRoleMap(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestClaimValues(t *testing.T) {
	claims := map[string]any{
		"groups":                       []any{"a", 5, "b"},
		"role":                         "admin",
		"realm_access":                 map[string]any{"roles": []any{"RH-Admin"}},
		"https://region.dk/claims/rol": []any{"x"},
		"n":                            5,
	}
	for name, want := range map[string][]string{
		"groups": {"a", "b"}, "role": {"admin"}, "realm_access.roles": {"RH-Admin"},
		"https://region.dk/claims/rol": {"x"}, "n": nil, "missing": nil, "realm_access.missing": nil, "role.x": nil,
	} {
		if got := claimValues(claims, name); !slices.Equal(got, want) {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
}

func TestRoleFromProvider(t *testing.T) {
	for _, c := range []struct {
		current string
		roles   []string
		want    string
	}{
		{RoleClinician, []string{RoleClinician, RoleAdmin}, RoleClinician},
		{RoleScheduler, []string{RoleAdmin}, RoleAdmin},
		{RoleScheduler, []string{RoleAdmin, RoleAdmin}, RoleAdmin},
		{RoleScheduler, nil, ""},
		{RoleScheduler, []string{"patient"}, ""},
		{RoleScheduler, []string{RoleAdmin, RoleClinician}, ""},
	} {
		if got, why := roleFromProvider(c.current, c.roles); got != c.want || (got == "") == (why == "") {
			t.Errorf("%s with %v: %q (%q), want %q", c.current, c.roles, got, why, c.want)
		}
	}
}

func TestSafeNext(t *testing.T) {
	for next, want := range map[string]string{
		"/console": "/console", "/call/a?x=1#t": "/call/a?x=1#t", "": "", "console": "",
		"//evil.example/": "", "/\\evil.example": "", "https://evil.example/": "", "/a\r\nb": "",
	} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, want)
		}
	}
}

func TestPlainAddress(t *testing.T) {
	for _, ok := range []string{"anna.holm@regionh.dk", "a+b@x.io"} {
		if !plainAddress(ok) {
			t.Errorf("%q refused", ok)
		}
	}
	for _, bad := range []string{"", "anna", "@regionh.dk", "anna@", "anna@dk", "anna@.dk", "a b@x.dk", "a@b@x.dk", "a@x.dk.", "<a@x.dk>", "søren@x.dk", strings.Repeat("a", 250) + "@x.dk"} {
		if plainAddress(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
}

// testUsersEmail: a user with an e-mail and no password signs
// in only through the identity provider; without either, refused; e-mails
// are unique.
func testUsersEmail(t *testing.T, f *storeFixture) {
	s, ctx := f.s, f.ctx
	u, err := s.AddUser(ctx, System, NewUser{Username: "anna", Name: "Anna", Role: RoleClinician, Email: " Anna.Holm@RegionH.dk "})
	if err != nil {
		t.Fatal(err)
	}
	if u.Email != "anna.holm@regionh.dk" {
		t.Fatalf("e-mail kept as %q", u.Email)
	}
	if got, err := s.GetUser(ctx, u.ID); err != nil || got.Email != u.Email {
		t.Fatalf("read back %+v %v", got, err)
	}
	if _, err := s.Authenticate(ctx, "anna", "", "127.0.0.1"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("empty password against none: %v", err)
	}
	if _, err := s.AddUser(ctx, System, NewUser{Username: "bo", Name: "Bo", Role: RoleClinician}); !errors.Is(err, ErrUnprocessable) {
		t.Fatalf("no password, no e-mail: %v", err)
	}
	if _, err := s.AddUser(ctx, System, NewUser{Username: "bo", Name: "Bo", Role: RoleClinician, Email: "anna.holm@regionh.dk"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("a second user with the e-mail: %v", err)
	}
	if _, err := s.AddUser(ctx, System, NewUser{Username: "bo", Name: "Bo", Role: RoleClinician, Email: "bo"}); !errors.Is(err, ErrUnprocessable) {
		t.Fatalf("a bad e-mail: %v", err)
	}
}

// testExternalSignIn: matched by verified e-mail once, by subject after;
// an e-mail already matched to another subject is refused; each pending
// sign-in is taken once and not after its time.
func testExternalSignIn(t *testing.T, f *storeFixture) {
	s, ctx := f.s, f.ctx
	u, err := s.AddUser(ctx, System, NewUser{Username: "anna", Name: "Anna", Role: RoleClinician, Email: "anna@regionh.dk"})
	if err != nil {
		t.Fatal(err)
	}
	id := ExternalIdentity{Issuer: "https://login.regionh.dk", Subject: "s-1", Email: "ANNA@regionh.dk", EmailVerified: true, Roles: []string{RoleClinician}}
	if got, err := s.SignInExternal(ctx, id, "10.0.0.1"); err != nil || got.ID != u.ID {
		t.Fatalf("first sign-in: %+v %v", got, err)
	}
	// By subject now, whatever the e-mail says.
	id.Email, id.EmailVerified = "", false
	if got, err := s.SignInExternal(ctx, id, "10.0.0.1"); err != nil || got.ID != u.ID {
		t.Fatalf("second sign-in: %+v %v", got, err)
	}
	// Another subject with the same e-mail does not take the account.
	other := ExternalIdentity{Issuer: id.Issuer, Subject: "s-2", Email: "anna@regionh.dk", EmailVerified: true, Roles: []string{RoleClinician}}
	if _, err := s.SignInExternal(ctx, other, "10.0.0.1"); !errors.Is(err, ErrForbidden) || !strings.Contains(Reason(err), "another sign-in") {
		t.Fatalf("another subject: %v", err)
	}
	// Nor does the same subject of another issuer.
	other = ExternalIdentity{Issuer: "https://evil.example", Subject: "s-1", Roles: []string{RoleClinician}}
	if _, err := s.SignInExternal(ctx, other, "10.0.0.1"); !errors.Is(err, ErrForbidden) {
		t.Fatalf("another issuer: %v", err)
	}

	p := PendingSignIn{Nonce: "n", Verifier: "v", Next: "/console"}
	if err := s.BeginSignIn(ctx, "state-1", p, time.Minute); err != nil {
		t.Fatal(err)
	}
	if got, err := s.TakeSignIn(ctx, "state-1"); err != nil || got != p {
		t.Fatalf("take: %+v %v", got, err)
	}
	if _, err := s.TakeSignIn(ctx, "state-1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("taken twice: %v", err)
	}
	if err := s.BeginSignIn(ctx, "state-2", p, -time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TakeSignIn(ctx, "state-2"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("taken after its time: %v", err)
	}
}
