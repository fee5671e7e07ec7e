package gatt

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

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

// Normalized checks d and returns it with SystemID in upper case; a
// non-empty reason (naming the field, as deviceInfo.systemId) rejects it.
func (d DeviceInfo) Normalized() (DeviceInfo, string) {
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

// SameSystemID reports whether got, a System ID as received (16 hex digits,
// upper case), is the one a kit device is registered with. The kit may
// write it in either byte order, as received or as the EUI-64 is printed
// (OUI first), with or without separators.
func SameSystemID(got, kit string) bool {
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
