package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"vclinic/internal/records"
	"vclinic/internal/records/audit"
)

// What a backup of the embedded clinic holds: the records, and the keys the
// records need: the CPR key in the data directory (the numbers in the
// records open with it alone) and the token signing keys (tokens and links
// already sent verify with them). A backup is as secret as the keys; a
// -cpr-key-file kept elsewhere is backed up on its own.
const (
	backupDB   = "vclinic.db"
	backupKeys = "keys"
)

// runBackup is `vclinic backup -data DIR OUT`: a consistent copy of the
// embedded clinic's records and keys into the new directory OUT, taken
// while the clinic runs.
func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runDataCommand(ctx, args, stdout, stderr, dataCommand{
		name:     "backup",
		arg:      "OUT",
		dataHelp: "data `directory` of the clinic [$VCLINIC_DATA]",
		about: "Copies the clinic's records (an online SQLite backup) and its signing keys into the new directory OUT.\n" +
			"A cluster's PostgreSQL is backed up with pg_dump or continuous archiving (deploy/README.md).",
		run:  func(ctx context.Context, data, out string) error { return backup(ctx, data, out) },
		done: "backed up to %[2]s",
	})
}

// dataCommand is a subcommand that takes -data and one directory.
type dataCommand struct {
	name, arg, dataHelp, about string
	run                        func(ctx context.Context, data, dir string) error
	done                       string // printed on success; %[1]s is the data directory, %[2]s the argument
}

// runDataCommand parses `vclinic NAME [-data DIR] ARG` and runs it.
func runDataCommand(ctx context.Context, args []string, stdout, stderr io.Writer, c dataCommand) int {
	fset := flag.NewFlagSet("vclinic "+c.name, flag.ContinueOnError)
	fset.SetOutput(stderr)
	data := fset.String("data", envOr("VCLINIC_DATA", "./vclinic-data"), c.dataHelp)
	fset.Usage = func() {
		fmt.Fprintf(stderr, "Usage: vclinic %s [-data DIR] %s\n%s\n", c.name, c.arg, c.about)
		fset.PrintDefaults()
	}
	if err := fset.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fset.NArg() != 1 {
		fset.Usage()
		return 2
	}
	if err := c.run(ctx, *data, fset.Arg(0)); err != nil {
		fmt.Fprintf(stderr, "vclinic %s: %v\n", c.name, err)
		return 1
	}
	fmt.Fprintf(stdout, c.done+"\n", *data, fset.Arg(0))
	return 0
}

func backup(ctx context.Context, data, out string) error {
	src := filepath.Join(data, backupDB)
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("no records in %s: %w", data, err)
	}
	if err := os.Mkdir(out, 0o700); err != nil {
		return fmt.Errorf("the backup directory must be new: %w", err)
	}
	db, err := records.Open(ctx, records.Config{SQLitePath: src}, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.BackupTo(ctx, filepath.Join(out, backupDB)); err != nil {
		return err
	}
	if err := copyIfExists(filepath.Join(data, cprKeyFileName), filepath.Join(out, cprKeyFileName)); err != nil {
		return err
	}
	return copyDir(filepath.Join(data, backupKeys), filepath.Join(out, backupKeys))
}

// copyIfExists copies a file that may be missing.
func copyIfExists(from, to string) error {
	if _, err := os.Stat(from); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return copyFile(from, to)
}

// runRestore is `vclinic restore -data DIR IN`: the records and keys of the
// backup IN into the data directory DIR, which must hold no records yet.
// The records are checked (SQLite's integrity check, and the clinic's
// migrations) before the command says they are restored.
func runRestore(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runDataCommand(ctx, args, stdout, stderr, dataCommand{
		name:     "restore",
		arg:      "IN",
		dataHelp: "data `directory` to restore into; it must hold no records [$VCLINIC_DATA]",
		about:    "Restores a backup made by vclinic backup into a data directory without records; start vclinic on it after.",
		run:      func(ctx context.Context, data, in string) error { return restore(ctx, in, data) },
		done:     "restored into %[1]s",
	})
}

func restore(ctx context.Context, in, data string) error {
	src := filepath.Join(in, backupDB)
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("%s is not a backup: %w", in, err)
	}
	dst := filepath.Join(data, backupDB)
	if _, err := os.Stat(dst); err == nil {
		return fmt.Errorf("%s holds records already; restore into an empty data directory", data)
	}
	if err := os.MkdirAll(data, 0o700); err != nil {
		return err
	}
	if err := copyFile(src, dst); err != nil {
		return err
	}
	if err := copyIfExists(filepath.Join(in, cprKeyFileName), filepath.Join(data, cprKeyFileName)); err != nil {
		return err
	}
	if err := copyDir(filepath.Join(in, backupKeys), filepath.Join(data, backupKeys)); err != nil {
		return err
	}
	db, err := records.Open(ctx, records.Config{SQLitePath: dst}, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer db.Close()
	var ok string
	if err := db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
		return fmt.Errorf("the restored records fail SQLite's integrity check: %s %v", ok, err)
	}
	if _, err := audit.New(ctx, db, audit.Config{}, nil); err != nil {
		return fmt.Errorf("the restored records: %w", err)
	}
	return nil
}

// copyDir copies the regular files of dir (not below) into a new directory
// to, keeping their modes. A missing dir copies nothing.
func copyDir(dir, to string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := os.MkdirAll(to, 0o700); err != nil {
		return err
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		if err := copyFile(filepath.Join(dir, e.Name()), filepath.Join(to, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// copyFile copies a file to a new path with the same mode, synced.
func copyFile(from, to string) error {
	st, err := os.Stat(from)
	if err != nil {
		return err
	}
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, st.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
