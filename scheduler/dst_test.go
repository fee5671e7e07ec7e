package scheduler

import (
	"testing"
	"time"
)

// Daylight-saving tables. Europe/Copenhagen springs forward on 2026-03-29
// and 2027-03-28 (02:00 CET -> 03:00 CEST at 01:00Z) and falls back on
// 2026-10-25 and 2027-10-31 (03:00 CEST -> 02:00 CET at 01:00Z); all four are
// Sundays. America/New_York changes on other dates: 2026-03-08 (02:00 EST ->
// 03:00 EDT at 07:00Z) and 2026-11-01 (02:00 EDT -> 01:00 EST at 06:00Z).

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func utc(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v.UTC()
}

func date(s string) Date {
	v, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return Date{Year: v.Year(), Month: v.Month(), Day: v.Day()}
}

func hm(s string) WallClock {
	if s == "24:00" {
		return 24 * 60
	}
	v, err := time.Parse("15:04", s)
	if err != nil {
		panic(err)
	}
	return Clock(v.Hour(), v.Minute())
}

func TestDSTTransitions(t *testing.T) {
	// The facts the tables below rest on, checked against the zone data.
	tests := []struct {
		zone       string
		day        string
		at         string // instant of the change
		before     int    // offset before, hours
		after      int
		dayLengthH int
	}{
		{"Europe/Copenhagen", "2026-03-29", "2026-03-29T01:00:00Z", 1, 2, 23},
		{"Europe/Copenhagen", "2026-10-25", "2026-10-25T01:00:00Z", 2, 1, 25},
		{"Europe/Copenhagen", "2027-03-28", "2027-03-28T01:00:00Z", 1, 2, 23},
		{"Europe/Copenhagen", "2027-10-31", "2027-10-31T01:00:00Z", 2, 1, 25},
		{"America/New_York", "2026-03-08", "2026-03-08T07:00:00Z", -5, -4, 23},
		{"America/New_York", "2026-11-01", "2026-11-01T06:00:00Z", -4, -5, 25},
	}
	for _, tc := range tests {
		t.Run(tc.zone+"/"+tc.day, func(t *testing.T) {
			loc := mustZone(t, tc.zone)
			at := utc(t, tc.at)
			start, _ := at.In(loc).ZoneBounds()
			if !start.Equal(at) {
				t.Errorf("period starts %s, want %s", start.UTC(), at)
			}
			_, before := at.Add(-time.Second).In(loc).Zone()
			_, after := at.In(loc).Zone()
			if before != tc.before*3600 || after != tc.after*3600 {
				t.Errorf("offsets %d -> %d s, want %d -> %d h", before, after, tc.before, tc.after)
			}
			if wd := civil(date(tc.day)).Weekday(); wd != time.Sunday {
				t.Errorf("%s is a %s, want Sunday", tc.day, wd)
			}
			d := date(tc.day)
			got := WallEnd(loc, d, 24*60).Sub(WallStart(loc, d, 0))
			if got != time.Duration(tc.dayLengthH)*time.Hour {
				t.Errorf("day lasts %s, want %dh", got, tc.dayLengthH)
			}
		})
	}
}

// dstCase is one rule on one date and the window it must give; an empty
// start means no window.
type dstCase struct {
	zone, day, from, to string
	start, end          string
	hours               float64
}

var dstCases = []dstCase{
	// Spring, Copenhagen: 02:00-03:00 does not exist.
	{"Europe/Copenhagen", "2026-03-29", "08:00", "16:00", "2026-03-29T06:00:00Z", "2026-03-29T14:00:00Z", 8},
	{"Europe/Copenhagen", "2026-03-29", "00:00", "24:00", "2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z", 23},
	{"Europe/Copenhagen", "2026-03-29", "01:00", "04:00", "2026-03-29T00:00:00Z", "2026-03-29T02:00:00Z", 2},
	{"Europe/Copenhagen", "2026-03-29", "02:30", "04:00", "2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z", 1},
	{"Europe/Copenhagen", "2026-03-29", "01:00", "02:30", "2026-03-29T00:00:00Z", "2026-03-29T01:00:00Z", 1},
	{"Europe/Copenhagen", "2026-03-29", "01:00", "02:00", "2026-03-29T00:00:00Z", "2026-03-29T01:00:00Z", 1},
	{"Europe/Copenhagen", "2026-03-29", "03:00", "04:00", "2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z", 1},
	{"Europe/Copenhagen", "2026-03-29", "02:00", "03:00", "", "", 0},
	{"Europe/Copenhagen", "2026-03-29", "02:15", "02:45", "", "", 0},
	{"Europe/Copenhagen", "2027-03-28", "08:00", "16:00", "2027-03-28T06:00:00Z", "2027-03-28T14:00:00Z", 8},
	{"Europe/Copenhagen", "2027-03-28", "00:00", "24:00", "2027-03-27T23:00:00Z", "2027-03-28T22:00:00Z", 23},
	{"Europe/Copenhagen", "2027-03-28", "01:00", "04:00", "2027-03-28T00:00:00Z", "2027-03-28T02:00:00Z", 2},
	{"Europe/Copenhagen", "2027-03-28", "02:30", "04:00", "2027-03-28T01:00:00Z", "2027-03-28T02:00:00Z", 1},
	{"Europe/Copenhagen", "2027-03-28", "02:00", "03:00", "", "", 0},

	// Autumn, Copenhagen: 02:00-03:00 happens twice, CEST then CET.
	{"Europe/Copenhagen", "2026-10-25", "08:00", "16:00", "2026-10-25T07:00:00Z", "2026-10-25T15:00:00Z", 8},
	{"Europe/Copenhagen", "2026-10-25", "00:00", "24:00", "2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z", 25},
	{"Europe/Copenhagen", "2026-10-25", "01:00", "04:00", "2026-10-24T23:00:00Z", "2026-10-25T03:00:00Z", 4},
	{"Europe/Copenhagen", "2026-10-25", "02:30", "04:00", "2026-10-25T00:30:00Z", "2026-10-25T03:00:00Z", 2.5},
	{"Europe/Copenhagen", "2026-10-25", "01:00", "02:30", "2026-10-24T23:00:00Z", "2026-10-25T01:30:00Z", 2.5},
	{"Europe/Copenhagen", "2026-10-25", "00:00", "02:00", "2026-10-24T22:00:00Z", "2026-10-25T00:00:00Z", 2},
	{"Europe/Copenhagen", "2026-10-25", "02:00", "03:00", "2026-10-25T00:00:00Z", "2026-10-25T02:00:00Z", 2},
	{"Europe/Copenhagen", "2026-10-25", "03:00", "04:00", "2026-10-25T02:00:00Z", "2026-10-25T03:00:00Z", 1},
	{"Europe/Copenhagen", "2026-10-25", "02:00", "02:30", "2026-10-25T00:00:00Z", "2026-10-25T01:30:00Z", 1.5},
	{"Europe/Copenhagen", "2027-10-31", "08:00", "16:00", "2027-10-31T07:00:00Z", "2027-10-31T15:00:00Z", 8},
	{"Europe/Copenhagen", "2027-10-31", "00:00", "24:00", "2027-10-30T22:00:00Z", "2027-10-31T23:00:00Z", 25},
	{"Europe/Copenhagen", "2027-10-31", "01:00", "04:00", "2027-10-30T23:00:00Z", "2027-10-31T03:00:00Z", 4},
	{"Europe/Copenhagen", "2027-10-31", "01:00", "02:30", "2027-10-30T23:00:00Z", "2027-10-31T01:30:00Z", 2.5},

	// New York changes on other Sundays; on Copenhagen's dates it does not.
	{"America/New_York", "2026-03-29", "01:00", "04:00", "2026-03-29T05:00:00Z", "2026-03-29T08:00:00Z", 3},
	{"America/New_York", "2026-03-29", "08:00", "16:00", "2026-03-29T12:00:00Z", "2026-03-29T20:00:00Z", 8},
	{"America/New_York", "2026-10-25", "01:00", "04:00", "2026-10-25T05:00:00Z", "2026-10-25T08:00:00Z", 3},
	{"America/New_York", "2026-03-08", "01:00", "04:00", "2026-03-08T06:00:00Z", "2026-03-08T08:00:00Z", 2},
	{"America/New_York", "2026-03-08", "02:30", "04:00", "2026-03-08T07:00:00Z", "2026-03-08T08:00:00Z", 1},
	{"America/New_York", "2026-03-08", "00:00", "24:00", "2026-03-08T05:00:00Z", "2026-03-09T04:00:00Z", 23},
	{"America/New_York", "2026-11-01", "00:00", "03:00", "2026-11-01T04:00:00Z", "2026-11-01T08:00:00Z", 4},
	{"America/New_York", "2026-11-01", "01:30", "04:00", "2026-11-01T05:30:00Z", "2026-11-01T09:00:00Z", 3.5},
	{"America/New_York", "2026-11-01", "00:00", "24:00", "2026-11-01T04:00:00Z", "2026-11-02T05:00:00Z", 25},
	{"America/New_York", "2026-11-01", "08:00", "16:00", "2026-11-01T13:00:00Z", "2026-11-01T21:00:00Z", 8},
}

// TestDSTWindows checks each case as a Sunday weekly rule and as extra hours
// on the date, which must agree.
func TestDSTWindows(t *testing.T) {
	for _, tc := range dstCases {
		t.Run(tc.zone+"/"+tc.day+"/"+tc.from+"-"+tc.to, func(t *testing.T) {
			d := date(tc.day)
			wd := civil(d).Weekday()
			// Two days either side: exactly one such weekday in range.
			from := civil(d).Add(-48 * time.Hour)
			to := civil(d).Add(72 * time.Hour)
			byRule := Availability{ClinicianID: "c1", Zone: tc.zone,
				Rules: []WeeklyRule{{Weekday: wd, Start: hm(tc.from), End: hm(tc.to)}}}
			byException := Availability{ClinicianID: "c1", Zone: tc.zone,
				Exceptions: []Exception{{ID: "x", Date: d, Kind: ExtraHours, Start: hm(tc.from), End: hm(tc.to)}}}
			for name, avail := range map[string]Availability{"rule": byRule, "extra hours": byException} {
				got, err := Windows(avail, from, to)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if tc.start == "" {
					if len(got) != 0 {
						t.Errorf("%s: windows %v, want none", name, got)
					}
					continue
				}
				want := Interval{Start: utc(t, tc.start), End: utc(t, tc.end)}
				if len(got) != 1 || !got[0].Start.Equal(want.Start) || !got[0].End.Equal(want.End) {
					t.Fatalf("%s: windows %v, want [%v]", name, got, want)
				}
				if h := got[0].End.Sub(got[0].Start).Hours(); h != tc.hours {
					t.Errorf("%s: window lasts %gh, want %gh", name, h, tc.hours)
				}
				if got[0].Start.Location() != time.UTC || got[0].End.Location() != time.UTC {
					t.Errorf("%s: window not in UTC: %v", name, got[0])
				}
			}
		})
	}
}

// TestDSTSlots walks 30-minute slots across a 01:00-04:00 rule on each
// change date.
func TestDSTSlots(t *testing.T) {
	typ := AppointmentType{ID: "t", Duration: 30 * time.Minute, Horizon: 365 * 24 * time.Hour}
	tests := []struct {
		zone, day string
		starts    []string // UTC, HH:MM after the given day's 00:00Z (negative days as full RFC 3339)
	}{
		{"Europe/Copenhagen", "2026-03-29", []string{
			"2026-03-29T00:00:00Z", "2026-03-29T00:30:00Z", // 01:00, 01:30 CET
			"2026-03-29T01:00:00Z", "2026-03-29T01:30:00Z", // 03:00, 03:30 CEST
		}},
		{"Europe/Copenhagen", "2026-10-25", []string{
			"2026-10-24T23:00:00Z", "2026-10-24T23:30:00Z", // 01:00, 01:30 CEST
			"2026-10-25T00:00:00Z", "2026-10-25T00:30:00Z", // 02:00, 02:30 CEST
			"2026-10-25T01:00:00Z", "2026-10-25T01:30:00Z", // 02:00, 02:30 CET
			"2026-10-25T02:00:00Z", "2026-10-25T02:30:00Z", // 03:00, 03:30 CET
		}},
		{"Europe/Copenhagen", "2027-03-28", []string{
			"2027-03-28T00:00:00Z", "2027-03-28T00:30:00Z",
			"2027-03-28T01:00:00Z", "2027-03-28T01:30:00Z",
		}},
		{"Europe/Copenhagen", "2027-10-31", []string{
			"2027-10-30T23:00:00Z", "2027-10-30T23:30:00Z",
			"2027-10-31T00:00:00Z", "2027-10-31T00:30:00Z",
			"2027-10-31T01:00:00Z", "2027-10-31T01:30:00Z",
			"2027-10-31T02:00:00Z", "2027-10-31T02:30:00Z",
		}},
		{"America/New_York", "2026-03-08", []string{
			"2026-03-08T06:00:00Z", "2026-03-08T06:30:00Z", // 01:00, 01:30 EST
			"2026-03-08T07:00:00Z", "2026-03-08T07:30:00Z", // 03:00, 03:30 EDT
		}},
		{"America/New_York", "2026-11-01", []string{
			"2026-11-01T05:00:00Z", "2026-11-01T05:30:00Z", // 01:00, 01:30 EDT
			"2026-11-01T06:00:00Z", "2026-11-01T06:30:00Z", // 01:00, 01:30 EST
			"2026-11-01T07:00:00Z", "2026-11-01T07:30:00Z", // 02:00, 02:30 EST
			"2026-11-01T08:00:00Z", "2026-11-01T08:30:00Z", // 03:00, 03:30 EST
		}},
	}
	for _, tc := range tests {
		t.Run(tc.zone+"/"+tc.day, func(t *testing.T) {
			d := date(tc.day)
			avail := Availability{ClinicianID: "c1", Zone: tc.zone,
				Rules: []WeeklyRule{{Weekday: civil(d).Weekday(), Start: hm("01:00"), End: hm("04:00")}}}
			q := SlotQuery{
				From: civil(d).Add(-48 * time.Hour),
				To:   civil(d).Add(48 * time.Hour),
				Now:  civil(d).Add(-72 * time.Hour),
			}
			got, err := FreeSlots(avail, typ, nil, q)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.starts) {
				t.Fatalf("%d slots %v, want %d", len(got), got, len(tc.starts))
			}
			for i, s := range got {
				want := utc(t, tc.starts[i])
				if !s.Start.Equal(want) || s.End.Sub(s.Start) != 30*time.Minute {
					t.Errorf("slot %d = %s-%s, want %s + 30m", i, s.Start.Format(time.RFC3339), s.End.Format(time.RFC3339), tc.starts[i])
				}
			}
		})
	}
}

// TestDSTSpringGapBooking: 02:30 on 2026-03-29 does not happen in Copenhagen.
// A page asking for it gets 03:00 CEST (WallStart); an RFC 3339 time that
// names 02:30 with an offset is the instant it names.
func TestDSTSpringGapBooking(t *testing.T) {
	cph := mustZone(t, "Europe/Copenhagen")
	d := date("2026-03-29")
	if got, want := WallStart(cph, d, hm("02:30")), utc(t, "2026-03-29T01:00:00Z"); !got.Equal(want) {
		t.Errorf("WallStart(02:30) = %s, want %s (03:00 CEST)", got, want)
	}
	if got, want := WallEnd(cph, d, hm("02:30")), utc(t, "2026-03-29T01:00:00Z"); !got.Equal(want) {
		t.Errorf("WallEnd(02:30) = %s, want %s", got, want)
	}
	if got := WallStart(cph, d, hm("02:30")).In(cph).Format("15:04 MST"); got != "03:00 CEST" {
		t.Errorf("WallStart(02:30) shows %s locally, want 03:00 CEST", got)
	}

	avail := Availability{ClinicianID: "c1", Zone: "Europe/Copenhagen",
		Rules: []WeeklyRule{{Weekday: time.Sunday, Start: hm("02:30"), End: hm("04:00")}}}
	typ := AppointmentType{ID: "t", Duration: 30 * time.Minute, Horizon: 90 * 24 * time.Hour}
	now := utc(t, "2026-03-20T12:00:00Z")
	tests := []struct {
		name  string
		start string
		ok    bool
	}{
		{"02:30 as mapped, 03:00 CEST", WallStart(cph, d, hm("02:30")).Format(time.RFC3339), true},
		{"02:30+01:00 is 03:30 CEST", "2026-03-29T02:30:00+01:00", true},
		{"02:30+02:00 is 01:30 CET, before the window", "2026-03-29T02:30:00+02:00", false},
		{"01:59 CET, before the window", "2026-03-29T01:59:00+01:00", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := utc(t, tc.start)
			err := Within(avail, typ, start, start.Add(30*time.Minute), now)
			if (err == nil) != tc.ok {
				t.Errorf("Within(%s) = %v, want ok %v", tc.start, err, tc.ok)
			}
		})
	}
}

// TestWallClockAgreesWithTimeDate: where a wall time happens exactly once,
// WallStart and WallEnd give what time.Date gives; where it happens twice,
// they give the two occurrences an hour apart; where never, both give the
// end of the gap.
func TestWallClockAgreesWithTimeDate(t *testing.T) {
	for _, zone := range []string{"Europe/Copenhagen", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"} {
		loc := mustZone(t, zone)
		for day := civil(date("2026-01-01")); day.Year() < 2028; day = day.AddDate(0, 0, 1) {
			d := Date{Year: day.Year(), Month: day.Month(), Day: day.Day()}
			for w := WallClock(0); w < 24*60; w += 15 {
				start, end := WallStart(loc, d, w), WallEnd(loc, d, w)
				byDate := time.Date(d.Year, d.Month, d.Day, int(w)/60, int(w)%60, 0, 0, loc)
				shows := func(at time.Time) bool {
					l := at.In(loc)
					return l.Year() == d.Year && l.Month() == d.Month && l.Day() == d.Day && WallClock(l.Hour()*60+l.Minute()) == w
				}
				switch {
				case start.Equal(end) && shows(start):
					// Once, or twice with the window rule taking the first
					// for both (the wall time the clock jumps back to).
					if !byDate.Equal(start) && !(shows(byDate) && byDate.After(start)) {
						t.Fatalf("%s %s %s: WallStart %s, time.Date %s", zone, d, w, start, byDate)
					}
				case start.Equal(end):
					// Never: start is the forward jump, and no instant near it
					// shows the time.
					if from, _ := start.In(loc).ZoneBounds(); !from.Equal(start) {
						t.Fatalf("%s %s %s: mapped to %s, which is no zone change", zone, d, w, start)
					}
					for m := -180; m <= 180; m++ {
						if at := start.Add(time.Duration(m) * time.Minute); shows(at) {
							t.Fatalf("%s %s %s: mapped to the gap end %s but %s shows it", zone, d, w, start, at)
						}
					}
				case start.Before(end):
					if !shows(start) || !shows(end) {
						t.Fatalf("%s %s %s: occurrences %s and %s do not show it", zone, d, w, start, end)
					}
					if gap := end.Sub(start); gap > time.Hour {
						t.Fatalf("%s %s %s: occurrences %s apart", zone, d, w, gap)
					}
				default:
					t.Fatalf("%s %s %s: WallStart %s after WallEnd %s", zone, d, w, start, end)
				}
			}
		}
	}
}

// TestRFC3339Offsets: the same instants written with other offsets give the
// same slots, in UTC.
func TestRFC3339Offsets(t *testing.T) {
	avail := Availability{ClinicianID: "c1", Zone: "Europe/Copenhagen",
		Rules: []WeeklyRule{{Weekday: time.Sunday, Start: hm("01:00"), End: hm("04:00")}}}
	typ := AppointmentType{ID: "t", Duration: 30 * time.Minute, Horizon: 30 * 24 * time.Hour}
	parse := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	spellings := [][3]string{ // from, to, now
		{"2026-10-24T00:00:00Z", "2026-10-26T00:00:00Z", "2026-10-20T00:00:00Z"},
		{"2026-10-24T02:00:00+02:00", "2026-10-26T01:00:00+01:00", "2026-10-20T02:00:00+02:00"},
		{"2026-10-23T20:00:00-04:00", "2026-10-25T19:00:00-05:00", "2026-10-19T20:00:00-04:00"},
		{"2026-10-24T05:45:00+05:45", "2026-10-26T09:30:00+09:30", "2026-10-20T14:00:00+14:00"},
	}
	var first []Slot
	for i, sp := range spellings {
		got, err := FreeSlots(avail, typ, nil, SlotQuery{From: parse(sp[0]), To: parse(sp[1]), Now: parse(sp[2])})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 8 {
			t.Fatalf("spelling %d: %d slots, want 8", i, len(got))
		}
		for _, s := range got {
			if s.Start.Location() != time.UTC || s.End.Location() != time.UTC {
				t.Fatalf("spelling %d: slot %v not in UTC", i, s)
			}
			if f := s.Start.Format(time.RFC3339); f[len(f)-1] != 'Z' {
				t.Fatalf("spelling %d: slot start %s not in Z", i, f)
			}
		}
		if i == 0 {
			first = got
			continue
		}
		for j := range got {
			if got[j] != first[j] {
				t.Errorf("spelling %d: slot %d = %v, want %v", i, j, got[j], first[j])
			}
		}
	}

	// Within reads instants, not spellings.
	for _, s := range []string{"2026-10-25T02:30:00+01:00", "2026-10-25T01:30:00Z", "2026-10-24T21:30:00-04:00"} {
		start := parse(s)
		if err := Within(avail, typ, start, start.Add(30*time.Minute), parse("2026-10-20T00:00:00Z")); err != nil {
			t.Errorf("Within(%s): %v", s, err)
		}
	}
}
