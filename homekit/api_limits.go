package homekit

import (
	"context"
	"net/http"

	"github.com/julienschmidt/httprouter"
)

// The limits, flagged readings and acknowledgement routes (limits.go,
// flagged.go). A patient's limits and flagged readings are clinical data:
// only a clinician with a care relation to the patient reads or changes
// them (VisitAccess.MayReadClinical); schedulers and admins get 403, like
// patients. An appointment type's default limits hold no patient's data:
// any member of staff reads them, an admin (who manages the types) sets
// them.

// TypeChecker says whether an appointment type exists: nil, or an error
// wrapping ErrNotFound.
type TypeChecker interface {
	TypeExists(ctx context.Context, typeID string) error
}

// watchBody is what PUT .../limits takes: the whole watch, and the version
// it was made from (0 when none was set).
type watchBody struct {
	Limits    []Limit `json:"limits"`
	SpO2Scale int     `json:"spo2Scale"`
	OnOxygen  bool    `json:"onOxygen"`
	Version   *int    `json:"version"`
}

func (a *API) readWatchBody(w http.ResponseWriter, r *http.Request) (Watch, bool) {
	var in watchBody
	if err := decode(w, r, maxBody, &in); err != nil {
		a.problem(w, r, http.StatusBadRequest, err.Error())
		return Watch{}, false
	}
	if in.Version == nil {
		a.problem(w, r, http.StatusUnprocessableEntity, "version: required; the version the change was made from (0 when none was set)")
		return Watch{}, false
	}
	return Watch{Limits: in.Limits, SpO2Scale: in.SpO2Scale, OnOxygen: in.OnOxygen, Version: *in.Version}, true
}

// getLimits: GET /api/v1/patients/:id/limits answers the patient's Watch.
func (a *API) getLimits(w http.ResponseWriter, r *http.Request, ps httprouter.Params, p Principal) {
	id := ps.ByName("id")
	if !a.patientExists(w, r, id) || !a.mayReadClinical(w, r, p, id) {
		return
	}
	wt, err := a.store.Watch(r.Context(), p.actor(), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, wt)
}

// putLimits: PUT /api/v1/patients/:id/limits {limits, spo2Scale, onOxygen,
// version} answers the stored Watch; 409 when the limits changed since
// version, 422 naming the field of a bad limit.
func (a *API) putLimits(w http.ResponseWriter, r *http.Request, ps httprouter.Params, p Principal) {
	id := ps.ByName("id")
	in, ok := a.readWatchBody(w, r)
	if !ok || !a.patientExists(w, r, id) || !a.mayReadClinical(w, r, p, id) {
		return
	}
	in.Owner, in.OwnerID = WatchOfPatient, id
	wt, err := a.store.SetWatch(r.Context(), p.actor(), in)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, wt)
}

// typeExists asks cfg.Types whether the appointment type exists; on a
// refusal it has answered (404).
func (a *API) typeExists(w http.ResponseWriter, r *http.Request, id string) bool {
	if a.cfg.Types == nil {
		return true
	}
	if err := a.cfg.Types.TypeExists(r.Context(), id); err != nil {
		a.fail(w, r, err)
		return false
	}
	return true
}

// getTypeLimits: GET /api/v1/appointment-types/:id/limits answers the
// type's default Watch.
func (a *API) getTypeLimits(w http.ResponseWriter, r *http.Request, ps httprouter.Params, p Principal) {
	id := ps.ByName("id")
	if !a.typeExists(w, r, id) {
		return
	}
	wt, err := a.store.TypeWatch(r.Context(), p.actor(), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, wt)
}

// putTypeLimits: PUT /api/v1/appointment-types/:id/limits, as putLimits.
func (a *API) putTypeLimits(w http.ResponseWriter, r *http.Request, ps httprouter.Params, p Principal) {
	id := ps.ByName("id")
	in, ok := a.readWatchBody(w, r)
	if !ok || !a.typeExists(w, r, id) {
		return
	}
	in.Owner, in.OwnerID = WatchOfType, id
	wt, err := a.store.SetWatch(r.Context(), p.actor(), in)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, wt)
}

// getFlagged: GET /api/v1/patients/:id/flagged-readings?since=<RFC 3339>
// answers {"flagged": [FlaggedReading], "unacknowledged": n}.
func (a *API) getFlagged(w http.ResponseWriter, r *http.Request, ps httprouter.Params, p Principal) {
	id := ps.ByName("id")
	from, err := since(r)
	if err != nil {
		a.problem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	if !a.patientExists(w, r, id) || !a.mayReadClinical(w, r, p, id) {
		return
	}
	fs, err := a.store.ListFlagged(r.Context(), p.actor(), id, from)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	n := 0
	for _, f := range fs {
		if f.Acknowledged == nil {
			n++
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"flagged": fs, "unacknowledged": n})
}

// postAcknowledge: POST /api/v1/patients/:id/flagged-readings/:reading/acknowledge
// {"note"?} answers 201 Acknowledgement; 409 naming who and when when the
// reading was acknowledged before; 422 for a reading within limits.
func (a *API) postAcknowledge(w http.ResponseWriter, r *http.Request, ps httprouter.Params, p Principal) {
	id := ps.ByName("id")
	var in struct {
		Note string `json:"note"`
	}
	if r.ContentLength != 0 {
		if err := decode(w, r, maxBody, &in); err != nil {
			a.problem(w, r, http.StatusBadRequest, err.Error())
			return
		}
	}
	if !a.patientExists(w, r, id) || !a.mayReadClinical(w, r, p, id) {
		return
	}
	ack, err := a.store.Acknowledge(r.Context(), p.actor(), p.Name, id, ps.ByName("reading"), in.Note)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, ack)
}
