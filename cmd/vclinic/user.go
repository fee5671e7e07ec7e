package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"vclinic/scheduler"
)

// runUser manages staff users:
//
//	vclinic user add -data DIR --role R --username U --name "N" --password-stdin
func runUser(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "add" {
		fmt.Fprintln(stderr, "usage: vclinic user add -data DIR --role R --username U --name \"N\" --password-stdin")
		return 2
	}
	fs := flag.NewFlagSet("vclinic user add", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", envOr("VCLINIC_DATA", "./vclinic-data"), "data `directory` [$VCLINIC_DATA]")
	pg := fs.String("postgres", os.Getenv("VCLINIC_POSTGRES"), "PostgreSQL `URL` instead of the embedded database [$VCLINIC_POSTGRES]")
	cprKey := fs.String("cpr-key-file", os.Getenv("VCLINIC_CPR_KEY_FILE"), "`file` of the key that encrypts CPR numbers (default cpr.key in the data directory) [$VCLINIC_CPR_KEY_FILE]")
	role := fs.String("role", "", "`role`: clinician, scheduler or admin")
	username := fs.String("username", "", "user `name` to sign in with")
	name := fs.String("name", "", "full `name` shown to others")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	if err := fs.Parse(args[1:]); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if !*fromStdin {
		fmt.Fprintln(stderr, "vclinic user add: give --password-stdin (passwords never go on the command line)")
		return 2
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && err != io.EOF {
		fmt.Fprintln(stderr, "vclinic user add: read password:", err)
		return 1
	}
	password := strings.TrimRight(line, "\r\n")
	db, store, err := openScheduler(ctx, *data, *pg, *cprKey, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		fmt.Fprintln(stderr, "vclinic user add:", err)
		return 1
	}
	defer db.Close()
	u, err := store.CreateUser(ctx, scheduler.System, *username, *name, *role, password)
	if err != nil {
		fmt.Fprintln(stderr, "vclinic user add:", scheduler.Reason(err))
		return 1
	}
	fmt.Fprintf(stdout, "created %s %s (%s), id %s\n", u.Role, u.Username, u.Name, u.ID)
	return 0
}
