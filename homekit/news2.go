package homekit

import (
	"fmt"
	"math/big"
	"sort"
	"time"

	"vclinic/homekit/gatt"
)

// The early-warning score from home readings: the parameters of the Royal
// College of Physicians' National Early Warning Score 2 that a home kit
// measures, scored as the NEWS2 chart does.
//
// Source: Royal College of Physicians. National Early Warning Score (NEWS)
// 2: Standardising the assessment of acute-illness severity in the NHS.
// Updated report of a working party. London: RCP, 2017. Chart 1 (the NEWS2
// scoring system) gives the bands below; Chart 2 (the clinical response)
// gives the risk bands (NEWS2Risk).
//
// NEWS2 has seven parameters. A home kit measures four: oxygen saturation,
// systolic blood pressure, pulse and temperature. Respiration rate and
// consciousness (ACVPU) are not measured and never scored; air or oxygen is
// scored only when the clinician has recorded it. The result is therefore a
// partial score, and says so: it can only be lower than, or equal to, the
// full score the same patient would have on the ward. It is decision
// support, not a diagnosis.

// NEWS2Parameters is how many parameters the full NEWS2 has.
const NEWS2Parameters = 7

// NEWS2MaxAge is the oldest a reading may be and still be scored. NEWS2 is
// a snapshot of the patient's physiology: RCP 2017 asks for observations at
// least every 12 hours on the ward even at a score of 0 (Chart 2, minimum
// monitoring frequency). A home kit is read less often, typically once a
// day at a fixed time, so a day is the longest window in which readings
// still describe the same state; an older reading is not used, and the
// answer says so rather than scoring yesterday's patient.
const NEWS2MaxAge = 24 * time.Hour

// NEWS2 parameter names, in the chart's order.
const (
	ParamRespirationRate = "respiration-rate"
	ParamSpO2            = "spo2"
	ParamAirOrOxygen     = "air-or-oxygen"
	ParamSystolic        = "systolic-bp"
	ParamPulse           = "pulse"
	ParamConsciousness   = "consciousness"
	ParamTemperature     = "temperature"
)

// OxygenUse is whether the patient breathes air or supplemental oxygen, as
// the clinician recorded it; "" when nobody recorded it.
type OxygenUse string

// Oxygen use.
const (
	OxygenNotRecorded OxygenUse = ""
	OxygenAir         OxygenUse = "air"
	OxygenOn          OxygenUse = "oxygen"
)

// Why a parameter is not scored, or how it was (NEWS2Parameter.Status).
const (
	NEWS2Scored      = "scored"       // scored from a reading, or as the clinician recorded it
	NEWS2NotMeasured = "not-measured" // a home kit does not measure it
	NEWS2NoReading   = "no-reading"   // no usable reading of it
	NEWS2Stale       = "stale"        // the newest usable reading is older than NEWS2MaxAge
	NEWS2TakenAsAir  = "taken-as-air" // air or oxygen not recorded: air assumed, not counted
)

// NEWS2 clinical risk (RCP 2017 Chart 2), of the partial total.
const (
	RiskLow       = "low"        // aggregate 0-4
	RiskLowMedium = "low-medium" // a single parameter scores 3 (red score), aggregate below 5
	RiskMedium    = "medium"     // aggregate 5-6
	RiskHigh      = "high"       // aggregate 7 or more
	RiskUnscored  = "unscored"   // no parameter could be scored
)

// DecisionSupportCode is the code of the statement every score carries;
// pages translate it (the Danish and English texts come with it).
const DecisionSupportCode = "news2-partial-not-a-diagnosis"

// NEWS2Options are what the score needs besides the readings.
type NEWS2Options struct {
	// Scale is the SpO2 scale: 1, or 2 for a patient with hypercapnic
	// respiratory failure whose target saturation a clinician set to
	// 88-92 % (RCP 2017, section on SpO2 scale 2).
	Scale int
	// Oxygen is the recorded air or oxygen.
	Oxygen OxygenUse
	// Now is the time of scoring; readings' ages are taken from it.
	Now time.Time
}

// Validate names a bad option.
func (o NEWS2Options) Validate() error {
	if o.Scale != 1 && o.Scale != 2 {
		return because(ErrInvalid, "scale: want 1 or 2, not %d", o.Scale)
	}
	switch o.Oxygen {
	case OxygenNotRecorded, OxygenAir, OxygenOn:
	default:
		return because(ErrInvalid, "oxygen: want air or oxygen, not %q", o.Oxygen)
	}
	if o.Now.IsZero() {
		return because(ErrInvalid, "now: the time of scoring is required")
	}
	return nil
}

// NEWS2Reading is the reading a parameter was scored from (or, when stale,
// would have been).
type NEWS2Reading struct {
	ReadingID string `json:"readingId"`
	// ObservationID is the id of the reading's FHIR Observation
	// (Observations), which the score's derivedFrom names.
	ObservationID string `json:"observationId"`
	Code          string `json:"code"`  // LOINC
	Value         string `json:"value"` // exactly as the device (or patient) gave it
	Unit          string `json:"unit"`  // UCUM
	// Scored is the value the chart was read with: converted to the
	// chart's unit and rounded (see roundHalfUp), such as "37.6".
	Scored     string    `json:"scored"`
	ScoredUnit string    `json:"scoredUnit"`
	DeviceID   string    `json:"deviceId,omitempty"`
	Source     string    `json:"source"` // device, patient-entered
	ObservedAt time.Time `json:"observedAt"`
	// AgeSeconds is how old the reading was at the time of scoring.
	AgeSeconds int64 `json:"ageSeconds"`
}

// NEWS2Parameter is one parameter of the chart: its points when scored.
type NEWS2Parameter struct {
	Parameter string        `json:"parameter"`
	Status    string        `json:"status"`
	Points    *int          `json:"points,omitempty"`
	Reading   *NEWS2Reading `json:"reading,omitempty"`
	// Skipped tells of newer readings that were not used (implausible,
	// or with no value), newest first.
	Skipped []string `json:"skipped,omitempty"`
}

// DecisionSupport is the plain statement that the score is partial and
// not a diagnosis, as a code and in Danish and English.
type DecisionSupport struct {
	Code string `json:"code"`
	Da   string `json:"da"`
	En   string `json:"en"`
}

// NEWS2Score is a partial NEWS2 from home readings.
type NEWS2Score struct {
	PatientID string    `json:"patientId"`
	At        time.Time `json:"at"`
	Scale     int       `json:"scale"`
	Oxygen    OxygenUse `json:"oxygen"` // "" when not recorded (taken as air)
	Total     int       `json:"total"`
	// Scored of Of parameters went into Total: "4 of 7 parameters".
	Scored  int  `json:"scored"`
	Of      int  `json:"of"`
	Partial bool `json:"partial"`
	// RedScore: a single parameter scores 3, which RCP 2017 Chart 2 asks to
	// be reviewed urgently whatever the total; RedParameters names them.
	RedScore      bool     `json:"redScore"`
	RedParameters []string `json:"redParameters,omitempty"`
	// Risk is the RCP clinical risk band of the partial total; RiskBasis
	// says it comes from a partial score.
	Risk            string           `json:"risk"`
	RiskBasis       string           `json:"riskBasis"`
	MaxAgeSeconds   int64            `json:"maxAgeSeconds"`
	Parameters      []NEWS2Parameter `json:"parameters"`
	DecisionSupport DecisionSupport  `json:"decisionSupport"`
}

// band is one row of a chart parameter: values up to and including upTo
// (in the chart's unit, rounded as the chart is read) score points.
type band struct {
	upTo   int
	points int
}

// score reads v off a chart row list; the last band takes everything above.
func score(bands []band, v int) int {
	for _, b := range bands {
		if v <= b.upTo {
			return b.points
		}
	}
	return bands[len(bands)-1].points
}

const top = int(^uint(0) >> 1)

// The rows of RCP 2017 Chart 1, values in whole units (temperature in
// tenths of a degree Celsius).
var (
	// SpO2 scale 1 (%): <=91 3, 92-93 2, 94-95 1, >=96 0.
	bandsSpO2Scale1 = []band{{91, 3}, {93, 2}, {95, 1}, {top, 0}}
	// SpO2 scale 2 (%) on air: <=83 3, 84-85 2, 86-87 1, >=88 0
	// (88-92, and >=93 on air, both score 0).
	bandsSpO2Scale2Air = []band{{83, 3}, {85, 2}, {87, 1}, {top, 0}}
	// SpO2 scale 2 (%) on oxygen: as on air up to 92, then 93-94 1,
	// 95-96 2, >=97 3.
	bandsSpO2Scale2Oxygen = []band{{83, 3}, {85, 2}, {87, 1}, {92, 0}, {94, 1}, {96, 2}, {top, 3}}
	// Systolic blood pressure (mmHg): <=90 3, 91-100 2, 101-110 1,
	// 111-219 0, >=220 3.
	bandsSystolic = []band{{90, 3}, {100, 2}, {110, 1}, {219, 0}, {top, 3}}
	// Pulse (per minute): <=40 3, 41-50 1, 51-90 0, 91-110 1, 111-130 2,
	// >=131 3.
	bandsPulse = []band{{40, 3}, {50, 1}, {90, 0}, {110, 1}, {130, 2}, {top, 3}}
	// Temperature (°C, in tenths): <=35.0 3, 35.1-36.0 1, 36.1-38.0 0,
	// 38.1-39.0 1, >=39.1 2.
	bandsTemperature = []band{{350, 3}, {360, 1}, {380, 0}, {390, 1}, {top, 2}}
)

// Points of air or oxygen (Chart 1): oxygen 2, air 0.
const (
	pointsOxygen = 2
	pointsAir    = 0
)

// measured is a home-measured parameter: which codes it reads, in which
// unit and to how many decimals the chart is read.
type measured struct {
	param    string
	codes    []string
	unit     string
	decimals int
}

var measuredParams = map[string]measured{
	ParamSpO2:        {ParamSpO2, []string{gatt.LOINCSpO2, gatt.LOINCOxygenSaturation}, gatt.UnitPercent, 0},
	ParamSystolic:    {ParamSystolic, []string{gatt.LOINCSystolic}, gatt.UnitMmHg, 0},
	ParamPulse:       {ParamPulse, []string{gatt.LOINCHeartRate}, gatt.UnitPerMinute, 0},
	ParamTemperature: {ParamTemperature, []string{gatt.LOINCBodyTemperature}, gatt.UnitCelsius, 1},
}

// ScoreNEWS2 scores the measured NEWS2 parameters from a patient's readings
// (in any order): for each, the newest reading with a plausible value
// (pulse from any device, whichever is newest), if it is at most
// NEWS2MaxAge old at opts.Now. Readings observed after opts.Now are not
// used.
func ScoreNEWS2(patientID string, readings []Reading, opts NEWS2Options) (NEWS2Score, error) {
	if err := opts.Validate(); err != nil {
		return NEWS2Score{}, err
	}
	s := NEWS2Score{PatientID: patientID, At: opts.Now.UTC(), Scale: opts.Scale, Oxygen: opts.Oxygen,
		Of: NEWS2Parameters, RiskBasis: "partial-score", MaxAgeSeconds: int64(NEWS2MaxAge / time.Second),
		DecisionSupport: decisionSupport()}
	add := func(p NEWS2Parameter) {
		if p.Points != nil {
			s.Scored++
			s.Total += *p.Points
			if *p.Points == 3 {
				s.RedScore = true
				s.RedParameters = append(s.RedParameters, p.Parameter)
			}
		}
		s.Parameters = append(s.Parameters, p)
	}
	add(NEWS2Parameter{Parameter: ParamRespirationRate, Status: NEWS2NotMeasured})
	spo2, err := scoreMeasured(measuredParams[ParamSpO2], readings, opts.Now, func(v int) int {
		switch {
		case opts.Scale == 1:
			return score(bandsSpO2Scale1, v)
		case opts.Oxygen == OxygenOn:
			return score(bandsSpO2Scale2Oxygen, v)
		}
		// Scale 2 with air recorded, or nothing recorded (taken as air).
		return score(bandsSpO2Scale2Air, v)
	})
	if err != nil {
		return NEWS2Score{}, err
	}
	add(spo2)
	switch opts.Oxygen {
	case OxygenOn:
		add(NEWS2Parameter{Parameter: ParamAirOrOxygen, Status: NEWS2Scored, Points: intp(pointsOxygen)})
	case OxygenAir:
		add(NEWS2Parameter{Parameter: ParamAirOrOxygen, Status: NEWS2Scored, Points: intp(pointsAir)})
	default:
		add(NEWS2Parameter{Parameter: ParamAirOrOxygen, Status: NEWS2TakenAsAir})
	}
	for _, x := range []struct {
		param string
		bands []band
	}{{ParamSystolic, bandsSystolic}, {ParamPulse, bandsPulse}} {
		p, err := scoreMeasured(measuredParams[x.param], readings, opts.Now, func(v int) int { return score(x.bands, v) })
		if err != nil {
			return NEWS2Score{}, err
		}
		add(p)
	}
	add(NEWS2Parameter{Parameter: ParamConsciousness, Status: NEWS2NotMeasured})
	temp, err := scoreMeasured(measuredParams[ParamTemperature], readings, opts.Now, func(v int) int { return score(bandsTemperature, v) })
	if err != nil {
		return NEWS2Score{}, err
	}
	add(temp)
	s.Partial = s.Scored < NEWS2Parameters
	s.Risk = NEWS2Risk(s.Total, s.RedScore, s.Scored)
	return s, nil
}

// NEWS2Risk is the RCP 2017 Chart 2 clinical risk of an aggregate score:
// 7 or more high, 5-6 medium, a single parameter scoring 3 (below 5)
// low-medium, else low; unscored when no parameter was scored.
func NEWS2Risk(total int, red bool, scored int) string {
	switch {
	case scored == 0:
		return RiskUnscored
	case total >= 7:
		return RiskHigh
	case total >= 5:
		return RiskMedium
	case red:
		return RiskLowMedium
	}
	return RiskLow
}

func intp(i int) *int { return &i }

func decisionSupport() DecisionSupport {
	return DecisionSupport{
		Code: DecisionSupportCode,
		Da:   "Delvis score ud fra hjemmemålinger, ikke en diagnose. Respirationsfrekvens og bevidsthedsniveau måles ikke hjemme og indgår ikke.",
		En:   "Partial score from home readings, not a diagnosis. Respiration rate and level of consciousness are not measured at home and are not scored.",
	}
}

// scoreMeasured finds the reading for m and scores it with points.
func scoreMeasured(m measured, readings []Reading, now time.Time, points func(int) int) (NEWS2Parameter, error) {
	p := NEWS2Parameter{Parameter: m.param, Status: NEWS2NoReading}
	var best *NEWS2Reading
	var bestValue int
	var skipped []skippedAt
	for i := range readings {
		r := &readings[i]
		if r.ObservedAt.After(now) {
			continue
		}
		for _, sm := range r.Measurements {
			if !hasCode(m.codes, sm.Code) {
				continue
			}
			if best != nil && !r.ObservedAt.After(best.ObservedAt) {
				continue
			}
			switch {
			case !sm.Value.Valid || sm.Value.V.IsSpecial():
				skipped = append(skipped, skippedAt{r.ObservedAt, fmt.Sprintf("%s at %s: no value (%s)", sm.Code, r.ObservedAt.UTC().Format(time.RFC3339), sm.Absent)})
				continue
			case sm.Implausible:
				skipped = append(skipped, skippedAt{r.ObservedAt, fmt.Sprintf("%s %s %s at %s: implausible (%s)", sm.Code, sm.Value.V, sm.Unit, r.ObservedAt.UTC().Format(time.RFC3339), sm.ImplausibleReason)})
				continue
			}
			v, err := chartValue(sm.Value.V, sm.Unit, m.unit, m.decimals)
			if err != nil {
				skipped = append(skipped, skippedAt{r.ObservedAt, fmt.Sprintf("%s %s %s at %s: %v", sm.Code, sm.Value.V, sm.Unit, r.ObservedAt.UTC().Format(time.RFC3339), err)})
				continue
			}
			age := max(now.Sub(r.ObservedAt), 0)
			best = &NEWS2Reading{ReadingID: r.ID, ObservationID: observationIDOf(*r, sm.Code), Code: sm.Code,
				Value: sm.Value.V.String(), Unit: sm.Unit, Scored: formatTenths(v, m.decimals), ScoredUnit: m.unit,
				DeviceID: r.DeviceID, Source: r.Source, ObservedAt: r.ObservedAt.UTC(), AgeSeconds: int64(age / time.Second)}
			bestValue = v
		}
	}
	// Only the readings newer than the one used were passed over.
	sort.SliceStable(skipped, func(i, j int) bool { return skipped[i].at.After(skipped[j].at) })
	for _, x := range skipped {
		if best == nil || x.at.After(best.ObservedAt) {
			p.Skipped = append(p.Skipped, x.why)
		}
	}
	if best == nil {
		return p, nil
	}
	p.Reading = best
	if now.Sub(best.ObservedAt) > NEWS2MaxAge {
		p.Status = NEWS2Stale
		return p, nil
	}
	p.Status = NEWS2Scored
	p.Points = intp(points(bestValue))
	return p, nil
}

type skippedAt struct {
	at  time.Time
	why string
}

func hasCode(codes []string, c string) bool {
	for _, x := range codes {
		if x == c {
			return true
		}
	}
	return false
}

// observationIDOf is the id of the FHIR Observation (Observations) that
// carries reading r's measurement of code: a systolic pressure is a
// component of the reading's blood pressure panel.
func observationIDOf(r Reading, code string) string {
	if code == gatt.LOINCSystolic || code == gatt.LOINCDiastolic || code == gatt.LOINCMeanBloodPressure {
		hasSys, hasDia := false, false
		for _, m := range r.Measurements {
			hasSys = hasSys || m.Code == gatt.LOINCSystolic
			hasDia = hasDia || m.Code == gatt.LOINCDiastolic
		}
		if hasSys && hasDia {
			return r.ID + "-" + gatt.LOINCBloodPressurePanel
		}
	}
	return r.ID + "-" + code
}

// chartValue converts v from unit to the chart's unit and rounds it to
// decimals places, answering it in units of 10^-decimals (37.64 °C at one
// decimal is 376).
//
// Rounding: to the nearest, halves away from zero (all values here are
// positive, so halves go up), done exactly on the decimal the device sent
// (IEEE 11073 mantissa × 10^exponent) and on exact fractions for unit
// conversions, never on binary floating point: 38.05 °C is 38.1 and scores
// 1, where a float64 (38.04999…) would round it to 38.0 and score 0. The
// chart is written at the precision observations are charted at (whole %,
// mmHg and beats per minute; tenths of a degree), and a nurse charting by
// hand rounds 38.05 up; so do we. SpO2, pulse and systolic pressure are read
// in whole units, temperature to one decimal.
func chartValue(v gatt.Decimal, unit, want string, decimals int) (int, error) {
	x := decimalRat(v)
	switch {
	case unit == want:
	case unit == gatt.UnitFahrenheit && want == gatt.UnitCelsius:
		// (°F − 32) × 5/9
		x.Sub(x, big.NewRat(32, 1))
		x.Mul(x, big.NewRat(5, 9))
	case unit == gatt.UnitKPa && want == gatt.UnitMmHg:
		// 1 kPa = 7.50062 mmHg (as plausible.go converts).
		x.Mul(x, big.NewRat(750062, 100000))
	default:
		return 0, fmt.Errorf("unit %s cannot be read as %s", unit, want)
	}
	if x.Sign() < 0 {
		return 0, fmt.Errorf("%s %s is below zero", v, unit)
	}
	return roundHalfUp(x, decimals), nil
}

// decimalRat is mantissa × 10^exponent exactly.
func decimalRat(v gatt.Decimal) *big.Rat {
	x := new(big.Rat).SetInt64(int64(v.Mantissa))
	p := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(int(v.Exponent)))), nil)
	if v.Exponent >= 0 {
		return x.Mul(x, new(big.Rat).SetInt(p))
	}
	return x.Quo(x, new(big.Rat).SetInt(p))
}

func abs(i int) int {
	if i < 0 {
		return -i
	}
	return i
}

// roundHalfUp rounds x (non-negative) to decimals places, halves up,
// answering units of 10^-decimals.
func roundHalfUp(x *big.Rat, decimals int) int {
	scaled := new(big.Rat).Mul(x, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(decimals)), nil)))
	scaled.Add(scaled, big.NewRat(1, 2))
	q := new(big.Int).Quo(scaled.Num(), scaled.Denom()) // floor for non-negative
	return int(q.Int64())
}

// formatTenths writes v (in units of 10^-decimals) with its decimals.
func formatTenths(v, decimals int) string {
	if decimals == 0 {
		return fmt.Sprint(v)
	}
	return fmt.Sprintf("%d.%d", v/10, v%10)
}
