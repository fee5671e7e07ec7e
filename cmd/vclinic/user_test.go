package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
)

func TestUserAdd(t *testing.T) {
	ctx := context.Background()
	data := filepath.Join(t.TempDir(), "data")
	var out, errb bytes.Buffer
	args := []string{"add", "-data", data, "--role", "clinician", "--username", "Anna", "--name", "Dr. Anna Holm", "--password-stdin"}
	if code := runUser(ctx, args, strings.NewReader("correct horse battery\n"), &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "created clinician anna") {
		t.Fatalf("stdout %q", out.String())
	}
	db, store, err := openScheduler(ctx, data, "", "", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := store.Authenticate(ctx, "anna", "correct horse battery", ""); err != nil {
		t.Fatalf("the new user cannot sign in: %v", err)
	}
	// A user of the identity provider only: an e-mail, no password.
	out.Reset()
	args = []string{"add", "-data", data, "--role", "scheduler", "--username", "mette", "--name", "Mette Lund", "--email", "Mette.Lund@regionh.dk"}
	if code := runUser(ctx, args, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "sign in through the identity provider as mette.lund@regionh.dk") {
		t.Fatalf("stdout %q", out.String())
	}
	if u, err := store.UserByUsername(ctx, "mette"); err != nil || u.Email != "mette.lund@regionh.dk" {
		t.Fatalf("mette: %+v %v", u, err)
	}
	for name, tc := range map[string]struct {
		args  []string
		stdin string
	}{
		"password on no stdin flag": {[]string{"add", "-data", data, "--role", "admin", "--username", "x1", "--name", "X"}, ""},
		"short password":            {[]string{"add", "-data", data, "--role", "admin", "--username", "x2", "--name", "X", "--password-stdin"}, "short\n"},
		"taken user name":           {[]string{"add", "-data", data, "--role", "admin", "--username", "anna", "--name", "X", "--password-stdin"}, "another long password\n"},
		"guest role":                {[]string{"add", "-data", data, "--role", "patient", "--username", "x3", "--name", "X", "--password-stdin"}, "another long password\n"},
		"no subcommand":             {[]string{}, ""},
		"empty password":            {[]string{"add", "-data", data, "--role", "admin", "--username", "x4", "--name", "X", "--email", "x4@regionh.dk", "--password-stdin"}, "\n"},
		"bad e-mail":                {[]string{"add", "-data", data, "--role", "admin", "--username", "x5", "--name", "X", "--email", "x5"}, ""},
		"taken e-mail":              {[]string{"add", "-data", data, "--role", "admin", "--username", "x6", "--name", "X", "--email", "mette.lund@regionh.dk"}, ""},
	} {
		t.Run(name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := runUser(ctx, tc.args, strings.NewReader(tc.stdin), &out, &errb); code == 0 || errb.Len() == 0 {
				t.Fatalf("exit %d, stderr %q: want a failure with a reason", code, errb.String())
			}
		})
	}
}
