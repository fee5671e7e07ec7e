package scheduler

import (
	"fmt"
	"slices"
	"time"
	_ "time/tzdata" // zone rules even where the host has no /usr/share/zoneinfo
)

// Availability is kept as wall-clock times in the clinician's zone; slots and
// bookings are UTC instants. This file turns the one into the other (Windows
// says how), lists free slots and checks bookings.

// Slot is a bookable span [Start, End) in UTC.
type Slot struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// SlotQuery asks for the free slots that start in [From, To).
type SlotQuery struct {
	From time.Time
	To   time.Time
	// Now is the moment of the search, for the minimum notice and the
	// horizon; it must be set.
	Now time.Time
	// Step is the distance between candidate starts, counted in real time
	// from the start of each availability window. Zero means the
	// appointment type's duration.
	Step time.Duration
}

// MaxSlotRange bounds the range of one FreeSlots call or window listing.
const MaxSlotRange = 366 * 24 * time.Hour

// MaxSlotSearch bounds the range of one slot search through the API
// (GET /api/v1/clinicians/{id}/slots): nine weeks, any month or week view
// with room to spare. It is apart from the booking horizon, which says how
// far ahead a search may reach.
const MaxSlotSearch = 63 * 24 * time.Hour

// minStep keeps a slot search from walking a window second by second.
const minStep = time.Minute

// Windows returns the clinician's availability in [from, to) as UTC
// intervals, sorted, merged and clipped to [from, to): for each local date,
// the weekly rules of its weekday and the date's extra hours, less the date's
// absences. An absence wins over extra hours on the same date.
//
// # Wall clock to instant
//
// A window with wall-clock times [Start, End) on a local date covers, in real
// time, the shortest span that holds every instant at which the clinician's
// clock shows a time in [Start, End) on that date. Put as two rules:
//
//   - A window starts at the first instant at which the clock shows Start or
//     later (WallStart). A wall time that happens twice (the doubled autumn
//     hour) starts at its first occurrence; a wall time that never happens
//     (the spring gap) starts when the gap ends.
//   - A window ends at the last instant at which the clock still shows a time
//     before End (WallEnd). A wall time that happens twice ends at its second
//     occurrence; one inside the spring gap ends when the gap begins, which
//     is the same instant as the gap's end.
//
// In Europe/Copenhagen, where 2026-03-29 skips 02:00-03:00 (at 01:00Z) and
// 2026-10-25 repeats 02:00-03:00 (CEST until 01:00Z, then CET):
//
//	rule          2026-03-29 (23 h)              2026-10-25 (25 h)
//	08:00-16:00   06:00Z-14:00Z          8 h     07:00Z-15:00Z          8 h
//	00:00-24:00   28th 23:00Z-22:00Z    23 h     24th 22:00Z-23:00Z    25 h
//	01:00-04:00   00:00Z-02:00Z          2 h     24th 23:00Z-03:00Z     4 h
//	02:30-04:00   01:00Z-02:00Z          1 h     00:30Z-03:00Z        2.5 h
//	01:00-02:30   00:00Z-01:00Z          1 h     24th 23:00Z-01:30Z   2.5 h
//	02:00-03:00   none                           00:00Z-02:00Z          2 h
//
// So a rule is worked as the clock reads it: 01:00-04:00 is 2 real hours in
// spring and 4 in autumn, 08:00-16:00 is 8 hours every day and a whole day
// is 23 or 25 hours. Rules that meet (08:00-12:00, 12:00-16:00) never leave a
// gap between them, and an absence covers every instant its wall times name.
// The price is paid only by a window with both ends inside the doubled hour:
// 02:00-02:30 on 2026-10-25 also covers 02:30-03:00 CEST, 90 minutes in all.
//
// The instants are computed from the zone's offsets and transitions
// (time.Time.ZoneBounds), never from time.Date, which does not promise which
// of two doubled times it returns.
func Windows(avail Availability, from, to time.Time) ([]Interval, error) {
	if to.Before(from) {
		return nil, fmt.Errorf("availability of clinician %s: from %s is after to %s",
			avail.ClinicianID, from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	if to.Sub(from) > MaxSlotRange {
		return nil, fmt.Errorf("availability of clinician %s: range of %s is longer than %s",
			avail.ClinicianID, to.Sub(from), MaxSlotRange)
	}
	z, err := clockOf(avail)
	if err != nil {
		return nil, err
	}
	if !from.Before(to) {
		return []Interval{}, nil
	}
	ws := z.windows(avail, from, to)
	if ws == nil {
		ws = []Interval{}
	}
	for i := range ws {
		ws[i].Start = latest(ws[i].Start, from).UTC()
		ws[i].End = earliest(ws[i].End, to).UTC()
	}
	return ws, nil
}

// FreeSlots returns the slots of appointment type typ that start in
// [q.From, q.To) and are free: candidate starts s walk each availability
// window from its start in steps of q.Step (real time, so the grid keeps its
// pace across a daylight-saving change; see Windows for how wall-clock rules
// become windows), and s is kept when
//
//   - [s, s+typ.Duration) lies inside the window,
//   - [s-typ.BufferBefore, s+typ.Duration+typ.BufferAfter) overlaps no busy
//     interval (busy holds the other appointments' occupied spans, their own
//     buffers included: Appointment.Occupied),
//   - s >= q.Now+typ.MinNotice and, when typ has a horizon,
//     s <= q.Now+typ.Horizon.
//
// Slots are in UTC and sorted. A range longer than MaxSlotRange is refused.
func FreeSlots(avail Availability, typ AppointmentType, busy []Interval, q SlotQuery) ([]Slot, error) {
	if err := typ.validate(); err != nil {
		return nil, err
	}
	if q.Now.IsZero() {
		return nil, fmt.Errorf("free slots of clinician %s: no time of the search (Now)", avail.ClinicianID)
	}
	if q.To.Before(q.From) {
		return nil, fmt.Errorf("free slots of clinician %s: from %s is after to %s",
			avail.ClinicianID, q.From.Format(time.RFC3339), q.To.Format(time.RFC3339))
	}
	if q.To.Sub(q.From) > MaxSlotRange {
		return nil, fmt.Errorf("free slots of clinician %s: range of %s is longer than %s",
			avail.ClinicianID, q.To.Sub(q.From), MaxSlotRange)
	}
	step := q.Step
	if step == 0 {
		step = typ.Duration
	}
	if step < minStep {
		return nil, fmt.Errorf("free slots of clinician %s: step %s is shorter than %s",
			avail.ClinicianID, step, minStep)
	}
	z, err := clockOf(avail)
	if err != nil {
		return nil, err
	}

	first := latest(q.From, q.Now.Add(typ.MinNotice))
	last := q.To // exclusive
	if typ.Horizon > 0 {
		// Starts up to and including Now+Horizon.
		last = earliest(last, q.Now.Add(typ.Horizon).Add(1))
	}
	if !first.Before(last) {
		return []Slot{}, nil
	}
	wins := z.windows(avail, first, last.Add(typ.Duration))
	occupied := merge(slices.Clone(busy))

	// The walk counts in nanoseconds after first, which keeps time.Time
	// arithmetic out of the loop; spans beyond ±292 years saturate, which
	// keeps their order.
	base := first.UTC()
	ns := func(t time.Time) int64 { return int64(t.Sub(base)) }
	dur, before, after, st := int64(typ.Duration), int64(typ.BufferBefore), int64(typ.BufferAfter), int64(step)
	end := ns(last) // exclusive
	busyNs := make([][2]int64, len(occupied))
	for i, o := range occupied {
		busyNs[i] = [2]int64{ns(o.Start), ns(o.End)}
	}

	var room time.Duration
	for _, w := range wins {
		room += w.End.Sub(w.Start)
	}
	slots := make([]Slot, 0, int(room/step)+1)
	bi := 0 // busyNs[:bi] end before every span still to be checked
	for _, w := range wins {
		ws, we := ns(w.Start), ns(w.End)
		s := ws
		if s < 0 {
			s = ws + (-ws+st-1)/st*st // the first grid start at or after first
		}
		for s <= we-dur {
			if s >= end {
				return slots, nil
			}
			lo, hi := s-before, s+dur+after
			for bi < len(busyNs) && busyNs[bi][1] <= lo {
				bi++
			}
			if bi < len(busyNs) && busyNs[bi][0] < hi {
				// Skip to the first grid start whose buffer clears this one.
				clear := busyNs[bi][1]
				if clear > we-dur-before {
					break
				}
				s = ws + (clear+before-ws+st-1)/st*st
				continue
			}
			start := base.Add(time.Duration(s))
			slots = append(slots, Slot{Start: start, End: start.Add(typ.Duration)})
			s += st
		}
	}
	return slots, nil
}

// Within is the check a booking of [start, end) made at now must pass: it
// lies inside one availability window, starts at least typ.MinNotice after
// now and, when typ has a horizon, at most typ.Horizon after now. Starts need
// not sit on the slot grid. A refused booking gets an error that wraps
// ErrUnprocessable and carries a plain reason (see Reason), such as "less than
// 2h0m0s notice". Broken availability data gives an error that does not.
func Within(avail Availability, typ AppointmentType, start, end, now time.Time) error {
	if err := typ.validate(); err != nil {
		return err
	}
	if now.IsZero() {
		return fmt.Errorf("booking check for clinician %s: no time of the booking (now)", avail.ClinicianID)
	}
	if !start.Before(end) {
		return because(ErrUnprocessable, "the end is not after the start")
	}
	if start.Before(now.Add(typ.MinNotice)) {
		if typ.MinNotice <= 0 {
			return because(ErrUnprocessable, "starts in the past")
		}
		return because(ErrUnprocessable, "less than %s notice", typ.MinNotice)
	}
	if typ.Horizon > 0 && start.After(now.Add(typ.Horizon)) {
		return because(ErrUnprocessable, "beyond the %s booking horizon", horizonText(typ.Horizon))
	}
	if end.Sub(start) > MaxSlotRange {
		return because(ErrUnprocessable, "outside the clinician's availability")
	}
	z, err := clockOf(avail)
	if err != nil {
		return err
	}
	for _, w := range z.windows(avail, start, end) {
		if !w.Start.After(start) && !w.End.Before(end) {
			return nil
		}
	}
	return because(ErrUnprocessable, "outside the clinician's availability")
}

// WallStart returns the instant at which a window starting at wall-clock time
// w on date d in loc starts: the first instant at which the clock shows w or
// later. 02:30 on 2026-03-29 in Europe/Copenhagen, inside the spring gap,
// gives 03:00 CEST (01:00Z); 02:30 on 2026-10-25 gives the first 02:30, CEST
// (00:30Z).
func WallStart(loc *time.Location, d Date, w WallClock) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	z := newZoneClock(loc)
	return z.start(naive(d, w))
}

// WallEnd returns the instant at which a window ending at wall-clock time w
// on date d in loc ends: the last instant at which the clock still shows a
// time before w. 02:30 on 2026-03-29 in Europe/Copenhagen gives the end of
// the gap (01:00Z); 02:30 on 2026-10-25 gives the second 02:30, CET (01:30Z).
func WallEnd(loc *time.Location, d Date, w WallClock) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	z := newZoneClock(loc)
	return z.end(naive(d, w))
}

// validate checks the lengths of an appointment type.
func (t AppointmentType) validate() error {
	switch {
	case t.Duration <= 0:
		return fmt.Errorf("appointment type %q: duration %s is not positive", t.ID, t.Duration)
	case t.BufferBefore < 0 || t.BufferAfter < 0:
		return fmt.Errorf("appointment type %q: negative buffer", t.ID)
	case t.MinNotice < 0:
		return fmt.Errorf("appointment type %q: negative minimum notice", t.ID)
	case t.Horizon < 0:
		return fmt.Errorf("appointment type %q: negative horizon", t.ID)
	}
	return nil
}

// horizonText says 90*24h as "90-day".
func horizonText(h time.Duration) string {
	const day = 24 * time.Hour
	if h%day == 0 {
		return fmt.Sprintf("%d-day", h/day)
	}
	return h.String()
}

// clockOf loads the zone of an availability; an empty zone is DefaultZone.
// It also checks the rules and exceptions, so that a bad one is reported
// rather than skipped.
func clockOf(avail Availability) (*zoneClock, error) {
	name := avail.Zone
	if name == "" {
		name = DefaultZone
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("availability of clinician %s: zone %q: %w", avail.ClinicianID, name, err)
	}
	for i, r := range avail.Rules {
		if r.Weekday < time.Sunday || r.Weekday > time.Saturday {
			return nil, fmt.Errorf("availability of clinician %s: rule %d: weekday %d", avail.ClinicianID, i, r.Weekday)
		}
		if !validSpan(r.Start, r.End) {
			return nil, fmt.Errorf("availability of clinician %s: rule %d: %s-%s is not a span of one day",
				avail.ClinicianID, i, r.Start, r.End)
		}
	}
	for _, e := range avail.Exceptions {
		if e.Kind != Absence && e.Kind != ExtraHours {
			return nil, fmt.Errorf("availability of clinician %s: exception %s: kind %q", avail.ClinicianID, e.ID, e.Kind)
		}
		if !validSpan(e.Start, e.End) {
			return nil, fmt.Errorf("availability of clinician %s: exception %s: %s-%s is not a span of one day",
				avail.ClinicianID, e.ID, e.Start, e.End)
		}
		if y, m, d := civil(e.Date).Date(); y != e.Date.Year || m != e.Date.Month || d != e.Date.Day {
			return nil, fmt.Errorf("availability of clinician %s: exception %s: no date %s", avail.ClinicianID, e.ID, e.Date)
		}
	}
	return newZoneClock(loc), nil
}

func validSpan(start, end WallClock) bool { return 0 <= start && start < end && end <= 24*60 }

// windows returns the merged availability windows that overlap [from, to),
// unclipped, so that a slot grid can start at a window's real start.
func (z *zoneClock) windows(avail Availability, from, to time.Time) []Interval {
	// A window of date d lies within the hull of the instants whose local
	// date is d, so the local dates of from and to bound the dates to
	// visit; the day before from's covers a midnight that repeats.
	d0 := localDate(from.In(z.loc)).AddDate(0, 0, -1)
	d1 := localDate(to.In(z.loc))

	var byDay [7][]WeeklyRule
	for _, r := range avail.Rules {
		byDay[r.Weekday] = append(byDay[r.Weekday], r)
	}
	var extra, absent []Interval
	for _, e := range avail.Exceptions {
		d := civil(e.Date)
		if d.Before(d0) || d.After(d1) {
			continue
		}
		iv := Interval{Start: z.start(d.Add(time.Duration(e.Start) * time.Minute)), End: z.end(d.Add(time.Duration(e.End) * time.Minute))}
		if !iv.Start.Before(iv.End) {
			continue
		}
		if e.Kind == Absence {
			absent = append(absent, iv)
		} else {
			extra = append(extra, iv)
		}
	}

	var open []Interval
	for d := d0; !d.After(d1); d = d.AddDate(0, 0, 1) {
		for _, r := range byDay[d.Weekday()] {
			iv := Interval{Start: z.start(d.Add(time.Duration(r.Start) * time.Minute)), End: z.end(d.Add(time.Duration(r.End) * time.Minute))}
			if iv.Start.Before(iv.End) {
				open = append(open, iv)
			}
		}
	}
	open = subtract(merge(append(open, extra...)), merge(absent))

	out := open[:0]
	for _, w := range open {
		if w.End.After(from) && w.Start.Before(to) {
			out = append(out, w)
		}
	}
	return out
}

// zoneClock turns wall-clock times of one zone into instants. Wall-clock
// times are "naive": a time.Time in UTC whose fields are read as the local
// clock. It remembers the last zone period it looked up, so a range of dates
// costs one lookup per period rather than one per wall time. It is not safe
// for concurrent use; each call of the package makes its own.
type zoneClock struct {
	loc *time.Location
	// The cached period: offset (seconds east of UTC) holds in [from, until);
	// a zero bound is unbounded.
	from, until time.Time
	offset      int
	cached      bool
}

func newZoneClock(loc *time.Location) *zoneClock { return &zoneClock{loc: loc} }

// Offsets span -12h to +14h, so the instants that show a naive time n lie
// within reach of n.
const reach = 15 * time.Hour

// occurrence is an instant that shows a given wall time, with the period it
// falls in.
type occurrence struct {
	at         time.Time
	periodFrom time.Time // start of its offset period; zero if unbounded
	prevOffset int       // offset just before periodFrom
}

// resolve returns the instants whose wall clock reads n, earliest first
// (none, one or two: occ[:k]), and, when there are none, the instant of the
// forward jump that skips n.
func (z *zoneClock) resolve(n time.Time) (occ [2]occurrence, k int, gap time.Time) {
	lo, hi := n.Add(-reach), n.Add(reach)
	if z.cached && inPeriod(lo, z.from, z.until) && inPeriod(hi, z.from, z.until) {
		occ[0].at = n.Add(-time.Duration(z.offset) * time.Second)
		return occ, 1, time.Time{}
	}
	t := lo
	prevOffset, havePrev := 0, false
	for {
		local := t.In(z.loc)
		_, off := local.Zone()
		from, until := local.ZoneBounds()
		z.from, z.until, z.offset, z.cached = from, until, off, true

		at := n.Add(-time.Duration(off) * time.Second)
		if inPeriod(at, from, until) && k < len(occ) {
			o := occurrence{at: at, periodFrom: from, prevOffset: prevOffset}
			if at.Equal(from) && !havePrev {
				// The period began before lo; fetch the offset before it.
				_, o.prevOffset = from.Add(-1).In(z.loc).Zone()
			}
			occ[k] = o
			k++
		}
		if havePrev && k == 0 && gap.IsZero() && off > prevOffset {
			// A forward jump at from: the clock went from from+prevOffset
			// straight to from+off.
			before := from.Add(time.Duration(prevOffset) * time.Second)
			after := from.Add(time.Duration(off) * time.Second)
			if !n.Before(before) && n.Before(after) {
				gap = from
			}
		}
		if until.IsZero() || !until.Before(hi) {
			break
		}
		prevOffset, havePrev = off, true
		t = until
	}
	return occ, k, gap
}

// start returns the first instant at which the clock shows n or later.
func (z *zoneClock) start(n time.Time) time.Time {
	occ, k, gap := z.resolve(n)
	if k == 0 {
		return gap
	}
	return occ[0].at
}

// end returns the last instant at which the clock still shows a time before
// n: the latest occurrence of n that the clock reaches counting up, not by
// jumping back.
func (z *zoneClock) end(n time.Time) time.Time {
	occ, k, gap := z.resolve(n)
	for i := k - 1; i >= 0; i-- {
		o := occ[i]
		if i == 0 || !o.at.Equal(o.periodFrom) {
			return o.at
		}
		off := int(n.Sub(o.at) / time.Second)
		if o.prevOffset < off {
			return o.at
		}
	}
	return gap
}

func inPeriod(t, from, until time.Time) bool {
	return (from.IsZero() || !t.Before(from)) && (until.IsZero() || t.Before(until))
}

// naive returns wall-clock time w on date d as a naive time.
func naive(d Date, w WallClock) time.Time {
	return civil(d).Add(time.Duration(w) * time.Minute)
}

// civil returns midnight of d as a naive time.
func civil(d Date) time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC) }

// localDate returns the local date of t (already in its zone) as naive midnight.
func localDate(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// merge sorts intervals and joins those that overlap or touch, dropping empty
// ones. It reuses the memory of ivs.
func merge(ivs []Interval) []Interval {
	ivs = slices.DeleteFunc(ivs, func(iv Interval) bool { return !iv.Start.Before(iv.End) })
	byStart := func(a, b Interval) int { return a.Start.Compare(b.Start) }
	if !slices.IsSortedFunc(ivs, byStart) {
		slices.SortFunc(ivs, byStart)
	}
	out := ivs[:0]
	for _, iv := range ivs {
		if n := len(out); n > 0 && !iv.Start.After(out[n-1].End) {
			out[n-1].End = latest(out[n-1].End, iv.End)
			continue
		}
		out = append(out, iv)
	}
	return out
}

// subtract returns a less b; both are sorted and merged.
func subtract(a, b []Interval) []Interval {
	var out []Interval
	j := 0
	for _, iv := range a {
		for j < len(b) && !b[j].End.After(iv.Start) {
			j++
		}
		cur := iv
		for k := j; k < len(b) && b[k].Start.Before(cur.End); k++ {
			if b[k].Start.After(cur.Start) {
				out = append(out, Interval{Start: cur.Start, End: b[k].Start})
			}
			if b[k].End.After(cur.Start) {
				cur.Start = b[k].End
			}
		}
		if cur.Start.Before(cur.End) {
			out = append(out, cur)
		}
	}
	return out
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
