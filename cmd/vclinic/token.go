package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"vclinic/internal/keystore"
	"vclinic/internal/records"
	"vclinic/signaling"
)

// runToken prints a signed access token on one line:
//
//	vclinic token -data DIR --role R --sub S [--room ID] [--name N] [--ttl D]
func runToken(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vclinic token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", envOr("VCLINIC_DATA", "./vclinic-data"), "data `directory` holding the signing keys [$VCLINIC_DATA]")
	pg := fs.String("postgres", envOr("VCLINIC_POSTGRES", ""), "PostgreSQL `URL` of a cluster's records, which hold its signing keys [$VCLINIC_POSTGRES]")
	role := fs.String("role", "", "`role`: clinician, scheduler, admin, patient, relative, interpreter or gateway")
	sub := fs.String("sub", "", "`subject`: who the token is for (a user or patient id)")
	room := fs.String("room", "", "room `id` a patient, relative or interpreter token is scoped to")
	name := fs.String("name", "", "display `name` shown to the others in a call")
	ttl := fs.Duration("ttl", 0, "how long the token is valid (`duration`); default 8h, and 1h for a gateway (24h at most: a home gateway pairs for its own credential)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: vclinic token [-data DIR | -postgres URL] --role R --sub S [--room ID] [--name N] [--ttl D]")
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
	if *ttl == 0 {
		*ttl = 8 * time.Hour
		if *role == signaling.RoleGateway {
			*ttl = time.Hour
		}
	}
	if *role == signaling.RoleGateway && *ttl > maxGatewayTokenTTL {
		fmt.Fprintf(stderr, "vclinic token: a gateway token lasts %s at most; a home gateway pairs for its own credential (POST /api/v1/patients/{id}/gateways gives the code, homegw -pair CODE)\n", maxGatewayTokenTTL)
		return 2
	}
	keys, closeKeys, err := openTokenKeys(*data, *pg)
	if err != nil {
		fmt.Fprintln(stderr, "vclinic token:", err)
		return 1
	}
	defer closeKeys()
	tok, err := keys.Sign(signaling.TokenRequest{Role: *role, Subject: *sub, Name: *name, Room: *room, TTL: *ttl})
	if err != nil {
		fmt.Fprintln(stderr, "vclinic token:", err)
		return 1
	}
	fmt.Fprintln(stdout, tok)
	return 0
}

// maxGatewayTokenTTL bounds an operator's gateway token: gateways in homes
// hold their own revocable credential instead.
const maxGatewayTokenTTL = 24 * time.Hour

// openTokenKeys opens the keys a node of the clinic signs with: a cluster's
// in its PostgreSQL records, one node's in its data directory.
func openTokenKeys(data, postgres string) (*signaling.Keyring, func(), error) {
	if postgres == "" {
		keys, err := signaling.OpenKeyring(filepath.Join(data, "keys"))
		return keys, func() {}, err
	}
	ctx := context.Background()
	db, err := records.Open(ctx, records.Config{PostgresURL: postgres}, nil)
	if err != nil {
		return nil, nil, err
	}
	keys, err := keystore.Open(ctx, data, db)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return keys, func() { db.Close() }, nil
}
