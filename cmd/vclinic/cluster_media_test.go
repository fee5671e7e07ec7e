package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"vclinic/internal/records/recordstest"
	"vclinic/internal/redistest"
	"vclinic/scheduler"
	"vclinic/signaling"
)

// startCluster starts n nodes on one PostgreSQL and one Redis.
func startCluster(t testing.TB, n int) []*clusterNode {
	nodes, _ := startClusterRedis(t, n)
	return nodes
}

// startClusterRedis starts n nodes on one PostgreSQL and one Redis, and
// returns the Redis too.
func startClusterRedis(t testing.TB, n int) ([]*clusterNode, *redistest.Server) {
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
	return nodes, rds
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
	if !allHear(peers, time.Time{}, 60*time.Second) {
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
	drained := time.Now()
	if nodes[host].c.sig.Hosts(room) {
		t.Fatal("the drained node still hosts the room")
	}
	deadline := time.Now().Add(60 * time.Second)
	for peers[0].sessionCount() == sessions && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if !allHear(peers, drained, 60*time.Second) {
		t.Fatalf("after the drain media did not flow; room on %v", hosts(nodes, room))
	}
	if on2 := hosts(nodes, room); len(on2) != 1 || on2[0] == on[0] {
		t.Fatalf("after the drain the room is on %v (was on %s)", on2, on[0])
	}
}

// doJSON sends a request with a bearer token to base and returns the status
// and body.
func doJSON(t testing.TB, method, url, token, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// joinWS opens room's WebSocket on base and joins; it returns the socket
// and what joined said.
func joinWS(t testing.TB, base, room, token string) (*websocket.Conn, signaling.Joined) {
	t.Helper()
	ws, env := dialJoin(t, base, room, token)
	if env.Type != signaling.TypeJoined {
		t.Fatalf("join: %s %s", env.Type, env.Payload)
	}
	var j signaling.Joined
	_ = json.Unmarshal(env.Payload, &j)
	return ws, j
}

// dialJoin opens room's WebSocket through base with token, joins, and
// answers the connection, closed when t ends, and the server's answer:
// joined, an error or a leave.
func dialJoin(t testing.TB, base, room, token string) (*websocket.Conn, signaling.Envelope) {
	t.Helper()
	url := "ws" + strings.TrimPrefix(base, "http") + "/ws?room=" + room
	d := websocket.Dialer{HandshakeTimeout: 30 * time.Second}
	ws, resp, err := d.Dial(url, http.Header{"Authorization": {"Bearer " + token}})
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s via %s: %v (%d)", room, base, err, status)
	}
	t.Cleanup(func() { ws.Close() })
	payload, _ := json.Marshal(signaling.Join{Version: signaling.ProtocolVersion})
	if err := ws.WriteJSON(signaling.Envelope{Type: signaling.TypeJoin, ID: "1", Payload: payload}); err != nil {
		t.Fatal(err)
	}
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		var env signaling.Envelope
		if err := ws.ReadJSON(&env); err != nil {
			t.Fatalf("waiting for joined: %v", err)
		}
		switch env.Type {
		case signaling.TypeJoined, signaling.TypeError, signaling.TypeLeave:
			return ws, env
		}
	}
}

// TestClusterVisitAcrossNodes: the patient's link is opened on node 1, the
// clinician's day list and console are on node 2, the reading is posted to
// node 3. The day list shows the patient waiting, the admission from node
// 2 lets them in, and the reading shows on the clinician's socket. When the
// room moves to another node, the patient joins again straight into the
// call: admission is on record, not in the dead room's memory.
func TestClusterVisitAcrossNodes(t *testing.T) {
	nodes := startCluster(t, 3)
	ctx := context.Background()
	s := nodes[0].c.store
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	sched, clinUser, clin, pat, visit := seedVisit(t, ctx, s)
	sign := func(req signaling.TokenRequest) string {
		req.TTL = time.Hour
		tok, err := nodes[0].c.keys.Sign(req)
		must(err)
		return tok
	}
	schedTok := sign(signaling.TokenRequest{Role: "scheduler", Subject: sched.ID})
	clinTok := sign(signaling.TokenRequest{Role: "clinician", Subject: clinUser.ID, Name: clinUser.Name})
	patTok := sign(signaling.TokenRequest{Role: "patient", Subject: pat.ID, Appt: visit.ID})
	n1, n2, n3 := nodes[0].srv.URL, nodes[1].srv.URL, nodes[2].srv.URL

	status, body := doJSON(t, "POST", n3+"/api/v1/patients/"+pat.ID+"/devices", schedTok,
		`{"type":"blood-pressure","model":"UA-651BLE","address":"00:09:1F:AA:BB:CC","identifiedBy":"bluetooth-address","label":"Arm cuff"}`)
	if status != 201 {
		t.Fatalf("add device: %d %s", status, body)
	}
	var dev struct{ ID string }
	_ = json.Unmarshal(body, &dev)

	patWS, joined := joinWS(t, n1, visit.ID, patTok)
	if !joined.Waiting {
		t.Fatal("the patient was not put in the waiting room")
	}
	// The day list on node 2 shows them waiting, wherever the room is.
	dayList := n2 + "/api/v1/clinicians/" + clin.ID + "/presence?from=" + time.Now().Add(-time.Hour).UTC().Format(time.RFC3339) +
		"&to=" + time.Now().Add(24*time.Hour).UTC().Format(time.RFC3339)
	waiting := func() int {
		status, body := doJSON(t, "GET", dayList, clinTok, "")
		var p struct {
			Appointments []struct {
				AppointmentID string
				Waiting       int
			}
		}
		if status != 200 || json.Unmarshal(body, &p) != nil {
			t.Fatalf("presence: %d %s", status, body)
		}
		for _, a := range p.Appointments {
			if a.AppointmentID == visit.ID {
				return a.Waiting
			}
		}
		return -1
	}
	deadline := time.Now().Add(15 * time.Second)
	for waiting() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("node 2's day list does not show the patient waiting (room on %v)", hosts(nodes, visit.ID))
		}
		time.Sleep(100 * time.Millisecond)
	}
	// A relative waits too (through node 3), and is admitted with the patient.
	relTok := sign(signaling.TokenRequest{Role: "relative", Subject: "relative-1", Name: "Ole Jensen", Appt: visit.ID})
	relWS, relJoined := joinWS(t, n3, visit.ID, relTok)
	if !relJoined.Waiting {
		t.Fatal("the relative was not put in the waiting room")
	}
	clinWS, _ := joinWS(t, n2, visit.ID, clinTok)
	if status, body := doJSON(t, "POST", n2+"/api/v1/appointments/"+visit.ID+"/admit", clinTok, ""); status != 200 {
		t.Fatalf("admit through node 2: %d %s", status, body)
	}
	reading := `{"readings":[{"deviceId":"` + dev.ID + `","characteristic":"00002a35-0000-1000-8000-00805f9b34fb",` +
		`"value":"04780050005D004800","seq":1,"observedAt":"` + time.Now().UTC().Format(time.RFC3339) + `"}]}`
	// Posted to node 3, or to node 1 when node 3 hosts the room: to a node
	// that does not.
	readingNode := n3
	if on := hosts(nodes, visit.ID); len(on) == 1 && on[0] == nodes[2].c.registry.ID() {
		readingNode = n1
	}
	sent := time.Now()
	if status, body := doJSON(t, "POST", readingNode+"/api/v1/readings", patTok, reading); status != 200 || !strings.Contains(string(body), `"status":"stored"`) {
		t.Fatalf("post reading to another node: %d %s", status, body)
	}
	if v := waitVitals(t, clinWS, "8480-6"); v.Value != "120" {
		t.Fatalf("systolic %+v", v)
	}
	t.Logf("reading posted to a node without the room, shown on node 2's socket after %s", time.Since(sent))

	// The room's node hands the room over (a drain); the patient and the
	// relative join again and are in the call at once.
	on := hosts(nodes, visit.ID)
	if len(on) != 1 {
		t.Fatalf("room on %v", on)
	}
	for _, n := range nodes {
		if n.c.registry.ID() == on[0] {
			dctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
			n.c.registry.Drain(dctx)
			n.c.drainRooms(dctx)
			cancel()
		}
	}
	for _, ws := range []*websocket.Conn{patWS, clinWS, relWS} {
		if reason := leaveReason(t, ws); reason != signaling.ReasonMoved {
			t.Fatalf("leave reason %q, want moved", reason)
		}
	}
	_, again := joinWS(t, n1, visit.ID, patTok)
	if again.Waiting {
		t.Fatal("the admitted patient was sent back to the waiting room")
	}
	// The relative was let in on the old node: the new one knows it from
	// the records.
	if _, relAgain := joinWS(t, n3, visit.ID, relTok); relAgain.Waiting {
		t.Fatal("the admitted relative was sent back to the waiting room after the move")
	}
	if on2 := hosts(nodes, visit.ID); len(on2) != 1 || on2[0] == on[0] {
		t.Fatalf("after the move the room is on %v (was on %v)", on2, on)
	}
}

// leaveReason reads until leave and returns its reason.
func leaveReason(t *testing.T, ws *websocket.Conn) string {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		var env signaling.Envelope
		if err := ws.ReadJSON(&env); err != nil {
			t.Fatalf("waiting for leave: %v", err)
		}
		if env.Type == signaling.TypeLeave {
			var l signaling.Leave
			_ = json.Unmarshal(env.Payload, &l)
			return l.Reason
		}
	}
}

// seedVisit makes what a visit needs in s: a scheduler, a clinician with a
// user account, available all week, a patient, and their appointment,
// starting in a minute (its links are open).
func seedVisit(t testing.TB, ctx context.Context, s *scheduler.Store) (sched, clinUser scheduler.User, clin scheduler.Clinician, pat scheduler.Patient, visit scheduler.Appointment) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var err error
	sched, err = s.CreateUser(ctx, scheduler.System, "mette", "Mette Lund", scheduler.RoleScheduler, "a long password 1")
	must(err)
	clinUser, err = s.CreateUser(ctx, scheduler.System, "anna", "Dr. Anna Holm", scheduler.RoleClinician, "a long password 2")
	must(err)
	clin, err = s.CreateClinician(ctx, sched.Actor(), scheduler.Clinician{Name: "Dr. Anna Holm", Zone: scheduler.DefaultZone, UserID: clinUser.ID})
	must(err)
	av := scheduler.Availability{ClinicianID: clin.ID, Zone: clin.Zone}
	for d := time.Sunday; d <= time.Saturday; d++ {
		av.Rules = append(av.Rules, scheduler.WeeklyRule{Weekday: d, Start: 0, End: scheduler.Clock(24, 0)})
	}
	_, err = s.PutAvailability(ctx, sched.Actor(), clin.ID, av)
	must(err)
	pat, err = s.CreatePatient(ctx, sched.Actor(), scheduler.Patient{Name: "Karen Jensen"})
	must(err)
	b, err := s.Book(ctx, sched.Actor(), scheduler.BookRequest{ClinicianID: clin.ID, PatientID: pat.ID,
		Start: time.Now().Add(time.Minute).Truncate(time.Minute), Duration: 20 * time.Minute}, time.Now())
	must(err)
	return sched, clinUser, clin, pat, b.Appointment
}
