package main

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"vclinic/homekit/gatt"
)

const gattUsage = `Usage: vclinic gatt decode <characteristic> <hex>
Decodes one raw Bluetooth GATT characteristic value and prints it as one JSON
object with a "measurements" array (LOINC code, value with the device's
decimals, UCUM unit; value null and "absent" for a special value).
  <characteristic>  2A35, 0x2a35 or 00002a35-0000-1000-8000-00805f9b34fb
  <hex>             the value as sent, e.g. "1E 78 00 50 00 5D 00"
                    (spaces, ':' or '-' between bytes are fine)
Exit status: 0 decoded, 1 the input does not decode, 2 usage.
`

// runGATT runs `vclinic gatt ...`; args are what follows "gatt". Device
// integrators use it to see what the server makes of a device's bytes.
func runGATT(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, gattUsage)
		return 2
	}
	switch args[0] {
	case "decode":
		return runGATTDecode(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stderr, gattUsage)
		return 0
	}
	fmt.Fprintf(stderr, "vclinic gatt: unknown command %q (want decode)\n", args[0])
	return 2
}

// runGATTDecode decodes args[0] (the characteristic) and args[1:] (the hex,
// which the shell may have split at its spaces).
func runGATTDecode(args []string, stdout, stderr io.Writer) int {
	if len(args) < 2 {
		fmt.Fprint(stderr, gattUsage)
		return 2
	}
	char, err := gatt.ParseCharacteristic(args[0])
	if err != nil {
		fmt.Fprintln(stderr, "vclinic gatt decode:", err)
		return 1
	}
	raw, err := parseHexValue(strings.Join(args[1:], " "))
	if err != nil {
		fmt.Fprintln(stderr, "vclinic gatt decode:", err)
		return 1
	}
	d, err := gatt.Decode(char, raw)
	if errors.Is(err, gatt.ErrUnknownCharacteristic) {
		fmt.Fprintf(stderr, "vclinic gatt decode: %v (known: %s)\n", err, knownCharacteristics())
		return 1
	}
	if err != nil {
		fmt.Fprintln(stderr, "vclinic gatt decode:", err)
		return 1
	}
	b, err := json.Marshal(d)
	if err != nil {
		fmt.Fprintln(stderr, "vclinic gatt decode:", err)
		return 1
	}
	if _, err := stdout.Write(append(b, '\n')); err != nil {
		fmt.Fprintln(stderr, "vclinic gatt decode:", err)
		return 1
	}
	return 0
}

// parseHexValue reads bytes written as hex digits, with or without spaces,
// colons or dashes between bytes (as nRF Connect and Web Bluetooth logs show
// them) and with or without a 0x before each group.
func parseHexValue(s string) ([]byte, error) {
	var digits strings.Builder
	for _, f := range strings.FieldsFunc(s, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == ':' || r == '-' || r == ','
	}) {
		if len(f) > 2 && (f[:2] == "0x" || f[:2] == "0X") {
			f = f[2:]
		}
		digits.WriteString(f)
	}
	raw, err := hex.DecodeString(digits.String())
	if err != nil {
		return nil, fmt.Errorf("value %q is not hex bytes: %w", s, err)
	}
	return raw, nil
}

func knownCharacteristics() string {
	var names []string
	for _, c := range gatt.Characteristics() {
		names = append(names, fmt.Sprintf("%04X", c))
	}
	return strings.Join(names, " ")
}
