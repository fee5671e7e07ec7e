package main

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"vclinic/scheduler"
)

// BenchmarkDayList reads a clinician's day list of 24 visits (one every 20
// minutes over 8 hours, each of another patient) as the clinician's console
// does: GET /api/v1/clinicians/{id}/appointments for the day, with each
// row's patient, link, replies, pre-visit check, presence and flagged
// readings. The console reads it on opening and whenever the list's
// version changes (an arrival, an admission); see BENCHMARKS.md.
//
//	go test -run '^$' -bench BenchmarkDayList -benchtime 200x ./cmd/vclinic/
func BenchmarkDayList(b *testing.B) {
	a := newAPIClinic(b)
	ctx := context.Background()
	day := time.Now().Add(24 * time.Hour).Truncate(24 * time.Hour).Add(8 * time.Hour)
	for i := range 24 {
		p, err := a.c.store.CreatePatient(ctx, a.sched.Actor(), scheduler.Patient{Name: fmt.Sprintf("Patient %d", i)})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := a.c.store.Book(ctx, a.sched.Actor(), scheduler.BookRequest{ClinicianID: a.clin.ID, PatientID: p.ID,
			Start: day.Add(time.Duration(i) * 20 * time.Minute), Duration: 20 * time.Minute}, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
	path := "/api/v1/clinicians/" + a.clin.ID + "/appointments?from=" + url.QueryEscape(day.Add(-time.Hour).Format(time.RFC3339)) +
		"&to=" + url.QueryEscape(day.Add(10*time.Hour).Format(time.RFC3339))
	tok := a.clinicianToken()
	for b.Loop() {
		if status, body, _ := a.do("GET", path, tok, "", nil); status != 200 || len(body) < 24*200 {
			b.Fatalf("day list: %d %.200s", status, body)
		}
	}
}
