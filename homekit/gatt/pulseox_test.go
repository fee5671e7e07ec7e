package gatt

import "testing"

const (
	spotHead = `{"characteristic":"0x2A5E","name":"PLX Spot-check Measurement","decoderVersion":1,"measurements":[`
	contHead = `{"characteristic":"0x2A5F","name":"PLX Continuous Measurement","decoderVersion":1,"measurements":[`
	spo2PR   = `{"code":"59408-5","mdc":150456,"value":97,"unit":"%"},{"code":"8867-4","mdc":149530,"value":72,"unit":"/min","source":"pulse-oximeter"}`

	plxStatusValidated = `"measurementStatus":{"measurementOngoing":false,"earlyEstimatedData":false,"validatedData":true,"fullyQualifiedData":false,"dataFromMeasurementStorage":false,"dataForDemonstration":false,"dataForTesting":false,"calibrationOngoing":false,"measurementUnavailable":false,"questionableMeasurementDetected":false,"invalidMeasurementDetected":false}`
	plxDeviceLowPerf   = `"deviceAndSensorStatus":{"extendedDisplayUpdateOngoing":false,"equipmentMalfunctionDetected":false,"signalProcessingIrregularityDetected":false,"inadequateSignalDetected":false,"poorSignalDetected":false,"lowPerfusionDetected":true,"erraticSignalDetected":false,"nonpulsatileSignalDetected":false,"questionablePulseDetected":false,"signalAnalysisOngoing":false,"sensorInterferenceDetected":false,"sensorUnconnectedToUser":false,"unknownSensorConnected":false,"sensorDisplaced":false,"sensorMalfunctioning":false,"sensorDisconnected":false}`
)

func TestDecodePLXSpotCheck(t *testing.T) {
	runJSONCases(t, PLXSpotCheckMeasurement, []jsonCase{
		{"SpO2 and pulse", "00 61 00 48 00", spotHead + spo2PR + `]}`},
		{"SpO2 with a decimal", "00 CA F3 48 00",
			spotHead + `{"code":"59408-5","mdc":150456,"value":97.0,"unit":"%"},{"code":"8867-4","mdc":149530,"value":72,"unit":"/min","source":"pulse-oximeter"}]}`},
		{"time stamp", "01 61 00 48 00 " + stamp, spotHead + spo2PR + `],"time":"2026-11-26T10:30:05"}`},
		{"measurement status", "02 61 00 48 00 80 00", spotHead + spo2PR + `],` + plxStatusValidated + `}`},
		{"device and sensor status", "04 61 00 48 00 20 00 00", spotHead + spo2PR + `],` + plxDeviceLowPerf + `}`},
		{"pulse amplitude index", "08 61 00 48 00 19 F0", spotHead + spo2PR + `],"pulseAmplitudeIndex":{"value":2.5,"unit":"%"}}`},
		{"device clock not set", "11 61 00 48 00 00 00 01 01 00 00 00", spotHead + spo2PR + `],"deviceClockNotSet":true}`},
		{"all fields", "1F 61 00 48 00 " + stamp + " 80 00 20 00 00 19 F0", spotHead + spo2PR +
			`],"time":"2026-11-26T10:30:05",` + plxStatusValidated + `,` + plxDeviceLowPerf + `,"pulseAmplitudeIndex":{"value":2.5,"unit":"%"},"deviceClockNotSet":true}`},
		{"reserved status bits kept", "02 61 00 48 00 1F 00",
			spotHead + spo2PR + `],"measurementStatus":{"measurementOngoing":false,"earlyEstimatedData":false,"validatedData":false,"fullyQualifiedData":false,"dataFromMeasurementStorage":false,"dataForDemonstration":false,"dataForTesting":false,"calibrationOngoing":false,"measurementUnavailable":false,"questionableMeasurementDetected":false,"invalidMeasurementDetected":false,"reserved":31}}`},
		{"SpO2 NRes, pulse +INF", "00 00 08 FE 07",
			spotHead + `{"code":"59408-5","mdc":150456,"value":null,"unit":"%","absent":"error"},{"code":"8867-4","mdc":149530,"value":null,"unit":"/min","absent":"positive-infinity","source":"pulse-oximeter"}]}`},
	})
	runErrorCases(t, PLXSpotCheckMeasurement, []errorCase{
		{"empty", "", ErrTruncated, "flags"},
		{"no pulse", "00 61 00", ErrTruncated, "pulse rate"},
		{"status announced, absent", "02 61 00 48 00", ErrTruncated, "measurement status"},
		{"device status cut", "04 61 00 48 00 20 00", ErrTruncated, "device and sensor status"},
		{"PAI announced, absent", "08 61 00 48 00", ErrTruncated, "pulse amplitude index"},
		{"day 0 of month 32", "01 61 00 48 00 EA 07 0B 20 00 00 00", ErrOutOfRange, "time stamp day"},
		{"trailing", "00 61 00 48 00 00", ErrTrailing, "end"},
	})
}

func TestDecodePLXContinuous(t *testing.T) {
	fast := `"fast":{"spo2":{"code":"59408-5","mdc":150456,"value":98,"unit":"%"},"pulseRate":{"code":"8867-4","mdc":149530,"value":73,"unit":"/min","source":"pulse-oximeter"}}`
	slow := `"slow":{"spo2":{"code":"59408-5","mdc":150456,"value":96,"unit":"%"},"pulseRate":{"code":"8867-4","mdc":149530,"value":71,"unit":"/min","source":"pulse-oximeter"}}`
	runJSONCases(t, PLXContinuousMeasurement, []jsonCase{
		{"normal only", "00 61 00 48 00", contHead + spo2PR + `]}`},
		{"fast", "01 61 00 48 00 62 00 49 00", contHead + spo2PR + `],` + fast + `}`},
		{"slow", "02 61 00 48 00 60 00 47 00", contHead + spo2PR + `],` + slow + `}`},
		{"fast and slow", "03 61 00 48 00 62 00 49 00 60 00 47 00", contHead + spo2PR + `],` + fast + `,` + slow + `}`},
		{"measurement status", "04 61 00 48 00 80 00", contHead + spo2PR + `],` + plxStatusValidated + `}`},
		{"device and sensor status", "08 61 00 48 00 20 00 00", contHead + spo2PR + `],` + plxDeviceLowPerf + `}`},
		{"device status reserved byte", "08 61 00 48 00 00 00 01",
			contHead + spo2PR + `],"deviceAndSensorStatus":{"extendedDisplayUpdateOngoing":false,"equipmentMalfunctionDetected":false,"signalProcessingIrregularityDetected":false,"inadequateSignalDetected":false,"poorSignalDetected":false,"lowPerfusionDetected":false,"erraticSignalDetected":false,"nonpulsatileSignalDetected":false,"questionablePulseDetected":false,"signalAnalysisOngoing":false,"sensorInterferenceDetected":false,"sensorUnconnectedToUser":false,"unknownSensorConnected":false,"sensorDisplaced":false,"sensorMalfunctioning":false,"sensorDisconnected":false,"reserved":65536}}`},
		{"pulse amplitude index", "10 61 00 48 00 19 F0", contHead + spo2PR + `],"pulseAmplitudeIndex":{"value":2.5,"unit":"%"}}`},
		{"fast NaN", "01 61 00 48 00 FF 07 FF 07",
			contHead + spo2PR + `],"fast":{"spo2":{"code":"59408-5","mdc":150456,"value":null,"unit":"%","absent":"not-a-number"},"pulseRate":{"code":"8867-4","mdc":149530,"value":null,"unit":"/min","absent":"not-a-number","source":"pulse-oximeter"}}}`},
	})
	runErrorCases(t, PLXContinuousMeasurement, []errorCase{
		{"empty", "", ErrTruncated, "flags"},
		{"no pulse", "00 61 00", ErrTruncated, "pulse rate"},
		{"fast announced, absent", "01 61 00 48 00", ErrTruncated, "SpO2 fast"},
		{"fast pulse cut", "01 61 00 48 00 62 00 49", ErrTruncated, "pulse rate fast"},
		{"slow announced, absent", "02 61 00 48 00", ErrTruncated, "SpO2 slow"},
		{"slow after fast cut", "03 61 00 48 00 62 00 49 00 60 00", ErrTruncated, "pulse rate slow"},
		{"status announced, absent", "04 61 00 48 00", ErrTruncated, "measurement status"},
		{"device status announced, absent", "08 61 00 48 00", ErrTruncated, "device and sensor status"},
		{"PAI cut", "10 61 00 48 00 19", ErrTruncated, "pulse amplitude index"},
		{"fast not announced", "00 61 00 48 00 62 00 49 00", ErrTrailing, "end"},
	})
}
