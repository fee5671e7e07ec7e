package homekit

import (
	"net/http"

	"github.com/julienschmidt/httprouter"
)

// postGateway: POST /api/v1/patients/{id}/gateways {"id"?, "label"}
// registers a home gateway for the patient (staff) and answers it with its
// pairing code (pairingCode, pairingExpiresAt), shown this once: the
// gateway trades it for its own credential at POST /api/v1/kit/pair.
func (a *API) postGateway(w http.ResponseWriter, r *http.Request, ps httprouter.Params, p Principal) {
	var in struct {
		ID    string `json:"id"`
		Label string `json:"label"`
	}
	if err := decode(w, r, maxBody, &in); err != nil {
		a.problem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	if len(in.ID) > 64 || len(in.Label) > 100 {
		a.problem(w, r, http.StatusBadRequest, "id: at most 64 characters; label: at most 100")
		return
	}
	if !a.patientExists(w, r, ps.ByName("id")) {
		return
	}
	g, err := a.store.AddGateway(r.Context(), p.actor(), Gateway{ID: in.ID, PatientID: ps.ByName("id"), Label: in.Label})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	pairing, err := a.store.NewPairing(r.Context(), p.actor(), g.PatientID, g.ID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, struct {
		Gateway
		Pairing
	}{g, pairing})
}

// getGateways: GET /api/v1/patients/{id}/gateways lists the patient's
// gateways for staff: paired or not, last used, revoked; never a secret.
func (a *API) getGateways(w http.ResponseWriter, r *http.Request, ps httprouter.Params, p Principal) {
	if !a.patientExists(w, r, ps.ByName("id")) {
		return
	}
	gs, err := a.store.Gateways(r.Context(), p.actor(), ps.ByName("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"gateways": gs})
}

// postPairing: POST /api/v1/patients/{id}/gateways/{gateway}/pairing gives
// a new pairing code (a gateway reset, replaced, or its code lost); the
// gateway's credential works until the code is used.
func (a *API) postPairing(w http.ResponseWriter, r *http.Request, ps httprouter.Params, p Principal) {
	pairing, err := a.store.NewPairing(r.Context(), p.actor(), ps.ByName("id"), ps.ByName("gateway"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, pairing)
}

// postRevoke: POST /api/v1/patients/{id}/gateways/{gateway}/revoke ends the
// gateway's credential and pending code at once, for good.
func (a *API) postRevoke(w http.ResponseWriter, r *http.Request, ps httprouter.Params, p Principal) {
	if err := a.store.RevokeGateway(r.Context(), p.actor(), ps.ByName("id"), ps.ByName("gateway")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// postPair: POST /api/v1/kit/pair {"code"} trades a pairing code, once,
// for the gateway's credential: {"gatewayId", "patientId", "credential"},
// to send as "Authorization: Bearer <credential>". No other credential is
// needed; an unknown, used or expired code is 404.
func (a *API) postPair(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	var in struct {
		Code string `json:"code"`
	}
	if err := decode(w, r, maxBody, &in); err != nil {
		a.problem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	if in.Code == "" || len(in.Code) > 40 {
		a.problem(w, r, http.StatusBadRequest, "code: the pairing code, as XXXX-XXXX-XXXX")
		return
	}
	paired, err := a.store.Pair(r.Context(), in.Code, clientAddress(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, paired)
}
