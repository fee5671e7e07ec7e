package homekit

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
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

// MaxDeviceInfoLen bounds each DeviceInfo field, in characters.
const MaxDeviceInfoLen = 64

// DeviceInfo is what the edge read from a device to tell which kit device
// it is. Every field is optional; each holds at most MaxDeviceInfoLen
// printable characters. The strings are the Device Information Service's
// characteristics (Device Information Service 1.1, §3), as UTF-8.
type DeviceInfo struct {
	// SystemID is the System ID (0x2A23), its 8 bytes as 16 hex digits in
	// the order received: least significant octet first, the 40-bit
	// manufacturer-defined identifier and then the 24-bit OUI (GATT
	// Specification Supplement, System ID).
	SystemID     string `json:"systemId,omitempty"`
	Manufacturer string `json:"manufacturer,omitempty"` // Manufacturer Name String (0x2A29)
	Model        string `json:"model,omitempty"`        // Model Number String (0x2A24)
	Serial       string `json:"serial,omitempty"`       // Serial Number String (0x2A25)
	Firmware     string `json:"firmware,omitempty"`     // Firmware Revision String (0x2A26)
	// WebBluetoothID is the browser's BluetoothDevice.id: opaque, scoped to
	// the page's origin, and another one in another browser.
	WebBluetoothID string `json:"webBluetoothId,omitempty"`
}

// normalized checks d and returns it with SystemID in upper case; a
// non-empty reason rejects it.
func (d DeviceInfo) normalized() (DeviceInfo, string) {
	for _, f := range []struct{ name, v string }{
		{"systemId", d.SystemID}, {"manufacturer", d.Manufacturer}, {"model", d.Model},
		{"serial", d.Serial}, {"firmware", d.Firmware}, {"webBluetoothId", d.WebBluetoothID},
	} {
		if reason := checkInfoText(f.v); reason != "" {
			return DeviceInfo{}, fmt.Sprintf("deviceInfo.%s: %s", f.name, reason)
		}
	}
	if d.SystemID != "" {
		if _, err := hex.DecodeString(d.SystemID); err != nil || len(d.SystemID) != 16 {
			return DeviceInfo{}, fmt.Sprintf("deviceInfo.systemId %q: want the System ID's 8 bytes as 16 hex digits", d.SystemID)
		}
		d.SystemID = strings.ToUpper(d.SystemID)
	}
	return d, ""
}

// checkInfoText says what is wrong with one DeviceInfo string, if anything.
func checkInfoText(s string) string {
	switch {
	case !utf8.ValidString(s):
		return "not UTF-8"
	case utf8.RuneCountInString(s) > MaxDeviceInfoLen:
		return fmt.Sprintf("longer than %d characters", MaxDeviceInfoLen)
	case strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }):
		return "holds a character that is not printable"
	}
	return ""
}

// checkIdentity checks what a reading says of how its device was
// identified, against the kit device dev it names. It returns the device
// information to keep (nil when there is none) or a reason to reject the
// reading.
func checkIdentity(by IdentifiedBy, info *DeviceInfo, dev Device) (*DeviceInfo, string) {
	if by != "" && !slices.Contains(readingIdentifiers, by) {
		return nil, fmt.Sprintf("identifiedBy %q: want bluetooth-address, system-id, serial, web-bluetooth-id or type", by)
	}
	var d DeviceInfo
	if info != nil {
		var reason string
		if d, reason = info.normalized(); reason != "" {
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
	case dev.IdentifiedBy == BySystemID && d.SystemID != "" && !sameSystemID(d.SystemID, dev.Address):
		return nil, fmt.Sprintf("this device's System ID %s is not the kit's %s", d.SystemID, dev.Address)
	case dev.IdentifiedBy == BySerial && d.Serial != "" && !strings.EqualFold(strings.TrimSpace(d.Serial), strings.TrimSpace(dev.Address)):
		return nil, fmt.Sprintf("this device's serial number %q is not the kit's %q", d.Serial, dev.Address)
	}
	if d == (DeviceInfo{}) {
		return nil, ""
	}
	return &d, ""
}

// sameSystemID reports whether got, a System ID as received (16 hex digits,
// upper case), is the one a kit device is registered with. The kit may
// write it in either byte order, as received or as the EUI-64 is printed
// (OUI first), with or without separators.
func sameSystemID(got, kit string) bool {
	k := strings.ToUpper(strings.NewReplacer(":", "", "-", "", " ", "", ".", "").Replace(kit))
	if len(k) != 16 {
		return false
	}
	if got == k {
		return true
	}
	b, err := hex.DecodeString(got)
	if err != nil {
		return false
	}
	slices.Reverse(b)
	return strings.ToUpper(hex.EncodeToString(b)) == k
}
