package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"vclinic/homekit"
	"vclinic/homekit/gatt"
)

// The key of a record joins its number and base time as documented in
// glucose.go, above every time-based seq.
func TestRecordKey(t *testing.T) {
	at := gatt.DateTime{Year: 2026, Month: 3, Day: 1, Hours: 8, Minutes: 30, Seconds: 59}
	tests := []struct {
		name string
		seq  uint16
		t    gatt.DateTime
		want int64
	}{
		{"no date", 7, gatt.DateTime{}, 1<<62 | 7},
		{"dated", 0x1234, at, 1<<62 | 2026<<42 | 3<<38 | 1<<33 | 8<<28 | 30<<22 | 59<<16 | 0x1234},
		{"latest", 0xFFFF, gatt.DateTime{Year: 9999, Month: 12, Day: 31, Hours: 23, Minutes: 59, Seconds: 59},
			1<<62 | 9999<<42 | 12<<38 | 31<<33 | 23<<28 | 59<<22 | 59<<16 | 0xFFFF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := gatt.GlucoseRecordKey(tt.seq, tt.t)
			if got != tt.want {
				t.Fatalf("gatt.GlucoseRecordKey(%d, %v) = %#x, want %#x", tt.seq, tt.t, got, tt.want)
			}
			if got <= 0 || got < gatt.GlucoseRecordKeyBase || recordNumber(got) != tt.seq {
				t.Fatalf("key %#x: not positive, below the base, or number %d", got, recordNumber(got))
			}
		})
	}
	// Far above the time-based seqs, which are Unix milliseconds.
	if far := time.Date(100000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli(); far >= gatt.GlucoseRecordKeyBase {
		t.Fatalf("time-based seq %d reaches the record keys", far)
	}

	later := at
	later.Minutes++
	k := gatt.GlucoseRecordKey(5, at)
	for _, c := range []struct {
		name string
		b    int64
		same bool
	}{
		{"the same record sent again", gatt.GlucoseRecordKey(5, at), true},
		{"number reused after a reset", gatt.GlucoseRecordKey(5, later), false},
		{"another number", gatt.GlucoseRecordKey(6, at), false},
		{"the same number, no date", gatt.GlucoseRecordKey(5, gatt.DateTime{}), true},
	} {
		if got := sameRecord(k, c.b); got != c.same {
			t.Errorf("%s: sameRecord = %v, want %v", c.name, got, c.same)
		}
	}

	v := glucoseValue(fakeRecord{seq: 0x0102, at: time.Date(2026, 3, 1, 8, 30, 59, 0, time.UTC)})
	if got, ok := recordKeyOf(v); !ok || got != gatt.GlucoseRecordKey(0x0102, at) {
		t.Fatalf("recordKeyOf(% X) = %#x, %v", v, got, ok)
	}
	if _, ok := recordKeyOf([]byte{0x02}); ok {
		t.Fatal("a torn glucose measurement gave a key")
	}
}

// The outbox gives a record its key as seq, keeps record keys out of the
// device's time-based seqs, and keeps the last record taken across a restart
// and a compaction; logs from before record keys still name theirs.
func TestOutboxRecordKeys(t *testing.T) {
	dir := t.TempDir()
	ob := openT(t, dir)
	r, err := ob.Enqueue("glu", "2A18", []byte{1}, t0)
	if err != nil || r.Seq != t0.UnixMilli() {
		t.Fatalf("time-based seq %d, %v", r.Seq, err)
	}
	key := gatt.GlucoseRecordKey(9, gatt.DateTime{Year: 2026, Month: 3, Day: 1, Hours: 8})
	if r, err := ob.EnqueueRecord("glu", "2A18", []byte{2}, t0, key); err != nil || r.Seq != key {
		t.Fatalf("record seq %#x, %v; want %#x", r.Seq, err, key)
	}
	if _, err := ob.EnqueueRecord("glu", "2A18", []byte{3}, t0, 9); err == nil {
		t.Fatal("a record enqueued with a seq that is no key")
	}
	if _, ok := ob.LastRecord("glu"); ok {
		t.Fatal("enqueueing a record made it the last taken")
	}
	if err := ob.MarkRecord("glu", key); err != nil {
		t.Fatal(err)
	}
	check := func(when string, ob *Outbox) {
		t.Helper()
		if s := ob.LastSeq("glu"); s != t0.UnixMilli() {
			t.Fatalf("%s: last time-based seq %d, want %d", when, s, t0.UnixMilli())
		}
		if k, ok := ob.LastRecord("glu"); !ok || k != key {
			t.Fatalf("%s: last record %#x, %v; want %#x", when, k, ok, key)
		}
	}
	check("before restart", ob)
	ob.Close()
	ob = openT(t, dir)
	check("after restart", ob)
	if err := ob.Compact(); err != nil {
		t.Fatal(err)
	}
	ob.Close()
	ob = openT(t, dir)
	check("after compaction", ob)
	if r, _ := ob.Enqueue("glu", "2A18", []byte{4}, t0); r.Seq != t0.UnixMilli()+1 {
		t.Fatalf("next time-based seq %d, want %d", r.Seq, t0.UnixMilli()+1)
	}
	ob.Close()

	// Before keys, a checkpoint and a reading line held the record number
	// plus one.
	legacy := t.TempDir()
	var log []byte
	for _, rec := range []record{
		{K: "c", Next: 5, Seqs: map[string]int64{"a": 100}, Recs: map[string]int64{"a": 8}},
		{K: "r", R: &Reading{ID: 5, DeviceID: "b", Char: "2A18", Value: "00", Seq: 200, ObservedAt: t0, Record: 4}},
	} {
		line, _ := encodeLine(rec)
		log = append(log, line...)
	}
	if err := os.WriteFile(filepath.Join(legacy, logName), log, 0o600); err != nil {
		t.Fatal(err)
	}
	ob = openT(t, legacy)
	for dev, n := range map[string]uint16{"a": 7, "b": 3} {
		k, ok := ob.LastRecord(dev)
		if !ok || recordNumber(k) != n || !sameRecord(k, gatt.GlucoseRecordKey(n, gatt.DateTime{Year: 2026, Month: 1, Day: 1})) {
			t.Errorf("%s: last record %#x, %v; want number %d, any base time", dev, k, ok, n)
		}
	}
}

// requestsText writes what a meter was asked, a line per connection.
func requestsText(conns [][][]byte) []string {
	var out []string
	for _, reqs := range conns {
		var s []string
		for _, r := range reqs {
			s = append(s, fmt.Sprintf("% X", r))
		}
		out = append(out, strings.Join(s, ", "))
	}
	return out
}

// A glucose meter whose numbering restarts, wraps past 0xFFFF or belongs to
// another meter is noticed, and asked for all its records; those the clinic
// has come back "duplicate" under their keys. No record is lost and none is
// stored twice, also when the meter's response code overtakes its records.
func TestGlucoseMeterRenumbering(t *testing.T) {
	const (
		last     = "01 06"
		countAll = "04 01"
		all      = "01 01"
		taken    = last + ", " + countAll + ", " + all
	)
	from := func(n uint16) string {
		return fmt.Sprintf("04 03 01 %02X %02X, 01 03 01 %02X %02X", byte(n), byte(n>>8), byte(n), byte(n>>8))
	}
	tests := []struct {
		name     string
		first    uint16
		noLast   bool
		cutAfter int
		steps    []func(m *fakeMeter) // before each connection
		want     []string             // the requests of each connection
		dups     int                  // records the clinic answers "duplicate" for
	}{{
		name:  "factory reset, fewer records since",
		first: 1,
		steps: []func(m *fakeMeter){
			func(m *fakeMeter) { m.measure(5) },
			func(m *fakeMeter) { m.restart(1) },
			func(m *fakeMeter) { m.measure(3) },
			func(m *fakeMeter) {},
			func(m *fakeMeter) { m.measure(2) }, // numbers 4 and 5 again
		},
		want: []string{taken, last, taken, last, last + ", " + from(3)},
	}, {
		name:  "battery change, more records since than before",
		first: 1,
		steps: []func(m *fakeMeter){
			func(m *fakeMeter) { m.measure(5) },
			func(m *fakeMeter) { m.restart(0); m.measure(9) },
			func(m *fakeMeter) { m.measure(1) },
		},
		want: []string{taken, last + ", " + from(5) + ", " + countAll + ", " + all, last + ", " + from(8)},
		dups: 4, // 5..8, taken by the report from 5 and again by the one of all
	}, {
		name:  "numbers wrap past 0xFFFF",
		first: 0xFFFA,
		steps: []func(m *fakeMeter){
			func(m *fakeMeter) { m.measure(4) }, // FFFA..FFFD
			func(m *fakeMeter) { m.measure(5) }, // FFFE, FFFF, 0, 1, 2
			func(m *fakeMeter) { m.measure(3) }, // 3..5; FFFA..FFFF are ">= 2" too
		},
		want: []string{taken, taken, last + ", " + from(2)},
		dups: 4, // FFFA..FFFD
	}, {
		name:  "another meter under the same kit entry",
		first: 1,
		steps: []func(m *fakeMeter){
			func(m *fakeMeter) { m.measure(5) },
			func(m *fakeMeter) { m.restart(200); m.clock = m.clock.Add(-30 * 24 * time.Hour); m.measure(3) },
			func(m *fakeMeter) { m.measure(1) },
		},
		want: []string{taken, last + ", " + from(5) + ", " + countAll + ", " + all, last + ", " + from(202)},
		dups: 3,
	}, {
		name:   "a meter that cannot name its most recent record",
		first:  1,
		noLast: true,
		steps: []func(m *fakeMeter){
			func(m *fakeMeter) { m.measure(3) },
			func(m *fakeMeter) { m.measure(2) },
		},
		want: []string{taken, taken},
		dups: 3,
	}, {
		name:     "link lost in the middle of a report",
		first:    1,
		cutAfter: 5, // the most recent record, then 4 of the report
		steps: []func(m *fakeMeter){
			func(m *fakeMeter) { m.measure(10) },
			func(m *fakeMeter) {},
		},
		want: []string{taken, taken},
		dups: 4, // those 4: the report was cut, so none was marked taken
	}}
	for _, tt := range tests {
		for _, overtake := range []bool{false, true} {
			name := tt.name
			if overtake {
				name += ", response first"
			}
			t.Run(name, func(t *testing.T) {
				c := newClinic(t)
				dev := c.addDevice(gatt.KindGlucoseMeter, "AA:00:00:00:00:03")
				meter := &fakeMeter{
					next: tt.first, clock: t0.Add(-48 * time.Hour),
					noLast: tt.noLast, overtake: overtake, cutAfter: tt.cutAfter,
					drops:   len(tt.steps) - 1,
					connect: func(m *fakeMeter, n int) { tt.steps[n](m) },
					settled: make(chan struct{}),
				}
				radio := &fakeRadio{meters: map[string]*fakeMeter{dev.Address: meter}}
				ob := openT(t, t.TempDir())
				g := &Gateway{
					Radio: radio, Outbox: ob, Uploader: newUploader(ob, c.url), Devices: []Device{dev},
					Now: func() time.Time { return t0 }, Sleep: noSleep, Reconnect: time.Millisecond,
				}
				runGateway(t, g, func() bool {
					select {
					case <-meter.settled:
						return true
					default:
						return false
					}
				})
				checkMeter(t, c, dev, meter)
				if got := requestsText(radio.meterRequests(dev.Address)); !slices.Equal(got, tt.want) {
					t.Errorf("requests\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
				}
				if n := c.answered(homekit.StatusDuplicate); n != tt.dups {
					t.Errorf("%d answered duplicate, want %d", n, tt.dups)
				}
			})
		}
	}
}

// checkMeter asserts that the clinic holds every record the meter ever took,
// once, under its key, and nothing else of the meter.
func checkMeter(t *testing.T, c *clinic, dev Device, m *fakeMeter) {
	t.Helper()
	want := map[string]int{}
	for _, r := range m.ever {
		want[fmt.Sprintf("%x", glucoseValue(r))] = 1
	}
	got := c.stored(dev.ID)
	for v, n := range got {
		if want[v] == 0 {
			t.Errorf("stored %s, which the meter never took", v)
		} else if n != 1 {
			t.Errorf("record %s stored %d times", v, n)
		}
	}
	for v := range want {
		if got[v] == 0 {
			t.Errorf("record %s lost", v)
		}
	}
	if n := c.answered(homekit.StatusRejected); n != 0 {
		t.Errorf("%d readings rejected", n)
	}
	rs, err := c.store.ListReadings(t.Context(), clinicActor, "pat-1", t0.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if key, ok := recordKeyOf(r.Raw); !ok || !r.Seq.Valid || r.Seq.V != key {
			t.Errorf("reading %x has seq %v, want its record key %#x", []byte(r.Raw), r.Seq, key)
		}
	}
}

// A glucose meter is asked on each connection, and after a restart of the
// gateway on the same (compacted) directory, only for the records after the
// last one taken.
func TestGlucoseMeterAcrossRestart(t *testing.T) {
	c := newClinic(t)
	dev := c.addDevice(gatt.KindGlucoseMeter, "AA:00:00:00:00:03")
	meter := &fakeMeter{
		next: 1, clock: t0.Add(-48 * time.Hour), drops: 1, settled: make(chan struct{}),
		connect: func(m *fakeMeter, n int) {
			m.measure([]int{5, 2}[n]) // two new readings while the link was down
		},
	}
	radio := &fakeRadio{meters: map[string]*fakeMeter{dev.Address: meter}}
	dir := t.TempDir()
	ob := openT(t, dir)
	newGateway := func(ob *Outbox) *Gateway {
		return &Gateway{
			Radio: radio, Outbox: ob, Uploader: newUploader(ob, c.url), Devices: []Device{dev},
			Now: func() time.Time { return t0 }, Sleep: noSleep, Reconnect: time.Millisecond,
		}
	}
	settled := func() bool {
		select {
		case <-meter.settled:
			return true
		default:
			return false
		}
	}
	runGateway(t, newGateway(ob), settled)
	want := []string{"01 06, 04 01, 01 01", "01 06, 04 03 01 05 00, 01 03 01 05 00"}
	if got := requestsText(radio.meterRequests(dev.Address)); !slices.Equal(got, want) {
		t.Fatalf("requests %q, want %q", got, want)
	}
	newest := gatt.GlucoseRecordKey(7, gatt.DateTime{Year: 2026, Month: 2, Day: 27, Hours: 8, Minutes: 6})
	if k, ok := ob.LastRecord(dev.ID); !ok || k != newest {
		t.Fatalf("last record %#x, %v; want %#x", k, ok, newest)
	}
	if err := ob.Compact(); err != nil {
		t.Fatal(err)
	}
	ob.Close()

	// Restarted on the same directory: the meter took two more meanwhile.
	ob = openT(t, dir)
	radio.mu.Lock()
	meter.requests, meter.drops, meter.settled = nil, 0, make(chan struct{})
	meter.connect = func(m *fakeMeter, n int) { m.measure(2) }
	radio.mu.Unlock()
	runGateway(t, newGateway(ob), settled)
	want = []string{"01 06, 04 03 01 07 00, 01 03 01 07 00"}
	if got := requestsText(radio.meterRequests(dev.Address)); !slices.Equal(got, want) {
		t.Fatalf("requests after restart %q, want %q", got, want)
	}
	checkMeter(t, c, dev, meter)
	if n := c.answered(homekit.StatusDuplicate); n != 0 {
		t.Fatalf("%d answered duplicate", n)
	}
	if k, _ := ob.LastRecord(dev.ID); recordNumber(k) != 9 {
		t.Fatalf("last record %d, want 9", recordNumber(k))
	}
}
