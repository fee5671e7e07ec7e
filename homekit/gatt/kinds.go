package gatt

// DeviceKind is what a device in a kit measures. (DeviceType, in codes.go,
// names the kind of device that counted a pulse.)
type DeviceKind string

// Device kinds.
const (
	KindThermometer   DeviceKind = "thermometer"
	KindBloodPressure DeviceKind = "blood-pressure"
	KindPulseOximeter DeviceKind = "pulse-oximeter"
	KindScale         DeviceKind = "scale"
	KindGlucoseMeter  DeviceKind = "glucose-meter"
	KindHeartRate     DeviceKind = "heart-rate"
)

// Kinds lists the device kinds.
func Kinds() []DeviceKind {
	return []DeviceKind{KindThermometer, KindBloodPressure, KindPulseOximeter, KindScale, KindGlucoseMeter, KindHeartRate}
}

// CharacteristicsOf lists the measurement characteristics a kind of
// device sends.
func CharacteristicsOf(k DeviceKind) []uint16 {
	switch k {
	case KindThermometer:
		return []uint16{TemperatureMeasurement}
	case KindBloodPressure:
		return []uint16{BloodPressureMeasurement}
	case KindPulseOximeter:
		return []uint16{PLXSpotCheckMeasurement, PLXContinuousMeasurement}
	case KindScale:
		return []uint16{WeightMeasurement}
	case KindGlucoseMeter:
		return []uint16{GlucoseMeasurement}
	case KindHeartRate:
		return []uint16{HeartRateMeasurement}
	}
	return nil
}
