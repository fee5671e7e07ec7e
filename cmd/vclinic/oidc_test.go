package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"

	"vclinic/scheduler"
)

// regionIdP is an OpenID Connect provider as a Danish region runs one: the
// zitadel/oidc example provider (authorization code flow, PKCE, discovery,
// signed ID tokens, UserInfo), whose users also carry group memberships,
// given in the "groups" claim of the UserInfo as Keycloak and Entra ID do.
type regionIdP struct {
	*storage.Storage
	groups map[string][]string // by user id
}

func (s *regionIdP) SetUserinfoFromToken(ctx context.Context, ui *zoidc.UserInfo, tokenID, subject, origin string) error {
	if err := s.Storage.SetUserinfoFromToken(ctx, ui, tokenID, subject, origin); err != nil {
		return err
	}
	if g, ok := s.groups[ui.Subject]; ok {
		ui.AppendClaims("groups", g)
	}
	return nil
}

// idpUser is one account at the provider.
type idpUser struct {
	ID, Username, Email string
	EmailVerified       bool
	Groups              []string
}

const idpPassword = "region-password-1"

// startRegionIdP starts the provider with users and the clinic registered
// as a confidential client with secret and redirect URI redirect (a public
// client when secret is empty). While down is set, the provider answers 503
// to everything.
func startRegionIdP(t *testing.T, redirect, secret string, users []idpUser) (issuer string, down *atomic.Bool) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer = "http://" + ln.Addr().String()
	accounts := map[string]*storage.User{}
	groups := map[string][]string{}
	for _, u := range users {
		accounts[u.ID] = &storage.User{ID: u.ID, Username: u.Username, Password: idpPassword, FirstName: u.Username,
			LastName: "Region", Email: u.Email, EmailVerified: u.EmailVerified}
		groups[u.ID] = u.Groups
	}
	b, err := json.Marshal(accounts)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "users.json")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	us, err := storage.StoreFromFile(file)
	if err != nil {
		t.Fatal(err)
	}
	client := storage.WebClient("vclinic", secret, redirect)
	if secret == "" {
		client = storage.NativeClient("vclinic", redirect)
	}
	st := &regionIdP{Storage: storage.NewStorageWithClients(us, map[string]*storage.Client{"vclinic": client}), groups: groups}
	op := exampleop.SetupServer(issuer, st, nil, false)
	down = &atomic.Bool{}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		op.ServeHTTP(w, r)
	})}}
	srv.Start()
	t.Cleanup(srv.Close)
	return issuer, down
}

// oidcClinic is a clinic whose staff sign in at a region's provider.
type oidcClinic struct {
	*apiClinic
	issuer string
}

func newOIDCClinic(t *testing.T, users []idpUser) *oidcClinic {
	t.Helper()
	// The clinic's address must be known to register its redirect URI, and
	// the provider's to configure the clinic: the clinic listens first.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	secretFile := filepath.Join(t.TempDir(), "oidc-secret")
	if err := os.WriteFile(secretFile, []byte("clinic-secret-at-the-region\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	issuer, _ := startRegionIdP(t, "http://"+addr+"/auth/callback", "clinic-secret-at-the-region", users)
	a := newAPIClinicOn(t, ln, func(c *serveConfig) {
		c.OIDCIssuer = issuer
		c.OIDCClientID = "vclinic"
		c.OIDCSecretFile = secretFile
		c.OIDCRolesClaim = "groups"
		c.OIDCRoleMap = "clinician=RH-Video-Klinikere,scheduler=RH-Sekretaerer,admin=RH-Video-Admin"
		if err := c.validateOIDC(); err != nil {
			t.Fatal(err)
		}
	})
	return &oidcClinic{apiClinic: a, issuer: issuer}
}

// browser is a cookie-keeping HTTP client, as a browser is for redirects.
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar}
}

// signInAtRegion goes from the clinic's /auth/login through the provider's
// login form back to the clinic, and answers the last response with its
// body.
func (o *oidcClinic) signInAtRegion(b *http.Client, username, next string) (*http.Response, string) {
	o.t.Helper()
	start := o.srv.URL + "/auth/login"
	if next != "" {
		start += "?next=" + url.QueryEscape(next)
	}
	res, err := b.Get(start)
	if err != nil {
		o.t.Fatal(err)
	}
	res.Body.Close()
	// The provider's login page, with the id of its pending request.
	if !strings.HasPrefix(res.Request.URL.String(), o.issuer+"/login/username") {
		o.t.Fatalf("sign-in did not reach the provider's login page: %d at %s", res.StatusCode, res.Request.URL)
	}
	reqID := res.Request.URL.Query().Get("authRequestID")
	res, err = b.PostForm(o.issuer+"/login/username", url.Values{"id": {reqID}, "username": {username}, "password": {idpPassword}})
	if err != nil {
		o.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

// me asks the clinic who the browser's session is.
func (o *oidcClinic) session(b *http.Client) (int, scheduler.User) {
	o.t.Helper()
	res, err := b.Get(o.srv.URL + "/api/v1/me")
	if err != nil {
		o.t.Fatal(err)
	}
	defer res.Body.Close()
	var u scheduler.User
	if res.StatusCode == http.StatusOK {
		if err := json.NewDecoder(res.Body).Decode(&u); err != nil {
			o.t.Fatal(err)
		}
	}
	return res.StatusCode, u
}

// auditActions lists the audit log's rows of a user as "action detail".
func (o *oidcClinic) auditActions(userID string) []string {
	var out []string
	for _, e := range o.auditLog("") {
		if e.EntityID == userID && e.Entity == "user" {
			out = append(out, e.Action+" "+e.Detail)
		}
	}
	return out
}

// TestOIDCSignIn: staff sign in through the region's identity provider,
// started by the test: the authorization code flow with PKCE; a user is
// matched by e-mail the first time (audited) and by subject after; the
// roles claim decides the role; whoever the clinic does not know, or the
// provider gives no role, or who is disabled, is refused with a page that
// says why; a callback is used once and only in the browser that began it.
func TestOIDCSignIn(t *testing.T) {
	o := newOIDCClinic(t, []idpUser{
		{ID: "region-7f3a", Username: "anna.holm", Email: "Anna.Holm@Regionh.dk", EmailVerified: true, Groups: []string{"RH-Alle", "RH-Video-Klinikere"}},
		{ID: "region-11aa", Username: "mette.lund", Email: "mette.lund@regionh.dk", EmailVerified: true, Groups: []string{"RH-Video-Admin"}},
		{ID: "region-22bb", Username: "stranger", Email: "stranger@regionh.dk", EmailVerified: true, Groups: []string{"RH-Video-Klinikere"}},
		{ID: "region-33cc", Username: "unverified", Email: "ole.berg@regionh.dk", EmailVerified: false, Groups: []string{"RH-Video-Klinikere"}},
		{ID: "region-44dd", Username: "nogroup", Email: "sofie.dahl@regionh.dk", EmailVerified: true, Groups: []string{"RH-Alle"}},
	})
	ctx := context.Background()
	add := func(username, role, email string) scheduler.User {
		u, err := o.c.store.AddUser(ctx, scheduler.System, scheduler.NewUser{Username: username, Name: username, Role: role, Email: email})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	// Anna signs in only at the region: no password here.
	anna := add("anna.sso", scheduler.RoleClinician, "anna.holm@regionh.dk")
	mette := add("mette.sso", scheduler.RoleScheduler, "mette.lund@regionh.dk")
	ole := add("ole.sso", scheduler.RoleClinician, "ole.berg@regionh.dk")
	sofie := add("sofie.sso", scheduler.RoleClinician, "sofie.dahl@regionh.dk")

	// The methods the sign-in page offers.
	res, err := http.Get(o.srv.URL + "/api/v1/login")
	if err != nil {
		t.Fatal(err)
	}
	var methods map[string]any
	_ = json.NewDecoder(res.Body).Decode(&methods)
	res.Body.Close()
	if methods["identityProvider"] != "/auth/login" || methods["password"] != true {
		t.Fatalf("sign-in methods %v", methods)
	}

	// The request sent to the provider asks for a code with PKCE S256, a
	// state and a nonce, and names the clinic's callback.
	noFollow := browser(t)
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err = noFollow.Get(o.srv.URL + "/auth/login")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc, err := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != http.StatusFound || err != nil {
		t.Fatalf("/auth/login: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	q := loc.Query()
	if !strings.HasPrefix(loc.String(), o.issuer) || q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" ||
		q.Get("code_challenge") == "" || q.Get("state") == "" || q.Get("nonce") == "" || q.Get("client_id") != "vclinic" ||
		q.Get("redirect_uri") != o.srv.URL+"/auth/callback" {
		t.Fatalf("authorization request %s", loc)
	}

	// First sign-in: matched by the verified e-mail (case aside), on to
	// the page asked for.
	b := browser(t)
	res, body := o.signInAtRegion(b, "anna.holm", "/console?day=2026-12-07")
	if res.StatusCode != http.StatusOK || res.Request.URL.Path != "/console" || res.Request.URL.Query().Get("day") != "2026-12-07" {
		t.Fatalf("anna's sign-in ended at %d %s: %.300s", res.StatusCode, res.Request.URL, body)
	}
	if code, u := o.session(b); code != http.StatusOK || u.ID != anna.ID || u.Role != scheduler.RoleClinician {
		t.Fatalf("anna's session: %d %+v", code, u)
	}
	got := strings.Join(o.auditActions(anna.ID), " | ")
	if !strings.Contains(got, "link matched by e-mail anna.holm@regionh.dk to subject region-7f3a of "+o.issuer) ||
		!strings.Contains(got, "login identity provider") {
		t.Fatalf("anna's audit rows: %s", got)
	}
	// Again, in another browser: matched by subject, no second link.
	b2 := browser(t)
	if res, body := o.signInAtRegion(b2, "anna.holm", ""); res.Request.URL.Path != "/console" {
		t.Fatalf("anna's second sign-in ended at %d %s: %.300s", res.StatusCode, res.Request.URL, body)
	}
	if n := strings.Count(strings.Join(o.auditActions(anna.ID), "|"), "link matched"); n != 1 {
		t.Fatalf("anna was linked %d times", n)
	}
	// A password sign-in is not possible for her: she has none.
	if code, _, _ := o.login("anna.sso", "any password at all"); code != http.StatusUnauthorized {
		t.Fatalf("password sign-in of a user without one: %d", code)
	}

	// The provider's roles decide: Mette is an admin there now.
	b = browser(t)
	if res, body := o.signInAtRegion(b, "mette.lund", ""); res.Request.URL.Path != "/calendar" {
		t.Fatalf("mette's sign-in ended at %d %s: %.300s", res.StatusCode, res.Request.URL, body)
	}
	if _, u := o.session(b); u.ID != mette.ID || u.Role != scheduler.RoleAdmin {
		t.Fatalf("mette's session: %+v", u)
	}
	if got := strings.Join(o.auditActions(mette.ID), " | "); !strings.Contains(got, "update role scheduler to admin, as the identity provider says") {
		t.Fatalf("mette's audit rows: %s", got)
	}

	// Refusals, each with a page that says why, and no session.
	for _, c := range []struct{ user, want string }{
		{"stranger", "account here has the e-mail stranger@regionh.dk"},
		{"unverified", "gave no verified e-mail"},
		{"nogroup", "gives this account no role here"},
	} {
		b := browser(t)
		res, body := o.signInAtRegion(b, c.user, "")
		if res.StatusCode != http.StatusForbidden || res.Request.URL.Path != "/auth/callback" || !strings.Contains(body, c.want) {
			t.Fatalf("%s: %d at %s: %.400s", c.user, res.StatusCode, res.Request.URL, body)
		}
		if code, _ := o.session(b); code != http.StatusUnauthorized {
			t.Fatalf("%s has a session: %d", c.user, code)
		}
	}
	if got := strings.Join(o.auditActions(sofie.ID), " | "); !strings.Contains(got, "login-failed identity provider: the identity provider gives this account no role") {
		t.Fatalf("sofie's refusal is not on the audit log: %s", got)
	}
	if got := o.auditActions(ole.ID); len(got) != 1 { // created, never linked
		t.Fatalf("an unverified e-mail touched ole's account: %v", got)
	}

	// A disabled user is refused, though matched.
	admin := scheduler.Actor{ID: mette.ID, Role: scheduler.RoleAdmin}
	if err := o.c.store.SetDisabled(ctx, admin, anna.ID, true); err != nil {
		t.Fatal(err)
	}
	b = browser(t)
	if res, body := o.signInAtRegion(b, "anna.holm", ""); res.StatusCode != http.StatusForbidden || !strings.Contains(body, "disabled") {
		t.Fatalf("disabled anna: %d: %.300s", res.StatusCode, body)
	}
	if err := o.c.store.SetDisabled(ctx, admin, anna.ID, false); err != nil {
		t.Fatal(err)
	}

	// The callback works once, and only in the browser that began it.
	b = browser(t)
	var callback string
	b.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Path == "/auth/callback" && strings.HasPrefix(req.URL.String(), o.srv.URL) {
			callback = req.URL.String()
			return http.ErrUseLastResponse
		}
		return nil
	}
	o.signInAtRegion(b, "anna.holm", "")
	if callback == "" {
		t.Fatal("the provider never sent the browser back")
	}
	other := browser(t)
	res, err = other.Get(callback)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(page), "another browser") {
		t.Fatalf("callback in another browser: %d %.300s", res.StatusCode, page)
	}
	b.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err = b.Get(callback)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/console" {
		t.Fatalf("callback: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	// The same URL again, with the state cookie set back by hand: used.
	u, _ := url.Parse(callback)
	b.Jar.SetCookies(u, []*http.Cookie{{Name: "vclinic_oidc", Value: u.Query().Get("state"), Path: "/auth/"}})
	res, err = b.Get(callback)
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(page), "used already") {
		t.Fatalf("callback replayed: %d %.300s", res.StatusCode, page)
	}
}

// TestOIDCProviderDown: while the provider cannot be reached the clinic
// runs, passwords work, and /auth/login says so; once the provider is up,
// sign-in through it works without a restart.
func TestOIDCProviderDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer, down := startRegionIdP(t, "http://"+ln.Addr().String()+"/auth/callback", "", []idpUser{
		{ID: "region-7f3a", Username: "anna.holm", Email: "anna.holm@regionh.dk", EmailVerified: true, Groups: []string{"RH-Video-Klinikere"}},
	})
	down.Store(true)
	a := newAPIClinicOn(t, ln, func(c *serveConfig) {
		c.OIDCIssuer = issuer
		c.OIDCClientID = "vclinic"
		c.OIDCRolesClaim = "groups"
		c.OIDCRoleMap = "clinician=RH-Video-Klinikere"
	})
	res, err := http.Get(a.srv.URL + "/auth/login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusBadGateway || !strings.Contains(string(page), "cannot be reached") {
		t.Fatalf("/auth/login with the provider down: %d %.300s", res.StatusCode, page)
	}
	if code, _, _ := a.login("anna", "a long password 2"); code != http.StatusOK {
		t.Fatalf("password sign-in with the provider down: %d", code)
	}
	// The provider comes back: the next sign-in finds it.
	down.Store(false)
	if _, err := a.c.store.AddUser(context.Background(), scheduler.System,
		scheduler.NewUser{Username: "anna.sso", Name: "Anna", Role: scheduler.RoleClinician, Email: "anna.holm@regionh.dk"}); err != nil {
		t.Fatal(err)
	}
	o := &oidcClinic{apiClinic: a, issuer: issuer}
	b := browser(t)
	if res, body := o.signInAtRegion(b, "anna.holm", ""); res.Request.URL.Path != "/console" {
		t.Fatalf("sign-in once the provider is up ended at %d %s: %.300s", res.StatusCode, res.Request.URL, body)
	}
}

// TestOIDCSignInBrowser: in Chromium, the sign-in page offers the region's
// login when there is one; the provider's form signs the clinician in and
// the clinic's day list opens.
func TestOIDCSignInBrowser(t *testing.T) {
	requireBrowser(t, "chromium")
	o := newOIDCClinic(t, []idpUser{
		{ID: "region-7f3a", Username: "anna.holm", Email: "anna.holm@regionh.dk", EmailVerified: true, Groups: []string{"RH-Video-Klinikere"}},
	})
	if _, err := o.c.store.AddUser(context.Background(), scheduler.System,
		scheduler.NewUser{Username: "anna.sso", Name: "Dr. Anna Holm", Role: scheduler.RoleClinician, Email: "anna.holm@regionh.dk"}); err != nil {
		t.Fatal(err)
	}
	ctx := chromiumPage(t, o.srv.URL+"/login?next=%2Fconsole")
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := chromedp.Do(ctx, chromedp.WaitVisible(`#idp-link`))
	if err != nil {
		t.Fatalf("the sign-in page offers no region login: %v", err)
	}
	href, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('idp-link').href`))
	if err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(`#idp-link`),
		// The provider's own login form.
		chromedp.WaitVisible(`input[name=password]`),
		chromedp.SendKeys(`input[name=username]`, "anna.holm"),
		chromedp.SendKeys(`input[name=password]`, idpPassword),
		chromedp.Submit(`input[name=password]`),
	)
	if err != nil {
		t.Fatalf("the provider's form: %v", err)
	}
	// Redirects follow one another: ask until the day list is reached.
	var at string
	for deadline := time.Now().Add(20 * time.Second); ; {
		at, err = chromedp.Run(ctx, chromedp.Evaluate[string](`document.readyState === 'complete' ? location.href : ''`))
		if err == nil && strings.HasPrefix(at, o.srv.URL+"/console") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the provider's form the browser is at %q (%v)", at, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.HasSuffix(href, "/auth/login?next=%2Fconsole") {
		t.Fatalf("the region's login link is %q", href)
	}
	// The day list's own requests are the session's.
	who, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch('/api/v1/me').then(r => r.json()).then(u => u.username + ' ' + u.role)`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if who != "anna.sso clinician" {
		t.Fatalf("signed in as %q", who)
	}
}
