package main

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Gateway forwards what the radio hears from the kit to the outbox, and the
// outbox to the server.
type Gateway struct {
	Radio    Radio
	Outbox   *Outbox
	Uploader *Uploader
	Devices  []Device
	Now      func() time.Time

	// Reconnect is how long to wait before connecting to a device again
	// after a connection that brought something (default 2s). After one
	// that brought nothing (the device is off or out of range, or refuses
	// the connection) the wait doubles per connection in a row, up to
	// ReconnectMax (default 2m). A random part of up to half the wait is
	// taken off (Jitter), so that devices do not retry in step.
	Reconnect    time.Duration
	ReconnectMax time.Duration
	// RecordTimeout is how long a glucose meter may stay silent while the
	// gateway waits for its answer to a Record Access Control Point
	// request; then the connection is given up (default 1m).
	RecordTimeout time.Duration
	// Sleep waits d or until ctx ends; default a timer. Tests inject one.
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter returns a number in [0, 1); default math/rand.
	Jitter func() float64
	Log    *slog.Logger
}

func (g *Gateway) defaults() {
	if g.Now == nil {
		g.Now = time.Now
	}
	if g.Sleep == nil {
		g.Sleep = sleepCtx
	}
	if g.Jitter == nil {
		g.Jitter = rand.Float64
	}
	if g.Reconnect <= 0 {
		g.Reconnect = 2 * time.Second
	}
	if g.ReconnectMax < g.Reconnect {
		g.ReconnectMax = max(2*time.Minute, g.Reconnect)
	}
	if g.RecordTimeout <= 0 {
		g.RecordTimeout = time.Minute
	}
	if g.Log == nil {
		g.Log = slog.New(slog.DiscardHandler)
	}
}

// Run runs until ctx ends, or the outbox fails (then the readings can no
// longer be kept, and the gateway stops rather than drop them).
func (g *Gateway) Run(ctx context.Context) error {
	g.defaults()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for _, dev := range g.Devices {
		wg.Go(func() { g.serve(ctx, dev, cancel) })
	}
	wg.Go(func() {
		if err := g.Uploader.Run(ctx); err != nil && ctx.Err() == nil {
			cancel(err)
		}
	})
	<-ctx.Done()
	wg.Wait()
	if err := context.Cause(ctx); err != context.Canceled {
		return err
	}
	return nil
}

// serve connects to dev, and again whenever its link is lost, until ctx
// ends. fail stops the gateway.
func (g *Gateway) serve(ctx context.Context, dev Device, fail context.CancelCauseFunc) {
	failures := 0 // connections in a row that brought nothing
	for ctx.Err() == nil {
		var heard atomic.Bool
		handle := func(char uint16, value []byte) error { return g.forward(dev, char, value) }
		var records RecordAccess
		if isGlucoseMeter(dev) {
			s := newRecordSession(g, dev, fail)
			handle, records = s.heard, s.run
		}
		err := g.Radio.Subscribe(ctx, dev, records, func(char uint16, value []byte) {
			heard.Store(true)
			if err := handle(char, value); err != nil {
				fail(fmt.Errorf("outbox: %w", err))
			}
		})
		if ctx.Err() != nil {
			return
		}
		if heard.Load() {
			failures = 0
		}
		wait := g.backoff(failures)
		failures++
		g.Log.Warn("device link lost; connecting again", "device", dev.ID, "err", err, "wait", wait)
		if g.Sleep(ctx, wait) != nil {
			return
		}
	}
}

// backoff is Reconnect doubled per failure, capped at ReconnectMax, of which
// a random half is taken off.
func (g *Gateway) backoff(failures int) time.Duration {
	d := g.ReconnectMax
	if failures < 32 {
		d = min(g.Reconnect<<failures, g.ReconnectMax)
	}
	return d/2 + time.Duration(g.Jitter()*float64(d/2))
}

// forward puts a measurement of dev in the outbox with a time-based seq;
// other characteristics are ignored.
func (g *Gateway) forward(dev Device, char uint16, value []byte) error {
	if !IsMeasurement(char) {
		return nil
	}
	r, err := g.Outbox.Enqueue(dev.ID, charName(char), value, g.Now())
	if err != nil {
		return err
	}
	g.Log.Debug("reading", "device", dev.ID, "char", r.Char, "seq", r.Seq)
	return nil
}
