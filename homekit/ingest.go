package homekit

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"vclinic/homekit/gatt"
	"vclinic/internal/records"
)

// Ingestion turns what the edge forwards into stored readings. Each item of
// a batch gets its own answer, in order: stored (with the new id), duplicate
// (with the id of the reading stored before) or rejected (with a reason).
//
// Idempotency: a reading's key is (device, characteristic, seq) when the edge
// numbers its readings, else (device, characteristic, raw bytes, observedAt
// to the millisecond). Unique indexes on both keys decide, so that the same
// reading sent twice, or by two connections at once, is stored once. A seq
// that comes back with different bytes is rejected, not stored twice.
//
// Rejected items are not stored at all, raw bytes included: a value the
// decoder refuses, one for a device outside the submitter's kit, or one
// whose edge read another System ID or serial number than the kit device's
// (deviceinfo.go), has no place in a patient's record. The reason names the field (the decoder's
// one-line error), which is what a device integrator needs.
//
// Implausible values are stored and flagged (see plausible.go), never
// dropped: the device said so, and the clinician decides.

// Ingestion limits.
const (
	// MaxBatch is the most readings one batch may hold.
	MaxBatch = 500
	// MaxFutureSkew is how far in the future (by the server's clock) an
	// edge's observedAt may be: clocks drift, but not by more.
	MaxFutureSkew = 5 * time.Minute
	// MaxAge is how far in the past an observedAt may be: a gateway that
	// was offline for months still delivers, a reading dated year 1 is a
	// broken clock or a forgery.
	MaxAge = 5 * 366 * 24 * time.Hour
)

// Result statuses.
const (
	StatusStored    = "stored"
	StatusDuplicate = "duplicate"
	StatusRejected  = "rejected"
)

// ReadingIn is one raw characteristic value as the edge forwards it.
type ReadingIn struct {
	DeviceID       string `json:"deviceId"`
	Characteristic string `json:"characteristic"` // "2A35", "0x2A35" or the 128-bit UUID
	Value          string `json:"value"`          // hex, as the device sent it
	Seq            *int64 `json:"seq,omitempty"`  // the edge's number for the reading, if it numbers them
	ObservedAt     string `json:"observedAt"`     // RFC 3339, the edge's clock
	// IdentifiedBy says what the edge matched the kit entry by: an
	// identifier (bluetooth-address, system-id, serial, web-bluetooth-id)
	// or only the device type ("type"). Optional.
	IdentifiedBy IdentifiedBy `json:"identifiedBy,omitempty"`
	// DeviceInfo is what the edge read from the device; optional (see
	// deviceinfo.go).
	DeviceInfo *gatt.DeviceInfo `json:"deviceInfo,omitempty"`
}

// Result is the answer for one item of a batch.
type Result struct {
	Index  int      `json:"index"`
	Status string   `json:"status"` // stored, duplicate, rejected
	ID     string   `json:"id,omitempty"`
	Reason string   `json:"reason,omitempty"`
	Flags  []string `json:"flags,omitempty"`
}

// Submitter is who sends readings: the patient (from the browser) or the
// patient's gateway.
type Submitter struct {
	PatientID string // whose kit; required
	GatewayID string // the gateway that forwards, "" for the patient's own browser
	// AppointmentID is the consultation the readings are taken during, when
	// the patient sends them from a visit link.
	AppointmentID string
	Role          string // patient, gateway; clinician for a value staff type
	// StaffID is the staff user who typed the value for the patient (a
	// reading the patient gave on the telephone, a value from the visit);
	// "" when the patient's page or gateway sends it.
	StaffID string
	// Address is where the readings came from (the edge's IP address),
	// for the audit log.
	Address string
}

func (w Submitter) actor() Actor {
	if w.StaffID != "" {
		return Actor{ID: w.StaffID, Role: w.Role, Address: w.Address}
	}
	if w.GatewayID != "" {
		return Actor{ID: w.GatewayID, Role: w.Role, Address: w.Address}
	}
	return Actor{ID: w.PatientID, Role: w.Role, Address: w.Address}
}

// prepared is a batch item that passed validation.
type prepared struct {
	index      int
	deviceID   string
	char       uint16
	raw        []byte
	seq        *int64
	observedAt time.Time
	deviceTime string
	flags      []string
	ms         []measurementRow
	// identifiedBy and deviceInfo (JSON) say how the edge identified the
	// device; nil when it did not say.
	identifiedBy any
	deviceInfo   any
}

type measurementRow struct {
	code              string
	mdc               gatt.MDC
	value             any // string, or nil for a special value
	unit              string
	absent            string
	implausibleReason string
	// outside, limitLow and limitHigh: how the value stood against the
	// patient's limits in force (limits.go, judge); nil limits when none.
	outside   string
	limitLow  any
	limitHigh any
}

func rowOf(m gatt.Measurement) measurementRow {
	r := measurementRow{code: m.Code, mdc: m.MDC, unit: m.Unit, absent: m.Absent}
	if !m.Value.IsSpecial() {
		r.value = m.Value.String()
	}
	r.implausibleReason = implausible(m.Code, m.Value, m.Unit)
	return r
}

// Ingest validates and stores a batch of readings for who's kit, at now by
// the server's clock. It answers one Result per item, in order; an error
// means the store failed and nothing of the batch may be assumed stored.
func (s *Store) Ingest(ctx context.Context, who Submitter, batch []ReadingIn, now time.Time) ([]Result, error) {
	if who.PatientID == "" {
		return nil, because(ErrForbidden, "readings need a patient")
	}
	if len(batch) > MaxBatch {
		return nil, because(ErrInvalid, "%d readings in one batch; at most %d", len(batch), MaxBatch)
	}
	kit, err := devicesOf(ctx, s.db, who.PatientID)
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	results := make([]Result, len(batch))
	var ok []prepared
	for i, in := range batch {
		p, reason := prepare(in, kit, now)
		if reason != "" {
			results[i] = Result{Index: i, Status: StatusRejected, Reason: reason}
			continue
		}
		p.index = i
		ok = append(ok, p)
	}
	if len(ok) == 0 {
		return results, nil
	}
	received := records.Instant(now)
	err = s.db.InTx(ctx, "ingest", func(tx *sql.Tx) error {
		// The limits in force now are the ones each reading is judged by,
		// and stay with it.
		limits, err := s.limitsIn(ctx, tx, who.PatientID)
		if err != nil {
			return err
		}
		stored := 0
		for _, p := range ok {
			p.ms, p.flags = withLimits(p.ms, p.flags, limits)
			r, err := s.insertReading(ctx, tx, who, p, received)
			if err != nil {
				return err
			}
			if r.Status == StatusStored {
				stored++
			}
			results[p.index] = r
		}
		if stored == 0 {
			return nil
		}
		return s.auditRecord(ctx, tx, who.actor(), AuditCreate, "reading", "", who.PatientID,
			fmt.Sprintf("%d readings stored", stored))
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

// prepare validates one item without the database; a non-empty reason
// rejects it.
func prepare(in ReadingIn, kit []Device, now time.Time) (prepared, string) {
	i := slices.IndexFunc(kit, func(d Device) bool { return d.ID == in.DeviceID })
	if i < 0 {
		// The same answer for no device and another patient's device.
		return prepared{}, "unknown device"
	}
	dev := kit[i]
	info, reason := checkIdentity(in.IdentifiedBy, in.DeviceInfo, dev)
	if reason != "" {
		return prepared{}, reason
	}
	char, err := gatt.ParseCharacteristic(in.Characteristic)
	if err != nil {
		return prepared{}, err.Error()
	}
	if gatt.MeasurementsIn(char) < 0 {
		return prepared{}, fmt.Sprintf("%s: %v", gatt.Characteristic(char), gatt.ErrUnknownCharacteristic)
	}
	if gatt.MeasurementsIn(char) == 0 {
		return prepared{}, fmt.Sprintf("characteristic %s (%s) carries no measurement", gatt.Characteristic(char), gatt.Characteristic(char).Name())
	}
	if !slices.Contains(gatt.CharacteristicsOf(dev.Kind), char) {
		return prepared{}, fmt.Sprintf("a %s does not send %s (%s)", dev.Kind, gatt.Characteristic(char), gatt.Characteristic(char).Name())
	}
	raw, err := hex.DecodeString(strings.TrimPrefix(strings.TrimPrefix(in.Value, "0x"), "0X"))
	if err != nil || len(raw) == 0 {
		return prepared{}, fmt.Sprintf("value %q: want the characteristic's bytes in hex", in.Value)
	}
	if in.Seq != nil && *in.Seq < 0 {
		return prepared{}, "seq: must not be negative"
	}
	if in.ObservedAt == "" {
		return prepared{}, "observedAt: required (RFC 3339)"
	}
	at, err := time.Parse(time.RFC3339Nano, in.ObservedAt)
	if err != nil {
		return prepared{}, fmt.Sprintf("observedAt %q: not RFC 3339", in.ObservedAt)
	}
	if at.After(now.Add(MaxFutureSkew)) {
		return prepared{}, fmt.Sprintf("observedAt %s is more than %v ahead of the server's clock", in.ObservedAt, MaxFutureSkew)
	}
	if at.Before(now.Add(-MaxAge)) {
		return prepared{}, fmt.Sprintf("observedAt %s is more than five years ago", in.ObservedAt)
	}
	d, err := gatt.Decode(char, raw)
	if err != nil {
		return prepared{}, err.Error()
	}
	p := prepared{deviceID: dev.ID, char: char, raw: raw, seq: in.Seq, observedAt: records.Instant(at)}
	if key, ok := gatt.RecordKeyOf(d); ok {
		// A glucose meter's stored record is named by the meter (racp.go).
		p.seq = &key
	}
	if in.IdentifiedBy != "" {
		p.identifiedBy = string(in.IdentifiedBy)
	}
	if info != nil {
		b, err := json.Marshal(info)
		if err != nil {
			return prepared{}, fmt.Sprintf("deviceInfo: %v", err)
		}
		p.deviceInfo = string(b)
	}
	switch {
	case d.DeviceClockNotSet:
		p.flags = append(p.flags, FlagDeviceClockNotSet)
	case !d.Time.IsZero():
		p.deviceTime = deviceTime(d)
	}
	for _, m := range d.Measurements {
		r := rowOf(m)
		if r.implausibleReason != "" && !slices.Contains(p.flags, FlagImplausible) {
			p.flags = append(p.flags, FlagImplausible)
		}
		p.ms = append(p.ms, r)
	}
	return p, ""
}

// deviceTime is the device's wall clock as text; a glucose record's time
// offset is added to its base time (Glucose Service 1.0, §3.106.2.3).
func deviceTime(d gatt.Decoded) string {
	t, full := d.Time.In(time.UTC)
	if !full {
		return d.Time.String()
	}
	if d.TimeOffsetMinutes.Valid {
		t = t.Add(time.Duration(d.TimeOffsetMinutes.V) * time.Minute)
	}
	return t.Format("2006-01-02T15:04:05")
}

// insertReading stores one prepared reading, or finds the one stored before
// under the same key.
func (s *Store) insertReading(ctx context.Context, tx *sql.Tx, who Submitter, p prepared, received time.Time) (Result, error) {
	id := newID()
	res, err := tx.ExecContext(ctx, `INSERT INTO homekit_readings (id, patient_id, source, device_id, gateway_id, submitted_by,
			characteristic, raw, decoder_version, seq, observed_at, received_at, device_time, appointment_id, flags,
			identified_by, device_info)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) ON CONFLICT DO NOTHING`,
		id, who.PatientID, SourceDevice, p.deviceID, nullString(who.GatewayID), who.actor().ID,
		int64(p.char), p.raw, gatt.DecoderVersion, p.seq, s.ts(p.observedAt), s.ts(received),
		nullString(p.deviceTime), nullString(who.AppointmentID), strings.Join(p.flags, ","),
		p.identifiedBy, p.deviceInfo)
	if err != nil {
		return Result{}, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return Result{}, err
	}
	if n == 0 {
		return s.duplicate(ctx, tx, p)
	}
	if err := s.insertMeasurements(ctx, tx, id, p.ms); err != nil {
		return Result{}, err
	}
	return Result{Index: p.index, Status: StatusStored, ID: id, Flags: p.flags}, nil
}

func (s *Store) insertMeasurements(ctx context.Context, tx *sql.Tx, readingID string, ms []measurementRow) error {
	for i, m := range ms {
		_, err := tx.ExecContext(ctx, `INSERT INTO homekit_measurements (reading_id, idx, code, mdc, value, unit, absent, implausible, implausible_reason,
				outside, limit_low, limit_high)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			readingID, i, m.code, int64(m.mdc), m.value, m.unit, m.absent, m.implausibleReason != "", m.implausibleReason,
			m.outside, m.limitLow, m.limitHigh)
		if err != nil {
			return err
		}
	}
	return nil
}

// duplicate finds the reading that holds p's key.
func (s *Store) duplicate(ctx context.Context, tx *sql.Tx, p prepared) (Result, error) {
	var id string
	var raw []byte
	var err error
	if p.seq != nil {
		err = tx.QueryRowContext(ctx, `SELECT id, raw FROM homekit_readings WHERE device_id = $1 AND characteristic = $2 AND seq = $3`,
			p.deviceID, int64(p.char), *p.seq).Scan(&id, &raw)
	} else {
		err = tx.QueryRowContext(ctx, `SELECT id, raw FROM homekit_readings
			WHERE device_id = $1 AND characteristic = $2 AND raw = $3 AND observed_at = $4 AND seq IS NULL`,
			p.deviceID, int64(p.char), p.raw, s.ts(p.observedAt)).Scan(&id, &raw)
	}
	if errors.Is(err, sql.ErrNoRows) {
		// The insert met a conflict on no key of ours: a clash of random
		// ids, which a retry resolves.
		return Result{}, fmt.Errorf("reading conflicts with no stored reading: %w", records.ErrRetry)
	}
	if err != nil {
		return Result{}, err
	}
	if !bytes.Equal(raw, p.raw) {
		return Result{Index: p.index, Status: StatusRejected, ID: id,
			Reason: fmt.Sprintf("seq %d of this device's %s already holds a different value", *p.seq, gatt.Characteristic(p.char))}, nil
	}
	return Result{Index: p.index, Status: StatusDuplicate, ID: id}, nil
}

// ManualValue is one value a patient typed.
type ManualValue struct {
	Code  string `json:"code"`  // LOINC, one of ManualCodes
	Value string `json:"value"` // decimal, e.g. "37.6"
	Unit  string `json:"unit"`  // UCUM, one the code allows
}

// ManualReading is a reading the patient typed by hand (for a phone without
// Web Bluetooth, or a device without Bluetooth). A blood pressure is one
// reading of systolic and diastolic (and optionally pulse).
type ManualReading struct {
	ObservedAt time.Time     `json:"observedAt"` // when measured; zero means now
	Values     []ManualValue `json:"values"`
}

// manualCodes are the codes a patient may type, with their units and MDC.
var manualCodes = map[string]struct {
	units []string
	mdc   gatt.MDC
}{
	gatt.LOINCBodyTemperature: {[]string{gatt.UnitCelsius, gatt.UnitFahrenheit}, gatt.MDCTempBody},
	gatt.LOINCSystolic:        {[]string{gatt.UnitMmHg, gatt.UnitKPa}, gatt.MDCPressBldNonInvSys},
	gatt.LOINCDiastolic:       {[]string{gatt.UnitMmHg, gatt.UnitKPa}, gatt.MDCPressBldNonInvDia},
	gatt.LOINCHeartRate:       {[]string{gatt.UnitPerMinute}, 0},
	gatt.LOINCSpO2:            {[]string{gatt.UnitPercent}, gatt.MDCPulsOximSatO2},
	gatt.LOINCBodyWeight:      {[]string{gatt.UnitKilogram, gatt.UnitPound}, gatt.MDCMassBodyActual},
	gatt.LOINCGlucoseMoles:    {[]string{gatt.UnitMmolPerL}, gatt.MDCConcGluGen},
	gatt.LOINCGlucoseMass:     {[]string{gatt.UnitMgPerDL}, gatt.MDCConcGluGen},
}

// ManualCodes lists the LOINC codes a patient may type, sorted.
func ManualCodes() []string {
	return slices.Sorted(func(yield func(string) bool) {
		for c := range manualCodes {
			if !yield(c) {
				return
			}
		}
	})
}

// AddManual stores a patient-entered reading for who's patient, marked
// patient-entered and without a device. Implausible values are stored and
// flagged.
func (s *Store) AddManual(ctx context.Context, who Submitter, m ManualReading, now time.Time) (Result, error) {
	if who.PatientID == "" {
		return Result{}, because(ErrForbidden, "readings need a patient")
	}
	if len(m.Values) == 0 || len(m.Values) > 4 {
		return Result{}, because(ErrInvalid, "values: one to four")
	}
	if m.ObservedAt.IsZero() {
		m.ObservedAt = now
	}
	if m.ObservedAt.After(now.Add(MaxFutureSkew)) {
		return Result{}, because(ErrInvalid, "observedAt is in the future")
	}
	if m.ObservedAt.Before(now.Add(-MaxAge)) {
		return Result{}, because(ErrInvalid, "observedAt is more than five years ago")
	}
	var rows []measurementRow
	var flags []string
	seen := map[string]bool{}
	for i, v := range m.Values {
		c, ok := manualCodes[v.Code]
		if !ok {
			return Result{}, because(ErrInvalid, "values[%d].code %q: want one of %v", i, v.Code, ManualCodes())
		}
		if seen[v.Code] {
			return Result{}, because(ErrInvalid, "values[%d].code %q: given twice", i, v.Code)
		}
		seen[v.Code] = true
		if !slices.Contains(c.units, v.Unit) {
			return Result{}, because(ErrInvalid, "values[%d].unit %q: want one of %v", i, v.Unit, c.units)
		}
		d, err := gatt.ParseDecimal(v.Value)
		if err != nil {
			return Result{}, because(ErrInvalid, "values[%d].value: %v", i, err)
		}
		r := rowOf(gatt.Measurement{Code: v.Code, MDC: c.mdc, Quantity: gatt.QuantityOf(d, v.Unit)})
		if r.implausibleReason != "" && !slices.Contains(flags, FlagImplausible) {
			flags = append(flags, FlagImplausible)
		}
		rows = append(rows, r)
	}
	if seen[gatt.LOINCSystolic] != seen[gatt.LOINCDiastolic] {
		return Result{}, because(ErrInvalid, "a blood pressure needs both systolic (%s) and diastolic (%s)", gatt.LOINCSystolic, gatt.LOINCDiastolic)
	}
	id := newID()
	var stored []string
	err := s.db.InTx(ctx, "add patient-entered reading", func(tx *sql.Tx) error {
		limits, err := s.limitsIn(ctx, tx, who.PatientID)
		if err != nil {
			return err
		}
		judged, fl := withLimits(rows, flags, limits)
		stored = fl
		_, err = tx.ExecContext(ctx, `INSERT INTO homekit_readings (id, patient_id, source, submitted_by, observed_at, received_at, appointment_id, flags)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			id, who.PatientID, SourcePatientEntered, who.actor().ID, s.ts(m.ObservedAt), s.ts(now),
			nullString(who.AppointmentID), strings.Join(fl, ","))
		if err != nil {
			return err
		}
		if err := s.insertMeasurements(ctx, tx, id, judged); err != nil {
			return err
		}
		return s.auditRecord(ctx, tx, who.actor(), AuditCreate, "reading", id, who.PatientID, SourcePatientEntered)
	})
	if err != nil {
		return Result{}, err
	}
	return Result{Status: StatusStored, ID: id, Flags: stored}, nil
}
