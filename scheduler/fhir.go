package scheduler

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strings"
	"time"
)

// FHIR R4 JSON views of the scheduling records (http://hl7.org/fhir/R4/):
// Schedule, Slot, Appointment and the searchset Bundle that carries them.
// Plain structs with JSON tags; no FHIR library. Instants are written in
// UTC with a Z (http://hl7.org/fhir/R4/datatypes.html#instant).

// Fixed URIs of the views.
const (
	// VirtualServiceURL is the cross-version extension that carries R5's
	// Appointment.virtualService in an R4 Appointment: package
	// hl7.fhir.uv.xver-r5.r4 0.1.0, StructureDefinition
	// ext-R5-Appointment.virtualService
	// (http://hl7.org/fhir/uv/xver-r5.r4/0.1.0/StructureDefinition-ext-R5-Appointment.virtualService.html).
	VirtualServiceURL = "http://hl7.org/fhir/5.0/StructureDefinition/extension-Appointment.virtualService"

	// datatypeURL marks which R5 datatype a complex cross-version extension
	// stands for; the virtualService extension requires it, fixed to
	// "VirtualServiceDetail" (slice _datatype, 1..1, in the same
	// StructureDefinition).
	datatypeURL = "http://hl7.org/fhir/StructureDefinition/_datatype"

	// ParticipationModeSystem holds the channel type of the video link.
	// R5's VirtualServiceDetail.channelType binds to
	// http://hl7.org/fhir/ValueSet/virtual-service-type with strength
	// "example" (http://hl7.org/fhir/R5/metadatatypes.html#VirtualServiceDetail),
	// and that value set knows only zoom, ms-teams and whatsapp. A link that
	// opens a video consultation in the browser is none of them, so we use
	// HL7's v3 ParticipationMode code VIDEOCONF, "videoconferencing":
	// participation by voice and images carried over an electronic medium
	// (https://terminology.hl7.org/CodeSystem-v3-ParticipationMode.html).
	ParticipationModeSystem = "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode"
)

// serviceVideo is the service a schedule, slot and appointment offer.
func serviceVideo() []FHIRCodeableConcept { return []FHIRCodeableConcept{{Text: "Video consultation"}} }

// FHIRReference is a Reference (http://hl7.org/fhir/R4/references.html).
type FHIRReference struct {
	Reference string `json:"reference"`
	Display   string `json:"display,omitempty"`
}

// FHIRCoding is a Coding.
type FHIRCoding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

// FHIRCodeableConcept is a CodeableConcept.
type FHIRCodeableConcept struct {
	Coding []FHIRCoding `json:"coding,omitempty"`
	Text   string       `json:"text,omitempty"`
}

// FHIRPeriod is a Period of instants.
type FHIRPeriod struct {
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
}

// FHIRMeta is the part of Meta the views fill.
type FHIRMeta struct {
	LastUpdated string `json:"lastUpdated,omitempty"`
}

// FHIRExtension is an Extension with the value types the views use
// (http://hl7.org/fhir/R4/extensibility.html). An extension has either
// nested extensions or one value, never both.
type FHIRExtension struct {
	URL         string          `json:"url"`
	Extension   []FHIRExtension `json:"extension,omitempty"`
	ValueString string          `json:"valueString,omitempty"`
	ValueURL    string          `json:"valueUrl,omitempty"`
	ValueCoding *FHIRCoding     `json:"valueCoding,omitempty"`
}

// FHIRSchedule is a clinician's Schedule
// (http://hl7.org/fhir/R4/schedule.html).
type FHIRSchedule struct {
	ResourceType    string                `json:"resourceType"`
	ID              string                `json:"id"`
	Active          bool                  `json:"active"`
	ServiceType     []FHIRCodeableConcept `json:"serviceType,omitempty"`
	Specialty       []FHIRCodeableConcept `json:"specialty,omitempty"`
	Actor           []FHIRReference       `json:"actor"`
	PlanningHorizon *FHIRPeriod           `json:"planningHorizon,omitempty"`
}

// FHIRSlot is a Slot (http://hl7.org/fhir/R4/slot.html).
type FHIRSlot struct {
	ResourceType string                `json:"resourceType"`
	ID           string                `json:"id"`
	ServiceType  []FHIRCodeableConcept `json:"serviceType,omitempty"`
	Schedule     FHIRReference         `json:"schedule"`
	Status       string                `json:"status"`
	Start        string                `json:"start"`
	End          string                `json:"end"`
}

// FHIRAppointment is an Appointment
// (http://hl7.org/fhir/R4/appointment.html).
type FHIRAppointment struct {
	ResourceType    string                `json:"resourceType"`
	ID              string                `json:"id"`
	Meta            *FHIRMeta             `json:"meta,omitempty"`
	Extension       []FHIRExtension       `json:"extension,omitempty"`
	Status          string                `json:"status"`
	ServiceType     []FHIRCodeableConcept `json:"serviceType,omitempty"`
	Description     string                `json:"description,omitempty"`
	Start           string                `json:"start,omitempty"`
	End             string                `json:"end,omitempty"`
	MinutesDuration int                   `json:"minutesDuration,omitempty"`
	Created         string                `json:"created,omitempty"`
	Participant     []FHIRParticipant     `json:"participant"`
}

// FHIRParticipant is an Appointment.participant.
type FHIRParticipant struct {
	Actor    FHIRReference `json:"actor"`
	Required string        `json:"required"` // required | optional | information-only
	Status   string        `json:"status"`   // accepted | declined | tentative | needs-action
}

// FHIRBundle is a searchset Bundle (http://hl7.org/fhir/R4/bundle.html).
type FHIRBundle struct {
	ResourceType string            `json:"resourceType"`
	Type         string            `json:"type"`
	Total        int               `json:"total"`
	Link         []FHIRBundleLink  `json:"link"`
	Entry        []FHIRBundleEntry `json:"entry,omitempty"`
}

// FHIRBundleLink is a Bundle.link.
type FHIRBundleLink struct {
	Relation string `json:"relation"`
	URL      string `json:"url"`
}

// FHIRBundleEntry is a Bundle.entry of a search result.
type FHIRBundleEntry struct {
	FullURL  string           `json:"fullUrl,omitempty"`
	Resource any              `json:"resource"`
	Search   FHIRBundleSearch `json:"search"`
}

// FHIRBundleSearch is a Bundle.entry.search.
type FHIRBundleSearch struct {
	Mode string `json:"mode"` // match | include | outcome
}

// ScheduleID is the id of a clinician's Schedule: "sched-<clinician id>".
func ScheduleID(clinicianID string) string { return "sched-" + clinicianID }

// ScheduleResource is the Schedule of clinician c: active, with the
// clinician as Practitioner actor and video consultation as its service.
// Callers that know the booking horizon may set PlanningHorizon
// (FHIRPeriodOf).
func ScheduleResource(c Clinician) FHIRSchedule {
	s := FHIRSchedule{
		ResourceType: "Schedule",
		ID:           ScheduleID(c.ID),
		Active:       true,
		ServiceType:  serviceVideo(),
		Actor:        []FHIRReference{{Reference: "Practitioner/" + c.ID, Display: c.Name}},
	}
	if c.Department != "" {
		s.Specialty = []FHIRCodeableConcept{{Text: c.Department}}
	}
	return s
}

// FHIRPeriodOf is the Period [from, to) in UTC.
func FHIRPeriodOf(from, to time.Time) *FHIRPeriod {
	return &FHIRPeriod{Start: fhirInstant(from), End: fhirInstant(to)}
}

// SlotResource is slot s of the Schedule with id scheduleID, with status
// "free" or "busy" (R4 Slot.status also has busy-unavailable,
// busy-tentative and entered-in-error). Its id is the schedule id and the
// start in UTC, such as "sched-x-20261026T083000Z".
func SlotResource(scheduleID string, s Slot, status string) FHIRSlot {
	return FHIRSlot{
		ResourceType: "Slot",
		ID:           fhirID(scheduleID + "-" + s.Start.UTC().Format("20060102T150405Z")),
		ServiceType:  serviceVideo(),
		Schedule:     FHIRReference{Reference: "Schedule/" + scheduleID},
		Status:       status,
		Start:        fhirInstant(s.Start),
		End:          fhirInstant(s.End),
	}
}

// AppointmentResource is appointment a: its status (the model's statuses are
// R4 codes), times, length, creation, the patient and the clinician as
// required, accepted participants, and, when link is not empty, the video
// link in the R5 virtualService cross-version extension:
//
//	{"url": VirtualServiceURL, "extension": [
//	  {"url": "http://hl7.org/fhir/StructureDefinition/_datatype", "valueString": "VirtualServiceDetail"},
//	  {"url": "channelType", "valueCoding": {"system": ParticipationModeSystem, "code": "VIDEOCONF", ...}},
//	  {"url": "address", "valueUrl": link}]}
//
// The references use a's ClinicianID and PatientID; c and p give the
// display names when their ids match.
func AppointmentResource(a Appointment, c Clinician, p Patient, link string) FHIRAppointment {
	r := FHIRAppointment{
		ResourceType: "Appointment",
		ID:           a.ID,
		Status:       string(a.Status),
		ServiceType:  serviceVideo(),
		Start:        fhirInstant(a.Start),
		End:          fhirInstant(a.End),
		Created:      fhirInstant(a.CreatedAt),
	}
	if !a.UpdatedAt.IsZero() {
		r.Meta = &FHIRMeta{LastUpdated: fhirInstant(a.UpdatedAt)}
	}
	if m := int(a.End.Sub(a.Start) / time.Minute); m > 0 {
		r.MinutesDuration = m
	}
	patient := FHIRReference{Reference: "Patient/" + a.PatientID}
	if p.ID == a.PatientID {
		patient.Display = p.Name
	}
	clinician := FHIRReference{Reference: "Practitioner/" + a.ClinicianID}
	if c.ID == a.ClinicianID {
		clinician.Display = c.Name
		if c.Name != "" {
			r.Description = "Video consultation with " + c.Name
		}
	}
	r.Participant = []FHIRParticipant{
		{Actor: patient, Required: "required", Status: "accepted"},
		{Actor: clinician, Required: "required", Status: "accepted"},
	}
	if link != "" {
		// R5 VirtualServiceDetail as the xver-r5.r4 0.1.0 extension defines
		// it: the _datatype marker, channelType (Coding) and address[x]
		// with the url choice (R5 addressUrl). The package's own address
		// slice also asks for an ExtendedContactDetail _datatype marker,
		// which an extension with a value cannot carry (ext-1); we follow
		// R5, where address[x] may simply be a url.
		r.Extension = []FHIRExtension{{
			URL: VirtualServiceURL,
			Extension: []FHIRExtension{
				{URL: datatypeURL, ValueString: "VirtualServiceDetail"},
				{URL: "channelType", ValueCoding: &FHIRCoding{
					System: ParticipationModeSystem, Code: "VIDEOCONF", Display: "videoconferencing"}},
				{URL: "address", ValueURL: link},
			},
		}}
	}
	return r
}

// SearchsetBundle wraps the resources of a search result, total matches in
// all, in a searchset Bundle with a self link and, for each entry, its
// fullUrl and search mode "match". Resources are the views of this file (or
// maps with "resourceType" and "id"). The fullUrl is the self URL's base
// (its path less the last segment, the resource type) with
// "<type>/<id>"; FHIR wants it absolute, so selfURL should have a scheme
// and host. A relative selfURL gives relative fullUrls.
func SearchsetBundle(resources []any, total int, selfURL string) FHIRBundle {
	b := FHIRBundle{
		ResourceType: "Bundle",
		Type:         "searchset",
		Total:        total,
		Link:         []FHIRBundleLink{{Relation: "self", URL: selfURL}},
	}
	base := bundleBase(selfURL)
	for _, res := range resources {
		e := FHIRBundleEntry{Resource: res, Search: FHIRBundleSearch{Mode: "match"}}
		if typ, id := typeAndID(res); typ != "" && id != "" {
			e.FullURL = base + "/" + typ + "/" + id
		}
		b.Entry = append(b.Entry, e)
	}
	return b
}

// bundleBase returns the service base of a search URL: its scheme, host and
// path less the last segment, without query or fragment.
func bundleBase(selfURL string) string {
	u, err := url.Parse(selfURL)
	if err != nil {
		return ""
	}
	path := strings.TrimSuffix(u.Path, "/")
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		path = path[:i]
	}
	base := url.URL{Scheme: u.Scheme, Host: u.Host, Path: path}
	return base.String()
}

func typeAndID(res any) (string, string) {
	switch r := res.(type) {
	case FHIRSchedule:
		return r.ResourceType, r.ID
	case *FHIRSchedule:
		return r.ResourceType, r.ID
	case FHIRSlot:
		return r.ResourceType, r.ID
	case *FHIRSlot:
		return r.ResourceType, r.ID
	case FHIRAppointment:
		return r.ResourceType, r.ID
	case *FHIRAppointment:
		return r.ResourceType, r.ID
	case FHIREncounter:
		return r.ResourceType, r.ID
	case map[string]any:
		typ, _ := r["resourceType"].(string)
		id, _ := r["id"].(string)
		return typ, id
	}
	return "", ""
}

// fhirInstant writes t as a FHIR instant in UTC: seconds always, fractions
// only when there are any. The zero time is left out.
func fhirInstant(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.999999999Z")
}

// fhirID returns s if it is a valid FHIR id ([A-Za-z0-9-.]{1,64},
// http://hl7.org/fhir/R4/datatypes.html#id), else an id derived from its
// SHA-256.
func fhirID(s string) string {
	ok := len(s) >= 1 && len(s) <= 64
	for i := 0; ok && i < len(s); i++ {
		c := s[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.'
	}
	if ok {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	return "h-" + hex.EncodeToString(sum[:16])
}
