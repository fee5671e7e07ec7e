package scheduler

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// The words of messages to patients, in Danish and English. They name the
// clinic and the time, and how to reach the clinic; never the clinician's
// department or anything of the patient's health, since an e-mail or SMS
// may be read by others.

// messageText is one message's words.
type messageText struct {
	subject, email, sms string
}

// messageWords writes the message of kind about a in lang.
func messageWords(lang, kind string, a Appointment, st Settings, loc *time.Location) messageText {
	when := whenText(lang, a.Start.In(loc))
	phone := st.Phone
	if lang == "da" {
		call := ""
		if phone != "" {
			call = " på " + phone
		}
		switch kind {
		case MessageReminder:
			return messageText{
				subject: "Påmindelse: videokonsultation " + when,
				email: fmt.Sprintf("Husk din videokonsultation hos %s %s.\n\nÅbn linket lidt før: %s\n\n"+
					"Kan du ikke komme, så sig det på siden, linket åbner, eller ring til klinikken%s.", st.Name, when, linkMark, call),
				sms: fmt.Sprintf("Husk din videokonsultation hos %s %s. Åbn linket lidt før: %s", st.Name, when, linkMark),
			}
		case MessageMoved:
			return messageText{
				subject: "Ny tid: videokonsultation " + when,
				email: fmt.Sprintf("Din videokonsultation hos %s er flyttet til %s.\n\nDu bruger samme link: %s\n\n"+
					"Passer tiden ikke, så ring til klinikken%s.", st.Name, when, linkMark, call),
				sms: fmt.Sprintf("Din videokonsultation hos %s er flyttet til %s. Samme link: %s", st.Name, when, linkMark),
			}
		case MessageCancellation:
			return messageText{
				subject: "Aflyst: videokonsultation " + when,
				email: fmt.Sprintf("Din videokonsultation hos %s %s er aflyst, og linket virker ikke længere.\n\n"+
					"Har du brug for en ny tid, så ring til klinikken%s.", st.Name, when, call),
				sms: fmt.Sprintf("Din videokonsultation hos %s %s er aflyst. Ring til klinikken%s, hvis du har brug for en ny tid.", st.Name, when, call),
			}
		}
		return messageText{
			subject: "Videokonsultation " + when,
			email: fmt.Sprintf("Du har en videokonsultation hos %s %s.\n\nÅbn dette link lidt før på en telefon, tablet eller computer "+
				"med kamera og mikrofon: %s\n\nLinket er personligt: del det ikke. Kan du ikke komme, så sig det på siden, linket åbner, "+
				"eller ring til klinikken%s.",
				st.Name, when, linkMark, call),
			sms: fmt.Sprintf("Du har en videokonsultation hos %s %s. Åbn linket lidt før: %s", st.Name, when, linkMark),
		}
	}
	call := ""
	if phone != "" {
		call = " on " + phone
	}
	switch kind {
	case MessageReminder:
		return messageText{
			subject: "Reminder: video consultation " + when,
			email: fmt.Sprintf("A reminder of your video consultation with %s %s.\n\nOpen the link a few minutes before: %s\n\n"+
				"If you cannot come, say so on the page the link opens, or call the clinic%s.", st.Name, when, linkMark, call),
			sms: fmt.Sprintf("Reminder: your video consultation with %s %s. Open the link a few minutes before: %s", st.Name, when, linkMark),
		}
	case MessageMoved:
		return messageText{
			subject: "New time: video consultation " + when,
			email: fmt.Sprintf("Your video consultation with %s has moved to %s.\n\nThe link is the same: %s\n\n"+
				"If the time does not suit you, call the clinic%s.", st.Name, when, linkMark, call),
			sms: fmt.Sprintf("Your video consultation with %s has moved to %s. Same link: %s", st.Name, when, linkMark),
		}
	case MessageCancellation:
		return messageText{
			subject: "Cancelled: video consultation " + when,
			email: fmt.Sprintf("Your video consultation with %s %s has been cancelled, and its link no longer works.\n\n"+
				"If you need a new time, call the clinic%s.", st.Name, when, call),
			sms: fmt.Sprintf("Your video consultation with %s %s has been cancelled. Call the clinic%s if you need a new time.", st.Name, when, call),
		}
	}
	return messageText{
		subject: "Video consultation " + when,
		email: fmt.Sprintf("You have a video consultation with %s %s.\n\nA few minutes before, open this link on a phone, tablet or "+
			"computer with a camera and microphone: %s\n\nThe link is personal: do not share it. If you cannot come, say so on the "+
			"page the link opens, or call the clinic%s.",
			st.Name, when, linkMark, call),
		sms: fmt.Sprintf("You have a video consultation with %s %s. Open the link a few minutes before: %s", st.Name, when, linkMark),
	}
}

var (
	daWeekdays = [...]string{"søndag", "mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag"}
	daMonths   = [...]string{"januar", "februar", "marts", "april", "maj", "juni", "juli", "august", "september", "oktober", "november", "december"}
)

// whenText writes a local time as people say it: "tirsdag den 8. december
// kl. 10.00" or "on Tuesday 8 December at 10:00".
func whenText(lang string, t time.Time) string {
	if lang == "da" {
		return fmt.Sprintf("%s den %d. %s kl. %02d.%02d", daWeekdays[t.Weekday()], t.Day(), daMonths[t.Month()-1], t.Hour(), t.Minute())
	}
	return fmt.Sprintf("on %s %d %s at %02d:%02d", t.Weekday(), t.Day(), t.Month(), t.Hour(), t.Minute())
}

// withLink puts the link where a kept message has its mark.
func withLink(text, link string) string { return strings.ReplaceAll(text, linkMark, link) }

// clip shortens s to at most max characters.
func clip(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}
