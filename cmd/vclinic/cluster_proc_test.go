package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"vclinic/internal/keystore"
	"vclinic/internal/records/recordstest"
	"vclinic/internal/redistest"
	"vclinic/scheduler"
	"vclinic/signaling"
)

// procNode is a vclinic node running as its own process, so that a test
// may kill -9, stop or pause it.
type procNode struct {
	id, addr, data, log string
	cmd                 *exec.Cmd
	exited              chan error
	up                  atomic.Bool // a load balancer would send requests to it
}

func (n *procNode) url() string { return "http://" + n.addr }

// procCluster is three vclinic processes on one PostgreSQL and one Redis,
// with what a test needs to sign in to them.
type procCluster struct {
	t     *testing.T
	bin   string
	dsn   string
	redis *redistest.Server
	nodes []*procNode
	keys  *signaling.Keyring
	store *scheduler.Store
	extra []string // more flags for every node
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startProcCluster(t *testing.T, n int, extra ...string) *procCluster {
	t.Helper()
	pc := &procCluster{t: t, bin: vclinicBinary(t), dsn: recordstest.Postgres(t).Database(t), redis: redistest.Start(t), extra: extra}
	for i := range n {
		dir := t.TempDir()
		node := &procNode{id: fmt.Sprintf("web%d-8080", i+1), addr: freeAddr(t), data: filepath.Join(dir, "data"), log: filepath.Join(dir, "vclinic.log")}
		pc.nodes = append(pc.nodes, node)
		pc.start(node)
	}
	t.Cleanup(func() {
		for _, node := range pc.nodes {
			pc.stop(node)
			if t.Failed() {
				t.Logf("node %s:", node.id)
				logTail(t, node.log)
			}
		}
	})
	ctx := context.Background()
	logger := slog.New(slog.DiscardHandler)
	db, trail, err := openRecords(ctx, "", pc.dsn, 0, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if pc.store, err = scheduler.NewStore(ctx, db, trail, scheduler.Config{}, logger); err != nil {
		t.Fatal(err)
	}
	if pc.keys, err = keystore.Open(ctx, t.TempDir(), db); err != nil {
		t.Fatal(err)
	}
	return pc
}

// start runs node's process and waits until it is ready.
func (pc *procCluster) start(node *procNode) {
	t := pc.t
	t.Helper()
	logf, err := os.OpenFile(node.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"-addr", node.addr, "-data", node.data, "-postgres", pc.dsn, "-redis", pc.redis.URL(),
		"-node-id", node.id, "-udp-port", "0", "-tcp-port", "-1", "-log-level", "info", "-shutdown-wait", "2s",
		"-cpr-key-file", sharedCPRKey(t, pc.dsn)}, pc.extra...)
	cmd := exec.Command(pc.bin, args...)
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logf.Close()
	node.cmd = cmd
	node.exited = make(chan error, 1)
	go func() { node.exited <- cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(node.url() + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		select {
		case err := <-node.exited:
			logTail(t, node.log)
			t.Fatalf("node %s exited: %v", node.id, err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			logTail(t, node.log)
			t.Fatalf("node %s not ready within 30 s", node.id)
		}
	}
	node.up.Store(true)
}

// stop sends SIGTERM and waits for the node to drain and exit.
func (pc *procCluster) stop(node *procNode) {
	if node.cmd == nil {
		return
	}
	node.up.Store(false)
	_ = node.cmd.Process.Signal(syscall.SIGCONT) // a paused node cannot stop
	_ = node.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-node.exited:
		if err != nil {
			pc.t.Errorf("node %s exited with %v after SIGTERM", node.id, err)
		}
	case <-time.After(30 * time.Second):
		_ = node.cmd.Process.Kill()
		<-node.exited
		pc.t.Errorf("node %s did not stop within 30 s of SIGTERM", node.id)
	}
	node.cmd = nil
}

// kill ends node with SIGKILL: no drain, no goodbye.
func (pc *procCluster) kill(node *procNode) {
	node.up.Store(false)
	_ = node.cmd.Process.Kill()
	<-node.exited
	node.cmd = nil
}

// via returns a load balancer's choice for a client that prefers node i:
// that node while it is up, else the next one that is.
func (pc *procCluster) via(i int) func() string {
	return func() string {
		for k := range pc.nodes {
			n := pc.nodes[(i+k)%len(pc.nodes)]
			if n.up.Load() {
				return n.url()
			}
		}
		return pc.nodes[i].url()
	}
}

// byID finds a node by its id.
func (pc *procCluster) byID(id string) *procNode {
	for _, n := range pc.nodes {
		if n.id == id {
			return n
		}
	}
	return nil
}

// host asks a node that is up where room is; "" when it is live nowhere.
func (pc *procCluster) host(room, token string) string {
	for _, n := range pc.nodes {
		if !n.up.Load() {
			continue
		}
		req, _ := http.NewRequest("GET", n.url()+"/api/v1/rooms/"+room, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			continue
		}
		var st signaling.RoomStatus
		err = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if resp.StatusCode == 200 && err == nil {
			return st.Node
		}
		return ""
	}
	return ""
}

// hostsLocally asks node itself, not relayed, whether it hosts room.
func hostsLocally(t *testing.T, node *procNode, room, token string) bool {
	req, _ := http.NewRequest("GET", node.url()+"/api/v1/rooms/"+room, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set(hopHeader, "test")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("ask %s: %v", node.id, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == 200
}

// visitPeers starts a clinician and a patient in room, through nodes 0 and
// 1 as a load balancer would send them, and waits until they hear each
// other.
func (pc *procCluster) visitPeers(ctx context.Context, room string) ([]*clusterPeer, string) {
	t := pc.t
	t.Helper()
	u, err := pc.store.CreateUser(ctx, scheduler.System, "anna"+room, "Dr. Anna Holm", "clinician", "a long password 5")
	if err != nil {
		t.Fatal(err)
	}
	sign := func(req signaling.TokenRequest) string {
		req.TTL = time.Hour
		tok, err := pc.keys.Sign(req)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	clinTok := sign(signaling.TokenRequest{Role: "clinician", Subject: u.ID, Name: "Dr. Anna Holm"})
	peers := []*clusterPeer{
		newClusterPeer(t, "Dr. Anna Holm", clinTok, room, pc.via(0)),
		newClusterPeer(t, "Karen Jensen", sign(signaling.TokenRequest{Role: "patient", Subject: "p-" + room, Room: room}), room, pc.via(1)),
	}
	var wg sync.WaitGroup
	for _, p := range peers {
		wg.Go(func() { p.run(ctx) })
	}
	t.Cleanup(wg.Wait)
	if !allHear(peers, time.Time{}, 60*time.Second) {
		t.Fatal("the visit did not start")
	}
	return peers, clinTok
}

// backInCall waits (60 s at most) until every peer hears every other again,
// with media that arrived after since, and returns how long that took.
func backInCall(t *testing.T, peers []*clusterPeer, since time.Time, what string) time.Duration {
	t.Helper()
	if !allHear(peers, since, 60*time.Second) {
		t.Fatalf("%s: the participants are not back in the call within 60 s", what)
	}
	return time.Since(since)
}

// waitSessions waits until every peer has started more sessions than
// before[i].
func waitSessions(t *testing.T, peers []*clusterPeer, before []int, what string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for i, p := range peers {
		for p.sessionCount() <= before[i] {
			if time.Now().After(deadline) {
				t.Fatalf("%s: participant %s did not join again", what, p.name)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func sessionCounts(peers []*clusterPeer) []int {
	out := make([]int, len(peers))
	for i, p := range peers {
		out[i] = p.sessionCount()
	}
	return out
}

// TestClusterKillNode: kill -9 of the node that hosts a visit. The
// participants join again by themselves and are back in the call on another
// node; the room is on one node. VCLINIC_KILL_RUNS=10 repeats it (the killed
// node restarts under its id each time) and logs the times from the kill to
// both sides back in the call, for BENCHMARKS.md.
func TestClusterKillNode(t *testing.T) {
	runs := 1
	if v, err := strconv.Atoi(os.Getenv("VCLINIC_KILL_RUNS")); err == nil && v > 0 {
		runs = v
	}
	// One public URL for every node, as behind a load balancer: the relay
	// must reach each node at its own address (-node-url's default).
	pc := startProcCluster(t, 3, "-public-url", "https://clinic.invalid")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	peers, clinTok := pc.visitPeers(ctx, "kill-visit")
	var times []time.Duration
	for run := range runs {
		host := pc.byID(pc.host("kill-visit", clinTok))
		if host == nil {
			t.Fatal("no node says it hosts the visit")
		}
		before := sessionCounts(peers)
		killed := time.Now()
		pc.kill(host)
		waitSessions(t, peers, before, "kill -9")
		times = append(times, backInCall(t, peers, killed, "kill -9"))
		now := pc.host("kill-visit", clinTok)
		if now == "" || now == host.id {
			t.Fatalf("run %d: after killing %s the visit is on %q", run, host.id, now)
		}
		t.Logf("run %d: kill -9 of %s; both back in the call on %s after %s", run, host.id, now, times[run].Round(time.Millisecond))
		pc.start(host) // the same id and address again
		if hostsLocally(t, host, "kill-visit", clinTok) {
			t.Fatalf("run %d: the restarted %s hosts the visit too", run, host.id)
		}
	}
	if runs > 1 {
		sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
		t.Logf("kill -9 to both back in the call over %d runs: p50 %s, max %s", runs,
			times[len(times)/2].Round(time.Millisecond), times[len(times)-1].Round(time.Millisecond))
	}
}

// TestClusterPausedNode: the visit's node is paused (SIGSTOP) past its
// lease; the visit moves to another node; when the paused node runs again
// (SIGCONT) it does not host the visit, which stays on one node.
func TestClusterPausedNode(t *testing.T) {
	pc := startProcCluster(t, 3)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	peers, clinTok := pc.visitPeers(ctx, "paused-visit")
	host := pc.byID(pc.host("paused-visit", clinTok))
	if host == nil {
		t.Fatal("no node says it hosts the visit")
	}
	before := sessionCounts(peers)
	host.up.Store(false) // the load balancer's health check fails
	if err := host.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	paused := time.Now()
	waitSessions(t, peers, before, "SIGSTOP")
	backInCall(t, peers, paused, "SIGSTOP")
	moved := pc.host("paused-visit", clinTok)
	if moved == "" || moved == host.id {
		t.Fatalf("the visit is on %q while %s is paused", moved, host.id)
	}
	// Past the lease for sure, then wake the node.
	time.Sleep(time.Until(paused.Add(8 * time.Second)))
	if err := host.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if hostsLocally(t, host, "paused-visit", clinTok) {
			t.Fatalf("%s hosts the visit again after SIGCONT; it is on %s", host.id, moved)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The woken node says on /metrics that it gave the room up for want
	// of a renewal, and holds no lease; the node it moved to holds one.
	if n := metricAt(t, host.url(), `vclinic_room_leases_lost_total{reason="deadline"}`); n < 1 {
		t.Errorf("the woken node counts %v rooms given up at their deadline, want at least 1", n)
	}
	if n := metricAt(t, host.url(), "vclinic_room_leases"); n != 0 {
		t.Errorf("the woken node holds %v leases, want 0", n)
	}
	if n := metricAt(t, pc.byID(moved).url(), "vclinic_room_leases"); n < 1 {
		t.Errorf("%s, which hosts the visit now, holds %v leases", moved, n)
	}
	host.up.Store(true)
	if !allHear(peers, time.Now(), 10*time.Second) {
		t.Fatal("the call broke after the paused node woke")
	}
	if now := pc.host("paused-visit", clinTok); now != moved {
		t.Fatalf("after SIGCONT the visit is on %q, was on %s", now, moved)
	}
}

// TestClusterRollingRestart: the three nodes get SIGTERM one after the
// other, each restarted before the next; each drains, handing the visit to
// another node, and the visit goes on.
func TestClusterRollingRestart(t *testing.T) {
	pc := startProcCluster(t, 3)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	peers, clinTok := pc.visitPeers(ctx, "rolling-visit")
	var seen []string
	for _, node := range pc.nodes {
		host := pc.host("rolling-visit", clinTok)
		seen = append(seen, host)
		before := sessionCounts(peers)
		stopped := time.Now()
		pc.stop(node) // drains: -shutdown-wait 2s, then moves what is left
		exited := time.Now()
		if host == node.id {
			waitSessions(t, peers, before, "drain of "+node.id)
		}
		// Media after the node exited: the visit runs elsewhere now.
		backInCall(t, peers, exited, "SIGTERM of "+node.id)
		t.Logf("SIGTERM of %s (visit on %s): in the call %s later", node.id, host, time.Since(stopped).Round(time.Millisecond))
		pc.start(node)
		if !allHear(peers, time.Now(), 30*time.Second) {
			t.Fatalf("after %s restarted the call broke", node.id)
		}
	}
	if on := pc.host("rolling-visit", clinTok); on == "" {
		t.Fatal("the visit is live nowhere")
	}
	if !slices.ContainsFunc(seen, func(s string) bool { return s != seen[0] }) {
		t.Logf("the visit stayed on %s", seen[0]) // it moved at least once, from the first node it was on
	}
}

// TestClusterRedisRestart: Redis stops for a few seconds during a visit
// and comes back empty. The visit goes on meanwhile (leases are in
// PostgreSQL); the nodes register again by themselves and the cluster view
// is whole again.
func TestClusterRedisRestart(t *testing.T) {
	pc := startProcCluster(t, 3)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	peers, clinTok := pc.visitPeers(ctx, "redis-visit")
	admin, err := pc.store.CreateUser(ctx, scheduler.System, "root", "Ada Admin", "admin", "a long password 4")
	if err != nil {
		t.Fatal(err)
	}
	adminTok, err := pc.keys.Sign(signaling.TokenRequest{Role: "admin", Subject: admin.ID, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	before := sessionCounts(peers)
	// A relative who joins through a node that does not host the visit
	// while Redis is away: that node cannot learn where the visit's node
	// is, so it holds the join and tries again until it can (or answers
	// 503, try again, after the lease and a little more).
	host := pc.host("redis-visit", clinTok)
	var other *procNode
	for _, n := range pc.nodes {
		if n.id != host {
			other = n
			break
		}
	}
	relTok, err := pc.keys.Sign(signaling.TokenRequest{Role: "relative", Subject: "relative-redis", Room: "redis-visit", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	type dialed struct {
		ws     *websocket.Conn
		status int
		err    error
		at     time.Time
	}
	late := make(chan dialed, 1)
	pc.redis.Stop()
	go func() {
		time.Sleep(1500 * time.Millisecond) // past the node's cached view of the cluster
		d := websocket.Dialer{HandshakeTimeout: 30 * time.Second}
		ws, resp, err := d.Dial("ws"+strings.TrimPrefix(other.url(), "http")+"/ws?room=redis-visit", http.Header{"Authorization": {"Bearer " + relTok}})
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		late <- dialed{ws, status, err, time.Now()}
	}()
	time.Sleep(4 * time.Second)
	if !allHear(peers, time.Now(), 2*time.Second) {
		t.Fatal("the visit broke while Redis was away")
	}
	if err := pc.redis.Restart(); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	var healed time.Duration
	for {
		status, body := doJSON(t, "GET", pc.nodes[0].url()+"/api/v1/cluster", adminTok, "")
		var view struct {
			Nodes []struct{ ID, State string }
		}
		active := 0
		if status == 200 && json.Unmarshal(body, &view) == nil {
			for _, n := range view.Nodes {
				if n.State == "active" {
					active++
				}
			}
		}
		if active == 3 {
			healed = time.Since(restarted)
			break
		}
		if time.Since(restarted) > 60*time.Second {
			t.Fatalf("the cluster view did not heal within 60 s: %d %s", status, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("cluster view whole again %s after Redis restarted", healed.Round(time.Millisecond))
	if !allHear(peers, time.Now(), 5*time.Second) {
		t.Fatal("the visit broke after Redis came back")
	}
	if got := sessionCounts(peers); !slices.Equal(got, before) {
		t.Fatalf("the participants had to join again (sessions %v, were %v)", got, before)
	}
	got := <-late
	if got.err != nil {
		t.Fatalf("a join through %s while Redis was away: %v (%d); want it held until Redis was back, then relayed", other.id, got.err, got.status)
	}
	defer got.ws.Close()
	if got.at.Before(restarted) {
		t.Errorf("the join through %s went through before Redis was back", other.id)
	}
	payload, _ := json.Marshal(signaling.Join{Version: signaling.ProtocolVersion})
	if err := got.ws.WriteJSON(signaling.Envelope{Type: signaling.TypeJoin, ID: "1", Payload: payload}); err != nil {
		t.Fatal(err)
	}
	_ = got.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		var env signaling.Envelope
		if err := got.ws.ReadJSON(&env); err != nil {
			t.Fatalf("the held join, waiting for joined: %v", err)
		}
		if env.Type == signaling.TypeJoined {
			break
		}
		if env.Type == signaling.TypeError || env.Type == signaling.TypeLeave {
			t.Fatalf("the held join: %s %s", env.Type, env.Payload)
		}
	}
	t.Logf("a join through another node while Redis was away was held and went through %s after Redis was back",
		got.at.Sub(restarted).Round(time.Millisecond))
}

// TestClusterIDTakenWhilePaused: a node is paused (SIGSTOP) past the life
// of its id's claim, and another process starts with the same id; when the
// paused one runs again (SIGCONT) it finds its id taken and stops by
// itself, with an error, so that two processes never answer to one id. The
// newcomer goes on.
func TestClusterIDTakenWhilePaused(t *testing.T) {
	pc := startProcCluster(t, 1)
	old := pc.nodes[0]
	if err := old.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	newcomer := &procNode{id: old.id, addr: freeAddr(t), data: filepath.Join(dir, "data"), log: filepath.Join(dir, "vclinic.log")}
	pc.nodes = append(pc.nodes, newcomer)
	pc.start(newcomer) // waits out the paused node's claim
	if err := old.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-old.exited:
		if err == nil {
			t.Error("the node whose id was taken exited with success, want an error")
		}
		b, _ := os.ReadFile(old.log)
		if !strings.Contains(string(b), "node id held by another live node") {
			t.Errorf("its log does not say why it stopped:\n%s", b)
		}
		old.cmd = nil
	case <-time.After(30 * time.Second):
		t.Fatal("the node whose id was taken still runs 30 s after SIGCONT")
	}
	resp, err := http.Get(newcomer.url() + "/readyz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the newcomer: %v %v", resp, err)
	}
	resp.Body.Close()
}
