package scheduler

import (
	"testing"
	"time"
)

func TestLinkWindow(t *testing.T) {
	start := time.Date(2026, 10, 25, 9, 0, 0, 0, time.UTC)
	appt := Appointment{Start: start, End: start.Add(30 * time.Minute), Status: StatusBooked}
	moved := appt
	moved.Start, moved.End = start.Add(24*time.Hour), start.Add(24*time.Hour+30*time.Minute)
	cancelled := appt
	cancelled.Status = StatusCancelled
	fulfilled := appt
	fulfilled.Status = StatusFulfilled
	arrived := appt
	arrived.Status = StatusArrived
	p := LinkPolicy{}
	tests := []struct {
		name string
		a    Appointment
		now  time.Time
		want string
	}{
		{"an hour early", appt, start.Add(-time.Hour), LinkEarly},
		{"just before it opens", appt, start.Add(-15*time.Minute - time.Second), LinkEarly},
		{"opens 15 min before", appt, start.Add(-15 * time.Minute), LinkOpen},
		{"during", appt, start.Add(10 * time.Minute), LinkOpen},
		{"in the grace after the end", appt, start.Add(59 * time.Minute), LinkOpen},
		{"closed 30 min after the end", appt, start.Add(60 * time.Minute), LinkExpired},
		{"next day", appt, start.Add(24 * time.Hour), LinkExpired},
		{"rescheduled to tomorrow: early today", moved, start, LinkEarly},
		{"rescheduled to tomorrow: open tomorrow", moved, start.Add(24 * time.Hour), LinkOpen},
		{"cancelled, in the window", cancelled, start, LinkExpired},
		{"fulfilled, in the window", fulfilled, start, LinkExpired},
		{"arrived, in the window", arrived, start, LinkOpen},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.Window(tc.a, tc.now).State; got != tc.want {
				t.Fatalf("state %s, want %s", got, tc.want)
			}
		})
	}
}

func TestLinkUntil(t *testing.T) {
	start := time.Date(2026, 10, 25, 9, 0, 0, 0, time.UTC)
	end := start.Add(30 * time.Minute)
	booked := Appointment{Start: start, End: end, Status: StatusBooked, UpdatedAt: start.Add(-72 * time.Hour)}
	at := func(s Status, updated time.Time) Appointment {
		a := booked
		a.Status, a.UpdatedAt = s, updated
		return a
	}
	p := LinkPolicy{}
	for _, tc := range []struct {
		name string
		a    Appointment
		want time.Time
	}{
		{"booked: a day after the end", booked, end.Add(24 * time.Hour)},
		{"under way", at(StatusCheckedIn, start), end.Add(24 * time.Hour)},
		{"ended early", at(StatusFulfilled, start.Add(10*time.Minute)), end.Add(24 * time.Hour)},
		{"ended late", at(StatusFulfilled, end.Add(20*time.Minute)), end.Add(20*time.Minute + 24*time.Hour)},
		{"cancelled two days before", at(StatusCancelled, start.Add(-48*time.Hour)), start.Add(-24 * time.Hour)},
		{"no-show", at(StatusNoShow, end.Add(time.Hour)), end.Add(25 * time.Hour)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.Until(tc.a); !got.Equal(tc.want) {
				t.Errorf("Until = %v, want %v", got, tc.want)
			}
			if w := p.Window(tc.a, start); !w.Until.Equal(tc.want) || w.Status != tc.a.Status {
				t.Errorf("window %+v", w)
			}
		})
	}
}
