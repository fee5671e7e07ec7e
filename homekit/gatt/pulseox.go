package gatt

// PLX Spot-check Measurement 0x2A5E (GATT Specification Supplement; Pulse
// Oximeter Service 1.0):
//
//	flags            uint8   bit0 time stamp, bit1 measurement status,
//	                         bit2 device and sensor status, bit3 pulse
//	                         amplitude index, bit4 device clock not set;
//	                         bits 5-7 reserved
//	SpO2             SFLOAT, %
//	pulse rate       SFLOAT, /min
//	time stamp       Date Time         if bit0
//	status           uint16            if bit1
//	device status    uint24            if bit2
//	PAI              SFLOAT, %         if bit3
const (
	spotTimeStamp     = 1 << 0
	spotStatus        = 1 << 1
	spotDeviceStatus  = 1 << 2
	spotPAI           = 1 << 3
	spotClockNotSet   = 1 << 4
	spotKnown         = spotTimeStamp | spotStatus | spotDeviceStatus | spotPAI | spotClockNotSet
	contFast          = 1 << 0
	contSlow          = 1 << 1
	contStatus        = 1 << 2
	contDeviceStatus  = 1 << 3
	contPAI           = 1 << 4
	contKnown         = contFast | contSlow | contStatus | contDeviceStatus | contPAI
	plxStatusReserved = 0x001F   // bits 0-4 of the measurement status
	plxDeviceReserved = 0xFF0000 // bits 16-23 of the device and sensor status
)

// PLX Continuous Measurement 0x2A5F (same sources):
//
//	flags            uint8   bit0 SpO2PR-Fast, bit1 SpO2PR-Slow, bit2
//	                         measurement status, bit3 device and sensor
//	                         status, bit4 pulse amplitude index; bits 5-7
//	                         reserved
//	SpO2, PR         SFLOAT, SFLOAT    SpO2PR-Normal
//	SpO2, PR         SFLOAT, SFLOAT    SpO2PR-Fast    if bit0
//	SpO2, PR         SFLOAT, SFLOAT    SpO2PR-Slow    if bit1
//	status           uint16            if bit2
//	device status    uint24            if bit3
//	PAI              SFLOAT, %         if bit4

// SpO2PR is a pair of SpO2 and pulse rate, as the PLX Continuous Measurement
// sends them with fast and slow averaging.
type SpO2PR struct {
	SpO2      Measurement `json:"spo2"`
	PulseRate Measurement `json:"pulseRate"`
}

// PLXMeasurementStatus is the pulse oximeter's Measurement Status field.
type PLXMeasurementStatus struct {
	MeasurementOngoing              bool   `json:"measurementOngoing"`              // bit5
	EarlyEstimatedData              bool   `json:"earlyEstimatedData"`              // bit6
	ValidatedData                   bool   `json:"validatedData"`                   // bit7
	FullyQualifiedData              bool   `json:"fullyQualifiedData"`              // bit8
	DataFromMeasurementStorage      bool   `json:"dataFromMeasurementStorage"`      // bit9
	DataForDemonstration            bool   `json:"dataForDemonstration"`            // bit10
	DataForTesting                  bool   `json:"dataForTesting"`                  // bit11
	CalibrationOngoing              bool   `json:"calibrationOngoing"`              // bit12
	MeasurementUnavailable          bool   `json:"measurementUnavailable"`          // bit13
	QuestionableMeasurementDetected bool   `json:"questionableMeasurementDetected"` // bit14
	InvalidMeasurementDetected      bool   `json:"invalidMeasurementDetected"`      // bit15
	Reserved                        uint16 `json:"reserved,omitempty"`              // bits 0-4
}

func plxMeasurementStatus(s uint16) PLXMeasurementStatus {
	return PLXMeasurementStatus{
		MeasurementOngoing:              s&(1<<5) != 0,
		EarlyEstimatedData:              s&(1<<6) != 0,
		ValidatedData:                   s&(1<<7) != 0,
		FullyQualifiedData:              s&(1<<8) != 0,
		DataFromMeasurementStorage:      s&(1<<9) != 0,
		DataForDemonstration:            s&(1<<10) != 0,
		DataForTesting:                  s&(1<<11) != 0,
		CalibrationOngoing:              s&(1<<12) != 0,
		MeasurementUnavailable:          s&(1<<13) != 0,
		QuestionableMeasurementDetected: s&(1<<14) != 0,
		InvalidMeasurementDetected:      s&(1<<15) != 0,
		Reserved:                        s & plxStatusReserved,
	}
}

// PLXDeviceStatus is the pulse oximeter's Device and Sensor Status field.
type PLXDeviceStatus struct {
	ExtendedDisplayUpdateOngoing         bool   `json:"extendedDisplayUpdateOngoing"`         // bit0
	EquipmentMalfunctionDetected         bool   `json:"equipmentMalfunctionDetected"`         // bit1
	SignalProcessingIrregularityDetected bool   `json:"signalProcessingIrregularityDetected"` // bit2
	InadequateSignalDetected             bool   `json:"inadequateSignalDetected"`             // bit3
	PoorSignalDetected                   bool   `json:"poorSignalDetected"`                   // bit4
	LowPerfusionDetected                 bool   `json:"lowPerfusionDetected"`                 // bit5
	ErraticSignalDetected                bool   `json:"erraticSignalDetected"`                // bit6
	NonpulsatileSignalDetected           bool   `json:"nonpulsatileSignalDetected"`           // bit7
	QuestionablePulseDetected            bool   `json:"questionablePulseDetected"`            // bit8
	SignalAnalysisOngoing                bool   `json:"signalAnalysisOngoing"`                // bit9
	SensorInterferenceDetected           bool   `json:"sensorInterferenceDetected"`           // bit10
	SensorUnconnectedToUser              bool   `json:"sensorUnconnectedToUser"`              // bit11
	UnknownSensorConnected               bool   `json:"unknownSensorConnected"`               // bit12
	SensorDisplaced                      bool   `json:"sensorDisplaced"`                      // bit13
	SensorMalfunctioning                 bool   `json:"sensorMalfunctioning"`                 // bit14
	SensorDisconnected                   bool   `json:"sensorDisconnected"`                   // bit15
	Reserved                             uint32 `json:"reserved,omitempty"`                   // bits 16-23
}

func plxDeviceStatus(s uint32) PLXDeviceStatus {
	return PLXDeviceStatus{
		ExtendedDisplayUpdateOngoing:         s&(1<<0) != 0,
		EquipmentMalfunctionDetected:         s&(1<<1) != 0,
		SignalProcessingIrregularityDetected: s&(1<<2) != 0,
		InadequateSignalDetected:             s&(1<<3) != 0,
		PoorSignalDetected:                   s&(1<<4) != 0,
		LowPerfusionDetected:                 s&(1<<5) != 0,
		ErraticSignalDetected:                s&(1<<6) != 0,
		NonpulsatileSignalDetected:           s&(1<<7) != 0,
		QuestionablePulseDetected:            s&(1<<8) != 0,
		SignalAnalysisOngoing:                s&(1<<9) != 0,
		SensorInterferenceDetected:           s&(1<<10) != 0,
		SensorUnconnectedToUser:              s&(1<<11) != 0,
		UnknownSensorConnected:               s&(1<<12) != 0,
		SensorDisplaced:                      s&(1<<13) != 0,
		SensorMalfunctioning:                 s&(1<<14) != 0,
		SensorDisconnected:                   s&(1<<15) != 0,
		Reserved:                             s & plxDeviceReserved,
	}
}

// spo2PR reads an SpO2 and pulse rate pair; which names the pair in errors.
func (r *reader) spo2PR(spo2Field, prField string) (SpO2PR, error) {
	spo2, err := r.sfloat(spo2Field)
	if err != nil {
		return SpO2PR{}, err
	}
	pr, err := r.sfloat(prField)
	if err != nil {
		return SpO2PR{}, err
	}
	p := SpO2PR{
		SpO2:      measurement(LOINCSpO2, MDCPulsOximSatO2, spo2, UnitPercent),
		PulseRate: measurement(LOINCHeartRate, MDCPulsOximPulsRate, pr, UnitPerMinute),
	}
	p.PulseRate.Source = PulseOximeter
	return p, nil
}

// plxTail reads the fields both PLX characteristics end with.
func (r *reader) plxTail(d *Decoded, status, device, pai bool) error {
	if status {
		s, err := r.u16("measurement status")
		if err != nil {
			return err
		}
		d.MeasurementStatus = Some(plxMeasurementStatus(s))
	}
	if device {
		s, err := r.u24("device and sensor status")
		if err != nil {
			return err
		}
		d.DeviceAndSensorStatus = Some(plxDeviceStatus(s))
	}
	if pai {
		v, err := r.sfloat("pulse amplitude index")
		if err != nil {
			return err
		}
		d.PulseAmplitudeIndex = Some(QuantityOf(v, UnitPercent))
	}
	return nil
}

func decodePLXSpotCheck(d *Decoded, r *reader) error {
	flags, err := r.u8("flags")
	if err != nil {
		return err
	}
	d.UnknownFlags = flags &^ spotKnown
	p, err := r.spo2PR("SpO2", "pulse rate")
	if err != nil {
		return err
	}
	d.Measurements = append(d.Measurements, p.SpO2, p.PulseRate)
	if flags&spotTimeStamp != 0 {
		if d.Time, err = r.dateTime("time stamp"); err != nil {
			return err
		}
	}
	if err := r.plxTail(d, flags&spotStatus != 0, flags&spotDeviceStatus != 0, flags&spotPAI != 0); err != nil {
		return err
	}
	d.DeviceClockNotSet = flags&spotClockNotSet != 0
	return nil
}

func decodePLXContinuous(d *Decoded, r *reader) error {
	flags, err := r.u8("flags")
	if err != nil {
		return err
	}
	d.UnknownFlags = flags &^ contKnown
	p, err := r.spo2PR("SpO2", "pulse rate")
	if err != nil {
		return err
	}
	d.Measurements = append(d.Measurements, p.SpO2, p.PulseRate)
	if flags&contFast != 0 {
		p, err := r.spo2PR("SpO2 fast", "pulse rate fast")
		if err != nil {
			return err
		}
		d.Fast = Some(p)
	}
	if flags&contSlow != 0 {
		p, err := r.spo2PR("SpO2 slow", "pulse rate slow")
		if err != nil {
			return err
		}
		d.Slow = Some(p)
	}
	if err := r.plxTail(d, flags&contStatus != 0, flags&contDeviceStatus != 0, flags&contPAI != 0); err != nil {
		return err
	}
	return nil
}
