package homekit

import (
	"fmt"
	"slices"
	"strings"

	"vclinic/homekit/gatt"
)

// How the edge identified the device. Web Bluetooth hides the Bluetooth
// address, so the patient's page tells a kit device by what it can see: the
// Device Information Service (0x180A), or the browser's own id for the
// device, or, failing all that, only its type. Each reading may say which of
// these matched its kit entry (ReadingIn.IdentifiedBy) and what the edge read
// (ReadingIn.DeviceInfo); both are kept with the reading, so that a record
// shows how sure the match was.
//
// The device information is also checked against the kit: a kit device
// registered by System ID (or serial number) refuses a reading whose edge
// read another System ID (serial number). A patient must never have another
// device's values filed as theirs.

// ByDeviceType: the edge matched the kit entry by its device type alone
// (the patient's kit has one device of that type). Readings only; a kit
// device is registered by one of the other identifiers.
const ByDeviceType IdentifiedBy = "type"

// readingIdentifiers are the values ReadingIn.IdentifiedBy may take.
var readingIdentifiers = []IdentifiedBy{ByBluetoothAddress, BySystemID, BySerial, ByWebBluetoothID, ByDeviceType}

// checkIdentity checks what a reading says of how its device was
// identified, against the kit device dev it names. It returns the device
// information to keep (nil when there is none) or a reason to reject the
// reading.
func checkIdentity(by IdentifiedBy, info *gatt.DeviceInfo, dev Device) (*gatt.DeviceInfo, string) {
	if by != "" && !slices.Contains(readingIdentifiers, by) {
		return nil, fmt.Sprintf("identifiedBy %q: want bluetooth-address, system-id, serial, web-bluetooth-id or type", by)
	}
	var d gatt.DeviceInfo
	if info != nil {
		var reason string
		if d, reason = info.Normalized(); reason != "" {
			return nil, reason
		}
	}
	// A match by an identifier names the identifier matched.
	switch {
	case by == BySystemID && d.SystemID == "":
		return nil, "identifiedBy system-id: deviceInfo.systemId is missing"
	case by == BySerial && d.Serial == "":
		return nil, "identifiedBy serial: deviceInfo.serial is missing"
	case by == ByWebBluetoothID && d.WebBluetoothID == "":
		return nil, "identifiedBy web-bluetooth-id: deviceInfo.webBluetoothId is missing"
	}
	// The device the edge read is not the kit's.
	switch {
	case dev.IdentifiedBy == BySystemID && d.SystemID != "" && !gatt.SameSystemID(d.SystemID, dev.Address):
		return nil, fmt.Sprintf("this device's System ID %s is not the kit's %s", d.SystemID, dev.Address)
	case dev.IdentifiedBy == BySerial && d.Serial != "" && !strings.EqualFold(strings.TrimSpace(d.Serial), strings.TrimSpace(dev.Address)):
		return nil, fmt.Sprintf("this device's serial number %q is not the kit's %q", d.Serial, dev.Address)
	}
	if d == (gatt.DeviceInfo{}) {
		return nil, ""
	}
	return &d, ""
}
