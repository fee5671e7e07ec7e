package scheduler

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"vclinic/internal/records"
	"vclinic/internal/records/audit"
)

//go:embed openapi.json
var openAPIDoc []byte

// Principal is the authenticated caller of the API.
type Principal struct {
	Actor
	Name string
	// Appt is the appointment a guest's invitation link belongs to.
	Appt string
	// Session is the staff session the token belongs to, "" for other
	// tokens.
	Session string
}

// IsStaff reports whether the caller is a member of staff.
func (p Principal) IsStaff() bool {
	return p.Role == RoleClinician || p.Role == RoleScheduler || p.Role == RoleAdmin
}

// Guest roles, who reach the API only through an invitation link.
const (
	RolePatient     = "patient"
	RoleRelative    = "relative"
	RoleInterpreter = "interpreter"
)

// Authenticator finds the caller of a request (session cookie or bearer
// token). An error means 401.
type Authenticator interface {
	Authenticate(r *http.Request) (Principal, error)
}

// Issuer mints what the API hands out: staff session tokens and guest
// invitation links (full URLs that carry their token in the fragment).
type Issuer interface {
	// Session mints the token of staff session sessionID of u.
	Session(u User, sessionID string, ttl time.Duration) (string, error)
	// GuestLink mints a link for a guest of appointment a whose token
	// expires at until (LinkPolicy.Until).
	GuestLink(a Appointment, role, subject, name string, until time.Time) (string, error)
}

// Presence tells how many are in an appointment's waiting room and call now.
type Presence interface {
	Presence(room string) (waiting, inCall int)
}

// PresenceFunc adapts a function to Presence.
type PresenceFunc func(room string) (waiting, inCall int)

// Presence calls f.
func (f PresenceFunc) Presence(room string) (int, int) { return f(room) }

// APIConfig configures the HTTP API. Zero fields take the documented defaults.
type APIConfig struct {
	// Links says when invitation links work.
	Links LinkPolicy
	// SessionTTL is how long a staff sign-in lasts. Default 12 h.
	SessionTTL time.Duration
	// SecureCookies marks the session cookie Secure (when served over HTTPS).
	SecureCookies bool
	// BaseURL is scheme://host[:port] of the clinic as clients reach it; FHIR
	// Bundles give absolute fullUrls under it (FHIR R4 §2.36.0.1).
	BaseURL string
	// OrganizerEmail is the ORGANIZER of calendar invitations, which RFC
	// 5546 §3.2.2 requires of a REQUEST; empty leaves it out.
	OrganizerEmail string
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// SignInLimit, when set, limits sign-in attempts per client address
	// across the cluster (LoginBurst attempts, one more every
	// LoginRefill); when it fails, or is nil, the process's own limiter
	// does.
	SignInLimit AttemptLimiter
	// OIDC, when set, lets staff sign in through the region's identity
	// provider (GET /auth/login, GET /auth/callback) besides passwords.
	OIDC *OIDCConfig
	// Booked, when set, hears of each new booking (not a replay) before
	// it is answered: the home kit takes the measurements its type
	// expects.
	Booked func(ctx context.Context, actor Actor, b Booking)
	// FlaggedReadings, when set, counts a patient's home readings outside
	// their limits and not yet acknowledged, observed since since; the
	// day list shows the count per appointment (flaggedReadings), since
	// the patient's previous held visit or FlaggedWindow before it.
	FlaggedReadings func(ctx context.Context, patientID string, since time.Time) (int, error)
	// SMSReports says an SMS provider sends patients' SMS; its delivery
	// reports (POST /api/v1/sms/status) must carry SMSAuthorization, the
	// Authorization header the clinic sends it, else 401.
	SMSReports       bool
	SMSAuthorization string
	// Kit, when set, gives the review statistics the home kit's figures
	// (measurements before visits, readings per patient).
	Kit KitFigures
	// Triage, when set, gives the clinician's triage list the home kit's
	// figures (GET /api/v1/triage); without it the list has none.
	Triage TriageKit
}

// AttemptLimiter takes one attempt for key from a bucket of LoginBurst,
// refilled one every LoginRefill, shared by every node, or answers how long
// to wait.
type AttemptLimiter interface {
	Allow(ctx context.Context, key string) (ok bool, wait time.Duration, err error)
}

// API serves /api/v1 and /fhir/r4 over the store.
type API struct {
	logins   loginLimiter
	cfg      APIConfig
	store    *Store
	auth     Authenticator
	issuer   Issuer
	presence Presence
	oidc     *oidcClient // nil without an identity provider
	log      *slog.Logger

	clinicCache clinicCache // GET /api/v1/clinic
}

// NewAPI returns the API; presence may be nil (nobody is ever waiting).
func NewAPI(cfg APIConfig, store *Store, auth Authenticator, issuer Issuer, presence Presence, log *slog.Logger) (*API, error) {
	if store == nil || auth == nil || issuer == nil {
		return nil, errors.New("scheduler: NewAPI needs a store, an authenticator and an issuer")
	}
	cfg.Links = cfg.Links.withDefaults()
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if presence == nil {
		presence = PresenceFunc(func(string) (int, int) { return 0, 0 })
	}
	a := &API{cfg: cfg, store: store, auth: auth, issuer: issuer, presence: presence, log: log,
		logins: loginLimiter{now: cfg.Now}}
	if cfg.OIDC != nil {
		o, err := newOIDCClient(*cfg.OIDC)
		if err != nil {
			return nil, err
		}
		a.oidc = o
	}
	return a, nil
}

// Routes registers the API's routes.
func (a *API) Routes(r *httprouter.Router) {
	r.GET("/api/v1/openapi.json", a.openapi)
	r.GET("/api/v1/login", a.signInMethods)
	r.POST("/api/v1/login", a.login)
	r.GET("/auth/login", a.oidcLogin)
	r.GET("/auth/callback", a.oidcCallback)
	r.POST("/api/v1/logout", a.logout)
	r.GET("/api/v1/me", a.staff(a.me))
	r.GET("/api/v1/clinicians", a.staff(a.listClinicians))
	r.POST("/api/v1/clinicians", a.roles(a.createClinician, RoleScheduler, RoleAdmin))
	r.PUT("/api/v1/clinicians/:id", a.roles(a.updateClinician, RoleScheduler, RoleAdmin))
	r.GET("/api/v1/clinicians/:id/availability", a.staff(a.getAvailability))
	r.PUT("/api/v1/clinicians/:id/availability", a.staff(a.putAvailability))
	r.GET("/api/v1/clinicians/:id/slots", a.staff(a.slots))
	r.GET("/api/v1/clinicians/:id/appointments", a.staff(a.clinicianAppointments))
	r.GET("/api/v1/clinicians/:id/presence", a.staff(a.clinicianPresence))
	r.GET("/api/v1/patients", a.staff(a.listPatients))
	r.POST("/api/v1/patients", a.roles(a.createPatient, RoleScheduler, RoleAdmin))
	r.GET("/api/v1/patients/:id", a.staff(a.getPatient))
	r.PUT("/api/v1/patients/:id", a.roles(a.updatePatient, RoleScheduler, RoleAdmin))
	r.GET("/api/v1/appointment-types", a.staff(a.listTypes))
	r.POST("/api/v1/appointment-types", a.roles(a.createType, RoleAdmin))
	r.PUT("/api/v1/appointment-types/:id", a.roles(a.putType, RoleAdmin))
	r.DELETE("/api/v1/appointment-types/:id", a.roles(a.deleteType, RoleAdmin))
	r.GET("/api/v1/settings", a.staff(a.getSettings))
	r.PUT("/api/v1/settings", a.roles(a.putSettings, RoleAdmin))
	r.GET("/api/v1/clinic", a.clinic)
	r.POST("/api/v1/appointments", a.roles(a.book, RoleScheduler, RoleAdmin))
	r.GET("/api/v1/appointments/:id", a.anyone(a.getAppointment))
	r.POST("/api/v1/appointments/:id/cancel", a.staff(a.cancel))
	r.POST("/api/v1/appointments/:id/reschedule", a.roles(a.reschedule, RoleScheduler, RoleAdmin))
	r.POST("/api/v1/appointments/:id/status", a.staff(a.setStatus))
	r.POST("/api/v1/appointments/:id/links", a.staff(a.guestLink))
	r.GET("/api/v1/appointments/:id/invite.ics", a.staff(a.inviteICS))
	r.GET("/api/v1/appointments/:id/quality", a.roles(a.visitQuality, RoleClinician, RoleAdmin))
	r.GET("/api/v1/triage", a.roles(a.triage, RoleClinician))
	r.GET("/api/v1/appointments/:id/chat", a.roles(a.visitChat, RoleClinician))
	r.POST("/api/v1/appointments/:id/invite", a.roles(a.inviteGuest, RoleClinician, RoleScheduler, RoleAdmin, RolePatient))
	r.GET("/api/v1/appointments/:id/messages", a.staff(a.messages))
	r.POST("/api/v1/sms/status", a.smsStatus)
	r.GET("/api/v1/visit", a.visit)
	r.POST("/api/v1/visit/reply", a.roles(a.reply, RolePatient))
	r.POST("/api/v1/visit/check", a.roles(a.visitCheck, RolePatient))
	r.GET("/fhir/r4/Schedule", a.staff(a.fhirSchedule))
	r.GET("/fhir/r4/Slot", a.staff(a.fhirSlot))
	r.GET("/fhir/r4/Appointment/:id", a.staff(a.fhirAppointment))
	r.GET("/fhir/r4/Encounter/:id", a.staff(a.fhirEncounter))
	r.GET("/fhir/r4/Encounter", a.staff(a.fhirEncounters))
	r.GET("/api/v1/audit", a.roles(a.auditLog, RoleAdmin))
	r.GET("/api/v1/stats", a.roles(a.stats, RoleAdmin))
	r.GET("/api/v1/me/access-log", a.roles(a.accessLog, RolePatient))
	r.POST("/api/v1/me/password", a.staff(a.changePassword))
	r.POST("/api/v1/users/:id/unlock", a.roles(a.userAction("unlock"), RoleAdmin))
	r.POST("/api/v1/users/:id/sign-out", a.staff(a.userAction("sign-out")))
	r.POST("/api/v1/users/:id/disable", a.roles(a.userAction("disable"), RoleAdmin))
	r.POST("/api/v1/users/:id/enable", a.roles(a.userAction("enable"), RoleAdmin))
	r.POST("/api/v1/patients/:id/care-team", a.roles(a.postCareTeam, RoleAdmin))
	r.POST("/api/v1/patients/:id/break-glass", a.roles(a.postBreakGlass, RoleClinician))
	r.GET("/api/v1/break-glass", a.roles(a.listBreakGlass, RoleAdmin))
}

// handler is an API handler with its authenticated caller.
type handler func(w http.ResponseWriter, r *http.Request, ps httprouter.Params, p Principal)

// anyone requires a valid token of any role.
func (a *API) anyone(h handler) httprouter.Handle {
	return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
		p, err := a.auth.Authenticate(r)
		if records.Unavailable(err) {
			// Who is asking cannot be told while the records are out of
			// reach (a failover): not a sign-in problem, try again.
			w.Header().Set("Retry-After", "2")
			a.problem(w, r, http.StatusServiceUnavailable, "the clinic's records cannot be reached just now; try again in a moment")
			return
		}
		if err != nil {
			a.problem(w, r, http.StatusUnauthorized, "sign in, or open the link from your invitation")
			return
		}
		p.Address = clientAddress(r)
		for _, param := range ps {
			if !records.ValidID(param.Value) {
				a.problem(w, r, http.StatusBadRequest, param.Key+": want 1-64 letters, digits, - or _")
				return
			}
		}
		h(w, r, ps, p)
	}
}

// staff requires a member of staff.
func (a *API) staff(h handler) httprouter.Handle {
	return a.roles(h, RoleClinician, RoleScheduler, RoleAdmin)
}

// roles requires one of roles.
func (a *API) roles(h handler, roles ...string) httprouter.Handle {
	return a.anyone(func(w http.ResponseWriter, r *http.Request, ps httprouter.Params, p Principal) {
		for _, role := range roles {
			if p.Role == role {
				h(w, r, ps, p)
				return
			}
		}
		a.problem(w, r, http.StatusForbidden, fmt.Sprintf("a %s may not do this", p.Role))
	})
}

// clientAddress is the IP address a request came from, for the audit log.
// Behind a reverse proxy, cmd puts the client's address in RemoteAddr.
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// maxBody bounds a JSON request body.
const maxBody = 64 << 10

// decode reads a JSON body strictly: unknown fields and trailing data are errors.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return fmt.Errorf("send application/json, not %s", ct)
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fmt.Errorf("body larger than %d bytes", maxBody)
		}
		if errors.Is(err, io.EOF) {
			return errors.New("empty body; send a JSON object")
		}
		return fmt.Errorf("invalid JSON: %v", err)
	}
	if dec.More() {
		return errors.New("one JSON object per request")
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// problem writes an RFC 9457 problem details response.
func (a *API) problem(w http.ResponseWriter, r *http.Request, status int, detail string) {
	a.problemWith(w, r, status, detail, nil)
}

// problemWith writes a problem details response with extension members
// (RFC 9457 §3.2) that tell a program what the detail tells a person.
func (a *API) problemWith(w http.ResponseWriter, r *http.Request, status int, detail string, ext map[string]any) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	body := map[string]any{
		"type":     "about:blank", // RFC 9457 §4.2.1: the title is the status phrase
		"title":    http.StatusText(status),
		"status":   status,
		"detail":   detail,
		"instance": r.URL.Path,
	}
	for k, v := range ext {
		body[k] = v
	}
	_ = json.NewEncoder(w).Encode(body)
}

// fail maps a store error to its status: 404, 409, 422, 403, 401, else 500.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	var invalidQuery *audit.InvalidError
	switch {
	case errors.Is(err, ErrNotFound):
		a.problem(w, r, http.StatusNotFound, Reason(err))
	case errors.Is(err, ErrConflict):
		a.problem(w, r, http.StatusConflict, Reason(err))
	case errors.Is(err, ErrUnprocessable):
		a.problem(w, r, http.StatusUnprocessableEntity, Reason(err))
	case errors.Is(err, ErrForbidden):
		a.problem(w, r, http.StatusForbidden, Reason(err))
	case errors.Is(err, ErrBadCredentials):
		a.problem(w, r, http.StatusUnauthorized, ErrBadCredentials.Error())
	case errors.Is(err, ErrThrottled):
		// A locked name and a busy password check answer alike: wait.
		a.tooMany(w, r, RetryAfter(err), "too many attempts; try again later")
	case errors.As(err, &invalidQuery):
		a.problem(w, r, http.StatusBadRequest, invalidQuery.Reason)
	case records.Unavailable(err):
		// The records could not be reached (a failover): the request did
		// nothing and may be sent again.
		w.Header().Set("Retry-After", "2")
		a.problem(w, r, http.StatusServiceUnavailable, "the clinic's records cannot be reached just now; try again in a moment")
	case errors.Is(err, records.ErrBusy):
		// The records were too busy through every retry: the request did
		// nothing and may be sent again.
		w.Header().Set("Retry-After", "1")
		a.problem(w, r, http.StatusServiceUnavailable, "the clinic is busy; try again in a moment")
	default:
		a.log.Error("api", "method", r.Method, "path", r.URL.Path, "err", err)
		a.problem(w, r, http.StatusInternalServerError, "the server failed; try again")
	}
}

// parseTime reads an RFC 3339 instant with any offset, as UTC.
func parseTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, fmt.Errorf("%s: required (RFC 3339, e.g. 2026-03-29T09:00:00+02:00)", field)
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %q is not RFC 3339 (e.g. 2026-03-29T09:00:00+02:00)", field, s)
	}
	return t.UTC(), nil
}

func (a *API) openapi(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openAPIDoc)
}
