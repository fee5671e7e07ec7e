package scheduler

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/julienschmidt/httprouter"
	"golang.org/x/oauth2"
)

// Staff sign-in through the region's identity provider: OpenID Connect
// Core 1.0 §3.1, the authorization code flow, with PKCE (RFC 7636, S256)
// and a nonce. GET /auth/login sends the browser to the provider; the
// provider sends it back to GET /auth/callback, which exchanges the code,
// verifies the ID token (signature, issuer, audience, expiry, nonce),
// reads the UserInfo (§5.3) for the claims the ID token left out, and
// opens a session as a password sign-in does (Store.SignInExternal says
// who it is). The pending sign-in is kept in the records, so any node of a
// cluster may take the callback, and is used once; a cookie binds it to the
// browser that began it (login CSRF, §3.1.2.1 state).

// OIDCConfig configures sign-in through the identity provider.
type OIDCConfig struct {
	// Issuer is the provider's issuer URL (its discovery document is at
	// Issuer + "/.well-known/openid-configuration", OpenID Connect
	// Discovery 1.0 §4).
	Issuer string
	// ClientID and ClientSecret are the clinic's registration at the
	// provider; an empty secret makes it a public client (PKCE alone).
	ClientID, ClientSecret string
	// RedirectURL is the clinic's public URL of /auth/callback.
	RedirectURL string
	// RolesClaim names the claim that holds the user's roles or groups:
	// a string or an array of strings; a dotted name reaches into objects
	// ("realm_access.roles").
	RolesClaim string
	// RoleMap maps a value of the roles claim to a vclinic role.
	RoleMap map[string]string
	// Scopes are asked for beyond openid, profile and email.
	Scopes []string
	// HTTPClient talks to the provider. Default: one with a 10 s timeout.
	HTTPClient *http.Client
}

// oidcLoginTTL is how long a sign-in may take at the provider.
const oidcLoginTTL = 10 * time.Minute

// oidcCookie binds a pending sign-in to the browser that began it.
const oidcCookie = "vclinic_oidc"

// ParseRoleMap parses "clinician=GROUP,scheduler=GROUP2,admin=GROUP3" (a
// role may be named more than once) into a map from claim value to role.
func ParseRoleMap(s string) (map[string]string, error) {
	m := map[string]string{}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		role, value, ok := strings.Cut(part, "=")
		role, value = strings.TrimSpace(role), strings.TrimSpace(value)
		if !ok || value == "" {
			return nil, fmt.Errorf("%q: want role=value", part)
		}
		if role != RoleClinician && role != RoleScheduler && role != RoleAdmin {
			return nil, fmt.Errorf("%q: the role must be clinician, scheduler or admin", part)
		}
		if old, ok := m[value]; ok && old != role {
			return nil, fmt.Errorf("%q is mapped to both %s and %s", value, old, role)
		}
		m[value] = role
	}
	if len(m) == 0 {
		return nil, errors.New("no role is mapped")
	}
	return m, nil
}

// oidcClient is the relying party. The provider is discovered on first
// use and again after a failure, so that the clinic starts, and password
// sign-in works, while the provider is down.
type oidcClient struct {
	cfg OIDCConfig

	mu       sync.Mutex // guards the following
	provider *oidc.Provider
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
}

func newOIDCClient(cfg OIDCConfig) (*oidcClient, error) {
	if cfg.Issuer == "" || cfg.ClientID == "" || cfg.RedirectURL == "" || cfg.RolesClaim == "" || len(cfg.RoleMap) == 0 {
		return nil, errors.New("scheduler: OpenID Connect needs an issuer, a client id, a redirect URL, a roles claim and a role map")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	return &oidcClient{cfg: cfg}, nil
}

// ctx carries the client's HTTP client to go-oidc and oauth2.
func (o *oidcClient) ctx(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, o.cfg.HTTPClient)
}

// discover returns the provider's configuration, fetching it when it has
// not been yet.
func (o *oidcClient) discover(ctx context.Context) (*oidc.Provider, oauth2.Config, *oidc.IDTokenVerifier, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.provider != nil {
		return o.provider, o.oauth, o.verifier, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	p, err := oidc.NewProvider(o.ctx(ctx), o.cfg.Issuer)
	if err != nil {
		return nil, oauth2.Config{}, nil, err
	}
	o.provider = p
	o.oauth = oauth2.Config{
		ClientID: o.cfg.ClientID, ClientSecret: o.cfg.ClientSecret, RedirectURL: o.cfg.RedirectURL,
		Endpoint: p.Endpoint(),
		Scopes:   append([]string{oidc.ScopeOpenID, "profile", "email"}, o.cfg.Scopes...),
	}
	// The verifier fetches the provider's keys (its jwks_uri) with the
	// HTTP client in ctx, not bound by ctx's deadline (go-oidc keeps only
	// the client), and again when a token names a key it has not seen.
	o.verifier = p.Verifier(&oidc.Config{ClientID: o.cfg.ClientID})
	return o.provider, o.oauth, o.verifier, nil
}

// signInMethods: GET /api/v1/login answers how staff may sign in, for the
// sign-in page: {"password": true, "identityProvider": "/auth/login"} (the
// latter only when one is configured).
func (a *API) signInMethods(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	out := map[string]any{"password": true}
	if a.oidc != nil {
		out["identityProvider"] = "/auth/login"
	}
	writeJSON(w, http.StatusOK, out)
}

// oidcLogin: GET /auth/login?next=PATH sends the browser to the identity
// provider.
func (a *API) oidcLogin(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	if a.oidc == nil {
		a.signInPage(w, http.StatusNotFound, "Sign-in through the region's identity provider is not set up here. Sign in with your user name and password.")
		return
	}
	if ok, wait := a.allowSignIn(r, clientAddress(r)); !ok {
		w.Header().Set("Retry-After", fmt.Sprint(int(wait.Seconds())+1))
		a.signInPage(w, http.StatusTooManyRequests, "Too many sign-ins from this address. Wait a moment and try again.")
		return
	}
	_, oc, _, err := a.oidc.discover(r.Context())
	if err != nil {
		a.log.Error("identity provider unreachable", "issuer", a.oidc.cfg.Issuer, "err", err)
		a.signInPage(w, http.StatusBadGateway, "The region's identity provider cannot be reached now. Try again in a moment, or sign in with your user name and password.")
		return
	}
	state, nonce, verifier := rand.Text()+rand.Text(), rand.Text()+rand.Text(), oauth2.GenerateVerifier()
	next := safeNext(r.URL.Query().Get("next"))
	if err := a.store.BeginSignIn(r.Context(), state, PendingSignIn{Nonce: nonce, Verifier: verifier, Next: next}, oidcLoginTTL); err != nil {
		a.log.Error("begin sign-in", "err", err)
		a.signInPage(w, http.StatusServiceUnavailable, "Signing in failed. Try again in a moment.")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: state, Path: "/auth/", HttpOnly: true, Secure: a.cfg.SecureCookies,
		SameSite: http.SameSiteLaxMode, MaxAge: int(oidcLoginTTL / time.Second)})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, oc.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), http.StatusFound)
}

// oidcCallback: GET /auth/callback?code=&state= (or ?error=) finishes the
// sign-in the provider sent back.
func (a *API) oidcCallback(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	if a.oidc == nil {
		a.signInPage(w, http.StatusNotFound, "Sign-in through the region's identity provider is not set up here.")
		return
	}
	q := r.URL.Query()
	// The state is used once, whatever the outcome; the cookie goes too.
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: "", Path: "/auth/", HttpOnly: true, Secure: a.cfg.SecureCookies,
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
	state := q.Get("state")
	c, err := r.Cookie(oidcCookie)
	if state == "" || err != nil || subtle.ConstantTimeCompare([]byte(c.Value), []byte(state)) != 1 {
		a.signInPage(w, http.StatusBadRequest, "This sign-in was begun in another browser or tab, or has run out. Start again.")
		return
	}
	pending, err := a.store.TakeSignIn(r.Context(), state)
	if errors.Is(err, ErrNotFound) {
		a.signInPage(w, http.StatusBadRequest, "This sign-in has run out or was used already. Start again.")
		return
	}
	if err != nil {
		a.log.Error("take sign-in", "err", err)
		a.signInPage(w, http.StatusServiceUnavailable, "Signing in failed. Try again in a moment.")
		return
	}
	if e := q.Get("error"); e != "" {
		// OAuth 2.0 (RFC 6749 §4.1.2.1): the provider refused or the user
		// cancelled.
		a.log.Info("identity provider refused the sign-in", "error", e, "description", q.Get("error_description"))
		msg := "The sign-in at the region's identity provider did not succeed (" + e + "). Start again."
		if e == "access_denied" {
			msg = "The sign-in was cancelled at the region's identity provider. Start again when you are ready."
		}
		a.signInPage(w, http.StatusForbidden, msg)
		return
	}
	id, err := a.oidc.identify(r.Context(), q.Get("code"), pending)
	if err != nil {
		a.log.Warn("identity provider sign-in not accepted", "err", err)
		a.signInPage(w, http.StatusBadGateway, "The answer of the region's identity provider could not be accepted. Start again; if it happens again, tell the clinic's administrator.")
		return
	}
	u, err := a.store.SignInExternal(r.Context(), id, clientAddress(r))
	if errors.Is(err, ErrForbidden) {
		a.signInPage(w, http.StatusForbidden, sentence(Reason(err)))
		return
	}
	if err != nil {
		a.log.Error("sign in through the identity provider", "err", err)
		a.signInPage(w, http.StatusServiceUnavailable, "Signing in failed. Try again in a moment.")
		return
	}
	if err := a.setSessionCookie(w, r, u); err != nil {
		a.log.Error("open session", "err", err)
		a.signInPage(w, http.StatusServiceUnavailable, "Signing in failed. Try again in a moment.")
		return
	}
	next := pending.Next
	if next == "" {
		next = homeFor(u.Role)
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// identify exchanges code for tokens and says who signed in.
func (o *oidcClient) identify(ctx context.Context, code string, p PendingSignIn) (ExternalIdentity, error) {
	provider, oc, verifier, err := o.discover(ctx)
	if err != nil {
		return ExternalIdentity{}, err
	}
	ctx, cancel := context.WithTimeout(o.ctx(ctx), 15*time.Second)
	defer cancel()
	tok, err := oc.Exchange(ctx, code, oauth2.VerifierOption(p.Verifier))
	if err != nil {
		return ExternalIdentity{}, fmt.Errorf("exchange the code: %w", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return ExternalIdentity{}, errors.New("the token response has no id_token")
	}
	idt, err := verifier.Verify(ctx, raw)
	if err != nil {
		return ExternalIdentity{}, fmt.Errorf("verify the ID token: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(p.Nonce)) != 1 {
		return ExternalIdentity{}, errors.New("the ID token's nonce is not this sign-in's")
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		return ExternalIdentity{}, fmt.Errorf("ID token claims: %w", err)
	}
	// The UserInfo endpoint holds what the ID token may leave out (the
	// e-mail, the roles); its subject must be the ID token's (§5.3.2).
	if provider.UserInfoEndpoint() != "" {
		ui, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			return ExternalIdentity{}, fmt.Errorf("userinfo: %w", err)
		}
		if ui.Subject != idt.Subject {
			return ExternalIdentity{}, errors.New("the userinfo's subject is not the ID token's")
		}
		more := map[string]any{}
		if err := ui.Claims(&more); err != nil {
			return ExternalIdentity{}, fmt.Errorf("userinfo claims: %w", err)
		}
		for k, v := range more {
			if _, ok := claims[k]; !ok {
				claims[k] = v
			}
		}
	}
	id := ExternalIdentity{Issuer: idt.Issuer, Subject: idt.Subject}
	id.Email, _ = claims["email"].(string)
	switch v := claims["email_verified"].(type) {
	case bool:
		id.EmailVerified = v
	case string: // some providers send "true"
		id.EmailVerified = v == "true"
	}
	for _, value := range claimValues(claims, o.cfg.RolesClaim) {
		if role, ok := o.cfg.RoleMap[value]; ok {
			id.Roles = append(id.Roles, role)
		}
	}
	return id, nil
}

// claimValues reads the strings of a claim, following a dotted name into
// objects.
func claimValues(claims map[string]any, name string) []string {
	var v any = claims
	for part := range strings.SplitSeq(name, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		if v, ok = m[part]; !ok {
			// A claim name may itself hold dots (a URL-named claim).
			if whole, ok := claims[name]; ok {
				v = whole
				break
			}
			return nil
		}
	}
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// safeNext keeps next when it is a path on this site, else "".
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\x00\r\n\t") {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || len(next) > 2000 {
		return ""
	}
	return next
}

// homeFor is a role's start page: the day list for clinicians, the
// calendar for the others (as the sign-in page's homeFor).
func homeFor(role string) string {
	if role == RoleClinician {
		return "/console"
	}
	return "/calendar"
}

// sentence gives a reason a capital and a full stop.
func sentence(s string) string {
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

var signInPageTemplate = template.Must(template.New("signin").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Sign in – vclinic</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/staff.css">
</head>
<body class="page-login">
<main class="narrow">
<h1>Sign in</h1>
<p id="error" class="error" role="alert" data-status="{{.Status}}">{{.Message}}</p>
<p><a class="btn btn-main" href="/login">Back to sign-in</a></p>
</main>
</body>
</html>
`))

// signInPage answers a browser in the middle of a sign-in with a page
// that says what happened and leads back to the sign-in page.
func (a *API) signInPage(w http.ResponseWriter, status int, message string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = signInPageTemplate.Execute(w, struct {
		Status  int
		Message string
	}{status, message})
}
