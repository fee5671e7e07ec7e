package gatt

import (
	"slices"
	"strings"
	"testing"
)

func TestDeviceInfoNormalized(t *testing.T) {
	for _, tc := range []struct {
		name   string
		in     DeviceInfo
		want   DeviceInfo
		reason string // what the reason holds; "" for none
	}{
		{"empty", DeviceInfo{}, DeviceInfo{}, ""},
		{"system id upper-cased", DeviceInfo{SystemID: "cdab07feffdc1b00", Model: "UA-651BLE"},
			DeviceInfo{SystemID: "CDAB07FEFFDC1B00", Model: "UA-651BLE"}, ""},
		{"system id too short", DeviceInfo{SystemID: "CDAB07FE"}, DeviceInfo{}, "deviceInfo.systemId"},
		{"system id not hex", DeviceInfo{SystemID: "CDAB07FEFFDC1BZZ"}, DeviceInfo{}, "16 hex digits"},
		{"too long", DeviceInfo{Model: strings.Repeat("x", MaxDeviceInfoLen+1)}, DeviceInfo{}, "deviceInfo.model: longer than"},
		{"long in bytes, short in characters", DeviceInfo{Manufacturer: strings.Repeat("æ", MaxDeviceInfoLen)},
			DeviceInfo{Manufacturer: strings.Repeat("æ", MaxDeviceInfoLen)}, ""},
		{"not printable", DeviceInfo{Firmware: "1.0\x00"}, DeviceInfo{}, "deviceInfo.firmware: holds a character"},
		{"not UTF-8", DeviceInfo{Serial: "\xff\xfe"}, DeviceInfo{}, "deviceInfo.serial: not UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, reason := tc.in.Normalized()
			if tc.reason == "" && (reason != "" || got != tc.want) {
				t.Errorf("Normalized() = %+v, %q; want %+v", got, reason, tc.want)
			}
			if tc.reason != "" && !strings.Contains(reason, tc.reason) {
				t.Errorf("reason %q, want it to hold %q", reason, tc.reason)
			}
		})
	}
}

func TestSameSystemID(t *testing.T) {
	const got = "CDAB07FEFFDC1B00" // as received, least significant octet first
	for kit, want := range map[string]bool{
		"CDAB07FEFFDC1B00":        true,
		"cd:ab:07:fe:ff:dc:1b:00": true,
		"001BDCFFFE07ABCD":        true, // as printed, OUI first
		"00-1B-DC-FF-FE-07-AB-CD": true,
		"001BDCFFFE07ABCE":        false,
		"001BDCFFFE07AB":          false,
		"":                        false,
	} {
		if SameSystemID(got, kit) != want {
			t.Errorf("SameSystemID(%s, %q) = %v", got, kit, !want)
		}
	}
}

func TestCharacteristicsOf(t *testing.T) {
	for _, k := range Kinds() {
		chars := CharacteristicsOf(k)
		if len(chars) == 0 {
			t.Errorf("%s sends nothing", k)
		}
		for _, c := range chars {
			if MeasurementsIn(c) < 1 {
				t.Errorf("%s sends %s, which Decode does not read as measurements", k, Characteristic(c))
			}
		}
	}
	if !slices.Equal(CharacteristicsOf(KindPulseOximeter), []uint16{PLXSpotCheckMeasurement, PLXContinuousMeasurement}) {
		t.Errorf("pulse oximeter sends %v", CharacteristicsOf(KindPulseOximeter))
	}
	if CharacteristicsOf("toaster") != nil {
		t.Error("an unknown kind sends something")
	}
}
