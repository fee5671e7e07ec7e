package gatt

import "strconv"

// Blood Pressure Measurement 0x2A35 (GATT Specification Supplement, Blood
// Pressure Measurement; Blood Pressure Service 1.0):
//
//	flags          uint8   bit0 kPa (else mmHg), bit1 time stamp, bit2 pulse
//	                       rate, bit3 user id, bit4 measurement status;
//	                       bits 5-7 reserved
//	systolic       SFLOAT
//	diastolic      SFLOAT
//	mean arterial  SFLOAT
//	time stamp     Date Time            if bit1
//	pulse rate     SFLOAT, /min         if bit2
//	user id        uint8, 255 unknown   if bit3
//	status         uint16               if bit4
const (
	bpKPa       = 1 << 0
	bpTimeStamp = 1 << 1
	bpPulseRate = 1 << 2
	bpUserID    = 1 << 3
	bpStatus    = 1 << 4
	bpKnown     = bpKPa | bpTimeStamp | bpPulseRate | bpUserID | bpStatus
)

// BloodPressureStatus is the Blood Pressure Measurement's status field.
type BloodPressureStatus struct {
	BodyMovement     bool           `json:"bodyMovement"`     // bit0
	CuffTooLoose     bool           `json:"cuffTooLoose"`     // bit1
	IrregularPulse   bool           `json:"irregularPulse"`   // bit2
	PulseRateRange   PulseRateRange `json:"pulseRateRange"`   // bits 3-4
	ImproperPosition bool           `json:"improperPosition"` // bit5
	Reserved         uint16         `json:"reserved,omitempty"`
}

// PulseRateRange is the pulse rate range detection of the status field.
type PulseRateRange uint8

// Pulse rate ranges.
const (
	PulseInRange    PulseRateRange = 0 // within the range
	PulseAboveRange PulseRateRange = 1 // exceeds the upper limit
	PulseBelowRange PulseRateRange = 2 // less than the lower limit
)

func (p PulseRateRange) String() string {
	switch p {
	case PulseInRange:
		return "in-range"
	case PulseAboveRange:
		return "above-upper-limit"
	case PulseBelowRange:
		return "below-lower-limit"
	}
	return "reserved-" + strconv.Itoa(int(p))
}

// MarshalText writes String.
func (p PulseRateRange) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

func bloodPressureStatus(s uint16) BloodPressureStatus {
	return BloodPressureStatus{
		BodyMovement:     s&(1<<0) != 0,
		CuffTooLoose:     s&(1<<1) != 0,
		IrregularPulse:   s&(1<<2) != 0,
		PulseRateRange:   PulseRateRange(s >> 3 & 3),
		ImproperPosition: s&(1<<5) != 0,
		Reserved:         s &^ 0x3F,
	}
}

func decodeBloodPressure(d *Decoded, r *reader) error {
	flags, err := r.u8("flags")
	if err != nil {
		return err
	}
	d.UnknownFlags = flags &^ bpKnown
	unit := UnitMmHg
	if flags&bpKPa != 0 {
		unit = UnitKPa
	}
	sys, err := r.sfloat("systolic")
	if err != nil {
		return err
	}
	dia, err := r.sfloat("diastolic")
	if err != nil {
		return err
	}
	mean, err := r.sfloat("mean arterial pressure")
	if err != nil {
		return err
	}
	d.Measurements = append(d.Measurements,
		measurement(LOINCSystolic, MDCPressBldNonInvSys, sys, unit),
		measurement(LOINCDiastolic, MDCPressBldNonInvDia, dia, unit),
		measurement(LOINCMeanBloodPressure, MDCPressBldNonInvMean, mean, unit))
	if flags&bpTimeStamp != 0 {
		if d.Time, err = r.dateTime("time stamp"); err != nil {
			return err
		}
	}
	if flags&bpPulseRate != 0 {
		pulse, err := r.sfloat("pulse rate")
		if err != nil {
			return err
		}
		m := measurement(LOINCHeartRate, MDCPulsRateNonInv, pulse, UnitPerMinute)
		m.Source = BloodPressureMonitor
		d.Measurements = append(d.Measurements, m)
	}
	if flags&bpUserID != 0 {
		id, err := r.u8("user id")
		if err != nil {
			return err
		}
		d.UserID = Some(id)
	}
	if flags&bpStatus != 0 {
		s, err := r.u16("measurement status")
		if err != nil {
			return err
		}
		d.BloodPressureStatus = Some(bloodPressureStatus(s))
	}
	return nil
}
