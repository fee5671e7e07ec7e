package scheduler

import (
	"net/http"
	"slices"
	"time"

	"github.com/julienschmidt/httprouter"
)

// triageList is the answer of GET /api/v1/triage.
type triageList struct {
	At time.Time `json:"at"`
	// Patients, most urgent first (triage.go states the rule).
	Patients []TriageEntry `json:"patients"`
	// Cut says the clinician has more than MaxTriage patients and the
	// list shows MaxTriage of them.
	Cut bool `json:"cut"`
	Max int  `json:"max"`
	// Rule names the order, for the page to explain it.
	Rule []string `json:"rule"`
}

// triageRule is the order of the groups (TriageCompare).
var triageRule = []string{ReasonNEWS2Red + "|" + ReasonNEWS2High, ReasonFlagged, ReasonNEWS2Medium, ReasonExpectedMissing, "other"}

// triage answers GET /api/v1/triage (clinicians): the patients the
// clinician cares for, with their home figures, most urgent first. The
// home kit records one audit row per patient shown.
func (a *API) triage(w http.ResponseWriter, r *http.Request, _ httprouter.Params, p Principal) {
	now := a.cfg.Now().UTC()
	entries, cut, err := a.store.TriagePatients(r.Context(), p.Actor, now)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var figs map[string]TriageFigures
	if a.cfg.Triage != nil && len(entries) > 0 {
		subjects := make([]TriageSubject, len(entries))
		for i, e := range entries {
			subjects[i] = e.Subject()
		}
		figs, err = a.cfg.Triage.Triage(r.Context(), p.Actor, subjects, now)
		if err != nil {
			a.fail(w, r, err)
			return
		}
	}
	for i, e := range entries {
		entries[i] = e.WithFigures(figs[e.PatientID], now)
	}
	slices.SortFunc(entries, TriageCompare)
	writeJSON(w, http.StatusOK, triageList{At: now, Patients: entries, Cut: cut, Max: MaxTriage, Rule: triageRule})
}
