package homekit

import "sync/atomic"

// Counters is a snapshot of what the API's readings paths have answered
// since it started, for monitoring. Each item is counted once, when its
// answer is given, whichever transport brought it; a batch refused whole
// (a caller who sends no readings, an unregistered gateway, too many items,
// a store failure) counts nothing. The values are a fixed set: never a
// patient, device or gateway.
type Counters struct {
	// Device readings (POST /api/v1/readings and SubmitReadings), by the
	// status of their answer.
	DeviceStored, DeviceDuplicate, DeviceRejected uint64
	// Patient-entered readings (POST /api/v1/readings/manual): stored, or
	// rejected (a body that is not a reading, or values the store refuses).
	// A patient-entered reading is never a duplicate.
	PatientEnteredStored, PatientEnteredRejected uint64
	// Stored readings, of either source, that carry FlagImplausible and
	// FlagDeviceClockNotSet; one reading may carry both.
	FlaggedImplausible, FlaggedDeviceClockNotSet uint64
	// Batches of device readings answered item by item, by transport:
	// POST /api/v1/readings, and SubmitReadings, which is how the readings
	// the patient's page sends over its signaling WebSocket arrive.
	BatchesHTTP, BatchesWebSocket uint64
}

// Counters returns a snapshot of the readings counters.
func (a *API) Counters() Counters {
	c := &a.counters
	return Counters{
		DeviceStored:             c.device.stored.Load(),
		DeviceDuplicate:          c.device.duplicate.Load(),
		DeviceRejected:           c.device.rejected.Load(),
		PatientEnteredStored:     c.entered.stored.Load(),
		PatientEnteredRejected:   c.entered.rejected.Load(),
		FlaggedImplausible:       c.flaggedImplausible.Load(),
		FlaggedDeviceClockNotSet: c.flaggedClockNotSet.Load(),
		BatchesHTTP:              c.batchesHTTP.Load(),
		BatchesWebSocket:         c.batchesWebSocket.Load(),
	}
}

// transport is how a batch of readings reached the API.
type transport int

const (
	viaHTTP      transport = iota // POST /api/v1/readings
	viaWebSocket                  // SubmitReadings: the signaling WebSocket
)

// counters are the API's live counters (Counters is their snapshot).
type counters struct {
	device, entered                        statusCounters
	flaggedImplausible, flaggedClockNotSet atomic.Uint64
	batchesHTTP, batchesWebSocket          atomic.Uint64
}

// statusCounters count answers by status.
type statusCounters struct {
	stored, duplicate, rejected atomic.Uint64
}

// batch counts a batch answered item by item.
func (c *counters) batch(via transport) {
	switch via {
	case viaHTTP:
		c.batchesHTTP.Add(1)
	case viaWebSocket:
		c.batchesWebSocket.Add(1)
	}
}

// answered counts the answers to items of source, and the flags of the
// stored ones.
func (c *counters) answered(source string, rs []Result) {
	by := &c.device
	if source == SourcePatientEntered {
		by = &c.entered
	}
	for _, r := range rs {
		switch r.Status {
		case StatusStored:
			by.stored.Add(1)
			c.flagged(r.Flags)
		case StatusDuplicate:
			by.duplicate.Add(1)
		case StatusRejected:
			by.rejected.Add(1)
		}
	}
}

// flagged counts the flags of one stored reading; a flag this file does not
// know is not counted.
func (c *counters) flagged(flags []string) {
	for _, f := range flags {
		switch f {
		case FlagImplausible:
			c.flaggedImplausible.Add(1)
		case FlagDeviceClockNotSet:
			c.flaggedClockNotSet.Add(1)
		}
	}
}
