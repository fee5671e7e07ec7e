package main

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"
)

// fakeRadio plays scripted values per device address: each Subscribe call
// takes the next script; a script ends with a lost link unless it is the
// last, which then waits for ctx (an empty script is a connection that
// fails at once, as with a device out of range). Addresses in meters are
// glucose meters instead, which send only the stored records they are asked
// for.
type fakeRadio struct {
	mu      sync.Mutex
	scripts map[string][][]fakeValue
	meters  map[string]*fakeMeter
	conns   map[string]int // Subscribe calls per address
	// recordAccess notes the scripted devices Subscribe was given a
	// RecordAccess for.
	recordAccess map[string]bool
}

type fakeValue struct {
	char  uint16
	value []byte
}

// fakeRecord is a glucose meter's stored record.
type fakeRecord struct {
	seq uint16
	at  time.Time // base time
}

// fakeMeter is a glucose meter: it keeps records and answers the Record
// Access Control Point requests of each connection. Its fields are guarded
// by the radio's mu.
type fakeMeter struct {
	records []fakeRecord // in the order taken: the last is the most recent
	next    uint16       // the number of the next record; it wraps past 0xFFFF
	clock   time.Time    // the base time of the next record; a minute per record
	drops   int          // connections that end with a lost link; then it stays
	// cutAfter, if not 0, loses the first connection's link after it has
	// sent that many records.
	cutAfter int
	// ever is every record the meter has taken, also those it forgot.
	ever []fakeRecord
	// noLast makes the meter answer "operator not supported" to the
	// request for its most recent record.
	noLast bool
	// overtake makes the meter's response code come before the records
	// it closes (as a radio that delivers characteristics out of order).
	overtake bool
	requests [][][]byte // what each connection wrote to the control point
	// connect, if set, runs at the start of each connection (n from 0),
	// e.g. to take new readings between connections.
	connect func(m *fakeMeter, n int)
	// settled, if set, is closed once the last connection (the one that
	// stays) has finished asking for records.
	settled chan struct{}
}

// measure takes n readings.
func (m *fakeMeter) measure(n int) {
	for range n {
		r := fakeRecord{seq: m.next, at: m.clock}
		m.records = append(m.records, r)
		m.ever = append(m.ever, r)
		m.next++
		m.clock = m.clock.Add(time.Minute)
	}
}

// restart clears the meter's memory and numbers its next record first, as a
// factory reset does; the clock goes on.
func (m *fakeMeter) restart(first uint16) {
	m.records = nil
	m.next = first
}

// glucoseValue is the Glucose Measurement of r: 100 mg/dL (0.001 kg/L),
// capillary whole blood from a finger.
func glucoseValue(r fakeRecord) []byte {
	t := r.at
	return []byte{0x02, byte(r.seq), byte(r.seq >> 8),
		byte(t.Year()), byte(t.Year() >> 8), byte(t.Month()), byte(t.Day()), byte(t.Hour()), byte(t.Minute()), byte(t.Second()),
		0x64, 0xB0, 0x11}
}

// selected is the records a Report Stored Records or Report Number of Stored
// Records request selects, and whether the meter understands it.
func (m *fakeMeter) selected(request []byte) ([]fakeRecord, bool) {
	switch {
	case len(request) == 2 && request[1] == 0x01: // all
		return m.records, true
	case len(request) == 2 && request[1] == 0x06 && !m.noLast: // last
		if len(m.records) == 0 {
			return nil, true
		}
		return m.records[len(m.records)-1:], true
	case len(request) == 5 && request[1] == 0x03 && request[2] == 0x01: // >= seq
		from := uint16(request[3]) | uint16(request[4])<<8
		var out []fakeRecord
		for _, r := range m.records {
			if r.seq >= from {
				out = append(out, r)
			}
		}
		return out, true
	}
	return nil, false
}

// answer is what the meter sends for request: the records it selects, then
// the control point's response.
func (m *fakeMeter) answer(request []byte) []fakeValue {
	op := byte(0)
	if len(request) > 0 {
		op = request[0]
	}
	recs, ok := m.selected(request)
	switch {
	case op != 0x01 && op != 0x04:
		return []fakeValue{{RecordAccessControlPoint, []byte{0x06, 0x00, op, 0x02}}} // op code not supported
	case !ok:
		return []fakeValue{{RecordAccessControlPoint, []byte{0x06, 0x00, op, 0x04}}} // operator not supported
	case op == 0x04:
		return []fakeValue{{RecordAccessControlPoint, []byte{0x05, 0x00, byte(len(recs)), byte(len(recs) >> 8)}}}
	}
	var out []fakeValue
	for _, r := range recs {
		out = append(out, fakeValue{0x2A18, glucoseValue(r)})
	}
	status := byte(0x01) // success
	if len(out) == 0 {
		status = 0x06 // no records found
	}
	resp := fakeValue{RecordAccessControlPoint, []byte{0x06, 0x00, 0x01, status}}
	if m.overtake {
		return append([]fakeValue{resp}, out...)
	}
	return append(out, resp)
}

func (f *fakeRadio) Subscribe(ctx context.Context, dev Device, records RecordAccess, fn func(uint16, []byte)) error {
	f.mu.Lock()
	if f.conns == nil {
		f.conns = map[string]int{}
	}
	f.conns[dev.Address]++
	if m, ok := f.meters[dev.Address]; ok {
		n := len(m.requests)
		if m.connect != nil {
			m.connect(m, n)
		}
		m.requests = append(m.requests, nil)
		f.mu.Unlock()
		return f.meterLink(ctx, m, n, n >= m.drops, records, fn)
	}
	if records != nil {
		if f.recordAccess == nil {
			f.recordAccess = map[string]bool{}
		}
		f.recordAccess[dev.Address] = true
	}
	var script []fakeValue
	s := f.scripts[dev.Address]
	last := len(s) <= 1
	if len(s) > 0 {
		script, f.scripts[dev.Address] = s[0], s[1:]
	}
	f.mu.Unlock()
	for _, v := range script {
		fn(v.char, v.value)
	}
	if !last {
		return errors.New("link lost")
	}
	<-ctx.Done()
	return ctx.Err()
}

// meterLink is connection n to meter m: it runs records, delivering the
// answers to its requests through fn, then loses the link unless it stays.
func (f *fakeRadio) meterLink(ctx context.Context, m *fakeMeter, n int, stays bool, records RecordAccess, fn func(uint16, []byte)) error {
	if records == nil { // a meter sends nothing unless asked
		if !stays {
			return errors.New("link lost")
		}
		<-ctx.Done()
		return ctx.Err()
	}
	link, cut := context.WithCancel(ctx)
	sent := make(chan []fakeValue) // what the meter sends for each request
	asked := make(chan error, 1)
	var wg sync.WaitGroup
	defer func() {
		cut()
		wg.Wait()
	}()
	wg.Go(func() {
		asked <- records(link, func(req []byte) error {
			f.mu.Lock()
			m.requests[n] = append(m.requests[n], slices.Clone(req))
			answer := m.answer(req)
			f.mu.Unlock()
			select {
			case sent <- answer:
				return nil
			case <-link.Done():
				return link.Err()
			}
		})
	})
	delivered := 0 // records sent on this connection
	for {
		select {
		case values := <-sent:
			for _, v := range values {
				fn(v.char, v.value)
				if v.char == 0x2A18 {
					delivered++
				}
				if n == 0 && m.cutAfter > 0 && delivered == m.cutAfter {
					return errors.New("link lost")
				}
			}
		case err := <-asked:
			if err != nil {
				return err
			}
			if !stays {
				return errors.New("link lost")
			}
			if m.settled != nil {
				close(m.settled)
			}
			<-ctx.Done()
			return ctx.Err()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// meterRequests is what the meter at addr was asked, per connection.
func (f *fakeRadio) meterRequests(addr string) [][][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.meters[addr].requests)
}
