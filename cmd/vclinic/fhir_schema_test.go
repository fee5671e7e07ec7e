package main

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"vclinic/homekit"
	"vclinic/scheduler"
)

// fhirSchemaPath is HL7's FHIR R4 JSON schema, vendored (see its README).
const fhirSchemaPath = "testdata/fhir-r4/fhir.schema.json"

// fhirSchema compiles the FHIR R4 JSON schema once: the whole (every
// resource, chosen by resourceType) and its definition of each resource
// type asked for, for errors that name the element.
var fhirSchema = sync.OnceValues(func() (*jsonschema.Compiler, error) {
	c := jsonschema.NewCompiler()
	if _, err := c.Compile(fhirSchemaPath); err != nil {
		return nil, err
	}
	return c, nil
})

// validateFHIR validates one resource, as JSON, against the FHIR R4 schema:
// nil when valid.
func validateFHIR(t *testing.T, resource []byte) error {
	t.Helper()
	c, err := fhirSchema()
	if err != nil {
		t.Fatalf("compile the FHIR R4 schema: %v", err)
	}
	var head struct {
		ResourceType string `json:"resourceType"`
	}
	if err := json.Unmarshal(resource, &head); err != nil || head.ResourceType == "" {
		t.Fatalf("not a resource: %s", resource)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(resource))
	if err != nil {
		t.Fatal(err)
	}
	whole, err := c.Compile(fhirSchemaPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := whole.Validate(inst); err != nil {
		// The whole schema's oneOf says only that no resource matched:
		// the resource type's own definition says where.
		one, cerr := c.Compile(fhirSchemaPath + "#/definitions/" + head.ResourceType)
		if cerr != nil {
			return err
		}
		if derr := one.Validate(inst); derr != nil {
			return derr
		}
		return err
	}
	return nil
}

// TestFHIRResourcesMatchTheR4Schema: a visit with home readings, scored,
// admitted and ended, gives an Encounter, a score Observation and reading
// Observations that the region's record system can take: each is valid
// against the FHIR R4 JSON schema, the readings and the score name the
// visit's Encounter and the score is derived from the readings'
// Observations. A planted fault in each is found.
func TestFHIRResourcesMatchTheR4Schema(t *testing.T) {
	a := newAPIClinic(t)
	ctx := context.Background()
	sched := a.schedulerToken()
	clin := a.clinicianToken()
	typ, err := a.c.store.CreateAppointmentType(ctx, scheduler.System, scheduler.AppointmentType{Name: "Heart failure follow-up", Duration: 20 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	b, err := a.c.store.Book(ctx, a.sched.Actor(), scheduler.BookRequest{ClinicianID: a.clin.ID, PatientID: a.patA.ID, TypeID: typ.ID,
		Start: time.Now().Add(time.Minute).Truncate(time.Minute), Duration: 20 * time.Minute}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	visit := b.Appointment

	// The cuff sends a blood pressure with its pulse (120/80, pulse 72);
	// the patient types SpO2 93 % and 38.4 °C during the visit.
	status, body, _ := a.do("POST", "/api/v1/patients/"+a.patA.ID+"/devices", sched,
		`{"type":"blood-pressure","model":"UA-651BLE","address":"00:09:1F:AA:BB:CC","identifiedBy":"bluetooth-address","label":"Arm cuff"}`, nil)
	if status != 201 {
		t.Fatalf("add device: %d %s", status, body)
	}
	var dev struct{ ID string }
	_ = json.Unmarshal(body, &dev)
	patTok := a.patientToken(visit, a.patA.ID)
	reading := `{"readings":[{"deviceId":"` + dev.ID + `","characteristic":"00002a35-0000-1000-8000-00805f9b34fb",` +
		`"value":"04780050005D004800","seq":1,"observedAt":"` + time.Now().Add(-time.Minute).UTC().Format(time.RFC3339) + `"}]}`
	if status, body, _ := a.do("POST", "/api/v1/readings", patTok, reading, nil); status != 200 || !strings.Contains(string(body), `"stored"`) {
		t.Fatalf("post reading: %d %s", status, body)
	}
	if status, body, _ := a.do("POST", "/api/v1/readings/manual", patTok,
		`{"values":[{"code":"59408-5","value":"93","unit":"%"},{"code":"8310-5","value":"38.4","unit":"Cel"}]}`, nil); status != 201 {
		t.Fatalf("post typed reading: %d %s", status, body)
	}

	// The partial score, as the clinician's page asks for it.
	status, body, _ = a.do("GET", "/api/v1/patients/"+a.patA.ID+"/news2?scale=1", clin, "", nil)
	var score homekit.NEWS2Score
	if status != 200 || json.Unmarshal(body, &score) != nil {
		t.Fatalf("news2: %d %s", status, body)
	}
	// SpO2 93 % 2, air not recorded, systolic 120 0, pulse 72 0, 38.4 °C 1.
	if score.Total != 3 || score.Scored != 4 || score.Of != 7 || !score.Partial || score.Risk != homekit.RiskLow ||
		score.DecisionSupport.Code != homekit.DecisionSupportCode {
		t.Fatalf("score %s, want 3 from 4 of 7, low", body)
	}
	for _, bad := range []string{"?scale=3", "?oxygen=yes"} {
		status, body, _ := a.do("GET", "/api/v1/patients/"+a.patA.ID+"/news2"+bad, clin, "", nil)
		if status != 400 || !strings.Contains(string(body), strings.TrimPrefix(strings.Split(bad, "=")[0], "?")+":") {
			t.Errorf("news2%s: %d %s, want 400 naming the parameter", bad, status, body)
		}
	}
	if status, _, _ := a.do("GET", "/api/v1/patients/"+a.patA.ID+"/news2", patTok, "", nil); status != 403 {
		t.Errorf("the patient's own link asks for the score: %d, want 403", status)
	}

	// The clinician admits the patient and ends the visit.
	for _, to := range []scheduler.Status{scheduler.StatusCheckedIn, scheduler.StatusFulfilled} {
		if _, _, err := a.c.store.Advance(ctx, a.clinUser.Actor(), visit.ID, to); err != nil {
			t.Fatal(err)
		}
	}

	get := func(path string) []byte {
		t.Helper()
		status, b, ctype := a.do("GET", path, clin, "", nil)
		if status != 200 || !strings.HasPrefix(ctype, "application/fhir+json") {
			t.Fatalf("GET %s: %d %s %s", path, status, ctype, b)
		}
		return b
	}
	entries := func(bundle []byte) []json.RawMessage {
		t.Helper()
		var b struct {
			Entry []struct {
				Resource json.RawMessage `json:"resource"`
			} `json:"entry"`
		}
		if err := json.Unmarshal(bundle, &b); err != nil {
			t.Fatal(err)
		}
		var out []json.RawMessage
		for _, e := range b.Entry {
			out = append(out, e.Resource)
		}
		return out
	}

	encounter := get("/fhir/r4/Encounter/" + visit.ID)
	var enc struct {
		Status string `json:"status"`
		Class  struct{ System, Code string }
		Type   []struct{ Text string }
		Period struct{ Start, End string }
		Subj   struct{ Reference string }   `json:"subject"`
		Appt   []struct{ Reference string } `json:"appointment"`
		Part   []struct {
			Individual struct{ Reference string }
		} `json:"participant"`
	}
	if err := json.Unmarshal(encounter, &enc); err != nil {
		t.Fatal(err)
	}
	if enc.Status != "finished" || enc.Class.Code != "VR" || enc.Class.System != scheduler.ActCodeSystem ||
		len(enc.Type) != 1 || enc.Type[0].Text != "Heart failure follow-up" || enc.Period.Start == "" || enc.Period.End == "" ||
		enc.Subj.Reference != "Patient/"+a.patA.ID || len(enc.Appt) != 1 || enc.Appt[0].Reference != "Appointment/"+visit.ID ||
		len(enc.Part) != 1 || enc.Part[0].Individual.Reference != "Practitioner/"+a.clin.ID {
		t.Fatalf("encounter %s", encounter)
	}
	encounters := entries(get("/fhir/r4/Encounter?patient=" + a.patA.ID))
	if len(encounters) != 2 { // the visit, and apptA still planned
		t.Fatalf("%d encounters of patient A, want 2", len(encounters))
	}

	readings := entries(get("/fhir/r4/Observation?patient=" + a.patA.ID))
	if len(readings) != 4 { // the panel, the cuff's pulse, SpO2 and temperature
		t.Fatalf("%d reading Observations, want 4", len(readings))
	}
	var readingIDs []string
	for _, o := range readings {
		var obs struct {
			ID        string `json:"id"`
			Encounter struct{ Reference string }
		}
		_ = json.Unmarshal(o, &obs)
		readingIDs = append(readingIDs, obs.ID)
		if obs.Encounter.Reference != "Encounter/"+visit.ID {
			t.Errorf("reading %s names encounter %q, want the visit's", obs.ID, obs.Encounter.Reference)
		}
	}

	scored := entries(get("/fhir/r4/Observation?patient=" + a.patA.ID + "&code=http://snomed.info/sct|1104051000000101"))
	if len(scored) != 1 {
		t.Fatalf("%d score Observations, want 1", len(scored))
	}
	scoreObs := scored[0]
	var so struct {
		Status       string
		ValueInteger *int `json:"valueInteger"`
		Code         struct {
			Coding []struct{ System, Code string }
		}
		Category  []struct{ Coding []struct{ Code string } }
		Component []struct {
			ValueInteger *int `json:"valueInteger"`
		}
		Method      struct{ Text string }
		DerivedFrom []struct{ Reference string } `json:"derivedFrom"`
		Note        []struct{ Text string }
	}
	if err := json.Unmarshal(scoreObs, &so); err != nil {
		t.Fatal(err)
	}
	if so.Status != "final" || so.ValueInteger == nil || *so.ValueInteger != 3 || len(so.Code.Coding) != 1 ||
		so.Code.Coding[0].Code != homekit.SNOMEDNEWS2Total || so.Category[0].Coding[0].Code != "survey" || len(so.Component) != 4 ||
		!strings.Contains(so.Method.Text, "NEWS2 (2017)") || !strings.Contains(so.Method.Text, "4 of 7") ||
		len(so.Note) != 1 || !strings.Contains(so.Note[0].Text, "not a diagnosis") || len(so.DerivedFrom) != 4 {
		t.Fatalf("score Observation %s", scoreObs)
	}
	for _, d := range so.DerivedFrom {
		if !slices.Contains(readingIDs, strings.TrimPrefix(d.Reference, "Observation/")) {
			t.Errorf("derivedFrom %s is none of the readings' Observations %v", d.Reference, readingIDs)
		}
	}
	if status, _, _ := a.do("GET", "/fhir/r4/Observation?patient="+a.patA.ID+"&code=8867-4", clin, "", nil); status != 400 {
		t.Errorf("another code: %d, want 400", status)
	}

	// Every resource is valid FHIR R4.
	resources := map[string][]byte{"Encounter": encounter, "score Observation": scoreObs}
	for _, e := range encounters {
		resources["searched Encounter "+jsonID(e)] = e
	}
	for _, o := range readings {
		resources["reading Observation "+jsonID(o)] = o
	}
	for name, r := range resources {
		if err := validateFHIR(t, r); err != nil {
			t.Errorf("%s is not valid FHIR R4: %v\n%s", name, err, r)
		}
	}

	// Planted faults are found: an Encounter status R4 does not have, an
	// Encounter without its class, a score as a string, an unknown element,
	// a reading without its subject. (HL7's schema does not say that a
	// datatype is an object: a Coding sent as an array passes it. The Go
	// types of the views hold those shapes.)
	for name, broken := range map[string][]byte{
		"encounter status":   bytes.Replace(encounter, []byte(`"status":"finished"`), []byte(`"status":"done"`), 1),
		"encounter no class": bytes.Replace(encounter, []byte(`"class":{`), []byte(`"klass":{`), 1),
		"score as a string":  bytes.Replace(scoreObs, []byte(`"valueInteger":3`), []byte(`"valueInteger":"3"`), 1),
		"unknown element":    bytes.Replace(scoreObs, []byte(`"status":"final"`), []byte(`"status":"final","score":3`), 1),
		"reading no subject": bytes.Replace(readings[0], []byte(`"subject":{`), []byte(`"subjekt":{`), 1),
	} {
		if bytes.Equal(broken, encounter) || bytes.Equal(broken, scoreObs) || bytes.Equal(broken, readings[0]) {
			t.Fatalf("%s: the fault was not planted", name)
		}
		if err := validateFHIR(t, broken); err == nil {
			t.Errorf("%s: a broken resource passed the FHIR R4 schema:\n%s", name, broken)
		}
	}
}

func jsonID(b []byte) string {
	var x struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(b, &x)
	return x.ID
}
