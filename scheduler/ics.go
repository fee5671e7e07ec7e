package scheduler

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	ics "github.com/arran4/golang-ical"
)

// iCalendar invitations (RFC 5545) with iTIP methods (RFC 5546).
//
// One appointment keeps one UID for its whole life; every change a calendar
// should notice bumps Appointment.Sequence (RFC 5545 §3.8.7.4), and the
// invitation of a changed appointment is sent again with METHOD:REQUEST and
// the higher SEQUENCE, which replaces the earlier one (RFC 5546 §2.1.4). A
// cancelled appointment is sent with METHOD:CANCEL and STATUS:CANCELLED
// (RFC 5546 §3.2.5). Times are written in UTC, so no VTIMEZONE is needed
// (RFC 5545 §3.3.5, form #2).
//
// golang-ical v0.3.4 folds lines at 75 octets without splitting a UTF-8
// sequence (RFC 5545 §3.1), but by default ends them with a bare LF on Unix;
// we ask for CRLF, which §3.1 requires. It also escapes parameter values with
// backslashes, which RFC 5545 §3.2 does not allow (a value with a COLON,
// SEMICOLON or COMMA must be quoted instead), so names put into a CN
// parameter lose those characters first (paramText).

// iCalendar methods of an invitation (RFC 5546 §1.4).
const (
	MethodRequest = "REQUEST"
	MethodCancel  = "CANCEL"
)

// ProdID names vclinic as the producer of its calendars (RFC 5545 §3.7.3).
const ProdID = "-//vclinic//vclinic//EN"

// InviteICS returns the invitation to appointment a as an iCalendar object:
// one VEVENT with UID "<a.ID>@vclinic", SEQUENCE a.Sequence, DTSTAMP
// a.UpdatedAt, DTSTART and DTEND in UTC, the link as URL and in the
// description, STATUS CONFIRMED for "REQUEST" or CANCELLED for "CANCEL", the
// organizer and the patient as attendee. A REQUEST needs a link and an
// appointment that still occupies its time.
//
// RFC 5546 wants an ORGANIZER in both methods, so the caller should pass
// the clinic's address; with organizerEmail empty the invitation has neither
// organizer nor attendee, and calendars import it as a plain event. The
// patient is the ATTENDEE by their e-mail address (mailto:) or telephone
// number (tel:, RFC 3966), or the free-text contact when it is one;
// otherwise there is none.
func InviteICS(a Appointment, c Clinician, p Patient, link string, method string, from InviteFrom) (string, error) {
	organizerEmail := from.Email
	if err := checkInvite(a, link, method, organizerEmail); err != nil {
		return "", fmt.Errorf("invitation to appointment %s: %w", a.ID, err)
	}
	stamp := a.UpdatedAt
	if stamp.IsZero() {
		stamp = a.CreatedAt
	}

	cal := ics.NewCalendarFor("vclinic")
	cal.SetProductId(ProdID)
	cal.SetVersion("2.0")
	cal.SetMethod(ics.Method(method))

	ev := cal.AddEvent(a.ID + "@vclinic")
	ev.SetDtStampTime(stamp)
	ev.SetSequence(a.Sequence)
	ev.SetStartAt(a.Start)
	ev.SetEndAt(a.End)
	if from.Language == "da" {
		ev.SetSummary("Videokonsultation med " + c.Name)
		ev.SetDescription(inviteDescriptionDA(c, link, method, from))
	} else {
		ev.SetSummary("Video consultation with " + c.Name)
		ev.SetDescription(inviteDescription(c, link, method, from))
	}
	ev.SetLocation("Video")
	if method == MethodRequest {
		ev.SetURL(link)
		ev.SetStatus(ics.ObjectStatusConfirmed)
	} else {
		ev.SetStatus(ics.ObjectStatusCancelled)
	}
	// A shared or delegated calendar shows the time as busy, not the visit.
	ev.SetClass(ics.ClassificationPrivate)
	if organizerEmail == "" {
		// Without an organizer it is no group-scheduled event, so no
		// attendees either (RFC 5545 §3.8.4.3).
		return cal.Serialize(ics.WithNewLineWindows), nil
	}
	var orgParams []ics.PropertyParameter
	if cn := paramText(from.Clinic); cn != "" {
		orgParams = append(orgParams, ics.WithCN(cn))
	}
	ev.SetOrganizer("mailto:"+organizerEmail, orgParams...)
	if addr := attendeeAddress(p); addr != "" {
		params := []ics.PropertyParameter{
			ics.CalendarUserTypeIndividual,
			ics.ParticipationRoleReqParticipant,
			ics.ParticipationStatusAccepted,
		}
		if cn := paramText(p.Name); cn != "" {
			params = append(params, ics.WithCN(cn))
		}
		ev.AddProperty(ics.ComponentPropertyAttendee, addr, params...)
	}
	return cal.Serialize(ics.WithNewLineWindows), nil
}

func checkInvite(a Appointment, link, method, organizerEmail string) error {
	switch {
	case a.ID == "":
		return fmt.Errorf("no appointment id")
	case a.Start.IsZero() || !a.End.After(a.Start):
		return fmt.Errorf("times %s-%s are not a span", a.Start.Format(time.RFC3339), a.End.Format(time.RFC3339))
	case a.UpdatedAt.IsZero() && a.CreatedAt.IsZero():
		return fmt.Errorf("no time of the last change for DTSTAMP")
	case a.Sequence < 0:
		return fmt.Errorf("negative sequence %d", a.Sequence)
	}
	switch method {
	case MethodRequest:
		if !a.Status.Occupies() {
			return fmt.Errorf("the appointment is %s; send %s", a.Status, MethodCancel)
		}
		if link == "" {
			return fmt.Errorf("%s without a link", MethodRequest)
		}
	case MethodCancel:
	default:
		return fmt.Errorf("method %q: want %s or %s", method, MethodRequest, MethodCancel)
	}
	if link != "" {
		u, err := url.Parse(link)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("link is not an http(s) URL")
		}
	}
	if organizerEmail != "" && !plainAddress(organizerEmail) {
		return fmt.Errorf("organizer %q is not an e-mail address", organizerEmail)
	}
	return nil
}

// InviteFrom is who sends an invitation: the clinic's e-mail address
// (the ORGANIZER; "" for none), and its name and telephone number from its
// settings, which the patient reads in the entry.
type InviteFrom struct {
	Email  string
	Clinic string
	Phone  string // E.164
	// Language of the entry's words: "da", else English.
	Language string
}

// contact says how to reach the clinic: "the clinic", or its name and
// number.
func (f InviteFrom) contact() string {
	who := "the clinic"
	if f.Clinic != "" {
		who = f.Clinic
	}
	if f.Phone != "" {
		who += " on " + f.Phone
	}
	return who
}

// inviteDescriptionDA is inviteDescription in Danish.
func inviteDescriptionDA(c Clinician, link, method string, from InviteFrom) string {
	who := "klinikken"
	if from.Clinic != "" {
		who = from.Clinic
	}
	if from.Phone != "" {
		who += " på " + from.Phone
	}
	if method == MethodCancel {
		return "Denne videokonsultation med " + c.Name + " er aflyst, og linket åbner den ikke længere.\n\n" +
			"Kontakt " + who + ", hvis du har brug for en ny tid."
	}
	return "Videokonsultation med " + c.Name + ".\n\n" +
		"Deltag her: " + link + "\n\n" +
		"Åbn linket et par minutter før på en telefon, tablet eller computer med kamera og mikrofon, " +
		"i en nyere Chrome, Edge, Firefox eller Safari. Tillad kamera og mikrofon, når browseren spørger. " +
		"Du venter i venteværelset, indtil behandleren lukker dig ind.\n\n" +
		"Linket er personligt: del det ikke. Kan du ikke komme, så kontakt " + who + " for at aflyse eller flytte tiden."
}

// inviteDescription is the plain text a patient reads in the calendar entry.
func inviteDescription(c Clinician, link, method string, from InviteFrom) string {
	if method == MethodCancel {
		return "This video consultation with " + c.Name + " has been cancelled, " +
			"and its link no longer opens it.\n\n" +
			"Contact " + from.contact() + " if you need a new time."
	}
	return "Video consultation with " + c.Name + ".\n\n" +
		"Join here: " + link + "\n\n" +
		"A few minutes before the start, open the link on a phone, tablet or " +
		"computer with a camera and microphone, in a recent Chrome, Edge, " +
		"Firefox or Safari. Allow the camera and microphone when the browser " +
		"asks. You wait in the waiting room until the clinician lets you in.\n\n" +
		"The link is personal: do not share it. If you cannot come, contact " +
		from.contact() + " to cancel or move the appointment."
}

// attendeeAddress is the patient's calendar user address: their e-mail
// address, else their number, else what their free-text contact gives.
func attendeeAddress(p Patient) string {
	for _, c := range []string{p.Email, p.Phone, p.Contact} {
		if addr := calAddress(c); addr != "" {
			return addr
		}
	}
	return ""
}

// calAddress returns the calendar user address of a contact: mailto: for an
// e-mail address, tel: (RFC 3966, in E.164: NormalizePhone) for a telephone number, or
// "" for anything else.
func calAddress(contact string) string {
	contact = strings.TrimSpace(contact)
	if plainAddress(contact) {
		return "mailto:" + contact
	}
	if n := NormalizePhone(contact); n != "" {
		return "tel:" + n // a global number (RFC 3966 §5.1.4)
	}
	return ""
}

// plainAddress reports whether s looks like an e-mail address that can stand
// in a mailto: URI unescaped: one @, a local part, a domain with an inner
// dot, printable ASCII without specials, at most 254 octets (RFC 5321
// §4.5.3.1.3). Staff e-mails are held to it too.
func plainAddress(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || len(s) > 254 || strings.Contains(domain, "@") || !strings.Contains(domain, ".") ||
		strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune(`"(),:;<>[\]`, r) {
			return false
		}
	}
	return true
}

// paramText makes a name safe as an iCalendar parameter value with the
// escaping golang-ical does: it drops the characters that would need
// quoting or that the library escapes with a backslash (RFC 5545 §3.2),
// writes an apostrophe as U+2019 and collapses white space.
func paramText(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\'':
			return '\u2019'
		case r < ' ' || r == 0x7f:
			return ' '
		case strings.ContainsRune(`",;:\`, r):
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}
