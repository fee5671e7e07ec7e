package scheduler

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"vclinic/internal/records"
	"vclinic/internal/records/recordstest"
)

// BenchmarkBook books non-conflicting appointments with 1 and 32 concurrent
// clients on each store and reports bookings per second. Each client books
// for its own clinician, back to back, so no booking conflicts and each
// still runs the whole check (availability, overlap, audit). The PostgreSQL
// cluster the tests start runs with fsync off.
func BenchmarkBook(b *testing.B) {
	for _, be := range recordstest.Backends() {
		for _, clients := range []int{1, 32} {
			b.Run(fmt.Sprintf("%s/clients=%d", be.Name, clients), func(b *testing.B) {
				benchmarkBook(b, openTestStore(b, be.Config(b, records.Config{MaxConns: min(clients, 16)}), Config{}), clients)
			})
		}
	}
}

func benchmarkBook(b *testing.B, s *Store, clients int) {
	ctx := context.Background()
	staff := Actor{ID: "bench", Role: RoleAdmin}
	pat, err := s.CreatePatient(ctx, staff, Patient{Name: "Bench Patient"})
	if err != nil {
		b.Fatal(err)
	}
	typ, err := s.CreateAppointmentType(ctx, staff, AppointmentType{Name: "bench", Duration: 15 * time.Minute, Horizon: 2 * 365 * 24 * time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	var always []WeeklyRule
	for d := time.Sunday; d <= time.Saturday; d++ {
		always = append(always, WeeklyRule{Weekday: d, Start: 0, End: 24 * 60})
	}
	clinicians := make([]string, clients)
	for i := range clinicians {
		c, err := s.CreateClinician(ctx, staff, Clinician{Name: fmt.Sprintf("Bench %d", i), Zone: "UTC"})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.PutAvailability(ctx, staff, c.ID, Availability{Rules: always}); err != nil {
			b.Fatal(err)
		}
		clinicians[i] = c.ID
	}
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	first := now.Add(time.Hour)

	var done atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	b.ResetTimer()
	for c := range clients {
		wg.Go(func() {
			for k := 0; done.Add(1) <= int64(b.N); k++ {
				_, err := s.Book(ctx, staff, BookRequest{
					ClinicianID: clinicians[c], PatientID: pat.ID, TypeID: typ.ID,
					Start: first.Add(time.Duration(k) * typ.Duration),
				}, now)
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "bookings/s")
}
