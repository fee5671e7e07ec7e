package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"vclinic/sfu"
	"vclinic/signaling"
)

// startServer runs a media server and a signaling server in this process,
// over loopback, with /ws and a /metrics of the forwarded packets, until t
// ends, and checks that nothing of them is left running then. dir holds the
// signing keys.
func startServer(t *testing.T) (srv *httptest.Server, dir string, sig *signaling.Server) {
	t.Helper()
	leaks := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, leaks) }) // runs last
	dir = t.TempDir()
	keys, err := signaling.OpenKeyring(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	media, err := sfu.New(sfu.Config{TCPPort: -1, ListenIPs: []string{"127.0.0.1"}, IncludeLoopback: true}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { media.Close() })
	sig, err = signaling.New(signaling.Config{}, keys, media, quiet)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", sig.ServeWS)
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		st := media.Stats()
		fmt.Fprintf(w, "# TYPE vclinic_forwarded_packets_total counter\nvclinic_forwarded_packets_total %d\n", st.ForwardedPackets)
		fmt.Fprintf(w, "vclinic_dropped_packets_total %d\n", st.DroppedPackets)
	})
	srv = httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := sig.Shutdown(ctx); err != nil {
			t.Errorf("signaling shutdown: %v", err)
		}
	})
	return srv, dir, sig
}

// TestLoadAgainstServer runs a small load against a real media server and
// signaling server in this process, over loopback: two rooms of two, every
// participant must join and receive both of its peer's tracks.
func TestLoadAgainstServer(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real peer connections for a few seconds")
	}
	srv, dir, _ := startServer(t)

	cfg := config{
		URL: srv.URL, Data: dir, Rooms: 2, Size: 2,
		Duration: 2 * time.Second, Warmup: time.Second, Ramp: 20 * time.Millisecond,
		JoinTimeout: 15 * time.Second, ServerPID: os.Getpid(),
	}
	rep, err := runLoad(context.Background(), cfg, slog.New(slog.DiscardHandler), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Joined != 4 || rep.Failed != 0 || rep.Dropped != 0 {
		t.Fatalf("joined %d, failed %d (%v), dropped %d (%v); want 4 joined", rep.Joined, rep.Failed, rep.FailureReasons, rep.Dropped, rep.DropReasons)
	}
	if rep.RemoteTracks != 8 || rep.ExpectedTracks != 8 {
		t.Errorf("media on %d remote tracks of %d expected, want 8 of 8 (%v)", rep.RemoteTracks, rep.ExpectedTracks, rep.Incomplete)
	}
	// Two seconds at 50 and ~170 packets/s from each of four publishers, each
	// packet to one subscriber. Allow for a slow machine, not for silence.
	if rep.Audio.Sent < 200 || rep.Video.Sent < 700 {
		t.Errorf("sent %d audio and %d video packets in %.1f s, want about 400 and 1360", rep.Audio.Sent, rep.Video.Sent, rep.WindowSeconds)
	}
	if rep.Audio.Received < rep.Audio.Sent/2 || rep.Video.Received < rep.Video.Sent/2 {
		t.Errorf("received %d of %d audio and %d of %d video packets", rep.Audio.Received, rep.Audio.Sent, rep.Video.Received, rep.Video.Sent)
	}
	if rep.JoinToMedia.Count != 8 || rep.JoinToJoined.Count != 4 {
		t.Errorf("join samples %d, media samples %d; want 4 and 8", rep.JoinToJoined.Count, rep.JoinToMedia.Count)
	}
	if s := rep.Server; s == nil || s.MetricsError != "" || s.Forwarded <= 0 || s.CPUPerPacket <= 0 || s.RSSLoadedMiB <= 0 {
		t.Errorf("server figures %+v: want forwarded packets, CPU per packet and RSS", s)
	}
	// Every received packet is stamped: the delays were measured.
	if l := rep.Latency; l.Count < int(rep.Audio.Received+rep.Video.Received)/2 || l.P50 <= 0 || l.P99 < l.P50 {
		t.Errorf("one-way delays %+v for %d packets received", l, rep.Audio.Received+rep.Video.Received)
	}
	if err := rep.writeText(io.Discard); err != nil {
		t.Error(err)
	}
}

// TestIdleAgainstServer: -idle opens its WebSockets, two patients a room,
// holds them through the window without the server dropping any, and
// reports the server's memory; the server counts them open meanwhile.
func TestIdleAgainstServer(t *testing.T) {
	srv, dir, sig := startServer(t)
	cfg := config{URL: srv.URL, Data: dir, Rooms: 1, Size: 1, Idle: 40, Duration: 500 * time.Millisecond,
		Warmup: 0, JoinTimeout: 10 * time.Second, ServerPID: os.Getpid()}
	done, stop := make(chan struct{}), make(chan struct{})
	var open int64
	go func() {
		defer close(done)
		for {
			if n := sig.Counters().Connections; n > open {
				open = n
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	rep, err := runIdle(context.Background(), cfg, io.Discard)
	close(stop)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Connections != 40 || rep.Rooms != 20 || rep.Failed != 0 || rep.Dropped != 0 || rep.Open != 40 {
		t.Fatalf("report %+v", rep)
	}
	if s := rep.Server; s == nil || s.RSSOpenMiB <= 0 || s.RSSIdleMiB <= 0 {
		t.Fatalf("server figures %+v", rep.Server)
	}
	<-done
	if open != 40 {
		t.Fatalf("the server had at most %d connections open, want 40", open)
	}
	if err := rep.writeText(io.Discard); err != nil {
		t.Error(err)
	}
}
