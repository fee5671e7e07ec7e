package main

import (
	"context"
	"errors"
	"slices"
	"sync"
)

// fakeRadio plays scripted values per device address: each Subscribe call
// takes the next script; a script ends with a lost link unless it is the
// last, which then waits for ctx. Addresses in meters are glucose meters
// instead, which send only the stored records they are asked for.
type fakeRadio struct {
	mu      sync.Mutex
	scripts map[string][][]fakeValue
	meters  map[string]*fakeMeter
}

type fakeValue struct {
	char  uint16
	value []byte
}

// fakeMeter is a glucose meter: it keeps records and, on each connection,
// answers the Record Access Control Point request it is written.
type fakeMeter struct {
	records  []uint16 // stored record sequence numbers, ascending
	drops    int      // connections that end with a lost link; then it stays
	requests [][]byte // what each connection wrote to the control point
	// connect, if set, runs at the start of each connection (n from 0),
	// e.g. to take new readings between connections.
	connect func(m *fakeMeter, n int)
}

// glucoseValue is a Glucose Measurement of 100 mg/dL with record number seq.
func glucoseValue(seq uint16) []byte {
	return []byte{0x02, byte(seq), byte(seq >> 8), 0xEA, 0x07, 3, 1, 8, 0, 0, 0x64, 0xB0, 0x11}
}

// answer is what the meter sends for request: the records it selects, then
// the control point's response code.
func (m *fakeMeter) answer(request []byte) []fakeValue {
	var from uint16
	switch {
	case len(request) == 2 && request[0] == 0x01 && request[1] == 0x01:
		from = 0
	case len(request) == 5 && request[0] == 0x01 && request[1] == 0x03 && request[2] == 0x01:
		from = uint16(request[3]) | uint16(request[4])<<8
	default:
		op := byte(0)
		if len(request) > 0 {
			op = request[0]
		}
		return []fakeValue{{RecordAccessControlPoint, []byte{0x06, 0x00, op, 0x03}}} // invalid operator
	}
	var out []fakeValue
	for _, r := range m.records {
		if r >= from {
			out = append(out, fakeValue{0x2A18, glucoseValue(r)})
		}
	}
	status := byte(0x01) // success
	if len(out) == 0 {
		status = 0x06 // no records found
	}
	return append(out, fakeValue{RecordAccessControlPoint, []byte{0x06, 0x00, 0x01, status}})
}

func (f *fakeRadio) Subscribe(ctx context.Context, dev Device, racp []byte, fn func(uint16, []byte)) error {
	f.mu.Lock()
	var script []fakeValue
	var last bool
	if m, ok := f.meters[dev.Address]; ok {
		n := len(m.requests)
		if m.connect != nil {
			m.connect(m, n)
		}
		m.requests = append(m.requests, slices.Clone(racp))
		if racp != nil { // a meter sends nothing unless asked
			script = m.answer(racp)
		}
		last = n >= m.drops
	} else {
		s := f.scripts[dev.Address]
		last = len(s) <= 1
		if len(s) > 0 {
			script, f.scripts[dev.Address] = s[0], s[1:]
		}
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

// meterRequests is what the meter at addr was asked, per connection.
func (f *fakeRadio) meterRequests(addr string) [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.meters[addr].requests)
}
