// Package gatt decodes what the standard Bluetooth health devices send: the
// GATT characteristic values of the Health Thermometer, Blood Pressure,
// Pulse Oximeter, Weight Scale, Glucose and Heart Rate services, their IEEE
// 11073-20601 SFLOAT and FLOAT numbers, the Record Access Control Point of a
// glucose meter, and the Device Information Service's strings.
//
// Decode turns one value into measurements with LOINC and IEEE 11073-10101
// (MDC) codes and UCUM units, plus its context (time stamp, user, status
// bits). Decoding keeps what the device sent: its unit (kPa stays kPa), its
// precision (37.60 stays 37.60) and its special values (NaN, NRes, +/-INF),
// which become FHIR dataAbsentReason codes. It refuses values that are
// structurally impossible but does not judge plausibility.
//
// It is a pure library: the standard library only, no store, no HTTP and no
// clock of its own (times come in as arguments). It knows nothing of
// patients or kits; the home gateway (cmd/homegw) links it alone, and the
// server's home kit (package homekit) stores what it decodes.
package gatt
