package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"vclinic/homekit/gatt"
)

// A glucose meter keeps numbered records and notifies them only when asked
// through its Record Access Control Point (homekit/racp.go). The gateway
// asks on every connection, and must neither lose a record nor have one
// stored twice, although a meter's numbering is not forever: it restarts
// after a factory reset or, on some models, a battery change; a replaced
// meter under the same kit entry numbers its own way; and the uint16 wraps
// past 0xFFFF.
//
// Record keys. A stored record's reading seq is its record key
// (gatt.GlucoseRecordKey: the record's sequence number and base time, both
// read from the Glucose Measurement itself); the server files the record
// under that key whatever seq it is sent with, so the same record sent again
// is stored once, and a record that reuses a number after a reset or a wrap
// has another base time, so another key, and is stored. Every other reading
// of the gateway has a time-based seq, about the Unix time in milliseconds
// (outbox.go), far below gatt.GlucoseRecordKeyBase. A record whose base
// time is unknown (the meter's clock was never set) is told apart from the
// others of its number by nothing: should a meter reuse both, the server
// rejects the later one ("seq holds a different value") and the gateway keeps
// it in its dead letters.
//
// Renumbering. The gateway keeps the key of the last record it took. On
// connecting it first asks for the meter's most recent record (Report Stored
// Records, operator 0x06 "last record"), whose number and base time say where
// the numbering stands:
//
//   - the same record as the last taken: nothing new;
//   - a higher number: it asks for the records numbered from the last taken
//     on (operator 0x03, ">="), which must include the last taken record
//     itself, with its base time; then the numbering is unbroken and the
//     records after it, up to the most recent, are taken. If the last taken
//     record is missing or another one holds its number, the meter was reset
//     (and has since counted past the old number) or replaced: as below;
//   - a lower number, or another record under the same number: the numbering
//     restarted or wrapped. It asks for every stored record (operator 0x01);
//     those already taken come back with the keys they had, and the server
//     answers "duplicate" for them.
//
// When the report is over (see recordSession), the most recent record
// becomes the last taken; a report cut short marks nothing, and the next
// connection asks again. A meter that cannot name its most recent record is
// asked for all of them on every connection.

// recordNumber is the sequence number of the record with key k.
func recordNumber(k int64) uint16 { return uint16(k) }

// baseTimeBits are the bits of a key that hold the base time.
const baseTimeBits = (1<<40 - 1) << 16

// sameRecord reports whether keys a and b name the same record: the same
// number and base time, or the same number when either base time is unknown.
func sameRecord(a, b int64) bool {
	if recordNumber(a) != recordNumber(b) {
		return false
	}
	ta, tb := a&baseTimeBits, b&baseTimeBits
	return ta == tb || ta == 0 || tb == 0
}

// recordKeyOf is the key of a Glucose Measurement; false when value does not
// decode (it is forwarded all the same, and the server judges it).
func recordKeyOf(value []byte) (int64, bool) {
	d, err := gatt.Decode(gatt.GlucoseMeasurement, value)
	if err != nil {
		return 0, false
	}
	return gatt.RecordKeyOf(d)
}

// isGlucoseMeter reports whether dev keeps records that it sends only when
// asked through the Record Access Control Point.
func isGlucoseMeter(dev Device) bool { return dev.Type == string(gatt.KindGlucoseMeter) }

// recordMode is what a recordSession does with the records it hears.
type recordMode int

const (
	// takeAll takes every record: those of a report of all records, and
	// any the meter sends unasked.
	takeAll recordMode = iota
	// probe notes the record (the meter's most recent) without taking it.
	probe
	// takeAfter takes the records numbered after the last taken up to the
	// most recent one, and checks that the last taken is still there.
	takeAfter
)

// recordSession takes a glucose meter's stored records over one connection:
// heard sees what the meter sends, run is the connection's RecordAccess.
//
// The meter sends a report's records, then its response code on the control
// point; but a radio may deliver two characteristics' values out of order
// (BlueZ signals each one on its own), so the response can overtake records.
// Before each report the session therefore asks how many records it will
// send (Report Number of Stored Records, the same operator and operand), and
// a report is over when the response has come and that many records have
// been heard.
type recordSession struct {
	g         *Gateway
	dev       Device
	fail      func(error)            // stops the gateway: the outbox failed
	responses chan gatt.RACPResponse // from heard to ask
	progress  chan struct{}          // a record was heard

	mu          sync.Mutex // guards the following
	mode        recordMode
	count       int   // records heard in this mode
	last        int64 // the last record taken before this connection; 0 if none
	newest      int64 // the most recent record, as the probe heard it; 0 if none
	heardNewest bool  // newest came in a report and is in the outbox
	unbroken    bool  // a report from last's number held last itself
}

func newRecordSession(g *Gateway, dev Device, fail func(error)) *recordSession {
	return &recordSession{g: g, dev: dev, fail: fail,
		responses: make(chan gatt.RACPResponse, 1), progress: make(chan struct{}, 1)}
}

// heard handles one value from the meter; an error is the outbox's.
func (s *recordSession) heard(char uint16, value []byte) error {
	if char == RecordAccessControlPoint {
		resp, err := gatt.DecodeRACPResponse(value)
		if err != nil {
			s.g.Log.Warn("record access control point", "device", s.dev.ID, "value", fmt.Sprintf("%X", value), "err", err)
			return nil
		}
		s.g.Log.Debug("record access control point", "device", s.dev.ID, "op", resp.OpCode, "request", resp.RequestOpCode, "status", resp.Status)
		select {
		case s.responses <- resp:
		default:
			s.g.Log.Warn("record access control point: response nobody asked for", "device", s.dev.ID, "value", fmt.Sprintf("%X", value))
		}
		return nil
	}
	if char != gatt.GlucoseMeasurement {
		return s.g.forward(s.dev, char, value)
	}
	key, ok := recordKeyOf(value)
	if !ok {
		return s.g.forward(s.dev, char, value)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	take := true
	switch s.mode {
	case probe:
		s.newest, take = key, false
	case takeAfter:
		n, last := recordNumber(key), recordNumber(s.last)
		switch {
		case n == last && sameRecord(key, s.last):
			s.unbroken, take = true, false
		case n < last || n > recordNumber(s.newest):
			// Older records still stored from before a wrap (">="
			// compares numbers), or newer than the most recent the
			// probe heard: the next connection takes those.
			take = false
		}
	}
	if take {
		// Under s.mu, so that a report is not over before its records
		// are on disk.
		r, err := s.g.Outbox.EnqueueRecord(s.dev.ID, charName(char), value, s.g.Now(), key)
		if err != nil {
			return err
		}
		s.g.Log.Debug("glucose record", "device", s.dev.ID, "record", recordNumber(key), "seq", r.Seq)
	}
	if s.mode != probe && key == s.newest {
		s.heardNewest = true
	}
	s.count++
	select {
	case s.progress <- struct{}{}:
	default:
	}
	return nil
}

// run asks the meter for the records the gateway has not taken (see the
// comment at the top of this file).
func (s *recordSession) run(ctx context.Context, write func([]byte) error) error {
	last, haveLast := s.g.Outbox.LastRecord(s.dev.ID)
	s.mu.Lock()
	s.last = last
	s.mu.Unlock()
	resp, err := s.ask(ctx, write, gatt.RACPReportLast(), probe, 1)
	if err != nil {
		return err
	}
	s.mu.Lock()
	newest := s.newest
	s.mu.Unlock()
	switch {
	case resp.Status == gatt.RACPNoRecordsFound:
		// An empty meter. The last taken stays: the next connection
		// checks the numbering against it.
		return nil
	case resp.Status != gatt.RACPSuccess || newest == 0:
		s.g.Log.Info("glucose meter did not name its most recent record; asking for all", "device", s.dev.ID, "status", resp.Status)
		return s.report(ctx, write, gatt.RACPNumberAll(), gatt.RACPReportAll(), takeAll)
	}
	if haveLast {
		switch n := recordNumber(last); {
		case sameRecord(newest, last):
			return nil
		case recordNumber(newest) > n:
			if err := s.report(ctx, write, gatt.RACPNumberFrom(n), gatt.RACPReportFrom(n), takeAfter); err != nil {
				return err
			}
			s.mu.Lock()
			unbroken := s.unbroken
			s.mu.Unlock()
			if unbroken {
				return s.mark(newest)
			}
		}
		s.g.Log.Warn("glucose meter numbers its records anew; asking for all", "device", s.dev.ID,
			"last", recordNumber(last), "newest", recordNumber(newest))
	}
	if err := s.report(ctx, write, gatt.RACPNumberAll(), gatt.RACPReportAll(), takeAll); err != nil {
		return err
	}
	return s.mark(newest)
}

// report asks how many records req will bring, then for the records, taking
// them in mode. "No records found" is no error.
func (s *recordSession) report(ctx context.Context, write func([]byte) error, number, req []byte, mode recordMode) error {
	resp, err := s.ask(ctx, write, number, takeAll, 0)
	if err != nil {
		return err
	}
	want := 0
	switch {
	case resp.Records.Valid:
		want = int(resp.Records.V)
	case resp.Status == gatt.RACPNoRecordsFound:
	default:
		// The meter does not count: the report is over with its
		// response code.
		s.g.Log.Info("glucose meter did not count its records", "device", s.dev.ID, "status", resp.Status)
	}
	resp, err = s.ask(ctx, write, req, mode, want)
	if err != nil {
		return err
	}
	if resp.Status != gatt.RACPSuccess && resp.Status != gatt.RACPNoRecordsFound {
		return fmt.Errorf("device %s: record access control point % X: %s", s.dev.ID, req, resp.Status)
	}
	return nil
}

// ask writes req with the session in mode and waits for the response to it
// and, when that is a success, for want records.
func (s *recordSession) ask(ctx context.Context, write func([]byte) error, req []byte, mode recordMode, want int) (gatt.RACPResponse, error) {
	s.mu.Lock()
	s.mode, s.count = mode, 0
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.mode = takeAll
		s.mu.Unlock()
	}()
	select {
	case <-s.responses: // a stale one
	default:
	}
	if err := write(req); err != nil {
		return gatt.RACPResponse{}, fmt.Errorf("device %s: write %s % X: %w", s.dev.ID, charName(RecordAccessControlPoint), req, err)
	}
	op := gatt.RACPOpCode(req[0])
	var resp gatt.RACPResponse
	answered := false
	t := time.NewTimer(s.g.RecordTimeout)
	defer t.Stop()
	for {
		if answered {
			s.mu.Lock()
			n := s.count
			s.mu.Unlock()
			if n >= want || (resp.Status != gatt.RACPSuccess && !resp.Records.Valid) {
				return resp, nil
			}
		}
		select {
		case r := <-s.responses:
			switch {
			case r.OpCode == gatt.RACPResponseCode && r.RequestOpCode == op,
				r.OpCode == gatt.RACPNumberOfStoredRecordsResponse && op == gatt.RACPReportNumberOfStoredRecords:
				resp, answered = r, true
			}
		case <-s.progress:
			t.Reset(s.g.RecordTimeout) // waits for silence, not for the whole report
		case <-t.C:
			return gatt.RACPResponse{}, fmt.Errorf("device %s: record access control point % X: %w", s.dev.ID, req, errNoAnswer)
		case <-ctx.Done():
			return gatt.RACPResponse{}, ctx.Err()
		}
	}
}

var errNoAnswer = errors.New("no answer")

// mark makes newest the last record taken, if the report brought it.
func (s *recordSession) mark(newest int64) error {
	s.mu.Lock()
	heard := s.heardNewest
	s.mu.Unlock()
	if !heard {
		return nil // asked again next time
	}
	if err := s.g.Outbox.MarkRecord(s.dev.ID, newest); err != nil {
		err = fmt.Errorf("outbox: %w", err)
		s.fail(err)
		return err
	}
	return nil
}
