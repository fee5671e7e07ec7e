package scheduler

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Shape tests: the views are encoded to JSON and read back generically, as a
// FHIR client would see them.

// fhirInstantRE is the R4 instant pattern, narrowed to UTC with Z.
var fhirInstantRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$`)

// fhirIDRE is the R4 id pattern.
var fhirIDRE = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)

func asJSON(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	noEmpty(t, "", m)
	return m
}

// noEmpty fails on empty strings, arrays and objects anywhere, which FHIR
// JSON does not allow (http://hl7.org/fhir/R4/json.html).
func noEmpty(t *testing.T, path string, v any) {
	t.Helper()
	switch x := v.(type) {
	case string:
		if x == "" {
			t.Errorf("%s: empty string", path)
		}
	case []any:
		if len(x) == 0 {
			t.Errorf("%s: empty array", path)
		}
		for i, e := range x {
			noEmpty(t, path+"["+strconv.Itoa(i)+"]", e)
		}
	case map[string]any:
		if len(x) == 0 {
			t.Errorf("%s: empty object", path)
		}
		for k, e := range x {
			noEmpty(t, path+"."+k, e)
		}
	case nil:
		t.Errorf("%s: null", path)
	}
}

func str(t *testing.T, m map[string]any, path ...string) string {
	t.Helper()
	var v any = m
	for _, p := range path {
		obj, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%v: not an object at %q", path, p)
		}
		v = obj[p]
	}
	s, ok := v.(string)
	if !ok {
		t.Fatalf("%v: %v is not a string", path, v)
	}
	return s
}

func list(t *testing.T, m map[string]any, key string) []any {
	t.Helper()
	l, ok := m[key].([]any)
	if !ok {
		t.Fatalf("%s: %v is not an array", key, m[key])
	}
	return l
}

func obj(t *testing.T, v any) map[string]any {
	t.Helper()
	o, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%v is not an object", v)
	}
	return o
}

func fhirFixture() (Appointment, Clinician, Patient) {
	a := Appointment{
		ID: "ap7f3c2a", ClinicianID: "cl1", PatientID: "pt1",
		Start:  time.Date(2026, 10, 26, 9, 30, 0, 0, time.FixedZone("CET", 3600)),
		End:    time.Date(2026, 10, 26, 10, 0, 0, 0, time.FixedZone("CET", 3600)),
		Status: StatusBooked, Sequence: 3,
		CreatedAt: time.Date(2026, 10, 1, 11, 0, 0, 0, time.FixedZone("CEST", 7200)),
		UpdatedAt: time.Date(2026, 10, 2, 9, 15, 30, 250e6, time.UTC),
	}
	c := Clinician{ID: "cl1", Name: "Søren Ærø", Department: "Lungemedicin", Zone: DefaultZone}
	p := Patient{ID: "pt1", Name: "Anne Olsen", Contact: "anne@example.dk", CPR: "0101701234"}
	return a, c, p
}

func TestFHIRSchedule(t *testing.T) {
	_, c, _ := fhirFixture()
	s := ScheduleResource(c)
	s.PlanningHorizon = FHIRPeriodOf(time.Date(2026, 10, 1, 2, 0, 0, 0, time.FixedZone("CEST", 7200)), time.Date(2026, 12, 30, 0, 0, 0, 0, time.UTC))
	m := asJSON(t, s)
	if got := str(t, m, "resourceType"); got != "Schedule" {
		t.Errorf("resourceType %q", got)
	}
	if got := str(t, m, "id"); got != "sched-cl1" || !fhirIDRE.MatchString(got) {
		t.Errorf("id %q", got)
	}
	if m["active"] != true {
		t.Errorf("active %v", m["active"])
	}
	actors := list(t, m, "actor")
	if len(actors) != 1 || str(t, obj(t, actors[0]), "reference") != "Practitioner/cl1" || str(t, obj(t, actors[0]), "display") != "Søren Ærø" {
		t.Errorf("actor %v", actors)
	}
	if got := str(t, obj(t, list(t, m, "serviceType")[0]), "text"); !strings.Contains(strings.ToLower(got), "video consultation") {
		t.Errorf("serviceType %q", got)
	}
	if got := str(t, m, "planningHorizon", "start"); got != "2026-10-01T00:00:00Z" {
		t.Errorf("planningHorizon.start %q", got)
	}
	if got := str(t, m, "planningHorizon", "end"); got != "2026-12-30T00:00:00Z" {
		t.Errorf("planningHorizon.end %q", got)
	}

	// Without a horizon or department those elements are absent, not empty.
	c.Department = ""
	m = asJSON(t, ScheduleResource(c))
	for _, k := range []string{"planningHorizon", "specialty"} {
		if _, ok := m[k]; ok {
			t.Errorf("%s present: %v", k, m[k])
		}
	}
}

func TestFHIRSlot(t *testing.T) {
	s := Slot{Start: time.Date(2026, 10, 26, 8, 30, 0, 0, time.UTC), End: time.Date(2026, 10, 26, 9, 0, 0, 0, time.UTC)}
	for _, status := range []string{"free", "busy"} {
		m := asJSON(t, SlotResource(ScheduleID("cl1"), s, status))
		if got := str(t, m, "resourceType"); got != "Slot" {
			t.Errorf("resourceType %q", got)
		}
		if got := str(t, m, "id"); got != "sched-cl1-20261026T083000Z" || !fhirIDRE.MatchString(got) {
			t.Errorf("id %q", got)
		}
		if got := str(t, m, "schedule", "reference"); got != "Schedule/sched-cl1" {
			t.Errorf("schedule %q", got)
		}
		if got := str(t, m, "status"); got != status {
			t.Errorf("status %q, want %q", got, status)
		}
		if got := str(t, m, "start"); got != "2026-10-26T08:30:00Z" {
			t.Errorf("start %q", got)
		}
		if got := str(t, m, "end"); got != "2026-10-26T09:00:00Z" {
			t.Errorf("end %q", got)
		}
	}

	// A schedule id too long for a FHIR id still gives a valid slot id.
	long := ScheduleID(strings.Repeat("x", 70))
	if id := SlotResource(long, s, "free").ID; !fhirIDRE.MatchString(id) {
		t.Errorf("slot id %q is not a FHIR id", id)
	}
}

func TestFHIRAppointment(t *testing.T) {
	a, c, p := fhirFixture()
	link := "https://clinic.example.dk/visit/ap7f3c2a#t=token"
	m := asJSON(t, AppointmentResource(a, c, p, link))

	if got := str(t, m, "resourceType"); got != "Appointment" {
		t.Errorf("resourceType %q", got)
	}
	if got := str(t, m, "id"); got != "ap7f3c2a" {
		t.Errorf("id %q", got)
	}
	if got := str(t, m, "status"); got != "booked" {
		t.Errorf("status %q", got)
	}
	for key, want := range map[string]string{
		"start":   "2026-10-26T08:30:00Z",
		"end":     "2026-10-26T09:00:00Z",
		"created": "2026-10-01T09:00:00Z",
	} {
		if got := str(t, m, key); got != want {
			t.Errorf("%s %q, want %q", key, got, want)
		}
	}
	if got := str(t, m, "meta", "lastUpdated"); got != "2026-10-02T09:15:30.25Z" || !fhirInstantRE.MatchString(got) {
		t.Errorf("meta.lastUpdated %q", got)
	}
	if m["minutesDuration"] != 30.0 {
		t.Errorf("minutesDuration %v", m["minutesDuration"])
	}

	parts := list(t, m, "participant")
	if len(parts) != 2 {
		t.Fatalf("participants %v", parts)
	}
	want := map[string]string{"Patient/pt1": "Anne Olsen", "Practitioner/cl1": "Søren Ærø"}
	for _, pv := range parts {
		po := obj(t, pv)
		ref := str(t, po, "actor", "reference")
		if disp, ok := want[ref]; !ok || str(t, po, "actor", "display") != disp {
			t.Errorf("participant %v", po)
		}
		delete(want, ref)
		if str(t, po, "required") != "required" || str(t, po, "status") != "accepted" {
			t.Errorf("participant %s: required %v status %v", ref, po["required"], po["status"])
		}
	}
	if len(want) != 0 {
		t.Errorf("missing participants %v", want)
	}

	// The video link in the R5 virtualService cross-version extension.
	exts := list(t, m, "extension")
	if len(exts) != 1 {
		t.Fatalf("extensions %v", exts)
	}
	vs := obj(t, exts[0])
	if got := str(t, vs, "url"); got != "http://hl7.org/fhir/5.0/StructureDefinition/extension-Appointment.virtualService" {
		t.Errorf("extension url %q", got)
	}
	for _, k := range []string{"valueString", "valueUrl", "valueCoding"} {
		if _, ok := vs[k]; ok {
			t.Errorf("complex extension has %s (ext-1: extensions or a value, not both)", k)
		}
	}
	sub := map[string]map[string]any{}
	for _, e := range list(t, vs, "extension") {
		eo := obj(t, e)
		url := str(t, eo, "url")
		if _, dup := sub[url]; dup {
			t.Errorf("sub-extension %s twice", url)
		}
		sub[url] = eo
		if _, nested := eo["extension"]; nested {
			t.Errorf("sub-extension %s has nested extensions besides its value", url)
		}
	}
	if got := str(t, sub["http://hl7.org/fhir/StructureDefinition/_datatype"], "valueString"); got != "VirtualServiceDetail" {
		t.Errorf("_datatype %q", got)
	}
	if got := str(t, sub["address"], "valueUrl"); got != link {
		t.Errorf("address.valueUrl %q", got)
	}
	ct := obj(t, sub["channelType"]["valueCoding"])
	if str(t, ct, "system") != "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode" || str(t, ct, "code") != "VIDEOCONF" {
		t.Errorf("channelType %v", ct)
	}
	if len(sub) != 3 {
		t.Errorf("sub-extensions %v", sub)
	}

	b, _ := json.Marshal(AppointmentResource(a, c, p, link))
	if strings.Contains(string(b), "0101701234") {
		t.Error("the CPR number is in the Appointment")
	}
}

func TestFHIRAppointmentWithoutLink(t *testing.T) {
	a, c, p := fhirFixture()
	a.Status = StatusCancelled
	m := asJSON(t, AppointmentResource(a, c, p, ""))
	if _, ok := m["extension"]; ok {
		t.Errorf("extension without a link: %v", m["extension"])
	}
	if got := str(t, m, "status"); got != "cancelled" {
		t.Errorf("status %q", got)
	}

	// The references follow the appointment, not mismatched records.
	other := Patient{ID: "pt2", Name: "Someone Else"}
	m = asJSON(t, AppointmentResource(a, c, other, ""))
	for _, pv := range list(t, m, "participant") {
		po := obj(t, pv)
		if ref := str(t, po, "actor", "reference"); ref == "Patient/pt2" {
			t.Errorf("patient reference from the wrong record: %v", po)
		}
		if strings.Contains(jsonString(t, po), "Someone Else") {
			t.Errorf("display from the wrong record: %v", po)
		}
	}
}

func jsonString(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestFHIRSearchsetBundle(t *testing.T) {
	a, c, p := fhirFixture()
	s := Slot{Start: time.Date(2026, 10, 26, 8, 30, 0, 0, time.UTC), End: time.Date(2026, 10, 26, 9, 0, 0, 0, time.UTC)}
	self := "https://clinic.example.dk/fhir/r4/Slot?schedule=Schedule/sched-cl1&start=ge2026-10-26T00:00:00Z"
	res := []any{
		SlotResource(ScheduleID("cl1"), s, "free"),
		ScheduleResource(c),
		AppointmentResource(a, c, p, ""),
	}
	m := asJSON(t, SearchsetBundle(res, 7, self))
	if str(t, m, "resourceType") != "Bundle" || str(t, m, "type") != "searchset" {
		t.Errorf("resourceType %v type %v", m["resourceType"], m["type"])
	}
	if m["total"] != 7.0 {
		t.Errorf("total %v", m["total"])
	}
	links := list(t, m, "link")
	if len(links) != 1 || str(t, obj(t, links[0]), "relation") != "self" || str(t, obj(t, links[0]), "url") != self {
		t.Errorf("link %v", links)
	}
	entries := list(t, m, "entry")
	wantURLs := []string{
		"https://clinic.example.dk/fhir/r4/Slot/sched-cl1-20261026T083000Z",
		"https://clinic.example.dk/fhir/r4/Schedule/sched-cl1",
		"https://clinic.example.dk/fhir/r4/Appointment/ap7f3c2a",
	}
	if len(entries) != len(wantURLs) {
		t.Fatalf("%d entries", len(entries))
	}
	for i, e := range entries {
		eo := obj(t, e)
		if got := str(t, eo, "fullUrl"); got != wantURLs[i] {
			t.Errorf("entry %d fullUrl %q, want %q", i, got, wantURLs[i])
		}
		if got := str(t, eo, "search", "mode"); got != "match" {
			t.Errorf("entry %d search.mode %q", i, got)
		}
		r := obj(t, eo["resource"])
		if !strings.HasSuffix(str(t, eo, "fullUrl"), "/"+str(t, r, "resourceType")+"/"+str(t, r, "id")) {
			t.Errorf("entry %d fullUrl %q does not name its resource", i, str(t, eo, "fullUrl"))
		}
	}

	// An empty result has a total of 0 and no entry array.
	m = asJSON(t, SearchsetBundle(nil, 0, "https://clinic.example.dk/fhir/r4/Schedule?actor=Practitioner/none"))
	if m["total"] != 0.0 {
		t.Errorf("empty: total %v", m["total"])
	}
	if _, ok := m["entry"]; ok {
		t.Errorf("empty: entry %v", m["entry"])
	}

	// A relative self URL gives relative fullUrls on the same base.
	b := SearchsetBundle([]any{ScheduleResource(c)}, 1, "/fhir/r4/Schedule?actor=cl1")
	if got := b.Entry[0].FullURL; got != "/fhir/r4/Schedule/sched-cl1" {
		t.Errorf("relative: fullUrl %q", got)
	}
}

// TestFHIRInstants: every instant of every view is UTC with a Z.
func TestFHIRInstants(t *testing.T) {
	a, c, p := fhirFixture()
	s := Slot{Start: a.Start, End: a.End}
	bundle := SearchsetBundle([]any{AppointmentResource(a, c, p, "https://x.example/v"), SlotResource("sched-cl1", s, "busy")}, 2, "https://x.example/fhir/r4/Appointment")
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				walk(path+"."+k, e)
			}
		case []any:
			for _, e := range x {
				walk(path+"[]", e)
			}
		case string:
			if strings.HasSuffix(path, ".start") || strings.HasSuffix(path, ".end") ||
				strings.HasSuffix(path, ".created") || strings.HasSuffix(path, ".lastUpdated") {
				if !fhirInstantRE.MatchString(x) {
					t.Errorf("%s = %q is not a UTC instant", path, x)
				}
			}
		}
	}
	walk("", asJSON(t, bundle))
}
