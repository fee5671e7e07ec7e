package homekit

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestAPILimits: roles, bad input naming the field, lost updates (409),
// flags on arrival through POST /api/v1/readings, and acknowledgement.
func TestAPILimits(t *testing.T) {
	f := newAPIFixture(t)
	const clin, path = "clinician:user-clin", "/api/v1/patients/pat-ida/limits"
	body := `{"version": 0, "spo2Scale": 2, "onOxygen": true, "limits": [{"code": "8310-5", "unit": "Cel", "high": 37.5}]}`
	for _, tc := range []struct{ token, method, body string }{
		{"patient:pat-ida", "GET", ""}, {"patient:pat-ida", "PUT", body},
		{"scheduler:user-sch", "GET", ""}, {"admin:user-admin", "PUT", body},
		{"gateway:gw-1", "GET", ""},
	} {
		if st, _ := f.do(tc.method, path, tc.token, tc.body); st != 403 {
			t.Errorf("%s %s by %s = %d, want 403", tc.method, path, tc.token, st)
		}
	}
	if st, _ := f.do("GET", path, "", ""); st != 401 {
		t.Errorf("GET without sign-in = %d, want 401", st)
	}
	st, got := f.do("GET", path, clin, "")
	if st != 200 || got["version"] != float64(0) || got["spo2Scale"] != float64(1) {
		t.Fatalf("GET unset limits = %d %v", st, got)
	}
	for _, tc := range []struct{ body, field string }{
		{`{"limits": []}`, "version: required"},
		{`{"version": 0, "limits": [{"code": "9999-9", "high": 1}]}`, `limits[0].code "9999-9"`},
		{`{"version": 0, "limits": [{"code": "8867-4", "low": 120, "high": 50}]}`, "limits[0]: low 120 must be below high 50"},
		{`{"version": 0, "limits": [{"code": "8310-5", "unit": "[degF]", "high": 100}]}`, "limits[0].unit"},
		{`{"version": 0, "limits": [{"code": "59408-5", "low": 20}]}`, "limits[0].low 20"},
		{`{"version": 0, "spo2Scale": 3}`, "spo2Scale"},
	} {
		st, got := f.do("PUT", path, clin, tc.body)
		if detail, _ := got["detail"].(string); st != 422 || !strings.Contains(detail, tc.field) {
			t.Errorf("PUT %s = %d %q, want 422 naming %q", tc.body, st, got["detail"], tc.field)
		}
	}
	if st, got := f.do("PUT", path, clin, `{"version": 0, "bogus": 1}`); st != 400 {
		t.Errorf("unknown field = %d %v, want 400", st, got)
	}
	st, got = f.do("PUT", path, clin, body)
	if st != 200 || got["version"] != float64(1) || got["onOxygen"] != true {
		t.Fatalf("PUT = %d %v", st, got)
	}
	if st, got := f.do("PUT", path, clin, body); st != 409 || !strings.Contains(got["detail"].(string), "load them again") {
		t.Errorf("PUT from version 0 again = %d %v, want 409", st, got)
	}

	// A reading arrives outside the limit and is flagged on arrival.
	st, res := f.do("POST", "/api/v1/readings", "patient:pat-ida", batchJSON(item(f.therm.ID, "2A1C", hexTemp3760, 1, observed)))
	results, _ := res["results"].([]any)
	if st != 200 || len(results) != 1 || !strings.Contains(mustJSON(results[0]), FlagOutsideLimits) {
		t.Fatalf("POST reading = %d %v, want flagged %s", st, res, FlagOutsideLimits)
	}
	st, fl := f.do("GET", "/api/v1/patients/pat-ida/flagged-readings", clin, "")
	list, _ := fl["flagged"].([]any)
	if st != 200 || len(list) != 1 || fl["unacknowledged"] != float64(1) {
		t.Fatalf("flagged = %d %v", st, fl)
	}
	first := list[0].(map[string]any)
	m := first["measurements"].([]any)[0].(map[string]any)
	if m["outside"] != "above" || m["limitHigh"] != "37.5" || first["acknowledged"] != nil {
		t.Errorf("flagged reading = %v", first)
	}
	if st, _ := f.do("GET", "/api/v1/patients/pat-ida/flagged-readings", "patient:pat-ida", ""); st != 403 {
		t.Errorf("patient reads flagged = %d, want 403", st)
	}
	if st, _ := f.do("GET", "/api/v1/patients/pat-ida/flagged-readings?since=yesterday", clin, ""); st != 400 {
		t.Errorf("bad since = %d, want 400", st)
	}
	ack := "/api/v1/patients/pat-ida/flagged-readings/" + first["id"].(string) + "/acknowledge"
	if st, _ := f.do("POST", ack, "scheduler:user-sch", `{}`); st != 403 {
		t.Errorf("scheduler acknowledges = %d, want 403", st)
	}
	if st, _ := f.do("POST", "/api/v1/patients/pat-bo/flagged-readings/"+first["id"].(string)+"/acknowledge", clin, `{}`); st != 404 {
		t.Errorf("acknowledge under another patient = %d, want 404", st)
	}
	st, a := f.do("POST", ack, clin, `{"note": "ringer i morgen"}`)
	if st != 201 || a["by"] != "user-clin" || a["note"] != "ringer i morgen" || a["at"] == "" {
		t.Fatalf("acknowledge = %d %v", st, a)
	}
	if st, again := f.do("POST", ack, clin, ""); st != 409 || !strings.Contains(again["detail"].(string), "acknowledged by user-clin") {
		t.Errorf("acknowledge again = %d %v, want 409 naming who", st, again)
	}
	if _, fl := f.do("GET", "/api/v1/patients/pat-ida/flagged-readings", clin, ""); fl["unacknowledged"] != float64(0) {
		t.Errorf("after acknowledgement: %v", fl)
	}

	// Appointment type defaults: staff read, admins write.
	tp := "/api/v1/appointment-types/type-kol/limits"
	if st, _ := f.do("PUT", tp, clin, body); st != 403 {
		t.Errorf("clinician sets type defaults = %d, want 403", st)
	}
	if st, got := f.do("PUT", tp, "admin:user-admin", body); st != 200 || got["owner"] != WatchOfType {
		t.Errorf("admin sets type defaults = %d %v", st, got)
	}
	if st, got := f.do("GET", tp, "scheduler:user-sch", ""); st != 200 || got["version"] != float64(1) {
		t.Errorf("scheduler reads type defaults = %d %v", st, got)
	}

	log, err := readAudit(f.ctx, f.s, "pat-ida")
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, e := range log {
		if e.ActorID == "user-clin" && e.Entity != "device" {
			seen = append(seen, e.Action+" "+e.Entity)
		}
	}
	want := []string{"read watch", "update watch:patient", "list flagged-reading", "update reading", "list flagged-reading"}
	if !equal(seen, want) {
		t.Errorf("audit = %v, want %v", seen, want)
	}
}

// TestFHIRObservationLimits: an Observation of a value outside the
// patient's limits carries them as its referenceRange and is interpreted H
// (v3-ObservationInterpretation); one stored before any limit has neither.
func TestFHIRObservationLimits(t *testing.T) {
	f := newAPIFixture(t)
	f.do("POST", "/api/v1/readings", "patient:pat-ida", batchJSON(item(f.therm.ID, "2A1C", hexTemp3760, 1, observed)))
	if st, got := f.do("PUT", "/api/v1/patients/pat-ida/limits", "clinician:user-clin",
		`{"version": 0, "limits": [{"code": "8310-5", "low": 35.5, "high": 37.5}]}`); st != 200 {
		t.Fatalf("PUT limits = %d %v", st, got)
	}
	f.do("POST", "/api/v1/readings", "patient:pat-ida", batchJSON(item(f.therm.ID, "2A1C", hexTemp3760, 2, observed)))
	b := string(fhirText(t, f))
	var bundle struct {
		Entry []struct {
			Resource map[string]any `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal([]byte(b), &bundle); err != nil {
		t.Fatal(err)
	}
	var with, without int
	for _, e := range bundle.Entry {
		o := e.Resource
		if _, ok := o["referenceRange"]; !ok {
			without++
			continue
		}
		with++
		got := mustJSON(o["interpretation"]) + " " + mustJSON(o["referenceRange"])
		for _, want := range []string{`"code":"H"`, SystemInterpretation, `"high":{"code":"Cel","system":"http://unitsofmeasure.org","unit":"Cel","value":37.5}`, `"value":35.5`} {
			if !strings.Contains(got, want) {
				t.Errorf("flagged Observation: %s lacks %s", got, want)
			}
		}
	}
	if with != 1 || without != 1 {
		t.Errorf("%d Observations with limits and %d without, want 1 and 1", with, without)
	}
}
