package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
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

	// Reconnect is how long to wait before connecting to a device again.
	Reconnect time.Duration
	// RecordTimeout is how long a glucose meter may stay silent while the
	// gateway waits for its answer to a Record Access Control Point
	// request; then the connection is given up (default 1m).
	RecordTimeout time.Duration
	// Sleep waits d or until ctx ends; default a timer. Tests inject one.
	Sleep func(ctx context.Context, d time.Duration) error
	Log   *slog.Logger
}

func (g *Gateway) defaults() {
	if g.Now == nil {
		g.Now = time.Now
	}
	if g.Sleep == nil {
		g.Sleep = sleepCtx
	}
	if g.Reconnect <= 0 {
		g.Reconnect = 10 * time.Second
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
	for ctx.Err() == nil {
		handle := func(char uint16, value []byte) error { return g.forward(dev, char, value) }
		var records RecordAccess
		if isGlucoseMeter(dev) {
			s := newRecordSession(g, dev, fail)
			handle, records = s.heard, s.run
		}
		err := g.Radio.Subscribe(ctx, dev, records, func(char uint16, value []byte) {
			if err := handle(char, value); err != nil {
				fail(fmt.Errorf("outbox: %w", err))
			}
		})
		if ctx.Err() != nil {
			return
		}
		g.Log.Warn("device link lost; connecting again", "device", dev.ID, "err", err, "retry", g.Reconnect)
		if g.Sleep(ctx, g.Reconnect) != nil {
			return
		}
	}
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
