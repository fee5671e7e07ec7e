// Package homekit owns the patient's home kit: the standard Bluetooth health
// devices (thermometer, blood pressure monitor, pulse oximeter, scale, glucose
// meter, heart rate sensor) and the readings they send. It knows nothing of
// video calls or WebSockets, knows appointments only by id, and talks to no
// radio: the edge (a browser through Web Bluetooth, or the Linux home
// gateway) forwards the raw GATT characteristic values.
//
// The server decodes each value with package gatt (which keeps the device's
// unit, precision and special values) and judges plausibility itself:
// ingestion stores and flags a systolic of 400 mmHg.
//
// Store keeps each patient's kit (devices and gateways), the measurements an
// appointment expects, and the readings: raw bytes, decoder version and the
// three times (device, edge, server) of each, stored idempotently. API
// serves ingestion, the kit and the readings over HTTP, and FHIR R4
// Observation and Device views following the HL7 Personal Health Device IG.
package homekit
