package homekit

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"vclinic/homekit/gatt"
	"vclinic/internal/records"
)

// Reading sources.
const (
	SourceDevice         = "device"          // forwarded raw from a kit device
	SourcePatientEntered = "patient-entered" // typed by the patient
)

// Reading flags.
const (
	// FlagImplausible: at least one measurement is outside its plausible
	// range (see plausible.go); the measurement says which and why.
	FlagImplausible = "implausible"
	// FlagDeviceClockNotSet: the device said its clock is not set, so its
	// time stamp is not kept.
	FlagDeviceClockNotSet = "device-clock-not-set"
	// FlagOutsideLimits: at least one measurement lay outside the
	// patient's limits in force when it was stored (limits.go); the
	// measurement says which limit.
	FlagOutsideLimits = "outside-limits"
)

// Reading is one stored characteristic value (or one patient-entered
// reading) with its measurements. Three times are kept apart: the device's
// own clock (DeviceTime, no zone, as it sent it), the edge's ObservedAt and
// the server's ReceivedAt.
type Reading struct {
	ID        string `json:"id"`
	PatientID string `json:"patientId"`
	Source    string `json:"source"` // device, patient-entered
	DeviceID  string `json:"deviceId,omitempty"`
	// DeviceLabel is the kit entry's label ("Arm cuff"), for showing.
	DeviceLabel    string                             `json:"deviceLabel,omitempty"`
	GatewayID      string                             `json:"gatewayId,omitempty"`
	SubmittedBy    string                             `json:"submittedBy"`
	Characteristic gatt.Optional[gatt.Characteristic] `json:"characteristic,omitzero"`
	Raw            HexBytes                           `json:"raw,omitempty"`
	DecoderVersion int                                `json:"decoderVersion,omitempty"`
	Seq            gatt.Optional[int64]               `json:"seq,omitzero"`
	ObservedAt     time.Time                          `json:"observedAt"`
	ReceivedAt     time.Time                          `json:"receivedAt"`
	DeviceTime     string                             `json:"deviceTime,omitempty"` // e.g. 2026-11-26T10:30:00, the device's wall clock
	AppointmentID  string                             `json:"appointmentId,omitempty"`
	Flags          []string                           `json:"flags,omitempty"`
	// IdentifiedBy and DeviceInfo say how the edge identified the device,
	// when it said (see ReadingIn).
	IdentifiedBy IdentifiedBy        `json:"identifiedBy,omitempty"`
	DeviceInfo   *gatt.DeviceInfo    `json:"deviceInfo,omitempty"`
	Measurements []StoredMeasurement `json:"measurements"`
}

// StoredMeasurement is one measurement of a stored reading.
type StoredMeasurement struct {
	Code              string                      `json:"code"` // LOINC
	MDC               gatt.MDC                    `json:"mdc,omitempty"`
	Value             gatt.Optional[gatt.Decimal] `json:"value"` // null for a special value
	Unit              string                      `json:"unit"`  // UCUM
	Absent            string                      `json:"absent,omitempty"`
	Implausible       bool                        `json:"implausible,omitempty"`
	ImplausibleReason string                      `json:"implausibleReason,omitempty"`
	// Outside is OutsideBelow or OutsideAbove when the value lay outside
	// the patient's limits when it was stored; LimitLow and LimitHigh are
	// the limits in force then (in the limit's unit, LimitUnit), "" when
	// none was set.
	Outside   string `json:"outside,omitempty"`
	LimitLow  string `json:"limitLow,omitempty"`
	LimitHigh string `json:"limitHigh,omitempty"`
}

// HexBytes are bytes written as lower-case hex in JSON.
type HexBytes []byte

// MarshalText writes hex.
func (b HexBytes) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString(b)), nil }

// ListReadings returns a patient's readings observed at or after since,
// oldest first, and records the read in the audit log.
func (s *Store) ListReadings(ctx context.Context, actor Actor, patientID string, since time.Time) ([]Reading, error) {
	var out []Reading
	err := s.db.InTx(ctx, "list readings", func(tx *sql.Tx) error {
		var err error
		out, err = s.readings(ctx, tx, patientID, since)
		if err != nil {
			return err
		}
		return s.auditRecord(ctx, tx, actor, AuditList, "reading", "", patientID,
			fmt.Sprintf("%d readings since %s", len(out), records.Instant(since).Format(time.RFC3339)))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) readings(ctx context.Context, tx *sql.Tx, patientID string, since time.Time) ([]Reading, error) {
	out := []Reading{}
	byID := map[string]int{}
	err := records.QueryRows(ctx, tx, `SELECT r.id, r.patient_id, r.source, r.device_id, r.gateway_id, r.submitted_by, r.characteristic, r.raw,
			r.decoder_version, r.seq, r.observed_at, r.received_at, r.device_time, r.appointment_id, r.flags, r.identified_by, r.device_info,
			d.label
		FROM homekit_readings r LEFT JOIN homekit_devices d ON d.id = r.device_id
		WHERE r.patient_id = $1 AND r.observed_at >= $2 ORDER BY r.observed_at, r.id`,
		[]any{patientID, s.ts(since)}, func(r *sql.Rows) error {
			var x Reading
			var dev, gw, dt, appt, by, info, label sql.NullString
			var char, dv, seq sql.NullInt64
			var flags string
			var raw []byte
			if err := r.Scan(&x.ID, &x.PatientID, &x.Source, &dev, &gw, &x.SubmittedBy, &char, &raw,
				&dv, &seq, records.Time(&x.ObservedAt), records.Time(&x.ReceivedAt), &dt, &appt, &flags, &by, &info, &label); err != nil {
				return err
			}
			x.IdentifiedBy = IdentifiedBy(by.String)
			x.DeviceLabel = label.String
			if info.Valid {
				x.DeviceInfo = new(gatt.DeviceInfo)
				if err := json.Unmarshal([]byte(info.String), x.DeviceInfo); err != nil {
					return fmt.Errorf("reading %s: stored device info: %w", x.ID, err)
				}
			}
			x.DeviceID, x.GatewayID, x.DeviceTime, x.AppointmentID = dev.String, gw.String, dt.String, appt.String
			x.Raw = HexBytes(raw)
			if char.Valid {
				x.Characteristic = gatt.Some(gatt.Characteristic(char.Int64))
			}
			x.DecoderVersion = int(dv.Int64)
			if seq.Valid {
				x.Seq = gatt.Some(seq.Int64)
			}
			if flags != "" {
				x.Flags = strings.Split(flags, ",")
			}
			x.Measurements = []StoredMeasurement{}
			byID[x.ID] = len(out)
			out = append(out, x)
			return nil
		})
	if err != nil || len(out) == 0 {
		return out, err
	}
	err = records.QueryRows(ctx, tx, `SELECT m.reading_id, m.code, m.mdc, m.value, m.unit, m.absent, m.implausible, m.implausible_reason,
			m.outside, m.limit_low, m.limit_high
		FROM homekit_measurements m JOIN homekit_readings r ON r.id = m.reading_id
		WHERE r.patient_id = $1 AND r.observed_at >= $2 ORDER BY m.reading_id, m.idx`,
		[]any{patientID, s.ts(since)}, func(r *sql.Rows) error {
			var id string
			var m StoredMeasurement
			var mdc int64
			var value, low, high sql.NullString
			if err := r.Scan(&id, &m.Code, &mdc, &value, &m.Unit, &m.Absent, &m.Implausible, &m.ImplausibleReason,
				&m.Outside, &low, &high); err != nil {
				return err
			}
			m.LimitLow, m.LimitHigh = low.String, high.String
			m.MDC = gatt.MDC(mdc)
			if value.Valid {
				d, err := gatt.ParseDecimal(value.String)
				if err != nil {
					return fmt.Errorf("reading %s: stored value: %w", id, err)
				}
				m.Value = gatt.Some(d)
			}
			if i, ok := byID[id]; ok {
				out[i].Measurements = append(out[i].Measurements, m)
			}
			return nil
		})
	return out, err
}
