package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"vclinic/internal/records/audit"
	"vclinic/scheduler"
	"vclinic/signaling"
)

// TestBackupAndRestore: a backup taken while the clinic runs and writes,
// restored into a fresh data directory, holds every record (patients with
// their CPR numbers, which decrypt with the restored CPR key; appointments,
// users, the audit log) and the signing keys: a link sent before the backup
// works on the restored clinic. Restore
// refuses a data directory that has records, and backup an existing
// target.
func TestBackupAndRestore(t *testing.T) {
	a := newAPIClinic(t) // serving; patients A (with a CPR number) and B, two appointments
	ctx := context.Background()
	data := a.c.cfg.Data
	link := a.patientToken(a.apptA, a.patA.ID)

	// Writes go on while the backup runs.
	stop := make(chan struct{})
	done := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				done <- n
				return
			default:
			}
			if _, err := a.c.store.CreatePatient(ctx, a.sched.Actor(), scheduler.Patient{Name: "During the backup"}); err != nil {
				t.Error(err)
			}
			n++
		}
	}()
	out := filepath.Join(t.TempDir(), "backup")
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"backup", "-data", data, out}, &stdout, &stderr)
	close(stop)
	written := <-done
	if code != 0 {
		t.Fatalf("vclinic backup: %d %s", code, stderr.String())
	}
	if st, err := os.Stat(filepath.Join(out, "vclinic.db")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("the backup's records: %v %v", st, err)
	}
	if code := run(ctx, []string{"backup", "-data", data, out}, io.Discard, io.Discard); code != 1 {
		t.Fatalf("a backup over an existing one: exit %d, want 1", code)
	}

	restored := filepath.Join(t.TempDir(), "restored")
	stderr.Reset()
	if code := run(ctx, []string{"restore", "-data", restored, out}, io.Discard, &stderr); code != 0 {
		t.Fatalf("vclinic restore: %d %s", code, stderr.String())
	}
	if code := run(ctx, []string{"restore", "-data", restored, out}, io.Discard, io.Discard); code != 1 {
		t.Fatalf("a restore over records: exit %d, want 1", code)
	}

	// A clinic on the restored directory.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := serveConfig{Addr: ln.Addr().String(), Data: restored, UDPPort: 0, TCPPort: -1, Grace: 20 * time.Second}
	c, err := newClinic(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), "http://"+ln.Addr().String(), false)
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: c.routes()}}
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		c.Close()
	})
	pat, err := c.store.GetPatient(ctx, a.sched.Actor(), a.patA.ID)
	if err != nil || pat.CPR != a.patA.CPR || pat.Name != a.patA.Name {
		t.Fatalf("patient A restored as %+v (%v)", pat, err)
	}
	patients, err := c.store.ListPatients(ctx, a.sched.Actor(), scheduler.PatientFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	if len(patients) < 2 || len(patients) > 2+written {
		t.Fatalf("%d patients restored; 2 before the backup, %d written during it", len(patients), written)
	}
	if ap, err := c.store.GetAppointment(ctx, a.sched.Actor(), a.apptB.ID); err != nil || ap.PatientID != a.patB.ID {
		t.Fatalf("appointment B restored as %+v (%v)", ap, err)
	}
	if _, err := c.store.Authenticate(ctx, "anna", "a long password 2", "127.0.0.1"); err != nil {
		t.Fatalf("the clinician signs in on the restored clinic: %v", err)
	}
	if rows, err := c.trail.Query(ctx, c.db, audit.Filter{PatientID: a.patA.ID}); err != nil || len(rows.Rows) == 0 {
		t.Fatalf("patient A's audit rows: %d (%v)", len(rows.Rows), err)
	}
	// The link sent before the backup verifies with the restored keys.
	claims, err := c.keys.Verify(link)
	if err != nil || claims.Appt != a.apptA.ID {
		t.Fatalf("a link sent before the backup: %v", err)
	}
	if _, err := c.keys.Sign(signaling.TokenRequest{Role: "patient", Subject: "x", Room: "r", TTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
}

// TestCPRAtRest: the CPR numbers are nowhere in the database's files (the
// database and its write-ahead log), and the key that opens them is a file
// of its own, readable by the clinic's user alone.
func TestCPRAtRest(t *testing.T) {
	a := newAPIClinic(t) // patient A has CPR number 0101701234
	ctx := context.Background()
	if _, err := a.c.store.CreatePatient(ctx, a.sched.Actor(), scheduler.Patient{Name: "Jonas Berg", CPR: "2512489996"}); err != nil {
		t.Fatal(err)
	}
	found, err := a.c.store.ListPatients(ctx, a.sched.Actor(), scheduler.PatientFilter{CPR: "0101701234"})
	if err != nil || len(found) != 1 || found[0].ID != a.patA.ID || found[0].CPR != "0101701234" {
		t.Fatalf("patient A by CPR number: %+v %v", found, err)
	}
	files, _ := filepath.Glob(filepath.Join(a.c.cfg.Data, "vclinic.db*"))
	if len(files) == 0 {
		t.Fatal("no database files")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []string{"0101701234", "2512489996"} {
			if bytes.Contains(b, []byte(n)) {
				t.Errorf("%s holds CPR number %s in clear", f, n)
			}
		}
	}
	st, err := os.Stat(filepath.Join(a.c.cfg.Data, "cpr.key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("the CPR key file: %v %v", st, err)
	}
}
