package audit_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"vclinic/internal/records"
	"vclinic/internal/records/audit"
	"vclinic/internal/records/recordstest"
)

func TestMain(m *testing.M) { os.Exit(recordstest.Main(m)) }

func TestConfig(t *testing.T) {
	if err := (audit.Config{Retention: 30 * 24 * time.Hour}).Validate(); err == nil {
		t.Error("a retention of 30 days was accepted")
	}
	for _, ok := range []time.Duration{0, audit.MinRetention, audit.DefaultRetention} {
		if err := (audit.Config{Retention: ok}).Validate(); err != nil {
			t.Errorf("retention %v: %v", ok, err)
		}
	}
}

func TestRedactCPR(t *testing.T) {
	for in, want := range map[string]string{
		"cancelled, cpr 0101801234 called": "cancelled, cpr [redacted] called",
		"010180-1234":                      "[redacted]",
		"010180 1234 and 31128599999":      "[redacted] and [redacted]9",
		"room 12, 10:30":                   "room 12, 10:30",
	} {
		if got := audit.RedactCPR(in); got != want {
			t.Errorf("RedactCPR(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLog(t *testing.T) {
	for _, b := range recordstest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			for _, tc := range []struct {
				name string
				test func(t *testing.T, b recordstest.Backend)
			}{
				{"AppendAndQuery", testAppendAndQuery},
				{"Paging", testPaging},
				{"BadQueries", testBadQueries},
				{"AppendOnly", testAppendOnly},
				{"Purge", testPurge},
				{"RolledBack", testRolledBack},
			} {
				t.Run(tc.name, func(t *testing.T) { tc.test(t, b) })
			}
		})
	}
}

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func open(t *testing.T, b recordstest.Backend, c *clock) (*records.DB, *audit.Log) {
	t.Helper()
	db := b.Open(t, records.Config{})
	l, err := audit.New(context.Background(), db, audit.Config{Clock: c.now}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return db, l
}

func appendRows(t *testing.T, db *records.DB, l *audit.Log, es ...audit.Entry) {
	t.Helper()
	ctx := context.Background()
	err := db.InTx(ctx, "append", func(tx *sql.Tx) error {
		for _, e := range es {
			if err := l.Append(ctx, tx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testAppendAndQuery(t *testing.T, b recordstest.Backend) {
	ctx := context.Background()
	c := &clock{time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)}
	db, l := open(t, b, c)
	appendRows(t, db, l, audit.Entry{ActorID: "u-anna", ActorRole: "clinician", Action: "read", Entity: "patient",
		EntityID: "p-1", PatientID: "p-1", Address: "192.0.2.7", Detail: "cpr 0101801234"})
	c.t = c.t.Add(time.Minute)
	appendRows(t, db, l, audit.Entry{ActorID: "u-mette", ActorRole: "scheduler", Action: "list", Entity: "patient"},
		audit.Entry{ActorID: "u-mette", ActorRole: "scheduler", Action: "read", Entity: "appointment", EntityID: "a-9", PatientID: "p-2"})
	c.t = c.t.Add(time.Minute)
	appendRows(t, db, l, audit.Entry{ActorID: "u-anna", ActorRole: "clinician", Action: "read", Entity: "reading", PatientID: "p-2"})

	all, err := l.Query(ctx, db, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Rows) != 4 || all.Next != "" {
		t.Fatalf("all rows: %d rows, next %q; want 4 and no next", len(all.Rows), all.Next)
	}
	if all.Rows[0].Entity != "reading" || all.Rows[3].Entity != "patient" || all.Rows[3].Action != "read" {
		t.Errorf("rows not newest first: %+v", all.Rows)
	}
	first := all.Rows[3]
	if first.Address != "192.0.2.7" || first.PatientID != "p-1" || !first.At.Equal(time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("first row read back as %+v", first)
	}
	if strings.Contains(first.Detail, "0101801234") {
		t.Errorf("a CPR number reached the audit log: %q", first.Detail)
	}
	if all.Rows[2].PatientID != "" {
		t.Errorf("a list of no one's data has patient %q", all.Rows[2].PatientID)
	}
	for _, tc := range []struct {
		name string
		f    audit.Filter
		want int
	}{
		{"patient", audit.Filter{PatientID: "p-2"}, 2},
		{"actor", audit.Filter{ActorID: "u-anna"}, 2},
		{"patient and actor", audit.Filter{PatientID: "p-2", ActorID: "u-anna"}, 1},
		{"from", audit.Filter{From: time.Date(2026, 12, 4, 9, 1, 0, 0, time.UTC)}, 3},
		{"to", audit.Filter{To: time.Date(2026, 12, 4, 9, 1, 0, 0, time.UTC)}, 1},
		{"window", audit.Filter{From: time.Date(2026, 12, 4, 9, 1, 0, 0, time.UTC), To: time.Date(2026, 12, 4, 9, 2, 0, 0, time.UTC)}, 2},
		{"nobody", audit.Filter{PatientID: "p-404"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := l.Query(ctx, db, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Rows) != tc.want {
				t.Errorf("%d rows, want %d: %+v", len(p.Rows), tc.want, p.Rows)
			}
			if p.Rows == nil {
				t.Error("rows is nil, want an empty list")
			}
		})
	}
	if err := db.InTx(ctx, "append without actor", func(tx *sql.Tx) error {
		return l.Append(ctx, tx, audit.Entry{Action: "read", Entity: "patient"})
	}); !errors.Is(err, audit.ErrInvalid) {
		t.Errorf("a row without an actor: %v", err)
	}
}

// testPaging reads 25 rows, many at the same millisecond, 7 at a time: each
// row comes exactly once, newest first.
func testPaging(t *testing.T, b recordstest.Backend) {
	ctx := context.Background()
	c := &clock{time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)}
	db, l := open(t, b, c)
	for i := range 25 {
		if i%5 == 0 {
			c.t = c.t.Add(time.Second)
		}
		appendRows(t, db, l, audit.Entry{ActorID: "u", ActorRole: "admin", Action: "read", Entity: "n", EntityID: fmt.Sprint(i)})
	}
	seen := map[string]bool{}
	var order []string
	after := ""
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		p, err := l.Query(ctx, db, audit.Filter{Limit: 7, After: after})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range p.Rows {
			if seen[r.EntityID] {
				t.Errorf("row %s came twice", r.EntityID)
			}
			seen[r.EntityID] = true
			order = append(order, r.EntityID)
		}
		if p.Next == "" {
			break
		}
		after = p.Next
	}
	if len(seen) != 25 {
		t.Errorf("paging saw %d rows, want 25", len(seen))
	}
	if order[0] != "24" || order[24] != "0" {
		t.Errorf("order %v, want 24 first and 0 last", order)
	}
}

func testBadQueries(t *testing.T, b recordstest.Backend) {
	ctx := context.Background()
	db, l := open(t, b, &clock{time.Now()})
	at := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	for _, f := range []audit.Filter{
		{Limit: 1001},
		{Limit: -1},
		{After: "not-a-cursor"},
		{After: "MTox"},
		{From: at, To: at},
		{From: at.Add(time.Hour), To: at},
	} {
		if _, err := l.Query(ctx, db, f); !errors.Is(err, audit.ErrInvalid) {
			t.Errorf("Query(%+v) = %v, want ErrInvalid", f, err)
		}
	}
}

// testAppendOnly: the application cannot change or delete a row, nor empty
// the table, whatever SQL it sends.
func testAppendOnly(t *testing.T, b recordstest.Backend) {
	ctx := context.Background()
	db, l := open(t, b, &clock{time.Now()})
	appendRows(t, db, l, audit.Entry{ActorID: "u", ActorRole: "admin", Action: "read", Entity: "patient", PatientID: "p-1"})
	attempts := []string{
		`UPDATE audit_log SET actor_id = 'someone else'`,
		`UPDATE audit_log SET at = at - 100000000000`,
		`DELETE FROM audit_log`,
	}
	if db.Dialect() == records.Postgres {
		attempts = append(attempts, `TRUNCATE audit_log`)
	}
	for _, q := range attempts {
		err := db.InTx(ctx, "tamper", func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, q)
			return err
		})
		if err == nil {
			t.Errorf("%s was allowed", q)
		}
	}
	p, err := l.Query(ctx, db, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Rows) != 1 || p.Rows[0].ActorID != "u" {
		t.Errorf("after tampering the log holds %+v", p.Rows)
	}
}

func testPurge(t *testing.T, b recordstest.Backend) {
	ctx := context.Background()
	now := time.Now().UTC()
	c := &clock{now.AddDate(-12, 0, 0)}
	db, l := open(t, b, c)
	for range 3 {
		appendRows(t, db, l, audit.Entry{ActorID: "u", ActorRole: "admin", Action: "read", Entity: "old"})
	}
	c.t = now.AddDate(-9, 0, 0)
	appendRows(t, db, l, audit.Entry{ActorID: "u", ActorRole: "admin", Action: "read", Entity: "kept"})
	c.t = now
	appendRows(t, db, l, audit.Entry{ActorID: "u", ActorRole: "admin", Action: "read", Entity: "new"})
	n, err := l.Purge(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("purged %d rows, want the 3 older than ten years", n)
	}
	p, err := l.Query(ctx, db, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Rows) != 2 || p.Rows[0].Entity != "new" || p.Rows[1].Entity != "kept" {
		t.Errorf("after the purge: %+v", p.Rows)
	}
	// The schema itself refuses a purge of young rows, whatever the
	// application's clock says.
	short, err := audit.New(ctx, db, audit.Config{Clock: func() time.Time { return now.AddDate(50, 0, 0) }}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := short.Purge(ctx); err == nil {
		t.Error("a purge of rows younger than a year was allowed")
	}
	if p, _ := l.Query(ctx, db, audit.Filter{}); len(p.Rows) != 2 {
		t.Errorf("after the refused purge %d rows, want 2", len(p.Rows))
	}
}

// testRolledBack: work that is rolled back leaves no row.
func testRolledBack(t *testing.T, b recordstest.Backend) {
	ctx := context.Background()
	db, l := open(t, b, &clock{time.Now()})
	boom := errors.New("boom")
	err := db.InTx(ctx, "fail after auditing", func(tx *sql.Tx) error {
		if err := l.Append(ctx, tx, audit.Entry{ActorID: "u", ActorRole: "admin", Action: "read", Entity: "patient"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if p, _ := l.Query(ctx, db, audit.Filter{}); len(p.Rows) != 0 {
		t.Errorf("a rolled-back transaction left %d rows", len(p.Rows))
	}
}
