package scheduler

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"vclinic/internal/records"
)

// The visit as a FHIR R4 Encounter (http://hl7.org/fhir/R4/encounter.html),
// so that the region's record system can file the home readings and the
// early-warning score (whose Observation.encounter names it) under the
// visit they belong to. An appointment is the plan (Appointment); its
// Encounter is what happened, with the same id.

// Fixed codes of the Encounter view.
const (
	// ActCodeSystem holds Encounter.class: HL7 v3 ActCode, whose VR
	// "virtual" is a patient and clinician meeting by video
	// (http://terminology.hl7.org/CodeSystem/v3-ActCode, ActEncounterCode;
	// R4 Encounter.class binds to the v3 ActEncounterCode value set).
	ActCodeSystem = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
	// ParticipationTypeSystem holds Encounter.participant.type: PPRF,
	// "primary performer", the clinician who runs the visit.
	ParticipationTypeSystem = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
)

// FHIREncounter is an Encounter.
type FHIREncounter struct {
	ResourceType string                       `json:"resourceType"`
	ID           string                       `json:"id"`
	Meta         *FHIRMeta                    `json:"meta,omitempty"`
	Status       string                       `json:"status"`
	Class        FHIRCoding                   `json:"class"`
	Type         []FHIRCodeableConcept        `json:"type,omitempty"`
	ServiceType  *FHIRCodeableConcept         `json:"serviceType,omitempty"`
	Subject      FHIRReference                `json:"subject"`
	Participant  []FHIREncounterParticipant   `json:"participant,omitempty"`
	Appointment  []FHIRReference              `json:"appointment"`
	Period       *FHIRPeriod                  `json:"period,omitempty"`
	Length       *FHIRDuration                `json:"length,omitempty"`
	StatusHist   []FHIREncounterStatusHistory `json:"statusHistory,omitempty"`
}

// FHIREncounterParticipant is an Encounter.participant.
type FHIREncounterParticipant struct {
	Type       []FHIRCodeableConcept `json:"type,omitempty"`
	Individual FHIRReference         `json:"individual"`
}

// FHIREncounterStatusHistory is an Encounter.statusHistory.
type FHIREncounterStatusHistory struct {
	Status string     `json:"status"`
	Period FHIRPeriod `json:"period"`
}

// FHIRDuration is a Duration in minutes (UCUM min).
type FHIRDuration struct {
	Value  int    `json:"value"`
	Unit   string `json:"unit"`
	System string `json:"system"`
	Code   string `json:"code"`
}

// EncounterStatus is the R4 Encounter.status of an appointment in status
// s (http://hl7.org/fhir/R4/valueset-encounter-status.html): booked is
// planned, arrived (in the waiting room) arrived, checked-in (admitted) in
// progress, fulfilled finished; cancelled and noshow are cancelled (the
// encounter ended before it began; R4 has no no-show), entered-in-error
// stays.
func EncounterStatus(s Status) string {
	switch s {
	case StatusBooked:
		return "planned"
	case StatusArrived:
		return "arrived"
	case StatusCheckedIn:
		return "in-progress"
	case StatusFulfilled:
		return "finished"
	case StatusCancelled, StatusNoShow:
		return "cancelled"
	case StatusEnteredInError:
		return "entered-in-error"
	}
	return "unknown"
}

// VisitPeriod is when a visit actually ran: from the clinician's admission
// (the first move to checked-in) to its end (the first move to fulfilled,
// or to cancelled after admission); zero when not (yet) known.
func VisitPeriod(changes []StatusChange) (start, end time.Time) {
	for _, c := range changes {
		switch {
		case c.Status == StatusCheckedIn && start.IsZero():
			start = c.At
		case (c.Status == StatusFulfilled || c.Status == StatusCancelled) && !start.IsZero() && end.IsZero():
			end = c.At
		}
	}
	return start, end
}

// EncounterResource is the Encounter of appointment a: its status, class
// virtual (VR), type from the appointment type typ (when it has one),
// service video consultation, the patient as subject, the clinician c as
// primary performer, the appointment, and the actual period and status
// history from changes (oldest first, as StatusChanges answers them).
func EncounterResource(a Appointment, c Clinician, p Patient, typ AppointmentType, changes []StatusChange) FHIREncounter {
	e := FHIREncounter{
		ResourceType: "Encounter",
		ID:           a.ID,
		Status:       EncounterStatus(a.Status),
		Class:        FHIRCoding{System: ActCodeSystem, Code: "VR", Display: "virtual"},
		ServiceType:  &serviceVideo()[0],
		Subject:      FHIRReference{Reference: "Patient/" + a.PatientID},
		Appointment:  []FHIRReference{{Reference: "Appointment/" + a.ID}},
	}
	if !a.UpdatedAt.IsZero() {
		e.Meta = &FHIRMeta{LastUpdated: fhirInstant(a.UpdatedAt)}
	}
	if p.ID == a.PatientID {
		e.Subject.Display = p.Name
	}
	if typ.ID != "" && typ.ID == a.TypeID && typ.Name != "" {
		e.Type = []FHIRCodeableConcept{{Text: typ.Name}}
	}
	clin := FHIRReference{Reference: "Practitioner/" + a.ClinicianID}
	if c.ID == a.ClinicianID {
		clin.Display = c.Name
	}
	e.Participant = []FHIREncounterParticipant{{
		Type: []FHIRCodeableConcept{{Coding: []FHIRCoding{{System: ParticipationTypeSystem, Code: "PPRF",
			Display: "primary performer"}}}},
		Individual: clin,
	}}
	start, end := VisitPeriod(changes)
	if !start.IsZero() {
		e.Period = &FHIRPeriod{Start: fhirInstant(start)}
		if !end.IsZero() {
			e.Period.End = fhirInstant(end)
			e.Length = &FHIRDuration{Value: int(end.Sub(start).Round(time.Minute) / time.Minute), Unit: "min",
				System: "http://unitsofmeasure.org", Code: "min"}
		}
	}
	// The statuses an Encounter passed through, each from its change to
	// the next (the last open).
	for i, ch := range changes {
		h := FHIREncounterStatusHistory{Status: EncounterStatus(ch.Status), Period: FHIRPeriod{Start: fhirInstant(ch.At)}}
		if i+1 < len(changes) {
			h.Period.End = fhirInstant(changes[i+1].At)
		}
		e.StatusHist = append(e.StatusHist, h)
	}
	return e
}

// statusChanges reads the status moves of a patient's appointments (of
// appointmentID alone when not "") from their status history (history.go),
// oldest first, by appointment; a move to a new time is not a status and
// is left out.
func (s *Store) statusChanges(ctx context.Context, tx *sql.Tx, patientID, appointmentID string) (map[string][]StatusChange, error) {
	q := `SELECT h.appointment_id, h.status, h.at, h.by_id, h.by_role FROM appointment_history h
		JOIN appointments a ON a.id = h.appointment_id WHERE a.patient_id = $1 AND h.status <> 'moved'`
	args := []any{patientID}
	if appointmentID != "" {
		q += ` AND h.appointment_id = $2`
		args = append(args, appointmentID)
	}
	out := map[string][]StatusChange{}
	err := records.QueryRows(ctx, tx, q+` ORDER BY h.at, h.id`, args, func(r *sql.Rows) error {
		var id, st string
		var c StatusChange
		if err := r.Scan(&id, &st, records.Time(&c.At), &c.ByID, &c.ByRole); err != nil {
			return err
		}
		c.Status, c.At = Status(st), c.At.UTC()
		out[id] = append(out[id], c)
		return nil
	})
	return out, err
}

// Encounters answers the Encounters of a patient's appointments (of
// appointmentID alone when not ""; ErrNotFound when there is no such
// appointment), by start, and records the read in the audit log.
func (s *Store) Encounters(ctx context.Context, actor Actor, patientID, appointmentID string) ([]FHIREncounter, error) {
	if err := checkActor(actor); err != nil {
		return nil, err
	}
	var out []FHIREncounter
	err := s.db.InTx(ctx, "encounters of patient "+patientID+" "+appointmentID, func(tx *sql.Tx) error {
		out = out[:0]
		var appts []Appointment
		if appointmentID != "" {
			a, err := getAppointment(ctx, tx, appointmentID, "")
			if err != nil {
				return err
			}
			appts, patientID = []Appointment{a}, a.PatientID
		} else {
			if err := patientExists(ctx, tx, patientID); err != nil {
				return err
			}
			err := records.QueryRows(ctx, tx, `SELECT `+appointmentColumns+` FROM appointments
				WHERE patient_id = $1 ORDER BY start_at, id`, []any{patientID}, func(r *sql.Rows) error {
				a, err := scanAppointment(r)
				appts = append(appts, a)
				return err
			})
			if err != nil {
				return err
			}
		}
		changes, err := s.statusChanges(ctx, tx, patientID, appointmentID)
		if err != nil {
			return err
		}
		clinicians := map[string]Clinician{}
		types := map[string]AppointmentType{}
		pt, err := s.scanPatient(tx.QueryRowContext(ctx, `SELECT `+patientColumns+` FROM patients WHERE id = $1`, patientID))
		if err != nil {
			return fmt.Errorf("patient %s: %w", patientID, err)
		}
		for _, a := range appts {
			c, ok := clinicians[a.ClinicianID]
			if !ok {
				if c, err = getClinician(ctx, tx, a.ClinicianID); err != nil {
					return err
				}
				clinicians[a.ClinicianID] = c
			}
			typ, ok := types[a.TypeID]
			if !ok && a.TypeID != "" {
				if typ, err = getType(ctx, tx, a.TypeID); err != nil {
					return err
				}
				types[a.TypeID] = typ
			}
			out = append(out, EncounterResource(a, c, pt, typ, changes[a.ID]))
		}
		if appointmentID != "" {
			return s.auditRecord(ctx, tx, actor, AuditRead, "encounter", appointmentID, patientID, "")
		}
		return s.auditRecord(ctx, tx, actor, AuditList, "encounter", "", patientID,
			fmt.Sprintf("%d encounters of the patient", len(out)))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// fhirEncounter: GET /fhir/r4/Encounter/:id is the visit of appointment id.
func (a *API) fhirEncounter(w http.ResponseWriter, r *http.Request, ps httprouter.Params, p Principal) {
	es, err := a.store.Encounters(r.Context(), p.Actor, "", ps.ByName("id"))
	if err != nil {
		a.fhirFail(w, r, err)
		return
	}
	writeFHIR(w, es[0])
}

// fhirEncounters: GET /fhir/r4/Encounter?patient=<id> (or Patient/<id>)
// is a searchset Bundle of the patient's visits.
func (a *API) fhirEncounters(w http.ResponseWriter, r *http.Request, _ httprouter.Params, p Principal) {
	pid := strings.TrimPrefix(r.URL.Query().Get("patient"), "Patient/")
	if pid == "" {
		fhirError(w, http.StatusBadRequest, "required", "patient: required")
		return
	}
	if !records.ValidID(pid) {
		fhirError(w, http.StatusBadRequest, "value", "patient: not a patient id")
		return
	}
	es, err := a.store.Encounters(r.Context(), p.Actor, pid, "")
	if err != nil {
		a.fhirFail(w, r, err)
		return
	}
	res := make([]any, 0, len(es))
	for _, e := range es {
		res = append(res, e)
	}
	writeFHIR(w, SearchsetBundle(res, len(res), a.selfURL(r)))
}
