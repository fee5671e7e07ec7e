package homekit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"vclinic/homekit/gatt"
	"vclinic/internal/records"
)

// IdentifiedBy says what Device.Address holds.
type IdentifiedBy string

// Device identifiers.
const (
	// ByBluetoothAddress: the EUI-48 Bluetooth device address, as
	// "00-1C-05-FF-E8-74" (the gateway sees it).
	ByBluetoothAddress IdentifiedBy = "bluetooth-address"
	// BySystemID: the IEEE 11073 System Id (EUI-64) of the Device
	// Information Service.
	BySystemID IdentifiedBy = "system-id"
	// ByWebBluetoothID: the opaque id a browser's Web Bluetooth gives the
	// device (browsers hide the address).
	ByWebBluetoothID IdentifiedBy = "web-bluetooth-id"
	// BySerial: the manufacturer's serial number.
	BySerial IdentifiedBy = "serial"
)

// Device is one device of a patient's kit.
type Device struct {
	ID           string          `json:"id"`
	PatientID    string          `json:"patientId"`
	Kind         gatt.DeviceKind `json:"type"`
	Model        string          `json:"model"`
	Address      string          `json:"address"` // Bluetooth address, system id, Web Bluetooth id or serial
	IdentifiedBy IdentifiedBy    `json:"identifiedBy"`
	Label        string          `json:"label"`
	CreatedAt    time.Time       `json:"createdAt"`
}

func (d Device) check() error {
	switch {
	case strings.TrimSpace(d.PatientID) == "":
		return because(ErrInvalid, "patient: required")
	case !slices.Contains(gatt.Kinds(), d.Kind):
		return because(ErrInvalid, "type %q: want one of %v", d.Kind, gatt.Kinds())
	case !slices.Contains([]IdentifiedBy{ByBluetoothAddress, BySystemID, ByWebBluetoothID, BySerial}, d.IdentifiedBy):
		return because(ErrInvalid, "identifiedBy %q: want bluetooth-address, system-id, web-bluetooth-id or serial", d.IdentifiedBy)
	case strings.TrimSpace(d.Address) == "":
		return because(ErrInvalid, "address: required")
	}
	for _, f := range []struct{ name, v string }{{"model", d.Model}, {"label", d.Label}, {"address", d.Address}} {
		if reason := records.CheckText(f.v, 200); reason != "" {
			return because(ErrInvalid, "%s: %s", f.name, reason)
		}
	}
	return nil
}

// AddDevice adds a device to d.PatientID's kit and returns it with its id.
func (s *Store) AddDevice(ctx context.Context, actor Actor, d Device) (Device, error) {
	if err := d.check(); err != nil {
		return Device{}, err
	}
	d.ID = newID()
	d.CreatedAt = records.Instant(s.now())
	err := s.db.InTx(ctx, "add device", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO homekit_devices (id, patient_id, type, model, address, identified_by, label, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			d.ID, d.PatientID, d.Kind, d.Model, d.Address, d.IdentifiedBy, d.Label, s.ts(d.CreatedAt))
		if err != nil {
			return err
		}
		return s.auditRecord(ctx, tx, actor, AuditCreate, "device", d.ID, d.PatientID, string(d.Kind))
	})
	if err != nil {
		return Device{}, err
	}
	return d, nil
}

const deviceColumns = `id, patient_id, type, model, address, identified_by, label, created_at`

func scanDevice(r interface{ Scan(...any) error }) (Device, error) {
	var d Device
	err := r.Scan(&d.ID, &d.PatientID, &d.Kind, &d.Model, &d.Address, &d.IdentifiedBy, &d.Label, records.Time(&d.CreatedAt))
	return d, err
}

// ListDevices returns a patient's kit, oldest first, and records that actor
// read it.
func (s *Store) ListDevices(ctx context.Context, actor Actor, patientID string) ([]Device, error) {
	var out []Device
	err := s.db.InTx(ctx, "list devices of patient "+patientID, func(tx *sql.Tx) error {
		var err error
		if out, err = devicesOf(ctx, tx, patientID); err != nil {
			return err
		}
		return s.auditRecord(ctx, tx, actor, AuditList, "device", "", patientID, fmt.Sprintf("%d devices", len(out)))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// devicesOf reads a patient's kit, oldest first.
func devicesOf(ctx context.Context, q records.Querier, patientID string) ([]Device, error) {
	out := []Device{}
	err := records.QueryRows(ctx, q, `SELECT `+deviceColumns+` FROM homekit_devices WHERE patient_id = $1 ORDER BY created_at, id`,
		[]any{patientID}, func(r *sql.Rows) error {
			d, err := scanDevice(r)
			out = append(out, d)
			return err
		})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// GetDevice returns one device.
func (s *Store) GetDevice(ctx context.Context, id string) (Device, error) {
	d, err := scanDevice(s.db.QueryRowContext(ctx, `SELECT `+deviceColumns+` FROM homekit_devices WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Device{}, because(ErrNotFound, "no device %s", id)
	}
	return d, err
}

// Gateway is a patient's Linux home gateway, which forwards the readings of
// the kit with a token of its own (subject = gateway id).
type Gateway struct {
	ID        string    `json:"id"`
	PatientID string    `json:"patientId"`
	Label     string    `json:"label"`
	CreatedAt time.Time `json:"createdAt"`
}

// AddGateway registers a gateway for g.PatientID; an empty g.ID gets a new
// one.
func (s *Store) AddGateway(ctx context.Context, actor Actor, g Gateway) (Gateway, error) {
	if strings.TrimSpace(g.PatientID) == "" {
		return Gateway{}, because(ErrInvalid, "patient: required")
	}
	if g.ID == "" {
		g.ID = newID()
	}
	if !records.ValidID(g.ID) {
		return Gateway{}, because(ErrInvalid, "id %q: want 1-64 letters, digits, - or _", g.ID)
	}
	if reason := records.CheckText(g.Label, 100); reason != "" {
		return Gateway{}, because(ErrInvalid, "label: %s", reason)
	}
	g.CreatedAt = records.Instant(s.now())
	err := s.db.InTx(ctx, "add gateway", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO homekit_gateways (id, patient_id, label, created_at) VALUES ($1, $2, $3, $4)`,
			g.ID, g.PatientID, g.Label, s.ts(g.CreatedAt)); err != nil {
			return err
		}
		return s.auditRecord(ctx, tx, actor, AuditCreate, "gateway", g.ID, g.PatientID, "")
	})
	if records.Unique(err) {
		return Gateway{}, because(ErrConflict, "gateway %s is registered already", g.ID)
	}
	if err != nil {
		return Gateway{}, err
	}
	return g, nil
}

// GatewayPatient returns the patient whose kit a gateway serves; a revoked
// gateway serves none.
func (s *Store) GatewayPatient(ctx context.Context, gatewayID string) (string, error) {
	var pid string
	err := s.db.QueryRowContext(ctx, `SELECT patient_id FROM homekit_gateways WHERE id = $1 AND revoked_at IS NULL`, gatewayID).Scan(&pid)
	if errors.Is(err, sql.ErrNoRows) {
		return "", because(ErrNotFound, "no gateway %s, or it was revoked", gatewayID)
	}
	return pid, err
}

// Expectable lists the LOINC codes an appointment may expect.
func Expectable() []string {
	return []string{gatt.LOINCBodyTemperature, gatt.LOINCBloodPressurePanel, gatt.LOINCSystolic, gatt.LOINCDiastolic, gatt.LOINCMeanBloodPressure,
		gatt.LOINCHeartRate, gatt.LOINCSpO2, gatt.LOINCBodyWeight, gatt.LOINCBMI, gatt.LOINCBodyHeight, gatt.LOINCGlucoseMass, gatt.LOINCGlucoseMoles}
}

// SetExpected says which measurements (LOINC codes) an appointment of a
// patient expects, replacing what it expected before. The blood pressure
// panel 85354-9 counts as arrived when a systolic pressure does.
func (s *Store) SetExpected(ctx context.Context, actor Actor, appointmentID, patientID string, codes []string) error {
	if appointmentID == "" || patientID == "" {
		return because(ErrInvalid, "appointment and patient: required")
	}
	for _, c := range codes {
		if !slices.Contains(Expectable(), c) {
			return because(ErrInvalid, "code %q: want one of %v", c, Expectable())
		}
	}
	codes = slices.Compact(slices.Sorted(slices.Values(codes)))
	return s.db.InTx(ctx, "set expected measurements", func(tx *sql.Tx) error {
		var other string
		err := tx.QueryRowContext(ctx, `SELECT patient_id FROM homekit_expected WHERE appointment_id = $1 AND patient_id <> $2 LIMIT 1`,
			appointmentID, patientID).Scan(&other)
		if err == nil {
			return because(ErrInvalid, "appointment %s belongs to another patient", appointmentID)
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM homekit_expected WHERE appointment_id = $1`, appointmentID); err != nil {
			return err
		}
		for _, c := range codes {
			if _, err := tx.ExecContext(ctx, `INSERT INTO homekit_expected (appointment_id, patient_id, code) VALUES ($1, $2, $3)`,
				appointmentID, patientID, c); err != nil {
				return err
			}
		}
		return s.auditRecord(ctx, tx, actor, AuditUpdate, "expected", appointmentID, patientID, strings.Join(codes, ","))
	})
}

// ExpectedMeasurement is one measurement an appointment expects, and
// whether it has arrived.
type ExpectedMeasurement struct {
	Code    string `json:"code"` // LOINC
	Arrived bool   `json:"arrived"`
}

// Expected returns what an appointment of patientID's expects, by code, with
// arrived set when a reading with that code from the patient was observed at
// or after since (when the appointment's link opened), and records that
// actor read it (whether a patient's measurements arrived is their data).
func (s *Store) Expected(ctx context.Context, actor Actor, appointmentID, patientID string, since time.Time) ([]ExpectedMeasurement, error) {
	var out []ExpectedMeasurement
	err := s.db.InTx(ctx, "expected measurements of appointment "+appointmentID, func(tx *sql.Tx) error {
		out = []ExpectedMeasurement{}
		err := records.QueryRows(ctx, tx, `SELECT code FROM homekit_expected WHERE appointment_id = $1 AND patient_id = $2 ORDER BY code`,
			[]any{appointmentID, patientID}, func(r *sql.Rows) error {
				var e ExpectedMeasurement
				err := r.Scan(&e.Code)
				out = append(out, e)
				return err
			})
		if err != nil {
			return err
		}
		for i, e := range out {
			code := e.Code
			if code == gatt.LOINCBloodPressurePanel {
				code = gatt.LOINCSystolic
			}
			var n int
			err := tx.QueryRowContext(ctx, `SELECT count(*) FROM homekit_measurements m
				JOIN homekit_readings r ON r.id = m.reading_id
				WHERE r.patient_id = $1 AND m.code = $2 AND r.observed_at >= $3`,
				patientID, code, s.ts(since)).Scan(&n)
			if err != nil {
				return err
			}
			out[i].Arrived = n > 0
		}
		return s.auditRecord(ctx, tx, actor, AuditRead, "expected", appointmentID, patientID,
			fmt.Sprintf("%d expected measurements", len(out)))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Kit returns a patient's devices and gateways, oldest first, and records
// that actor read them.
func (s *Store) Kit(ctx context.Context, actor Actor, patientID string) ([]Device, []Gateway, error) {
	var ds []Device
	var gs []Gateway
	err := s.db.InTx(ctx, "kit of patient "+patientID, func(tx *sql.Tx) error {
		var err error
		if ds, err = devicesOf(ctx, tx, patientID); err != nil {
			return err
		}
		gs = []Gateway{}
		err = records.QueryRows(ctx, tx, `SELECT id, patient_id, label, created_at FROM homekit_gateways WHERE patient_id = $1 ORDER BY created_at, id`,
			[]any{patientID}, func(r *sql.Rows) error {
				var g Gateway
				err := r.Scan(&g.ID, &g.PatientID, &g.Label, records.Time(&g.CreatedAt))
				gs = append(gs, g)
				return err
			})
		if err != nil {
			return err
		}
		return s.auditRecord(ctx, tx, actor, AuditList, "device", "", patientID,
			fmt.Sprintf("%d devices, %d gateways", len(ds), len(gs)))
	})
	if err != nil {
		return nil, nil, err
	}
	return ds, gs, nil
}

// expectedPatient is the patient whose expected measurements appointment
// appointmentID holds, "" when it holds none (for an API without the
// clinic's appointments to ask).
func (s *Store) expectedPatient(ctx context.Context, appointmentID string) (string, error) {
	var pid string
	err := s.db.QueryRowContext(ctx, `SELECT patient_id FROM homekit_expected WHERE appointment_id = $1 LIMIT 1`, appointmentID).Scan(&pid)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return pid, err
}
