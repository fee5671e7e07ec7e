// Package homekit owns the patient's home kit: the standard Bluetooth health
// devices (thermometer, blood pressure monitor, pulse oximeter, scale, glucose
// meter, heart rate sensor) and the readings they send. It knows nothing of
// video calls or WebSockets, knows appointments only by id, and talks to no
// radio: the edge (a browser through Web Bluetooth, or the Linux home
// gateway) forwards the raw GATT characteristic values.
//
// Decode turns one value into measurements with LOINC and IEEE 11073-10101
// (MDC) codes and UCUM units, plus its context (time stamp, user, status
// bits). Decoding keeps what the
// device sent: its unit (kPa stays kPa), its precision (37.60 stays 37.60)
// and its special values (NaN, NRes, +/-INF), which become FHIR
// dataAbsentReason codes. It refuses values that are structurally impossible
// but does not judge plausibility; ingestion flags a systolic of 400 mmHg.
//
// Store keeps each patient's kit (devices and gateways), the measurements an
// appointment expects, and the readings: raw bytes, decoder version and the
// three times (device, edge, server) of each, stored idempotently. API
// serves ingestion, the kit and the readings over HTTP, and FHIR R4
// Observation and Device views following the HL7 Personal Health Device IG.
package homekit
