package scheduler

import (
	"encoding/csv"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"vclinic/internal/records/audit"
)

// auditColumns are the columns of the audit log, in JSON and CSV alike.
var auditColumns = []string{"id", "at", "actorId", "actorRole", "action", "entity", "entityId", "patientId", "address", "detail"}

// auditFilter reads the query of GET /api/v1/audit (allowed lists the
// parameters the route takes); a parameter it does not know is an error, so
// that a misspelt filter never widens the answer.
func auditFilter(q url.Values, allowed ...string) (audit.Filter, error) {
	var f audit.Filter
	for k := range q {
		if !slices.Contains(allowed, k) {
			return f, fmt.Errorf("unknown parameter %q; known: %s", k, strings.Join(allowed, ", "))
		}
		if len(q[k]) > 1 {
			return f, fmt.Errorf("%s: given more than once", k)
		}
	}
	f.PatientID, f.ActorID, f.After = q.Get("patient"), q.Get("actor"), q.Get("after")
	for _, tf := range []struct {
		name string
		t    *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if v := q.Get(tf.name); v != "" {
			t, err := parseTime(tf.name, v)
			if err != nil {
				return f, err
			}
			*tf.t = t
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > audit.MaxLimit {
			return f, fmt.Errorf("limit: a whole number from 1 to %d", audit.MaxLimit)
		}
		f.Limit = n
	}
	return f, nil
}

// auditLog serves GET /api/v1/audit: the clinic's audit log for an admin,
// as JSON or, with Accept: text/csv, as CSV.
func (a *API) auditLog(w http.ResponseWriter, r *http.Request, _ httprouter.Params, p Principal) {
	f, err := auditFilter(r.URL.Query(), "patient", "actor", "from", "to", "limit", "after")
	if err != nil {
		a.problem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	page, err := a.store.AuditLog(r.Context(), p.Actor, f)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if wantsCSV(r) {
		rows := make([][]string, len(page.Rows))
		for i, e := range page.Rows {
			rows[i] = auditRecordCSV(e)
		}
		writeCSV(w, r, auditColumns, rows, page.Next)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

// accessLog serves GET /api/v1/me/access-log: who has read or changed the
// patient's own data ("Min Log").
func (a *API) accessLog(w http.ResponseWriter, r *http.Request, _ httprouter.Params, p Principal) {
	f, err := auditFilter(r.URL.Query(), "from", "to", "limit", "after")
	if err != nil {
		a.problem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	page, err := a.store.AccessLog(r.Context(), p.Actor, f)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if wantsCSV(r) {
		rows := make([][]string, len(page.Rows))
		for i, e := range page.Rows {
			rows[i] = append(auditRecordCSV(e.Entry), e.ActorName)
		}
		writeCSV(w, r, slices.Concat(auditColumns, []string{"actorName"}), rows, page.Next)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

func auditRecordCSV(e audit.Entry) []string {
	return []string{strconv.FormatInt(e.ID, 10), e.At.UTC().Format(time.RFC3339Nano), e.ActorID, e.ActorRole,
		e.Action, e.Entity, e.EntityID, e.PatientID, e.Address, e.Detail}
}

// wantsCSV reports whether the client asked for text/csv (RFC 9110 §12.5.1;
// CSV is RFC 4180) over JSON.
func wantsCSV(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err == nil && mt == "text/csv" && params["q"] != "0" {
			return true
		}
	}
	return false
}

// writeCSV answers a header line and rows as RFC 4180 CSV. The cursor of the
// next page, if any, is in a Link header (RFC 8288, rel="next"). A cell that
// a spreadsheet would take for a formula is prefixed with ' (OWASP, CSV
// injection): the log holds text people typed.
func writeCSV(w http.ResponseWriter, r *http.Request, header []string, rows [][]string, next string) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8; header=present")
	w.Header().Set("Cache-Control", "no-store")
	if next != "" {
		q := r.URL.Query()
		q.Set("after", next)
		w.Header().Set("Link", fmt.Sprintf(`<%s?%s>; rel="next"`, r.URL.Path, q.Encode()))
	}
	w.WriteHeader(http.StatusOK)
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	_ = cw.Write(header)
	for _, row := range rows {
		for i, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				row[i] = "'" + cell
			}
		}
		_ = cw.Write(row)
	}
	cw.Flush()
}
