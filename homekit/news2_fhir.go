package homekit

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// The partial NEWS2 as a FHIR R4 Observation
// (http://hl7.org/fhir/R4/observation.html), shaped as UK profiles carry a
// NEWS2 (an assessment score: category survey, the SNOMED CT total-score
// code, a component per parameter, derivedFrom the observations scored).
//
// Codes: SNOMED CT UK edition (module of NHS England), the NEWS2 total
// score and the per-parameter scores, whose check digits (Verhoeff, as
// every SCTID carries) were verified. LOINC has no code for the NEWS2 total
// score, so the Observation carries SNOMED CT alone, with a text.

// SystemSNOMED is SNOMED CT's FHIR system.
const SystemSNOMED = "http://snomed.info/sct"

// SystemNEWS2ID is the system of a score Observation's identifier.
const SystemNEWS2ID = "urn:vclinic:news2"

// SNOMEDNEWS2Total is "Royal College of Physicians National Early Warning
// Score 2 (NEWS2) total score".
const SNOMEDNEWS2Total = "1104051000000101"

// news2Codes are the SNOMED CT codes of each parameter's score, with their
// display. 1104321000000108 (SpO2 scale 2) follows the numbering of the
// chart's order (respiration rate 1104301…, scale 1 1104311…, scale 2
// 1104321…, air or oxygen 1104331…).
var news2Codes = map[string][2]string{
	ParamRespirationRate: {"1104301000000104", "Royal College of Physicians NEWS2 (National Early Warning Score 2) - respiration rate score"},
	ParamSpO2 + "1":      {"1104311000000102", "Royal College of Physicians NEWS2 (National Early Warning Score 2) - oxygen saturation scale 1 score"},
	ParamSpO2 + "2":      {"1104321000000108", "Royal College of Physicians NEWS2 (National Early Warning Score 2) - oxygen saturation scale 2 score"},
	ParamAirOrOxygen:     {"1104331000000105", "Royal College of Physicians NEWS2 (National Early Warning Score 2) - air or oxygen score"},
	ParamSystolic:        {"1104341000000101", "Royal College of Physicians NEWS2 (National Early Warning Score 2) - systolic blood pressure score"},
	ParamPulse:           {"1104351000000103", "Royal College of Physicians NEWS2 (National Early Warning Score 2) - pulse score"},
	ParamConsciousness:   {"1104361000000100", "Royal College of Physicians NEWS2 (National Early Warning Score 2) - consciousness score"},
	ParamTemperature:     {"1104371000000107", "Royal College of Physicians NEWS2 (National Early Warning Score 2) - temperature score"},
}

// NEWS2ScoreCode reports whether a FHIR token search value (code=) names
// the NEWS2 total score: "1104051000000101" or
// "http://snomed.info/sct|1104051000000101".
func NEWS2ScoreCode(token string) bool {
	system, code, ok := strings.Cut(token, "|")
	if !ok {
		return token == SNOMEDNEWS2Total
	}
	return (system == "" || system == SystemSNOMED) && code == SNOMEDNEWS2Total
}

// NEWS2Observation is score s as a FHIR R4 Observation: status final,
// category survey, code the SNOMED CT NEWS2 total score, valueInteger the
// partial total (dataAbsentReason when nothing could be scored), a
// component per scored parameter with its points, method naming NEWS2 2017
// and the partial scoring, derivedFrom the readings' Observations,
// interpretation the risk band and a note that it is partial.
//
// Its id and identifier hash the patient, the scale, the oxygen use and the
// readings scored: the same inputs give the same Observation, so a receiver
// that is sent it again does not file it twice.
func NEWS2Observation(s NEWS2Score) fhirObject {
	var derived []fhirObject
	var comps []fhirObject
	key := fmt.Sprintf("%s|%d|%s", s.PatientID, s.Scale, s.Oxygen)
	effective := time.Time{}
	for _, p := range s.Parameters {
		if p.Points == nil {
			continue
		}
		name := p.Parameter
		if name == ParamSpO2 {
			name += fmt.Sprint(s.Scale)
		}
		c := news2Codes[name]
		comp := fhirObject{
			"code":         fhirObject{"coding": []fhirObject{{"system": SystemSNOMED, "code": c[0], "display": c[1]}}, "text": p.Parameter},
			"valueInteger": *p.Points,
		}
		comps = append(comps, comp)
		if p.Reading != nil {
			derived = append(derived, ref("Observation/"+p.Reading.ObservationID))
			key += "|" + p.Reading.ObservationID
			if p.Reading.ObservedAt.After(effective) {
				effective = p.Reading.ObservedAt
			}
		}
	}
	sum := sha256.Sum256([]byte(key))
	id := "news2-" + hex.EncodeToString(sum[:12])
	if effective.IsZero() {
		effective = s.At
	}
	o := fhirObject{
		"resourceType": "Observation",
		"id":           id,
		"identifier":   []fhirObject{{"system": SystemNEWS2ID, "value": id}},
		"status":       "final",
		"category":     []fhirObject{{"coding": []fhirObject{coding(SystemObservationCat, "survey")}}},
		"code": fhirObject{
			"coding": []fhirObject{{"system": SystemSNOMED, "code": SNOMEDNEWS2Total,
				"display": "Royal College of Physicians National Early Warning Score 2 (NEWS2) total score"}},
			"text": "NEWS2 total score (partial)",
		},
		"subject": ref("Patient/" + s.PatientID),
		// The newest reading scored: when the patient was as scored.
		"effectiveDateTime": effective.UTC().Format(time.RFC3339Nano),
		"issued":            s.At.UTC().Format(time.RFC3339Nano),
		"method": fhirObject{"text": fmt.Sprintf(
			"Royal College of Physicians NEWS2 (2017), SpO2 scale %d; partial score: %d of %d parameters measured at home (%s)",
			s.Scale, s.Scored, s.Of, news2Unscored(s))},
		"interpretation": []fhirObject{{"text": fmt.Sprintf("%s clinical risk, from a partial score", s.Risk)}},
		"note":           []fhirObject{{"text": fmt.Sprintf("Partial NEWS2: %d of %d parameters. %s", s.Scored, s.Of, s.DecisionSupport.En)}},
	}
	if s.Scored == 0 {
		o["dataAbsentReason"] = fhirObject{"coding": []fhirObject{coding(SystemDataAbsentReason, "not-performed")},
			"text": "no reading of the last day could be scored"}
	} else {
		o["valueInteger"] = s.Total
	}
	if len(comps) > 0 {
		o["component"] = comps
	}
	if len(derived) > 0 {
		o["derivedFrom"] = derived
	}
	return o
}

// news2Unscored lists the parameters not scored and why.
func news2Unscored(s NEWS2Score) string {
	var out []string
	for _, p := range s.Parameters {
		if p.Points == nil {
			out = append(out, p.Parameter+" "+p.Status)
		}
	}
	if len(out) == 0 {
		return "all scored"
	}
	return "not scored: " + strings.Join(out, ", ")
}
