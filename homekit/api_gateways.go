package homekit

import (
	"net/http"

	"github.com/julienschmidt/httprouter"
)

// postGateway: POST /api/v1/patients/{id}/gateways {"id"?, "label"} registers
// a home gateway for the patient (staff). The gateway's token carries the
// gateway id as its subject: `vclinic token --role gateway --sub <id>`.
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
	writeJSON(w, http.StatusCreated, g)
}
