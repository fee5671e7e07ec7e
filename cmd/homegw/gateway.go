package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"vclinic/homekit"
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
				racp := g.recordRequest(dev)
				err := g.Radio.Subscribe(ctx, dev, racp, func(char uint16, value []byte) {
					if char == RecordAccessControlPoint {
						g.logRACP(dev, value)
						return
					}
					if !IsMeasurement(char) {
						return
					}
					var r Reading
					var err error
					if rec, ok := glucoseRecord(dev, char, value); ok {
						r, err = g.Outbox.EnqueueRecord(dev.ID, charName(char), value, g.Now(), rec)
					} else {
						r, err = g.Outbox.Enqueue(dev.ID, charName(char), value, g.Now())
					}
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

// isGlucoseMeter reports whether dev keeps records that it sends only when
// asked through the Record Access Control Point.
func isGlucoseMeter(dev Device) bool { return dev.Type == string(homekit.KindGlucoseMeter) }

// recordRequest is what to write to a glucose meter's Record Access Control
// Point on connecting: every stored record the first time, then only those
// after the last record the outbox holds. nil for other devices.
func (g *Gateway) recordRequest(dev Device) []byte {
	if !isGlucoseMeter(dev) {
		return nil
	}
	last, ok := g.Outbox.LastRecord(dev.ID)
	if !ok || last == 0xFFFF {
		// Nothing taken yet, or the record numbers wrap (>= 0 is all).
		return homekit.RACPReportAll()
	}
	return homekit.RACPReportFrom(last + 1)
}

// glucoseRecord is the record sequence number of a glucose meter's Glucose
// Measurement.
func glucoseRecord(dev Device, char uint16, value []byte) (uint16, bool) {
	if char != 0x2A18 || !isGlucoseMeter(dev) {
		return 0, false
	}
	d, err := homekit.Decode(char, value)
	if err != nil || !d.SequenceNumber.Valid {
		return 0, false // forwarded all the same; the server judges it
	}
	return d.SequenceNumber.V, true
}

func (g *Gateway) logRACP(dev Device, value []byte) {
	resp, err := homekit.DecodeRACPResponse(value)
	if err != nil {
		g.Log.Warn("record access control point", "device", dev.ID, "value", fmt.Sprintf("%X", value), "err", err)
		return
	}
	g.Log.Debug("record access control point", "device", dev.ID, "op", resp.OpCode, "request", resp.RequestOpCode, "status", resp.Status)
}
