package gatt

import "strconv"

// LOINC codes (https://loinc.org) for the measurements, as the FHIR R4
// vital-signs profiles and the HL7 Personal Health Device (PHD) IG use them.
const (
	LOINCBodyTemperature    = "8310-5"  // Body temperature
	LOINCBloodPressurePanel = "85354-9" // Blood pressure panel (FHIR only; the decoder gives components)
	LOINCSystolic           = "8480-6"  // Systolic blood pressure
	LOINCDiastolic          = "8462-4"  // Diastolic blood pressure
	LOINCMeanBloodPressure  = "8478-0"  // Mean blood pressure
	LOINCHeartRate          = "8867-4"  // Heart rate (also the pulse of a cuff or an oximeter)
	LOINCSpO2               = "59408-5" // Oxygen saturation in Arterial blood by Pulse oximetry
	LOINCOxygenSaturation   = "2708-6"  // Oxygen saturation in Arterial blood (the FHIR R4 profile's code)
	LOINCBodyWeight         = "29463-7" // Body weight
	LOINCBMI                = "39156-5" // Body mass index (BMI) [Ratio]
	LOINCBodyHeight         = "8302-2"  // Body height
	LOINCGlucoseMass        = "41653-7" // Glucose [Mass/volume] in Capillary blood by Glucometer
	LOINCGlucoseMoles       = "14743-9" // Glucose [Moles/volume] in Capillary blood by Glucometer
)

// UCUM units (https://ucum.org) of the measurements.
const (
	UnitCelsius    = "Cel"
	UnitFahrenheit = "[degF]"
	UnitMmHg       = "mm[Hg]"
	UnitKPa        = "kPa"
	UnitPercent    = "%"
	UnitPerMinute  = "/min"
	UnitKilogram   = "kg"
	UnitPound      = "[lb_av]"
	UnitKgPerM2    = "kg/m2"
	UnitMeter      = "m"
	UnitInch       = "[in_i]"
	UnitMgPerDL    = "mg/dL"
	UnitMmolPerL   = "mmol/L"
	UnitKilojoule  = "kJ"
)

// MDC is a code of the IEEE 11073-10101 nomenclature (FHIR system
// urn:iso:std:iso:11073:10101) in its 32-bit form: partition << 16 | term
// code. All codes here are in partition 2, SCADA (2 << 16 = 131072).
type MDC uint32

// MDC codes of the measurements. Term codes are those of IEEE 11073-10101 as
// the 11073-104xx device specializations use them (for example MDC_TEMP_BODY
// = 19292, 131072 + 19292 = 150364); they agree with the HL7 PHD IG examples.
const (
	MDCPressBldNonInv     MDC = 150020 // MDC_PRESS_BLD_NONINV (18948), the panel
	MDCPressBldNonInvSys  MDC = 150021 // MDC_PRESS_BLD_NONINV_SYS (18949)
	MDCPressBldNonInvDia  MDC = 150022 // MDC_PRESS_BLD_NONINV_DIA (18950)
	MDCPressBldNonInvMean MDC = 150023 // MDC_PRESS_BLD_NONINV_MEAN (18951)
	MDCPulsRateNonInv     MDC = 149546 // MDC_PULS_RATE_NON_INV (18474), pulse from a cuff
	MDCPulsOximPulsRate   MDC = 149530 // MDC_PULS_OXIM_PULS_RATE (18458), pulse from an oximeter
	MDCECGHeartRate       MDC = 147842 // MDC_ECG_HEART_RATE (16770), heart rate sensor
	MDCPulsOximSatO2      MDC = 150456 // MDC_PULS_OXIM_SAT_O2 (19384)
	MDCTempBody           MDC = 150364 // MDC_TEMP_BODY (19292)
	MDCMassBodyActual     MDC = 188736 // MDC_MASS_BODY_ACTUAL (57664)
	MDCLenBodyActual      MDC = 188740 // MDC_LEN_BODY_ACTUAL (57668)
	MDCRatioMassBodyLenSq MDC = 188752 // MDC_RATIO_MASS_BODY_LEN_SQ (57680)

	// Glucose, one code per sample type (IEEE 11073-10417 glucose meter).
	// Note 160368 is undetermined plasma, not capillary whole blood.
	MDCConcGluGen                    MDC = 160020 // MDC_CONC_GLU_GEN (28948)
	MDCConcGluCapillaryWholeBlood    MDC = 160184 // MDC_CONC_GLU_CAPILLARY_WHOLEBLOOD (29112)
	MDCConcGluCapillaryPlasma        MDC = 160188 // MDC_CONC_GLU_CAPILLARY_PLASMA (29116)
	MDCConcGluVenousWholeBlood       MDC = 160192 // MDC_CONC_GLU_VENOUS_WHOLEBLOOD (29120)
	MDCConcGluVenousPlasma           MDC = 160196 // MDC_CONC_GLU_VENOUS_PLASMA (29124)
	MDCConcGluArterialWholeBlood     MDC = 160200 // MDC_CONC_GLU_ARTERIAL_WHOLEBLOOD (29128)
	MDCConcGluArterialPlasma         MDC = 160204 // MDC_CONC_GLU_ARTERIAL_PLASMA (29132)
	MDCConcGluControl                MDC = 160208 // MDC_CONC_GLU_CONTROL (29136)
	MDCConcGluISF                    MDC = 160212 // MDC_CONC_GLU_ISF (29140)
	MDCConcGluUndeterminedWholeBlood MDC = 160364 // MDC_CONC_GLU_UNDETERMINED_WHOLEBLOOD (29292)
	MDCConcGluUndeterminedPlasma     MDC = 160368 // MDC_CONC_GLU_UNDETERMINED_PLASMA (29296)
)

// String is the reference identifier, e.g. "MDC_PRESS_BLD_NONINV_SYS".
func (c MDC) String() string {
	switch c {
	case MDCPressBldNonInv:
		return "MDC_PRESS_BLD_NONINV"
	case MDCPressBldNonInvSys:
		return "MDC_PRESS_BLD_NONINV_SYS"
	case MDCPressBldNonInvDia:
		return "MDC_PRESS_BLD_NONINV_DIA"
	case MDCPressBldNonInvMean:
		return "MDC_PRESS_BLD_NONINV_MEAN"
	case MDCPulsRateNonInv:
		return "MDC_PULS_RATE_NON_INV"
	case MDCPulsOximPulsRate:
		return "MDC_PULS_OXIM_PULS_RATE"
	case MDCECGHeartRate:
		return "MDC_ECG_HEART_RATE"
	case MDCPulsOximSatO2:
		return "MDC_PULS_OXIM_SAT_O2"
	case MDCTempBody:
		return "MDC_TEMP_BODY"
	case MDCMassBodyActual:
		return "MDC_MASS_BODY_ACTUAL"
	case MDCLenBodyActual:
		return "MDC_LEN_BODY_ACTUAL"
	case MDCRatioMassBodyLenSq:
		return "MDC_RATIO_MASS_BODY_LEN_SQ"
	case MDCConcGluGen:
		return "MDC_CONC_GLU_GEN"
	case MDCConcGluCapillaryWholeBlood:
		return "MDC_CONC_GLU_CAPILLARY_WHOLEBLOOD"
	case MDCConcGluCapillaryPlasma:
		return "MDC_CONC_GLU_CAPILLARY_PLASMA"
	case MDCConcGluVenousWholeBlood:
		return "MDC_CONC_GLU_VENOUS_WHOLEBLOOD"
	case MDCConcGluVenousPlasma:
		return "MDC_CONC_GLU_VENOUS_PLASMA"
	case MDCConcGluArterialWholeBlood:
		return "MDC_CONC_GLU_ARTERIAL_WHOLEBLOOD"
	case MDCConcGluArterialPlasma:
		return "MDC_CONC_GLU_ARTERIAL_PLASMA"
	case MDCConcGluControl:
		return "MDC_CONC_GLU_CONTROL"
	case MDCConcGluISF:
		return "MDC_CONC_GLU_ISF"
	case MDCConcGluUndeterminedWholeBlood:
		return "MDC_CONC_GLU_UNDETERMINED_WHOLEBLOOD"
	case MDCConcGluUndeterminedPlasma:
		return "MDC_CONC_GLU_UNDETERMINED_PLASMA"
	}
	return "MDC(" + strconv.FormatUint(uint64(c), 10) + ")"
}

// DeviceType names the kind of device that counted a pulse or heart rate:
// one LOINC code, 8867-4, covers all three.
type DeviceType string

// Device types.
const (
	BloodPressureMonitor DeviceType = "blood-pressure-monitor"
	PulseOximeter        DeviceType = "pulse-oximeter"
	HeartRateSensor      DeviceType = "heart-rate-sensor"
)
