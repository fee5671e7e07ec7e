package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"vclinic/signaling/cluster"
)

// admission says no to new visits before the node degrades the ones it
// carries: past -max-cpu (the process's busy fraction of the machine's
// cores) or -max-forwarded-pps (media packets forwarded a second), both
// measured over admissionEvery, the node refuses the first join of a room
// (signaling.CodeBusy, which the pages explain) and a cluster's placement
// passes it over (cluster.Node.Full). It takes rooms again once both are
// below admissionResume of their limits, so that it does not flap at the
// edge. Zero limits admit everything.
type admission struct {
	forwarded func() uint64 // the media server's forwarded packets so far
	log       *slog.Logger

	cpu cluster.CPUMeter // owned by run

	mu     sync.Mutex // guards the following
	maxCPU float64
	maxPPS float64
	at     time.Time
	sent   uint64
	full   bool
	reason string
}

// admissionEvery is how often the load is measured.
const admissionEvery = 2 * time.Second

// admissionResume is the share of a limit the load must fall below before
// new rooms are taken again.
const admissionResume = 0.9

// errBusy wraps why the node takes no new rooms.
var errBusy = errors.New("this node takes no new visits now")

// enabled reports whether a limit is set, and so whether run measures.
func (a *admission) enabled() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.maxCPU > 0 || a.maxPPS > 0
}

// limit sets the limits (0 is none).
func (a *admission) limit(cpu, pps float64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.maxCPU, a.maxPPS = cpu, pps
}

// Admit implements signaling.Config.Admit. Only a limit passed makes the
// node full, so without limits it admits everything.
func (a *admission) Admit() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.full {
		return fmt.Errorf("%w: %s; try again in a minute", errBusy, a.reason)
	}
	return nil
}

// Full reports whether the node takes no new rooms.
func (a *admission) Full() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.full
}

// observe takes one measurement: cpu, the busy fraction, and forwarded,
// the packet count, at now.
func (a *admission) observe(now time.Time, cpu float64, forwarded uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.at.IsZero() || !now.After(a.at) {
		a.at, a.sent = now, forwarded
		return
	}
	pps := float64(forwarded-a.sent) / now.Sub(a.at).Seconds()
	a.at, a.sent = now, forwarded
	over := ""
	switch {
	case a.maxCPU > 0 && cpu > a.maxCPU:
		over = fmt.Sprintf("CPU %.0f%% is over the limit of %.0f%%", cpu*100, a.maxCPU*100)
	case a.maxPPS > 0 && pps > a.maxPPS:
		over = fmt.Sprintf("%.0f forwarded packets/s is over the limit of %.0f", pps, a.maxPPS)
	}
	below := (a.maxCPU == 0 || cpu < a.maxCPU*admissionResume) && (a.maxPPS == 0 || pps < a.maxPPS*admissionResume)
	switch {
	case over != "":
		if !a.full {
			a.log.Warn("taking no new visits: past the load limit", "cpu", cpu, "forwarded_pps", pps, "reason", over)
		}
		a.full, a.reason = true, over
	case a.full && below:
		a.log.Info("taking new visits again", "cpu", cpu, "forwarded_pps", pps)
		a.full, a.reason = false, ""
	}
}

// run measures every admissionEvery until ctx ends.
func (a *admission) run(ctx context.Context) {
	if !a.enabled() {
		return
	}
	t := time.NewTicker(admissionEvery)
	defer t.Stop()
	for {
		now := time.Now()
		a.observe(now, a.cpu.Busy(now), a.forwarded())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
