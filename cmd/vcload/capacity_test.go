package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"
)

// TestCapacitySearch adds a room of two at a time to a real server until
// -max-rooms; on loopback every step holds, and the report says so.
func TestCapacitySearch(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real peer connections for a few seconds")
	}
	srv, dir, _ := startServer(t)
	cfg := config{
		URL: srv.URL, Data: dir, Rooms: 1, Size: 2, Capacity: true, MaxRooms: 2, MaxLoss: 1, MaxDelay: time.Second,
		Duration: time.Second, Warmup: 500 * time.Millisecond, Ramp: 20 * time.Millisecond,
		JoinTimeout: 15 * time.Second, ServerPID: os.Getpid(),
	}
	rep, err := runCapacity(context.Background(), cfg, slog.New(slog.DiscardHandler), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Steps) != 2 || rep.Steps[0].Rooms != 1 || rep.Steps[1].Rooms != 2 || rep.Steps[1].Participants != 4 {
		t.Fatalf("steps %+v, want 1 then 2 rooms", rep.Steps)
	}
	if rep.Holds == nil || rep.Holds.Rooms != 2 || !strings.Contains(rep.Stopped, "still holding") {
		t.Fatalf("holds %+v, stopped %q: want 2 rooms, stopped at -max-rooms", rep.Holds, rep.Stopped)
	}
	if rep.Holds.ForwardedPerSecond <= 0 || rep.Holds.CPUPerPacket <= 0 {
		t.Fatalf("step %+v: want the server's forwarded packets and CPU", rep.Holds)
	}
	var b strings.Builder
	if err := rep.writeText(&b); err != nil || !strings.Contains(b.String(), "capacity  2 rooms of 2 (4 participants") {
		t.Fatalf("text report %q, %v", b.String(), err)
	}
}

// TestCapacityStep: a step holds only with every join made, nobody dropped
// and loss at most the limit, and says why not.
func TestCapacityStep(t *testing.T) {
	ok := &report{Rooms: 3, Participants: 6, Joined: 6}
	ok.Audio.LossPercent, ok.Video.LossPercent = 0.5, 1.0
	if st := stepOf(ok, 1, 50*time.Millisecond); !st.Held || st.Why != "" {
		t.Fatalf("%+v: want held at 1 %% video loss", st)
	}
	lossy := *ok
	lossy.Video.LossPercent = 1.5
	if st := stepOf(&lossy, 1, 50*time.Millisecond); st.Held || !strings.Contains(st.Why, "1.50 % of video lost") {
		t.Fatalf("%+v: want not held for video loss", st)
	}
	slow := *ok
	slow.Latency = latencyFigures{Count: 100, P50: 3, P99: 80}
	if st := stepOf(&slow, 1, 50*time.Millisecond); st.Held || !strings.Contains(st.Why, "delay p99 80.0 ms") {
		t.Fatalf("%+v: want not held for the delay", st)
	}
	if st := stepOf(&slow, 1, 0); !st.Held {
		t.Fatalf("%+v: want held with the delay not judged", st)
	}
	failing := *ok
	failing.Failed, failing.FailureReasons = 1, []string{"join: busy"}
	if st := stepOf(&failing, 1, 50*time.Millisecond); st.Held || !strings.Contains(st.Why, "1 joins failed (join: busy)") {
		t.Fatalf("%+v: want not held for a failed join", st)
	}
}
