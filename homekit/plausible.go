package homekit

import (
	"fmt"
	"strconv"

	"vclinic/homekit/gatt"
)

// Plausibility. A value outside these ranges is almost certainly a device
// fault, a cuff put on wrongly or a typing slip, but it is what the device
// (or the patient) said: ingestion stores it, flags it implausible with the
// reason, and leaves the judgement to the clinician. Nothing is dropped.
//
// The ranges are wide on purpose; they are the outer limits of what a
// living adult or child measured at home can show, not reference ranges:
//
//   - Blood pressure: the cuffs of ISO 81060-2 validated monitors measure
//     about 0-300 mmHg; a systolic below 40 or above 300 mmHg, a diastolic
//     below 20 or above 200 mmHg, is not a reading of a conscious patient at
//     home. The mean lies between them: 20-250 mmHg.
//   - Pulse: 20-300 /min. Below 20 is asystole or a counting fault; 300 is
//     the upper end of atrial flutter with 1:1 conduction.
//   - SpO2: 50-100 %. Pulse oximeters are validated (ISO 80601-2-61) over
//     70-100 % and unreliable below; above 100 % is impossible.
//   - Body temperature: 30-45 °C (86-113 °F). Below 30 °C is severe
//     hypothermia that a home thermometer does not read; 45 °C is beyond
//     survivable hyperthermia.
//   - Body weight: 0.5-500 kg (a newborn to the heaviest recorded people).
//   - Body height: 0.3-2.8 m. BMI: 5-150 kg/m2.
//   - Capillary glucose: 0.5-50 mmol/L (9-900 mg/dL); meters display
//     "LO"/"HI" outside roughly 0.6-33 mmol/L.
//
// Units are converted before the check: kPa × 7.50062 = mmHg,
// (°F − 32) / 1.8 = °C, lb × 0.45359237 = kg, inch × 0.0254 = m,
// mg/dL ÷ 18.016 = mmol/L (glucose, 180.16 g/mol).
type plausibleRange struct {
	unit     string // the unit the limits are in
	min, max float64
}

var plausibleRanges = map[string]plausibleRange{
	gatt.LOINCSystolic:          {gatt.UnitMmHg, 40, 300},
	gatt.LOINCDiastolic:         {gatt.UnitMmHg, 20, 200},
	gatt.LOINCMeanBloodPressure: {gatt.UnitMmHg, 20, 250},
	gatt.LOINCHeartRate:         {gatt.UnitPerMinute, 20, 300},
	gatt.LOINCSpO2:              {gatt.UnitPercent, 50, 100},
	gatt.LOINCOxygenSaturation:  {gatt.UnitPercent, 50, 100},
	gatt.LOINCBodyTemperature:   {gatt.UnitCelsius, 30, 45},
	gatt.LOINCBodyWeight:        {gatt.UnitKilogram, 0.5, 500},
	gatt.LOINCBodyHeight:        {gatt.UnitMeter, 0.3, 2.8},
	gatt.LOINCBMI:               {gatt.UnitKgPerM2, 5, 150},
	gatt.LOINCGlucoseMoles:      {gatt.UnitMmolPerL, 0.5, 50},
	gatt.LOINCGlucoseMass:       {gatt.UnitMmolPerL, 0.5, 50},
}

// toUnit converts v from unit to want, or reports that it cannot.
func toUnit(v float64, unit, want string) (float64, bool) {
	if unit == want {
		return v, true
	}
	switch unit + ">" + want {
	case gatt.UnitKPa + ">" + gatt.UnitMmHg:
		return v * 7.50062, true
	case gatt.UnitFahrenheit + ">" + gatt.UnitCelsius:
		return (v - 32) / 1.8, true
	case gatt.UnitPound + ">" + gatt.UnitKilogram:
		return v * 0.45359237, true
	case gatt.UnitInch + ">" + gatt.UnitMeter:
		return v * 0.0254, true
	case gatt.UnitMgPerDL + ">" + gatt.UnitMmolPerL:
		return v / 18.016, true
	}
	return 0, false
}

// implausible returns why a measured value is implausible, or "" when it is
// plausible, special (absent) or of a code without a range.
func implausible(code string, v gatt.Decimal, unit string) string {
	r, ok := plausibleRanges[code]
	if !ok || v.IsSpecial() {
		return ""
	}
	x, ok := toUnit(v.Float64(), unit, r.unit)
	if !ok {
		return fmt.Sprintf("unit %s is not one of this measurement's", unit)
	}
	if x < r.min || x > r.max {
		return fmt.Sprintf("%s %s is outside the plausible %s-%s %s", v, unit, fmtFloat(r.min), fmtFloat(r.max), r.unit)
	}
	return ""
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
