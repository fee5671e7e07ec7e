package main

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"vclinic/signaling"
)

// runToken prints a signed access token on one line:
//
//	vclinic token -data DIR --role R --sub S [--room ID] [--name N] [--ttl D]
func runToken(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vclinic token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", envOr("VCLINIC_DATA", "./vclinic-data"), "data `directory` holding the signing keys [$VCLINIC_DATA]")
	role := fs.String("role", "", "`role`: clinician, scheduler, admin, patient, relative, interpreter or gateway")
	sub := fs.String("sub", "", "`subject`: who the token is for (a user or patient id)")
	room := fs.String("room", "", "room `id` a patient, relative or interpreter token is scoped to")
	name := fs.String("name", "", "display `name` shown to the others in a call")
	ttl := fs.Duration("ttl", 8*time.Hour, "how long the token is valid (`duration`)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: vclinic token -data DIR --role R --sub S [--room ID] [--name N] [--ttl D]")
		fmt.Fprintln(stderr, "Prints a signed access token on one line. Creates the signing key if there is none.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "vclinic token: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	keys, err := signaling.OpenKeyring(filepath.Join(*data, "keys"))
	if err != nil {
		fmt.Fprintln(stderr, "vclinic token:", err)
		return 1
	}
	tok, err := keys.Sign(signaling.TokenRequest{Role: *role, Subject: *sub, Name: *name, Room: *room, TTL: *ttl})
	if err != nil {
		fmt.Fprintln(stderr, "vclinic token:", err)
		return 1
	}
	fmt.Fprintln(stdout, tok)
	return 0
}
