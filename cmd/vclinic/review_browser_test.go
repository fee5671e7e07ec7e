package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// reviewView is what the review page shows, read for the test's messages.
type reviewView struct {
	State    string `json:"state"`
	Status   string `json:"status"`
	Error    string `json:"error"`
	NotAdmin bool   `json:"notAdmin"` // the sentence for staff who are not admins shows
	Table    bool   `json:"table"`    // the table of figures shows
	Search   string `json:"search"`
	CSV      string `json:"csv"` // the CSV link's address
	// Rows: each row of the table, its group's name and then its cells as
	// "field=text" ("~" before the text of a suppressed one).
	Rows []string `json:"rows"`
	// Charts: each chart's aria-label, and how many bars it draws.
	Charts []struct {
		Label string `json:"label"`
		Bars  int    `json:"bars"`
	} `json:"charts"`
	Pressed []string `json:"pressed"` // the quick periods shown as chosen
}

const reviewViewJS = `(() => {
  const q = (s) => document.querySelector(s);
  return {
    state: document.body.dataset.reviewState || '',
    status: q('#status').textContent,
    error: q('#error').hidden ? '' : q('#error').textContent,
    notAdmin: !q('#not-admin').hidden,
    table: !q('#figures-card').hidden,
    search: location.search,
    csv: q('a[data-action="download-csv"]').href,
    rows: [...document.querySelectorAll('#figures-body tr')].map((tr) => [tr.querySelector('th').textContent,
      ...[...tr.querySelectorAll('td')].map((td) => td.dataset.field + '=' + (td.dataset.state === 'suppressed' ? '~' : '') +
        (td.querySelector('abbr, [aria-hidden]') || td).textContent)].join(' ')),
    charts: q('#charts').hidden ? [] : [...document.querySelectorAll('#charts svg[role="img"]')].map((s) =>
      ({label: s.getAttribute('aria-label'), bars: s.querySelectorAll('rect[data-series]').length})),
    pressed: [...document.querySelectorAll('button[data-period][aria-pressed="true"]')].map((b) => b.dataset.period),
  };
})()`

// waitReview waits until js, a boolean expression, holds in the review
// page, and returns what the page then shows.
func waitReview(t *testing.T, ctx context.Context, what, js string) reviewView {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if evalPage[bool](t, ctx, what, js) {
			return evalPage[reviewView](t, ctx, "the review page", reviewViewJS)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: not within 15 s; the page shows %+v", what, evalPage[reviewView](t, ctx, "the review page", reviewViewJS))
	return reviewView{}
}

// demoPassword reads the demo staff's password from the clinic's log, as
// whoever runs the demo reads it.
func demoPassword(t *testing.T, rc *runningClinic) string {
	t.Helper()
	b, err := os.ReadFile(rc.stderr.Name())
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		var rec struct {
			Msg      string `json:"msg"`
			Password string `json:"password"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && strings.HasPrefix(rec.Msg, "demo staff can also sign in") && rec.Password != "" {
			return rec.Password
		}
	}
	t.Fatal("the log names no demo password")
	return ""
}

// rowOf returns the table row of the group named name, or "".
func (v reviewView) rowOf(name string) string {
	for _, r := range v.Rows {
		if strings.HasPrefix(r, name+" ") {
			return r
		}
	}
	return ""
}

// TestReviewPageInChromium: on a 375 px phone, an admin opens the review
// figures for a period by clinician from a shared address: the table shows
// each clinician's counts, the demo's single visit of the other clinician
// as "fewer than 5", the charts draw the cancelled bars and name them; the
// CSV link's address answers CSV with its header row, and so does the link
// itself clicked in the page (which holds a bearer token, no cookie), and
// the link's address with the session cookie of a password sign-in; a
// grouping and a quick period go into the address; a wrong period is named
// by its field; in Danish a suppressed count reads "færre end 5"; nothing
// scrolls sideways. The admin page and an admin's calendar link to it. A
// scheduler gets the page and the sentence that only admins read the
// figures.
func TestReviewPageInChromium(t *testing.T) {
	requireBrowser(t, "chromium")
	rc := startClinic(t)
	sched := fragmentToken(t, rc.scheduler)
	adminTok := fragmentToken(t, rc.admin)
	berg := rc.allDayClinician(t, sched)
	// Six visits with Dr. Peter Berg, five of them cancelled.
	for i := range 6 {
		p := rc.newPatient(t, sched, fmt.Sprintf(`{"name":"Review Patient %d","phone":"20 00 01 %02d"}`, i, i))
		v := rc.bookNew(t, sched, berg, p, time.Hour+time.Duration(i)*20*time.Minute)
		if i < 5 {
			if status := rc.api(t, "POST", "/api/v1/appointments/"+v.ID+"/cancel", sched, `{"reason":"test"}`, nil); status != http.StatusOK {
				t.Fatalf("cancel: %d", status)
			}
		}
	}
	cph, err := time.LoadLocation("Europe/Copenhagen")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().In(cph)
	from, to := now.AddDate(0, 0, -1).Format(time.DateOnly), now.AddDate(0, 0, 2).Format(time.DateOnly)
	query := url.Values{"lang": {"en"}, "from": {from}, "to": {to}, "by": {"clinician"}}
	// Headless Chromium keeps its window at least 500 px wide: the
	// viewport is set to a phone's 375 px before the page loads again.
	page := chromiumPage(t, "about:blank")
	runPage(t, page, "a 375 px viewport", chromedp.EmulateViewport(375, 812))
	reopen(t, page, rc.base+"/review?"+query.Encode()+"#t="+adminTok)
	if w := evalPage[int](t, page, "the viewport", `document.documentElement.clientWidth`); w != 375 {
		t.Fatalf("the viewport is %d px wide, want 375", w)
	}

	v := waitReview(t, page, "the figures by clinician", `document.body.dataset.reviewState === 'ready'`)
	if v.Error != "" || v.NotAdmin || !v.Table {
		t.Fatalf("the page shows %+v, want the table and no error", v)
	}
	if got, want := v.rowOf("Dr. Peter Berg"), "Dr. Peter Berg booked=6 held=0 cancelled=5 noShows=0"; !strings.HasPrefix(got, want) {
		t.Errorf("Dr. Peter Berg's row %q, want it to start %q (rows %q)", got, want, v.Rows)
	}
	if got := v.rowOf("Dr. Anna Holm"); !strings.Contains(got, "booked=~fewer than 5") {
		t.Errorf("Dr. Anna Holm's row %q, want booked as ~fewer than 5 (the demo's one visit)", got)
	}
	for _, r := range v.Rows {
		if strings.Contains(r, "Review Patient") {
			t.Errorf("a patient is named in the figures: %q", r)
		}
	}
	if len(v.Charts) != 2 {
		t.Fatalf("charts %+v, want 2", v.Charts)
	}
	if c := v.Charts[0]; c.Bars == 0 || !strings.Contains(c.Label, "Dr. Peter Berg: Held 0, Cancelled 5, No-shows 0") {
		t.Errorf("the visits chart draws %d bars, named %q; want bars and Dr. Peter Berg's counts", c.Bars, c.Label)
	}
	if c := v.Charts[1]; !strings.Contains(c.Label, "arrival to admission") {
		t.Errorf("the waiting chart is named %q", c.Label)
	}
	if !evalPage[bool](t, page, "the page's width", `document.documentElement.scrollWidth <= document.documentElement.clientWidth`) {
		t.Errorf("the review page scrolls sideways at 375 px: %d > %d", evalPage[int](t, page, "scroll width", `document.documentElement.scrollWidth`),
			evalPage[int](t, page, "client width", `document.documentElement.clientWidth`))
	}

	// The CSV link's address: CSV with a header row, for the same query.
	csvURL, err := url.Parse(v.CSV)
	if err != nil || csvURL.Path != "/api/v1/stats" || csvURL.Query().Get("format") != "csv" || csvURL.Query().Get("by") != "clinician" ||
		csvURL.Query().Get("from") != from || csvURL.Query().Get("to") != to {
		t.Fatalf("CSV link %q: want /api/v1/stats with this page's query and format=csv", v.CSV)
	}
	req, _ := http.NewRequest(http.MethodGet, v.CSV, nil)
	req.Header.Set("Authorization", "Bearer "+adminTok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || !strings.HasPrefix(ct, "text/csv") {
		t.Fatalf("GET %s: %d %s, want 200 text/csv", v.CSV, resp.StatusCode, ct)
	}
	const header = "key,label,start,end,hours,booked,held,cancelled,noShows,"
	if !strings.HasPrefix(string(body), header) || !strings.Contains(string(body), "Dr. Peter Berg") {
		t.Errorf("CSV %q: want the header row %q… and Dr. Peter Berg's row", body, header)
	}
	// Clicked, the page fetches the file with its token and hands it over.
	evalPage[bool](t, page, "click Download CSV", `(() => {
	  window.csvText = '';
	  const make = URL.createObjectURL;
	  URL.createObjectURL = (b) => { b.text().then((s) => { window.csvText = s; }); return make.call(URL, b); };
	  document.querySelector('a[data-action="download-csv"]').click();
	  return true;
	})()`)
	waitReview(t, page, "the downloaded CSV", `window.csvText.startsWith('`+header+`')`)

	// A grouping goes into the address, and so does a quick period.
	evalPage[bool](t, page, "group by type", `(() => { const s = document.getElementById('r-by'); s.value = 'type';
	  s.dispatchEvent(new Event('change')); return true; })()`)
	v = waitReview(t, page, "the figures by type", `document.body.dataset.reviewState === 'ready' && location.search.includes('by=type')`)
	if !strings.Contains(v.Search, "from="+from) || !strings.Contains(v.Search, "lang=en") || !strings.Contains(v.CSV, "by=type") {
		t.Errorf("by type: address %q, CSV %q; want the period, the language and by=type in both", v.Search, v.CSV)
	}
	evalPage[bool](t, page, "last month", `(document.querySelector('button[data-period="lastMonth"]').click(), true)`)
	v = waitReview(t, page, "last month's figures", `document.body.dataset.reviewState === 'ready' && !location.search.includes('from=`+from+`')`)
	first := time.Date(now.Year(), now.Month()-1, 1, 0, 0, 0, 0, cph)
	last := time.Date(now.Year(), now.Month(), 0, 0, 0, 0, 0, cph)
	if !strings.Contains(v.Search, "from="+first.Format(time.DateOnly)) || !strings.Contains(v.Search, "to="+last.Format(time.DateOnly)) ||
		len(v.Pressed) != 1 || v.Pressed[0] != "lastMonth" {
		t.Errorf("last month: address %q, pressed %q; want %s to %s and lastMonth pressed", v.Search, v.Pressed, first.Format(time.DateOnly), last.Format(time.DateOnly))
	}

	// A period that ends before it starts is named by its field.
	evalPage[bool](t, page, "a wrong period", `(() => { document.getElementById('r-from').value = '2026-03-10';
	  document.getElementById('r-to').value = '2026-03-01';
	  document.querySelector('button[data-action="show-figures"]').click(); return true; })()`)
	v = waitReview(t, page, "the wrong period", `document.body.dataset.reviewState === 'invalid'`)
	if !strings.HasPrefix(v.Error, "To:") || !evalPage[bool](t, page, "to marked", `document.getElementById('r-to').getAttribute('aria-invalid') === 'true'`) {
		t.Errorf("a wrong period shows %q; want an error naming To and the field marked", v.Error)
	}

	// In Danish.
	query.Set("lang", "da")
	reopen(t, page, rc.base+"/review?"+query.Encode()+"#t="+adminTok)
	v = waitReview(t, page, "the figures in Danish", `document.body.dataset.reviewState === 'ready' && document.documentElement.lang === 'da'`)
	if got := v.rowOf("Dr. Anna Holm"); !strings.Contains(got, "booked=~færre end 5") {
		t.Errorf("in Danish, Dr. Anna Holm's row %q; want booked as ~færre end 5", got)
	}

	// The admin page and the calendar link to the figures for an admin;
	// the calendar does not for a scheduler.
	const linkShown = `!document.getElementById('to-review').hidden && document.getElementById('to-review').getAttribute('href') === '/review'`
	reopen(t, page, rc.admin)
	waitPage(t, page, "the admin page's link", linkShown)
	reopen(t, page, rc.base+"/calendar#t="+adminTok)
	waitPage(t, page, "the calendar's link", linkShown)
	reopen(t, page, rc.scheduler)
	waitPage(t, page, "a scheduler's calendar", `document.getElementById('to-admin').hidden && document.getElementById('who').textContent !== ''`)
	if evalPage[bool](t, page, "the calendar's link", `!document.getElementById('to-review').hidden`) {
		t.Error("a scheduler's calendar links to the review figures")
	}

	// Signed in with a password (the session cookie, no token in the tab),
	// the link's own address is the export.
	password := demoPassword(t, rc)
	signedIn := chromiumPage(t, rc.base+"/login")
	if status := evalPage[int](t, signedIn, "sign in", `fetch('/api/v1/login', {method: 'POST', headers: {'Content-Type': 'application/json'},
	  body: JSON.stringify({username: 'admin', password: `+jsString(password)+`})}).then((r) => r.status)`); status != http.StatusOK {
		t.Fatalf("sign in as the demo's admin: %d", status)
	}
	query.Set("lang", "en")
	reopen(t, signedIn, rc.base+"/review?"+query.Encode())
	waitReview(t, signedIn, "the figures with the cookie", `document.body.dataset.reviewState === 'ready'`)
	got := evalPage[string](t, signedIn, "the CSV link's answer", `fetch(document.querySelector('a[data-action="download-csv"]').href).then(async (r) =>
	  r.status + ' ' + r.headers.get('Content-Type') + ' ' + (await r.text()).split('\r\n')[0])`)
	if !strings.HasPrefix(got, "200 text/csv") || !strings.Contains(got, " "+header) {
		t.Errorf("the CSV link with the session cookie answers %q; want 200 text/csv and the header row", got)
	}

	// A scheduler: the page, and the sentence.
	reopen(t, page, rc.base+"/review?"+query.Encode()+"#t="+sched)
	v = waitReview(t, page, "a scheduler's review page", `document.body.dataset.reviewState === 'forbidden'`)
	if !v.NotAdmin || v.Table || len(v.Charts) != 0 || len(v.Rows) != 0 {
		t.Errorf("a scheduler sees %+v; want only the sentence", v)
	}
	if got := evalPage[string](t, page, "the sentence", `document.getElementById('not-admin').textContent`); got != "Only admins read the review figures." {
		t.Errorf("the sentence reads %q", got)
	}
}
