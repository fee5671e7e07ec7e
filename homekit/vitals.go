package homekit

import (
	"sort"
	"time"
)

// Vital is the newest value of one quantity from one device and source, as a
// visit shows it live, with the values before it for a small trend line.
type Vital struct {
	Code string // LOINC
	// Value is the number exactly as the device gave it ("37.60"), "" when
	// the device sent a special value (see Absent).
	Value  string
	Unit   string // UCUM
	Absent string // FHIR dataAbsentReason code
	// Flag says the value is implausible, with why.
	Flag     string
	At       time.Time // when the edge observed it, UTC
	DeviceID string
	Source   string // SourceDevice or SourcePatientEntered
	// Via says how the value came: ViaBluetooth (the patient's page),
	// ViaGateway, ViaPatient (typed by the patient) or ViaStaff (typed by
	// staff); DeviceLabel names the kit device.
	Via, DeviceLabel string
	// ReadingID is the stored reading the value is of; ReceivedAt when
	// the server stored it.
	ReadingID  string
	ReceivedAt time.Time
	// Outside is OutsideBelow or OutsideAbove when the value lay outside
	// the patient's limits when it arrived; LimitLow and LimitHigh are the
	// limits then in force ("" when none).
	Outside, LimitLow, LimitHigh string
	// Trend holds up to MaxTrend earlier values of the same code, device and
	// source, oldest first.
	Trend []string
}

// How a value came to the clinic.
const (
	ViaBluetooth = "bluetooth" // from the device through the patient's browser
	ViaGateway   = "gateway"   // from the device through the home gateway
	ViaPatient   = "patient"   // typed by the patient
	ViaStaff     = "staff"     // typed by staff
)

// via says how rd came.
func via(rd Reading) string {
	switch {
	case rd.Source == SourcePatientEntered && rd.SubmittedBy != "" && rd.SubmittedBy != rd.PatientID:
		return ViaStaff // typed by hand, by someone else than the patient
	case rd.Source == SourcePatientEntered:
		return ViaPatient
	case rd.Source != SourceDevice:
		return ViaStaff
	case rd.GatewayID != "":
		return ViaGateway
	}
	return ViaBluetooth
}

// MaxTrend is how many earlier values a Vital carries.
const MaxTrend = 10

// Vitals turns a patient's recent readings (oldest first, as Recent answers
// them) into the newest value per code, device and source, each with its
// earlier values as a trend, oldest first.
func Vitals(recent []Reading) []Vital {
	latest := map[string]*Vital{}
	var order []string
	for _, rd := range recent {
		for _, m := range rd.Measurements {
			key := m.Code + "|" + rd.DeviceID + "|" + rd.Source
			v := Vital{Code: m.Code, Unit: m.Unit, Absent: m.Absent, At: rd.ObservedAt.UTC(),
				DeviceID: rd.DeviceID, Source: rd.Source, ReadingID: rd.ID, ReceivedAt: rd.ReceivedAt.UTC(), Via: via(rd), DeviceLabel: rd.DeviceLabel,
				Outside: m.Outside, LimitLow: m.LimitLow, LimitHigh: m.LimitHigh}
			if m.Value.Valid {
				v.Value = m.Value.V.String()
			}
			if m.Implausible {
				v.Flag = m.ImplausibleReason
				if v.Flag == "" {
					v.Flag = "implausible value"
				}
			}
			if prev, ok := latest[key]; ok {
				v.Trend = append(prev.Trend, prev.Value)
				if len(v.Trend) > MaxTrend {
					v.Trend = v.Trend[len(v.Trend)-MaxTrend:]
				}
			} else {
				order = append(order, key)
			}
			latest[key] = &v
		}
	}
	out := make([]Vital, 0, len(order))
	for _, k := range order {
		out = append(out, *latest[k])
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}
