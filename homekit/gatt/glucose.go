package gatt

import "strconv"

// Glucose Measurement 0x2A18 (GATT Specification Supplement, Glucose
// Measurement; Glucose Service 1.0):
//
//	flags             uint8   bit0 time offset, bit1 concentration, type and
//	                          sample location, bit2 mol/L (else kg/L), bit3
//	                          sensor status annunciation, bit4 context
//	                          information follows; bits 5-7 reserved
//	sequence number   uint16
//	base time         Date Time
//	time offset       sint16, minutes            if bit0
//	concentration     SFLOAT, kg/L or mol/L      if bit1
//	type, location    uint8: type in bits 0-3,   if bit1
//	                  sample location in 4-7
//	sensor status     uint16                     if bit3
//
// A meter sends stored records when asked through the Record Access Control
// Point (racp.go). Concentrations are converted to the units a meter shows,
// exactly, by moving the exponent: 1 kg/L = 100 000 mg/dL (10^5) and
// 1 mol/L = 1000 mmol/L (10^3). 0.0055 mol/L (55 × 10^-4) is 5.5 mmol/L.
const (
	gluTimeOffset    = 1 << 0
	gluConcentration = 1 << 1
	gluMolPerL       = 1 << 2
	gluSensorStatus  = 1 << 3
	gluContext       = 1 << 4
	gluKnown         = gluTimeOffset | gluConcentration | gluMolPerL | gluSensorStatus | gluContext
)

// GlucoseType is the sample type of a glucose measurement.
type GlucoseType uint8

// Glucose sample types.
const (
	GlucoseCapillaryWholeBlood    GlucoseType = 1
	GlucoseCapillaryPlasma        GlucoseType = 2
	GlucoseVenousWholeBlood       GlucoseType = 3
	GlucoseVenousPlasma           GlucoseType = 4
	GlucoseArterialWholeBlood     GlucoseType = 5
	GlucoseArterialPlasma         GlucoseType = 6
	GlucoseUndeterminedWholeBlood GlucoseType = 7
	GlucoseUndeterminedPlasma     GlucoseType = 8
	GlucoseISF                    GlucoseType = 9 // interstitial fluid
	GlucoseControlSolution        GlucoseType = 10
)

func (t GlucoseType) String() string {
	switch t {
	case GlucoseCapillaryWholeBlood:
		return "capillary-whole-blood"
	case GlucoseCapillaryPlasma:
		return "capillary-plasma"
	case GlucoseVenousWholeBlood:
		return "venous-whole-blood"
	case GlucoseVenousPlasma:
		return "venous-plasma"
	case GlucoseArterialWholeBlood:
		return "arterial-whole-blood"
	case GlucoseArterialPlasma:
		return "arterial-plasma"
	case GlucoseUndeterminedWholeBlood:
		return "undetermined-whole-blood"
	case GlucoseUndeterminedPlasma:
		return "undetermined-plasma"
	case GlucoseISF:
		return "interstitial-fluid"
	case GlucoseControlSolution:
		return "control-solution"
	}
	return "reserved-" + strconv.Itoa(int(t))
}

// MarshalText writes String.
func (t GlucoseType) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// MDC is the IEEE 11073-10101 code of a concentration in this sample type,
// MDC_CONC_GLU_GEN for a reserved type.
func (t GlucoseType) MDC() MDC {
	switch t {
	case GlucoseCapillaryWholeBlood:
		return MDCConcGluCapillaryWholeBlood
	case GlucoseCapillaryPlasma:
		return MDCConcGluCapillaryPlasma
	case GlucoseVenousWholeBlood:
		return MDCConcGluVenousWholeBlood
	case GlucoseVenousPlasma:
		return MDCConcGluVenousPlasma
	case GlucoseArterialWholeBlood:
		return MDCConcGluArterialWholeBlood
	case GlucoseArterialPlasma:
		return MDCConcGluArterialPlasma
	case GlucoseUndeterminedWholeBlood:
		return MDCConcGluUndeterminedWholeBlood
	case GlucoseUndeterminedPlasma:
		return MDCConcGluUndeterminedPlasma
	case GlucoseISF:
		return MDCConcGluISF
	case GlucoseControlSolution:
		return MDCConcGluControl
	}
	return MDCConcGluGen
}

// SampleLocation is where a glucose sample was taken.
type SampleLocation uint8

// Sample locations.
const (
	LocationFinger          SampleLocation = 1
	LocationAST             SampleLocation = 2 // alternate site test
	LocationEarlobe         SampleLocation = 3
	LocationControlSolution SampleLocation = 4
	LocationNotAvailable    SampleLocation = 15
)

func (l SampleLocation) String() string {
	switch l {
	case LocationFinger:
		return "finger"
	case LocationAST:
		return "alternate-site"
	case LocationEarlobe:
		return "earlobe"
	case LocationControlSolution:
		return "control-solution"
	case LocationNotAvailable:
		return "not-available"
	}
	return "reserved-" + strconv.Itoa(int(l))
}

// MarshalText writes String.
func (l SampleLocation) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// GlucoseSensorStatus is the Sensor Status Annunciation field.
type GlucoseSensorStatus struct {
	DeviceBatteryLow       bool   `json:"deviceBatteryLow"`       // bit0, at the time of measurement
	SensorMalfunction      bool   `json:"sensorMalfunction"`      // bit1
	SampleSizeInsufficient bool   `json:"sampleSizeInsufficient"` // bit2
	StripInsertionError    bool   `json:"stripInsertionError"`    // bit3
	StripTypeIncorrect     bool   `json:"stripTypeIncorrect"`     // bit4
	ResultTooHigh          bool   `json:"resultTooHigh"`          // bit5, higher than the device can process
	ResultTooLow           bool   `json:"resultTooLow"`           // bit6, lower than the device can process
	TemperatureTooHigh     bool   `json:"temperatureTooHigh"`     // bit7
	TemperatureTooLow      bool   `json:"temperatureTooLow"`      // bit8
	ReadInterrupted        bool   `json:"readInterrupted"`        // bit9, strip pulled too soon
	GeneralDeviceFault     bool   `json:"generalDeviceFault"`     // bit10
	TimeFault              bool   `json:"timeFault"`              // bit11
	Reserved               uint16 `json:"reserved,omitempty"`     // bits 12-15
}

func glucoseSensorStatus(s uint16) GlucoseSensorStatus {
	return GlucoseSensorStatus{
		DeviceBatteryLow:       s&(1<<0) != 0,
		SensorMalfunction:      s&(1<<1) != 0,
		SampleSizeInsufficient: s&(1<<2) != 0,
		StripInsertionError:    s&(1<<3) != 0,
		StripTypeIncorrect:     s&(1<<4) != 0,
		ResultTooHigh:          s&(1<<5) != 0,
		ResultTooLow:           s&(1<<6) != 0,
		TemperatureTooHigh:     s&(1<<7) != 0,
		TemperatureTooLow:      s&(1<<8) != 0,
		ReadInterrupted:        s&(1<<9) != 0,
		GeneralDeviceFault:     s&(1<<10) != 0,
		TimeFault:              s&(1<<11) != 0,
		Reserved:               s & 0xF000,
	}
}

func decodeGlucose(d *Decoded, r *reader) error {
	flags, err := r.u8("flags")
	if err != nil {
		return err
	}
	d.UnknownFlags = flags &^ gluKnown
	seq, err := r.u16("sequence number")
	if err != nil {
		return err
	}
	d.SequenceNumber = Some(seq)
	if d.Time, err = r.dateTime("base time"); err != nil {
		return err
	}
	if flags&gluTimeOffset != 0 {
		off, err := r.u16("time offset")
		if err != nil {
			return err
		}
		d.TimeOffsetMinutes = Some(int16(off))
	}
	if flags&gluConcentration != 0 {
		c, err := r.sfloat("concentration")
		if err != nil {
			return err
		}
		tl, err := r.u8("type and sample location")
		if err != nil {
			return err
		}
		typ := GlucoseType(tl & 0x0F)
		d.GlucoseType = Some(typ)
		d.SampleLocation = Some(SampleLocation(tl >> 4))
		m := measurement(LOINCGlucoseMass, typ.MDC(), c.shift(5), UnitMgPerDL) // kg/L -> mg/dL
		if flags&gluMolPerL != 0 {
			m = measurement(LOINCGlucoseMoles, typ.MDC(), c.shift(3), UnitMmolPerL) // mol/L -> mmol/L
		}
		d.Measurements = append(d.Measurements, m)
	}
	if flags&gluSensorStatus != 0 {
		s, err := r.u16("sensor status annunciation")
		if err != nil {
			return err
		}
		d.SensorStatus = Some(glucoseSensorStatus(s))
	}
	d.ContextFollows = flags&gluContext != 0
	return nil
}
