package scheduler

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"
)

// FHIR R4 read endpoints (http://hl7.org/fhir/R4/http.html#read and
// #search) and the iCalendar invitation.

func writeFHIR(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/fhir+json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}

// fhirError answers with an OperationOutcome
// (http://hl7.org/fhir/R4/operationoutcome.html).
func fhirError(w http.ResponseWriter, status int, code, diagnostics string) {
	w.Header().Set("Content-Type", "application/fhir+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"resourceType": "OperationOutcome",
		"issue":        []map[string]string{{"severity": "error", "code": code, "diagnostics": diagnostics}},
	})
}

func (a *API) fhirFail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case isNotFound(err):
		fhirError(w, http.StatusNotFound, "not-found", Reason(err))
	default:
		a.log.Error("fhir", "path", r.URL.Path, "err", err)
		fhirError(w, http.StatusInternalServerError, "exception", "the server failed; try again")
	}
}

// selfURL is the request's absolute URL under the configured base.
func (a *API) selfURL(r *http.Request) string {
	return strings.TrimSuffix(a.cfg.BaseURL, "/") + r.URL.RequestURI()
}

// fhirSchedule: GET /fhir/r4/Schedule?actor=Practitioner/<id> (or <id>); no
// actor lists every clinician's schedule.
func (a *API) fhirSchedule(w http.ResponseWriter, r *http.Request, _ httprouter.Params, _ Principal) {
	actor := strings.TrimPrefix(r.URL.Query().Get("actor"), "Practitioner/")
	cs, err := a.store.ListClinicians(r.Context())
	if err != nil {
		a.fhirFail(w, r, err)
		return
	}
	var res []any
	for _, c := range cs {
		if actor == "" || c.ID == actor {
			res = append(res, ScheduleResource(c))
		}
	}
	writeFHIR(w, SearchsetBundle(res, len(res), a.selfURL(r)))
}

// fhirSlot: GET /fhir/r4/Slot?schedule=Schedule/sched-<id>&start=ge<instant>[&start=lt<instant>]
// lists free slots (default: the next 7 days).
func (a *API) fhirSlot(w http.ResponseWriter, r *http.Request, _ httprouter.Params, _ Principal) {
	q := r.URL.Query()
	sched := strings.TrimPrefix(q.Get("schedule"), "Schedule/")
	clinicianID, ok := strings.CutPrefix(sched, "sched-")
	if !ok || clinicianID == "" {
		fhirError(w, http.StatusBadRequest, "required", "schedule: want Schedule/sched-<clinician id>")
		return
	}
	now := a.cfg.Now()
	from, to := now, now.Add(7*24*time.Hour)
	for _, s := range q["start"] {
		prefix, value := s[:min(2, len(s))], s[min(2, len(s)):]
		t, err := time.Parse(time.RFC3339, value)
		if err != nil {
			fhirError(w, http.StatusBadRequest, "invalid", "start: want ge<instant> or lt<instant> (RFC 3339)")
			return
		}
		switch prefix {
		case "ge", "gt":
			from = t.UTC()
		case "lt", "le":
			to = t.UTC()
		default:
			fhirError(w, http.StatusBadRequest, "not-supported", "start: only ge, gt, lt and le prefixes")
			return
		}
	}
	if !from.Before(to) || to.Sub(from) > 31*24*time.Hour {
		fhirError(w, http.StatusBadRequest, "invalid", "start: a range of at most 31 days")
		return
	}
	av, err := a.store.GetAvailability(r.Context(), clinicianID)
	if err != nil {
		a.fhirFail(w, r, err)
		return
	}
	busy, err := a.store.Busy(r.Context(), clinicianID, from.Add(-24*time.Hour), to.Add(24*time.Hour))
	if err != nil {
		a.fhirFail(w, r, err)
		return
	}
	// A FHIR search answers what matches: slots beyond the clinic's
	// booking horizon do not, so they are left out rather than refused.
	typ, err := a.store.SearchRules(r.Context(), "", 30*time.Minute)
	if err != nil {
		a.fhirFail(w, r, err)
		return
	}
	slots, err := FreeSlots(av, typ, busy, SlotQuery{From: from, To: to, Now: now})
	if err != nil {
		fhirError(w, http.StatusBadRequest, "invalid", err.Error())
		return
	}
	res := make([]any, 0, len(slots))
	for _, s := range slots {
		res = append(res, SlotResource("sched-"+clinicianID, s, "free"))
	}
	writeFHIR(w, SearchsetBundle(res, len(res), a.selfURL(r)))
}

func (a *API) fhirAppointment(w http.ResponseWriter, r *http.Request, ps httprouter.Params, p Principal) {
	ap, err := a.store.GetAppointment(r.Context(), p.Actor, ps.ByName("id"))
	if err != nil {
		a.fhirFail(w, r, err)
		return
	}
	c, pt, link, err := a.parties(r, p, ap)
	if err != nil {
		a.fhirFail(w, r, err)
		return
	}
	writeFHIR(w, AppointmentResource(ap, c, pt, link))
}

// parties loads an appointment's clinician and patient and mints the
// patient's link.
func (a *API) parties(r *http.Request, p Principal, ap Appointment) (Clinician, Patient, string, error) {
	c, err := a.store.GetClinician(r.Context(), ap.ClinicianID)
	if err != nil {
		return c, Patient{}, "", err
	}
	pt, err := a.store.GetPatient(r.Context(), p.Actor, ap.PatientID)
	if err != nil {
		return c, pt, "", err
	}
	link, err := a.patientLink(r.Context(), p, ap, c, pt)
	return c, pt, link, err
}

// inviteICS: GET /api/v1/appointments/{id}/invite.ics (RFC 5545, METHOD per
// RFC 5546: REQUEST, or CANCEL once cancelled).
func (a *API) inviteICS(w http.ResponseWriter, r *http.Request, ps httprouter.Params, p Principal) {
	// The invitation is for whoever sends it: the appointment's clinician, a
	// scheduler or an admin; asked before anything is read.
	if err := a.store.MayRunVisit(r.Context(), p.Actor, ps.ByName("id")); err != nil {
		a.fail(w, r, err)
		return
	}
	ap, err := a.store.GetAppointment(r.Context(), p.Actor, ps.ByName("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	c, pt, link, err := a.parties(r, p, ap)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	method := "REQUEST"
	if !ap.Status.Occupies() {
		method = "CANCEL"
	}
	st, err := a.store.Settings(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	lang := pt.Language
	if lang == "" {
		lang = st.Language
	}
	body, err := InviteICS(ap, c, pt, link, method, InviteFrom{Email: a.cfg.OrganizerEmail, Clinic: st.Name, Phone: st.Phone, Language: lang})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8; method="+method)
	w.Header().Set("Content-Disposition", `attachment; filename="vclinic-`+ap.ID+`.ics"`)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(body))
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
