package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// socketSwitch lets a test cut a page's network for WebSockets: with
// window.__offline set, no WebSocket opens (as on a phone out of coverage),
// and window.__ws holds the ones opened, to close.
const socketSwitch = `(() => {
  const Orig = window.WebSocket;
  window.__ws = [];
  window.__offline = false;
  window.WebSocket = class extends Orig {
    constructor(...a) {
      if (window.__offline) throw new DOMException('offline', 'NetworkError');
      super(...a);
      window.__ws.push(this);
    }
  };
})()`

// pageChat is what a page's chat holds.
type pageChat struct {
	Messages []struct {
		Seq    int64  `json:"seq"`
		Text   string `json:"text"`
		Role   string `json:"role"`
		Mine   bool   `json:"mine"`
		Phrase string `json:"phrase"`
	} `json:"messages"`
	Pending []struct {
		Text  string `json:"text"`
		State string `json:"state"`
	} `json:"pending"`
	Shown   []string `json:"shown"` // the log's texts as drawn
	Hidden  bool     `json:"hidden"`
	Unread  string   `json:"unread"`
	Speaker string   `json:"speaker"` // the live region's last words
}

const pageChatJS = `(() => {
  const c = window.vclinic ? window.vclinic.chat : {messages: [], pending: []};
  const el = document.getElementById('chat');
  return {messages: c.messages, pending: c.pending,
    shown: [...document.querySelectorAll('#chat .chat-msg .chat-text')].map((p) => p.textContent),
    hidden: !el || el.hidden,
    unread: (document.getElementById('chat-toggle') || {dataset: {}}).dataset.unread || '',
    speaker: (document.getElementById('chat-announce') || {}).textContent || ''};
})()`

// waitChat polls a page's chat until ok says so.
func waitChat(t testing.TB, ctx context.Context, who, what string, ok func(pageChat) bool) pageChat {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last pageChat
	for time.Now().Before(deadline) {
		last = evalPage[pageChat](t, ctx, "chat", pageChatJS)
		if ok(last) {
			return last
		}
		time.Sleep(150 * time.Millisecond)
	}
	t.Fatalf("%s: %s: not within 20 s; the chat holds %+v", who, what, last)
	return last
}

// writeChat types text into the page's chat field and presses Send, as a
// person does (real key events and a click).
func writeChat(t testing.TB, ctx context.Context, text string) {
	t.Helper()
	ectx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Do(ectx,
		chromedp.WaitVisible(`#chat [data-chat-field]`),
		chromedp.SendKeys(`#chat [data-chat-field]`, text),
		chromedp.Click(`#chat [data-action="send-chat"]`),
	); err != nil {
		t.Fatalf("write %q in the chat: %v", text, err)
	}
}

func chatTexts(c pageChat) string {
	var b strings.Builder
	for _, m := range c.Messages {
		fmt.Fprintf(&b, "%d:%s|", m.Seq, m.Text)
	}
	return b.String()
}

// TestChatBothWaysAcrossReconnect: a patient who cannot hear writes from
// the waiting room; the clinician reads it on joining and answers; the
// patient's phone loses the network while the clinician writes again and
// the patient writes too; back online, each side has every message once, in
// the same order, and the visit's record holds them.
func TestChatBothWaysAcrossReconnect(t *testing.T) {
	requireBrowser(t, "chromium")
	rc := startClinic(t)
	apptID := rc.demoAppointment()
	clinTok := fragmentToken(t, rc.clinician)

	pat := chromiumPageWith(t, rc.patient, socketSwitch)
	waitState(t, pat, "patient", "waiting")
	// The Chat button opens the panel; the patient uses a quick phrase.
	if err := chromedp.Do(pat, chromedp.Click(`[data-action="open-chat"]`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(pat, chromedp.Click(`#chat [data-action="chat-phrase"][data-phrase="cannot-hear"]`)); err != nil {
		t.Fatal(err)
	}
	waitChat(t, pat, "patient", "the quick phrase's receipt", func(c pageChat) bool {
		return len(c.Messages) == 1 && c.Messages[0].Mine && c.Messages[0].Phrase == "cannot-hear" && len(c.Pending) == 0
	})

	if status := rc.api(t, "POST", "/api/v1/appointments/"+apptID+"/admit", clinTok, "", nil); status != 200 {
		t.Fatalf("admit: %d", status)
	}
	clin := chromiumPage(t, rc.base+"/call/"+apptID+"#t="+clinTok)
	waitState(t, pat, "patient", "in-call")
	waitState(t, clin, "clinician", "in-call")
	c := waitChat(t, clin, "clinician", "the patient's message", func(c pageChat) bool {
		return len(c.Messages) == 1 && !c.Messages[0].Mine && c.Messages[0].Role == "patient"
	})
	if len(c.Shown) != 1 || c.Shown[0] == "" {
		t.Fatalf("the clinician's log shows %q", c.Shown)
	}
	writeChat(t, clin, "Metoprolol: M-E-T-O-P-R-O-L-O-L")
	p := waitChat(t, pat, "patient", "the clinician's answer", func(c pageChat) bool {
		return len(c.Messages) == 2 && c.Messages[1].Text == "Metoprolol: M-E-T-O-P-R-O-L-O-L"
	})
	if p.Hidden || !strings.Contains(p.Speaker, "Metoprolol") {
		t.Fatalf("the patient's page: panel hidden %v, read out %q", p.Hidden, p.Speaker)
	}

	// The patient's network goes.
	evalPage[bool](t, pat, "cut", `(() => { window.__offline = true; window.__ws.at(-1).close(); return true; })()`)
	waitState(t, pat, "patient", "reconnecting")
	// The WebSocket alone is down: the media goes on both ways.
	before := map[string]mediaState{"patient": pageMedia(t, pat), "clinician": pageMedia(t, clin)}
	time.Sleep(2 * time.Second)
	for who, page := range map[string]context.Context{"patient": pat, "clinician": clin} {
		st := pageMedia(t, page)
		t.Logf("%s while the WebSocket was down: %d frames decoded, %d audio packets in 2 s", who,
			st.FramesDecoded-before[who].FramesDecoded, st.AudioPacketsReceived-before[who].AudioPacketsReceived)
		if st.FramesDecoded < before[who].FramesDecoded+10 || st.AudioPacketsReceived < before[who].AudioPacketsReceived+50 {
			t.Errorf("%s: %d frames and %d audio packets in the 2 s the WebSocket was down; the media should not notice",
				who, st.FramesDecoded-before[who].FramesDecoded, st.AudioPacketsReceived-before[who].AudioPacketsReceived)
		}
	}
	writeChat(t, clin, "Er du der stadig?")
	waitChat(t, clin, "clinician", "its own message filed", func(c pageChat) bool { return len(c.Messages) == 3 })
	writeChat(t, pat, "Jeg er her, nettet faldt ud")
	waitChat(t, pat, "patient", "its message waiting", func(c pageChat) bool {
		return len(c.Pending) == 1 && c.Pending[0].State == "sending" && len(c.Messages) == 2
	})

	// Back online.
	evalPage[bool](t, pat, "reconnect", `(() => { window.__offline = false; window.dispatchEvent(new Event('online')); return true; })()`)
	waitState(t, pat, "patient", "in-call")
	want := "1:Jeg kan ikke høre dig|2:Metoprolol: M-E-T-O-P-R-O-L-O-L|3:Er du der stadig?|4:Jeg er her, nettet faldt ud|"
	p = waitChat(t, pat, "patient", "everything, in order", func(c pageChat) bool {
		return chatTexts(c) == want && len(c.Pending) == 0
	})
	c = waitChat(t, clin, "clinician", "everything, in order", func(c pageChat) bool { return chatTexts(c) == want })
	if len(c.Shown) != 4 || len(p.Shown) != 4 {
		t.Fatalf("logs drawn: patient %q, clinician %q", p.Shown, c.Shown)
	}

	// The visit's record.
	var rec struct {
		Messages []struct {
			Seq  int64  `json:"seq"`
			Role string `json:"role"`
			Text string `json:"text"`
		} `json:"messages"`
	}
	if status := rc.api(t, "GET", "/api/v1/appointments/"+apptID+"/chat", clinTok, "", &rec); status != 200 {
		t.Fatalf("the visit's chat: %d", status)
	}
	var got strings.Builder
	for _, m := range rec.Messages {
		fmt.Fprintf(&got, "%d:%s|", m.Seq, m.Text)
	}
	if got.String() != want || rec.Messages[0].Role != "patient" || rec.Messages[1].Role != "clinician" {
		t.Fatalf("the record holds %s, want %s", got.String(), want)
	}
}
