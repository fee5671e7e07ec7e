package scheduler

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"vclinic/internal/callquality"
	"vclinic/internal/records"
)

// appointmentView is an appointment as the API shows it.
type appointmentView struct {
	Appointment
	BufferBeforeMinutes int    `json:"bufferBeforeMinutes"`
	BufferAfterMinutes  int    `json:"bufferAfterMinutes"`
	PatientName         string `json:"patientName,omitempty"`
	ClinicianName       string `json:"clinicianName,omitempty"`
	PatientLink         string `json:"patientLink,omitempty"`
	// Replies are the patient's word on the visit: cannot come, another
	// time.
	Replies []Reply `json:"replies"`
	// Check is the newest of the patient's pre-visit checks (staff only).
	Check *Check `json:"check,omitempty"`
}

// patientLink mints the patient's invitation link of ap, whose clinician is
// c, for p, or answers "" when p may not send it: only those who may run the
// visit (the appointment's clinician, schedulers, admins; the rule of
// Store.MayRunVisit) get it, and only while the appointment is on the
// calendar and its links still work.
func (a *API) patientLink(ctx context.Context, p Principal, ap Appointment, c Clinician, pt Patient) (string, error) {
	until := a.cfg.Links.Until(ap)
	if !ap.Status.Occupies() || !until.After(a.cfg.Now()) || mayRunVisit(p.Actor, ap.ID, c.UserID) != nil {
		return "", nil
	}
	link, err := a.issuer.GuestLink(ap, RolePatient, ap.PatientID, pt.Name, until)
	if err != nil {
		return "", err
	}
	return a.withLanguage(ctx, link, pt.Language)
}

// withLanguage adds the language its reader reads to an invitation link's
// fragment (#t=…&lang=da), so that the page speaks it on any phone: lang,
// else the clinic's.
func (a *API) withLanguage(ctx context.Context, link, lang string) (string, error) {
	if lang == "" {
		st, err := a.store.Settings(ctx)
		if err != nil {
			return "", err
		}
		lang = st.Language
	}
	if !strings.Contains(link, "#") {
		return link + "#lang=" + lang, nil
	}
	return link + "&lang=" + lang, nil
}

// view dresses an appointment for p: staff get names, and those who may run
// the visit the patient's link.
func (a *API) view(r *http.Request, p Principal, ap Appointment) (appointmentView, error) {
	v := appointmentView{Appointment: ap,
		BufferBeforeMinutes: int(ap.BufferBefore / time.Minute), BufferAfterMinutes: int(ap.BufferAfter / time.Minute)}
	v.Start, v.End = ap.Start.UTC(), ap.End.UTC()
	c, err := a.store.GetClinician(r.Context(), ap.ClinicianID)
	if err != nil {
		return v, err
	}
	v.ClinicianName = c.Name
	if v.Replies, err = a.store.Replies(r.Context(), ap.ID); err != nil {
		return v, err
	}
	if !p.IsStaff() {
		return v, nil
	}
	pt, err := a.store.GetPatient(r.Context(), p.Actor, ap.PatientID)
	if err != nil {
		return v, err
	}
	v.PatientName = pt.Name
	if v.Check, err = a.store.LatestCheck(r.Context(), ap.ID); err != nil {
		return v, err
	}
	v.PatientLink, err = a.patientLink(r.Context(), p, ap, c, pt)
	return v, err
}

func (a *API) writeAppointment(w http.ResponseWriter, r *http.Request, p Principal, status int, ap Appointment) {
	v, err := a.view(r, p, ap)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, status, v)
}

// durationMinutesRule is what a durationMinutes may be: 0 (the type's, or
// unchanged) or 5 to 480. It is checked before it becomes a time.Duration,
// which a large number would overflow into an ordinary length.
const durationMinutesRule = "durationMinutes: 5 to 480, or leave it out"

func durationMinutesOK(n int) bool {
	return n == 0 || (n >= int(minDuration/time.Minute) && n <= int(maxDuration/time.Minute))
}

// maxIdempotencyKey bounds the Idempotency-Key header.
const maxIdempotencyKey = 128

func (a *API) book(w http.ResponseWriter, r *http.Request, _ httprouter.Params, p Principal) {
	var req struct {
		ClinicianID     string `json:"clinicianId"`
		PatientID       string `json:"patientId"`
		Start           string `json:"start"`
		DurationMinutes int    `json:"durationMinutes"`
		TypeID          string `json:"typeId"`
	}
	if err := decode(w, r, &req); err != nil {
		a.problem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	start, err := parseTime("start", req.Start)
	if err != nil {
		a.problem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if len(key) > maxIdempotencyKey {
		a.problem(w, r, http.StatusBadRequest, "Idempotency-Key: at most 128 characters")
		return
	}
	if req.ClinicianID == "" || req.PatientID == "" {
		a.problem(w, r, http.StatusBadRequest, "clinicianId and patientId are required")
		return
	}
	if req.DurationMinutes == 0 && req.TypeID == "" {
		a.problem(w, r, http.StatusBadRequest, "give durationMinutes or typeId")
		return
	}
	if !durationMinutesOK(req.DurationMinutes) {
		a.problem(w, r, http.StatusUnprocessableEntity, durationMinutesRule)
		return
	}
	b, err := a.store.Book(r.Context(), p.Actor, BookRequest{
		ClinicianID:    req.ClinicianID,
		PatientID:      req.PatientID,
		TypeID:         req.TypeID,
		Start:          start,
		Duration:       time.Duration(req.DurationMinutes) * time.Minute,
		IdempotencyKey: key,
	}, a.cfg.Now())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if a.cfg.Booked != nil && !b.Replayed {
		a.cfg.Booked(r.Context(), p.Actor, b)
	}
	w.Header().Set("Location", "/api/v1/appointments/"+b.ID)
	if b.Replayed {
		// The same answer as the first time (201), marked as a replay.
		w.Header().Set("Idempotent-Replayed", "true")
	}
	a.writeAppointment(w, r, p, http.StatusCreated, b.Appointment)
}

// appointmentFor loads an appointment and checks p may see it: staff may,
// a guest only the appointment its link belongs to (404 otherwise, so that a
// patient cannot even learn that another appointment exists).
func (a *API) appointmentFor(r *http.Request, p Principal, id string) (Appointment, error) {
	if !p.IsStaff() && p.Appt != id {
		return Appointment{}, because(ErrNotFound, "no such appointment")
	}
	return a.store.GetAppointment(r.Context(), p.Actor, id)
}

func (a *API) getAppointment(w http.ResponseWriter, r *http.Request, ps httprouter.Params, p Principal) {
	ap, err := a.appointmentFor(r, p, ps.ByName("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.writeAppointment(w, r, p, http.StatusOK, ap)
}

// visitQuality answers the visit's connection quality per participant
// (Store.VisitQuality).
func (a *API) visitQuality(w http.ResponseWriter, r *http.Request, ps httprouter.Params, p Principal) {
	q, err := a.store.VisitQuality(r.Context(), p.Actor, ps.ByName("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Participants []callquality.Summary `json:"participants"`
	}{q})
}

func (a *API) cancel(w http.ResponseWriter, r *http.Request, ps httprouter.Params, p Principal) {
	var req struct {
		Reason string `json:"reason"`
	}
	if r.ContentLength != 0 {
		if err := decode(w, r, &req); err != nil {
			a.problem(w, r, http.StatusBadRequest, err.Error())
			return
		}
	}
	// The same question as every change to an appointment: may p run it?
	if err := a.store.MayRunVisit(r.Context(), p.Actor, ps.ByName("id")); err != nil {
		a.fail(w, r, err)
		return
	}
	ap, err := a.store.SetStatus(r.Context(), p.Actor, ps.ByName("id"), StatusCancelled, req.Reason)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.writeAppointment(w, r, p, http.StatusOK, ap)
}

func (a *API) reschedule(w http.ResponseWriter, r *http.Request, ps httprouter.Params, p Principal) {
	var req struct {
		Start           string `json:"start"`
		DurationMinutes int    `json:"durationMinutes"`
	}
	if err := decode(w, r, &req); err != nil {
		a.problem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	start, err := parseTime("start", req.Start)
	if err != nil {
		a.problem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	if !durationMinutesOK(req.DurationMinutes) {
		a.problem(w, r, http.StatusUnprocessableEntity, durationMinutesRule)
		return
	}
	ap, err := a.store.Reschedule(r.Context(), p.Actor, ps.ByName("id"), start,
		time.Duration(req.DurationMinutes)*time.Minute, a.cfg.Now())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.writeAppointment(w, r, p, http.StatusOK, ap)
}

func (a *API) setStatus(w http.ResponseWriter, r *http.Request, ps httprouter.Params, p Principal) {
	var req struct {
		Status string `json:"status"`
		Reason string `json:"reason"`
	}
	if err := decode(w, r, &req); err != nil {
		a.problem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	if err := a.store.MayRunVisit(r.Context(), p.Actor, ps.ByName("id")); err != nil {
		a.fail(w, r, err)
		return
	}
	ap, err := a.store.SetStatus(r.Context(), p.Actor, ps.ByName("id"), Status(req.Status), req.Reason)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.writeAppointment(w, r, p, http.StatusOK, ap)
}

func (a *API) guestLink(w http.ResponseWriter, r *http.Request, ps httprouter.Params, p Principal) {
	var req struct {
		Role string `json:"role"`
		Name string `json:"name"`
		// Language the guest reads; default the clinic's.
		Language string `json:"language"`
	}
	if err := decode(w, r, &req); err != nil {
		a.problem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	if req.Language != "" && !slices.Contains(Languages, req.Language) {
		a.problem(w, r, http.StatusUnprocessableEntity, "language: want da or en, or leave it out for the clinic's")
		return
	}
	if req.Role != RoleRelative && req.Role != RoleInterpreter {
		a.problem(w, r, http.StatusBadRequest, "role: want relative or interpreter")
		return
	}
	if records.Blank(req.Name) {
		a.problem(w, r, http.StatusBadRequest, "name: required")
		return
	}
	if reason := records.CheckText(req.Name, 100); reason != "" {
		a.problem(w, r, http.StatusUnprocessableEntity, "name: "+reason)
		return
	}
	// Authorised first: a refused clinician reads nothing of the appointment.
	if err := a.store.MayRunVisit(r.Context(), p.Actor, ps.ByName("id")); err != nil {
		a.fail(w, r, err)
		return
	}
	ap, err := a.store.GetAppointment(r.Context(), p.Actor, ps.ByName("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	until := a.cfg.Links.Until(ap)
	if !ap.Status.Occupies() || !until.After(a.cfg.Now()) {
		a.problem(w, r, http.StatusConflict, "the appointment is "+string(ap.Status)+" and over")
		return
	}
	link, err := a.issuer.GuestLink(ap, req.Role, req.Role+"-"+newID(), req.Name, until)
	if err == nil {
		link, err = a.withLanguage(r.Context(), link, req.Language)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"link": link})
}

// dayEntry is one row of a clinician's list, with live presence.
type dayEntry struct {
	Appointment appointmentView `json:"appointment"`
	Waiting     int             `json:"waiting"`
	InCall      int             `json:"inCall"`
	// FlaggedReadings counts the patient's home readings outside their
	// limits and not acknowledged since the previous held visit (or
	// FlaggedWindow); absent when the clinic does not count them.
	FlaggedReadings *int `json:"flaggedReadings,omitempty"`
}

// FlaggedWindow is how far back the day list counts flagged readings for a
// patient without an earlier held visit.
const FlaggedWindow = 30 * 24 * time.Hour

// flaggedSince counts ap's patient's flagged readings since the previous
// held visit, or FlaggedWindow before ap; nil when not counted.
func (a *API) flaggedSince(r *http.Request, ap Appointment) (*int, error) {
	if a.cfg.FlaggedReadings == nil || ap.Status == StatusCancelled || ap.Status == StatusEnteredInError {
		return nil, nil
	}
	since := ap.Start.Add(-FlaggedWindow)
	prev, ok, err := a.store.PreviousVisitEnd(r.Context(), ap.PatientID, ap.Start)
	if err != nil {
		return nil, err
	}
	if ok && prev.After(since) {
		since = prev
	}
	n, err := a.cfg.FlaggedReadings(r.Context(), ap.PatientID, since)
	if err != nil {
		return nil, err
	}
	return &n, nil
}

func (a *API) clinicianAppointments(w http.ResponseWriter, r *http.Request, ps httprouter.Params, p Principal) {
	id := ps.ByName("id")
	if err := a.mayManage(r, p, id); err != nil {
		a.fail(w, r, err)
		return
	}
	from, to, err := dayListRange(r)
	if err != nil {
		a.problem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	aps, err := a.store.ListAppointments(r.Context(), p.Actor, id, from, to)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]dayEntry, 0, len(aps))
	for _, ap := range aps {
		v, err := a.view(r, p, ap)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		waiting, inCall := a.presence.Presence(ap.ID)
		flagged, err := a.flaggedSince(r, ap)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		out = append(out, dayEntry{Appointment: v, Waiting: waiting, InCall: inCall, FlaggedReadings: flagged})
	}
	writeJSON(w, http.StatusOK, out)
}

// presenceEntry is one appointment of a day list's live view: no patient.
type presenceEntry struct {
	AppointmentID string `json:"appointmentId"`
	Status        Status `json:"status"`
	Waiting       int    `json:"waiting"`
	InCall        int    `json:"inCall"`
}

// dayPresence is the live view of a day list, which the console polls.
type dayPresence struct {
	// Version changes whenever the day list would: an appointment booked,
	// cancelled, moved or changing status.
	Version      string          `json:"version"`
	Appointments []presenceEntry `json:"appointments"`
}

// listVersion fingerprints a day list by what a reload would show
// differently: ids, statuses, times and when each row last changed.
func listVersion(states []AppointmentState) string {
	h := sha256.New()
	for _, st := range states {
		fmt.Fprintf(h, "%s\x00%s\x00%d\x00%d\x00%d\n", st.ID, st.Status,
			st.Start.UnixNano(), st.End.UnixNano(), st.UpdatedAt.UnixNano())
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:16])
}

// clinicianPresence answers who is waiting and in the call for each of a
// clinician's appointments in a range, with the version of the list, so that
// the console polls this and reloads the day list only when it changed.
//
// It is authorised exactly like the day list (mayManage). It writes no audit
// row, deliberately: the answer holds no patient data (no patient id, name or
// link, only appointment ids, statuses and head counts), the store reads
// behind it (AppointmentStates) never touch a patient's record, and whoever
// polls learned which patient an appointment id belongs to from the day list,
// whose read is logged per appointment. Logging every 5 s poll would bury
// the reads that matter under ~100,000 rows per clinician a day.
func (a *API) clinicianPresence(w http.ResponseWriter, r *http.Request, ps httprouter.Params, p Principal) {
	id := ps.ByName("id")
	if err := a.mayManage(r, p, id); err != nil {
		a.fail(w, r, err)
		return
	}
	from, to, err := dayListRange(r)
	if err != nil {
		a.problem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	states, err := a.store.AppointmentStates(r.Context(), id, from, to)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := dayPresence{Version: listVersion(states), Appointments: make([]presenceEntry, 0, len(states))}
	for _, st := range states {
		waiting, inCall := a.presence.Presence(st.ID)
		out.Appointments = append(out.Appointments, presenceEntry{AppointmentID: st.ID, Status: st.Status,
			Waiting: waiting, InCall: inCall})
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) slots(w http.ResponseWriter, r *http.Request, ps httprouter.Params, _ Principal) {
	q := r.URL.Query()
	from, to, err := queryRange(r)
	if err != nil {
		a.problem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	if to.Sub(from) > MaxSlotSearch {
		a.problem(w, r, http.StatusBadRequest, fmt.Sprintf("from and to: at most %d days apart (the search range limit; the booking horizon is apart from it)",
			MaxSlotSearch/(24*time.Hour)))
		return
	}
	var duration time.Duration
	if m := q.Get("durationMinutes"); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil || n < 5 || n > 480 {
			a.problem(w, r, http.StatusBadRequest, "durationMinutes: want 5-480")
			return
		}
		duration = time.Duration(n) * time.Minute
	}
	typeID := q.Get("type")
	if typeID == "" && duration == 0 {
		duration = 30 * time.Minute
	}
	if typeID != "" && !records.ValidID(typeID) {
		a.problem(w, r, http.StatusBadRequest, "type: want 1-64 letters, digits, - or _")
		return
	}
	// The same rules as a booking's (bookingRules): a slot listed here can
	// be booked, and one that cannot is not listed.
	typ, err := a.store.SearchRules(r.Context(), typeID, duration)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	now := a.cfg.Now()
	if until := now.Add(typ.Horizon); to.After(until.Add(time.Minute)) {
		// The last bookable start is until; a search that reaches past it
		// is told so rather than answered with fewer slots than it asked.
		a.problemWith(w, r, http.StatusUnprocessableEntity, fmt.Sprintf(
			"the search reaches past the %s booking horizon: visits can be booked until %s; search up to then",
			horizonText(typ.Horizon), until.UTC().Format(time.RFC3339)),
			map[string]any{"bookableUntil": until.UTC().Truncate(time.Second).Format(time.RFC3339)})
		return
	}
	id := ps.ByName("id")
	av, err := a.store.GetAvailability(r.Context(), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	// Busy spans reach one day beyond the range: a buffer may cross its edge.
	busy, err := a.store.Busy(r.Context(), id, from.Add(-24*time.Hour), to.Add(24*time.Hour))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	slots, err := FreeSlots(av, typ, busy, SlotQuery{From: from, To: to, Now: now})
	if err != nil {
		a.problem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"slots": nonNil(slots)})
}

// visit answers the bearer of an invitation link: does it work now, and if
// not, what happened (LinkPolicy.Outcome)? A link that is no working link
// of an appointment answers its error with state "invalid" (RFC 9457
// extension member), so that the page can say so in plain words.
func (a *API) visit(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	p, err := a.auth.Authenticate(r)
	switch {
	case records.Unavailable(err):
		w.Header().Set("Retry-After", "2")
		a.problem(w, r, http.StatusServiceUnavailable, "the clinic's records cannot be reached just now; try again in a moment")
		return
	case errors.Is(err, ErrLinkEnded):
		a.problemWith(w, r, http.StatusUnauthorized, "this link's time is over", map[string]any{"state": VisitExpired})
		return
	case err != nil:
		a.problemWith(w, r, http.StatusUnauthorized, "this link does not work: it is not a link of ours, or it was cut off",
			map[string]any{"state": VisitInvalid})
		return
	case p.Appt == "":
		a.problemWith(w, r, http.StatusNotFound, "this link does not belong to an appointment", map[string]any{"state": VisitInvalid})
		return
	}
	p.Address = clientAddress(r)
	ap, err := a.store.GetAppointment(r.Context(), p.Actor, p.Appt)
	if errors.Is(err, ErrNotFound) {
		a.problemWith(w, r, http.StatusNotFound, "this link's appointment is not in the records", map[string]any{"state": VisitInvalid})
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	c, err := a.store.GetClinician(r.Context(), ap.ClinicianID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	now := a.cfg.Now()
	win := a.cfg.Links.Window(ap, now)
	win.State = a.cfg.Links.Outcome(ap, now)
	var replies []Reply
	var check *Check
	if p.Role == RolePatient {
		if replies, err = a.store.Replies(r.Context(), ap.ID); err != nil {
			a.fail(w, r, err)
			return
		}
		if check, err = a.store.LatestCheck(r.Context(), ap.ID); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, struct {
		LinkWindow
		Clinician string  `json:"clinician"`
		Replies   []Reply `json:"replies"`
		Check     *Check  `json:"check,omitempty"`
	}{win, c.Name, nonNil(replies), check})
}

// visitCheck: POST /api/v1/visit/check (CheckResult) stores the patient's
// pre-visit check of the visit their link belongs to: 201, or 200 with the
// first when that run was sent before.
func (a *API) visitCheck(w http.ResponseWriter, r *http.Request, _ httprouter.Params, p Principal) {
	if p.Appt == "" {
		a.problem(w, r, http.StatusNotFound, "this link does not belong to an appointment")
		return
	}
	var req CheckResult
	if err := decode(w, r, &req); err != nil {
		a.problem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	c, created, err := a.store.AddCheck(r.Context(), p.Actor, p.Appt, req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, c)
}

// reply: POST /api/v1/visit/reply {"kind": "cannot-come"|"new-time",
// "text"} records the patient's word on the visit their link belongs to:
// 201, or 200 with the first when that kind was sent before.
func (a *API) reply(w http.ResponseWriter, r *http.Request, _ httprouter.Params, p Principal) {
	if p.Appt == "" {
		a.problem(w, r, http.StatusNotFound, "this link does not belong to an appointment")
		return
	}
	var req struct {
		Kind string `json:"kind"`
		Text string `json:"text"`
	}
	if err := decode(w, r, &req); err != nil {
		a.problem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	rep, created, err := a.store.AddReply(r.Context(), p.Actor, p.Appt, req.Kind, req.Text)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, rep)
}

// dayListRange reads the from= and to= of a day list (or its presence): at
// most 31 days apart.
func dayListRange(r *http.Request) (from, to time.Time, err error) {
	if from, to, err = queryRange(r); err != nil {
		return from, to, err
	}
	if to.Sub(from) > 31*24*time.Hour {
		return from, to, errors.New("from and to: at most 31 days apart")
	}
	return from, to, nil
}

// queryRange reads the from= and to= instants of a request (RFC 3339, any
// offset), from before to.
func queryRange(r *http.Request) (from, to time.Time, err error) {
	q := r.URL.Query()
	if from, err = parseTime("from", q.Get("from")); err != nil {
		return from, to, err
	}
	if to, err = parseTime("to", q.Get("to")); err != nil {
		return from, to, err
	}
	if !from.Before(to) {
		return from, to, errors.New("from must be before to")
	}
	return from, to, nil
}
