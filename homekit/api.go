package homekit

import (
	"bytes"
	"context"
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

	"vclinic/homekit/gatt"
	"vclinic/internal/records"
)

// Principal is the authenticated caller of the API: a member of staff, a
// patient (ID is the patient id; Appt the appointment of the visit link, if
// any) or a gateway (ID is the gateway id).
type Principal struct {
	ID   string
	Role string // clinician, scheduler, admin, patient, gateway, ...
	Name string
	Appt string
	// Address is where the request came from, for the audit log; the API
	// sets it from the request.
	Address string
}

// Roles the API knows.
const (
	RoleClinician = "clinician"
	RoleScheduler = "scheduler"
	RoleAdmin     = "admin"
	RolePatient   = "patient"
	RoleGateway   = "gateway"
)

// IsStaff reports whether the caller is a member of staff.
func (p Principal) IsStaff() bool {
	return p.Role == RoleClinician || p.Role == RoleScheduler || p.Role == RoleAdmin
}

func (p Principal) actor() Actor { return Actor{ID: p.ID, Role: p.Role, Address: p.Address} }

// Authenticator finds the caller of a request (session cookie or bearer
// token). An error means 401.
type Authenticator interface {
	Authenticate(r *http.Request) (Principal, error)
}

// AuthenticatorFunc adapts a function to Authenticator.
type AuthenticatorFunc func(r *http.Request) (Principal, error)

// Authenticate calls f.
func (f AuthenticatorFunc) Authenticate(r *http.Request) (Principal, error) { return f(r) }

// APIConfig configures the HTTP API. Zero fields take the documented defaults.
type APIConfig struct {
	// BaseURL is scheme://host[:port] of the clinic as clients reach it; FHIR
	// Bundles give absolute fullUrls under it. Empty gives relative ones.
	BaseURL string
	// DeviceZone is where the patients' devices keep their clocks, for
	// FHIR effectiveDateTime. Default Europe/Copenhagen.
	DeviceZone *time.Location
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Live, when set, hears of readings as they are stored.
	Live LiveFeed
	// Visits answers what the home kit, which knows appointments and
	// patients only by id, must ask of the clinic's records: who may manage
	// an appointment's expected measurements and whose appointment it is,
	// whether its visit is open to its invitation link, whether a patient
	// exists. Unset (tests of this package alone), the route's roles decide,
	// a visit is always open and every patient exists.
	Visits VisitAccess
	// Types, when set, says which appointment types exist, for their
	// default limits. Unset, every id is taken.
	Types TypeChecker
}

// VisitAccess is what the home kit asks of the clinic's appointments and
// patients. Errors wrapping ErrForbidden or ErrNotFound refuse.
type VisitAccess interface {
	// MayManageVisit says whether p may see and change what appointment
	// appointmentID expects from the home kit, and whose appointment it is.
	MayManageVisit(ctx context.Context, p Principal, appointmentID string) (patientID string, err error)
	// VisitOpen is nil while the appointment's visit is open to its
	// invitation links (the patient may join, and send readings); an
	// ErrForbidden with the reason otherwise.
	VisitOpen(ctx context.Context, appointmentID string) error
	// PatientExists is nil for a patient the clinic knows, ErrNotFound
	// otherwise.
	PatientExists(ctx context.Context, patientID string) error
	// MayReadClinical is nil when staff member p may see patientID's
	// clinical data (readings, Observations, expected measurements): a
	// clinician with a care relation to the patient. ErrForbidden, with
	// the reason, otherwise.
	MayReadClinical(ctx context.Context, p Principal, patientID string) error
}

// Validate reports a configuration the API cannot use.
func (c APIConfig) Validate() error {
	if c.BaseURL != "" && !strings.HasPrefix(c.BaseURL, "http://") && !strings.HasPrefix(c.BaseURL, "https://") {
		return fmt.Errorf("homekit: BaseURL %q: want http:// or https://", c.BaseURL)
	}
	return nil
}

// API serves readings, kits and their FHIR views over the store.
type API struct {
	cfg   APIConfig
	store *Store
	auth  Authenticator
	log   *slog.Logger

	counters counters // answers of the readings paths (counters.go)
}

// NewAPI returns the API.
func NewAPI(cfg APIConfig, store *Store, auth Authenticator, log *slog.Logger) (*API, error) {
	if store == nil || auth == nil {
		return nil, errors.New("homekit: NewAPI needs a store and an authenticator")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.DeviceZone == nil {
		z, err := time.LoadLocation("Europe/Copenhagen")
		if err != nil {
			return nil, fmt.Errorf("homekit: device zone: %w", err)
		}
		cfg.DeviceZone = z
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &API{cfg: cfg, store: store, auth: auth, log: log}, nil
}

// Routes registers the API's routes.
func (a *API) Routes(r *httprouter.Router) {
	r.POST("/api/v1/readings", a.roles(a.postReadings, RolePatient, RoleGateway))
	r.POST("/api/v1/readings/manual", a.roles(a.postManual, RolePatient))
	r.POST("/api/v1/patients/:id/readings/manual", a.roles(a.postStaffManual, RoleClinician))
	r.GET("/api/v1/patients/:id/devices", a.anyone(a.getDevices))
	r.POST("/api/v1/patients/:id/devices", a.roles(a.postDevice, RoleClinician, RoleScheduler, RoleAdmin))
	r.GET("/api/v1/patients/:id/readings", a.anyone(a.getReadings))
	r.GET("/api/v1/patients/:id/trends", a.anyone(a.getTrends))
	r.GET("/api/v1/patients/:id/news2", a.anyone(a.getNEWS2))
	r.POST("/api/v1/patients/:id/gateways", a.roles(a.postGateway, RoleClinician, RoleScheduler, RoleAdmin))
	r.GET("/api/v1/patients/:id/gateways", a.roles(a.getGateways, RoleClinician, RoleScheduler, RoleAdmin))
	r.POST("/api/v1/patients/:id/gateways/:gateway/pairing", a.roles(a.postPairing, RoleClinician, RoleScheduler, RoleAdmin))
	r.POST("/api/v1/patients/:id/gateways/:gateway/revoke", a.roles(a.postRevoke, RoleClinician, RoleScheduler, RoleAdmin))
	r.POST("/api/v1/kit/pair", a.postPair)
	r.PUT("/api/v1/appointments/:id/expected", a.roles(a.putExpected, RoleClinician, RoleScheduler, RoleAdmin))
	r.GET("/api/v1/appointments/:id/expected", a.roles(a.getExpected, RoleClinician, RoleScheduler, RoleAdmin))
	r.GET("/fhir/r4/Observation", a.roles(a.fhirObservation, RoleClinician, RoleScheduler, RoleAdmin))
	r.GET("/fhir/r4/Device", a.roles(a.fhirDevice, RoleClinician, RoleScheduler, RoleAdmin))
	// Limits, flagged readings and their acknowledgement (api_limits.go).
	r.GET("/api/v1/patients/:id/limits", a.roles(a.getLimits, RoleClinician))
	r.PUT("/api/v1/patients/:id/limits", a.roles(a.putLimits, RoleClinician))
	r.GET("/api/v1/patients/:id/flagged-readings", a.roles(a.getFlagged, RoleClinician))
	r.POST("/api/v1/patients/:id/flagged-readings/:reading/acknowledge", a.roles(a.postAcknowledge, RoleClinician))
	r.GET("/api/v1/appointment-types/:id/limits", a.roles(a.getTypeLimits, RoleClinician, RoleScheduler, RoleAdmin))
	r.PUT("/api/v1/appointment-types/:id/limits", a.roles(a.putTypeLimits, RoleAdmin))
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

type handler func(w http.ResponseWriter, r *http.Request, ps httprouter.Params, p Principal)

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

// Body limits.
const (
	maxBody      = 64 << 10 // a JSON object
	maxBatchBody = 1 << 20  // a batch of readings
)

// decode reads a JSON body strictly: unknown fields and trailing data are errors.
func decode(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return fmt.Errorf("send application/json, not %s", ct)
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fmt.Errorf("body larger than %d bytes", limit)
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
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"type":     "about:blank",
		"title":    http.StatusText(status),
		"status":   status,
		"detail":   detail,
		"instance": r.URL.Path,
	})
}

// fail maps a store error to its status: 404, 422, 403, else 500.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		a.problem(w, r, http.StatusNotFound, Reason(err))
	case errors.Is(err, ErrInvalid):
		a.problem(w, r, http.StatusUnprocessableEntity, Reason(err))
	case errors.Is(err, ErrForbidden):
		a.problem(w, r, http.StatusForbidden, Reason(err))
	case errors.Is(err, ErrConflict):
		a.problem(w, r, http.StatusConflict, Reason(err))
	case records.Unavailable(err):
		// The records could not be reached (a failover): the request did
		// nothing and may be sent again.
		w.Header().Set("Retry-After", "2")
		a.problem(w, r, http.StatusServiceUnavailable, "the clinic's records cannot be reached just now; try again in a moment")
	case errors.Is(err, records.ErrBusy):
		// The records were too busy through every retry: nothing was
		// stored, and the same request may be sent again.
		w.Header().Set("Retry-After", "1")
		a.problem(w, r, http.StatusServiceUnavailable, "the clinic is busy; try again in a moment")
	default:
		a.log.Error("homekit api", "method", r.Method, "path", r.URL.Path, "err", err)
		a.problem(w, r, http.StatusInternalServerError, "the server failed; try again")
	}
}

// submitter is whose kit the caller sends readings for: a patient's own, or
// the kit of the patient a gateway serves.
func (a *API) submitter(ctx context.Context, p Principal) (Submitter, error) {
	if p.Role == RoleGateway {
		pid, err := a.store.GatewayPatient(ctx, p.ID)
		if err != nil {
			return Submitter{}, err
		}
		return Submitter{PatientID: pid, GatewayID: p.ID, Role: p.Role, Address: p.Address}, nil
	}
	if p.Role == RolePatient && p.Appt != "" && a.cfg.Visits != nil {
		// An invitation link sends readings during its visit only.
		if err := a.cfg.Visits.VisitOpen(ctx, p.Appt); err != nil {
			return Submitter{}, err
		}
	}
	return Submitter{PatientID: p.ID, AppointmentID: p.Appt, Role: p.Role, Address: p.Address}, nil
}

// postReadings: POST /api/v1/readings {"readings": [ReadingIn, ...]} answers
// 200 {"results": [Result, ...]}, one per item in order. An item that is not
// a reading object is rejected on its own; a body that is not a batch is 400.
func (a *API) postReadings(w http.ResponseWriter, r *http.Request, _ httprouter.Params, p Principal) {
	var body struct {
		Readings *[]json.RawMessage `json:"readings"`
	}
	if err := decode(w, r, maxBatchBody, &body); err != nil {
		status := http.StatusBadRequest
		if strings.HasPrefix(err.Error(), "body larger") {
			status = http.StatusRequestEntityTooLarge
		}
		a.problem(w, r, status, err.Error())
		return
	}
	if body.Readings == nil {
		a.problem(w, r, http.StatusBadRequest, `want {"readings": [{"deviceId", "characteristic", "value", "seq", "observedAt"}, ...]}`)
		return
	}
	items := *body.Readings
	if len(items) > MaxBatch {
		a.problem(w, r, http.StatusBadRequest, fmt.Sprintf("%d readings in one batch; at most %d", len(items), MaxBatch))
		return
	}
	results, err := a.submitReadings(r.Context(), p, items, viaHTTP)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": results})
}

// SubmitReadings files a batch of readings for the caller's kit (a patient's
// own, or that of the patient a gateway serves) and shows the stored ones
// live in the visit the patient is in. Each item is one reading object as
// the edge sent it (a ReadingIn, unknown fields refused); the answer is one
// Result per item, in order, and an item that is not a reading object is
// rejected on its own. POST /api/v1/readings and the readings the patient's
// page sends over its signaling WebSocket both come here.
//
// An error refuses the whole batch: ErrForbidden for a caller who sends no
// readings, ErrNotFound for an unregistered gateway, ErrInvalid for more than
// MaxBatch items, anything else a store failure (nothing may be assumed
// stored; sending the batch again is safe).
//
// The counters (Counters) count a batch that comes here under the WebSocket
// transport; POST /api/v1/readings counts its own under HTTP.
func (a *API) SubmitReadings(ctx context.Context, p Principal, items []json.RawMessage) ([]Result, error) {
	return a.submitReadings(ctx, p, items, viaWebSocket)
}

// submitReadings is SubmitReadings for a batch that came by via.
func (a *API) submitReadings(ctx context.Context, p Principal, items []json.RawMessage, via transport) ([]Result, error) {
	if p.Role != RolePatient && p.Role != RoleGateway {
		return nil, because(ErrForbidden, "a %s does not send readings", p.Role)
	}
	if len(items) > MaxBatch {
		return nil, because(ErrInvalid, "%d readings in one batch; at most %d", len(items), MaxBatch)
	}
	who, err := a.submitter(ctx, p)
	if err != nil {
		return nil, err
	}
	results := make([]Result, len(items))
	var batch []ReadingIn
	var at []int // index in items of each batch entry
	for i, raw := range items {
		var in ReadingIn
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			results[i] = Result{Index: i, Status: StatusRejected, Reason: fmt.Sprintf("not a reading: %v", err)}
			continue
		}
		batch = append(batch, in)
		at = append(at, i)
	}
	res, err := a.store.Ingest(ctx, who, batch, a.cfg.Now())
	if err != nil {
		return nil, err
	}
	for j, x := range res {
		x.Index = at[j]
		results[at[j]] = x
	}
	a.counters.batch(via)
	a.counters.answered(SourceDevice, results)
	a.publish(ctx, who.PatientID, results)
	return results, nil
}

// postManual: POST /api/v1/readings/manual {"observedAt"?, "values": [{"code",
// "value", "unit"}]} stores a patient-entered reading: 201 {"id", "flags"}.
func (a *API) postManual(w http.ResponseWriter, r *http.Request, _ httprouter.Params, p Principal) {
	var m ManualReading
	if err := decode(w, r, maxBody, &m); err != nil {
		a.counters.answered(SourcePatientEntered, []Result{{Status: StatusRejected}})
		a.problem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	who, err := a.submitter(r.Context(), p)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	res, err := a.store.AddManual(r.Context(), who, m, a.cfg.Now())
	if err != nil {
		if errors.Is(err, ErrInvalid) {
			a.counters.answered(SourcePatientEntered, []Result{{Status: StatusRejected}})
		}
		a.fail(w, r, err)
		return
	}
	a.counters.answered(SourcePatientEntered, []Result{res})
	writeJSON(w, http.StatusCreated, res)
	a.publish(r.Context(), who.PatientID, []Result{res})
}

// postStaffManual: POST /api/v1/patients/{id}/readings/manual, the same
// body as /api/v1/readings/manual: a value a clinician caring for the patient
// types for them (one the patient read out on the telephone, one measured in
// the visit). It is kept as entered by hand, submitted by the clinician, and
// shown as "typed by staff".
func (a *API) postStaffManual(w http.ResponseWriter, r *http.Request, ps httprouter.Params, p Principal) {
	id := ps.ByName("id")
	var m ManualReading
	if err := decode(w, r, maxBody, &m); err != nil {
		a.problem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	if !a.patientExists(w, r, id) || !a.mayReadClinical(w, r, p, id) {
		return
	}
	who := Submitter{PatientID: id, Role: p.Role, StaffID: p.ID, Address: p.Address}
	res, err := a.store.AddManual(r.Context(), who, m, a.cfg.Now())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.counters.answered(SourcePatientEntered, []Result{res})
	writeJSON(w, http.StatusCreated, res)
	a.publish(r.Context(), id, []Result{res})
}

// mayRead says whether p may read patientID's kit (kitOnly) or readings:
// staff may; the patient and the patient's gateway may read the kit, never
// the readings (an invitation link is for one visit, not the history: 403).
// Anyone else's, whether or not that patient exists, is 404.
func (a *API) mayRead(w http.ResponseWriter, r *http.Request, p Principal, patientID string, kitOnly bool) bool {
	own := false
	switch {
	case p.IsStaff() && kitOnly:
		return true
	case p.IsStaff():
		return a.mayReadClinical(w, r, p, patientID)
	case p.Role == RolePatient:
		own = p.ID == patientID
	case p.Role == RoleGateway:
		pid, err := a.store.GatewayPatient(r.Context(), p.ID)
		own = err == nil && pid == patientID
	}
	switch {
	case !own:
		a.problem(w, r, http.StatusNotFound, "no such patient")
		return false
	case !kitOnly:
		a.problem(w, r, http.StatusForbidden, "readings are read by the clinic; a link or gateway sends them")
		return false
	}
	return true
}

// mayReadClinical says whether staff member p may see patientID's
// clinical data (VisitAccess.MayReadClinical), and answers 403 when not.
// Without a VisitAccess (a home kit on its own) staff may.
func (a *API) mayReadClinical(w http.ResponseWriter, r *http.Request, p Principal, patientID string) bool {
	if a.cfg.Visits == nil {
		return true
	}
	if err := a.cfg.Visits.MayReadClinical(r.Context(), p, patientID); err != nil {
		a.fail(w, r, err)
		return false
	}
	return true
}

// getDevices: GET /api/v1/patients/:id/devices lists the kit. Another
// patient's kit is 404, whether or not that patient exists.
func (a *API) getDevices(w http.ResponseWriter, r *http.Request, ps httprouter.Params, p Principal) {
	id := ps.ByName("id")
	if !a.mayRead(w, r, p, id, true) {
		return
	}
	ds, err := a.store.ListDevices(r.Context(), p.actor(), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"devices": ds})
}

// postDevice: POST /api/v1/patients/:id/devices {"type", "model",
// "address", "identifiedBy", "label"} adds a device to the kit: 201 Device.
func (a *API) postDevice(w http.ResponseWriter, r *http.Request, ps httprouter.Params, p Principal) {
	var in struct {
		Kind         gatt.DeviceKind `json:"type"`
		Model        string          `json:"model"`
		Address      string          `json:"address"`
		IdentifiedBy IdentifiedBy    `json:"identifiedBy"`
		Label        string          `json:"label"`
	}
	if err := decode(w, r, maxBody, &in); err != nil {
		a.problem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	if !a.patientExists(w, r, ps.ByName("id")) {
		return
	}
	d, err := a.store.AddDevice(r.Context(), p.actor(), Device{PatientID: ps.ByName("id"), Kind: in.Kind, Model: in.Model,
		Address: in.Address, IdentifiedBy: in.IdentifiedBy, Label: in.Label})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, d)
}

// patientExists asks cfg.Visits whether the clinic knows patientID; on a
// refusal it has answered (404).
func (a *API) patientExists(w http.ResponseWriter, r *http.Request, patientID string) bool {
	if a.cfg.Visits == nil {
		return true
	}
	if err := a.cfg.Visits.PatientExists(r.Context(), patientID); err != nil {
		a.fail(w, r, err)
		return false
	}
	return true
}

// since reads the since= parameter (RFC 3339); absent means all.
func since(r *http.Request) (time.Time, error) {
	s := r.URL.Query().Get("since")
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("since: %q is not RFC 3339", s)
	}
	return t, nil
}

// getReadings: GET /api/v1/patients/:id/readings?since=<RFC 3339> for staff
// and the patient. Another patient's readings are 404.
func (a *API) getReadings(w http.ResponseWriter, r *http.Request, ps httprouter.Params, p Principal) {
	id := ps.ByName("id")
	if !a.mayRead(w, r, p, id, false) {
		return
	}
	from, err := since(r)
	if err != nil {
		a.problem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	rs, err := a.store.ListReadings(r.Context(), p.actor(), id, from)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"readings": rs})
}

// putExpected: PUT /api/v1/appointments/:id/expected {"codes"} answers as
// getExpected does. The expected measurements are filed under the
// appointment's own patient; a patientId in the body, which older pages
// send, must be that patient (422 otherwise).
func (a *API) putExpected(w http.ResponseWriter, r *http.Request, ps httprouter.Params, p Principal) {
	id := ps.ByName("id")
	from, err := since(r)
	if err != nil {
		a.problem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	var in struct {
		PatientID string   `json:"patientId"`
		Codes     []string `json:"codes"`
	}
	if err := decode(w, r, maxBody, &in); err != nil {
		a.problem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	pid, ok := a.visitPatient(w, r, id, p, in.PatientID)
	if !ok || !a.mayReadClinical(w, r, p, pid) {
		return
	}
	if in.PatientID != "" && in.PatientID != pid {
		a.problem(w, r, http.StatusUnprocessableEntity, "patientId: not this appointment's patient")
		return
	}
	if err := a.store.SetExpected(r.Context(), p.actor(), id, pid, in.Codes); err != nil {
		a.fail(w, r, err)
		return
	}
	a.writeExpected(w, r, p, id, pid, from)
}

// visitPatient asks cfg.Visits whether p may manage appointment id, and
// whose appointment it is; on a refusal it has answered. Without Visits the
// patient is the one the request names, or the one already on file.
func (a *API) visitPatient(w http.ResponseWriter, r *http.Request, id string, p Principal, named string) (string, bool) {
	if a.cfg.Visits == nil {
		if named != "" {
			return named, true
		}
		pid, err := a.store.expectedPatient(r.Context(), id)
		if err != nil {
			a.fail(w, r, err)
			return "", false
		}
		return pid, true
	}
	pid, err := a.cfg.Visits.MayManageVisit(r.Context(), p, id)
	if err != nil {
		a.fail(w, r, err)
		return "", false
	}
	return pid, true
}

// getExpected: GET /api/v1/appointments/:id/expected?since=<link opened>
// says which expected measurements have arrived.
func (a *API) getExpected(w http.ResponseWriter, r *http.Request, ps httprouter.Params, p Principal) {
	id := ps.ByName("id")
	from, err := since(r)
	if err != nil {
		a.problem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	pid, ok := a.visitPatient(w, r, id, p, "")
	if !ok || !a.mayReadClinical(w, r, p, pid) {
		return
	}
	a.writeExpected(w, r, p, id, pid, from)
}

// writeExpected answers with appointment id's expected measurements and
// whether each has arrived since from.
func (a *API) writeExpected(w http.ResponseWriter, r *http.Request, p Principal, id, patientID string, from time.Time) {
	es, err := a.store.Expected(r.Context(), p.actor(), id, patientID, from)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"expected": es})
}

func writeFHIR(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/fhir+json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}

// fhirError answers with an OperationOutcome.
func fhirError(w http.ResponseWriter, status int, code, diagnostics string) {
	w.Header().Set("Content-Type", "application/fhir+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"resourceType": "OperationOutcome",
		"issue":        []map[string]string{{"severity": "error", "code": code, "diagnostics": diagnostics}},
	})
}

func (a *API) fhirFail(w http.ResponseWriter, r *http.Request, err error) {
	a.log.Error("homekit fhir", "path", r.URL.Path, "err", err)
	fhirError(w, http.StatusInternalServerError, "exception", "the server failed; try again")
}

func (a *API) selfURL(r *http.Request) string {
	return strings.TrimSuffix(a.cfg.BaseURL, "/") + r.URL.RequestURI()
}

// patientParam reads patient=<id> or patient=Patient/<id>.
func patientParam(r *http.Request) string {
	return strings.TrimPrefix(r.URL.Query().Get("patient"), "Patient/")
}

// fhirObservation: GET /fhir/r4/Observation?patient=<id> is a searchset
// Bundle of the patient's Observations; with
// code=http://snomed.info/sct|1104051000000101 it is the patient's partial
// NEWS2 now, as one score Observation (see fhirNEWS2).
func (a *API) fhirObservation(w http.ResponseWriter, r *http.Request, _ httprouter.Params, p Principal) {
	pid := patientParam(r)
	if pid == "" {
		fhirError(w, http.StatusBadRequest, "required", "patient: required")
		return
	}
	if !records.ValidID(pid) {
		fhirError(w, http.StatusBadRequest, "value", "patient: not a patient id")
		return
	}
	if a.cfg.Visits != nil {
		if err := a.cfg.Visits.MayReadClinical(r.Context(), p, pid); err != nil {
			switch {
			case errors.Is(err, ErrForbidden):
				fhirError(w, http.StatusForbidden, "forbidden", Reason(err))
			case errors.Is(err, ErrNotFound):
				fhirError(w, http.StatusNotFound, "not-found", "no such patient")
			default:
				a.fhirFail(w, r, err)
			}
			return
		}
	}
	if code := r.URL.Query().Get("code"); code != "" {
		a.fhirNEWS2(w, r, p, pid, code)
		return
	}
	rs, err := a.store.ListReadings(r.Context(), p.actor(), pid, time.Time{})
	if err != nil {
		a.fhirFail(w, r, err)
		return
	}
	writeFHIR(w, SearchsetBundle(Observations(rs, a.cfg.DeviceZone), a.cfg.BaseURL, a.selfURL(r)))
}

// fhirDevice: GET /fhir/r4/Device?patient=<id> is a searchset Bundle of the
// patient's kit and gateways.
func (a *API) fhirDevice(w http.ResponseWriter, r *http.Request, _ httprouter.Params, p Principal) {
	pid := patientParam(r)
	if pid == "" {
		fhirError(w, http.StatusBadRequest, "required", "patient: required")
		return
	}
	if !records.ValidID(pid) {
		fhirError(w, http.StatusBadRequest, "value", "patient: not a patient id")
		return
	}
	ds, gs, err := a.store.Kit(r.Context(), p.actor(), pid)
	if err != nil {
		a.fhirFail(w, r, err)
		return
	}
	var res []fhirObject
	for _, d := range ds {
		res = append(res, DeviceResource(d))
	}
	for _, g := range gs {
		res = append(res, GatewayResource(g))
	}
	writeFHIR(w, SearchsetBundle(res, a.cfg.BaseURL, a.selfURL(r)))
}
