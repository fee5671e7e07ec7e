package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"

	"vclinic/internal/notify/notifytest"
	"vclinic/internal/records"
	"vclinic/internal/records/recordstest"
	"vclinic/scheduler"
	"vclinic/signaling"
)

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// received is a mail as the patient's mail client reads it.
type received struct {
	to, subject, text string
	cal               *ics.Calendar
	method            string
}

func readMail(t *testing.T, r notifytest.Received) received {
	t.Helper()
	m, err := r.Parse()
	if err != nil {
		t.Fatal(err)
	}
	out := received{to: r.To[0], subject: m.Subject, text: m.Text, method: m.Method}
	if m.Calendar != "" {
		if out.cal, err = ics.ParseCalendar(strings.NewReader(m.Calendar)); err != nil {
			t.Fatalf("the calendar part does not parse: %v\n%s", err, m.Calendar)
		}
	}
	return out
}

// calMethod, uid, sequence and start of a parsed calendar object.
func calFacts(c *ics.Calendar) (method, uid, seq, start string) {
	for _, p := range c.CalendarProperties {
		if p.IANAToken == "METHOD" {
			method = p.Value
		}
	}
	ev := c.Events()[0]
	get := func(p ics.ComponentProperty) string {
		if x := ev.GetProperty(p); x != nil {
			return x.Value
		}
		return ""
	}
	return method, get(ics.ComponentPropertyUniqueId), get(ics.ComponentPropertySequence), get(ics.ComponentPropertyDtStart)
}

// messagingNode is one node's store and outbox on the shared records.
type messagingNode struct {
	store  *scheduler.Store
	outbox *scheduler.Outbox
}

// TestMessagesReachPatients: a real SMTP server and a test SMS provider get
// the invitation, the move, the reminders and the cancellation, in Danish,
// with the calendar object inside; reminders go out once across two nodes
// and a restart, never for a cancelled visit.
func TestMessagesReachPatients(t *testing.T) {
	for _, b := range recordstest.Backends() {
		t.Run(b.Name, func(t *testing.T) { testMessages(t, b) })
	}
}

func testMessages(t *testing.T, b recordstest.Backend) {
	ctx := context.Background()
	smtpSrv := notifytest.Start(t, notifytest.StartTLS, "clinic", "mail password")
	dir := t.TempDir()
	pw := filepath.Join(dir, "smtp-password")
	tmpl := filepath.Join(dir, "sms.tmpl")
	auth := filepath.Join(dir, "sms-auth")
	for f, v := range map[string]string{pw: "mail password\n", auth: "Bearer sms-key\n",
		tmpl: `{"to":{{json .To}},"text":{{json .Text}},"ref":{{json .ID}}}`} {
		if err := os.WriteFile(f, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var smsMu sync.Mutex
	var sms []map[string]string
	provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]string
		if r.Header.Get("Authorization") != "Bearer sms-key" || json.NewDecoder(r.Body).Decode(&m) != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		smsMu.Lock()
		sms = append(sms, m)
		smsMu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(provider.Close)
	cfg := serveConfig{SMTP: "smtp://clinic@" + smtpSrv.Addr, SMTPPassword: pw, SMSURL: provider.URL, SMSTemplate: tmpl,
		SMSAuthFile: auth, SMSContentType: "application/json", CalendarEmail: "booking@clinic.example.dk"}
	cour, err := newCourier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cour.mail.TLS = &tls.Config{RootCAs: smtpSrv.Roots}
	keys, err := signaling.OpenKeyring(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	issuer := tokenIssuer{keys: keys, base: "https://clinic.example.dk"}
	cph, _ := time.LoadLocation(scheduler.DefaultZone)
	clock := &fakeClock{t: time.Date(2027, 1, 11, 8, 0, 0, 0, cph)} // Monday
	rc := b.Config(t, records.Config{MaxConns: 8})
	key, err := scheduler.NewCPRKey(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	open := func() messagingNode {
		db, trail := recordstest.OpenAt(t, rc, clock.now)
		s, err := scheduler.NewStore(ctx, db, trail, scheduler.Config{Clock: clock.now, CPRKey: key, Channels: cour.channels()}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return messagingNode{s, &scheduler.Outbox{Store: s, Courier: cour, Issuer: issuer, From: cfg.CalendarEmail,
			Log: slog.New(slog.DiscardHandler)}}
	}
	a, bnode := open(), open() // two nodes on one database
	s := a.store
	if err := s.SeedSettings(ctx, "da"); err != nil {
		t.Fatal(err)
	}
	st, _ := s.Settings(ctx)
	st.Name, st.Phone = "Medicinsk Ambulatorium", "+4570112233"
	if _, err := s.PutSettings(ctx, scheduler.System, st); err != nil {
		t.Fatal(err)
	}
	sched := scheduler.Actor{ID: "u-sched", Role: scheduler.RoleScheduler}
	clin, err := s.CreateClinician(ctx, sched, scheduler.Clinician{Name: "Dr. Anna Holm", Zone: scheduler.DefaultZone})
	if err != nil {
		t.Fatal(err)
	}
	av := scheduler.Availability{ClinicianID: clin.ID, Zone: clin.Zone}
	for d := time.Monday; d <= time.Friday; d++ {
		av.Rules = append(av.Rules, scheduler.WeeklyRule{Weekday: d, Start: scheduler.Clock(8, 0), End: scheduler.Clock(16, 0)})
	}
	if _, err := s.PutAvailability(ctx, sched, clin.ID, av); err != nil {
		t.Fatal(err)
	}
	pat, err := s.CreatePatient(ctx, sched, scheduler.Patient{Name: "Karen Jensen", Email: "karen@example.dk", Phone: "20 00 00 01"})
	if err != nil {
		t.Fatal(err)
	}
	// drain sends what is queued, from both nodes at once.
	drain := func() {
		t.Helper()
		var wg sync.WaitGroup
		for _, n := range []messagingNode{a, bnode} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					sent, err := n.outbox.SendOne(ctx)
					if err != nil {
						t.Error(err)
						return
					}
					if !sent {
						return
					}
				}
			}()
		}
		wg.Wait()
	}
	smsCount := func() int { smsMu.Lock(); defer smsMu.Unlock(); return len(sms) }
	lastSMS := func() map[string]string { smsMu.Lock(); defer smsMu.Unlock(); return sms[len(sms)-1] }
	mails := 0
	next := func(kind string) received {
		t.Helper()
		got := smtpSrv.Wait(mails+1, 5*time.Second)
		if len(got) != mails+1 {
			t.Fatalf("%s: %d mails, want %d", kind, len(got), mails+1)
		}
		mails++
		return readMail(t, got[mails-1])
	}

	// The invitation.
	booked, err := s.Book(ctx, sched, scheduler.BookRequest{ClinicianID: clin.ID, PatientID: pat.ID, Duration: 20 * time.Minute,
		Start: time.Date(2027, 1, 12, 10, 0, 0, 0, cph)}, clock.now())
	if err != nil {
		t.Fatal(err)
	}
	drain()
	inv := next("invitation")
	if inv.to != "karen@example.dk" || inv.subject != "Videokonsultation tirsdag den 12. januar kl. 10.00" ||
		!strings.Contains(inv.text, "Du har en videokonsultation hos Medicinsk Ambulatorium tirsdag den 12. januar kl. 10.00") ||
		!strings.Contains(inv.text, "https://clinic.example.dk/visit/"+booked.ID+"#t=") || !strings.Contains(inv.text, "&lang=da") ||
		!strings.Contains(inv.text, "+4570112233") {
		t.Errorf("invitation: %+v", inv)
	}
	if m, uid, seq, start := calFacts(inv.cal); m != "REQUEST" || inv.method != "REQUEST" || uid != booked.ID+"@vclinic" || seq != "0" || start != "20270112T090000Z" {
		t.Errorf("invitation's calendar object: %s %s %s %s (part method %s)", m, uid, seq, start, inv.method)
	}
	// The calendar entry speaks Danish too, and carries the link.
	ev := inv.cal.Events()[0]
	if sum := ev.GetProperty(ics.ComponentPropertySummary).Value; sum != "Videokonsultation med Dr. Anna Holm" {
		t.Errorf("SUMMARY %q", sum)
	}
	if desc := ics.FromText(ev.GetProperty(ics.ComponentPropertyDescription).Value); !strings.Contains(desc, "Deltag her: https://clinic.example.dk/visit/"+booked.ID) {
		t.Errorf("DESCRIPTION %q", desc)
	}
	if smsCount() != 1 || lastSMS()["to"] != "+4520000001" || !strings.Contains(lastSMS()["text"], "#t=") {
		t.Errorf("invitation SMS: %v", sms)
	}

	// The move: the same UID, the next SEQUENCE.
	if _, err := s.Reschedule(ctx, sched, booked.ID, time.Date(2027, 1, 12, 14, 0, 0, 0, cph), 0, clock.now()); err != nil {
		t.Fatal(err)
	}
	drain()
	moved := next("move")
	if m, uid, seq, start := calFacts(moved.cal); m != "REQUEST" || uid != booked.ID+"@vclinic" || seq != "1" || start != "20270112T130000Z" ||
		!strings.Contains(moved.text, "flyttet til tirsdag den 12. januar kl. 14.00") {
		t.Errorf("move: %s %s %s %s, %q", m, uid, seq, start, moved.text)
	}

	// The clinician invites an interpreter, in English, by e-mail and SMS:
	// the messages name neither the patient nor carry a calendar; the link
	// is the interpreter's own, minted when sent.
	clinUser := scheduler.Actor{ID: "u-clin", Role: scheduler.RoleClinician}
	if _, err := s.InviteGuest(ctx, clinUser, booked.ID, scheduler.GuestInvite{Role: "interpreter", Name: "Ali Yilmaz",
		Email: "ali@example.dk"}, scheduler.LinkPolicy{}); err == nil || !strings.Contains(scheduler.Reason(err), "another clinician") {
		t.Errorf("another clinician invites: %v", err)
	}
	if _, err := s.InviteGuest(ctx, sched, booked.ID, scheduler.GuestInvite{Role: "interpreter", Name: "Ali Yilmaz"}, scheduler.LinkPolicy{}); err == nil ||
		!strings.Contains(scheduler.Reason(err), "phone, email") {
		t.Errorf("an invitation without a way to send it: %v", err)
	}
	patActor := scheduler.Actor{ID: pat.ID, Role: scheduler.RolePatient}
	if _, err := s.InviteGuest(ctx, patActor, booked.ID, scheduler.GuestInvite{Role: "relative", Name: "Bo", Phone: "20 00 00 09"},
		scheduler.LinkPolicy{}); err == nil || !strings.Contains(scheduler.Reason(err), "does not let patients") {
		t.Errorf("a patient invites where the clinic does not allow it: %v", err)
	}
	smsBefore := smsCount()
	queued, err := s.InviteGuest(ctx, sched, booked.ID, scheduler.GuestInvite{Role: "interpreter", Name: "Ali Yilmaz", Language: "en",
		Email: "ali@example.dk", Phone: "+45 20 00 00 08"}, scheduler.LinkPolicy{})
	if err != nil || len(queued) != 2 || queued[0].GuestRole != "interpreter" || strings.Contains(queued[0].Text, "#t=") {
		t.Fatalf("the interpreter's invitation: %+v (%v)", queued, err)
	}
	drain()
	guest := next("the interpreter's invitation")
	if guest.to != "ali@example.dk" || guest.cal != nil || !strings.HasPrefix(guest.subject, "Invitation: video consultation on Tuesday 12 January at 14:00") ||
		!strings.Contains(guest.text, "as the interpreter") || strings.Contains(guest.text, "Karen") || !strings.Contains(guest.text, "&lang=en") {
		t.Errorf("the interpreter's mail: %+v", guest)
	}
	_, frag, _ := strings.Cut(guest.text, "#t=")
	tok, _, _ := strings.Cut(frag, "&")
	if c, err := keys.Verify(tok); err != nil || c.Role != "interpreter" || c.Name != "Ali Yilmaz" || c.Appt != booked.ID || c.Subject == pat.ID {
		t.Errorf("the interpreter's link: %+v (%v)", c, err)
	}
	if smsCount() != smsBefore+1 || lastSMS()["to"] != "+4520000008" || !strings.Contains(lastSMS()["text"], "as the interpreter") {
		t.Errorf("the interpreter's SMS: %v", lastSMS())
	}
	// Patients may invite when the clinic lets them.
	st, _ = s.Settings(ctx)
	st.GuestsByPatient = true
	if st, err = s.PutSettings(ctx, scheduler.System, st); err != nil {
		t.Fatal(err)
	}
	if q, err := s.InviteGuest(ctx, patActor, booked.ID, scheduler.GuestInvite{Role: "relative", Name: "Bo Jensen", Phone: "20 00 00 09"},
		scheduler.LinkPolicy{}); err != nil || len(q) != 1 || q[0].Language != "da" {
		t.Errorf("the patient invites a relative: %+v (%v)", q, err)
	}
	drain()
	if smsCount() != smsBefore+2 || !strings.Contains(lastSMS()["text"], "Du er inviteret med som pårørende") {
		t.Errorf("the relative's SMS: %v", lastSMS())
	}

	// 24 hours before: one reminder, though both nodes look, and none
	// again after a restart.
	clock.set(time.Date(2027, 1, 11, 14, 0, 30, 0, cph))
	var wg sync.WaitGroup
	var mu sync.Mutex
	planned := 0
	for _, n := range []messagingNode{a, bnode} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := n.store.PlanReminders(ctx)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			planned += k
			mu.Unlock()
		}()
	}
	wg.Wait()
	if planned != 1 {
		t.Errorf("24 h before, the two nodes queued %d reminders, want 1", planned)
	}
	restarted := open()
	if k, err := restarted.store.PlanReminders(ctx); err != nil || k != 0 {
		t.Errorf("after a restart: %d reminders queued again (%v)", k, err)
	}
	drain()
	rem := next("reminder")
	if !strings.HasPrefix(rem.subject, "Påmindelse: videokonsultation tirsdag den 12. januar kl. 14.00") || rem.cal != nil ||
		!strings.Contains(rem.text, "#t=") {
		t.Errorf("reminder: %+v", rem)
	}
	// An hour before: the second.
	clock.set(time.Date(2027, 1, 12, 13, 0, 5, 0, cph))
	if k, err := bnode.store.PlanReminders(ctx); err != nil || k != 1 {
		t.Errorf("1 h before: %d (%v)", k, err)
	}
	if k, _ := a.store.PlanReminders(ctx); k != 0 {
		t.Errorf("1 h before, again: %d", k)
	}
	drain()
	next("second reminder")

	// The cancellation: CANCEL, the next SEQUENCE; no reminder after it.
	if _, err := s.SetStatus(ctx, sched, booked.ID, scheduler.StatusCancelled, "ill"); err != nil {
		t.Fatal(err)
	}
	drain()
	cancel := next("cancellation")
	if m, uid, seq, _ := calFacts(cancel.cal); m != "CANCEL" || cancel.method != "CANCEL" || uid != booked.ID+"@vclinic" || seq != "2" ||
		strings.Contains(cancel.text, "#t=") || !strings.Contains(cancel.text, "aflyst") {
		t.Errorf("cancellation: %s %s %s %q", m, uid, seq, cancel.text)
	}
	// A visit cancelled before its reminders' time gets none.
	clock.set(time.Date(2027, 1, 12, 15, 0, 0, 0, cph))
	other, err := s.Book(ctx, sched, scheduler.BookRequest{ClinicianID: clin.ID, PatientID: pat.ID, Duration: 20 * time.Minute,
		Start: time.Date(2027, 1, 14, 9, 0, 0, 0, cph)}, clock.now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetStatus(ctx, sched, other.ID, scheduler.StatusCancelled, ""); err != nil {
		t.Fatal(err)
	}
	drain()
	// Cancelled before its invitation went out: nothing goes out.
	if kept, err := s.Messages(ctx, sched, other.ID); err != nil || len(kept) != 2 || kept[0].State != scheduler.MessageFailed ||
		!strings.Contains(kept[0].Detail, "left the calendar first") {
		t.Errorf("the messages of a visit cancelled at once: %+v (%v)", kept, err)
	}
	clock.set(time.Date(2027, 1, 13, 9, 0, 30, 0, cph))
	if k, err := s.PlanReminders(ctx); err != nil || k != 0 {
		t.Errorf("a cancelled visit: %d reminders (%v)", k, err)
	}

	// Every message is kept for staff, with [link] for the link.
	ms, err := s.Messages(ctx, sched, booked.ID)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, m := range ms {
		k := m.Kind + "/" + m.Channel
		lang := "da"
		if m.GuestRole != "" {
			k = m.GuestRole + " " + k
			if m.GuestRole == "interpreter" {
				lang = "en"
			}
		}
		kinds[k]++
		if m.State != scheduler.MessageSent || strings.Contains(m.Text, "#t=") || m.Language != lang {
			t.Errorf("kept message %+v", m)
		}
	}
	want := map[string]int{"invitation/email": 1, "invitation/sms": 1, "moved/email": 1, "moved/sms": 1,
		"interpreter invitation/email": 1, "interpreter invitation/sms": 1, "relative invitation/sms": 1,
		"reminder/email": 2, "reminder/sms": 2, "cancellation/email": 1, "cancellation/sms": 1}
	for k, n := range want {
		if kinds[k] != n {
			t.Errorf("kept %v, want %v", kinds, want)
			break
		}
	}
	if got := len(smtpSrv.Received()); got != mails {
		t.Errorf("%d mails in all, want %d", got, mails)
	}
}
