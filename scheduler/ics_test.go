package scheduler

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	ics "github.com/arran4/golang-ical"
)

// go test ./scheduler -run ICS -update rewrites the golden files. The flag
// may be shared with other golden tests of the package, so it is looked up
// rather than defined twice.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden files in testdata")
	}
}

func updateGolden() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if updateGolden() {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update to accept):\n got %q\nwant %q", name, got, want)
	}
}

const testLink = "https://clinic.example.dk/visit/ap-7f3c2a#t=eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJwdC0xIn0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"

func inviteFixture() (Appointment, Clinician, Patient) {
	a := Appointment{
		ID: "ap-7f3c2a", ClinicianID: "cl-1", PatientID: "pt-1", TypeID: "video-30",
		Start:  time.Date(2026, 10, 26, 8, 30, 0, 0, time.UTC),
		End:    time.Date(2026, 10, 26, 9, 0, 0, 0, time.UTC),
		Status: StatusBooked, Sequence: 0,
		CreatedAt: time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC),
		UpdatedAt: time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC),
	}
	c := Clinician{ID: "cl-1", Name: "Søren Ærø-Østergaard", Department: "Lungemedicin", Zone: DefaultZone}
	p := Patient{ID: "pt-1", Name: "Anne O'Brien, jr.", Contact: "anne@example.dk", CPR: "0101701234"}
	return a, c, p
}

func TestICSGolden(t *testing.T) {
	a, c, p := inviteFixture()
	// The clinic's settings name it and give its number.
	from := InviteFrom{Email: "booking@clinic.example.dk", Clinic: "Lungemedicinsk Ambulatorium", Phone: "+4570112233"}
	req, err := InviteICS(a, c, p, testLink, MethodRequest, from)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "invite-request.ics", []byte(req))

	a.Status, a.Sequence, a.UpdatedAt = StatusCancelled, 1, time.Date(2026, 10, 20, 14, 5, 9, 0, time.UTC)
	cancel, err := InviteICS(a, c, p, "", MethodCancel, from)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "invite-cancel.ics", []byte(cancel))
}

// TestICSLines checks the content lines against RFC 5545 §3.1: CRLF after
// every line, at most 75 octets without it, folds that unfold to the value.
func TestICSLines(t *testing.T) {
	a, c, p := inviteFixture()
	c.Name = strings.Repeat("Æblegård-Øster ", 8) + "Ågård" // long, and 2-octet runes at every fold
	link := testLink + "&" + strings.Repeat("x", 200)
	out, err := InviteICS(a, c, p, link, MethodRequest, InviteFrom{Email: "booking@clinic.example.dk"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(out, "\r\n") {
		t.Error("the object does not end with CRLF")
	}
	lines := strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n")
	for i, l := range lines {
		if strings.ContainsAny(l, "\r\n") {
			t.Errorf("line %d has a bare CR or LF: %q", i, l)
		}
		if len(l) > 75 {
			t.Errorf("line %d is %d octets: %q", i, len(l), l)
		}
		if !utf8.ValidString(l) {
			t.Errorf("line %d splits a UTF-8 sequence: %q", i, l)
		}
	}
	unfolded := strings.ReplaceAll(strings.ReplaceAll(out, "\r\n ", ""), "\r\n\t", "")
	for _, want := range []string{
		"SUMMARY:Video consultation with " + c.Name + "\r\n",
		"URL:" + link + "\r\n",
		"Join here: " + link + `\n`,
	} {
		if !strings.Contains(unfolded, want) {
			t.Errorf("unfolded object lacks %q", want)
		}
	}

	// And a parser reads back what was written.
	cal, err := ics.ParseCalendar(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	ev := cal.Events()[0]
	if got := ev.GetProperty(ics.ComponentPropertySummary).Value; got != "Video consultation with "+c.Name {
		t.Errorf("SUMMARY parsed as %q", got)
	}
	if got := ev.GetProperty(ics.ComponentPropertyUrl).Value; got != link {
		t.Errorf("URL parsed as %q", got)
	}
	if got := ics.FromText(ev.GetProperty(ics.ComponentPropertyDescription).Value); !strings.Contains(got, "Join here: "+link+"\n") {
		t.Errorf("DESCRIPTION parsed as %q", got)
	}
}

// TestICSLifecycle: the UID stays, SEQUENCE and DTSTAMP follow the changes,
// METHOD and STATUS follow the status.
func TestICSLifecycle(t *testing.T) {
	a, c, p := inviteFixture()
	booked := a
	moved := a
	moved.Start, moved.End = a.Start.Add(24*time.Hour), a.End.Add(24*time.Hour)
	moved.Sequence, moved.UpdatedAt = 1, a.UpdatedAt.Add(48*time.Hour)
	cancelled := moved
	cancelled.Status, cancelled.Sequence, cancelled.UpdatedAt = StatusCancelled, 2, moved.UpdatedAt.Add(time.Hour)

	steps := []struct {
		a                         Appointment
		link, method              string
		sequence, status, dtstart string
	}{
		{booked, testLink, MethodRequest, "0", "CONFIRMED", "20261026T083000Z"},
		{moved, testLink, MethodRequest, "1", "CONFIRMED", "20261027T083000Z"},
		{cancelled, "", MethodCancel, "2", "CANCELLED", "20261027T083000Z"},
	}
	var stamps []string
	for i, s := range steps {
		out, err := InviteICS(s.a, c, p, s.link, s.method, InviteFrom{Email: "booking@clinic.example.dk"})
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		cal, err := ics.ParseCalendar(strings.NewReader(out))
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		var method, prodid, version string
		for _, cp := range cal.CalendarProperties {
			switch cp.IANAToken {
			case "METHOD":
				method = cp.Value
			case "PRODID":
				prodid = cp.Value
			case "VERSION":
				version = cp.Value
			}
		}
		if method != s.method || prodid != ProdID || version != "2.0" {
			t.Errorf("step %d: METHOD %q PRODID %q VERSION %q", i, method, prodid, version)
		}
		evs := cal.Events()
		if len(evs) != 1 {
			t.Fatalf("step %d: %d events", i, len(evs))
		}
		ev := evs[0]
		prop := func(p ics.ComponentProperty) string {
			if v := ev.GetProperty(p); v != nil {
				return v.Value
			}
			return ""
		}
		if got := ev.Id(); got != "ap-7f3c2a@vclinic" {
			t.Errorf("step %d: UID %q", i, got)
		}
		if got := prop(ics.ComponentPropertySequence); got != s.sequence {
			t.Errorf("step %d: SEQUENCE %q, want %q", i, got, s.sequence)
		}
		if got := prop(ics.ComponentPropertyStatus); got != s.status {
			t.Errorf("step %d: STATUS %q, want %q", i, got, s.status)
		}
		if got := prop(ics.ComponentPropertyDtStart); got != s.dtstart {
			t.Errorf("step %d: DTSTART %q, want %q", i, got, s.dtstart)
		}
		for _, p := range []ics.ComponentProperty{ics.ComponentPropertyDtStart, ics.ComponentPropertyDtEnd, ics.ComponentPropertyDtstamp} {
			if v := prop(p); !strings.HasSuffix(v, "Z") {
				t.Errorf("step %d: %s %q is not UTC", i, p, v)
			}
		}
		if got := prop(ics.ComponentPropertyLocation); got != "Video" {
			t.Errorf("step %d: LOCATION %q", i, got)
		}
		if got := prop(ics.ComponentPropertyOrganizer); got != "mailto:booking@clinic.example.dk" {
			t.Errorf("step %d: ORGANIZER %q", i, got)
		}
		if att := ev.Attendees(); len(att) != 1 || att[0].Email() != "anne@example.dk" {
			t.Errorf("step %d: attendees %v", i, att)
		}
		if s.method == MethodRequest && prop(ics.ComponentPropertyUrl) != testLink {
			t.Errorf("step %d: URL %q", i, prop(ics.ComponentPropertyUrl))
		}
		if strings.Contains(out, "0101701234") {
			t.Errorf("step %d: the CPR number is in the invitation", i)
		}
		stamps = append(stamps, prop(ics.ComponentPropertyDtstamp))
	}
	if stamps[0] == stamps[1] || stamps[1] == stamps[2] {
		t.Errorf("DTSTAMP did not change with the appointment: %v", stamps)
	}
}

func TestICSAttendee(t *testing.T) {
	a, c, p := inviteFixture()
	tests := []struct {
		contact, organizer string
		want               string // ATTENDEE line prefix after unfolding; empty for none
	}{
		{"anne@example.dk", "booking@clinic.example.dk", "ATTENDEE;CN=Anne O’Brien jr.;CUTYPE=INDIVIDUAL;PARTSTAT=ACCEPTED;ROLE=REQ-PARTICIPANT:mailto:anne@example.dk"},
		{"+45 12 34 56 78", "booking@clinic.example.dk", "ATTENDEE;CN=Anne O’Brien jr.;CUTYPE=INDIVIDUAL;PARTSTAT=ACCEPTED;ROLE=REQ-PARTICIPANT:tel:+4512345678"},
		{"call the daughter", "booking@clinic.example.dk", ""},
		{"", "booking@clinic.example.dk", ""},
		{"anne@example.dk", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.contact+"/"+tc.organizer, func(t *testing.T) {
			p.Contact = tc.contact
			out, err := InviteICS(a, c, p, testLink, MethodRequest, InviteFrom{Email: tc.organizer})
			if err != nil {
				t.Fatal(err)
			}
			unfolded := strings.ReplaceAll(out, "\r\n ", "")
			var got string
			for _, l := range strings.Split(unfolded, "\r\n") {
				if strings.HasPrefix(l, "ATTENDEE") {
					got = l
				}
			}
			if got != tc.want {
				t.Errorf("attendee\n got %q\nwant %q", got, tc.want)
			}
			if tc.organizer == "" && strings.Contains(out, "ORGANIZER") {
				t.Error("ORGANIZER without an organizer address")
			}
			if strings.Contains(got, `\`) {
				t.Errorf("backslash in a parameter value: %q", got)
			}
		})
	}
}

func TestICSErrors(t *testing.T) {
	base, c, p := inviteFixture()
	cancelled := base
	cancelled.Status = StatusCancelled
	noID := base
	noID.ID = ""
	backwards := base
	backwards.End = base.Start
	noStamp := base
	noStamp.CreatedAt, noStamp.UpdatedAt = time.Time{}, time.Time{}
	tests := []struct {
		name         string
		a            Appointment
		link, method string
		organizer    string
		want         string
	}{
		{"unknown method", base, testLink, "PUBLISH", "x@example.dk", `method "PUBLISH"`},
		{"lower-case method", base, testLink, "request", "x@example.dk", `method "request"`},
		{"request for a cancelled appointment", cancelled, testLink, MethodRequest, "x@example.dk", "send CANCEL"},
		{"request without a link", base, "", MethodRequest, "x@example.dk", "without a link"},
		{"link that is no URL", base, "javascript:alert(1)", MethodRequest, "x@example.dk", "not an http(s) URL"},
		{"no id", noID, testLink, MethodRequest, "x@example.dk", "no appointment id"},
		{"end not after start", backwards, testLink, MethodRequest, "x@example.dk", "not a span"},
		{"no time for DTSTAMP", noStamp, testLink, MethodRequest, "x@example.dk", "DTSTAMP"},
		{"organizer that is no address", base, testLink, MethodRequest, "booking desk", "not an e-mail address"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := InviteICS(tc.a, c, p, tc.link, tc.method, InviteFrom{Email: tc.organizer})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}
