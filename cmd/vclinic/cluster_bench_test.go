package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/redis/go-redis/v9"

	"vclinic/scheduler"
	"vclinic/signaling"
)

// BenchmarkRelay measures what relaying a room's signaling through another
// node adds: ping round trips over a WebSocket to the room's node itself
// (direct) and through another node (relayed), on loopback. It reports
// the round trip's p50 and p99 in microseconds. The pings go out 40 a
// second, under the server's per-connection message limit, so a run of
// 2000 takes about 50 s per case:
//
//	go test -run '^$' -bench BenchmarkRelay -benchtime 2000x ./cmd/vclinic/
func BenchmarkRelay(b *testing.B) {
	nodes := startCluster(b, 2)
	s := nodes[0].c.store
	u, err := s.CreateUser(b.Context(), scheduler.System, "anna", "Dr. Anna Holm", "clinician", "a long password 5")
	if err != nil {
		b.Fatal(err)
	}
	tok, err := nodes[0].c.keys.Sign(signaling.TokenRequest{Role: "clinician", Subject: u.ID, TTL: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	first, _ := joinWS(b, nodes[0].srv.URL, "relay-bench", tok)
	defer first.Close()
	host, other := nodes[0], nodes[1]
	if nodes[1].c.sig.Hosts("relay-bench") {
		host, other = nodes[1], nodes[0]
	}
	for _, bc := range []struct {
		name string
		node *clusterNode
	}{{"direct", host}, {"relayed", other}} {
		b.Run(bc.name, func(b *testing.B) {
			pat, err := nodes[0].c.keys.Sign(signaling.TokenRequest{Role: "patient", Subject: "p-" + bc.name, Room: "relay-bench", TTL: time.Hour})
			if err != nil {
				b.Fatal(err)
			}
			ws, _ := joinWS(b, bc.node.srv.URL, "relay-bench", pat)
			defer ws.Close()
			_ = ws.SetReadDeadline(time.Time{})
			ping, _ := json.Marshal(signaling.Envelope{Type: signaling.TypePing, ID: "p"})
			rtts := make([]time.Duration, 0, b.N)
			tick := time.NewTicker(25 * time.Millisecond)
			defer tick.Stop()
			for b.Loop() {
				<-tick.C
				start := time.Now()
				if err := ws.WriteMessage(websocket.TextMessage, ping); err != nil {
					b.Fatal(err)
				}
				for {
					var env signaling.Envelope
					if err := ws.ReadJSON(&env); err != nil {
						b.Fatal(err)
					}
					if env.Type == signaling.TypePong {
						break
					}
				}
				rtts = append(rtts, time.Since(start))
			}
			slices.Sort(rtts)
			b.ReportMetric(float64(rtts[len(rtts)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(rtts[len(rtts)*99/100].Microseconds()), "p99-µs")
		})
	}
}

// BenchmarkClusterRedisOps measures the commands a cluster sends to Redis:
// per node at idle (heartbeat, presence) and per visit on top (a visit of
// two, joined without media: media never touches Redis). It reads
// total_commands_processed from Redis over a 10 s window each.
//
//	go test -run '^$' -bench BenchmarkClusterRedisOps -benchtime 1x ./cmd/vclinic/
func BenchmarkClusterRedisOps(b *testing.B) {
	nodes, rds := startClusterRedis(b, 3)
	opt, err := redisOptions(rds.URL())
	if err != nil {
		b.Fatal(err)
	}
	rdb := redis.NewUniversalClient(opt)
	defer rdb.Close()
	commands := func() float64 {
		info, err := rdb.Info(b.Context(), "stats").Result()
		if err != nil {
			b.Fatal(err)
		}
		for _, line := range strings.Split(info, "\r\n") {
			if v, ok := strings.CutPrefix(line, "total_commands_processed:"); ok {
				n, _ := strconv.ParseFloat(v, 64)
				return n
			}
		}
		b.Fatal("no total_commands_processed")
		return 0
	}
	const window = 10 * time.Second
	rate := func() float64 {
		from := commands()
		time.Sleep(window)
		return (commands() - from - 1) / window.Seconds() // less the INFO itself
	}
	u, err := nodes[0].c.store.CreateUser(b.Context(), scheduler.System, "anna", "Dr. Anna Holm", "clinician", "a long password 5")
	if err != nil {
		b.Fatal(err)
	}
	const visits = 6
	for b.Loop() {
		time.Sleep(3 * time.Second) // past the first heartbeats
		idle := rate()
		for v := range visits {
			room := fmt.Sprintf("visit-%d-%d", v, time.Now().UnixNano())
			for i, req := range []signaling.TokenRequest{
				{Role: "clinician", Subject: u.ID},
				{Role: "patient", Subject: "p-" + room, Room: room},
			} {
				req.TTL = time.Hour
				tok, err := nodes[0].c.keys.Sign(req)
				if err != nil {
					b.Fatal(err)
				}
				ws, _ := joinWS(b, nodes[(v+i)%3].srv.URL, room, tok)
				_ = ws.SetReadDeadline(time.Time{})
				go func() {
					for {
						if _, _, err := ws.ReadMessage(); err != nil {
							return
						}
					}
				}()
			}
		}
		busy := rate()
		b.ReportMetric(idle/3, "ops/s/node-idle")
		b.ReportMetric((busy-idle)/visits, "ops/s/visit")
	}
}
