package homekit

import (
	"testing"
	"time"
)

// TestAPIStaffTypedReading: a clinician types a value for the patient; it
// is kept as entered by hand but submitted by the clinician, so the live
// panel and the trends say "typed by staff"; patients, schedulers and
// gateways may not use the route.
func TestAPIStaffTypedReading(t *testing.T) {
	f := newAPIFixture(t)
	const path = "/api/v1/patients/pat-ida/readings/manual"
	body := `{"values":[{"code":"8310-5","value":"38.4","unit":"Cel"}]}`
	for _, tok := range []string{"patient:pat-ida", "scheduler:user-sch", "admin:user-admin", "gateway:gw-1"} {
		if st, _ := f.do("POST", path, tok, body); st != 403 {
			t.Errorf("%s = %d, want 403", tok, st)
		}
	}
	if st, got := f.do("POST", path, "clinician:user-clin", `{"values":[{"code":"8310-5","value":"hot","unit":"Cel"}]}`); st != 422 {
		t.Errorf("a value that is not a number = %d %v, want 422", st, got)
	}
	st, got := f.do("POST", path, "clinician:user-clin", body)
	if st != 201 || got["status"] != StatusStored {
		t.Fatalf("typed by the clinician = %d %v", st, got)
	}
	rs := f.readings("pat-ida")
	if len(rs) != 1 || rs[0].Source != SourcePatientEntered || rs[0].SubmittedBy != "user-clin" {
		t.Fatalf("stored %+v: want entered by hand, submitted by the clinician", rs)
	}
	if vs := Vitals(rs); len(vs) != 1 || vs[0].Via != ViaStaff {
		t.Errorf("live: %+v, want via staff", vs)
	}
	tr, err := f.s.Trends(f.ctx, f.staff, "pat-ida", 1, f.now.Add(time.Minute))
	if err != nil || len(tr.Series) != 1 || len(tr.Series[0].Points) != 1 || tr.Series[0].Points[0].Source != "staff" {
		t.Fatalf("trends: %+v %v, want the value as typed by staff", tr, err)
	}
	// The patient's own typed value, newer, is the patient's.
	if _, err := f.s.AddManual(f.ctx, f.ida, ManualReading{Values: []ManualValue{{Code: "8310-5", Value: "37.0", Unit: "Cel"}}}, f.now.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if vs := Vitals(f.readings("pat-ida")); len(vs) != 1 || vs[0].Value != "37.0" || vs[0].Via != ViaPatient {
		t.Errorf("after the patient's own: %+v, want 37.0 via patient", vs)
	}
}

// TestAPINEWS2FromThePatientsLimits: the score takes the SpO2 scale and
// oxygen a clinician set in the patient's limits, unless the request names
// them.
func TestAPINEWS2FromThePatientsLimits(t *testing.T) {
	f := newAPIFixture(t)
	const clin = "clinician:user-clin"
	scale := func(query string) (float64, any) {
		t.Helper()
		st, got := f.do("GET", "/api/v1/patients/pat-ida/news2"+query, clin, "")
		if st != 200 {
			t.Fatalf("news2%s = %d %v", query, st, got)
		}
		return got["scale"].(float64), got["oxygen"]
	}
	if s, o := scale(""); s != 1 || o != "" {
		t.Errorf("without limits: scale %v, oxygen %v; want 1 and not recorded", s, o)
	}
	if st, got := f.do("PUT", "/api/v1/patients/pat-ida/limits", clin, `{"version": 0, "spo2Scale": 2, "onOxygen": true, "limits": []}`); st != 200 {
		t.Fatalf("set limits = %d %v", st, got)
	}
	if s, o := scale(""); s != 2 || o != "oxygen" {
		t.Errorf("from the limits: scale %v, oxygen %v; want 2 and oxygen", s, o)
	}
	if s, o := scale("?scale=1&oxygen=false"); s != 1 || o != "air" {
		t.Errorf("named in the request: scale %v, oxygen %v; want 1 and air", s, o)
	}
}
