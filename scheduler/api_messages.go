package scheduler

import (
	"crypto/subtle"
	"net/http"

	"github.com/julienschmidt/httprouter"
)

// messages: GET /api/v1/appointments/{id}/messages answers the messages to
// the patient about the appointment (channel, text, time, state), for those
// who may run its visit; reading them is on the audit log.
func (a *API) messages(w http.ResponseWriter, r *http.Request, ps httprouter.Params, p Principal) {
	id := ps.ByName("id")
	if err := a.store.MayRunVisit(r.Context(), p.Actor, id); err != nil {
		a.fail(w, r, err)
		return
	}
	ms, err := a.store.Messages(r.Context(), p.Actor, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": ms})
}

// smsReport is a provider's delivery report.
type smsReport struct {
	// ID is the message's id, as the template gave it (.ID).
	ID string `json:"id"`
	// Status is delivered or failed.
	Status string `json:"status"`
	// Detail is the provider's words on a failure.
	Detail string `json:"detail"`
}

// smsStatus: POST /api/v1/sms/status takes an SMS provider's delivery report
// {"id", "status": "delivered"|"failed", "detail"}, authenticated by the
// Authorization header the clinic sends the provider (-sms-auth-file).
func (a *API) smsStatus(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	if !a.cfg.SMSReports {
		a.problem(w, r, http.StatusNotFound, "this clinic sends no SMS")
		return
	}
	got := r.Header.Get("Authorization")
	if a.cfg.SMSAuthorization == "" || subtle.ConstantTimeCompare([]byte(got), []byte(a.cfg.SMSAuthorization)) != 1 {
		a.problem(w, r, http.StatusUnauthorized, "send the Authorization the clinic sends you")
		return
	}
	var rep smsReport
	if err := decode(w, r, &rep); err != nil {
		a.problem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	if rep.Status != MessageDelivered && rep.Status != MessageFailed {
		a.problem(w, r, http.StatusBadRequest, "status: want delivered or failed")
		return
	}
	if err := a.store.MessageDelivered(r.Context(), rep.ID, rep.Status == MessageDelivered, rep.Detail); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
