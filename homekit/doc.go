// Package homekit owns the patient's home kit: the standard Bluetooth health
// devices (thermometer, blood pressure monitor, pulse oximeter, scale, glucose
// meter, heart rate sensor) and the readings they send.
//
// This part decodes raw GATT characteristic values, as the edge (a browser
// through Web Bluetooth, or the Linux home gateway) forwards them, into
// measurements with LOINC and IEEE 11073-10101 (MDC) codes and UCUM units.
// Decoding keeps what the device sent: its unit (kPa stays kPa), its
// precision (37.60 stays 37.60) and its special values (NaN, NRes, +/-INF),
// which become FHIR dataAbsentReason codes. It does not judge plausibility,
// store readings, talk to a radio or build FHIR resources.
package homekit
