package homekit

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"vclinic/homekit/gatt"
	"vclinic/internal/records"
)

// Per-patient limits ("alarmgrænser", as OpenTele called them): the low and
// high value of each quantity outside which a reading is flagged for the
// clinician. They are decision support, not a diagnosis: a flag says a
// value lies outside what the clinician set for this patient, no more.
//
// A patient's limits, with the two facts the NEWS2 score needs of the
// patient (which SpO2 scale applies, and whether the patient is on
// supplemental oxygen; Royal College of Physicians, NEWS2, 2017, chart 1 and
// §"SpO2 scale 2"), are the patient's watch. An appointment type may carry a
// default watch; a patient with none gets the type's when an appointment of
// that type is booked (SeedWatch). Each watch has a version: a change names
// the version it was made from, and a change made from an older one is
// refused (ErrConflict), so two clinicians never overwrite each other
// unseen. Every change is audited with what changed.

// Owners of a watch.
const (
	WatchOfPatient = "patient"
	WatchOfType    = "appointment-type"
)

// SpO2 scales of NEWS2: 1 for most patients, 2 for those with hypercapnic
// respiratory failure whose target saturation is 88-92 %.
const (
	SpO2Scale1 = 1
	SpO2Scale2 = 2
)

// Limit is the low and high limit of one quantity, in the quantity's UCUM
// unit (LimitUnit). Either may be absent; a value equal to a limit is inside.
type Limit struct {
	Code string       `json:"code"` // LOINC
	Unit string       `json:"unit"` // UCUM; LimitUnit(Code)
	Low  *json.Number `json:"low,omitempty"`
	High *json.Number `json:"high,omitempty"`
}

// Watch is what the clinic watches a patient's readings against: the limits
// per quantity, and the NEWS2 facts. An appointment type's default watch
// has the same shape.
type Watch struct {
	// Owner is WatchOfPatient or WatchOfType, OwnerID the patient's or the
	// appointment type's id. A patient with no watch of their own is
	// answered with an empty one of version 0.
	Owner     string    `json:"owner"`
	OwnerID   string    `json:"ownerId"`
	Limits    []Limit   `json:"limits"`
	SpO2Scale int       `json:"spo2Scale"` // SpO2Scale1 or SpO2Scale2
	OnOxygen  bool      `json:"onOxygen"`
	Version   int       `json:"version"`
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
	UpdatedBy string    `json:"updatedBy,omitempty"`
	// SeededFrom names the appointment type whose defaults the patient's
	// watch was first taken from, if it was.
	SeededFrom string `json:"seededFrom,omitempty"`
}

// limitUnits are the quantities a limit may be set for (the codes the
// decoders and the patient's typed readings produce) and the UCUM unit of
// the limit. A reading in another unit (kPa, [degF], [lb_av]) is converted
// before it is compared (plausible.go, toUnit).
var limitUnits = map[string]string{
	gatt.LOINCBodyTemperature: gatt.UnitCelsius,
	gatt.LOINCSystolic:        gatt.UnitMmHg,
	gatt.LOINCDiastolic:       gatt.UnitMmHg,
	gatt.LOINCHeartRate:       gatt.UnitPerMinute,
	gatt.LOINCSpO2:            gatt.UnitPercent,
	gatt.LOINCBodyWeight:      gatt.UnitKilogram,
	gatt.LOINCGlucoseMoles:    gatt.UnitMmolPerL,
	gatt.LOINCGlucoseMass:     gatt.UnitMgPerDL,
}

// LimitCodeOf is the code whose limit applies to a measurement of code:
// the FHIR profile's SpO2 code shares the pulse oximetry code's limit.
func LimitCodeOf(code string) string {
	if code == gatt.LOINCOxygenSaturation {
		return gatt.LOINCSpO2
	}
	return code
}

// LimitCodes lists the codes a limit may be set for, sorted.
func LimitCodes() []string {
	out := make([]string, 0, len(limitUnits))
	for c := range limitUnits {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// LimitUnit is the UCUM unit of code's limits, "" when code takes none.
func LimitUnit(code string) string { return limitUnits[code] }

// MaxWatchNote bounds an acknowledgement's note.
const MaxWatchNote = 1000

// number parses a limit's value; field names it in the error.
func number(n *json.Number, field string) (float64, error) {
	d, err := gatt.ParseDecimal(n.String())
	if err != nil || d.IsSpecial() {
		return 0, because(ErrInvalid, "%s: %q is not a decimal number", field, n.String())
	}
	return d.Float64(), nil
}

// Validate checks w as a change to be stored: known codes once each, the
// unit of each, low below high, both within the quantity's plausible range
// (plausible.go), and a NEWS2 SpO2 scale of 1 or 2 (0 means 1).
func (w *Watch) validate() error {
	if w.SpO2Scale == 0 {
		w.SpO2Scale = SpO2Scale1
	}
	if w.SpO2Scale != SpO2Scale1 && w.SpO2Scale != SpO2Scale2 {
		return because(ErrInvalid, "spo2Scale: %d; want 1 or 2 (NEWS2 SpO2 scale)", w.SpO2Scale)
	}
	if len(w.Limits) > len(limitUnits) {
		return because(ErrInvalid, "limits: %d entries; at most one per quantity (%d)", len(w.Limits), len(limitUnits))
	}
	seen := map[string]bool{}
	for i, l := range w.Limits {
		field := fmt.Sprintf("limits[%d]", i)
		unit, ok := limitUnits[l.Code]
		if !ok {
			return because(ErrInvalid, "%s.code %q: not a quantity with limits; want one of %v", field, l.Code, LimitCodes())
		}
		if seen[l.Code] {
			return because(ErrInvalid, "%s.code %q: given twice", field, l.Code)
		}
		seen[l.Code] = true
		if l.Unit == "" {
			w.Limits[i].Unit = unit
		} else if l.Unit != unit {
			return because(ErrInvalid, "%s.unit %q: limits of %s are in %s", field, l.Unit, l.Code, unit)
		}
		if l.Low == nil && l.High == nil {
			return because(ErrInvalid, "%s: give low, high or both", field)
		}
		r := plausibleRanges[l.Code]
		lo, hi := r.min, r.max
		if unit != r.unit { // mg/dL limits against a range in mmol/L
			lo, hi = lo*18.016, hi*18.016
		}
		var low, high float64
		var err error
		if l.Low != nil {
			if low, err = number(l.Low, field+".low"); err != nil {
				return err
			}
			if low < lo || low > hi {
				return because(ErrInvalid, "%s.low %s %s: outside the plausible %s-%s %s", field, l.Low, unit, fmtFloat(lo), fmtFloat(hi), unit)
			}
		}
		if l.High != nil {
			if high, err = number(l.High, field+".high"); err != nil {
				return err
			}
			if high < lo || high > hi {
				return because(ErrInvalid, "%s.high %s %s: outside the plausible %s-%s %s", field, l.High, unit, fmtFloat(lo), fmtFloat(hi), unit)
			}
		}
		if l.Low != nil && l.High != nil && !(low < high) {
			return because(ErrInvalid, "%s: low %s must be below high %s", field, l.Low, l.High)
		}
	}
	slices.SortFunc(w.Limits, func(a, b Limit) int { return strings.Compare(a.Code, b.Code) })
	return nil
}

// Watch returns patientID's watch (an empty one of version 0 when the
// clinic set none) and records the read in the audit log. The NEWS2 score
// reads SpO2Scale and OnOxygen here.
func (s *Store) Watch(ctx context.Context, actor Actor, patientID string) (Watch, error) {
	return s.readWatch(ctx, actor, WatchOfPatient, patientID)
}

// NEWS2Facts are what the patient's limits record for the early-warning
// score: the SpO2 scale (1 when none is set) and whether the patient is on
// oxygen. Read for a score, whose own read of the readings is audited.
func (s *Store) NEWS2Facts(ctx context.Context, patientID string) (scale int, onOxygen bool, err error) {
	err = s.db.InTx(ctx, "read NEWS2 facts", func(tx *sql.Tx) error {
		w, err := s.watchIn(ctx, tx, WatchOfPatient, patientID)
		scale, onOxygen = w.SpO2Scale, w.OnOxygen
		return err
	})
	if scale == 0 {
		scale = SpO2Scale1
	}
	return scale, onOxygen, err
}

// TypeWatch returns appointment type typeID's default watch (empty, version
// 0, when none is set).
func (s *Store) TypeWatch(ctx context.Context, actor Actor, typeID string) (Watch, error) {
	return s.readWatch(ctx, actor, WatchOfType, typeID)
}

func (s *Store) readWatch(ctx context.Context, actor Actor, owner, id string) (Watch, error) {
	if id == "" {
		return Watch{}, because(ErrInvalid, "%s: required", owner)
	}
	var w Watch
	err := s.db.InTx(ctx, "read watch", func(tx *sql.Tx) error {
		var err error
		w, err = s.watchIn(ctx, tx, owner, id)
		if err != nil || owner != WatchOfPatient {
			return err
		}
		return s.auditRecord(ctx, tx, actor, AuditRead, "watch", id, id, "")
	})
	return w, err
}

// watchIn reads a watch in tx; an empty one of version 0 when none is set.
func (s *Store) watchIn(ctx context.Context, tx *sql.Tx, owner, id string) (Watch, error) {
	w := Watch{Owner: owner, OwnerID: id, Limits: []Limit{}, SpO2Scale: SpO2Scale1}
	var limits string
	var by, seeded sql.NullString
	err := tx.QueryRowContext(ctx, `SELECT limits, spo2_scale, on_oxygen, version, updated_at, updated_by, seeded_from
		FROM homekit_watch WHERE owner = $1 AND owner_id = $2`, owner, id).
		Scan(&limits, &w.SpO2Scale, &w.OnOxygen, &w.Version, records.Time(&w.UpdatedAt), &by, &seeded)
	if errors.Is(err, sql.ErrNoRows) {
		return w, nil
	}
	if err != nil {
		return Watch{}, err
	}
	w.UpdatedBy, w.SeededFrom = by.String, seeded.String
	if err := json.Unmarshal([]byte(limits), &w.Limits); err != nil {
		return Watch{}, fmt.Errorf("watch %s %s: stored limits: %w", owner, id, err)
	}
	return w, nil
}

// SetWatch stores w as the watch of its owner (w.Owner, w.OwnerID). w.Version
// must be the version it was made from (0 when none was set; otherwise
// ErrConflict). The change is audited with what changed; the stored watch
// is returned.
func (s *Store) SetWatch(ctx context.Context, actor Actor, w Watch) (Watch, error) {
	if w.Owner != WatchOfPatient && w.Owner != WatchOfType {
		return Watch{}, because(ErrInvalid, "owner %q: want %s or %s", w.Owner, WatchOfPatient, WatchOfType)
	}
	if w.OwnerID == "" {
		return Watch{}, because(ErrInvalid, "%s: required", w.Owner)
	}
	if w.Limits == nil {
		w.Limits = []Limit{}
	}
	if err := w.validate(); err != nil {
		return Watch{}, err
	}
	var out Watch
	err := s.db.InTx(ctx, "set watch", func(tx *sql.Tx) error {
		cur, err := s.watchIn(ctx, tx, w.Owner, w.OwnerID)
		if err != nil {
			return err
		}
		if w.Version != cur.Version {
			return because(ErrConflict, "the limits changed since version %d (now %d, by %s); load them again", w.Version, cur.Version, cur.UpdatedBy)
		}
		out, err = s.storeWatch(ctx, tx, actor, w, cur, "")
		return err
	})
	return out, err
}

// storeWatch writes w over cur (the stored one, version 0 when none) and
// audits the change.
func (s *Store) storeWatch(ctx context.Context, tx *sql.Tx, actor Actor, w, cur Watch, seededFrom string) (Watch, error) {
	doc, err := json.Marshal(w.Limits)
	if err != nil {
		return Watch{}, err
	}
	w.Version, w.UpdatedAt, w.UpdatedBy = cur.Version+1, records.Instant(s.now()), actor.ID
	w.SeededFrom = cur.SeededFrom
	if seededFrom != "" {
		w.SeededFrom = seededFrom
	}
	if cur.Version == 0 {
		var res sql.Result
		res, err = tx.ExecContext(ctx, `INSERT INTO homekit_watch (owner, owner_id, limits, spo2_scale, on_oxygen, version, updated_at, updated_by, seeded_from)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`,
			w.Owner, w.OwnerID, string(doc), w.SpO2Scale, w.OnOxygen, w.Version, s.ts(w.UpdatedAt), w.UpdatedBy, nullString(w.SeededFrom))
		if err == nil {
			if n, _ := res.RowsAffected(); n != 1 {
				// Another change was stored first, from the same version 0.
				err = because(ErrConflict, "the limits were set by someone else just now; load them again")
			}
		}
	} else {
		var res sql.Result
		res, err = tx.ExecContext(ctx, `UPDATE homekit_watch SET limits = $1, spo2_scale = $2, on_oxygen = $3, version = $4, updated_at = $5, updated_by = $6
			WHERE owner = $7 AND owner_id = $8 AND version = $9`,
			string(doc), w.SpO2Scale, w.OnOxygen, w.Version, s.ts(w.UpdatedAt), w.UpdatedBy, w.Owner, w.OwnerID, cur.Version)
		if err == nil {
			if n, _ := res.RowsAffected(); n != 1 {
				err = fmt.Errorf("watch %s %s changed under us: %w", w.Owner, w.OwnerID, records.ErrRetry)
			}
		}
	}
	if err != nil {
		return Watch{}, err
	}
	patient := ""
	if w.Owner == WatchOfPatient {
		patient = w.OwnerID
	}
	detail := watchChanges(cur, w)
	if seededFrom != "" {
		detail = "from appointment type " + seededFrom + ": " + detail
	}
	if err := s.auditRecord(ctx, tx, actor, AuditUpdate, "watch:"+w.Owner, w.OwnerID, patient, detail); err != nil {
		return Watch{}, err
	}
	return w, nil
}

// SeedWatch gives patientID the default watch of appointment type typeID
// when the patient has none of their own and the type has one (an
// appointment of the type was booked). It reports whether it did.
func (s *Store) SeedWatch(ctx context.Context, actor Actor, patientID, typeID string) (bool, error) {
	if patientID == "" || typeID == "" {
		return false, nil
	}
	seeded := false
	err := s.db.InTx(ctx, "seed watch", func(tx *sql.Tx) error {
		seeded = false
		cur, err := s.watchIn(ctx, tx, WatchOfPatient, patientID)
		if err != nil || cur.Version != 0 {
			return err
		}
		def, err := s.watchIn(ctx, tx, WatchOfType, typeID)
		if err != nil || def.Version == 0 {
			return err
		}
		w := def
		w.Owner, w.OwnerID = WatchOfPatient, patientID
		if _, err := s.storeWatch(ctx, tx, actor, w, cur, typeID); err != nil {
			return err
		}
		seeded = true
		return nil
	})
	return seeded, err
}

// watchChanges says what changed from a to b, for the audit log:
// "8310-5 high 38.0 -> 38.5; onOxygen false -> true".
func watchChanges(a, b Watch) string {
	var parts []string
	show := func(n *json.Number) string {
		if n == nil {
			return "none"
		}
		return n.String()
	}
	old := map[string]Limit{}
	for _, l := range a.Limits {
		old[l.Code] = l
	}
	for _, l := range b.Limits {
		o, had := old[l.Code]
		delete(old, l.Code)
		if !had {
			parts = append(parts, fmt.Sprintf("%s set %s-%s %s", l.Code, show(l.Low), show(l.High), l.Unit))
			continue
		}
		if show(o.Low) != show(l.Low) {
			parts = append(parts, fmt.Sprintf("%s low %s -> %s", l.Code, show(o.Low), show(l.Low)))
		}
		if show(o.High) != show(l.High) {
			parts = append(parts, fmt.Sprintf("%s high %s -> %s", l.Code, show(o.High), show(l.High)))
		}
	}
	for _, c := range slices.Sorted(func(yield func(string) bool) {
		for c := range old {
			if !yield(c) {
				return
			}
		}
	}) {
		parts = append(parts, c+" removed")
	}
	if a.SpO2Scale != b.SpO2Scale && a.Version != 0 {
		parts = append(parts, fmt.Sprintf("spo2Scale %d -> %d", a.SpO2Scale, b.SpO2Scale))
	} else if a.Version == 0 && b.SpO2Scale != SpO2Scale1 {
		parts = append(parts, fmt.Sprintf("spo2Scale %d", b.SpO2Scale))
	}
	if a.OnOxygen != b.OnOxygen {
		parts = append(parts, "onOxygen "+strconv.FormatBool(a.OnOxygen)+" -> "+strconv.FormatBool(b.OnOxygen))
	}
	if len(parts) == 0 {
		return "no change"
	}
	return strings.Join(parts, "; ")
}

// Outside a limit.
const (
	OutsideBelow = "below"
	OutsideAbove = "above"
)

// limitsByCode indexes a watch's limits.
func (w Watch) limitsByCode() map[string]Limit {
	m := make(map[string]Limit, len(w.Limits))
	for _, l := range w.Limits {
		m[l.Code] = l
	}
	return m
}

// judge sets r's limit fields from the limits in force: which limit applies
// and whether the value lies outside it. A special value, or one in a unit
// that does not convert, is not judged.
func judge(r *measurementRow, limits map[string]Limit) {
	r.outside, r.limitLow, r.limitHigh = "", nil, nil
	l, ok := limits[LimitCodeOf(r.code)]
	if !ok {
		return
	}
	v, ok := r.value.(string)
	if !ok {
		return
	}
	d, err := gatt.ParseDecimal(v)
	if err != nil || d.IsSpecial() {
		return
	}
	x, ok := toUnit(d.Float64(), r.unit, l.Unit)
	if !ok {
		return
	}
	if l.Low != nil {
		r.limitLow = l.Low.String()
		if lo, err := l.Low.Float64(); err == nil && x < lo {
			r.outside = OutsideBelow
		}
	}
	if l.High != nil {
		r.limitHigh = l.High.String()
		if hi, err := l.High.Float64(); err == nil && x > hi {
			r.outside = OutsideAbove
		}
	}
}

// withLimits judges ms against the patient's limits in force (a copy; ms is
// not changed, so a retried transaction starts clean) and adds
// FlagOutsideLimits to flags when any measurement lies outside.
func withLimits(ms []measurementRow, flags []string, limits map[string]Limit) ([]measurementRow, []string) {
	out := slices.Clone(ms)
	flags = slices.Clone(flags)
	for i := range out {
		judge(&out[i], limits)
		if out[i].outside != "" && !slices.Contains(flags, FlagOutsideLimits) {
			flags = append(flags, FlagOutsideLimits)
		}
	}
	return out, flags
}

// limitsIn reads the patient's limits in force in tx.
func (s *Store) limitsIn(ctx context.Context, tx *sql.Tx, patientID string) (map[string]Limit, error) {
	w, err := s.watchIn(ctx, tx, WatchOfPatient, patientID)
	if err != nil {
		return nil, fmt.Errorf("limits of %s: %w", patientID, err)
	}
	return w.limitsByCode(), nil
}
