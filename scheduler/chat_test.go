package scheduler

import (
	"strconv"
	"strings"
	"testing"
)

func testVisitChat(t *testing.T, f *storeFixture) {
	s, ctx := f.s, f.ctx
	u := f.signedInClinician("chat.lund", "Dr. Lund")
	a := f.mustBook("2026-06-02T10:00:00+02:00")
	own := Actor{ID: u.ID, Role: RoleClinician}
	patient := Actor{ID: f.pat.ID, Role: RolePatient}
	relative := Actor{ID: "rel-1", Role: RoleRelative}

	before := auditCount(t, f)
	m1 := stMust(s.AddChat(ctx, patient, a.ID, ChatMessage{SenderName: "Karen", ClientID: "p-1", Text: "Jeg kan ikke høre dig", Phrase: "cannot-hear"}))(t)
	m2 := stMust(s.AddChat(ctx, own, a.ID, ChatMessage{SenderName: "Dr. Lund", ClientID: "p-1", Text: "Metoprolol"}))(t)
	m3 := stMust(s.AddChat(ctx, relative, a.ID, ChatMessage{SenderName: "Bo", ClientID: "r-1", Text: "Jeg er hendes søn"}))(t)
	if m1.Seq != 1 || m2.Seq != 2 || m3.Seq != 3 || m1.ID == "" || m1.At.IsZero() || m2.SenderRole != RoleClinician {
		t.Fatalf("filed %+v %+v %+v: want seq 1, 2, 3 (the same client id from two senders is two messages)", m1, m2, m3)
	}
	// Sent again after a reconnect: answered as filed, nothing written.
	again := stMust(s.AddChat(ctx, patient, a.ID, ChatMessage{SenderName: "Karen", ClientID: "p-1", Text: "Jeg kan ikke høre dig"}))(t)
	if again.ID != m1.ID || again.Seq != 1 {
		t.Fatalf("sent twice: %+v, want the first %+v", again, m1)
	}
	if got := auditCount(t, f) - before; got != 3 {
		t.Fatalf("%d audit rows for three messages, want 3", got)
	}

	// The room reads it back (not audited); the clinician reads it (audited).
	before = auditCount(t, f)
	ms := stMust(s.Chat(ctx, System, a.ID))(t)
	if len(ms) != 3 || ms[0].Text != "Jeg kan ikke høre dig" || ms[0].Phrase != "cannot-hear" || ms[0].SenderID != f.pat.ID || ms[2].SenderName != "Bo" {
		t.Fatalf("the chat: %+v", ms)
	}
	if auditCount(t, f) != before {
		t.Fatal("the room's own read wrote an audit row")
	}
	if ms := stMust(s.Chat(ctx, own, a.ID))(t); len(ms) != 3 || !ms[1].At.Equal(m2.At) {
		t.Fatalf("the clinician reads %+v", ms)
	}
	if auditCount(t, f) != before+1 {
		t.Fatal("the clinician's read was not audited")
	}

	// Nobody else reads or writes it.
	_, err := s.Chat(ctx, f.admin, a.ID)
	stErr(t, err, ErrForbidden, "clinician reads")
	_, err = s.Chat(ctx, f.staff, a.ID)
	stErr(t, err, ErrForbidden, "clinician reads")
	_, err = s.Chat(ctx, Actor{ID: "user-other", Role: RoleClinician}, a.ID)
	stErr(t, err, ErrForbidden, "another clinician's")
	_, err = s.AddChat(ctx, Actor{ID: "patient-other", Role: RolePatient}, a.ID, ChatMessage{ClientID: "x", Text: "hej"})
	stErr(t, err, ErrNotFound, "no appointment")
	_, err = s.AddChat(ctx, Actor{ID: "user-other", Role: RoleClinician}, a.ID, ChatMessage{ClientID: "x", Text: "hej"})
	stErr(t, err, ErrForbidden, "another clinician's")
	_, err = s.AddChat(ctx, Actor{ID: "gw", Role: "gateway"}, a.ID, ChatMessage{ClientID: "x", Text: "hej"})
	stErr(t, err, ErrForbidden, "does not write")
	_, err = s.AddChat(ctx, patient, "no-such", ChatMessage{ClientID: "x", Text: "hej"})
	stErr(t, err, ErrNotFound, "no appointment")
	_, err = s.AddChat(ctx, patient, a.ID, ChatMessage{ClientID: "x", Text: strings.Repeat("x", maxChatText+1)})
	stErr(t, err, ErrUnprocessable, "text")
	_, err = s.AddChat(ctx, patient, a.ID, ChatMessage{Text: "hej"})
	stErr(t, err, ErrUnprocessable, "client id")

	// The chat is bounded.
	b := f.mustBook("2026-06-03T10:00:00+02:00")
	for i := range maxChatMessages {
		stMust(s.AddChat(ctx, patient, b.ID, ChatMessage{ClientID: "m" + strconv.Itoa(i), Text: "x"}))(t)
	}
	_, err = s.AddChat(ctx, patient, b.ID, ChatMessage{ClientID: "one more", Text: "x"})
	stErr(t, err, ErrConflict, "full")
}
