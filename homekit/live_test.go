package homekit

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/julienschmidt/httprouter"
)

func TestLiveFeedHearsStoredReadings(t *testing.T) {
	s := sqliteStore(t)
	f := newFixture(t, s)
	var mu sync.Mutex
	var calls []string
	var last []Reading
	feed := LiveFeedFunc(func(patientID string, recent []Reading) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, patientID)
		last = recent
	})
	api, err := NewAPI(APIConfig{Now: func() time.Time { return f.now }, Live: feed}, s, AuthenticatorFunc(testAuth), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := httprouter.New()
	api.Routes(r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	af := &apiFixture{fixture: f, srv: srv}

	body := batchJSON(item(f.bp.ID, "2A35", hexBP, 1, observed))
	if code, v := af.do("POST", "/api/v1/readings", "patient:pat-ida", body); code != http.StatusOK {
		t.Fatalf("POST = %d %v", code, v)
	}
	mu.Lock()
	if len(calls) != 1 || calls[0] != "pat-ida" || len(last) != 1 || len(last[0].Measurements) == 0 {
		t.Fatalf("feed calls %v with %d readings, want one call for pat-ida with the reading", calls, len(last))
	}
	mu.Unlock()
	// A duplicate stores nothing, so the feed hears nothing.
	af.do("POST", "/api/v1/readings", "patient:pat-ida", body)
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != 1 {
		t.Fatalf("feed called %d times after a duplicate, want 1", len(calls))
	}
}
