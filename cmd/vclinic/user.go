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
//	vclinic user add -data DIR --role R --username U --name "N" [--email E] --password-stdin
//	vclinic user add -data DIR --role R --username U --name "N" --email E
//
// The second kind has no password: they sign in only through the region's
// identity provider (-oidc-issuer), which finds them by the e-mail the
// first time.
func runUser(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "add" {
		fmt.Fprintln(stderr, "usage: vclinic user add -data DIR --role R --username U --name \"N\" [--email E] --password-stdin (or --email E alone: signs in through the identity provider)")
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
	email := fs.String("email", "", "work e-mail `address`, which matches the user to the region's identity provider on their first sign-in there")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input (without it, and with --email, the user signs in only through the identity provider)")
	if err := fs.Parse(args[1:]); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if !*fromStdin && *email == "" {
		fmt.Fprintln(stderr, "vclinic user add: give --password-stdin (passwords never go on the command line), or --email for a user who signs in through the identity provider")
		return 2
	}
	password := ""
	if *fromStdin {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && err != io.EOF {
			fmt.Fprintln(stderr, "vclinic user add: read password:", err)
			return 1
		}
		password = strings.TrimRight(line, "\r\n")
		if password == "" {
			fmt.Fprintln(stderr, "vclinic user add: the password on standard input is empty")
			return 1
		}
	}
	db, store, err := openScheduler(ctx, *data, *pg, *cprKey, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		fmt.Fprintln(stderr, "vclinic user add:", err)
		return 1
	}
	defer db.Close()
	u, err := store.AddUser(ctx, scheduler.System, scheduler.NewUser{Username: *username, Name: *name, Role: *role, Password: password, Email: *email})
	if err != nil {
		fmt.Fprintln(stderr, "vclinic user add:", scheduler.Reason(err))
		return 1
	}
	fmt.Fprintf(stdout, "created %s %s (%s), id %s\n", u.Role, u.Username, u.Name, u.ID)
	if password == "" {
		fmt.Fprintf(stdout, "%s has no password: they sign in through the identity provider as %s\n", u.Username, u.Email)
	}
	return 0
}
