package scheduler

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"
)

// SessionCookie carries a staff member's token; HttpOnly, SameSite=Lax.
const SessionCookie = "vclinic_session"

// userView is a user as the API shows it.
type userView struct {
	User
	ClinicianID string `json:"clinicianId,omitempty"`
}

func (a *API) userView(r *http.Request, u User) userView {
	v := userView{User: u}
	if u.Role == RoleClinician {
		if c, err := a.clinicianOfUser(r, u.ID); err == nil {
			v.ClinicianID = c.ID
		}
	}
	return v
}

// clinicianOfUser finds the clinician record of a signed-in clinician.
func (a *API) clinicianOfUser(r *http.Request, userID string) (Clinician, error) {
	cs, err := a.store.ListClinicians(r.Context())
	if err != nil {
		return Clinician{}, err
	}
	for _, c := range cs {
		if c.UserID == userID {
			return c, nil
		}
	}
	return Clinician{}, because(ErrNotFound, "no clinician record for this user")
}

func (a *API) me(w http.ResponseWriter, r *http.Request, _ httprouter.Params, p Principal) {
	u, err := a.store.GetUser(r.Context(), p.ID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a.userView(r, u))
}

func (a *API) listClinicians(w http.ResponseWriter, r *http.Request, _ httprouter.Params, _ Principal) {
	cs, err := a.store.ListClinicians(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, nonNil(cs))
}

func (a *API) createClinician(w http.ResponseWriter, r *http.Request, _ httprouter.Params, p Principal) {
	var req struct {
		Name       string `json:"name"`
		Department string `json:"department"`
		Zone       string `json:"zone"`
		UserID     string `json:"userId"`
	}
	if err := decode(w, r, &req); err != nil {
		a.problem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	c, err := a.store.CreateClinician(r.Context(), p.Actor, Clinician{Name: req.Name, Department: req.Department, Zone: req.Zone, UserID: req.UserID})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, c)
}

// updateClinician changes a clinician's name or department
// (PUT /api/v1/clinicians/{id}).
func (a *API) updateClinician(w http.ResponseWriter, r *http.Request, ps httprouter.Params, p Principal) {
	var req ClinicianChange
	if err := decode(w, r, &req); err != nil {
		a.problem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	c, err := a.store.UpdateClinician(r.Context(), p.Actor, ps.ByName("id"), req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// mayManage reports whether p may change clinician id's calendar: schedulers,
// admins, and the clinician itself.
func (a *API) mayManage(r *http.Request, p Principal, id string) error {
	if p.Role == RoleScheduler || p.Role == RoleAdmin {
		return nil
	}
	if p.Role == RoleClinician {
		c, err := a.clinicianOfUser(r, p.ID)
		if err == nil && c.ID == id {
			return nil
		}
	}
	return because(ErrForbidden, "only schedulers and the clinician manage this calendar")
}

// availabilityJSON is availability as the API shows it: "HH:MM" wall clocks
// and "YYYY-MM-DD" dates.
type availabilityJSON struct {
	Zone  string `json:"zone"`
	Rules []struct {
		Weekday int    `json:"weekday"`
		Start   string `json:"start"`
		End     string `json:"end"`
	} `json:"rules"`
	Exceptions []struct {
		Date  string `json:"date"`
		Kind  string `json:"kind"`
		Start string `json:"start"`
		End   string `json:"end"`
	} `json:"exceptions"`
}

func parseClock(field, s string) (WallClock, error) {
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || len(m) != 2 || hh < 0 || mm < 0 || mm > 59 || hh*60+mm > 24*60 {
		return 0, fmt.Errorf("%s: %q is not a time of day HH:MM (00:00-24:00)", field, s)
	}
	return Clock(hh, mm), nil
}

func (j availabilityJSON) toModel(clinicianID string) (Availability, error) {
	av := Availability{ClinicianID: clinicianID, Zone: j.Zone, Rules: []WeeklyRule{}, Exceptions: []Exception{}}
	for i, rj := range j.Rules {
		if rj.Weekday < 0 || rj.Weekday > 6 {
			return av, fmt.Errorf("rules[%d].weekday: want 0 (Sunday) to 6 (Saturday)", i)
		}
		start, err := parseClock(fmt.Sprintf("rules[%d].start", i), rj.Start)
		if err != nil {
			return av, err
		}
		end, err := parseClock(fmt.Sprintf("rules[%d].end", i), rj.End)
		if err != nil {
			return av, err
		}
		av.Rules = append(av.Rules, WeeklyRule{Weekday: time.Weekday(rj.Weekday), Start: start, End: end})
	}
	for i, ej := range j.Exceptions {
		d, err := time.Parse(time.DateOnly, ej.Date)
		if err != nil {
			return av, fmt.Errorf("exceptions[%d].date: %q is not YYYY-MM-DD", i, ej.Date)
		}
		start, end := WallClock(0), WallClock(24*60)
		if ej.Start != "" {
			if start, err = parseClock(fmt.Sprintf("exceptions[%d].start", i), ej.Start); err != nil {
				return av, err
			}
		}
		if ej.End != "" {
			if end, err = parseClock(fmt.Sprintf("exceptions[%d].end", i), ej.End); err != nil {
				return av, err
			}
		}
		kind := ExceptionKind(ej.Kind)
		if kind != Absence && kind != ExtraHours {
			return av, fmt.Errorf("exceptions[%d].kind: want absence or extra-hours", i)
		}
		av.Exceptions = append(av.Exceptions, Exception{Date: Date{d.Year(), d.Month(), d.Day()}, Kind: kind, Start: start, End: end})
	}
	return av, nil
}

func availabilityView(av Availability) availabilityJSON {
	var j availabilityJSON
	j.Zone = av.Zone
	j.Rules = make([]struct {
		Weekday int    `json:"weekday"`
		Start   string `json:"start"`
		End     string `json:"end"`
	}, len(av.Rules))
	for i, r := range av.Rules {
		j.Rules[i].Weekday, j.Rules[i].Start, j.Rules[i].End = int(r.Weekday), r.Start.String(), r.End.String()
	}
	j.Exceptions = make([]struct {
		Date  string `json:"date"`
		Kind  string `json:"kind"`
		Start string `json:"start"`
		End   string `json:"end"`
	}, len(av.Exceptions))
	for i, e := range av.Exceptions {
		j.Exceptions[i].Date, j.Exceptions[i].Kind = e.Date.String(), string(e.Kind)
		j.Exceptions[i].Start, j.Exceptions[i].End = e.Start.String(), e.End.String()
	}
	return j
}

func (a *API) getAvailability(w http.ResponseWriter, r *http.Request, ps httprouter.Params, _ Principal) {
	av, err := a.store.GetAvailability(r.Context(), ps.ByName("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, availabilityView(av))
}

func (a *API) putAvailability(w http.ResponseWriter, r *http.Request, ps httprouter.Params, p Principal) {
	id := ps.ByName("id")
	if err := a.mayManage(r, p, id); err != nil {
		a.fail(w, r, err)
		return
	}
	var req availabilityJSON
	if err := decode(w, r, &req); err != nil {
		a.problem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	av, err := req.toModel(id)
	if err != nil {
		a.problem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	stored, err := a.store.PutAvailability(r.Context(), p.Actor, id, av)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, availabilityView(stored))
}

func (a *API) listPatients(w http.ResponseWriter, r *http.Request, _ httprouter.Params, p Principal) {
	f := PatientFilter{Name: r.URL.Query().Get("q"), CPR: CPR(r.URL.Query().Get("cpr"))}
	ps, err := a.store.ListPatients(r.Context(), p.Actor, f)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, nonNil(ps))
}

// getPatient: GET /api/v1/patients/{id} answers one patient to staff, as
// the list does (the read is audited).
func (a *API) getPatient(w http.ResponseWriter, r *http.Request, ps httprouter.Params, p Principal) {
	pt, err := a.store.GetPatient(r.Context(), p.Actor, ps.ByName("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, pt)
}

func (a *API) createPatient(w http.ResponseWriter, r *http.Request, _ httprouter.Params, p Principal) {
	var req struct {
		Name      string `json:"name"`
		Contact   string `json:"contact"`
		Email     string `json:"email"`
		Phone     string `json:"phone"`
		ContactBy string `json:"contactBy"`
		Language  string `json:"language"`
		CPR       string `json:"cpr"`
	}
	if err := decode(w, r, &req); err != nil {
		a.problem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	pt, err := a.store.CreatePatient(r.Context(), p.Actor, Patient{Name: req.Name, Contact: req.Contact, Email: req.Email,
		Phone: req.Phone, ContactBy: req.ContactBy, Language: req.Language, CPR: CPR(req.CPR)})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, pt)
}

// updatePatient: PUT /api/v1/patients/{id} changes the fields it names:
// name, contact, email, phone, contactBy, language (not the CPR number).
func (a *API) updatePatient(w http.ResponseWriter, r *http.Request, ps httprouter.Params, p Principal) {
	var req struct {
		Name      *string `json:"name"`
		Contact   *string `json:"contact"`
		Email     *string `json:"email"`
		Phone     *string `json:"phone"`
		ContactBy *string `json:"contactBy"`
		Language  *string `json:"language"`
	}
	if err := decode(w, r, &req); err != nil {
		a.problem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	pt, err := a.store.UpdatePatient(r.Context(), p.Actor, ps.ByName("id"), PatientChange{Name: req.Name, Contact: req.Contact,
		Email: req.Email, Phone: req.Phone, ContactBy: req.ContactBy, Language: req.Language})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, pt)
}

// nonNil makes an empty list encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
