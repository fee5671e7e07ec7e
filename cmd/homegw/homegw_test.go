package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"vclinic/homekit"
	"vclinic/homekit/gatt"
)

// fakeServer implements POST /api/v1/readings with the server's rule:
// a (device, characteristic, seq) seen before answers "duplicate" with the
// original id (or "rejected" if the bytes differ); value "FF" is rejected.
type fakeServer struct {
	t        *testing.T
	mu       sync.Mutex
	rows     map[string]storedRow
	order    map[string][]int64 // per device, seqs in storing order
	stored   int
	dups     int
	requests int
	// fail, when set, decides each request's fate before (pre) and after
	// (post) storing: "503", "close" or "" for a normal answer.
	fail func(n int) (pre, post string)
}

type storedRow struct {
	id    string
	value string
}

func newFakeServer(t *testing.T) (*fakeServer, *httptest.Server) {
	f := &fakeServer{t: t, rows: map[string]storedRow{}, order: map[string][]int64{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func hangUp(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		conn.Close()
	}
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/api/v1/readings" || r.Header.Get("Authorization") != "Bearer gw-token" {
		http.Error(w, "no", http.StatusNotFound)
		return
	}
	f.mu.Lock()
	f.requests++
	n := f.requests
	fail := f.fail
	f.mu.Unlock()
	var pre, post string
	if fail != nil {
		pre, post = fail(n)
	}
	switch pre {
	case "503":
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	case "close":
		hangUp(w)
		return
	}
	var body struct {
		Readings []wireReading `json:"readings"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || len(body.Readings) > MaxBatch {
		http.Error(w, "bad batch", http.StatusBadRequest)
		return
	}
	var res []result
	f.mu.Lock()
	for i, in := range body.Readings {
		key := fmt.Sprintf("%s/%s/%d", in.DeviceID, in.Characteristic, in.Seq)
		if _, err := time.Parse(time.RFC3339, in.ObservedAt); err != nil {
			res = append(res, result{Index: i, Status: "rejected", Reason: "observedAt"})
			continue
		}
		if in.Value == "FF" {
			res = append(res, result{Index: i, Status: "rejected", Reason: "value: undecodable"})
			continue
		}
		if old, ok := f.rows[key]; ok {
			if old.value != in.Value {
				res = append(res, result{Index: i, Status: "rejected", Reason: "seq reused with other bytes"})
				continue
			}
			f.dups++
			res = append(res, result{Index: i, Status: "duplicate", ID: old.id})
			continue
		}
		f.stored++
		id := fmt.Sprintf("r%d", f.stored)
		f.rows[key] = storedRow{id: id, value: in.Value}
		f.order[in.DeviceID] = append(f.order[in.DeviceID], in.Seq)
		res = append(res, result{Index: i, Status: "stored", ID: id})
	}
	f.mu.Unlock()
	if post == "close" {
		hangUp(w) // stored, but the gateway never hears so
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"results": res})
}

func (f *fakeServer) counts() (stored, dups, requests int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stored, f.dups, f.requests
}

// checkOrder asserts each device had n readings stored, each once, in
// strictly increasing seq order (so the seqs are unique).
func (f *fakeServer) checkOrder(t *testing.T, want map[string]int) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for dev, n := range want {
		got := f.order[dev]
		if len(got) != n {
			t.Errorf("%s: %d stored, want %d", dev, len(got), n)
			continue
		}
		for i := 1; i < len(got); i++ {
			if got[i] <= got[i-1] {
				t.Errorf("%s: stored seq %d after %d at position %d", dev, got[i], got[i-1], i)
				break
			}
		}
	}
}

func noSleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }

func newUploader(ob *Outbox, url string) *Uploader {
	return &Uploader{
		Outbox: ob, URL: url, Token: "gw-token",
		Client:     &http.Client{Timeout: 5 * time.Second},
		MinBackoff: time.Millisecond, MaxBackoff: 8 * time.Millisecond,
		Sleep: noSleep, Jitter: func() float64 { return 0.5 },
	}
}

func openT(t *testing.T, dir string) *Outbox {
	t.Helper()
	ob, err := OpenOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ob.Close() })
	return ob
}

var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

func fill(t *testing.T, ob *Outbox, devs []string, n int) {
	t.Helper()
	for i := range n {
		for _, d := range devs {
			if _, err := ob.Enqueue(d, "2A1C", []byte{0x00, byte(i), byte(i >> 8), 0x00, 0xFF}, t0.Add(time.Duration(i)*time.Second)); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func drain(t *testing.T, u *Uploader) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := u.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if n := u.Outbox.Len(); n != 0 {
		t.Fatalf("%d still pending", n)
	}
}

// (a) The server is down (connections refused) for a while, then up.
func TestServerDownThenUp(t *testing.T) {
	fs, srv := newFakeServer(t)
	ob := openT(t, t.TempDir())
	fill(t, ob, []string{"d1", "d2"}, 120)

	// A closed port: connection refused until the fake clock has slept 6 times.
	down := httptest.NewServer(http.NotFoundHandler())
	deadURL := down.URL
	down.Close()
	u := newUploader(ob, deadURL)
	var waits []time.Duration
	u.Sleep = func(ctx context.Context, d time.Duration) error {
		waits = append(waits, d)
		if len(waits) == 6 {
			u.URL = srv.URL
		}
		return ctx.Err()
	}
	drain(t, u)
	stored, dups, _ := fs.counts()
	if stored != 240 || dups != 0 {
		t.Fatalf("stored %d, duplicate %d; want 240, 0", stored, dups)
	}
	fs.checkOrder(t, map[string]int{"d1": 120, "d2": 120})
	// Backoff doubles from 1ms, capped at 8ms, jitter taking off a quarter.
	want := []time.Duration{750 * time.Microsecond, 1500 * time.Microsecond, 3 * time.Millisecond, 6 * time.Millisecond, 6 * time.Millisecond, 6 * time.Millisecond}
	if fmt.Sprint(waits) != fmt.Sprint(want) {
		t.Fatalf("waits %v, want %v", waits, want)
	}
}

// (b) Every other request fails: 503, or the connection closed after the
// batch was stored. The resent batches come back "duplicate".
func TestFlappingServer(t *testing.T) {
	fs, srv := newFakeServer(t)
	fs.fail = func(n int) (string, string) {
		switch n % 4 {
		case 1:
			return "503", ""
		case 3:
			return "", "close"
		}
		return "", ""
	}
	ob := openT(t, t.TempDir())
	fill(t, ob, []string{"d1", "d2", "d3"}, 100)
	u := newUploader(ob, srv.URL)
	drain(t, u)
	stored, dups, reqs := fs.counts()
	if stored != 300 {
		t.Fatalf("stored %d, want 300 (lost or duplicated)", stored)
	}
	if dups == 0 {
		t.Fatal("no batch was resent after a hang-up")
	}
	fs.checkOrder(t, map[string]int{"d1": 100, "d2": 100, "d3": 100})
	t.Logf("%d requests, %d stored, %d answered duplicate", reqs, stored, dups)
}

// (c) The gateway is killed mid-upload (after the server stored a batch,
// before it heard the answer) and restarted on the same directory.
func TestRestartMidStream(t *testing.T) {
	fs, srv := newFakeServer(t)
	dir := t.TempDir()
	ob, err := OpenOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	fill(t, ob, []string{"d1", "d2"}, 60)

	ctx, kill := context.WithCancel(context.Background())
	fs.fail = func(n int) (string, string) {
		if n == 2 {
			return "", "close"
		}
		return "", ""
	}
	u := newUploader(ob, srv.URL)
	u.Sleep = func(context.Context, time.Duration) error {
		kill() // killed while waiting to resend batch 2
		return context.Canceled
	}
	if err := u.Drain(ctx); err == nil {
		t.Fatal("drain finished; want it killed")
	}
	if n := ob.Len(); n != 70 {
		t.Fatalf("%d pending after kill, want 70", n)
	}
	last1, last2 := ob.LastSeq("d1"), ob.LastSeq("d2")
	ob.Close()

	ob = openT(t, dir)
	if s := ob.LastSeq("d1"); s != last1 {
		t.Fatalf("d1 last seq %d after restart, want %d", s, last1)
	}
	if n := ob.Len(); n != 70 {
		t.Fatalf("%d pending after restart, want 70", n)
	}
	fill(t, ob, []string{"d1", "d2"}, 5) // observed earlier: seqs go on from the last
	if s := ob.LastSeq("d2"); s != last2+5 {
		t.Fatalf("d2 last seq %d, want %d", s, last2+5)
	}
	drain(t, newUploader(ob, srv.URL))
	stored, dups, _ := fs.counts()
	if stored != 130 || dups != 50 {
		t.Fatalf("stored %d, duplicate %d; want 130, 50", stored, dups)
	}
	fs.checkOrder(t, map[string]int{"d1": 65, "d2": 65})
}

// (d) A crash in the middle of a write leaves a torn last line.
func TestTornLastLine(t *testing.T) {
	dir := t.TempDir()
	ob := openT(t, dir)
	fill(t, ob, []string{"d1"}, 10)
	if err := ob.Settle([]uint64{1, 2, 3}, nil); err != nil {
		t.Fatal(err)
	}
	last := ob.LastSeq("d1")
	ob.Close()
	path := filepath.Join(dir, logName)
	data, _ := os.ReadFile(path)

	// A reading line cut short: Enqueue had not returned; it is dropped.
	line, _ := encodeLine(record{K: "r", R: &Reading{ID: 12, DeviceID: "d1", Char: "2A1C", Value: "00", Seq: last + 1, ObservedAt: t0}})
	for _, cut := range []int{1, 9, len(line) / 2, len(line) - 1} {
		if err := os.WriteFile(path, append(append([]byte(nil), data...), line[:cut]...), 0o600); err != nil {
			t.Fatal(err)
		}
		ob := openT(t, dir)
		if n, s := ob.Len(), ob.LastSeq("d1"); n != 7 || s != last {
			t.Fatalf("cut at %d: %d pending, last seq %d; want 7, %d", cut, n, s, last)
		}
		r, err := ob.Enqueue("d1", "2A1C", []byte{1}, t0)
		if err != nil || r.Seq != last+1 {
			t.Fatalf("cut at %d: enqueue after recovery: seq %d, %v", cut, r.Seq, err)
		}
		ob.Close()
		// The recovered log has no torn bytes left: opening it again sees 8.
		if ob := openT(t, dir); ob.Len() != 8 {
			t.Fatalf("cut at %d: %d pending on second open", cut, ob.Len())
		}
	}

	// The last acknowledged line truncated by the simulated crash is the
	// only one lost; the ones before it are intact.
	if err := os.WriteFile(path, data[:len(data)-4], 0o600); err != nil {
		t.Fatal(err)
	}
	ob = openT(t, dir)
	if n := ob.Len(); n != 10 { // the settle line was the torn one
		t.Fatalf("%d pending, want 10 (settle torn, readings intact)", n)
	}

	// Damage before the end is corruption, not a torn write.
	bad := append([]byte(nil), data...)
	bad[20] ^= 0x01
	os.WriteFile(path, bad, 0o600)
	if _, err := OpenOutbox(dir); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("open of a corrupt log: %v", err)
	}
}

// (e) Rejected readings are dead-lettered and do not hold up later ones.
func TestRejectedToDeadLetter(t *testing.T) {
	fs, srv := newFakeServer(t)
	dir := t.TempDir()
	ob := openT(t, dir)
	for i := range 60 {
		v := []byte{byte(i)}
		if i%20 == 5 {
			v = []byte{0xFF}
		}
		if _, err := ob.Enqueue("d1", "2A35", v, t0); err != nil {
			t.Fatal(err)
		}
	}
	drain(t, newUploader(ob, srv.URL))
	stored, _, reqs := fs.counts()
	if stored != 57 || reqs != 2 {
		t.Fatalf("stored %d in %d requests, want 57 in 2", stored, reqs)
	}
	data, err := os.ReadFile(filepath.Join(dir, deadName))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d dead letters, want 3:\n%s", len(lines), data)
	}
	var d DeadLetter
	if err := json.Unmarshal([]byte(lines[0]), &d); err != nil || d.Seq != t0.UnixMilli()+5 || d.Reason != "value: undecodable" {
		t.Fatalf("dead letter %+v, %v", d, err)
	}
}

// Compaction drops settled readings but keeps the seq counters.
func TestCompactionKeepsSeq(t *testing.T) {
	_, srv := newFakeServer(t)
	dir := t.TempDir()
	ob := openT(t, dir)
	ob.CompactAfter = 25
	fill(t, ob, []string{"d1"}, 100)
	drain(t, newUploader(ob, srv.URL))
	fill(t, ob, []string{"d1"}, 3)
	ob.Close()
	fi, _ := os.Stat(filepath.Join(dir, logName))
	ob = openT(t, dir)
	last := t0.UnixMilli() + 99_000 + 3 // 100 a second apart, then 3 observed earlier
	if n, s := ob.Len(), ob.LastSeq("d1"); n != 3 || s != last {
		t.Fatalf("%d pending, last seq %d; want 3, %d", n, s, last)
	}
	if fi.Size() > 2000 {
		t.Fatalf("log %d bytes after compaction", fi.Size())
	}
	r, _ := ob.Enqueue("d1", "2A1C", []byte{1}, t0)
	if r.Seq != last+1 || r.ID != 104 {
		t.Fatalf("next reading seq %d id %d, want %d, 104", r.Seq, r.ID, last+1)
	}
}

// The gateway forwards what a (fake) radio hears, across a lost link, to a
// flapping server.
func TestGatewayWithFakeRadio(t *testing.T) {
	fs, srv := newFakeServer(t)
	fs.fail = func(n int) (string, string) {
		if n%3 == 0 {
			return "", "close"
		}
		return "", ""
	}
	var script1, script2 []fakeValue
	for i := range 40 {
		script1 = append(script1, fakeValue{0x2A35, []byte{0x00, byte(i)}})
		script2 = append(script2, fakeValue{0x2A37, []byte{0x00, byte(60 + i)}})
	}
	radio := &fakeRadio{scripts: map[string][][]fakeValue{
		"AA:00:00:00:00:01": {script1[:20], script1[20:]},
		"AA:00:00:00:00:02": {append(script2, fakeValue{0x2A00, []byte("name")})},
	}}
	ob := openT(t, t.TempDir())
	g := &Gateway{
		Radio: radio, Outbox: ob, Uploader: newUploader(ob, srv.URL),
		Devices: []Device{{ID: "bp", Address: "AA:00:00:00:00:01"}, {ID: "hr", Address: "AA:00:00:00:00:02"}},
		Now:     func() time.Time { return t0 }, Sleep: noSleep, Reconnect: time.Millisecond,
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	var stored atomic.Int64
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		s, _, _ := fs.counts()
		if stored.Store(int64(s)); s == 80 {
			break
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s := stored.Load(); s != 80 {
		t.Fatalf("stored %d, want 80", s)
	}
	fs.checkOrder(t, map[string]int{"bp": 40, "hr": 40})
}

// A wiped outbox directory starts each device's seq at the observation time
// in milliseconds, above every seq the server holds from before: the server
// stores the new readings instead of answering "duplicate" or rejecting a
// reused seq with other bytes.
func TestWipedDirectoryKeepsSeqsFresh(t *testing.T) {
	fs, srv := newFakeServer(t)
	dir := t.TempDir()
	ob, err := OpenOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := ob.Enqueue("d1", "2A1C", []byte{0x00, 0x01}, t0)
	if err != nil || r.Seq != t0.UnixMilli() {
		t.Fatalf("first seq %d, %v; want the observation time in ms %d", r.Seq, err, t0.UnixMilli())
	}
	fill(t, ob, []string{"d1", "d2"}, 50)
	drain(t, newUploader(ob, srv.URL))
	ob.Close()
	fs.mu.Lock()
	var held int64
	for _, seqs := range fs.order {
		for _, s := range seqs {
			held = max(held, s)
		}
	}
	fs.mu.Unlock()

	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	ob = openT(t, dir)
	if s := ob.LastSeq("d1"); s != 0 {
		t.Fatalf("last seq %d in a wiped directory", s)
	}
	later := t0.Add(time.Hour)
	prev := map[string]int64{}
	for i := range 20 {
		for _, d := range []string{"d1", "d2"} {
			// Other bytes than before, and several in the same millisecond.
			at := later.Add(time.Duration(i/4) * time.Second)
			r, err := ob.Enqueue(d, "2A1C", []byte{0x01, byte(i), 0x00, 0x00, 0xFF}, at)
			if err != nil {
				t.Fatal(err)
			}
			if r.Seq <= held || r.Seq < at.UnixMilli() {
				t.Fatalf("%s: seq %d, not above the server's %d and at least %d", d, r.Seq, held, at.UnixMilli())
			}
			if r.Seq <= prev[d] {
				t.Fatalf("%s: seq %d after %d", d, r.Seq, prev[d])
			}
			prev[d] = r.Seq
		}
	}
	drain(t, newUploader(ob, srv.URL))
	stored, dups, _ := fs.counts()
	if stored != 141 || dups != 0 {
		t.Fatalf("stored %d, duplicate %d; want 141, 0", stored, dups)
	}
	if _, err := os.Stat(filepath.Join(dir, deadName)); !os.IsNotExist(err) {
		t.Fatalf("dead letters after the wipe: %v", err)
	}
	fs.checkOrder(t, map[string]int{"d1": 71, "d2": 70})
}

// runGateway runs g until done reports true and the outbox is empty, then
// stops it.
func runGateway(t *testing.T, g *Gateway, done func() bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- g.Run(ctx) }()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	deadline := time.After(20 * time.Second)
	for !done() || g.Outbox.Len() > 0 {
		select {
		case err := <-stopped:
			cancel()
			t.Fatalf("gateway stopped early: %v", err)
		case <-deadline:
			cancel()
			<-stopped
			t.Fatalf("gateway not done after 20s; %d readings pending", g.Outbox.Len())
		case <-tick.C:
		}
	}
	cancel()
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
}

// A device that drops its link mid-stream (turned off, out of range) is
// connected to again, with a wait that grows while it cannot be reached and
// starts over once it sends again; the readings it sends after coming back
// are stored once each, on the clinic's real readings API.
func TestReconnectAfterDeviceDrop(t *testing.T) {
	c := newClinic(t)
	therm := c.addDevice(gatt.KindThermometer, "AA:00:00:00:00:04")
	want := map[string]int{}
	temps := func(from, n int) []fakeValue {
		var s []fakeValue
		for i := from; i < from+n; i++ {
			v := []byte{0x00, byte(360 + i), byte((360 + i) >> 8), 0x00, 0xFF} // (36.0 + i/10) °C
			want[fmt.Sprintf("%x", v)] = 1
			s = append(s, fakeValue{0x2A1C, v})
		}
		return s
	}
	radio := &fakeRadio{scripts: map[string][][]fakeValue{therm.Address: {
		temps(0, 10), // then the link drops
		nil, nil,     // out of range: connecting fails
		temps(10, 10), // back, and drops again mid-stream
		temps(20, 10), // back for good
	}}}
	ob := openT(t, t.TempDir())
	var mu sync.Mutex
	var waits []time.Duration
	g := &Gateway{
		Radio: radio, Outbox: ob, Uploader: newUploader(ob, c.url), Devices: []Device{therm},
		Now:       func() time.Time { return t0 },
		Reconnect: 100 * time.Millisecond, ReconnectMax: 300 * time.Millisecond,
		Jitter: func() float64 { return 0.5 },
		Sleep: func(ctx context.Context, d time.Duration) error {
			mu.Lock()
			waits = append(waits, d)
			mu.Unlock()
			return ctx.Err()
		},
	}
	runGateway(t, g, func() bool { return c.answered(homekit.StatusStored) >= 30 })

	if got := c.stored(therm.ID); !maps.Equal(got, want) {
		t.Errorf("stored %v\nwant %v", got, want)
	}
	if n := c.answered(homekit.StatusDuplicate) + c.answered(homekit.StatusRejected); n != 0 {
		t.Errorf("%d readings answered duplicate or rejected", n)
	}
	if n := radio.conns[therm.Address]; n != 5 {
		t.Errorf("%d connections, want 5", n)
	}
	if radio.recordAccess[therm.Address] {
		t.Error("a thermometer was asked for stored records")
	}
	// Doubling from 100ms while nothing comes, capped at 300ms, back to
	// 100ms after a connection that brought readings; jitter takes off a
	// quarter.
	mu.Lock()
	defer mu.Unlock()
	wantWaits := []time.Duration{75 * time.Millisecond, 150 * time.Millisecond, 225 * time.Millisecond, 75 * time.Millisecond}
	if !slices.Equal(waits, wantWaits) {
		t.Errorf("waits %v, want %v", waits, wantWaits)
	}
}
