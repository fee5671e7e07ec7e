package scheduler

import (
	"net/http"
	"sync"
	"time"

	"github.com/julienschmidt/httprouter"
)

// The clinic's configuration through the API: appointment types (staff read
// them, admins change them) and the clinic's settings (staff read them,
// admins change them, and anyone reads the part patients see at
// GET /api/v1/clinic, which the patient's page needs before its link is
// checked, to say whom to call).

// typeView is an appointment type with its durations in minutes and days.
type typeView struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Names Names  `json:"names"`
	// Durations in minutes.
	DurationMinutes     int `json:"durationMinutes"`
	BufferBeforeMinutes int `json:"bufferBeforeMinutes"`
	BufferAfterMinutes  int `json:"bufferAfterMinutes"`
	NoticeMinutes       int `json:"noticeMinutes"`
	// MinNoticeMinutes repeats NoticeMinutes, the name it first had.
	MinNoticeMinutes int `json:"minNoticeMinutes"`
	// HorizonDays is the type's own horizon, null for the clinic's.
	HorizonDays *int `json:"horizonDays"`
	// BookableDays is how far ahead it books now: HorizonDays, else the
	// clinic's.
	BookableDays int      `json:"bookableDays"`
	Expected     []string `json:"expected"`
	Retired      bool     `json:"retired"`
}

func viewOf(t AppointmentType, st Settings) typeView {
	v := typeView{ID: t.ID, Name: t.Name, Names: t.Names, DurationMinutes: int(t.Duration / time.Minute),
		BufferBeforeMinutes: int(t.BufferBefore / time.Minute), BufferAfterMinutes: int(t.BufferAfter / time.Minute),
		NoticeMinutes: int(t.MinNotice / time.Minute), BookableDays: int(st.Horizon(t) / (24 * time.Hour)),
		Expected: nonNil(t.Expected), Retired: t.Retired}
	v.MinNoticeMinutes = v.NoticeMinutes
	if t.Horizon > 0 {
		d := int(t.Horizon / (24 * time.Hour))
		v.HorizonDays = &d
	}
	return v
}

// typeBody is what POST and PUT /api/v1/appointment-types take. A PUT
// changes the fields it names and keeps the others.
type typeBody struct {
	Names *Names `json:"names"`
	// Name, without Names, is the English name.
	Name                string   `json:"name"`
	DurationMinutes     int      `json:"durationMinutes"`
	BufferBeforeMinutes int      `json:"bufferBeforeMinutes"`
	BufferAfterMinutes  int      `json:"bufferAfterMinutes"`
	NoticeMinutes       *int     `json:"noticeMinutes"`
	MinNoticeMinutes    *int     `json:"minNoticeMinutes"`
	HorizonDays         *int     `json:"horizonDays"`
	BookableDays        *int     `json:"bookableDays"` // ignored: read-only, so that a GET's answer may be sent back
	ID                  string   `json:"id"`           // ignored likewise; the path names the type
	Expected            []string `json:"expected"`
	Retired             bool     `json:"retired"`
}

func bodyOf(t AppointmentType) typeBody {
	v := viewOf(t, Settings{})
	names := t.Names
	return typeBody{Names: &names, DurationMinutes: v.DurationMinutes, BufferBeforeMinutes: v.BufferBeforeMinutes,
		BufferAfterMinutes: v.BufferAfterMinutes, NoticeMinutes: &v.NoticeMinutes, HorizonDays: v.HorizonDays,
		Expected: t.Expected, Retired: t.Retired}
}

// model is the type the body describes; cur is the type a PUT changes (nil
// for a POST). Where a body carries both a field and its older name, as a
// GET's answer sent back does, the one that differs from cur wins.
func (b typeBody) model(cur *AppointmentType) AppointmentType {
	t := AppointmentType{Duration: time.Duration(b.DurationMinutes) * time.Minute,
		BufferBefore: time.Duration(b.BufferBeforeMinutes) * time.Minute,
		BufferAfter:  time.Duration(b.BufferAfterMinutes) * time.Minute,
		Expected:     b.Expected, Retired: b.Retired}
	var was AppointmentType
	if cur != nil {
		t.ID, was = cur.ID, *cur
	}
	if b.Names != nil {
		t.Names = *b.Names
	}
	if b.Name != "" && b.Name != was.Name && (cur != nil || t.Names.EN == "") {
		t.Names.EN = b.Name
	}
	notice := b.NoticeMinutes
	if b.MinNoticeMinutes != nil && (notice == nil || cur != nil && time.Duration(*notice)*time.Minute == was.MinNotice) {
		notice = b.MinNoticeMinutes
	}
	if notice != nil {
		t.MinNotice = time.Duration(*notice) * time.Minute
	}
	if b.HorizonDays != nil {
		t.Horizon = time.Duration(*b.HorizonDays) * 24 * time.Hour
		if *b.HorizonDays == 0 {
			t.Horizon = -24 * time.Hour // refused: null, not 0, is the clinic's horizon
		}
	}
	return t
}

func (a *API) listTypes(w http.ResponseWriter, r *http.Request, _ httprouter.Params, _ Principal) {
	ts, err := a.store.ListAppointmentTypes(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	st, err := a.store.Settings(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	retired := r.URL.Query().Get("retired")
	out := make([]typeView, 0, len(ts))
	for _, t := range ts {
		if retired == "false" && t.Retired || retired == "true" && !t.Retired {
			continue
		}
		out = append(out, viewOf(t, st))
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) createType(w http.ResponseWriter, r *http.Request, _ httprouter.Params, p Principal) {
	var b typeBody
	if err := decode(w, r, &b); err != nil {
		a.problem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	t, err := a.store.CreateAppointmentType(r.Context(), p.Actor, b.model(nil))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.answerType(w, r, http.StatusCreated, t)
}

func (a *API) putType(w http.ResponseWriter, r *http.Request, ps httprouter.Params, p Principal) {
	cur, err := a.store.GetAppointmentType(r.Context(), ps.ByName("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	b := bodyOf(cur)
	if err := decode(w, r, &b); err != nil {
		a.problem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	t, err := a.store.UpdateAppointmentType(r.Context(), p.Actor, b.model(&cur))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.answerType(w, r, http.StatusOK, t)
}

func (a *API) deleteType(w http.ResponseWriter, r *http.Request, ps httprouter.Params, p Principal) {
	if err := a.store.DeleteAppointmentType(r.Context(), p.Actor, ps.ByName("id")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) answerType(w http.ResponseWriter, r *http.Request, status int, t AppointmentType) {
	st, err := a.store.Settings(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, status, viewOf(t, st))
}

func (a *API) getSettings(w http.ResponseWriter, r *http.Request, _ httprouter.Params, _ Principal) {
	st, err := a.store.Settings(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// settingsBody is what PUT /api/v1/settings takes: the fields it names
// replace the current ones; department is accepted for departments.
type settingsBody struct {
	Settings
	Department *[]Department `json:"department"`
}

func (a *API) putSettings(w http.ResponseWriter, r *http.Request, _ httprouter.Params, p Principal) {
	cur, err := a.store.Settings(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	b := settingsBody{Settings: cur}
	b.Version = 0 // only a version the body names is checked
	if err := decode(w, r, &b); err != nil {
		a.problem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	if b.Department != nil {
		b.Departments = *b.Department
	}
	st, err := a.store.PutSettings(r.Context(), p.Actor, b.Settings)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.clinicCache.forget()
	writeJSON(w, http.StatusOK, st)
}

// ClinicInfo is what anyone may read of the clinic (GET /api/v1/clinic):
// what the patient's page shows before and after a visit.
type ClinicInfo struct {
	Name     string    `json:"name"`
	Phone    string    `json:"phone"`
	Language string    `json:"language"`
	Hours    WeekHours `json:"hours"`
	// OpenNow says whether staff are at work now (Hours, in DefaultZone).
	OpenNow bool   `json:"openNow"`
	Zone    string `json:"zone"`
	// GuestsByPatient: patients may invite a relative or an interpreter.
	GuestsByPatient bool `json:"guestsByPatient"`
}

// clinicCache keeps GET /api/v1/clinic's answer for a moment: the route needs
// no sign-in, so it must not cost a database read per request. Another
// node's change is seen within clinicCacheFor.
type clinicCache struct {
	mu    sync.Mutex
	at    time.Time
	value Settings
}

const clinicCacheFor = 2 * time.Second

func (c *clinicCache) forget() {
	c.mu.Lock()
	c.at = time.Time{}
	c.mu.Unlock()
}

func (a *API) clinic(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	now := a.cfg.Now()
	a.clinicCache.mu.Lock()
	st, at := a.clinicCache.value, a.clinicCache.at
	a.clinicCache.mu.Unlock()
	if at.IsZero() || now.Sub(at) > clinicCacheFor || now.Before(at) {
		var err error
		if st, err = a.store.Settings(r.Context()); err != nil {
			a.fail(w, r, err)
			return
		}
		a.clinicCache.mu.Lock()
		a.clinicCache.value, a.clinicCache.at = st, now
		a.clinicCache.mu.Unlock()
	}
	loc, err := a.store.location(DefaultZone)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ClinicInfo{Name: st.Name, Phone: st.Phone, Language: st.Language, Hours: st.Hours,
		OpenNow: st.Hours.OpenAt(now, loc), Zone: DefaultZone, GuestsByPatient: st.GuestsByPatient})
}
