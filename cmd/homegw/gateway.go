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
	Sleep     func(ctx context.Context, d time.Duration) error
	Log       *slog.Logger
}

// Run runs until ctx ends, or the outbox fails (then the readings can no
// longer be kept, and the gateway stops rather than drop them).
func (g *Gateway) Run(ctx context.Context) error {
	if g.Now == nil {
		g.Now = time.Now
	}
	if g.Sleep == nil {
		g.Sleep = sleepCtx
	}
	if g.Reconnect <= 0 {
		g.Reconnect = 10 * time.Second
	}
	if g.Log == nil {
		g.Log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for _, dev := range g.Devices {
		wg.Go(func() {
			for ctx.Err() == nil {
				err := g.Radio.Subscribe(ctx, dev, func(char uint16, value []byte) {
					if !IsMeasurement(char) {
						return
					}
					r, err := g.Outbox.Enqueue(dev.ID, charName(char), value, g.Now())
					if err != nil {
						cancel(fmt.Errorf("outbox: %w", err))
						return
					}
					g.Log.Debug("reading", "device", dev.ID, "char", r.Char, "seq", r.Seq)
				})
				if ctx.Err() != nil {
					return
				}
				g.Log.Warn("device link", "device", dev.ID, "err", err, "retry", g.Reconnect)
				g.Sleep(ctx, g.Reconnect)
			}
		})
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
