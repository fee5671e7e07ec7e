package homekit

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/julienschmidt/httprouter"
)

// testAuth reads "Bearer <role>:<id>[:<appointment>]".
func testAuth(r *http.Request) (Principal, error) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	parts := strings.Split(tok, ":")
	if !ok || len(parts) < 2 {
		return Principal{}, errors.New("no token")
	}
	p := Principal{Role: parts[0], ID: parts[1]}
	if len(parts) > 2 {
		p.Appt = parts[2]
	}
	return p, nil
}

type apiFixture struct {
	*fixture
	srv *httptest.Server
}

func newAPIFixture(t *testing.T) *apiFixture {
	s := sqliteStore(t)
	f := newFixture(t, s)
	api, err := NewAPI(APIConfig{BaseURL: "https://clinic.example", Now: func() time.Time { return f.now }}, s, AuthenticatorFunc(testAuth), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := httprouter.New()
	api.Routes(r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return &apiFixture{fixture: f, srv: srv}
}

// do sends a request and decodes the JSON answer generically.
func (f *apiFixture) do(method, path, token, body string) (int, map[string]any) {
	f.t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		f.t.Fatalf("%s %s: %d, body not JSON: %v", method, path, resp.StatusCode, err)
	}
	return resp.StatusCode, v
}

func batchJSON(items ...string) string { return `{"readings": [` + strings.Join(items, ",") + `]}` }

func item(device, char, value string, seq int, observedAt string) string {
	b, _ := json.Marshal(map[string]any{"deviceId": device, "characteristic": char, "value": value, "seq": seq, "observedAt": observedAt})
	return string(b)
}

func TestAPIReadingsBatch(t *testing.T) {
	f := newAPIFixture(t)
	ida := "patient:pat-ida"
	body := batchJSON(
		item(f.bp.ID, "2A35", hexBP, 1, observed),
		`5`,
		item(f.boTemp.ID, "2A1C", hexTemp3760, 1, observed), // Bo's thermometer
		`{"deviceId": "x", "colour": "red"}`,
		item(f.bp.ID, "2A35", hexBP, 1, observed),
		item(f.bp.ID, "2A35", hexBP400, 2, observed),
	)
	code, v := f.do("POST", "/api/v1/readings", ida, body)
	if code != http.StatusOK {
		t.Fatalf("POST readings = %d %v", code, v)
	}
	results := v["results"].([]any)
	want := []string{StatusStored, StatusRejected, StatusRejected, StatusRejected, StatusDuplicate, StatusStored}
	if len(results) != len(want) {
		t.Fatalf("%d results, want %d: %v", len(results), len(want), results)
	}
	for i, x := range results {
		r := x.(map[string]any)
		if int(r["index"].(float64)) != i || r["status"] != want[i] {
			t.Errorf("result %d = %v, want index %d status %s", i, r, i, want[i])
		}
		if r["status"] == StatusRejected && r["reason"] == "" {
			t.Errorf("result %d rejected without a reason", i)
		}
	}
	if results[4].(map[string]any)["id"] != results[0].(map[string]any)["id"] {
		t.Errorf("duplicate names %v, want the original %v", results[4], results[0])
	}
	if r := results[2].(map[string]any); r["reason"] != "unknown device" {
		t.Errorf("another patient's device: %v, want unknown device", r)
	}
	if flags := results[5].(map[string]any)["flags"]; flags == nil {
		t.Errorf("systolic 400 not flagged: %v", results[5])
	}
	// Nothing reached Bo.
	if rs := f.readings("pat-bo"); len(rs) != 0 {
		t.Errorf("Bo has %d readings, want none", len(rs))
	}
}

func TestAPIReadingsBadBody(t *testing.T) {
	f := newAPIFixture(t)
	for _, body := range []string{``, `[]`, `{}`, `{"readings": 5}`, `{"readings": {}}`, `not json`,
		`{"readings": [], "extra": 1}`, `{"readings": []} {"readings": []}`,
		batchJSON(slices.Repeat([]string{`{}`}, MaxBatch+1)...)} {
		if code, v := f.do("POST", "/api/v1/readings", "patient:pat-ida", body); code != http.StatusBadRequest || v["status"] != float64(400) {
			t.Errorf("body %.40q: %d %v, want 400 problem", body, code, v)
		}
	}
	big := batchJSON(item(f.bp.ID, "2A35", strings.Repeat("00", 600<<10), 1, observed))
	if code, _ := f.do("POST", "/api/v1/readings", "patient:pat-ida", big); code != http.StatusRequestEntityTooLarge {
		t.Errorf("body over 1 MiB: %d, want 413", code)
	}
	if code, v := f.do("POST", "/api/v1/readings", "patient:pat-ida", `{"readings": []}`); code != http.StatusOK || len(v["results"].([]any)) != 0 {
		t.Errorf("empty batch: %d %v, want 200 with no results", code, v)
	}
}

func TestAPIAuthorisation(t *testing.T) {
	f := newAPIFixture(t)
	if _, err := f.s.AddGateway(f.ctx, f.staff, Gateway{ID: "gw-ida", PatientID: "pat-ida"}); err != nil {
		t.Fatal(err)
	}
	one := batchJSON(item(f.therm.ID, "2A1C", hexTemp3760, 1, observed))
	for _, tc := range []struct {
		method, path, token, body string
		want                      int
	}{
		{"POST", "/api/v1/readings", "", one, 401},
		{"POST", "/api/v1/readings", "clinician:u1", one, 403},
		{"POST", "/api/v1/readings", "relative:r1", one, 403},
		{"POST", "/api/v1/readings", "gateway:gw-unknown", one, 404},
		{"POST", "/api/v1/readings", "gateway:gw-ida", one, 200},
		{"POST", "/api/v1/readings/manual", "gateway:gw-ida", `{"values": []}`, 403},
		// A link or a gateway sends readings, never reads the history: 403
		// for its own patient's, 404 for anyone else's.
		{"GET", "/api/v1/patients/pat-ida/readings", "patient:pat-ida", "", 403},
		{"GET", "/api/v1/patients/pat-ida/readings", "patient:pat-bo", "", 404},
		{"GET", "/api/v1/patients/pat-nobody/readings", "patient:pat-bo", "", 404},
		{"GET", "/api/v1/patients/pat-ida/readings", "gateway:gw-ida", "", 403},
		{"GET", "/api/v1/patients/pat-bo/readings", "gateway:gw-ida", "", 404},
		{"GET", "/api/v1/patients/pat-ida/readings", "clinician:u1", "", 200},
		{"GET", "/api/v1/patients/pat-ida/readings?since=yesterday", "clinician:u1", "", 400},
		{"GET", "/api/v1/patients/pat-ida/devices", "patient:pat-ida", "", 200},
		{"GET", "/api/v1/patients/pat-ida/devices", "gateway:gw-ida", "", 200},
		{"GET", "/api/v1/patients/pat-ida/devices", "patient:pat-bo", "", 404},
		{"POST", "/api/v1/patients/pat-ida/devices", "patient:pat-ida", `{"type": "scale", "address": "x", "identifiedBy": "serial"}`, 403},
		{"POST", "/api/v1/patients/pat-ida/devices", "scheduler:u2", `{"type": "scale", "address": "x", "identifiedBy": "serial"}`, 201},
		{"POST", "/api/v1/patients/pat-ida/devices", "scheduler:u2", `{"type": "toaster", "address": "x", "identifiedBy": "serial"}`, 422},
		{"GET", "/fhir/r4/Observation?patient=pat-ida", "patient:pat-ida", "", 403},
		{"GET", "/fhir/r4/Device?patient=pat-ida", "patient:pat-ida", "", 403},
		{"GET", "/fhir/r4/Observation", "clinician:u1", "", 400},
		{"PUT", "/api/v1/appointments/a1/expected", "patient:pat-ida", `{"patientId": "pat-ida", "codes": ["8310-5"]}`, 403},
		{"PUT", "/api/v1/appointments/a1/expected", "clinician:u1", `{"patientId": "pat-ida", "codes": ["8310-5"]}`, 200},
	} {
		if code, v := f.do(tc.method, tc.path, tc.token, tc.body); code != tc.want {
			t.Errorf("%s %s as %q: %d %v, want %d", tc.method, tc.path, tc.token, code, v, tc.want)
		}
	}
	// Bo cannot post to Ida's devices: the answer is the same as for no device.
	_, v := f.do("POST", "/api/v1/readings", "patient:pat-bo", batchJSON(item(f.bp.ID, "2A35", hexBP, 9, observed)))
	if r := v["results"].([]any)[0].(map[string]any); r["status"] != StatusRejected || r["reason"] != "unknown device" {
		t.Errorf("Bo posting to Ida's device: %v", r)
	}
}

func TestAPIManual(t *testing.T) {
	f := newAPIFixture(t)
	code, v := f.do("POST", "/api/v1/readings/manual", "patient:pat-ida:appt-7",
		`{"values": [{"code": "8480-6", "value": "135", "unit": "mm[Hg]"}, {"code": "8462-4", "value": "85", "unit": "mm[Hg]"}]}`)
	if code != http.StatusCreated || v["id"] == "" {
		t.Fatalf("manual = %d %v", code, v)
	}
	if code, _ := f.do("POST", "/api/v1/readings/manual", "patient:pat-ida", `{"values": [{"code": "8480-6", "value": "135", "unit": "mm[Hg]"}]}`); code != 422 {
		t.Errorf("systolic alone: %d, want 422", code)
	}
	_, b := f.do("GET", "/fhir/r4/Observation?patient=pat-ida", "clinician:u1", "")
	entries := b["entry"].([]any)
	if len(entries) != 1 {
		t.Fatalf("%d entries, want 1", len(entries))
	}
	o := entries[0].(map[string]any)["resource"].(map[string]any)
	if o["device"] != nil || o["encounter"].(map[string]any)["reference"] != "Encounter/appt-7" {
		t.Errorf("manual observation: %v", o)
	}
	if cats := categoryCodes(o); !slices.Equal(cats, []string{"vital-signs"}) {
		t.Errorf("patient-entered categories %v, want vital-signs only (not phd)", cats)
	}
}

func categoryCodes(o map[string]any) []string {
	var out []string
	cats, _ := o["category"].([]any)
	for _, c := range cats {
		for _, cd := range c.(map[string]any)["coding"].([]any) {
			out = append(out, cd.(map[string]any)["code"].(string))
		}
	}
	return out
}

func codingsOf(v any) []string {
	var out []string
	for _, c := range v.(map[string]any)["coding"].([]any) {
		cd := c.(map[string]any)
		out = append(out, cd["system"].(string)+"|"+cd["code"].(string))
	}
	return out
}

func TestFHIRObservations(t *testing.T) {
	f := newAPIFixture(t)
	if _, err := f.s.AddGateway(f.ctx, f.staff, Gateway{ID: "gw-ida", PatientID: "pat-ida", Label: "hall"}); err != nil {
		t.Fatal(err)
	}
	f.do("POST", "/api/v1/readings", "patient:pat-ida:appt-1", batchJSON(
		item(f.bp.ID, "2A35", hexBP, 1, observed),
		item(f.therm.ID, "2A1C", hexTemp3760, 1, observed),
		item(f.therm.ID, "2A1C", hexTempNaN, 2, observed),
	))
	f.do("POST", "/api/v1/readings", "gateway:gw-ida", batchJSON(item(f.oxi.ID, "2A5E", hexSpO2, 1, observed)))

	code, b := f.do("GET", "/fhir/r4/Observation?patient=Patient/pat-ida", "clinician:u1", "")
	if code != 200 || b["resourceType"] != "Bundle" || b["type"] != "searchset" {
		t.Fatalf("GET Observation = %d %v", code, b)
	}
	entries := b["entry"].([]any)
	// BP panel + cuff pulse + temperature + NaN temperature + SpO2 + oximeter pulse.
	if int(b["total"].(float64)) != 6 || len(entries) != 6 {
		t.Fatalf("total %v, %d entries; want 6", b["total"], len(entries))
	}
	byCode := map[string][]map[string]any{}
	for _, e := range entries {
		e := e.(map[string]any)
		o := e["resource"].(map[string]any)
		if o["resourceType"] != "Observation" || o["status"] != "final" || o["subject"].(map[string]any)["reference"] != "Patient/pat-ida" {
			t.Errorf("observation %v", o)
		}
		if e["fullUrl"] != "https://clinic.example/fhir/r4/Observation/"+o["id"].(string) {
			t.Errorf("fullUrl %v", e["fullUrl"])
		}
		id := o["identifier"].([]any)[0].(map[string]any)
		if id["system"] != SystemReadingID || id["value"] != o["id"] {
			t.Errorf("identifier %v", id)
		}
		if !slices.Contains(categoryCodes(o), "phd") || !strings.HasPrefix(o["device"].(map[string]any)["reference"].(string), "Device/") {
			t.Errorf("device observation without phd category or device: %v", o)
		}
		code := codingsOf(o["code"])[0]
		byCode[code] = append(byCode[code], o)
	}

	bp := byCode[SystemLOINC+"|85354-9"]
	if len(bp) != 1 {
		t.Fatalf("%d BP panels, want 1", len(bp))
	}
	panel := bp[0]
	if panel["valueQuantity"] != nil || !slices.Contains(codingsOf(panel["code"]), SystemMDC+"|150020") {
		t.Errorf("panel %v", panel)
	}
	if !slices.Equal(categoryCodes(panel), []string{"vital-signs", "phd"}) {
		t.Errorf("panel categories %v", categoryCodes(panel))
	}
	var comps []string
	for _, c := range panel["component"].([]any) {
		c := c.(map[string]any)
		q := c["valueQuantity"].(map[string]any)
		comps = append(comps, codingsOf(c["code"])[0]+"="+mustJSON(q["value"])+" "+q["code"].(string)+" "+q["system"].(string))
	}
	wantComps := []string{
		SystemLOINC + "|8480-6=120 mm[Hg] " + SystemUCUM,
		SystemLOINC + "|8462-4=80 mm[Hg] " + SystemUCUM,
		SystemLOINC + "|8478-0=93 mm[Hg] " + SystemUCUM,
	}
	if !slices.Equal(comps, wantComps) {
		t.Errorf("components %v, want %v", comps, wantComps)
	}
	if panel["encounter"].(map[string]any)["reference"] != "Encounter/appt-1" {
		t.Errorf("panel encounter %v", panel["encounter"])
	}
	profiles := panel["meta"].(map[string]any)["profile"].([]any)
	if profiles[0] != ProfilePHDCompound || profiles[1] != "http://hl7.org/fhir/StructureDefinition/bp" {
		t.Errorf("panel profiles %v", profiles)
	}
	if len(byCode[SystemLOINC+"|8867-4"]) != 2 {
		t.Errorf("%d pulse observations, want 2 (cuff and oximeter)", len(byCode[SystemLOINC+"|8867-4"]))
	}

	temps := byCode[SystemLOINC+"|8310-5"]
	if len(temps) != 2 {
		t.Fatalf("%d temperatures, want 2", len(temps))
	}
	for _, o := range temps {
		if o["dataAbsentReason"] != nil {
			dar := codingsOf(o["dataAbsentReason"])
			if o["valueQuantity"] != nil || !slices.Equal(dar, []string{SystemDataAbsentReason + "|not-a-number"}) {
				t.Errorf("NaN temperature %v", o)
			}
			continue
		}
		// 37.60 keeps its decimals in the JSON text; the device's clock
		// (2026-11-26T10:30:05, Copenhagen winter time) is the effective time.
		raw, _ := json.Marshal(o["valueQuantity"])
		if !strings.Contains(string(fhirText(t, f)), `"value":37.60`) {
			t.Errorf("valueQuantity %s lost the decimals", raw)
		}
		if o["effectiveDateTime"] != "2026-11-26T10:30:05+01:00" {
			t.Errorf("effectiveDateTime %v, want the device's time", o["effectiveDateTime"])
		}
		if !slices.Contains(codingsOf(o["code"]), SystemMDC+"|150364") {
			t.Errorf("temperature codings %v", codingsOf(o["code"]))
		}
	}

	spo2 := byCode[SystemLOINC+"|59408-5"]
	if len(spo2) != 1 {
		t.Fatalf("%d SpO2, want 1", len(spo2))
	}
	ext := spo2[0]["extension"].([]any)[0].(map[string]any)
	if ext["url"] != ExtensionGatewayDevice || ext["valueReference"].(map[string]any)["reference"] != "Device/gw-ida" {
		t.Errorf("gateway extension %v", ext)
	}
	if spo2[0]["effectiveDateTime"] != "2026-06-01T09:59:00Z" || spo2[0]["encounter"] != nil {
		t.Errorf("SpO2 without device clock: effective %v, encounter %v", spo2[0]["effectiveDateTime"], spo2[0]["encounter"])
	}
	if !slices.Equal(codingsOf(spo2[0]["code"]), []string{SystemLOINC + "|59408-5", SystemLOINC + "|2708-6", SystemMDC + "|150456"}) {
		t.Errorf("SpO2 codings %v", codingsOf(spo2[0]["code"]))
	}

	// A second export (and a re-send in between) gives the same identifiers.
	f.do("POST", "/api/v1/readings", "patient:pat-ida", batchJSON(item(f.bp.ID, "2A35", hexBP, 1, observed)))
	_, b2 := f.do("GET", "/fhir/r4/Observation?patient=pat-ida", "clinician:u1", "")
	if !slices.Equal(identifiers(b), identifiers(b2)) {
		t.Errorf("identifiers changed between exports:\n%v\n%v", identifiers(b), identifiers(b2))
	}
}

// fhirText exports Ida's Observations and returns the JSON text as sent.
func fhirText(t *testing.T, f *apiFixture) []byte {
	req, _ := http.NewRequest("GET", f.srv.URL+"/fhir/r4/Observation?patient=pat-ida", nil)
	req.Header.Set("Authorization", "Bearer clinician:u1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
		t.Fatal(err)
	}
	return raw
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func identifiers(bundle map[string]any) []string {
	var out []string
	for _, e := range bundle["entry"].([]any) {
		o := e.(map[string]any)["resource"].(map[string]any)
		out = append(out, o["identifier"].([]any)[0].(map[string]any)["value"].(string))
	}
	slices.Sort(out)
	return out
}

func TestFHIRDevices(t *testing.T) {
	f := newAPIFixture(t)
	if _, err := f.s.AddGateway(f.ctx, f.staff, Gateway{ID: "gw-ida", PatientID: "pat-ida", Label: "hall"}); err != nil {
		t.Fatal(err)
	}
	code, b := f.do("GET", "/fhir/r4/Device?patient=pat-ida", "admin:u3", "")
	if code != 200 || b["type"] != "searchset" || int(b["total"].(float64)) != 4 {
		t.Fatalf("GET Device = %d %v", code, b)
	}
	for _, e := range b["entry"].([]any) {
		d := e.(map[string]any)["resource"].(map[string]any)
		if d["resourceType"] != "Device" || d["patient"].(map[string]any)["reference"] != "Patient/pat-ida" {
			t.Errorf("device %v", d)
		}
		if d["id"] == f.bp.ID {
			id := d["identifier"].([]any)[0].(map[string]any)
			if id["system"] != SystemBluetoothAddress || id["value"] != "00-1C-05-FF-E8-74" {
				t.Errorf("BP identifier %v", id)
			}
			if !slices.Equal(codingsOf(d["type"]), []string{SystemMDC + "|528391"}) || d["modelNumber"] != "A&D UA-651BLE" {
				t.Errorf("BP device %v", d)
			}
		}
	}
	if _, b := f.do("GET", "/fhir/r4/Device?patient=pat-nobody", "admin:u3", ""); int(b["total"].(float64)) != 0 {
		t.Errorf("unknown patient: %v", b)
	}
}

func TestAPIExpected(t *testing.T) {
	f := newAPIFixture(t)
	code, v := f.do("PUT", "/api/v1/appointments/appt-1/expected", "clinician:u1", `{"patientId": "pat-ida", "codes": ["85354-9", "59408-5"]}`)
	if code != 200 {
		t.Fatalf("PUT expected = %d %v", code, v)
	}
	f.do("POST", "/api/v1/readings", "patient:pat-ida", batchJSON(item(f.oxi.ID, "2A5E", hexSpO2, 1, observed)))
	_, v = f.do("GET", "/api/v1/appointments/appt-1/expected?since=2026-06-01T09:00:00Z", "clinician:u1", "")
	if got := mustJSON(v["expected"]); got != `[{"arrived":true,"code":"59408-5"},{"arrived":false,"code":"85354-9"}]` {
		t.Errorf("expected = %s", got)
	}
}
