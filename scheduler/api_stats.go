package scheduler

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"
)

// statsColumns are the CSV export's columns, in order: the JSON fields of
// StatsGroup with the same names.
var statsColumns = []string{"key", "label", "start", "end", "hours", "booked", "held", "cancelled", "noShows",
	"waitMedianSeconds", "waitP90Seconds", "lengthMedianSeconds", "lengthP90Seconds", "measuredShare",
	"readingsPerPatient", "rttMsMedian", "lossPctMedian", "suppressed", "suppressedFields"}

// stats answers GET /api/v1/stats?from=YYYY-MM-DD&to=YYYY-MM-DD&by=...
// (admins): the review statistics as JSON, or as CSV (RFC 4180) with
// format=csv or Accept: text/csv.
func (a *API) stats(w http.ResponseWriter, r *http.Request, _ httprouter.Params, p Principal) {
	q := r.URL.Query()
	var sq StatsQuery
	for _, f := range []struct {
		name string
		d    *Date
	}{{"from", &sq.From}, {"to", &sq.To}} {
		v := q.Get(f.name)
		if v == "" {
			a.problem(w, r, http.StatusBadRequest, f.name+": required (YYYY-MM-DD)")
			return
		}
		d, err := parseDate(v)
		if err != nil {
			a.problem(w, r, http.StatusBadRequest, fmt.Sprintf("%s: %q is not a date YYYY-MM-DD", f.name, v))
			return
		}
		*f.d = d
	}
	sq.By = q.Get("by")
	if sq.By == "" {
		sq.By = ByMonth
	}
	if !slices.Contains(StatsGroupings, sq.By) {
		a.problem(w, r, http.StatusBadRequest, "by: want one of "+strings.Join(StatsGroupings, ", "))
		return
	}
	asCSV := false
	switch format := q.Get("format"); format {
	case "csv":
		asCSV = true
	case "json":
	case "":
		asCSV = strings.Contains(r.Header.Get("Accept"), "text/csv")
	default:
		a.problem(w, r, http.StatusBadRequest, "format: want csv or json")
		return
	}
	rep, err := a.store.Stats(r.Context(), p.Actor, sq, a.cfg.Kit)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if !asCSV {
		writeJSON(w, http.StatusOK, rep)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8; header=present") // RFC 4180 §3
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="vclinic-stats-%s-%s-%s.csv"`, rep.From, rep.To, rep.By))
	w.WriteHeader(http.StatusOK)
	_ = writeStatsCSV(w, rep)
}

// writeStatsCSV writes rep's groups as RFC 4180 CSV: a header row, CRLF
// line ends, fields quoted where they hold a comma, a quote or a line
// break; a null figure is an empty field.
func writeStatsCSV(w interface{ Write([]byte) (int, error) }, rep StatsReport) error {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(statsColumns); err != nil {
		return err
	}
	i := func(v *int) string {
		if v == nil {
			return ""
		}
		return strconv.Itoa(*v)
	}
	i64 := func(v *int64) string {
		if v == nil {
			return ""
		}
		return strconv.FormatInt(*v, 10)
	}
	f := func(v *float64) string {
		if v == nil {
			return ""
		}
		return strconv.FormatFloat(*v, 'f', -1, 64)
	}
	t := func(v *time.Time) string {
		if v == nil {
			return ""
		}
		return v.Format(time.RFC3339)
	}
	for _, g := range rep.Groups {
		hours := ""
		if g.Hours != 0 {
			hours = strconv.Itoa(g.Hours)
		}
		// A leading =, +, - or @ would be a formula to a spreadsheet
		// (OWASP CSV injection): a label is text, so it gets a quote mark.
		label := g.Label
		if label != "" && strings.ContainsRune("=+-@\t\r", rune(label[0])) {
			label = "'" + label
		}
		if err := cw.Write([]string{g.Key, label, t(g.Start), t(g.End), hours, i(g.Booked), i(g.Held), i(g.Cancelled), i(g.NoShows),
			i64(g.WaitMedianSeconds), i64(g.WaitP90Seconds), i64(g.LengthMedianSeconds), i64(g.LengthP90Seconds),
			f(g.MeasuredShare), f(g.ReadingsPerPatient), f(g.RTTMsMedian), f(g.LossPctMedian),
			strconv.FormatBool(g.Suppressed), strings.Join(g.SuppressedFields, " ")}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
