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

// BenchmarkVitalsAcrossNodes measures a live home reading across the
// cluster: posted to /api/v1/readings on a node that neither hosts the
// visit's room nor serves the clinician's socket, until the clinician's
// WebSocket on another node has the vitals message (stored in PostgreSQL,
// handed to the room's node, sent on through the clinician's). Three
// in-process nodes on loopback, one reading every 50 ms (a kit sends one
// every few seconds at most); it reports p50 and p99 in milliseconds:
//
//	go test -run '^$' -bench BenchmarkVitalsAcrossNodes -benchtime 400x ./cmd/vclinic/
func BenchmarkVitalsAcrossNodes(b *testing.B) {
	nodes := startCluster(b, 3)
	ctx := b.Context()
	s := nodes[0].c.store
	sched, clinUser, _, pat, visit := seedVisit(b, ctx, s)
	sign := func(req signaling.TokenRequest) string {
		req.TTL = time.Hour
		tok, err := nodes[0].c.keys.Sign(req)
		if err != nil {
			b.Fatal(err)
		}
		return tok
	}
	schedTok := sign(signaling.TokenRequest{Role: "scheduler", Subject: sched.ID})
	clinTok := sign(signaling.TokenRequest{Role: "clinician", Subject: clinUser.ID, Name: clinUser.Name})
	patTok := sign(signaling.TokenRequest{Role: "patient", Subject: pat.ID, Appt: visit.ID})
	status, body := doJSON(b, "POST", nodes[2].srv.URL+"/api/v1/patients/"+pat.ID+"/devices", schedTok,
		`{"type":"blood-pressure","model":"UA-651BLE","address":"00:09:1F:AA:BB:CC","identifiedBy":"bluetooth-address","label":"Arm cuff"}`)
	if status != 201 {
		b.Fatalf("add device: %d %s", status, body)
	}
	var dev struct{ ID string }
	_ = json.Unmarshal(body, &dev)
	patWS, _ := joinWS(b, nodes[0].srv.URL, visit.ID, patTok)
	defer patWS.Close()
	clinWS, _ := joinWS(b, nodes[1].srv.URL, visit.ID, clinTok)
	defer clinWS.Close()
	if status, body := doJSON(b, "POST", nodes[1].srv.URL+"/api/v1/appointments/"+visit.ID+"/admit", clinTok, ""); status != 200 {
		b.Fatalf("admit: %d %s", status, body)
	}
	// The node the readings go to: neither the room's nor the clinician's.
	on := hosts(nodes, visit.ID)
	if len(on) != 1 {
		b.Fatalf("room on %v", on)
	}
	var post string
	for _, n := range []*clusterNode{nodes[0], nodes[2]} {
		if n.c.registry.ID() != on[0] {
			post = n.srv.URL
		}
	}
	// The patient's socket is read and dropped, so that its buffer never
	// holds the room up.
	go func() {
		for {
			if _, _, err := patWS.ReadMessage(); err != nil {
				return
			}
		}
	}()
	lat := make([]time.Duration, 0, b.N)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	i := 0
	for b.Loop() {
		<-tick.C
		i++
		sys := 100 + i%50 // a new value each time, so that the message waited for is this reading's
		reading := fmt.Sprintf(`{"readings":[{"deviceId":%q,"characteristic":"2A35","value":"04%02X0050005D004800","seq":%d,"observedAt":%q}]}`,
			dev.ID, sys, i, time.Now().UTC().Format(time.RFC3339Nano))
		start := time.Now()
		if status, body := doJSON(b, "POST", post+"/api/v1/readings", patTok, reading); status != 200 {
			b.Fatalf("post: %d %s", status, body)
		}
		for waitVitals(b, clinWS, "8480-6").Value != strconv.Itoa(sys) {
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
}
