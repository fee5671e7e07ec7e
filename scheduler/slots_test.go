package scheduler

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// weekdays is the usual week: Monday to Friday 08:00-15:30 with a lunch gap.
func weekdays(zone string) Availability {
	a := Availability{ClinicianID: "c1", Zone: zone}
	for wd := time.Monday; wd <= time.Friday; wd++ {
		a.Rules = append(a.Rules,
			WeeklyRule{Weekday: wd, Start: hm("08:00"), End: hm("11:30")},
			WeeklyRule{Weekday: wd, Start: hm("12:00"), End: hm("15:30")})
	}
	return a
}

func spans(t *testing.T, ivs []Interval) string {
	t.Helper()
	var b strings.Builder
	for i, iv := range ivs {
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString(iv.Start.Format("01-02T15:04") + "/" + iv.End.Format("15:04"))
	}
	return b.String()
}

func TestWindows(t *testing.T) {
	// 2026-01-12 is a Monday; Copenhagen keeps CET (UTC+1) all week.
	week := [2]string{"2026-01-12T00:00:00+01:00", "2026-01-19T00:00:00+01:00"}
	full := "01-12T07:00/10:30 01-12T11:00/14:30 01-13T07:00/10:30 01-13T11:00/14:30 " +
		"01-14T07:00/10:30 01-14T11:00/14:30 01-15T07:00/10:30 01-15T11:00/14:30 " +
		"01-16T07:00/10:30 01-16T11:00/14:30"
	tests := []struct {
		name       string
		exceptions []Exception
		from, to   string
		want       string
	}{
		{name: "week", want: full},
		{name: "clipped to the range", from: "2026-01-12T09:00:00Z", to: "2026-01-12T12:00:00Z",
			want: "01-12T09:00/10:30 01-12T11:00/12:00"},
		{name: "range inside the lunch gap", from: "2026-01-12T10:30:00Z", to: "2026-01-12T11:00:00Z", want: ""},
		{name: "empty range", from: "2026-01-12T09:00:00Z", to: "2026-01-12T09:00:00Z", want: ""},
		{name: "absence for a whole day",
			exceptions: []Exception{{ID: "a", Date: date("2026-01-13"), Kind: Absence, Start: 0, End: 24 * 60}},
			want:       strings.Replace(full, "01-13T07:00/10:30 01-13T11:00/14:30 ", "", 1)},
		{name: "absence for part of a day",
			exceptions: []Exception{{ID: "a", Date: date("2026-01-14"), Kind: Absence, Start: hm("09:00"), End: hm("10:00")}},
			from:       "2026-01-14T00:00:00Z", to: "2026-01-15T00:00:00Z",
			want: "01-14T07:00/08:00 01-14T09:00/10:30 01-14T11:00/14:30"},
		{name: "absence across the lunch gap",
			exceptions: []Exception{{ID: "a", Date: date("2026-01-15"), Kind: Absence, Start: hm("11:00"), End: hm("13:00")}},
			from:       "2026-01-15T00:00:00Z", to: "2026-01-16T00:00:00Z",
			want: "01-15T07:00/10:00 01-15T12:00/14:30"},
		{name: "extra hours on a Sunday",
			exceptions: []Exception{{ID: "x", Date: date("2026-01-18"), Kind: ExtraHours, Start: hm("10:00"), End: hm("12:00")}},
			want:       full + " 01-18T09:00/11:00"},
		{name: "extra hours filling the lunch gap",
			exceptions: []Exception{{ID: "x", Date: date("2026-01-12"), Kind: ExtraHours, Start: hm("11:30"), End: hm("12:00")}},
			from:       "2026-01-12T00:00:00Z", to: "2026-01-13T00:00:00Z",
			want: "01-12T07:00/14:30"},
		{name: "absence wins over extra hours",
			exceptions: []Exception{
				{ID: "x", Date: date("2026-01-18"), Kind: ExtraHours, Start: hm("10:00"), End: hm("12:00")},
				{ID: "a", Date: date("2026-01-18"), Kind: Absence, Start: 0, End: 24 * 60},
			},
			want: full},
		{name: "exceptions outside the range do nothing",
			exceptions: []Exception{
				{ID: "a", Date: date("2026-02-10"), Kind: Absence, Start: 0, End: 24 * 60},
				{ID: "x", Date: date("2025-12-28"), Kind: ExtraHours, Start: 0, End: 24 * 60},
			},
			want: full},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			avail := weekdays("Europe/Copenhagen")
			avail.Exceptions = tc.exceptions
			from, to := week[0], week[1]
			if tc.from != "" {
				from, to = tc.from, tc.to
			}
			got, err := Windows(avail, utc(t, from), utc(t, to))
			if err != nil {
				t.Fatal(err)
			}
			if got == nil {
				t.Error("Windows returned nil, want an empty slice")
			}
			if s := spans(t, got); s != tc.want {
				t.Errorf("windows\n got %s\nwant %s", s, tc.want)
			}
		})
	}
}

func TestWindowsDefaultZone(t *testing.T) {
	a, b := weekdays(""), weekdays(DefaultZone)
	from, to := utc(t, "2026-06-01T00:00:00Z"), utc(t, "2026-06-08T00:00:00Z")
	x, err := Windows(a, from, to)
	if err != nil {
		t.Fatal(err)
	}
	y, err := Windows(b, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if spans(t, x) != spans(t, y) || len(x) != 10 {
		t.Errorf("empty zone gave %s, want %s", spans(t, x), spans(t, y))
	}
}

func TestWindowsErrors(t *testing.T) {
	from, to := utc(t, "2026-01-12T00:00:00Z"), utc(t, "2026-01-19T00:00:00Z")
	tests := []struct {
		name     string
		change   func(*Availability)
		from, to time.Time
		want     string
	}{
		{"from after to", nil, to, from, "is after"},
		{"range too long", nil, from, from.Add(MaxSlotRange + time.Hour), "longer than"},
		{"unknown zone", func(a *Availability) { a.Zone = "Europe/Atlantis" }, from, to, "Europe/Atlantis"},
		{"rule ending before it starts", func(a *Availability) { a.Rules[0].End = a.Rules[0].Start }, from, to, "rule 0"},
		{"rule past midnight", func(a *Availability) { a.Rules[1].End = 24*60 + 30 }, from, to, "rule 1"},
		{"rule on weekday 7", func(a *Availability) { a.Rules[2].Weekday = 7 }, from, to, "weekday 7"},
		{"exception of no kind", func(a *Availability) {
			a.Exceptions = []Exception{{ID: "e1", Date: date("2026-01-13"), Kind: "holiday", Start: 0, End: 60}}
		}, from, to, `kind "holiday"`},
		{"exception on 30 February", func(a *Availability) {
			a.Exceptions = []Exception{{ID: "e1", Date: Date{2026, 2, 30}, Kind: Absence, Start: 0, End: 60}}
		}, from, to, "no date 2026-02-30"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			avail := weekdays("Europe/Copenhagen")
			if tc.change != nil {
				tc.change(&avail)
			}
			_, err := Windows(avail, tc.from, tc.to)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one containing %q", err, tc.want)
			}
			if errors.Is(err, ErrUnprocessable) {
				t.Errorf("err = %v wraps ErrUnprocessable; broken data is not the booker's fault", err)
			}
		})
	}
}

func TestFreeSlots(t *testing.T) {
	// Monday 2026-01-12, 08:00-10:00 CET = 07:00Z-09:00Z.
	avail := Availability{ClinicianID: "c1", Zone: "Europe/Copenhagen",
		Rules: []WeeklyRule{{Weekday: time.Monday, Start: hm("08:00"), End: hm("10:00")}}}
	base := AppointmentType{ID: "t", Duration: 30 * time.Minute, MinNotice: 2 * time.Hour, Horizon: 90 * 24 * time.Hour}
	withBuffers := base
	withBuffers.BufferBefore, withBuffers.BufferAfter = 10*time.Minute, 5*time.Minute
	shortHorizon := base
	shortHorizon.Horizon = 24 * time.Hour

	day := "2026-01-12T"
	iv := func(a, b string) Interval { return Interval{Start: utc(t, day+a+":00Z"), End: utc(t, day+b+":00Z")} }
	tests := []struct {
		name     string
		typ      AppointmentType
		busy     []Interval
		from, to string // HH:MM on the day; empty for the whole day
		now      string // RFC 3339; empty for a week before
		step     time.Duration
		want     string // UTC starts
	}{
		{name: "grid of the duration", typ: base, want: "07:00 07:30 08:00 08:30"},
		{name: "step of 20 minutes", typ: base, step: 20 * time.Minute, want: "07:00 07:20 07:40 08:00 08:20"},
		{name: "busy on the grid", typ: base, busy: []Interval{iv("07:30", "08:00")}, want: "07:00 08:00 08:30"},
		{name: "busy off the grid", typ: base, busy: []Interval{iv("07:10", "07:40")}, want: "08:00 08:30"},
		{name: "busy unsorted and overlapping", typ: base,
			busy: []Interval{iv("08:00", "08:10"), iv("07:00", "07:20"), iv("07:10", "07:40")}, want: "08:30"},
		{name: "busy outside the window", typ: base, busy: []Interval{iv("06:00", "07:00"), iv("09:00", "10:00")},
			want: "07:00 07:30 08:00 08:30"},
		{name: "buffers touching busy", typ: withBuffers, busy: []Interval{iv("07:35", "08:05")}, want: "07:00 08:30"},
		{name: "buffers one minute into busy", typ: withBuffers, busy: []Interval{iv("07:34", "08:05")}, want: "08:30"},
		{name: "buffer after touching the next busy", typ: withBuffers, busy: []Interval{iv("08:35", "09:00")},
			want: "07:00 07:30 08:00"},
		{name: "minimum notice on the grid", typ: base, now: day + "05:30:00Z", want: "07:30 08:00 08:30"},
		{name: "minimum notice off the grid", typ: base, now: day + "05:40:00Z", want: "08:00 08:30"},
		{name: "minimum notice past the window", typ: base, now: day + "07:00:00Z", want: ""},
		{name: "horizon includes its last instant", typ: shortHorizon, now: "2026-01-11T08:00:00Z", want: "07:00 07:30 08:00"},
		{name: "from inside the window keeps the grid", typ: base, from: "07:15", to: "23:00", want: "07:30 08:00 08:30"},
		{name: "to excludes a start at to", typ: base, from: "00:00", to: "08:00", want: "07:00 07:30"},
		{name: "a slot may end after to", typ: base, from: "00:00", to: "08:15", want: "07:00 07:30 08:00"},
		{name: "step longer than the window", typ: base, step: 3 * time.Hour, want: "07:00"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := SlotQuery{From: utc(t, day+"00:00:00Z"), To: utc(t, "2026-01-13T00:00:00Z"),
				Now: utc(t, "2026-01-05T00:00:00Z"), Step: tc.step}
			if tc.from != "" {
				q.From, q.To = utc(t, day+tc.from+":00Z"), utc(t, day+tc.to+":00Z")
			}
			if tc.now != "" {
				q.Now = utc(t, tc.now)
			}
			got, err := FreeSlots(avail, tc.typ, tc.busy, q)
			if err != nil {
				t.Fatal(err)
			}
			if got == nil {
				t.Fatal("FreeSlots returned nil, want an empty slice")
			}
			var starts []string
			for _, s := range got {
				if s.End.Sub(s.Start) != tc.typ.Duration {
					t.Errorf("slot %v lasts %s", s, s.End.Sub(s.Start))
				}
				if s.Start.Location() != time.UTC {
					t.Errorf("slot %v not in UTC", s)
				}
				starts = append(starts, s.Start.Format("15:04"))
			}
			if g := strings.Join(starts, " "); g != tc.want {
				t.Errorf("starts %q, want %q", g, tc.want)
			}
		})
	}
}

func TestFreeSlotsAcrossMergedWindows(t *testing.T) {
	// Two rules that meet are one window: the grid runs on across 12:00.
	avail := Availability{ClinicianID: "c1", Zone: "Europe/Copenhagen", Rules: []WeeklyRule{
		{Weekday: time.Monday, Start: hm("11:00"), End: hm("12:00")},
		{Weekday: time.Monday, Start: hm("12:00"), End: hm("13:00")},
	}}
	typ := AppointmentType{ID: "t", Duration: 45 * time.Minute, Horizon: 30 * 24 * time.Hour}
	got, err := FreeSlots(avail, typ, nil, SlotQuery{
		From: utc(t, "2026-01-12T00:00:00Z"), To: utc(t, "2026-01-13T00:00:00Z"), Now: utc(t, "2026-01-01T00:00:00Z")})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10:00", "10:45"} // 11:00 and 11:45 CET; 12:30 would end after 13:00
	if len(got) != len(want) {
		t.Fatalf("slots %v, want starts %v", got, want)
	}
	for i, s := range got {
		if f := s.Start.Format("15:04"); f != want[i] {
			t.Errorf("slot %d starts %s, want %s", i, f, want[i])
		}
	}
}

func TestFreeSlotsErrors(t *testing.T) {
	avail := weekdays("Europe/Copenhagen")
	typ := AppointmentType{ID: "t", Duration: 30 * time.Minute, Horizon: 90 * 24 * time.Hour}
	from := utc(t, "2026-01-12T00:00:00Z")
	noHorizon := typ
	noHorizon.Horizon = 0
	zero := typ
	zero.Duration = 0
	negative := typ
	negative.BufferAfter = -time.Minute
	tests := []struct {
		name string
		typ  AppointmentType
		q    SlotQuery
		want string
	}{
		{"from after to", typ, SlotQuery{From: from, To: from.Add(-time.Hour), Now: from}, "is after"},
		{"range longer than a year without a horizon", noHorizon, SlotQuery{From: from, To: from.Add(400 * 24 * time.Hour), Now: from}, "longer than 8784h"},
		{"zero duration", zero, SlotQuery{From: from, To: from.Add(time.Hour), Now: from}, "duration"},
		{"negative buffer", negative, SlotQuery{From: from, To: from.Add(time.Hour), Now: from}, "buffer"},
		{"step under a minute", typ, SlotQuery{From: from, To: from.Add(time.Hour), Now: from, Step: time.Second}, "step"},
		{"no time of the search", typ, SlotQuery{From: from, To: from.Add(time.Hour)}, "Now"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := FreeSlots(avail, tc.typ, nil, tc.q)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
	bad := avail
	bad.Zone = "Mars/Olympus_Mons"
	if _, err := FreeSlots(bad, typ, nil, SlotQuery{From: from, To: from.Add(time.Hour), Now: from}); err == nil {
		t.Error("unknown zone: no error")
	}
}

func TestWithin(t *testing.T) {
	avail := weekdays("Europe/Copenhagen")
	avail.Exceptions = []Exception{
		{ID: "a", Date: date("2026-01-13"), Kind: Absence, Start: 0, End: 24 * 60},
		{ID: "x", Date: date("2026-01-18"), Kind: ExtraHours, Start: hm("10:00"), End: hm("12:00")},
	}
	typ := AppointmentType{ID: "t", Duration: 30 * time.Minute, MinNotice: 2 * time.Hour, Horizon: 90 * 24 * time.Hour}
	noNotice := typ
	noNotice.MinNotice = 0
	monday := utc(t, "2026-01-12T00:00:00Z") // windows 07:00Z-10:30Z, 11:00Z-14:30Z
	// 2026-04-13 is a Monday in CEST: windows 06:00Z-09:30Z, 10:00Z-13:30Z.
	april := utc(t, "2026-04-13T06:00:00Z")
	const outside = "outside the clinician's availability"
	tests := []struct {
		name       string
		typ        AppointmentType
		start, end string
		now        time.Time
		want       string // reason; empty for nil
	}{
		{"at the window's start", typ, "2026-01-12T07:00:00Z", "2026-01-12T07:30:00Z", monday, ""},
		{"at the window's end", typ, "2026-01-12T10:00:00Z", "2026-01-12T10:30:00Z", monday, ""},
		{"off the grid", typ, "2026-01-12T07:07:00Z", "2026-01-12T07:37:00Z", monday, ""},
		{"a minute past the window's end", typ, "2026-01-12T10:01:00Z", "2026-01-12T10:31:00Z", monday, outside},
		{"a minute before the window's start", typ, "2026-01-12T06:59:00Z", "2026-01-12T07:29:00Z", monday, outside},
		{"across the lunch gap", typ, "2026-01-12T10:15:00Z", "2026-01-12T11:15:00Z", monday, outside},
		{"on a Saturday", typ, "2026-01-17T09:00:00Z", "2026-01-17T09:30:00Z", monday, outside},
		{"on a day of absence", typ, "2026-01-13T09:00:00Z", "2026-01-13T09:30:00Z", monday, outside},
		{"in extra hours on a Sunday", typ, "2026-01-18T09:00:00Z", "2026-01-18T09:30:00Z", monday, ""},
		{"given with another offset", typ, "2026-01-12T08:00:00+01:00", "2026-01-12T03:30:00-04:00", monday, ""},
		{"at exactly the minimum notice", typ, "2026-01-12T07:00:00Z", "2026-01-12T07:30:00Z", utc(t, "2026-01-12T05:00:00Z"), ""},
		{"a second short of the minimum notice", typ, "2026-01-12T07:00:00Z", "2026-01-12T07:30:00Z", utc(t, "2026-01-12T05:00:01Z"), "less than 2h0m0s notice"},
		{"in the past without a notice", noNotice, "2026-01-12T07:00:00Z", "2026-01-12T07:30:00Z", utc(t, "2026-01-12T07:00:01Z"), "starts in the past"},
		{"at exactly the horizon", typ, "2026-04-13T06:00:00Z", "2026-04-13T06:30:00Z", april.Add(-90 * 24 * time.Hour), ""},
		{"a second beyond the horizon", typ, "2026-04-13T06:00:00Z", "2026-04-13T06:30:00Z", april.Add(-90*24*time.Hour - time.Second), "beyond the 90-day booking horizon"},
		{"ending before it starts", typ, "2026-01-12T07:30:00Z", "2026-01-12T07:00:00Z", monday, "the end is not after the start"},
		{"of no length", typ, "2026-01-12T07:30:00Z", "2026-01-12T07:30:00Z", monday, "the end is not after the start"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start, err := time.Parse(time.RFC3339, tc.start)
			if err != nil {
				t.Fatal(err)
			}
			end, err := time.Parse(time.RFC3339, tc.end)
			if err != nil {
				t.Fatal(err)
			}
			err = Within(avail, tc.typ, start, end, tc.now)
			if tc.want == "" {
				if err != nil {
					t.Errorf("Within = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrUnprocessable) {
				t.Fatalf("Within = %v, want ErrUnprocessable", err)
			}
			if got := Reason(err); got != tc.want {
				t.Errorf("reason %q, want %q", got, tc.want)
			}
		})
	}

	bad := avail
	bad.Zone = "Nowhere/Nothing"
	err := Within(bad, typ, utc(t, "2026-01-12T07:00:00Z"), utc(t, "2026-01-12T07:30:00Z"), monday)
	if err == nil || errors.Is(err, ErrUnprocessable) {
		t.Errorf("unknown zone: err = %v, want an error that is not ErrUnprocessable", err)
	}
	err = Within(avail, typ, utc(t, "2026-01-12T07:00:00Z"), utc(t, "2026-01-12T07:30:00Z"), time.Time{})
	if err == nil || errors.Is(err, ErrUnprocessable) {
		t.Errorf("zero now: err = %v, want an error that is not ErrUnprocessable", err)
	}
}

// TestWithinAgreesWithFreeSlots: every free slot passes Within.
func TestWithinAgreesWithFreeSlots(t *testing.T) {
	avail := weekdays("Europe/Copenhagen")
	avail.Rules = append(avail.Rules, WeeklyRule{Weekday: time.Sunday, Start: hm("01:00"), End: hm("04:00")})
	typ := AppointmentType{ID: "t", Duration: 25 * time.Minute, MinNotice: time.Hour, Horizon: 90 * 24 * time.Hour}
	now := utc(t, "2026-09-20T10:17:00Z")
	slots, err := FreeSlots(avail, typ, nil, SlotQuery{From: now, To: now.Add(typ.Horizon), Now: now, Step: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if len(slots) < 1000 {
		t.Fatalf("only %d slots", len(slots))
	}
	for _, s := range slots {
		if err := Within(avail, typ, s.Start, s.End, now); err != nil {
			t.Fatalf("slot %v: %v", s, err)
		}
	}
}

// TestFreeSlotsMatchesBruteForce compares FreeSlots with a plain walk over
// random availability, bookings, buffers and steps around the autumn change.
func TestFreeSlotsMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	total := 0
	for round := range 300 {
		avail := Availability{ClinicianID: "c1", Zone: "Europe/Copenhagen"}
		for range 1 + rng.IntN(8) {
			start := WallClock(rng.IntN(24*60-15) / 15 * 15)
			end := start + WallClock(15+rng.IntN(int(24*60-start)/15)*15)
			avail.Rules = append(avail.Rules, WeeklyRule{Weekday: time.Weekday(rng.IntN(7)), Start: start, End: min(end, 24*60)})
		}
		for range rng.IntN(3) {
			d := civil(date("2026-10-19")).AddDate(0, 0, rng.IntN(14))
			kind := Absence
			if rng.IntN(2) == 0 {
				kind = ExtraHours
			}
			avail.Exceptions = append(avail.Exceptions, Exception{ID: "e", Date: Date{d.Year(), d.Month(), d.Day()},
				Kind: kind, Start: Clock(rng.IntN(12), 0), End: Clock(12+rng.IntN(12), 30)})
		}
		typ := AppointmentType{ID: "t",
			Duration:     time.Duration(10+rng.IntN(50)) * time.Minute,
			BufferBefore: time.Duration(rng.IntN(3)*5) * time.Minute,
			BufferAfter:  time.Duration(rng.IntN(3)*5) * time.Minute,
			MinNotice:    time.Duration(rng.IntN(48)) * time.Hour,
			Horizon:      time.Duration(7+rng.IntN(14)) * 24 * time.Hour,
		}
		now := utc(t, "2026-10-19T00:00:00Z").Add(time.Duration(rng.IntN(72*60)) * time.Minute)
		q := SlotQuery{From: now.Add(time.Duration(rng.IntN(48)) * time.Hour), Now: now,
			Step: time.Duration(5+rng.IntN(40)) * time.Minute}
		q.To = q.From.Add(time.Duration(1+rng.IntN(int(typ.Horizon/time.Hour)-48)) * time.Hour)
		left := q.From.Add(-30 * 24 * time.Hour)
		wide, err := Windows(avail, left, q.To.Add(48*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(wide) > 0 && wide[0].Start.Equal(left) {
			continue // a window clipped here would move the grid
		}
		var busy []Interval
		for range rng.IntN(12) {
			if len(wide) == 0 {
				break
			}
			w := wide[rng.IntN(len(wide))]
			s := w.Start.Add(time.Duration(rng.Int64N(int64(w.End.Sub(w.Start)))))
			busy = append(busy, Interval{Start: s, End: s.Add(time.Duration(5+rng.IntN(90)) * time.Minute)})
		}

		var want []Slot
		for _, w := range wide {
			for s := w.Start; !s.Add(typ.Duration).After(w.End); s = s.Add(q.Step) {
				if s.Before(q.From) || !s.Before(q.To) || s.Before(now.Add(typ.MinNotice)) || s.After(now.Add(typ.Horizon)) {
					continue
				}
				span := Interval{Start: s.Add(-typ.BufferBefore), End: s.Add(typ.Duration + typ.BufferAfter)}
				free := true
				for _, b := range busy {
					free = free && !span.Overlaps(b)
				}
				if free {
					want = append(want, Slot{Start: s.UTC(), End: s.Add(typ.Duration).UTC()})
				}
			}
		}
		got, err := FreeSlots(avail, typ, busy, q)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if len(got) != len(want) {
			t.Fatalf("round %d: %d slots, want %d\n got %v\nwant %v", round, len(got), len(want), got, want)
		}
		for i := range got {
			if !got[i].Start.Equal(want[i].Start) || !got[i].End.Equal(want[i].End) {
				t.Fatalf("round %d: slot %d = %v, want %v", round, i, got[i], want[i])
			}
		}
		total += len(got)
	}
	t.Logf("%d slots compared", total)
	if total < 3000 {
		t.Errorf("only %d slots in all rounds; the comparison says little", total)
	}
}

// benchClinicians builds n clinicians with the usual week, a day off and a
// partial absence every few weeks, and about ten bookings a week.
func benchClinicians(n int, from time.Time, days int) ([]Availability, [][]Interval) {
	rng := rand.New(rand.NewPCG(1, 2))
	typ := AppointmentType{Duration: 20 * time.Minute, BufferAfter: 5 * time.Minute}
	avails := make([]Availability, n)
	busy := make([][]Interval, n)
	for c := range n {
		a := weekdays("Europe/Copenhagen")
		a.ClinicianID = fmt.Sprintf("c%d", c)
		for w := 0; w < days/7; w += 3 {
			d := from.AddDate(0, 0, 7*w+rng.IntN(5))
			a.Exceptions = append(a.Exceptions,
				Exception{ID: fmt.Sprint(w), Date: Date{d.Year(), d.Month(), d.Day()}, Kind: Absence, Start: 0, End: 24 * 60})
			d = d.AddDate(0, 0, 2)
			a.Exceptions = append(a.Exceptions,
				Exception{ID: fmt.Sprint(w, "p"), Date: Date{d.Year(), d.Month(), d.Day()}, Kind: Absence, Start: hm("13:00"), End: hm("15:30")})
		}
		avails[c] = a
		ws, err := Windows(a, from, from.AddDate(0, 0, days))
		if err != nil {
			panic(err)
		}
		for range days * 10 / 7 {
			w := ws[rng.IntN(len(ws))]
			room := w.End.Sub(w.Start) - typ.Duration
			if room <= 0 {
				continue
			}
			start := w.Start.Add(time.Duration(rng.Int64N(int64(room/time.Minute))) * time.Minute)
			busy[c] = append(busy[c], Appointment{Start: start, End: start.Add(typ.Duration), BufferAfter: typ.BufferAfter}.Occupied())
		}
	}
	return avails, busy
}

// BenchmarkFreeSlots90Days50Clinicians: one op is a 90-day free-slot search
// for each of 50 clinicians (goal: 20 ms per op).
func BenchmarkFreeSlots90Days50Clinicians(b *testing.B) {
	now := time.Date(2026, 9, 1, 6, 0, 0, 0, time.UTC) // spans the October change
	avails, busy := benchClinicians(50, now, 90)
	typ := AppointmentType{ID: "t", Duration: 20 * time.Minute, BufferAfter: 5 * time.Minute,
		MinNotice: 2 * time.Hour, Horizon: 90 * 24 * time.Hour}
	q := SlotQuery{From: now, To: now.Add(typ.Horizon), Now: now}
	slots := 0
	b.ReportAllocs()
	for b.Loop() {
		slots = 0
		for c := range avails {
			got, err := FreeSlots(avails[c], typ, busy[c], q)
			if err != nil {
				b.Fatal(err)
			}
			slots += len(got)
		}
	}
	b.ReportMetric(float64(slots), "slots/op")
}
