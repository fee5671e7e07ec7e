package scheduler

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"vclinic/internal/callquality"
	"vclinic/internal/records"
)

// The clinic's review statistics ("eftersyn"), for admins: per department,
// clinician, appointment type, week or month, figures only.
//
// What is counted. A visit belongs to the group and period of its start,
// read in the clinic's zone (DefaultZone, Europe/Copenhagen): days, weeks
// (ISO 8601, Monday to Sunday) and months by the local calendar, so the
// week of a change to or from summer time lasts 167 or 169 hours.
//
//   - booked: visits in the period, in any status but entered-in-error;
//   - held: fulfilled; cancelled; noShows: noshow (NoShowAfter);
//   - wait: from the patient's first arrival in the waiting room to the
//     first admission (appointment_history arrived -> checked-in);
//   - length: from the first admission to the end (checked-in ->
//     fulfilled);
//   - measuredShare: of the held visits whose appointment expected
//     measurements from the home kit, the share where each arrived between
//     the booking and the start (KitFigures.Prepared);
//   - readingsPerPatient: the median, over the patients with a visit in
//     the group, of their home-kit readings in the group's span (the
//     period of a week or month, else the whole range asked for);
//   - quality: medians over the visits with a quality record of the
//     patient's round-trip time and packet loss (package callquality).
//
// Medians and 90th percentiles are nearest-rank: the smallest value with
// at least that share of the values at or below it (Hyndman & Fan 1996,
// definition 1), so every figure is one that was measured.
//
// Small numbers are suppressed (StatsMinCount): a count of 1-4 visits is
// given as null and named in the group's suppressedFields, and so is any
// figure drawn from fewer than StatsMinCount visits or patients, or a share
// whose part or remainder is 1-4 visits. A zero names nobody and is shown.
// So that a suppressed count cannot be had back as a difference within its
// group (booked minus the other counts), a group with exactly one of held,
// cancelled and noShows suppressed has the smallest of the other two
// suppressed too. There is no total row, so a column cannot be summed back
// either. What suppression does not prevent is differencing two queries
// (two periods, or two groupings of one period): the page is for admins,
// who may read the audit log and the records themselves, and shows no
// identities; every query is on the audit log.

// StatsMinCount is the smallest count the statistics show.
const StatsMinCount = 5

// Groupings of the statistics.
const (
	ByDepartment = "department"
	ByClinician  = "clinician"
	ByType       = "type"
	ByWeek       = "week"
	ByMonth      = "month"
)

// StatsGroupings lists the groupings in the order the page offers them.
var StatsGroupings = []string{ByDepartment, ByClinician, ByType, ByWeek, ByMonth}

// maxStatsDays bounds the range of one query, in days.
const maxStatsDays = 366

// StatsQuery asks for the statistics of the days From to To, both included,
// in the clinic's zone, grouped By.
type StatsQuery struct {
	From, To Date
	By       string
}

// KitFigures is what the statistics need of the home kit; cmd wires the
// home kit's store to it (the scheduler does not import it).
type KitFigures interface {
	// Prepared answers, of the visits given, those whose appointment
	// expected measurements (expected) and those where every one of them
	// arrived in [Since, Start) of the visit (complete).
	Prepared(ctx context.Context, visits []VisitWindow) (expected, complete map[string]bool, err error)
	// ReadingCounts counts each patient's readings observed in each span
	// [edges[i], edges[i+1]), by patient id.
	ReadingCounts(ctx context.Context, edges []time.Time) (map[string][]int, error)
}

// VisitWindow is a visit as KitFigures.Prepared sees it: its appointment,
// patient, and the span in which measurements count as sent before it.
type VisitWindow struct {
	AppointmentID string
	PatientID     string
	Since, Start  time.Time
}

// StatsReport is the answer to Stats.
type StatsReport struct {
	From     string       `json:"from"`
	To       string       `json:"to"`
	By       string       `json:"by"`
	Zone     string       `json:"zone"`
	MinCount int          `json:"minCount"`
	Groups   []StatsGroup `json:"groups"`
}

// StatsGroup is the figures of one group. A nil figure is unknown (no
// visit measured it) or suppressed (named in SuppressedFields).
type StatsGroup struct {
	Key   string `json:"key"`
	Label string `json:"label"`
	// Names are a department's or appointment type's names in Danish and
	// English, when the clinic has them.
	Names *Names `json:"names,omitempty"`
	// Start, End and Hours are a week's or month's span (local midnight
	// to local midnight, cut to the range asked for).
	Start *time.Time `json:"start,omitempty"`
	End   *time.Time `json:"end,omitempty"`
	Hours int        `json:"hours,omitempty"`

	Booked              *int     `json:"booked"`
	Held                *int     `json:"held"`
	Cancelled           *int     `json:"cancelled"`
	NoShows             *int     `json:"noShows"`
	WaitMedianSeconds   *int64   `json:"waitMedianSeconds"`
	WaitP90Seconds      *int64   `json:"waitP90Seconds"`
	LengthMedianSeconds *int64   `json:"lengthMedianSeconds"`
	LengthP90Seconds    *int64   `json:"lengthP90Seconds"`
	MeasuredShare       *float64 `json:"measuredShare"`
	ReadingsPerPatient  *float64 `json:"readingsPerPatient"`
	RTTMsMedian         *float64 `json:"rttMsMedian"`
	LossPctMedian       *float64 `json:"lossPctMedian"`

	Suppressed       bool     `json:"suppressed"`
	SuppressedFields []string `json:"suppressedFields"`
}

// statsVisit is one visit as the statistics read it.
type statsVisit struct {
	id, patient, clinician, typeID string
	start, created                 time.Time
	status                         Status
	arrived, admitted, ended       time.Time // zero when it never happened
}

// groupAcc collects one group's visits.
type groupAcc struct {
	g              StatsGroup
	from, to       time.Time // the span readings are counted in
	span           int       // its index among the reading spans
	booked, held   int
	cancelled, nos int
	waits, lengths []int64
	expected, done int
	patients       map[string]bool
	rtts, losses   []float64
}

// Stats answers the review statistics of q for an admin (others
// ErrForbidden); kit may be nil (no home kit: those figures stay null).
// The query is on the audit log.
func (s *Store) Stats(ctx context.Context, actor Actor, q StatsQuery, kit KitFigures) (StatsReport, error) {
	if err := checkActor(actor); err != nil {
		return StatsReport{}, err
	}
	if actor.Role != RoleAdmin {
		return StatsReport{}, because(ErrForbidden, "only admins read the clinic's statistics")
	}
	if !slices.Contains(StatsGroupings, q.By) {
		return StatsReport{}, because(ErrUnprocessable, "by: want one of %s", strings.Join(StatsGroupings, ", "))
	}
	loc, err := s.location(DefaultZone)
	if err != nil {
		return StatsReport{}, err
	}
	from := time.Date(q.From.Year, q.From.Month, q.From.Day, 0, 0, 0, 0, loc)
	to := time.Date(q.To.Year, q.To.Month, q.To.Day, 0, 0, 0, 0, loc).AddDate(0, 0, 1) // the day after To
	days := int(math.Round(to.Sub(from).Hours() / 24))
	switch {
	case to.Before(from.AddDate(0, 0, 1)):
		return StatsReport{}, because(ErrUnprocessable, "to: %s is before from %s", q.To, q.From)
	case days > maxStatsDays:
		return StatsReport{}, because(ErrUnprocessable, "to: at most %d days from from", maxStatsDays)
	}
	rep := StatsReport{From: q.From.String(), To: q.To.String(), By: q.By, Zone: DefaultZone, MinCount: StatsMinCount, Groups: []StatsGroup{}}

	var (
		visits     []statsVisit
		clinicians = map[string]Clinician{}
		types      = map[string]AppointmentType{}
		settings   Settings
		quality    = map[string][]*callquality.Record{}
	)
	err = s.db.InTx(ctx, "statistics", func(tx *sql.Tx) error {
		// Room for every visit at once: a year of a large clinic is
		// 100,000 visits, and growing the slice as they come would copy
		// them many times over.
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM appointments WHERE start_at >= $1 AND start_at < $2`,
			s.ts(from), s.ts(to)).Scan(&n); err != nil {
			return err
		}
		visits = make([]statsVisit, 0, n)
		if settings, err = readSettings(ctx, tx); err != nil {
			return err
		}
		if err := records.QueryRows(ctx, tx, `SELECT `+clinicianColumns+` FROM clinicians`, nil, func(r *sql.Rows) error {
			c, err := scanClinician(r)
			clinicians[c.ID] = c
			return err
		}); err != nil {
			return err
		}
		if err := records.QueryRows(ctx, tx, `SELECT id, name, name_da, name_en FROM appointment_types`, nil, func(r *sql.Rows) error {
			var t AppointmentType
			err := r.Scan(&t.ID, &t.Name, &t.Names.DA, &t.Names.EN)
			types[t.ID] = t
			return err
		}); err != nil {
			return err
		}
		// One row per visit, with the first arrival, admission and end
		// its status history put on it (writeHistory).
		err := records.QueryRows(ctx, tx, `SELECT a.id, a.patient_id, a.clinician_id, a.type_id, a.start_at, a.created_at, a.status,
				a.arrived_at, a.admitted_at, a.ended_at
			FROM appointments a
			WHERE a.start_at >= $1 AND a.start_at < $2 AND a.status <> 'entered-in-error'`, []any{s.ts(from), s.ts(to)}, func(r *sql.Rows) error {
			var v statsVisit
			var typeID sql.NullString
			var status string
			err := r.Scan(&v.id, &v.patient, &v.clinician, &typeID, records.Time(&v.start), records.Time(&v.created), &status,
				nullTime{&v.arrived}, nullTime{&v.admitted}, nullTime{&v.ended})
			v.typeID, v.status = typeID.String, Status(status)
			visits = append(visits, v)
			return err
		})
		if err != nil {
			return err
		}
		err = records.QueryRows(ctx, tx, `SELECT q.appointment_id, q.record FROM visit_quality q JOIN appointments a ON a.id = q.appointment_id
			WHERE a.start_at >= $1 AND a.start_at < $2 AND q.role = $3`, []any{s.ts(from), s.ts(to), RolePatient}, func(r *sql.Rows) error {
			var id, raw string
			if err := r.Scan(&id, &raw); err != nil {
				return err
			}
			if rec, err := callquality.Decode([]byte(raw)); err == nil {
				quality[id] = append(quality[id], rec)
			}
			return nil
		})
		if err != nil {
			return err
		}
		return s.auditRecord(ctx, tx, actor, AuditList, "statistics", "", "",
			fmt.Sprintf("%s to %s by %s: %d visits", q.From, q.To, q.By, len(visits)))
	})
	if err != nil {
		return StatsReport{}, fmt.Errorf("statistics: %w", err)
	}

	// The groups, and the spans readings are counted in.
	edges := []time.Time{from, to}
	groups := map[string]*groupAcc{}
	var order []*groupAcc
	add := func(key, label string, names *Names, span int, gf, gt time.Time) *groupAcc {
		g := &groupAcc{g: StatsGroup{Key: key, Label: label, Names: names, SuppressedFields: []string{}}, from: gf, to: gt, span: span, patients: map[string]bool{}}
		groups[key] = g
		order = append(order, g)
		return g
	}
	var periodOf func(t time.Time) *groupAcc
	if q.By == ByWeek || q.By == ByMonth {
		edges = edges[:1]
		var periods []*groupAcc
		for start := from; start.Before(to); {
			var key string
			var next time.Time
			if q.By == ByWeek {
				y, w := start.ISOWeek()
				key = fmt.Sprintf("%04d-W%02d", y, w)
				// The next local Monday (ISO 8601 weeks start on Monday).
				next = start.AddDate(0, 0, (8-int(start.Weekday()))%7)
				if next.Equal(start) {
					next = start.AddDate(0, 0, 7)
				}
			} else {
				key = fmt.Sprintf("%04d-%02d", start.Year(), start.Month())
				next = time.Date(start.Year(), start.Month()+1, 1, 0, 0, 0, 0, loc)
			}
			if next.After(to) {
				next = to
			}
			g := add(key, key, nil, len(edges)-1, start, next)
			st, en := start.UTC(), next.UTC()
			g.g.Start, g.g.End, g.g.Hours = &st, &en, int(next.Sub(start).Hours())
			periods = append(periods, g)
			edges = append(edges, next)
			start = next
		}
		periodOf = func(t time.Time) *groupAcc {
			i, _ := slices.BinarySearchFunc(periods, t, func(g *groupAcc, t time.Time) int {
				if !g.to.After(t) {
					return -1
				}
				if g.from.After(t) {
					return 1
				}
				return 0
			})
			return periods[i]
		}
	}
	deptNames := map[string]Names{}
	for _, d := range settings.Departments {
		deptNames[d.ID] = d.Names
	}
	lang := settings.Language
	groupOf := func(v statsVisit) *groupAcc {
		if periodOf != nil {
			return periodOf(v.start)
		}
		var key, label string
		var names *Names
		switch q.By {
		case ByClinician:
			key, label = v.clinician, clinicians[v.clinician].Name
		case ByDepartment:
			key = clinicians[v.clinician].Department
			label = key
			if n, ok := deptNames[key]; ok {
				names, label = &n, n.In(lang)
			}
		case ByType:
			key = v.typeID
			if t, ok := types[key]; ok {
				n := t.Names
				names, label = &n, t.Name
				if n.In(lang) != "" {
					label = n.In(lang)
				}
			}
		}
		if g := groups[key]; g != nil {
			return g
		}
		return add(key, label, names, 0, from, to)
	}

	var windows []VisitWindow
	groupByID := make(map[string]*groupAcc, len(visits))
	for _, v := range visits {
		g := groupOf(v)
		groupByID[v.id] = g
		g.booked++
		switch v.status {
		case StatusFulfilled:
			g.held++
			windows = append(windows, VisitWindow{AppointmentID: v.id, PatientID: v.patient, Since: v.created, Start: v.start})
		case StatusCancelled:
			g.cancelled++
		case StatusNoShow:
			g.nos++
		}
		if v.status != StatusCancelled {
			g.patients[v.patient] = true
		}
		if !v.arrived.IsZero() && !v.admitted.IsZero() && !v.admitted.Before(v.arrived) {
			g.waits = append(g.waits, int64(v.admitted.Sub(v.arrived)/time.Second))
		}
		if !v.admitted.IsZero() && !v.ended.IsZero() && !v.ended.Before(v.admitted) {
			g.lengths = append(g.lengths, int64(v.ended.Sub(v.admitted)/time.Second))
		}
		if recs := quality[v.id]; len(recs) > 0 {
			slices.SortFunc(recs, func(a, b *callquality.Record) int { return a.Start.Compare(b.Start) })
			for _, r := range recs[1:] {
				recs[0].Merge(r)
			}
			sum := recs[0].Summary()
			if sum.RTTMs != nil {
				g.rtts = append(g.rtts, *sum.RTTMs)
			}
			if sum.LossPct != nil {
				g.losses = append(g.losses, *sum.LossPct)
			}
		}
	}
	var readings map[string][]int
	if kit != nil {
		expected, complete, err := kit.Prepared(ctx, windows)
		if err != nil {
			return StatsReport{}, fmt.Errorf("statistics: measurements before visits: %w", err)
		}
		for _, w := range windows {
			if !expected[w.AppointmentID] {
				continue
			}
			g := groupByID[w.AppointmentID]
			g.expected++
			if complete[w.AppointmentID] {
				g.done++
			}
		}
		if readings, err = kit.ReadingCounts(ctx, edges); err != nil {
			return StatsReport{}, fmt.Errorf("statistics: readings: %w", err)
		}
	}
	for _, g := range order {
		g.finish(readings, kit != nil)
		rep.Groups = append(rep.Groups, g.g)
	}
	if periodOf == nil {
		slices.SortStableFunc(rep.Groups, func(a, b StatsGroup) int {
			return strings.Compare(strings.ToLower(a.Label), strings.ToLower(b.Label))
		})
	}
	return rep, nil
}

// finish turns a group's collected visits into its figures, suppressing
// small numbers (see the top of this file). readings are the patients'
// reading counts by span; withKit says the home kit's figures were asked.
func (g *groupAcc) finish(readings map[string][]int, withKit bool) {
	out := &g.g
	suppress := func(name string) {
		out.Suppressed = true
		out.SuppressedFields = append(out.SuppressedFields, name)
	}
	count := func(name string, n int) *int {
		if n > 0 && n < StatsMinCount {
			suppress(name)
			return nil
		}
		return &n
	}
	out.Booked = count("booked", g.booked)
	out.Held = count("held", g.held)
	out.Cancelled = count("cancelled", g.cancelled)
	out.NoShows = count("noShows", g.nos)
	// Complementary suppression: with one of the three parts of booked
	// hidden, booked minus the other two would give it back.
	parts := []struct {
		name string
		p    **int
		n    int
	}{{"held", &out.Held, g.held}, {"cancelled", &out.Cancelled, g.cancelled}, {"noShows", &out.NoShows, g.nos}}
	hidden := 0
	for _, p := range parts {
		if *p.p == nil {
			hidden++
		}
	}
	if hidden == 1 && out.Booked != nil {
		var smallest *struct {
			name string
			p    **int
			n    int
		}
		for i := range parts {
			if *parts[i].p != nil && (smallest == nil || parts[i].n < smallest.n) {
				smallest = &parts[i]
			}
		}
		*smallest.p = nil
		suppress(smallest.name)
	}
	spread := func(name string, xs []int64, med, p90 **int64) {
		if len(xs) == 0 {
			return
		}
		if len(xs) < StatsMinCount {
			suppress(name)
			return
		}
		slices.Sort(xs)
		m, p := nearestRank(xs, 0.5), nearestRank(xs, 0.9)
		*med, *p90 = &m, &p
	}
	spread("wait", g.waits, &out.WaitMedianSeconds, &out.WaitP90Seconds)
	spread("length", g.lengths, &out.LengthMedianSeconds, &out.LengthP90Seconds)
	median := func(name string, xs []float64) *float64 {
		if len(xs) == 0 {
			return nil
		}
		if len(xs) < StatsMinCount {
			suppress(name)
			return nil
		}
		slices.Sort(xs)
		m := nearestRank(xs, 0.5)
		return &m
	}
	out.RTTMsMedian = median("rttMsMedian", g.rtts)
	out.LossPctMedian = median("lossPctMedian", g.losses)
	if !withKit {
		return
	}
	if g.expected > 0 {
		missing := g.expected - g.done
		if g.expected < StatsMinCount || g.done > 0 && g.done < StatsMinCount || missing > 0 && missing < StatsMinCount {
			suppress("measuredShare")
		} else {
			share := float64(g.done) / float64(g.expected)
			out.MeasuredShare = &share
		}
	}
	var counts []float64
	for p := range g.patients {
		n := 0
		if c := readings[p]; g.span < len(c) {
			n = c[g.span]
		}
		counts = append(counts, float64(n))
	}
	out.ReadingsPerPatient = median("readingsPerPatient", counts)
}

// nearestRank returns the p-quantile of sorted xs by the nearest-rank
// method (Hyndman & Fan 1996, definition 1): the ceil(p*n)-th smallest.
func nearestRank[T int64 | float64](xs []T, p float64) T {
	i := int(math.Ceil(p*float64(len(xs)))) - 1
	return xs[max(i, 0)]
}

// nullTime scans a timestamp column that may be NULL into the zero time.
type nullTime struct{ t *time.Time }

func (n nullTime) Scan(v any) error {
	if v == nil {
		*n.t = time.Time{}
		return nil
	}
	return records.Time(n.t).Scan(v)
}
