package homekit

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/julienschmidt/httprouter"

	"vclinic/internal/records"
)

// Trends: for each quantity a patient's kit measures, the last days as a
// series small enough to draw beside the value (a few hundred points
// however often the kit measures): the period is cut into equal buckets,
// and each bucket keeps its lowest and highest value and its newest
// reading, from any device (with the device named). Blood pressure comes as
// systolic/diastolic pairs from the same reading. Implausible values and
// special values (no number) are left out, as on the live panel.

// Trend periods.
const (
	DefaultTrendDays = 30
	MaxTrendDays     = 365
	// TrendBuckets is how many buckets a period is cut into: one per two
	// hours over 30 days, more than the pixels of a small chart.
	TrendBuckets = 360
)

// LOINC codes of blood pressure: the panel, systolic, diastolic, and the
// mean arterial pressure, which a trend leaves out (it follows from the
// pair drawn).
const (
	codeBPPanel   = "85354-9"
	codeSystolic  = "8480-6"
	codeDiastolic = "8462-4"
	codeMAP       = "8478-0"
)

// TrendPoint is one bucket of a series: the newest reading in it (At,
// Value; for blood pressure Value is systolic and Value2 diastolic), the
// bucket's lowest and highest value, how many values fell in it, and where
// the newest came from.
type TrendPoint struct {
	At        time.Time `json:"at"`
	Value     float64   `json:"value"`
	Value2    *float64  `json:"value2,omitempty"`
	Min       float64   `json:"min"`
	Max       float64   `json:"max"`
	N         int       `json:"n"`
	ReadingID string    `json:"readingId"`
	DeviceID  string    `json:"deviceId,omitempty"`
	Source    string    `json:"source"`
}

// TrendSeries is one quantity's trend, oldest bucket first.
type TrendSeries struct {
	Code   string       `json:"code"` // LOINC; 85354-9 for blood pressure pairs
	Unit   string       `json:"unit"` // UCUM
	Points []TrendPoint `json:"points"`
}

// Trends is the answer of GET /api/v1/patients/{id}/trends.
type Trends struct {
	From   time.Time     `json:"from"`
	To     time.Time     `json:"to"`
	Bucket string        `json:"bucket"` // a Go duration: how long one point stands for
	Series []TrendSeries `json:"series"`
}

// Trends reads a patient's trends over the days before now, and records
// the read in the audit log.
func (s *Store) Trends(ctx context.Context, actor Actor, patientID string, days int, now time.Time) (Trends, error) {
	if days < 1 || days > MaxTrendDays {
		return Trends{}, because(ErrInvalid, "days: want 1 to %d", MaxTrendDays)
	}
	to := records.Instant(now)
	from := to.Add(-time.Duration(days) * 24 * time.Hour)
	width := to.Sub(from) / TrendBuckets
	out := Trends{From: from, To: to, Bucket: width.String(), Series: []TrendSeries{}}
	type key struct {
		code string
		b    int
	}
	series := map[string]*TrendSeries{}
	var order []string
	buckets := map[key]*TrendPoint{}
	// Blood pressure: the systolic value of each reading waits for its
	// diastolic (the same reading, measurements in order).
	type bp struct {
		sys, dia  float64
		ok1, ok2  bool
		at        time.Time
		dev, src  string
		unit      string
		readingID string
	}
	pending := map[string]*bp{}
	add := func(code, unit, readingID, dev, src string, at time.Time, v float64, v2 *float64) {
		sr := series[code]
		if sr == nil {
			sr = &TrendSeries{Code: code, Unit: unit}
			series[code] = sr
			order = append(order, code)
		}
		b := min(int(at.Sub(from)/width), TrendBuckets-1)
		p := buckets[key{code, b}]
		if p == nil {
			p = &TrendPoint{Min: v, Max: v}
			buckets[key{code, b}] = p
		}
		p.N++
		p.Min, p.Max = min(p.Min, v), max(p.Max, v)
		if v2 != nil {
			p.Min, p.Max = min(p.Min, *v2), max(p.Max, *v2)
		}
		// The newest reading stands for the bucket (the greater id between
		// two of the same time): the rows come in no order.
		if p.ReadingID == "" || at.After(p.At) || at.Equal(p.At) && readingID > p.ReadingID {
			p.At, p.Value, p.Value2, p.ReadingID, p.DeviceID, p.Source = at, v, v2, readingID, dev, src
		}
	}
	err := s.db.InTx(ctx, "read trends", func(tx *sql.Tx) error {
		err := records.QueryRows(ctx, tx, `SELECT r.id, r.observed_at, r.device_id, r.gateway_id, r.source, r.submitted_by, m.code, m.value, m.unit
			FROM homekit_readings r JOIN homekit_measurements m ON m.reading_id = r.id
			WHERE r.patient_id = $1 AND r.observed_at >= $2 AND r.observed_at <= $3
				AND m.value IS NOT NULL AND NOT m.implausible`,
			[]any{patientID, s.ts(from), s.ts(to)}, func(rows *sql.Rows) error {
				var id, src, by, code, value, unit string
				var dev, gw sql.NullString
				var at time.Time
				if err := rows.Scan(&id, records.Time(&at), &dev, &gw, &src, &by, &code, &value, &unit); err != nil {
					return err
				}
				v, err := strconv.ParseFloat(value, 64)
				if err != nil {
					return fmt.Errorf("reading %s: stored value %q: %w", id, value, err)
				}
				how := sourceOf(src, gw.String, by != patientID)
				switch code {
				case codeMAP:
				case codeSystolic, codeDiastolic:
					p := pending[id]
					if p == nil {
						p = &bp{at: at, dev: dev.String, src: how, unit: unit, readingID: id}
						pending[id] = p
					}
					if code == codeSystolic {
						p.sys, p.ok1 = v, true
					} else {
						p.dia, p.ok2 = v, true
					}
					if p.ok1 && p.ok2 {
						dia := p.dia
						add(codeBPPanel, p.unit, id, p.dev, p.src, p.at, p.sys, &dia)
						delete(pending, id)
					}
				default:
					add(code, unit, id, dev.String, how, at, v, nil)
				}
				return nil
			})
		if err != nil {
			return err
		}
		return s.auditRecord(ctx, tx, actor, AuditList, "reading", "", patientID,
			fmt.Sprintf("trends of %d days", days))
	})
	if err != nil {
		return Trends{}, err
	}
	slices.Sort(order) // by code: the same order every time
	for _, code := range order {
		sr := series[code]
		for b := range TrendBuckets {
			if p := buckets[key{code, b}]; p != nil {
				sr.Points = append(sr.Points, *p)
			}
		}
		out.Series = append(out.Series, *sr)
	}
	return out, nil
}

// sourceOf says how a reading came: by Bluetooth from the patient's page,
// through the home gateway, typed by the patient, or typed by staff for the
// patient (byOther: submitted by someone else than the patient).
func sourceOf(source, gateway string, byOther bool) string {
	switch {
	case source == "patient-entered" && byOther:
		return "staff"
	case source == "patient-entered":
		return "typed"
	case gateway != "":
		return "gateway"
	}
	return "bluetooth"
}

// getTrends: GET /api/v1/patients/{id}/trends?days=30 for the patient's
// clinicians (as the readings).
func (a *API) getTrends(w http.ResponseWriter, r *http.Request, ps httprouter.Params, p Principal) {
	id := ps.ByName("id")
	if !a.mayRead(w, r, p, id, false) {
		return
	}
	days := DefaultTrendDays
	if s := r.URL.Query().Get("days"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxTrendDays {
			a.problem(w, r, http.StatusBadRequest, fmt.Sprintf("days: want 1 to %d", MaxTrendDays))
			return
		}
		days = n
	}
	t, err := a.store.Trends(r.Context(), p.actor(), id, days, a.cfg.Now())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}
