package main

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"vclinic/internal/records/recordstest"
	"vclinic/internal/redistest"
	"vclinic/scheduler"
	"vclinic/signaling"
)

// startCluster starts n nodes on one PostgreSQL and one Redis.
func startCluster(t *testing.T, n int) []*clusterNode {
	t.Helper()
	dsn := recordstest.Postgres(t).Database(t)
	rds := redistest.Start(t)
	var nodes []*clusterNode
	for i := range n {
		node, err := startNode(t, dsn, rds.URL(), "web"+string(rune('1'+i))+"-8080")
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, node)
	}
	return nodes
}

// hosts lists the nodes on which room is live.
func hosts(nodes []*clusterNode, room string) []string {
	var out []string
	for _, n := range nodes {
		if n.c.sig.Hosts(room) {
			out = append(out, n.c.registry.ID())
		}
	}
	return out
}

// roomNode asks node for the room's status, as a clinician: the node that
// hosts the room answers, whichever node is asked.
func roomNode(t *testing.T, node *clusterNode, room, token string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", node.srv.URL+"/api/v1/rooms/"+room, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st signaling.RoomStatus
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&st) != nil {
		t.Fatalf("room status from %s: %d", node.c.registry.ID(), resp.StatusCode)
	}
	return st.Node
}

// TestClusterRoomAcrossNodes: three participants join one room through three
// different nodes; the room lives on exactly one node, every node's room
// status names it, and each participant receives the other two's audio and
// video. Then the room's node drains: the room moves to another node and
// the participants, who join again by themselves, hear each other there.
func TestClusterRoomAcrossNodes(t *testing.T) {
	nodes := startCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	s := nodes[0].c.store
	clin, err := s.CreateUser(ctx, scheduler.System, "anna", "Dr. Anna Holm", "clinician", "a long password 5")
	if err != nil {
		t.Fatal(err)
	}
	sign := func(req signaling.TokenRequest) string {
		req.TTL = time.Hour
		tok, err := nodes[0].c.keys.Sign(req)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	const room = "ward-7"
	clinTok := sign(signaling.TokenRequest{Role: "clinician", Subject: clin.ID, Name: "Dr. Anna Holm"})
	// Each peer dials its own node while that node serves, else the next
	// one that does: a load balancer's choice.
	var down [3]atomic.Bool
	via := func(i int) func() string {
		return func() string {
			for k := range nodes {
				j := (i + k) % len(nodes)
				if !down[j].Load() {
					return nodes[j].srv.URL
				}
			}
			return nodes[i].srv.URL
		}
	}
	peers := []*clusterPeer{
		newClusterPeer(t, "Dr. Anna Holm", clinTok, room, via(0)),
		newClusterPeer(t, "Karen Jensen", sign(signaling.TokenRequest{Role: "patient", Subject: "p1", Room: room}), room, via(1)),
		newClusterPeer(t, "Ole Jensen", sign(signaling.TokenRequest{Role: "relative", Subject: "r1", Room: room}), room, via(2)),
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for _, p := range peers {
		wg.Go(func() { p.run(ctx) })
	}
	if !allHear(peers, 60*time.Second) {
		t.Fatalf("media did not flow between nodes; room on %v", hosts(nodes, room))
	}
	on := hosts(nodes, room)
	if len(on) != 1 {
		t.Fatalf("room on %v, want exactly one node", on)
	}
	for _, n := range nodes {
		if got := roomNode(t, n, room, clinTok); got != on[0] {
			t.Errorf("%s says the room is on %q, it is on %q", n.c.registry.ID(), got, on[0])
		}
	}

	// The room's node drains: no visit ends within its wait, so it hands
	// the room over; everyone is back in the call on another node.
	var host int
	for i, n := range nodes {
		if n.c.registry.ID() == on[0] {
			host = i
		}
	}
	sessions := peers[0].sessionCount()
	down[host].Store(true)
	dctx, dcancel := context.WithTimeout(ctx, 300*time.Millisecond)
	nodes[host].c.ready.Store(false)
	nodes[host].c.registry.Drain(dctx)
	nodes[host].c.drainRooms(dctx)
	dcancel()
	if nodes[host].c.sig.Hosts(room) {
		t.Fatal("the drained node still hosts the room")
	}
	deadline := time.Now().Add(60 * time.Second)
	for peers[0].sessionCount() == sessions && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if !allHear(peers, 60*time.Second) {
		t.Fatalf("after the drain media did not flow; room on %v", hosts(nodes, room))
	}
	if on2 := hosts(nodes, room); len(on2) != 1 || on2[0] == on[0] {
		t.Fatalf("after the drain the room is on %v (was on %s)", on2, on[0])
	}
}
