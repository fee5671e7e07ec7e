package scheduler

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/julienschmidt/httprouter"
)

// loginLimiter limits sign-in attempts per client address: a bucket of
// LoginBurst attempts, refilled one every LoginRefill. It lives in the
// process; a cluster shares one through APIConfig.SignInLimit (the per-name
// lock is in the records, shared too).
type loginLimiter struct {
	now func() time.Time

	mu      sync.Mutex // guards buckets
	buckets map[string]*loginBucket
}

type loginBucket struct {
	tokens float64
	at     time.Time
}

// Per-address sign-in limits.
const (
	LoginBurst  = 10
	LoginRefill = 6 * time.Second
	// loginBuckets bounds the addresses remembered; the full ones are
	// forgotten first.
	loginBuckets = 100_000
)

// allow takes one attempt for address, or answers how long to wait.
func (l *loginLimiter) allow(address string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buckets == nil {
		l.buckets = map[string]*loginBucket{}
	}
	b := l.buckets[address]
	if b == nil {
		if len(l.buckets) >= loginBuckets {
			l.forgetFullLocked(now)
		}
		b = &loginBucket{tokens: LoginBurst, at: now}
		l.buckets[address] = b
	}
	b.tokens = math.Min(LoginBurst, b.tokens+float64(now.Sub(b.at))/float64(LoginRefill))
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) * float64(LoginRefill))
}

// forgetFullLocked drops the buckets that have refilled: they remember
// nothing a new bucket would not.
func (l *loginLimiter) forgetFullLocked(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+float64(now.Sub(b.at))/float64(LoginRefill) >= LoginBurst {
			delete(l.buckets, k)
		}
	}
}

// allowSignIn takes a sign-in attempt from address: from the cluster's
// shared limiter when there is one and it answers, else from this
// process's.
func (a *API) allowSignIn(r *http.Request, address string) (bool, time.Duration) {
	if a.cfg.SignInLimit != nil {
		ok, wait, err := a.cfg.SignInLimit.Allow(r.Context(), address)
		if err == nil {
			return ok, wait
		}
		a.log.Warn("shared sign-in limit unavailable; limiting on this node alone", "err", err)
	}
	return a.logins.allow(address)
}

// tooMany answers 429 with Retry-After (RFC 6585 §4, RFC 9110 §10.2.3).
func (a *API) tooMany(w http.ResponseWriter, r *http.Request, wait time.Duration, detail string) {
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
	a.problem(w, r, http.StatusTooManyRequests, detail)
}

func (a *API) login(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	var req struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := decode(w, r, &req); err != nil {
		a.problem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	address := clientAddress(r)
	if ok, wait := a.allowSignIn(r, address); !ok {
		a.tooMany(w, r, wait, "too many sign-in attempts from this address; wait a moment")
		return
	}
	u, err := a.store.Authenticate(r.Context(), req.Username, req.Password, address)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.startSession(w, r, u)
}

// startSession opens a session of u, sets its cookie and answers the user.
func (a *API) startSession(w http.ResponseWriter, r *http.Request, u User) {
	if err := a.setSessionCookie(w, r, u); err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a.userView(r, u))
}

// setSessionCookie opens a session of u and sets its cookie.
func (a *API) setSessionCookie(w http.ResponseWriter, r *http.Request, u User) error {
	ss, err := a.store.OpenSession(r.Context(), u, a.cfg.SessionTTL, clientAddress(r))
	if err != nil {
		return err
	}
	tok, err := a.issuer.Session(u, ss.ID, a.cfg.SessionTTL)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: tok, Path: "/", HttpOnly: true, Secure: a.cfg.SecureCookies,
		SameSite: http.SameSiteLaxMode, MaxAge: int(a.cfg.SessionTTL / time.Second),
	})
	return nil
}

// logout ends the caller's session, if the request has one, and clears the
// cookie either way.
func (a *API) logout(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	if p, err := a.auth.Authenticate(r); err == nil && p.Session != "" {
		p.Address = clientAddress(r)
		if err := a.store.EndSession(r.Context(), p.Actor, p.Session); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", HttpOnly: true,
		Secure: a.cfg.SecureCookies, SameSite: http.SameSiteLaxMode, MaxAge: -1})
	w.WriteHeader(http.StatusNoContent)
}

// changePassword: POST /api/v1/me/password {"current", "new"}. The current
// password is checked as a sign-in is (and counts towards a lock); the new
// one ends every session, this one included, and a new session begins.
func (a *API) changePassword(w http.ResponseWriter, r *http.Request, _ httprouter.Params, p Principal) {
	var req struct {
		Current string `json:"current"`
		New     string `json:"new"`
	}
	if err := decode(w, r, &req); err != nil {
		a.problem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	u, err := a.store.GetUser(r.Context(), p.ID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if ok, wait := a.logins.allow(p.Address); !ok {
		a.tooMany(w, r, wait, "too many attempts from this address; wait a moment")
		return
	}
	if _, err := a.store.Authenticate(r.Context(), u.Username, req.Current, p.Address); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.store.SetPassword(r.Context(), p.Actor, u.ID, req.New); err != nil {
		a.fail(w, r, err)
		return
	}
	a.startSession(w, r, u)
}

// userAction serves POST /api/v1/users/{id}/{unlock,sign-out,disable,enable}
// (admins; a user may sign themselves out everywhere).
func (a *API) userAction(action string) handler {
	return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params, p Principal) {
		id := ps.ByName("id")
		var err error
		switch action {
		case "unlock":
			err = a.store.Unlock(r.Context(), p.Actor, id)
		case "sign-out":
			err = a.store.SignOutEverywhere(r.Context(), p.Actor, id)
		case "disable":
			err = a.store.SetDisabled(r.Context(), p.Actor, id, true)
		case "enable":
			err = a.store.SetDisabled(r.Context(), p.Actor, id, false)
		}
		if err != nil {
			a.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}
