// Package netem emulates a network path in user space, for tests and
// benchmarks of visits over a patient's home network: loss (random, and in
// bursts after the Gilbert-Elliott model), delay with jitter, a rate cap
// with a bounded queue, and black-outs, each changeable while traffic
// flows. These machines have no kernel netem; a Proxy (proxy.go) puts a
// Link in each direction between a client and the media server.
package netem

import (
	"math/rand/v2"
	"sync"
	"time"
)

// Impairment is what one direction of a path does to the datagrams it
// carries. The zero value is a perfect path.
type Impairment struct {
	// Loss is the probability that a datagram is lost, independently of
	// the others (0 to 1).
	Loss float64
	// BurstLoss is the probability, per datagram, of entering a burst in
	// which every datagram is lost, and BurstLength the mean length of a
	// burst in datagrams: the Gilbert-Elliott model with a loss-free good
	// state and a lossy bad one, as Wi-Fi fades and cellular handovers
	// lose packets in runs. 0 is no bursts.
	BurstLoss   float64
	BurstLength float64
	// Delay is added to every datagram, and Jitter spreads it uniformly by
	// up to ±Jitter. Datagrams keep their order, as on a real path whose
	// jitter comes from queues.
	Delay, Jitter time.Duration
	// Rate caps the path in bits a second (0: no cap); datagrams wait in a
	// queue of QueueBytes (default 64 KiB, a home router's) and the ones
	// that do not fit are dropped (tail drop).
	Rate       int64
	QueueBytes int
	// Blackout drops everything, as a link that went away.
	Blackout bool
}

// DefaultQueueBytes is the rate cap's queue when QueueBytes is 0.
const DefaultQueueBytes = 64 << 10

// Stats count what a Link did.
type Stats struct {
	Sent, Delivered                        int64 // datagrams in and out
	Lost, BurstLost, QueueDropped, Blacked int64 // dropped, by cause
}

// Link is one direction of a path: Send takes a datagram, and deliver is
// called with it (or not) later, in order, from the Link's own goroutine.
type Link struct {
	deliver func([]byte)

	mu      sync.Mutex
	imp     Impairment
	rng     *rand.Rand
	bad     bool      // in a loss burst
	lastOut time.Time // when the last datagram leaves the rate cap's queue
	lastDue time.Time // when the last datagram is delivered
	queue   []pending
	stats   Stats
	wake    chan struct{}
	closed  bool
	done    chan struct{}
}

type pending struct {
	due time.Time
	b   []byte
}

// NewLink starts a link that hands what it delivers to deliver. seed makes
// its losses reproducible.
func NewLink(imp Impairment, seed uint64, deliver func([]byte)) *Link {
	l := &Link{
		deliver: deliver,
		imp:     imp,
		rng:     rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
	go l.run()
	return l
}

// Set changes the impairment from now on; datagrams already on their way
// keep theirs.
func (l *Link) Set(imp Impairment) {
	l.mu.Lock()
	l.imp = imp
	if imp.BurstLoss == 0 {
		l.bad = false
	}
	l.mu.Unlock()
}

// Impairment returns the current impairment.
func (l *Link) Impairment() Impairment {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.imp
}

// Stats returns the counts so far.
func (l *Link) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats
}

// Send puts a copy of b on the path.
func (l *Link) Send(b []byte) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.stats.Sent++
	imp := l.imp
	switch {
	case imp.Blackout:
		l.stats.Blacked++
		return
	case l.burst(imp):
		l.stats.BurstLost++
		return
	case imp.Loss > 0 && l.rng.Float64() < imp.Loss:
		l.stats.Lost++
		return
	}
	out := now
	if imp.Rate > 0 {
		// The queue drains at Rate: this datagram leaves when the ones
		// before it have, plus its own serialisation time.
		start := l.lastOut
		if start.Before(now) {
			start = now
		}
		limit := imp.QueueBytes
		if limit == 0 {
			limit = DefaultQueueBytes
		}
		backlog := int64(start.Sub(now).Seconds() * float64(imp.Rate) / 8)
		if backlog+int64(len(b)) > int64(limit) {
			l.stats.QueueDropped++
			return
		}
		out = start.Add(time.Duration(float64(len(b)*8) / float64(imp.Rate) * float64(time.Second)))
		l.lastOut = out
	}
	due := out.Add(imp.Delay)
	if imp.Jitter > 0 {
		due = due.Add(time.Duration((l.rng.Float64()*2 - 1) * float64(imp.Jitter)))
	}
	if due.Before(l.lastDue) {
		due = l.lastDue // in order
	}
	l.lastDue = due
	l.queue = append(l.queue, pending{due: due, b: append([]byte(nil), b...)})
	if len(l.queue) == 1 {
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
}

// burst steps the Gilbert-Elliott chain; true if this datagram is lost in
// a burst. Called with l.mu held.
func (l *Link) burst(imp Impairment) bool {
	if imp.BurstLoss <= 0 {
		return false
	}
	if l.bad {
		length := max(imp.BurstLength, 1)
		if l.rng.Float64() < 1/length {
			l.bad = false
			return false
		}
		return true
	}
	if l.rng.Float64() < imp.BurstLoss {
		l.bad = true
		return true
	}
	return false
}

// run delivers each datagram when it is due.
func (l *Link) run() {
	defer close(l.done)
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			return
		}
		var wait time.Duration = -1
		var ready [][]byte
		now := time.Now()
		for len(l.queue) > 0 && !l.queue[0].due.After(now) {
			ready = append(ready, l.queue[0].b)
			l.queue[0] = pending{}
			l.queue = l.queue[1:]
		}
		if len(l.queue) > 0 {
			wait = l.queue[0].due.Sub(now)
		}
		l.stats.Delivered += int64(len(ready))
		l.mu.Unlock()
		for _, b := range ready {
			l.deliver(b)
		}
		if wait >= 0 {
			t.Reset(wait)
			select {
			case <-t.C:
			case <-l.wake:
				t.Stop()
			}
			continue
		}
		<-l.wake
	}
}

// Close stops the link; what is still on its way is lost.
func (l *Link) Close() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	l.queue = nil
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
	<-l.done
}
