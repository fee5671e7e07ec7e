package scheduler

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"vclinic/internal/records"
)

// Settings are the clinic's own: its name and telephone number as patients
// see them, the language patients read unless they chose their own, when
// reminders go out, its opening hours (when readings are watched), its
// departments and how far ahead a visit may be booked. Admins change them
// through the API; every node reads them from the records, so a change takes
// effect without a restart.
type Settings struct {
	Name string `json:"name"`
	// Phone is the number patients call, E.164 (ITU-T E.164: "+", the
	// country code, at most 15 digits in all); "" when none is given.
	Phone string `json:"phone"`
	// Language is the default language of patients: "da" or "en".
	Language string `json:"language"`
	// Reminders are how long before a visit its reminders go out, as Go
	// durations ("24h", "1h"), longest first.
	Reminders []string `json:"reminders"`
	// Hours are the clinic's opening hours, in the clinic's zone
	// (DefaultZone), when staff watch what patients send.
	Hours WeekHours `json:"hours"`
	// Departments name the clinic's departments in Danish and English.
	Departments []Department `json:"departments"`
	// HorizonDays is how far ahead a visit may be booked when its
	// appointment type says nothing else.
	HorizonDays int `json:"horizonDays"`
	// GuestsByPatient lets patients invite a relative or an interpreter to
	// their own visits by e-mail or SMS; staff always may.
	GuestsByPatient bool `json:"guestsByPatient"`
	// Version counts changes; a PUT that names an older one is refused,
	// so that two admins never overwrite each other unknowingly.
	Version   int       `json:"version"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Names are a text in the clinic's two languages.
type Names struct {
	DA string `json:"da,omitempty"`
	EN string `json:"en,omitempty"`
}

// In returns the text in lang, else in the other language.
func (n Names) In(lang string) string {
	if lang == "en" && n.EN != "" || n.DA == "" {
		return n.EN
	}
	return n.DA
}

// Department is one of the clinic's departments.
type Department struct {
	ID    string `json:"id"`
	Names Names  `json:"names"`
}

// OpenSpan is one span of opening hours, "08:00" to "15:30" (24:00 is
// midnight at the end of the day).
type OpenSpan struct {
	Open  string `json:"open"`
	Close string `json:"close"`
}

// WeekHours are opening hours by weekday; a day without spans is closed.
type WeekHours struct {
	Monday    []OpenSpan `json:"monday"`
	Tuesday   []OpenSpan `json:"tuesday"`
	Wednesday []OpenSpan `json:"wednesday"`
	Thursday  []OpenSpan `json:"thursday"`
	Friday    []OpenSpan `json:"friday"`
	Saturday  []OpenSpan `json:"saturday"`
	Sunday    []OpenSpan `json:"sunday"`
}

// Day returns the spans of weekday d.
func (h *WeekHours) Day(d time.Weekday) *[]OpenSpan {
	return [...]*[]OpenSpan{&h.Sunday, &h.Monday, &h.Tuesday, &h.Wednesday, &h.Thursday, &h.Friday, &h.Saturday}[d]
}

// OpenAt reports whether the clinic is open at instant t in zone loc.
func (h WeekHours) OpenAt(t time.Time, loc *time.Location) bool {
	t = t.In(loc)
	m := WallClock(t.Hour()*60 + t.Minute())
	for _, s := range *h.Day(t.Weekday()) {
		open, _ := parseClock("open", s.Open)
		close, _ := parseClock("close", s.Close)
		if open <= m && m < close {
			return true
		}
	}
	return false
}

// Limits of the settings.
const (
	maxReminders    = 6
	minReminder     = 5 * time.Minute
	maxReminder     = 30 * 24 * time.Hour
	maxDepartments  = 100
	maxSpansPerDay  = 4
	minHorizonDays  = 1
	maxHorizonDays  = 2 * 366
	defaultSettings = `{"name":"vclinic","phone":"","reminders":["24h","1h"],"horizonDays":180,"departments":[],
		"hours":{"monday":[{"open":"08:00","close":"15:30"}],"tuesday":[{"open":"08:00","close":"15:30"}],
		"wednesday":[{"open":"08:00","close":"15:30"}],"thursday":[{"open":"08:00","close":"15:30"}],
		"friday":[{"open":"08:00","close":"14:00"}],"saturday":[],"sunday":[]}}`
)

// e164 is an E.164 number as written in data: "+", a country code that does
// not start with 0, at most 15 digits in all (ITU-T E.164 §6).
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{5,14}$`)

// Languages are the languages the clinic's pages and messages speak.
var Languages = []string{"da", "en"}

// Validate says what is wrong with the settings, field by field, and puts
// reminders longest first.
func (st *Settings) Validate() error {
	st.Name = strings.TrimSpace(st.Name)
	st.Phone = strings.Join(strings.Fields(st.Phone), "")
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	switch {
	case st.Name == "":
		bad("name: required")
	case records.CheckText(st.Name, maxName) != "":
		bad("name: %s", records.CheckText(st.Name, maxName))
	}
	if st.Phone != "" && !e164.MatchString(st.Phone) {
		bad("phone: want an E.164 number, + and the country code, e.g. +4570112233")
	}
	if !slices.Contains(Languages, st.Language) {
		bad("language: want da or en")
	}
	if len(st.Reminders) > maxReminders {
		bad("reminders: at most %d", maxReminders)
	}
	var offsets []time.Duration
	for _, r := range st.Reminders {
		d, err := time.ParseDuration(r)
		if err != nil || d < minReminder || d > maxReminder {
			bad("reminders: %q: want a duration from %v to %v, e.g. 24h or 1h30m", r, minReminder, maxReminder)
			continue
		}
		if slices.Contains(offsets, d) {
			bad("reminders: %q given twice", r)
			continue
		}
		offsets = append(offsets, d)
	}
	slices.SortFunc(offsets, func(a, b time.Duration) int { return int((b - a) / time.Millisecond) })
	st.Reminders = make([]string, len(offsets))
	for i, d := range offsets {
		st.Reminders[i] = shortDuration(d)
	}
	for d := time.Sunday; d <= time.Saturday; d++ {
		day := st.Hours.Day(d)
		if *day == nil {
			*day = []OpenSpan{}
		}
		if err := checkSpans(*day); err != "" {
			bad("hours: %s: %s", strings.ToLower(d.String()), err)
		}
	}
	if st.Departments == nil {
		st.Departments = []Department{}
	}
	if len(st.Departments) > maxDepartments {
		bad("departments: at most %d", maxDepartments)
	}
	seen := map[string]bool{}
	for i, d := range st.Departments {
		switch {
		case !records.ValidID(d.ID):
			bad("departments[%d].id: want 1-64 letters, digits, - or _", i)
		case seen[d.ID]:
			bad("departments[%d].id: %s given twice", i, d.ID)
		}
		seen[d.ID] = true
		if err := checkNames(d.Names); err != "" {
			bad("departments[%d].names: %s", i, err)
		}
	}
	if st.HorizonDays < minHorizonDays || st.HorizonDays > maxHorizonDays {
		bad("horizonDays: want %d to %d", minHorizonDays, maxHorizonDays)
	}
	if len(problems) > 0 {
		return because(ErrUnprocessable, "%s", strings.Join(problems, "; "))
	}
	return nil
}

// checkNames says what is wrong with a Danish and English name pair: at least
// one is given, each a line of text.
func checkNames(n Names) string {
	n.DA, n.EN = strings.TrimSpace(n.DA), strings.TrimSpace(n.EN)
	if n.DA == "" && n.EN == "" {
		return "give da, en or both"
	}
	for _, s := range []string{n.DA, n.EN} {
		if r := records.CheckText(s, maxName); r != "" {
			return r
		}
	}
	return ""
}

// checkSpans says what is wrong with one day's opening hours: each span
// opens before it closes, in order, without overlaps.
func checkSpans(spans []OpenSpan) string {
	if len(spans) > maxSpansPerDay {
		return fmt.Sprintf("at most %d spans", maxSpansPerDay)
	}
	var last WallClock = -1
	for _, s := range spans {
		open, err1 := parseClock("open", s.Open)
		close, err2 := parseClock("close", s.Close)
		switch {
		case err1 != nil || err2 != nil:
			return fmt.Sprintf("%q-%q: want HH:MM times, e.g. 08:00 and 15:30", s.Open, s.Close)
		case open >= close:
			return fmt.Sprintf("%s-%s: opens after it closes", s.Open, s.Close)
		case open < last:
			return fmt.Sprintf("%s-%s: overlaps or comes before the span before it", s.Open, s.Close)
		}
		last = close
	}
	return ""
}

// shortDuration writes 24h0m0s as "24h" and 1h30m0s as "1h30m".
func shortDuration(d time.Duration) string {
	s := d.String()
	s = strings.TrimSuffix(s, "0s")
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// ReminderOffsets returns the reminders as durations, longest first.
func (st Settings) ReminderOffsets() []time.Duration {
	out := make([]time.Duration, 0, len(st.Reminders))
	for _, r := range st.Reminders {
		if d, err := time.ParseDuration(r); err == nil {
			out = append(out, d)
		}
	}
	return out
}

// Horizon is how far ahead a visit of type t may be booked: the type's own
// horizon, else the clinic's.
func (st Settings) Horizon(t AppointmentType) time.Duration {
	if t.Horizon > 0 {
		return t.Horizon
	}
	return time.Duration(st.HorizonDays) * 24 * time.Hour
}

// SeedSettings writes the clinic's first settings, in language (default
// Danish), unless there are settings already: the -language flag seeds, and the admins decide
// after that.
func (s *Store) SeedSettings(ctx context.Context, language string) error {
	if language == "" {
		language = "da"
	}
	var st Settings
	if err := json.Unmarshal([]byte(defaultSettings), &st); err != nil {
		return err
	}
	st.Language = language
	if err := st.Validate(); err != nil {
		return fmt.Errorf("clinic settings: %w", err)
	}
	doc, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return s.db.InTx(ctx, "seed clinic settings", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO clinic_settings (id, doc, version, updated_at)
			VALUES (1, $1, 1, $2) ON CONFLICT (id) DO NOTHING`, string(doc), s.ts(s.now()))
		return err
	})
}

// Settings returns the clinic's settings; before SeedSettings, the defaults
// in English.
func (s *Store) Settings(ctx context.Context) (Settings, error) {
	st, err := readSettings(ctx, s.db)
	if err != nil {
		return Settings{}, fmt.Errorf("clinic settings: %w", err)
	}
	return st, nil
}

func readSettings(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (Settings, error) {
	var (
		st  Settings
		doc string
		ver int
		at  time.Time
	)
	err := q.QueryRowContext(ctx, `SELECT doc, version, updated_at FROM clinic_settings WHERE id = 1`).
		Scan(&doc, &ver, records.Time(&at))
	if errors.Is(err, sql.ErrNoRows) {
		doc, ver = defaultSettings, 0
		st.Language = "en"
	} else if err != nil {
		return Settings{}, err
	}
	if err := json.Unmarshal([]byte(doc), &st); err != nil {
		return Settings{}, fmt.Errorf("stored settings: %w", err)
	}
	_ = st.Validate() // fills empty lists; stored settings were valid
	st.Version, st.UpdatedAt = ver, at
	return st, nil
}

// PutSettings replaces the clinic's settings (an admin's work, audited with
// what changed). A nonzero st.Version must be the current one (else
// ErrConflict): the admin saw what they change.
func (s *Store) PutSettings(ctx context.Context, actor Actor, st Settings) (Settings, error) {
	if err := checkActor(actor); err != nil {
		return Settings{}, err
	}
	if err := mayConfigure(actor); err != nil {
		return Settings{}, err
	}
	if err := st.Validate(); err != nil {
		return Settings{}, err
	}
	err := s.db.InTx(ctx, "change clinic settings", func(tx *sql.Tx) error {
		if err := s.db.Lock(ctx, tx, "vclinic/scheduler/settings"); err != nil {
			return err
		}
		cur, err := readSettings(ctx, tx)
		if err != nil {
			return err
		}
		if st.Version != 0 && st.Version != cur.Version {
			return because(ErrConflict, "the settings changed since version %d (now %d); load them again", st.Version, cur.Version)
		}
		st.Version, st.UpdatedAt = cur.Version+1, records.Instant(s.now())
		stored := st
		stored.Version, stored.UpdatedAt = 0, time.Time{}
		doc, err := json.Marshal(stored)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE clinic_settings SET doc = $1, version = $2, updated_at = $3 WHERE id = 1`,
			string(doc), st.Version, s.ts(st.UpdatedAt))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			if _, err := tx.ExecContext(ctx, `INSERT INTO clinic_settings (id, doc, version, updated_at) VALUES (1, $1, $2, $3)`,
				string(doc), st.Version, s.ts(st.UpdatedAt)); err != nil {
				return err
			}
		}
		return s.auditRecord(ctx, tx, actor, AuditUpdate, "settings", "clinic", "", settingsChanges(cur, st))
	})
	if err != nil {
		return Settings{}, err
	}
	return st, nil
}

// settingsChanges names the fields that differ, for the audit log.
func settingsChanges(a, b Settings) string {
	var changed []string
	same := func(x, y any) bool {
		bx, _ := json.Marshal(x)
		by, _ := json.Marshal(y)
		return string(bx) == string(by)
	}
	for _, f := range []struct {
		name string
		x, y any
	}{{"name", a.Name, b.Name}, {"phone", a.Phone, b.Phone}, {"language", a.Language, b.Language},
		{"reminders", a.Reminders, b.Reminders}, {"hours", a.Hours, b.Hours},
		{"departments", a.Departments, b.Departments}, {"horizonDays", a.HorizonDays, b.HorizonDays},
		{"guestsByPatient", a.GuestsByPatient, b.GuestsByPatient}} {
		if !same(f.x, f.y) {
			changed = append(changed, f.name)
		}
	}
	if len(changed) == 0 {
		return "no change"
	}
	return "changed " + strings.Join(changed, ", ")
}
