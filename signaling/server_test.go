package signaling

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"vclinic/sfu"
)

type testServer struct {
	t    *testing.T
	keys *Keyring
	srv  *Server
	http *httptest.Server
}

func newTestServer(t *testing.T, cfg Config) *testServer {
	t.Helper()
	keys := testKeyring(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	media, err := sfu.New(sfu.Config{UDPPort: 0, TCPPort: -1, ListenIPs: []string{"127.0.0.1"}, IncludeLoopback: true}, log)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(cfg, keys, media, log)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", srv.ServeWS)
	hs := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		hs.Close()
		if err := media.Close(); err != nil {
			t.Errorf("media close: %v", err)
		}
	})
	return &testServer{t: t, keys: keys, srv: srv, http: hs}
}

func (ts *testServer) token(role, sub, room string) string {
	return mustSign(ts.t, ts.keys, TokenRequest{Role: role, Subject: sub, Room: room, Name: sub})
}

// client is a test WebSocket client.
type client struct {
	t    *testing.T
	ws   *websocket.Conn
	next int
}

func (ts *testServer) dial(room, token string, hdr http.Header) (*client, *http.Response, error) {
	url := "ws" + strings.TrimPrefix(ts.http.URL, "http") + "/ws?room=" + room
	if hdr == nil {
		hdr = http.Header{}
	}
	if token != "" {
		hdr.Set("Authorization", "Bearer "+token)
	}
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	ws, resp, err := d.Dial(url, hdr)
	if err != nil {
		return nil, resp, err
	}
	c := &client{t: ts.t, ws: ws}
	ts.t.Cleanup(func() { ws.Close() })
	return c, resp, nil
}

func (ts *testServer) mustDial(room, token string) *client {
	ts.t.Helper()
	c, resp, err := ts.dial(room, token, nil)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		ts.t.Fatalf("dial %s: %v (status %d)", room, err, status)
	}
	return c
}

func (c *client) send(typ string, payload any) string {
	c.t.Helper()
	c.next++
	id := fmt.Sprint(c.next)
	raw, err := json.Marshal(payload)
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendRaw(mustJSON(c.t, Envelope{Type: typ, ID: id, Payload: raw}))
	return id
}

func (c *client) sendRaw(b []byte) {
	c.t.Helper()
	if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// read returns the next envelope of type typ, skipping others (candidates,
// participant lists, offers) that the test does not look at.
func (c *client) read(typ string) Envelope {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_ = c.ws.SetReadDeadline(deadline)
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			c.t.Fatalf("waiting for %s: %v", typ, err)
		}
		var env Envelope
		if err := json.Unmarshal(data, &env); err != nil {
			c.t.Fatalf("server sent invalid JSON %q: %v", data, err)
		}
		if env.Type == typ {
			return env
		}
	}
}

func (c *client) readError(wantCode, wantRef string) Error {
	c.t.Helper()
	env := c.read(TypeError)
	var e Error
	if err := json.Unmarshal(env.Payload, &e); err != nil {
		c.t.Fatal(err)
	}
	if e.Code != wantCode {
		c.t.Fatalf("error code %q (%s), want %q", e.Code, e.Message, wantCode)
	}
	if wantRef != "" && e.Ref != wantRef {
		c.t.Fatalf("error ref %q, want %q", e.Ref, wantRef)
	}
	if e.Message == "" {
		c.t.Fatalf("error %q has no message", e.Code)
	}
	return e
}

func (c *client) join() Joined {
	c.t.Helper()
	c.send(TypeJoin, Join{Version: ProtocolVersion})
	var j Joined
	if err := json.Unmarshal(c.read(TypeJoined).Payload, &j); err != nil {
		c.t.Fatal(err)
	}
	return j
}

// waitParticipants reads participant lists until cond holds.
func (c *client) waitParticipants(cond func([]Participant) bool) []Participant {
	c.t.Helper()
	for {
		var p Participants
		if err := json.Unmarshal(c.read(TypeParticipants).Payload, &p); err != nil {
			c.t.Fatal(err)
		}
		if cond(p.Participants) {
			return p.Participants
		}
	}
}

// alive checks that the connection still answers.
func (c *client) alive() {
	c.t.Helper()
	id := c.send(TypePing, Ping{})
	if env := c.read(TypePong); env.ID != id {
		c.t.Fatalf("pong for %q, want %q", env.ID, id)
	}
}

func TestRefusedBeforeUpgrade(t *testing.T) {
	ts := newTestServer(t, Config{})
	expiredKeys := ts.keys
	past := time.Now().Add(-3 * time.Hour)
	expiredKeys.now = func() time.Time { return past }
	expired := mustSign(t, expiredKeys, TokenRequest{Role: RolePatient, Subject: "p", Room: "a", TTL: time.Hour})
	expiredKeys.now = time.Now
	foreign := mustSign(t, testKeyring(t), TokenRequest{Role: RoleClinician, Subject: "c", TTL: time.Hour})

	tests := []struct {
		name   string
		room   string
		token  string
		origin string
		want   int
	}{
		{"no token", "a", "", "", http.StatusUnauthorized},
		{"garbage token", "a", "garbage", "", http.StatusUnauthorized},
		{"expired", "a", expired, "", http.StatusUnauthorized},
		{"foreign key", "a", foreign, "", http.StatusUnauthorized},
		{"patient of room b", "a", ts.token(RolePatient, "p", "b"), "", http.StatusForbidden},
		{"relative of room b", "a", ts.token(RoleRelative, "r", "b"), "", http.StatusForbidden},
		{"interpreter of room b", "a", ts.token(RoleInterpreter, "i", "b"), "", http.StatusForbidden},
		{"scheduler", "a", ts.token(RoleScheduler, "s", ""), "", http.StatusForbidden},
		{"admin", "a", ts.token(RoleAdmin, "ad", ""), "", http.StatusForbidden},
		{"gateway", "a", ts.token(RoleGateway, "g", ""), "", http.StatusForbidden},
		{"bad room id", "a%2F..", ts.token(RoleClinician, "c", ""), "", http.StatusBadRequest},
		{"foreign origin", "a", ts.token(RoleClinician, "c", ""), "https://evil.example", http.StatusForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hdr := http.Header{}
			if tc.origin != "" {
				hdr.Set("Origin", tc.origin)
			}
			_, resp, err := ts.dial(tc.room, tc.token, hdr)
			if err == nil {
				t.Fatal("upgrade succeeded, want refusal")
			}
			if resp == nil || resp.StatusCode != tc.want {
				got := 0
				if resp != nil {
					got = resp.StatusCode
				}
				t.Fatalf("status %d, want %d", got, tc.want)
			}
		})
	}
	// The right tokens do get in.
	ts.mustDial("a", ts.token(RolePatient, "p", "a")).alive()
	ts.mustDial("b", ts.token(RoleClinician, "c", "")).alive()
}

func TestBadInput(t *testing.T) {
	ts := newTestServer(t, Config{})
	c := ts.mustDial("a", ts.token(RolePatient, "p", "a"))

	c.sendRaw([]byte("{not json"))
	c.readError(CodeBadJSON, "")
	c.sendRaw([]byte(`"a string"`))
	c.readError(CodeBadJSON, "")
	if err := c.ws.WriteMessage(websocket.BinaryMessage, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	c.readError(CodeBadJSON, "")
	id := c.send("teleport", map[string]string{"to": "b"})
	c.readError(CodeUnknownType, id)
	c.sendRaw([]byte(`{"type":"join","id":"j1","payload":{"version":"one"}}`))
	c.readError(CodeBadPayload, "j1")
	id = c.send(TypeJoin, Join{Version: 99})
	c.readError(CodeVersion, id)
	id = c.send(TypeOffer, SDP{PC: PCPublish, SDP: "v=0"})
	c.readError(CodeNotJoined, id)
	id = c.send(TypeCandidate, Candidate{PC: PCPublish, Candidate: &ICECandidate{Candidate: "candidate:1"}})
	c.readError(CodeNotJoined, id)
	id = c.send(TypeOffer, SDP{PC: "sideways", SDP: "v=0"})
	c.readError(CodeBadPayload, id)
	c.alive()

	c.join()
	id = c.send(TypeJoin, Join{Version: ProtocolVersion})
	c.readError(CodeAlreadyJoined, id)
	id = c.send(TypeOffer, SDP{PC: PCPublish, SDP: "this is not SDP"})
	c.readError(CodeBadSDP, id)
	id = c.send(TypeAnswer, SDP{PC: PCPublish, SDP: "v=0"})
	c.readError(CodeBadPayload, id)
	id = c.send(TypeOffer, SDP{PC: PCSubscribe, SDP: "v=0"})
	c.readError(CodeBadPayload, id)
	id = c.send(TypeICERestart, ICERestart{PC: PCPublish})
	c.readError(CodeBadPayload, id)
	c.alive()

	// Another participant joins and sees the first: the room still works.
	d := ts.mustDial("a", ts.token(RoleClinician, "c", ""))
	j := d.join()
	if len(j.Participants) != 2 {
		t.Fatalf("second participant sees %d participants, want 2", len(j.Participants))
	}

	// An oversized frame closes that connection with 1009 and nothing else.
	big := make([]byte, MaxMessageBytes+1)
	for i := range big {
		big[i] = 'x'
	}
	_ = c.ws.WriteMessage(websocket.TextMessage, big)
	_ = c.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, _, err := c.ws.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.CloseMessageTooBig {
			t.Fatalf("after an oversized frame: %v, want close 1009", err)
		}
		break
	}
	d.alive()
}

func TestRateLimit(t *testing.T) {
	ts := newTestServer(t, Config{MessageRate: 1, MessageBurst: 5})
	c := ts.mustDial("a", ts.token(RolePatient, "p", "a"))
	for i := 0; i < 6; i++ {
		c.send(TypePing, Ping{})
	}
	c.readError(CodeRateLimited, "")
}

func TestResumeAfterDrop(t *testing.T) {
	ts := newTestServer(t, Config{GracePeriod: 30 * time.Second})
	tok := ts.token(RolePatient, "p", "a")
	p := ts.mustDial("a", tok)
	pj := p.join()
	c := ts.mustDial("a", ts.token(RoleClinician, "c", ""))
	c.join()

	// The patient's network drops: the clinician sees "reconnecting".
	p.ws.UnderlyingConn().Close()
	c.waitParticipants(func(ps []Participant) bool {
		return len(ps) == 2 && ps[0].ID == pj.ParticipantID && ps[0].State == StateReconnecting
	})

	// A resume with someone else's token fails; with the patient's it works.
	other := ts.mustDial("a", ts.token(RoleRelative, "r", "a"))
	id := other.send(TypeResume, Resume{ResumeToken: pj.ResumeToken})
	other.readError(CodeResumeFailed, id)

	p2 := ts.mustDial("a", tok)
	p2.send(TypeResume, Resume{ResumeToken: pj.ResumeToken})
	var j Joined
	if err := json.Unmarshal(p2.read(TypeJoined).Payload, &j); err != nil {
		t.Fatal(err)
	}
	if !j.Resumed || j.ParticipantID != pj.ParticipantID {
		t.Fatalf("resume: got %+v, want resumed participant %s", j, pj.ParticipantID)
	}
	if j.ResumeToken == pj.ResumeToken {
		t.Fatal("resume token was not rotated")
	}
	c.waitParticipants(func(ps []Participant) bool {
		return len(ps) == 2 && ps[0].ID == pj.ParticipantID && ps[0].State == StateActive
	})
	// The old token is spent.
	p3 := ts.mustDial("a", tok)
	id = p3.send(TypeResume, Resume{ResumeToken: pj.ResumeToken})
	p3.readError(CodeResumeFailed, id)
}

func TestGraceExpires(t *testing.T) {
	ts := newTestServer(t, Config{GracePeriod: 300 * time.Millisecond})
	p := ts.mustDial("a", ts.token(RolePatient, "p", "a"))
	pj := p.join()
	c := ts.mustDial("a", ts.token(RoleClinician, "c", ""))
	c.join()
	p.ws.UnderlyingConn().Close()
	c.waitParticipants(func(ps []Participant) bool { return len(ps) == 1 })

	p2 := ts.mustDial("a", ts.token(RolePatient, "p", "a"))
	id := p2.send(TypeResume, Resume{ResumeToken: pj.ResumeToken})
	p2.readError(CodeResumeFailed, id)
}

func TestSamePersonReplacesOldSession(t *testing.T) {
	ts := newTestServer(t, Config{})
	tok := ts.token(RolePatient, "p", "a")
	first := ts.mustDial("a", tok)
	first.join()
	second := ts.mustDial("a", tok)
	j := second.join()
	if len(j.Participants) != 1 {
		t.Fatalf("%d participants after rejoin, want 1", len(j.Participants))
	}
	var l Leave
	if err := json.Unmarshal(first.read(TypeLeave).Payload, &l); err != nil {
		t.Fatal(err)
	}
	if l.Reason != ReasonReplaced {
		t.Fatalf("leave reason %q, want %q", l.Reason, ReasonReplaced)
	}
	// The room stayed, though its only member was replaced: who joins next
	// meets the second session, not a new room of their own.
	if !ts.srv.Hosts("a") {
		t.Fatal("the room closed when its only member rejoined")
	}
	c := ts.mustDial("a", ts.token(RoleClinician, "c", ""))
	if j := c.join(); len(j.Participants) != 2 {
		t.Fatalf("the next to join sees %d participants, want 2: %+v", len(j.Participants), j.Participants)
	}
}

func TestRoomFull(t *testing.T) {
	ts := newTestServer(t, Config{MaxParticipants: 2})
	ts.mustDial("a", ts.token(RolePatient, "p", "a")).join()
	ts.mustDial("a", ts.token(RoleClinician, "c1", "")).join()
	c := ts.mustDial("a", ts.token(RoleClinician, "c2", ""))
	id := c.send(TypeJoin, Join{Version: ProtocolVersion})
	c.readError(CodeRoomFull, id)
	// Another room is unaffected.
	ts.mustDial("b", ts.token(RoleClinician, "c2", "")).join()
}

// TestBusyRefusesNewRooms: a node past its load (Admit says no) refuses the
// first join of a room with CodeBusy and its reason, and the session goes
// on; the rooms it carries take joins as before; once it has room again,
// so does a new one.
func TestBusyRefusesNewRooms(t *testing.T) {
	var busy atomic.Bool
	ts := newTestServer(t, Config{Admit: func() error {
		if busy.Load() {
			return errors.New("this node is at capacity: 95% CPU")
		}
		return nil
	}})
	ts.mustDial("a", ts.token(RolePatient, "p", "a")).join()
	busy.Store(true)
	ts.mustDial("a", ts.token(RoleClinician, "c1", "")).join()
	c := ts.mustDial("b", ts.token(RoleClinician, "c2", ""))
	id := c.send(TypeJoin, Join{Version: ProtocolVersion})
	if e := c.readError(CodeBusy, id); !strings.Contains(e.Message, "capacity") {
		t.Fatalf("busy without its reason: %+v", e)
	}
	c.alive()
	busy.Store(false)
	c.join()
}

func TestShutdownTellsClients(t *testing.T) {
	ts := newTestServer(t, Config{})
	c := ts.mustDial("a", ts.token(RolePatient, "p", "a"))
	c.join()
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done <- ts.srv.Shutdown(ctx)
	}()
	var l Leave
	if err := json.Unmarshal(c.read(TypeLeave).Payload, &l); err != nil {
		t.Fatal(err)
	}
	if l.Reason != ReasonShutdown {
		t.Fatalf("leave reason %q, want shutdown", l.Reason)
	}
	_, _, err := c.ws.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway {
		t.Fatalf("after shutdown: %v, want close 1001", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

// TestShutdownTimesOutCleanly: a connection still being set up keeps
// Shutdown from draining; when Shutdown's context ends first, it returns the
// context's error and leaves nothing of its own running. Once the
// connection is done, Shutdown drains.
func TestShutdownTimesOutCleanly(t *testing.T) {
	ts := newTestServer(t, Config{})
	entered, release := make(chan struct{}), make(chan struct{})
	ts.srv.upgraded = func() {
		close(entered)
		<-release
	}
	dialed := make(chan error, 1)
	go func() {
		c, _, err := ts.dial("a", ts.token(RolePatient, "p", "a"), nil)
		if err == nil {
			_ = c.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, _, err = c.ws.ReadMessage()
		}
		dialed <- err
	}()
	<-entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := ts.srv.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown with an ended context and a connection being set up: %v", err)
	}
	buf := make([]byte, 1<<20)
	if stacks := string(buf[:runtime.Stack(buf, true)]); strings.Contains(stacks, "(*Server).Shutdown") {
		t.Errorf("a goroutine of Shutdown outlives it:\n%s", stacks)
	}
	close(release)
	var ce *websocket.CloseError
	if err := <-dialed; !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway {
		t.Errorf("the connection set up during shutdown: %v, want close 1001", err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ts.srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown after the connection ended: %v", err)
	}
}

// TestRefusedDuringShutdown: a WebSocket upgraded just as the server shuts
// down is told so (close 1001, "shutdown") and hung up in the request's own
// goroutine, which Shutdown waits for.
func TestRefusedDuringShutdown(t *testing.T) {
	ts := newTestServer(t, Config{})
	shut := make(chan error, 1)
	ts.srv.upgraded = func() {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			shut <- ts.srv.Shutdown(ctx)
		}()
		for !ts.srv.isClosed() {
			runtime.Gosched()
		}
	}
	c := ts.mustDial("a", ts.token(RolePatient, "p", "a"))
	_ = c.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _, err := c.ws.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway || ce.Text != ReasonShutdown {
		t.Fatalf("read after the upgrade: %v, want close 1001 shutdown", err)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if n := ts.srv.Counters().Connections; n != 0 {
		t.Errorf("%d connections open", n)
	}
}

// TestCloseCutsWhatShutdownLeft: after a Shutdown that timed out, Close
// cancels the server's calls, cuts the sockets it holds and returns only
// once nothing of the server runs (here, a connection still being set up).
func TestCloseCutsWhatShutdownLeft(t *testing.T) {
	ts := newTestServer(t, Config{})
	entered, release := make(chan struct{}), make(chan struct{})
	ts.srv.upgraded = func() {
		close(entered)
		<-release
	}
	go func() {
		c, _, err := ts.dial("a", ts.token(RolePatient, "p", "a"), nil)
		if err == nil {
			c.ws.ReadMessage()
		}
	}()
	<-entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := ts.srv.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown: %v", err)
	}
	closed := make(chan struct{})
	go func() {
		ts.srv.Close()
		close(closed)
	}()
	close(release)
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
	if ts.srv.ctx.Err() == nil {
		t.Error("Close left the server's context live")
	}
}

// TestQualityReachesTheOthers: a page's verdict on its own connection, in
// its stats, reaches the others in the participant list, so the clinician
// sees that the patient's connection is weak; a bad verdict is refused and
// changes nothing.
func TestQualityReachesTheOthers(t *testing.T) {
	ts := newTestServer(t, Config{GracePeriod: 30 * time.Second})
	p := ts.mustDial("a", ts.token(RolePatient, "p", "a"))
	pj := p.join()
	c := ts.mustDial("a", ts.token(RoleClinician, "c", ""))
	c.join()
	p.send(TypeStats, Stats{AudioPacketsReceived: 100, Quality: QualityWeak, QualityReasons: []string{QualityLoss}})
	c.waitParticipants(func(ps []Participant) bool {
		for _, x := range ps {
			if x.ID == pj.ParticipantID {
				return x.Quality == QualityWeak && slices.Equal(x.QualityReasons, []string{QualityLoss})
			}
		}
		return false
	})
	id := p.send(TypeStats, Stats{Quality: "superb"})
	p.readError(CodeBadPayload, id)
	p.send(TypeStats, Stats{AudioPacketsReceived: 200, Quality: QualityGood})
	c.waitParticipants(func(ps []Participant) bool {
		for _, x := range ps {
			if x.ID == pj.ParticipantID {
				return x.Quality == QualityGood && len(x.QualityReasons) == 0
			}
		}
		return false
	})
}

// TestUpgradeWhileRecordsUnavailable: when what checks tokens cannot reach
// the clinic's records, the upgrade is refused with 503 and Retry-After,
// which the page retries, not 401, which would send it to sign in.
func TestUpgradeWhileRecordsUnavailable(t *testing.T) {
	ts := newTestServer(t, Config{Authenticator: AuthenticatorFunc(func(*http.Request) (*Claims, error) {
		return nil, fmt.Errorf("%w: connection refused", ErrUnavailable)
	})})
	_, resp, err := ts.dial("r", "any", nil)
	if err == nil || resp == nil {
		t.Fatalf("upgrade: %v, %v; want a refusal", resp, err)
	}
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("upgrade refused with %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}
