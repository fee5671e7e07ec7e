package homekit

import (
	"strconv"
	"strings"
	"time"

	"vclinic/homekit/gatt"
)

// FHIR R4 views of the kit and its readings, following the HL7 Personal
// Health Device (PHD) Implementation Guide 1.1.0
// (http://hl7.org/fhir/uv/phd/) and the FHIR R4 vital-signs profiles
// (http://hl7.org/fhir/R4/observation-vitalsigns.html).
//
// Each measurement is one Observation, except that a blood pressure's
// systolic, diastolic and mean pressures are the components of one panel
// Observation (85354-9); the cuff's pulse is an Observation of its own
// (8867-4). An Observation's id and identifier are "<reading id>-<LOINC
// code>": a reading is stored once, so exporting it again gives the same
// identifier and a receiver never files it twice.

// FHIR systems.
const (
	SystemLOINC             = "http://loinc.org"
	SystemMDC               = "urn:iso:std:iso:11073:10101"
	SystemUCUM              = "http://unitsofmeasure.org"
	SystemObservationCat    = "http://terminology.hl7.org/CodeSystem/observation-category"
	SystemPHDCategory       = "http://hl7.org/fhir/uv/phd/CodeSystem/PhdObservationCategories"
	SystemDataAbsentReason  = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
	SystemReadingID         = "urn:vclinic:reading"
	SystemBluetoothAddress  = "http://hl7.org/fhir/sid/eui-48/bluetooth"
	SystemIEEESystemID      = "urn:oid:1.2.840.10004.1.1.1.0.0.1.0.0.1.2680" // IEEE 11073 System Identifier (EUI-64), PHD IG
	SystemWebBluetoothID    = "urn:vclinic:web-bluetooth-id"
	ExtensionGatewayDevice  = "http://hl7.org/fhir/StructureDefinition/observation-gatewayDevice"
	ProfilePHDNumeric       = "http://hl7.org/fhir/uv/phd/StructureDefinition/PhdNumericObservation"
	ProfilePHDCompound      = "http://hl7.org/fhir/uv/phd/StructureDefinition/PhdCompoundNumericObservation"
	ProfilePHDDevice        = "http://hl7.org/fhir/uv/phd/StructureDefinition/PhdDevice"
	profileVitalSignsPrefix = "http://hl7.org/fhir/StructureDefinition/"
)

// vitalSignsProfile is the FHIR R4 vital-signs profile of a code, or "".
// Glucose is not a vital sign.
func vitalSignsProfile(code string) string {
	switch code {
	case gatt.LOINCBodyTemperature:
		return profileVitalSignsPrefix + "bodytemp"
	case gatt.LOINCBloodPressurePanel:
		return profileVitalSignsPrefix + "bp"
	case gatt.LOINCHeartRate:
		return profileVitalSignsPrefix + "heartrate"
	case gatt.LOINCSpO2, gatt.LOINCOxygenSaturation:
		return profileVitalSignsPrefix + "oxygensat"
	case gatt.LOINCBodyWeight:
		return profileVitalSignsPrefix + "bodyweight"
	case gatt.LOINCBodyHeight:
		return profileVitalSignsPrefix + "bodyheight"
	case gatt.LOINCBMI:
		return profileVitalSignsPrefix + "bmi"
	}
	return ""
}

// fhirObject is a FHIR resource or element as JSON.
type fhirObject = map[string]any

func coding(system, code string) fhirObject { return fhirObject{"system": system, "code": code} }

func ref(s string) fhirObject { return fhirObject{"reference": s} }

// codeOf is an Observation's code: LOINC, and the MDC code when there is one.
// SpO2 carries 2708-6 as well, the code of the R4 oxygensat profile.
func codeOf(code string, mdc gatt.MDC) fhirObject {
	codings := []fhirObject{coding(SystemLOINC, code)}
	if code == gatt.LOINCSpO2 {
		codings = append(codings, coding(SystemLOINC, gatt.LOINCOxygenSaturation))
	}
	if mdc != 0 {
		codings = append(codings, coding(SystemMDC, strconv.FormatUint(uint64(mdc), 10)))
	}
	return fhirObject{"coding": codings}
}

// valueOf sets valueQuantity, or dataAbsentReason for a special value.
func valueOf(o fhirObject, m StoredMeasurement) {
	if !m.Value.Valid {
		o["dataAbsentReason"] = fhirObject{"coding": []fhirObject{coding(SystemDataAbsentReason, m.Absent)}}
		return
	}
	o["valueQuantity"] = fhirObject{"value": m.Value.V, "unit": m.Unit, "system": SystemUCUM, "code": m.Unit}
}

// effective is the device's time when it has a clock (read in zone, where
// the patient lives), else the edge's observedAt.
func effective(r Reading, zone *time.Location) string {
	if r.DeviceTime != "" {
		if t, err := time.ParseInLocation("2006-01-02T15:04:05", r.DeviceTime, zone); err == nil {
			return t.Format(time.RFC3339)
		}
	}
	return r.ObservedAt.Format(time.RFC3339Nano)
}

// Observations returns the FHIR R4 Observations of readings, in order.
// zone is where the devices' clocks are set.
func Observations(readings []Reading, zone *time.Location) []fhirObject {
	var out []fhirObject
	for _, r := range readings {
		var panel []StoredMeasurement
		hasSys, hasDia := false, false
		for _, m := range r.Measurements {
			hasSys = hasSys || m.Code == gatt.LOINCSystolic
			hasDia = hasDia || m.Code == gatt.LOINCDiastolic
		}
		isBP := hasSys && hasDia
		for _, m := range r.Measurements {
			if isBP && (m.Code == gatt.LOINCSystolic || m.Code == gatt.LOINCDiastolic || m.Code == gatt.LOINCMeanBloodPressure) {
				panel = append(panel, m)
				continue
			}
			o := observation(r, m.Code, zone, false)
			o["code"] = codeOf(m.Code, m.MDC)
			valueOf(o, m)
			limitsOf(o, m)
			implausibleNote(o, m)
			out = append(out, o)
		}
		if len(panel) > 0 {
			o := observation(r, gatt.LOINCBloodPressurePanel, zone, true)
			o["code"] = codeOf(gatt.LOINCBloodPressurePanel, gatt.MDCPressBldNonInv)
			var comps []fhirObject
			for _, m := range panel {
				c := fhirObject{"code": codeOf(m.Code, m.MDC)}
				valueOf(c, m)
				limitsOf(c, m)
				comps = append(comps, c)
				implausibleNote(o, m)
			}
			o["component"] = comps
			out = append(out, o)
		}
	}
	return out
}

// observation is the part of an Observation that every code shares.
func observation(r Reading, code string, zone *time.Location, compound bool) fhirObject {
	id := r.ID + "-" + code
	fromDevice := r.Source == SourceDevice
	var profiles []string
	if fromDevice {
		if compound {
			profiles = append(profiles, ProfilePHDCompound)
		} else {
			profiles = append(profiles, ProfilePHDNumeric)
		}
	}
	var categories []fhirObject
	if vs := vitalSignsProfile(code); vs != "" {
		profiles = append(profiles, vs)
		categories = append(categories, fhirObject{"coding": []fhirObject{coding(SystemObservationCat, "vital-signs")}})
	}
	if fromDevice {
		categories = append(categories, fhirObject{"coding": []fhirObject{coding(SystemPHDCategory, "phd")}})
	}
	o := fhirObject{
		"resourceType":      "Observation",
		"id":                id,
		"identifier":        []fhirObject{{"system": SystemReadingID, "value": id}},
		"status":            "final",
		"subject":           ref("Patient/" + r.PatientID),
		"effectiveDateTime": effective(r, zone),
		"issued":            r.ReceivedAt.Format(time.RFC3339Nano),
	}
	if len(profiles) > 0 {
		o["meta"] = fhirObject{"profile": profiles}
	}
	if len(categories) > 0 {
		o["category"] = categories
	}
	if r.DeviceID != "" {
		o["device"] = ref("Device/" + r.DeviceID)
	}
	if r.GatewayID != "" {
		o["extension"] = []fhirObject{{"url": ExtensionGatewayDevice, "valueReference": ref("Device/" + r.GatewayID)}}
	}
	if r.AppointmentID != "" {
		o["encounter"] = ref("Encounter/" + r.AppointmentID)
	}
	if !fromDevice {
		o["performer"] = []fhirObject{ref("Patient/" + r.PatientID)}
		o["note"] = []fhirObject{{"text": "entered by the patient"}}
	}
	return o
}

// SystemInterpretation is HL7 v3 ObservationInterpretation (FHIR R4
// Observation.interpretation): H above, L below the range.
const SystemInterpretation = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"

// limitsOf gives o (an Observation or a component) the patient's limits in
// force when the value arrived as its referenceRange (FHIR R4 §11.1
// Observation.referenceRange, low and high as SimpleQuantity, text saying
// whose range it is) and, when the value lay outside them, interpretation H
// or L. Decision support, not a diagnosis: the range is the clinician's
// choice for this patient, not a normal range.
func limitsOf(o fhirObject, m StoredMeasurement) {
	if m.LimitLow == "" && m.LimitHigh == "" {
		return
	}
	unit := LimitUnit(LimitCodeOf(m.Code))
	rr := fhirObject{"text": "the patient's limits set by the clinic (decision support)"}
	for field, v := range map[string]string{"low": m.LimitLow, "high": m.LimitHigh} {
		if v == "" {
			continue
		}
		d, err := gatt.ParseDecimal(v)
		if err != nil {
			continue
		}
		rr[field] = fhirObject{"value": d, "unit": unit, "system": SystemUCUM, "code": unit}
	}
	o["referenceRange"] = []fhirObject{rr}
	switch m.Outside {
	case OutsideAbove:
		o["interpretation"] = []fhirObject{{"coding": []fhirObject{{"system": SystemInterpretation, "code": "H", "display": "High"}}}}
	case OutsideBelow:
		o["interpretation"] = []fhirObject{{"coding": []fhirObject{{"system": SystemInterpretation, "code": "L", "display": "Low"}}}}
	}
}

func implausibleNote(o fhirObject, m StoredMeasurement) {
	if !m.Implausible {
		return
	}
	notes, _ := o["note"].([]fhirObject)
	o["note"] = append(notes, fhirObject{"text": "implausible: " + m.ImplausibleReason})
}

// deviceSpecialization is the IEEE 11073-10101 device specialization code of
// a kind (MDC_DEV_SPEC_PROFILE_*, PHD IG DeviceTypes11073MDC), or "".
func deviceSpecialization(k gatt.DeviceKind) (string, string) {
	switch k {
	case gatt.KindPulseOximeter:
		return "528388", "MDC_DEV_SPEC_PROFILE_PULS_OXIM"
	case gatt.KindBloodPressure:
		return "528391", "MDC_DEV_SPEC_PROFILE_BPM"
	case gatt.KindThermometer:
		return "528392", "MDC_DEV_SPEC_PROFILE_TEMP"
	case gatt.KindScale:
		return "528399", "MDC_DEV_SPEC_PROFILE_SCALE"
	case gatt.KindGlucoseMeter:
		return "528401", "MDC_DEV_SPEC_PROFILE_GLUCOSE"
	}
	return "", ""
}

// DeviceResource is the FHIR R4 Device of a kit device (PHD IG PhdDevice).
func DeviceResource(d Device) fhirObject {
	o := fhirObject{
		"resourceType": "Device",
		"id":           d.ID,
		"meta":         fhirObject{"profile": []string{ProfilePHDDevice}},
		"status":       "active",
		"patient":      ref("Patient/" + d.PatientID),
	}
	switch d.IdentifiedBy {
	case ByBluetoothAddress:
		o["identifier"] = []fhirObject{{"system": SystemBluetoothAddress, "value": d.Address}}
	case BySystemID:
		o["identifier"] = []fhirObject{{"system": SystemIEEESystemID, "value": d.Address}}
	case ByWebBluetoothID:
		o["identifier"] = []fhirObject{{"system": SystemWebBluetoothID, "value": d.Address}}
	case BySerial:
		o["serialNumber"] = d.Address
	}
	typ := fhirObject{"text": string(d.Kind)}
	if code, display := deviceSpecialization(d.Kind); code != "" {
		typ["coding"] = []fhirObject{{"system": SystemMDC, "code": code, "display": display}}
	}
	o["type"] = typ
	var names []fhirObject
	if d.Label != "" {
		names = append(names, fhirObject{"name": d.Label, "type": "user-friendly-name"})
	}
	if d.Model != "" {
		names = append(names, fhirObject{"name": d.Model, "type": "model-name"})
		o["modelNumber"] = d.Model
	}
	if len(names) > 0 {
		o["deviceName"] = names
	}
	return o
}

// GatewayResource is the FHIR R4 Device of a patient's gateway, which
// Observations name in the observation-gatewayDevice extension.
func GatewayResource(g Gateway) fhirObject {
	o := fhirObject{
		"resourceType": "Device",
		"id":           g.ID,
		"status":       "active",
		"patient":      ref("Patient/" + g.PatientID),
		"type":         fhirObject{"text": "gateway"},
	}
	if g.Label != "" {
		o["deviceName"] = []fhirObject{{"name": g.Label, "type": "user-friendly-name"}}
	}
	return o
}

// SearchsetBundle wraps resources in a FHIR R4 searchset Bundle; fullUrl is
// base + "/fhir/r4/<type>/<id>" (absolute when base is).
func SearchsetBundle(resources []fhirObject, base, self string) fhirObject {
	entries := []fhirObject{}
	for _, r := range resources {
		entries = append(entries, fhirObject{
			"fullUrl":  strings.TrimSuffix(base, "/") + "/fhir/r4/" + r["resourceType"].(string) + "/" + r["id"].(string),
			"resource": r,
			"search":   fhirObject{"mode": "match"},
		})
	}
	return fhirObject{
		"resourceType": "Bundle",
		"type":         "searchset",
		"total":        len(resources),
		"link":         []fhirObject{{"relation": "self", "url": self}},
		"entry":        entries,
	}
}
