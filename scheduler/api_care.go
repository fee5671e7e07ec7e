package scheduler

import (
	"net/http"
	"time"

	"github.com/julienschmidt/httprouter"
)

// postCareTeam: POST /api/v1/patients/{id}/care-team {"userId"} (admins)
// assigns a clinician to the patient's care: 201 CareTeamMember.
func (a *API) postCareTeam(w http.ResponseWriter, r *http.Request, ps httprouter.Params, p Principal) {
	var req struct {
		UserID string `json:"userId"`
	}
	if err := decode(w, r, &req); err != nil {
		a.problem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	if req.UserID == "" {
		a.problem(w, r, http.StatusBadRequest, "userId: required")
		return
	}
	m, err := a.store.AssignCareTeam(r.Context(), p.Actor, ps.ByName("id"), req.UserID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, m)
}

// postBreakGlass: POST /api/v1/patients/{id}/break-glass {"reason"}
// (clinicians) opens the patient's data for four hours to a clinician
// without a care relation, on the record: 201 BreakGlass.
func (a *API) postBreakGlass(w http.ResponseWriter, r *http.Request, ps httprouter.Params, p Principal) {
	var req struct {
		Reason string `json:"reason"`
	}
	if err := decode(w, r, &req); err != nil {
		a.problem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	b, err := a.store.OpenBreakGlass(r.Context(), p.Actor, ps.ByName("id"), req.Reason)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, b)
}

// listBreakGlass: GET /api/v1/break-glass?since=RFC3339 (admins; default
// the last 30 days) lists who broke the glass, newest first.
func (a *API) listBreakGlass(w http.ResponseWriter, r *http.Request, _ httprouter.Params, p Principal) {
	since := time.Now().Add(-30 * 24 * time.Hour)
	if v := r.URL.Query().Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			a.problem(w, r, http.StatusBadRequest, "since: want an RFC 3339 time")
			return
		}
		since = t
	}
	list, err := a.store.ListBreakGlass(r.Context(), p.Actor, since)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": list})
}
