package main

import (
	"context"
	"encoding/hex"
	"errors"
	"strconv"
	"time"

	"vclinic/homekit"
	"vclinic/homekit/gatt"
	"vclinic/scheduler"
)

// demoKitInterval is how often the demo patient's simulated kit measures.
const demoKitInterval = 15 * time.Second

// runDemoKit measures with the demo patient's simulated kit while the patient
// is in the demo visit, as a home gateway would send it, so that a new user
// sees live vitals with no hardware. It returns when ctx ends.
func (c *clinic) runDemoKit(ctx context.Context, appt scheduler.Appointment, every time.Duration) {
	sim := homekit.NewSim(uint64(time.Now().UnixNano()))
	who := homekit.Submitter{PatientID: appt.PatientID, AppointmentID: appt.ID, Role: homekit.RolePatient}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if _, inCall := c.sig.Presence(appt.ID); inCall < 2 {
			continue // measure while the patient and the clinician are in the call
		}
		// The simulated kit is the patient's own, as a gateway would read it.
		devices, err := c.kit.ListDevices(ctx, homekit.Actor{ID: appt.PatientID, Role: homekit.RolePatient}, appt.PatientID)
		if err != nil {
			c.log.Warn("demo kit", "err", err)
			continue
		}
		now := time.Now()
		var batch []homekit.ReadingIn
		for _, d := range devices {
			chars := gatt.CharacteristicsOf(d.Kind)
			if len(chars) == 0 {
				continue
			}
			raw, err := sim.Value(chars[0], now)
			if errors.Is(err, gatt.ErrUnknownCharacteristic) {
				continue // a device the simulator does not play (a glucose meter)
			} else if err != nil {
				c.log.Warn("demo kit", "device", d.ID, "err", err)
				continue
			}
			seq := now.UnixMilli()
			batch = append(batch, homekit.ReadingIn{DeviceID: d.ID, Characteristic: gatt.Characteristic(chars[0]).String(),
				Value: hex.EncodeToString(raw), Seq: &seq, ObservedAt: now.UTC().Format(time.RFC3339Nano)})
		}
		res, err := c.kit.Ingest(ctx, who, batch, now)
		if err != nil {
			c.log.Warn("demo kit", "err", err)
			continue
		}
		for _, r := range res {
			if r.Status == homekit.StatusRejected {
				c.log.Warn("demo kit reading rejected", "index", strconv.Itoa(r.Index), "reason", r.Reason)
			}
		}
		recent, err := c.kit.Recent(ctx, appt.PatientID, now.Add(-24*time.Hour))
		if err == nil {
			c.sig.PushVitals(appt.PatientID, vitalsOf(recent))
		}
	}
}
