package gatt

import (
	"fmt"
	"time"
)

// DateTime is a GATT Date Time (GATT Specification Supplement, Date Time,
// 0x2A08): the device's wall clock, with no time zone. Year 0 means the
// device does not know the date: such a time stamp counts as no time stamp,
// and DateTime is then the zero value. Month 0 or day 0 means that part is
// unknown; the text form is then a partial FHIR date ("2026", "2026-11").
type DateTime struct {
	Year    uint16 // 1582..9999, 0 = unknown
	Month   uint8  // 1..12, 0 = unknown
	Day     uint8  // 1..31, 0 = unknown
	Hours   uint8  // 0..23
	Minutes uint8  // 0..59
	Seconds uint8  // 0..59
}

// dateTimeLen is the size of a Date Time on the wire.
const dateTimeLen = 7

// IsZero reports whether there is no time stamp (year 0).
func (t DateTime) IsZero() bool { return t.Year == 0 }

// String is "2026-11-26T10:30:00", a partial date when month or day is
// unknown, or "" for no time stamp. It has no zone: it is the device's clock.
func (t DateTime) String() string {
	switch {
	case t.IsZero():
		return ""
	case t.Month == 0:
		return fmt.Sprintf("%04d", t.Year)
	case t.Day == 0:
		return fmt.Sprintf("%04d-%02d", t.Year, t.Month)
	}
	return fmt.Sprintf("%04d-%02d-%02dT%02d:%02d:%02d", t.Year, t.Month, t.Day, t.Hours, t.Minutes, t.Seconds)
}

// MarshalText writes String.
func (t DateTime) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// In reads the device's wall clock as a time in loc. It is false when the
// time stamp is absent or partial.
func (t DateTime) In(loc *time.Location) (time.Time, bool) {
	if t.IsZero() || t.Month == 0 || t.Day == 0 {
		return time.Time{}, false
	}
	return time.Date(int(t.Year), time.Month(t.Month), int(t.Day),
		int(t.Hours), int(t.Minutes), int(t.Seconds), 0, loc), true
}

// check returns the name of the first field out of range, or "".
func (t DateTime) check() string {
	switch {
	case t.Year == 0:
		return ""
	case t.Year < 1582 || t.Year > 9999:
		return "year"
	case t.Month > 12:
		return "month"
	case t.Day > 31 || (t.Month != 0 && t.Day > daysIn(t.Month, t.Year)):
		return "day"
	case t.Hours > 23:
		return "hours"
	case t.Minutes > 59:
		return "minutes"
	case t.Seconds > 59:
		return "seconds"
	}
	return ""
}

func daysIn(month uint8, year uint16) uint8 {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
