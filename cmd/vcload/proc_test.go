package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"vclinic/signaling"
)

func TestParseProcStat(t *testing.T) {
	tests := []struct {
		name         string
		in           string
		utime, stime uint64
	}{
		{"plain", "4242 (vclinic) S 1 4242 4242 0 -1 4194560 1234 0 0 0 1500 320 0 0 20 0 12 0 98765 1234567 4321 18446744073709551615\n", 1500, 320},
		{"comm with spaces and parens", "77 (my (odd) prog) ) R 1 77 77 0 -1 4194560 5 0 0 0 9 8 0 0 20 0 1 0 100 0 0\n", 9, 8},
		{"comm with digits", "9 (123 456) S 1 9 9 0 -1 0 0 0 0 0 33 44 0 0 20 0 1 0 1 0 0", 33, 44},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseProcStat(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got.utime != tt.utime || got.stime != tt.stime {
				t.Errorf("utime, stime = %d, %d; want %d, %d", got.utime, got.stime, tt.utime, tt.stime)
			}
		})
	}
	for _, bad := range []string{"", "12 (x S 1 2", "12 (x) S 1 2 3", "1 (x) S 1 2 3 4 5 6 7 8 9 10 abc 3 0"} {
		if _, err := parseProcStat(bad); err == nil {
			t.Errorf("parseProcStat(%q): no error", bad)
		}
	}
}

func TestParseVmRSS(t *testing.T) {
	status := "Name:\tvclinic\nVmPeak:\t 1300000 kB\nVmRSS:\t   51234 kB\nRssAnon:\t   40000 kB\n"
	got, err := parseVmRSS(status)
	if err != nil {
		t.Fatal(err)
	}
	if want := uint64(51234 * 1024); got != want {
		t.Errorf("VmRSS = %d bytes, want %d", got, want)
	}
	for _, bad := range []string{"Name:\tkthreadd\n", "VmRSS:\t 12 MB\n", "VmRSS:\t x kB\n"} {
		if _, err := parseVmRSS(bad); err == nil {
			t.Errorf("parseVmRSS(%q): no error", bad)
		}
	}
}

// TestReadProcSelf reads this test's own /proc entries, the same files the
// server's come from.
func TestReadProcSelf(t *testing.T) {
	ticks, _ := clockTicks(context.Background())
	s, err := readProc(strconv.Itoa(os.Getpid()), ticks)
	if err != nil {
		t.Fatal(err)
	}
	if s.rss < 1<<20 || s.cpu < 0 {
		t.Errorf("own sample %+v: want RSS over 1 MiB", s)
	}
}

const exposition = `# HELP vclinic_forwarded_packets_total RTP packets written to subscribers.
# TYPE vclinic_forwarded_packets_total counter
vclinic_forwarded_packets_total 1.234567e+06
vclinic_forwarded_packets_total_extra 5
# TYPE vclinic_dropped_packets_total counter
vclinic_dropped_packets_total{reason="queue"} 17 1700000000000
vclinic_nacks_received_total 0
vclinic_plis_sent_total	+Inf
process_resident_memory_bytes 5.1e+07
`

func TestMetricValue(t *testing.T) {
	tests := []struct {
		name string
		want float64
		ok   bool
	}{
		{"vclinic_forwarded_packets_total", 1234567, true},
		{"vclinic_dropped_packets_total", 17, true},
		{"vclinic_nacks_received_total", 0, true},
		{"process_resident_memory_bytes", 5.1e7, true},
		{"vclinic_forwarded", 0, false}, // a prefix of a name is not the name
		{"vclinic_missing_total", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := metricValue(exposition, tt.name)
			if got != tt.want || ok != tt.ok {
				t.Errorf("metricValue(%s) = %v, %v; want %v, %v", tt.name, got, ok, tt.want, tt.ok)
			}
		})
	}
	if v, ok := metricValue(exposition, "vclinic_plis_sent_total"); !ok || v < 1e308 {
		t.Errorf("+Inf sample: got %v, %v", v, ok)
	}
}

func TestScrapeMetrics(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(exposition))
	}))
	defer srv.Close()
	client := &http.Client{Timeout: 5 * time.Second}
	c, err := scrapeMetrics(context.Background(), client, srv.URL+"/metrics")
	if err != nil {
		t.Fatal(err)
	}
	if c.forwarded != 1234567 || c.dropped != 17 {
		t.Errorf("got %+v, want forwarded 1234567, dropped 17", c)
	}
	if _, err := scrapeMetrics(context.Background(), client, srv.URL+"/nothing"); err == nil {
		t.Error("a 404 scrape gave no error")
	}
}

func TestParseUDPDrops(t *testing.T) {
	const table = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops            
  743: 0100007F:C454 00000000:0000 07 00000000:00001200 00:00000000 00000000     0        0 54567 2 00000000964aac82 12         
 1311: 0100007F:C68C 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 54475 2 00000000861696eb 5         
 1312: 00000000:1F90 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 60001 2 00000000861696ec 1000         
`
	got, err := parseUDPDrops(table, map[uint64]bool{54567: true, 54475: true})
	if err != nil {
		t.Fatal(err)
	}
	if got != 17 {
		t.Errorf("drops of our two sockets = %d, want 17 (not the other process's 1000)", got)
	}
	if _, err := parseUDPDrops("sl local_address inode ref pointer\n", nil); err == nil {
		t.Error("a table without a drops column gave no error")
	}
}

// TestUDPDropsSelf reads this test's own sockets: one UDP socket, nothing dropped.
func TestUDPDropsSelf(t *testing.T) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	inodes, err := socketInodes("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	if len(inodes) == 0 {
		t.Fatal("no socket among our open files")
	}
	if n, err := udpDrops("self"); err != nil || n != 0 {
		t.Errorf("udpDrops(self) = %d, %v; want 0, nil", n, err)
	}
}

// TestConfigLists: -url and -server-pid take a cluster's nodes as
// comma-separated lists; the participants are spread over the URLs in turn.
func TestConfigLists(t *testing.T) {
	cfg, err := parseConfig([]string{"-url", "http://127.0.0.1:1, http://127.0.0.1:2,http://127.0.0.1:3", "-server-pid", "11,12,13"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:3"}; !slices.Equal(cfg.URLs, want) {
		t.Fatalf("URLs %q", cfg.URLs)
	}
	if !slices.Equal(cfg.ServerPIDs, []int{11, 12, 13}) || cfg.ServerPID != 11 {
		t.Fatalf("pids %v %d", cfg.ServerPIDs, cfg.ServerPID)
	}
	env := &peerEnv{wsURLs: []string{"ws://a/ws", "ws://b/ws", "ws://c/ws"}, log: slog.New(slog.DiscardHandler)}
	keys, err := signaling.OpenKeyring(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Rooms, cfg.Size = 2, 2
	parts, err := newParticipants(cfg, cfg.Rooms, keys, env, "clin")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range parts {
		got = append(got, p.wsURL)
	}
	if want := []string{"ws://a/ws", "ws://b/ws", "ws://c/ws", "ws://a/ws"}; !slices.Equal(got, want) {
		t.Fatalf("participants join through %q, want %q", got, want)
	}
	for _, bad := range [][]string{{"-url", "http://a:1,ftp://b"}, {"-server-pid", "12,x"}, {"-server-pid", "-3"}} {
		if _, err := parseConfig(bad, io.Discard); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
