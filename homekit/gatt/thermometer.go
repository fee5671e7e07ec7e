package gatt

import "strconv"

// Temperature Measurement 0x2A1C (GATT Specification Supplement, Temperature
// Measurement; Health Thermometer Service 1.0):
//
//	flags          uint8   bit0 Fahrenheit (else Celsius), bit1 time stamp,
//	                       bit2 temperature type; bits 3-7 reserved
//	temperature    FLOAT
//	time stamp     Date Time            if bit1
//	type           uint8                if bit2
const (
	tempFahrenheit = 1 << 0
	tempTimeStamp  = 1 << 1
	tempType       = 1 << 2
	tempKnownFlags = tempFahrenheit | tempTimeStamp | tempType
)

// TemperatureType is where the temperature was taken (GATT Specification
// Supplement, Temperature Type 0x2A1D). It maps to the Observation's bodySite.
type TemperatureType uint8

// Temperature types.
const (
	TempArmpit   TemperatureType = 1
	TempBody     TemperatureType = 2 // general
	TempEar      TemperatureType = 3 // usually earlobe
	TempFinger   TemperatureType = 4
	TempGITract  TemperatureType = 5 // gastro-intestinal tract
	TempMouth    TemperatureType = 6
	TempRectum   TemperatureType = 7
	TempToe      TemperatureType = 8
	TempTympanum TemperatureType = 9 // ear drum
)

func (t TemperatureType) String() string {
	switch t {
	case TempArmpit:
		return "armpit"
	case TempBody:
		return "body"
	case TempEar:
		return "ear"
	case TempFinger:
		return "finger"
	case TempGITract:
		return "gastrointestinal-tract"
	case TempMouth:
		return "mouth"
	case TempRectum:
		return "rectum"
	case TempToe:
		return "toe"
	case TempTympanum:
		return "tympanum"
	}
	return "reserved-" + strconv.Itoa(int(t))
}

// MarshalText writes String.
func (t TemperatureType) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

func decodeTemperature(d *Decoded, r *reader) error {
	flags, err := r.u8("flags")
	if err != nil {
		return err
	}
	d.UnknownFlags = flags &^ tempKnownFlags
	v, err := r.float("temperature")
	if err != nil {
		return err
	}
	unit := UnitCelsius
	if flags&tempFahrenheit != 0 {
		unit = UnitFahrenheit
	}
	d.Measurements = append(d.Measurements, measurement(LOINCBodyTemperature, MDCTempBody, v, unit))
	if flags&tempTimeStamp != 0 {
		if d.Time, err = r.dateTime("time stamp"); err != nil {
			return err
		}
	}
	if flags&tempType != 0 {
		t, err := r.u8("temperature type")
		if err != nil {
			return err
		}
		d.TemperatureType = Some(TemperatureType(t))
	}
	return nil
}
