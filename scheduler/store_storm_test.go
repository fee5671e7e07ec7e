package scheduler

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"
)

// testStorm fires 200 concurrent bookings for one clinician: starts over a
// 4-hour window in 5-minute steps, lengths of 10 to 90 minutes, three types
// with different buffers. Half go through a second Store on the same
// database, as a second process or node would. Every booking either wins or
// gets ErrConflict; the winners never overlap; every loser overlaps a
// winner.
func testStorm(t *testing.T, open func(t *testing.T) *Store) {
	const bookers = 200
	s1 := open(t)
	f := newStoreFixture(t, s1)
	ctx := f.ctx
	s2 := reopen(t, s1, nil)

	var types []AppointmentType
	for _, b := range [][2]time.Duration{{0, 0}, {5 * time.Minute, 10 * time.Minute}, {15 * time.Minute, 5 * time.Minute}} {
		types = append(types, stMust(s1.CreateAppointmentType(ctx, f.admin, AppointmentType{
			Name: "storm", Duration: 30 * time.Minute, BufferBefore: b[0], BufferAfter: b[1], Horizon: 30 * 24 * time.Hour,
		}))(t))
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	window := stTime(t, "2026-06-02T09:00:00+02:00")
	reqs := make([]BookRequest, bookers)
	occupied := make([]Interval, bookers)
	for i := range reqs {
		typ := types[rng.IntN(len(types))]
		start := window.Add(time.Duration(rng.IntN(48)) * 5 * time.Minute)
		d := time.Duration(10+rng.IntN(81)) * time.Minute
		reqs[i] = BookRequest{ClinicianID: f.clin.ID, PatientID: f.pat.ID, TypeID: typ.ID, Duration: d, Start: start}
		occupied[i] = Interval{Start: start.Add(-typ.BufferBefore).UTC(), End: start.Add(d + typ.BufferAfter).UTC()}
	}

	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	results := make([]Booking, bookers)
	errs := make([]error, bookers)
	ready := make(chan struct{})
	var wg sync.WaitGroup
	for i := range reqs {
		s := s1
		if i%2 == 1 {
			s = s2
		}
		wg.Go(func() {
			<-ready
			results[i], errs[i] = s.Book(ctx, f.staff, reqs[i], f.now)
		})
	}
	close(ready)
	wg.Wait()

	var winners []int
	backstop := 0
	for i, err := range errs {
		switch {
		case err == nil:
			winners = append(winners, i)
			if got := results[i].Occupied(); got != occupied[i] {
				t.Errorf("booking %d occupies %v, asked for %v", i, got, occupied[i])
			}
		case errors.Is(err, ErrConflict):
			if strings.Contains(Reason(err), "overlaps another appointment") {
				backstop++
			}
		default:
			t.Errorf("booking %d: %v, want success or ErrConflict", i, err)
		}
	}
	for a, i := range winners {
		for _, j := range winners[a+1:] {
			if occupied[i].Overlaps(occupied[j]) {
				t.Errorf("winners %d %v and %d %v overlap", i, occupied[i], j, occupied[j])
			}
		}
	}
	for i, err := range errs {
		if err == nil {
			continue
		}
		overlaps := false
		for _, w := range winners {
			overlaps = overlaps || occupied[i].Overlaps(occupied[w])
		}
		if !overlaps {
			t.Errorf("booking %d %v lost (%v) but overlaps no winner", i, occupied[i], err)
		}
	}
	if len(winners) == 0 || len(winners) == bookers {
		t.Errorf("%d winners of %d: the storm did not contend", len(winners), bookers)
	}
	// The lock decides; the PostgreSQL constraint is only a backstop.
	if backstop > 0 {
		t.Errorf("%d conflicts were caught by the exclusion constraint, not the lock", backstop)
	}

	// The store holds exactly the winners.
	list := stMust(s1.ListAppointments(f.ctx, f.staff, f.clin.ID, window.Add(-time.Hour), window.Add(6*time.Hour)))(t)
	ids := map[string]bool{}
	for _, a := range list {
		ids[a.ID] = true
	}
	for _, w := range winners {
		if !ids[results[w].ID] {
			t.Errorf("winner %d (%s) is not stored", w, results[w].ID)
		}
	}
	if len(list) != len(winners) {
		t.Errorf("%d appointments stored, %d winners", len(list), len(winners))
	}
	t.Logf("%d winners, %d conflicts", len(winners), bookers-len(winners))
}
