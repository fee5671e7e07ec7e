package signaling

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// readChat returns the messages of the next chat frame, and its envelope.
func (c *client) readChat() (Chat, Envelope) {
	c.t.Helper()
	env := c.read(TypeChat)
	var ch Chat
	if err := json.Unmarshal(env.Payload, &ch); err != nil {
		c.t.Fatal(err)
	}
	return ch, env
}

// readOneChat reads the next chat frame and checks that it carries one
// message with text and seq.
func (c *client) readOneChat(text string, seq int64, mine bool) ChatMessage {
	c.t.Helper()
	ch, _ := c.readChat()
	if len(ch.Messages) != 1 {
		c.t.Fatalf("chat frame with %d messages, want 1: %+v", len(ch.Messages), ch)
	}
	m := ch.Messages[0]
	if m.Text != text || m.Seq != seq || m.Mine != mine || m.ID == "" || m.At.IsZero() {
		c.t.Fatalf("chat message %+v, want text %q seq %d mine %v with id and time", m, text, seq, mine)
	}
	return m
}

func TestChatBothWaysAcrossAReconnect(t *testing.T) {
	ts := newTestServer(t, Config{GracePeriod: 30 * time.Second})
	tok := ts.token(RolePatient, "p", "a")
	p := ts.mustDial("a", tok)
	pj := p.join()
	c := ts.mustDial("a", ts.token(RoleClinician, "c", ""))
	c.join()

	id := p.send(TypeChat, ChatSend{ClientID: "p-1", Text: "Jeg kan ikke høre dig", Phrase: "cannot-hear"})
	// The sender's copy is its receipt, under the id of what it sent.
	if ch, env := p.readChat(); env.ID != id || len(ch.Messages) != 1 || ch.Messages[0].Seq != 1 || !ch.Messages[0].Mine {
		t.Fatalf("the receipt: %+v (ref %q, want %q)", ch, env.ID, id)
	}
	m := c.readOneChat("Jeg kan ikke høre dig", 1, false)
	if m.Phrase != "cannot-hear" || m.Role != RolePatient || m.Name != "p" {
		t.Fatalf("the clinician got %+v", m)
	}
	c.send(TypeChat, ChatSend{ClientID: "c-1", Text: "Metoprolol: M-E-T-O-P-R-O-L-O-L"})
	c.readOneChat("Metoprolol: M-E-T-O-P-R-O-L-O-L", 2, true)
	p.readOneChat("Metoprolol: M-E-T-O-P-R-O-L-O-L", 2, false)

	// The patient's network drops; the clinician writes twice meanwhile.
	p.ws.UnderlyingConn().Close()
	c.waitParticipants(func(ps []Participant) bool {
		q, ok := findParticipant(ps, pj.ParticipantID)
		return ok && q.State == StateReconnecting
	})
	c.send(TypeChat, ChatSend{ClientID: "c-2", Text: "Er du der?"})
	c.readOneChat("Er du der?", 3, true)
	c.send(TypeChat, ChatSend{ClientID: "c-3", Text: "Jeg ringer dig op."})
	c.readOneChat("Jeg ringer dig op.", 4, true)

	// Back within the grace period: the page asks for what it missed, in
	// order, and sends again its message that had no receipt, which is
	// filed once.
	p2 := ts.mustDial("a", tok)
	p2.send(TypeResume, Resume{ResumeToken: pj.ResumeToken})
	p2.read(TypeJoined)
	sync := p2.send(TypeChatSync, ChatSync{After: 2})
	ch, env := p2.readChat()
	if !ch.History || env.ID != sync || len(ch.Messages) != 2 ||
		ch.Messages[0].Seq != 3 || ch.Messages[1].Seq != 4 || ch.Messages[1].Text != "Jeg ringer dig op." {
		t.Fatalf("catching up: %+v (ref %q)", ch, env.ID)
	}
	p2.send(TypeChat, ChatSend{ClientID: "p-1", Text: "Jeg kan ikke høre dig", Phrase: "cannot-hear"})
	p2.readOneChat("Jeg kan ikke høre dig", 1, true)
	p2.send(TypeChat, ChatSend{ClientID: "p-2", Text: "Nu virker det"})
	p2.readOneChat("Nu virker det", 5, true)
	// The clinician got the new one, not the one sent twice.
	c.readOneChat("Nu virker det", 5, false)

	// A reload (a fresh join) reads everything, and knows its own.
	p3 := ts.mustDial("a", tok)
	p3.join()
	p3.send(TypeChatSync, ChatSync{})
	ch, _ = p3.readChat()
	if len(ch.Messages) != 5 {
		t.Fatalf("after a reload: %d messages, want 5", len(ch.Messages))
	}
	for i, m := range ch.Messages {
		if m.Seq != int64(i+1) {
			t.Fatalf("message %d has seq %d: out of order", i, m.Seq)
		}
		if want := m.Role == RolePatient; m.Mine != want {
			t.Fatalf("message %d (%s) mine=%v", m.Seq, m.Role, m.Mine)
		}
	}
	// Nothing new: an empty answer, so the page knows it is up to date.
	p3.send(TypeChatSync, ChatSync{After: 5})
	if ch, _ := p3.readChat(); !ch.History || len(ch.Messages) != 0 {
		t.Fatalf("nothing new: %+v", ch)
	}
}

func TestChatBadInput(t *testing.T) {
	ts := newTestServer(t, Config{})
	p := ts.mustDial("a", ts.token(RolePatient, "p", "a"))

	// Before joining.
	id := p.send(TypeChat, ChatSend{ClientID: "x", Text: "hej"})
	p.readError(CodeNotJoined, id)
	p.join()
	for _, tc := range []struct {
		name    string
		payload any
	}{
		{"no client id", ChatSend{Text: "hej"}},
		{"a long client id", ChatSend{ClientID: strings.Repeat("x", 65), Text: "hej"}},
		{"empty text", ChatSend{ClientID: "1", Text: "  \n "}},
		{"too long", ChatSend{ClientID: "1", Text: strings.Repeat("æ", MaxChatText+1)}},
		{"a control character", ChatSend{ClientID: "1", Text: "hej\x1b[2J"}},
		{"an unknown phrase", ChatSend{ClientID: "1", Text: "hej", Phrase: "call-112"}},
		{"not an object", "hej"},
		{"a negative sync", nil},
	} {
		typ := TypeChat
		if tc.name == "a negative sync" {
			typ, tc.payload = TypeChatSync, ChatSync{After: -1}
		}
		id := p.send(typ, tc.payload)
		e := p.readError(CodeBadPayload, id)
		t.Logf("%s: %s", tc.name, e.Message)
	}
	// The session goes on, and the longest message is taken.
	p.send(TypeChat, ChatSend{ClientID: "1", Text: strings.Repeat("æ", MaxChatText)})
	p.readOneChat(strings.Repeat("æ", MaxChatText), 1, true)
}

func TestChatIsBounded(t *testing.T) {
	ts := newTestServer(t, Config{MessageRate: 10000, MessageBurst: 10000})
	p := ts.mustDial("a", ts.token(RolePatient, "p", "a"))
	p.join()
	for i := 1; i <= MaxChatMessages; i++ {
		p.send(TypeChat, ChatSend{ClientID: fmt.Sprint(i), Text: fmt.Sprint("message ", i)})
		p.readOneChat(fmt.Sprint("message ", i), int64(i), true)
	}
	id := p.send(TypeChat, ChatSend{ClientID: "one more", Text: "one more"})
	p.readError(CodeRateLimited, id)
	// A message sent before is still answered (its receipt), not refused.
	p.send(TypeChat, ChatSend{ClientID: "7", Text: "message 7"})
	p.readOneChat("message 7", 7, true)
}

// testChatLog files chat messages as the clinic's records do, in memory.
type testChatLog struct {
	mu    sync.Mutex
	appts map[string][]ChatMessage
	fail  bool
	calls int
}

func (l *testChatLog) AddChat(_ context.Context, room string, by *Claims, m ChatMessage) (ChatMessage, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	ms, ok := l.appts[room]
	if !ok {
		return ChatMessage{}, ErrNoVisit
	}
	if l.fail {
		return ChatMessage{}, fmt.Errorf("records unreachable")
	}
	for _, o := range ms {
		if o.Sender == by.Subject && o.Role == by.Role && o.ClientID == m.ClientID {
			return o, nil
		}
	}
	m.ID, m.Seq, m.At = fmt.Sprint("m", len(ms)+1), int64(len(ms)+1), time.Now().UTC()
	l.appts[room] = append(ms, m)
	return m, nil
}

func (l *testChatLog) Chat(_ context.Context, room string) ([]ChatMessage, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ms, ok := l.appts[room]
	if !ok {
		return nil, ErrNoVisit
	}
	return append([]ChatMessage(nil), ms...), nil
}

func TestChatKeptWithTheVisit(t *testing.T) {
	visits := newTestVisits(map[string]string{"appt-1": WindowOpen})
	log := &testChatLog{appts: map[string][]ChatMessage{"appt-1": nil}}
	ts := newTestServer(t, Config{Visits: visits, Chat: log})

	// A patient in the waiting room writes; the clinician reads it on joining.
	pat := ts.mustDial("appt-1", ts.apptToken(RolePatient, "p", "appt-1"))
	if j := pat.join(); !j.Waiting {
		t.Fatal("the patient is not in the waiting room")
	}
	pat.send(TypeChat, ChatSend{ClientID: "p-1", Text: "Mit kamera virker ikke"})
	pat.readOneChat("Mit kamera virker ikke", 1, true)
	clin := ts.mustDial("appt-1", ts.apptToken(RoleClinician, testPractitioner, ""))
	clin.join()
	clin.send(TypeChatSync, ChatSync{})
	if ch, _ := clin.readChat(); len(ch.Messages) != 1 || ch.Messages[0].Text != "Mit kamera virker ikke" {
		t.Fatalf("the clinician's catch-up: %+v", ch)
	}

	// The records fail: the message is refused, not lost silently, and the
	// page's second try (same client id) is filed once.
	log.mu.Lock()
	log.fail = true
	log.mu.Unlock()
	id := clin.send(TypeChat, ChatSend{ClientID: "c-1", Text: "Prøv at genindlæse siden"})
	clin.readError(CodeInternal, id)
	log.mu.Lock()
	log.fail = false
	log.mu.Unlock()
	clin.send(TypeChat, ChatSend{ClientID: "c-1", Text: "Prøv at genindlæse siden"})
	clin.readOneChat("Prøv at genindlæse siden", 2, true)
	pat.readOneChat("Prøv at genindlæse siden", 2, false)

	// Everyone leaves: the room closes. Opened again, it reads the chat back.
	clin.send(TypeLeave, Leave{})
	pat.send(TypeLeave, Leave{})
	deadline := time.Now().Add(5 * time.Second)
	for ts.srv.Hosts("appt-1") {
		if time.Now().After(deadline) {
			t.Fatal("the room did not close")
		}
		time.Sleep(10 * time.Millisecond)
	}
	again := ts.mustDial("appt-1", ts.apptToken(RolePatient, "p", "appt-1"))
	again.join()
	again.send(TypeChatSync, ChatSync{})
	ch, _ := again.readChat()
	if len(ch.Messages) != 2 || !ch.Messages[0].Mine || ch.Messages[1].Mine || ch.Messages[1].Name != testPractitioner {
		t.Fatalf("the reopened room's chat: %+v", ch)
	}
	log.mu.Lock()
	stored := len(log.appts["appt-1"])
	log.mu.Unlock()
	if stored != 2 {
		t.Fatalf("%d messages filed, want 2", stored)
	}
}
