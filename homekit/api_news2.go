package homekit

import (
	"net/http"
	"time"

	"github.com/julienschmidt/httprouter"
)

// news2Window is how far back the score looks for readings: NEWS2MaxAge
// for the readings it scores, and a week so that a parameter whose newest
// reading is older shows that reading as stale rather than none.
const news2Window = 7 * 24 * time.Hour

// news2Options reads scale=1|2 and oxygen=true|false. Left out, they are
// the patient's own (score: the SpO2 scale and oxygen of the patient's
// limits, set by a clinician; scale 1, the RCP default, and oxygen not
// recorded, taken as air and not scored, when there are none).
func (a *API) news2Options(r *http.Request) (NEWS2Options, string) {
	q := r.URL.Query()
	o := NEWS2Options{Now: a.cfg.Now()} // Scale 0: the patient's
	switch v := q.Get("scale"); v {
	case "":
	case "1":
		o.Scale = 1
	case "2":
		o.Scale = 2
	default:
		return o, "scale: want 1 or 2, not " + quote(v)
	}
	switch v := q.Get("oxygen"); v {
	case "":
	case "true":
		o.Oxygen = OxygenOn
	case "false":
		o.Oxygen = OxygenAir
	default:
		return o, "oxygen: want true or false, not " + quote(v)
	}
	return o, ""
}

func quote(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return `"` + s + `"`
}

// score reads the patient's readings of the last news2Window (an audited
// read) and scores them.
func (a *API) score(r *http.Request, p Principal, patientID string, o NEWS2Options) (NEWS2Score, error) {
	if o.Scale == 0 || o.Oxygen == OxygenNotRecorded {
		scale, onOxygen, err := a.store.NEWS2Facts(r.Context(), patientID)
		if err != nil {
			return NEWS2Score{}, err
		}
		if o.Scale == 0 {
			o.Scale = scale
		}
		if o.Oxygen == OxygenNotRecorded && onOxygen {
			o.Oxygen = OxygenOn
		}
	}
	rs, err := a.store.ListReadings(r.Context(), p.actor(), patientID, o.Now.Add(-news2Window))
	if err != nil {
		return NEWS2Score{}, err
	}
	return ScoreNEWS2(patientID, rs, o)
}

// getNEWS2: GET /api/v1/patients/:id/news2?scale=1|2&oxygen=true|false is
// the patient's partial NEWS2 now (NEWS2Score), for the clinicians caring
// for the patient, as the readings are; the patient's own link is 403,
// anyone else's 404.
func (a *API) getNEWS2(w http.ResponseWriter, r *http.Request, ps httprouter.Params, p Principal) {
	id := ps.ByName("id")
	if !a.mayRead(w, r, p, id, false) {
		return
	}
	o, bad := a.news2Options(r)
	if bad != "" {
		a.problem(w, r, http.StatusBadRequest, bad)
		return
	}
	if !a.patientExists(w, r, id) {
		return
	}
	s, err := a.score(r, p, id, o)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s)
}

// fhirNEWS2 answers GET /fhir/r4/Observation?patient=<id>&code=<token>
// (with scale= and oxygen= as getNEWS2 takes them): the NEWS2 total score
// code gives a searchset of the one score Observation; any other code is
// not searched here (400).
func (a *API) fhirNEWS2(w http.ResponseWriter, r *http.Request, p Principal, patientID, code string) {
	if !NEWS2ScoreCode(code) {
		fhirError(w, http.StatusBadRequest, "not-supported",
			"code: only "+SystemSNOMED+"|"+SNOMEDNEWS2Total+" (NEWS2 total score) is searched; leave code out for the readings")
		return
	}
	o, bad := a.news2Options(r)
	if bad != "" {
		fhirError(w, http.StatusBadRequest, "value", bad)
		return
	}
	s, err := a.score(r, p, patientID, o)
	if err != nil {
		a.fhirFail(w, r, err)
		return
	}
	writeFHIR(w, SearchsetBundle([]fhirObject{NEWS2Observation(s)}, a.cfg.BaseURL, a.selfURL(r)))
}
