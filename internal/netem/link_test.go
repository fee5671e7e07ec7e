package netem

import (
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// recorder collects what a link delivers: each datagram's index (its first
// four bytes) and when it came.
type recorder struct {
	mu  sync.Mutex
	idx []uint32
	at  []time.Time
}

func (r *recorder) deliver(b []byte) {
	r.mu.Lock()
	r.idx = append(r.idx, binary.BigEndian.Uint32(b))
	r.at = append(r.at, time.Now())
	r.mu.Unlock()
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.idx)
}

func waitCount(t *testing.T, r *recorder, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for r.count() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d datagrams delivered", r.count(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func send(l *Link, from, to int, size int) {
	b := make([]byte, size)
	for i := from; i < to; i++ {
		binary.BigEndian.PutUint32(b, uint32(i))
		l.Send(b)
	}
}

// TestRandomLoss: 5 % loss loses about 5 % (seeded, so exactly the same
// every run), and what is delivered keeps its order.
func TestRandomLoss(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	var r recorder
	l := NewLink(Impairment{Loss: 0.05}, 7, r.deliver)
	defer l.Close()
	send(l, 0, 20000, 100)
	st := l.Stats()
	waitCount(t, &r, int(st.Sent-st.Lost))
	if frac := float64(st.Lost) / float64(st.Sent); frac < 0.045 || frac > 0.055 {
		t.Fatalf("lost %.3f, want about 0.05", frac)
	}
	for i := 1; i < len(r.idx); i++ {
		if r.idx[i] <= r.idx[i-1] {
			t.Fatalf("delivered %d after %d", r.idx[i], r.idx[i-1])
		}
	}
}

// TestBurstLoss: with the Gilbert-Elliott model losses come in runs whose
// mean length is BurstLength, and the share lost is p/(p + 1/length).
func TestBurstLoss(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	var r recorder
	l := NewLink(Impairment{BurstLoss: 0.01, BurstLength: 5}, 11, r.deliver)
	defer l.Close()
	const n = 50000
	send(l, 0, n, 100)
	st := l.Stats()
	waitCount(t, &r, int(st.Sent-st.BurstLost))
	want := 0.01 / (0.01 + 1.0/5)
	if frac := float64(st.BurstLost) / n; frac < want*0.8 || frac > want*1.2 {
		t.Fatalf("lost %.4f in bursts, want about %.4f", frac, want)
	}
	// Runs of consecutive losses, from the gaps in what arrived.
	runs, lost := 0, 0
	for i := 1; i < len(r.idx); i++ {
		if gap := int(r.idx[i] - r.idx[i-1] - 1); gap > 0 {
			runs++
			lost += gap
		}
	}
	if mean := float64(lost) / float64(runs); mean < 4 || mean > 6 {
		t.Fatalf("mean burst %.2f datagrams, want about 5", mean)
	}
}

// TestDelayAndJitter: every datagram is at least Delay-Jitter late, and
// jitter does not reorder.
func TestDelayAndJitter(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	var r recorder
	l := NewLink(Impairment{Delay: 50 * time.Millisecond, Jitter: 20 * time.Millisecond}, 3, r.deliver)
	defer l.Close()
	sent := make([]time.Time, 100)
	b := make([]byte, 100)
	for i := range sent {
		binary.BigEndian.PutUint32(b, uint32(i))
		sent[i] = time.Now()
		l.Send(b)
		time.Sleep(time.Millisecond)
	}
	waitCount(t, &r, len(sent))
	for i, idx := range r.idx {
		if idx != uint32(i) {
			t.Fatalf("datagram %d delivered in place %d", idx, i)
		}
		if late := r.at[i].Sub(sent[i]); late < 30*time.Millisecond {
			t.Fatalf("datagram %d delivered after %s, want at least 30ms", i, late)
		}
	}
}

// TestRateCap: a burst larger than the queue is cut to what fits, and what
// fits drains at the rate.
func TestRateCap(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	var r recorder
	// 800 kbit/s is 100 kB/s; a 20 kB queue holds 20 datagrams of 1000 bytes.
	l := NewLink(Impairment{Rate: 800_000, QueueBytes: 20_000}, 5, r.deliver)
	defer l.Close()
	start := time.Now()
	send(l, 0, 100, 1000)
	st := l.Stats()
	if st.QueueDropped < 75 || st.QueueDropped > 81 {
		t.Fatalf("%d dropped from the queue, want about 80", st.QueueDropped)
	}
	waitCount(t, &r, int(st.Sent-st.QueueDropped))
	// 20 kB at 100 kB/s takes 200 ms to drain.
	if took := r.at[len(r.at)-1].Sub(start); took < 180*time.Millisecond {
		t.Fatalf("the queue drained in %s, want at least 180ms", took)
	}
}

// TestBlackoutAndChange: a black-out drops everything and ends when the
// impairment is changed back, while the link runs.
func TestBlackoutAndChange(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	var r recorder
	l := NewLink(Impairment{}, 1, r.deliver)
	defer l.Close()
	send(l, 0, 10, 100)
	waitCount(t, &r, 10)
	l.Set(Impairment{Blackout: true})
	send(l, 10, 20, 100)
	l.Set(Impairment{})
	send(l, 20, 30, 100)
	waitCount(t, &r, 20)
	if st := l.Stats(); st.Blacked != 10 || st.Delivered != 20 {
		t.Fatalf("stats %+v, want 10 blacked out and 20 delivered", st)
	}
	if r.idx[10] != 20 {
		t.Fatalf("after the black-out came %d, want 20", r.idx[10])
	}
}
