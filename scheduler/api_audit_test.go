package scheduler

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// auditPage is GET /api/v1/audit's answer, decoded loosely so that the test
// sees the field names as sent.
type auditPage struct {
	Rows []map[string]any `json:"rows"`
	Next string           `json:"next"`
}

func (f *apiFixture) auditPage(path, token string) (int, auditPage) {
	f.t.Helper()
	status, b := f.do("GET", path, token, "")
	var p auditPage
	if status == http.StatusOK {
		if err := json.Unmarshal(b, &p); err != nil {
			f.t.Fatalf("%s: %v\n%s", path, err, b)
		}
	}
	return status, p
}

func TestAuditAPI(t *testing.T) {
	f := newAPIFixture(t)
	admin := RoleAdmin + ":" + f.admin.ID
	// The clinician reads the patient's record through the API: that row
	// carries the address the request came from.
	if status, b := f.do("GET", "/api/v1/appointments/"+f.apptA.ID, f.mineToken, ""); status != http.StatusOK {
		t.Fatalf("read appointment: %d %s", status, b)
	}
	status, all := f.auditPage("/api/v1/audit", admin)
	if status != http.StatusOK || len(all.Rows) == 0 {
		t.Fatalf("audit log: %d, %d rows", status, len(all.Rows))
	}
	for _, col := range auditColumns {
		if _, ok := all.Rows[0][col]; !ok {
			t.Errorf("row lacks %q: %v", col, all.Rows[0])
		}
	}
	newest := all.Rows[0]
	if newest["actorRole"] != RoleClinician || newest["patientId"] != f.pat.ID || newest["address"] != "127.0.0.1" {
		t.Errorf("newest row %v, want the clinician's read from 127.0.0.1", newest)
	}

	t.Run("filters", func(t *testing.T) {
		status, p := f.auditPage("/api/v1/audit?patient="+f.pat.ID+"&actor="+f.staff.ID, admin)
		if status != http.StatusOK || len(p.Rows) == 0 {
			t.Fatalf("%d, %d rows", status, len(p.Rows))
		}
		for _, r := range p.Rows {
			if r["patientId"] != f.pat.ID || r["actorId"] != f.staff.ID {
				t.Errorf("row %v outside the filter", r)
			}
		}
		q := url.Values{"from": {"2000-01-01T00:00:00Z"}, "to": {"2001-01-01T00:00:00Z"}}
		if status, p := f.auditPage("/api/v1/audit?"+q.Encode(), admin); status != http.StatusOK || len(p.Rows) != 0 {
			t.Errorf("a year with no rows: %d, %d rows", status, len(p.Rows))
		}
	})

	t.Run("paging", func(t *testing.T) {
		var ids []float64
		path := "/api/v1/audit?patient=" + f.pat.ID + "&limit=2"
		for pages := 0; path != ""; pages++ {
			if pages > 50 {
				t.Fatal("paging does not end")
			}
			status, p := f.auditPage(path, admin)
			if status != http.StatusOK || len(p.Rows) > 2 {
				t.Fatalf("%s: %d, %d rows", path, status, len(p.Rows))
			}
			for _, r := range p.Rows {
				ids = append(ids, r["id"].(float64))
			}
			path = ""
			if p.Next != "" {
				path = "/api/v1/audit?patient=" + f.pat.ID + "&limit=2&after=" + url.QueryEscape(p.Next)
			}
		}
		if len(ids) < 3 {
			t.Fatalf("paged through %d rows, want several pages", len(ids))
		}
		sorted := slices.Clone(ids)
		slices.Sort(sorted)
		slices.Reverse(sorted)
		if !slices.Equal(ids, slices.Compact(sorted)) {
			t.Errorf("pages gave ids %v: repeated or out of order", ids)
		}
	})

	t.Run("csv", func(t *testing.T) {
		// A reason that a spreadsheet would take for a formula.
		stMust(f.s.SetStatus(f.ctx, f.staff, f.theirs.ID, StatusCancelled, "=HYPERLINK(\"http://x\")"))(t)
		req, _ := http.NewRequest("GET", f.srv.URL+"/api/v1/audit?limit=3", nil)
		req.Header.Set("Authorization", "Bearer "+admin)
		req.Header.Set("Accept", "text/csv")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
			t.Fatalf("Content-Type %q", ct)
		}
		if link := resp.Header.Get("Link"); !strings.Contains(link, `rel="next"`) || !strings.Contains(link, "after=") {
			t.Errorf("Link %q, want the next page", link)
		}
		recs, err := csv.NewReader(resp.Body).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 4 || !slices.Equal(recs[0], auditColumns) {
			t.Fatalf("CSV %q", recs)
		}
		found := false
		for _, r := range recs[1:] {
			found = found || strings.Contains(r[9], "=HYPERLINK")
		}
		if !found {
			t.Errorf("the cancellation is not among the newest rows: %q", recs)
		}
		// A cell that starts like a formula is neutralised.
		rec := httptest.NewRecorder()
		writeCSV(rec, httptest.NewRequest("GET", "/api/v1/audit", nil), []string{"a", "b", "c"},
			[][]string{{"=1+1", "@SUM(A1)", "plain"}}, "")
		if got := rec.Body.String(); got != "a,b,c\r\n'=1+1,'@SUM(A1),plain\r\n" {
			t.Errorf("CSV %q", got)
		}
	})

	t.Run("refused", func(t *testing.T) {
		for _, tc := range []struct {
			name, path, token string
			want              int
		}{
			{"no token", "/api/v1/audit", "", 401},
			{"a clinician", "/api/v1/audit", f.mineToken, 403},
			{"a scheduler", "/api/v1/audit", RoleScheduler + ":" + f.staff.ID, 403},
			{"a patient", "/api/v1/audit?patient=" + f.pat.ID, RolePatient + ":" + f.pat.ID, 403},
			{"limit too high", "/api/v1/audit?limit=1001", admin, 400},
			{"limit zero", "/api/v1/audit?limit=0", admin, 400},
			{"limit not a number", "/api/v1/audit?limit=ten", admin, 400},
			{"bad time", "/api/v1/audit?from=yesterday", admin, 400},
			{"range backwards", "/api/v1/audit?from=2026-06-02T00:00:00Z&to=2026-06-01T00:00:00Z", admin, 400},
			{"bad cursor", "/api/v1/audit?after=xyz", admin, 400},
			{"misspelt filter", "/api/v1/audit?patientId=" + f.pat.ID, admin, 400},
			{"filter twice", "/api/v1/audit?patient=a&patient=b", admin, 400},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if status, b := f.do("GET", tc.path, tc.token, ""); status != tc.want {
					t.Errorf("%d %s, want %d", status, b, tc.want)
				}
			})
		}
	})
}

func TestAccessLogAPI(t *testing.T) {
	f := newAPIFixture(t)
	other := stMust(f.s.CreatePatient(f.ctx, f.staff, Patient{Name: "Bo Berg"}))(t)
	stMust(f.s.GetPatient(f.ctx, f.staff, other.ID))(t)
	if status, b := f.do("GET", "/api/v1/appointments/"+f.apptA.ID, f.mineToken, ""); status != http.StatusOK {
		t.Fatalf("read appointment: %d %s", status, b)
	}
	patient := RolePatient + ":" + f.pat.ID + ":" + f.apptA.ID
	status, p := f.auditPage("/api/v1/me/access-log", patient)
	if status != http.StatusOK || len(p.Rows) == 0 {
		t.Fatalf("access log: %d, %d rows", status, len(p.Rows))
	}
	var sawClinician bool
	for _, r := range p.Rows {
		if r["patientId"] != f.pat.ID {
			t.Errorf("a row about someone else: %v", r)
		}
		if r["actorRole"] == RoleClinician {
			sawClinician = true
			if r["actorName"] != "Dr. Anna Holm" {
				t.Errorf("the clinician is named %v, want Dr. Anna Holm", r["actorName"])
			}
			if r["address"] != "" {
				t.Errorf("a member of staff's address is shown: %v", r["address"])
			}
		}
	}
	if !sawClinician {
		t.Errorf("the clinician's read is not in the access log: %v", p.Rows)
	}
	// Reading one's own log is itself logged, and shows in the next read.
	_, again := f.auditPage("/api/v1/me/access-log?limit=1", patient)
	if len(again.Rows) != 1 || again.Rows[0]["entity"] != "access-log" || again.Rows[0]["actorName"] != "Ida Jensen" {
		t.Errorf("newest row %v, want the patient's own read of the log", again.Rows)
	}
	for _, tc := range []struct {
		name, path, token string
		want              int
	}{
		{"a clinician", "/api/v1/me/access-log", f.mineToken, 403},
		{"an admin", "/api/v1/me/access-log", RoleAdmin + ":" + f.admin.ID, 403},
		{"a relative", "/api/v1/me/access-log", RoleRelative + ":r-1:" + f.apptA.ID, 403},
		{"someone else's log", "/api/v1/me/access-log?patient=" + other.ID, patient, 400},
		{"no token", "/api/v1/me/access-log", "", 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if status, b := f.do("GET", tc.path, tc.token, ""); status != tc.want {
				t.Errorf("%d %s, want %d", status, b, tc.want)
			}
		})
	}
	req, _ := http.NewRequest("GET", f.srv.URL+"/api/v1/me/access-log", nil)
	req.Header.Set("Authorization", "Bearer "+patient)
	req.Header.Set("Accept", "text/csv;q=0.9, application/json;q=0.5")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil || len(recs) < 2 || recs[0][len(recs[0])-1] != "actorName" {
		t.Errorf("CSV access log: %v %q", err, recs)
	}
}
