package scheduler

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/julienschmidt/httprouter"

	"vclinic/internal/records"
	"vclinic/internal/records/recordstest"
)

// TestRecordsOutOfReach: the PostgreSQL server goes away under a running
// API (as in a failover). The store says the records are unavailable, and
// the API answers 503 with Retry-After, a request to send again, not a 500.
func TestRecordsOutOfReach(t *testing.T) {
	if os.Getenv(recordstest.EnvURL) != "" {
		t.Skip("needs a PostgreSQL server of its own to stop")
	}
	ctx := context.Background()
	srv, err := recordstest.Start(ctx)
	if err != nil {
		if errors.Is(err, recordstest.ErrUnavailable) && !recordstest.Required() {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	defer srv.Close()
	_, dsn, err := srv.CreateDatabase(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s := openStoreOn(t, records.Config{PostgresURL: dsn, MaxConns: 2}, Config{}, slog.New(slog.DiscardHandler))
	api, err := NewAPI(APIConfig{Now: time.Now}, s, testAuth{}, testIssuer{}, &testPresence{rooms: map[string][2]int{}},
		slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	r := httprouter.New()
	api.Routes(r)
	hs := httptest.NewServer(r)
	defer hs.Close()
	get := func() (*http.Response, string) {
		req, _ := http.NewRequest("GET", hs.URL+"/api/v1/clinicians", nil)
		req.Header.Set("Authorization", "Bearer "+RoleScheduler+":user-scheduler")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	if resp, body := get(); resp.StatusCode != http.StatusOK {
		t.Fatalf("with the records up: %d %s", resp.StatusCode, body)
	}

	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = s.ListClinicians(ctx)
	if !records.Unavailable(err) {
		t.Errorf("with the server stopped, the store says %v; want the records unavailable", err)
	}
	resp, body := get()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "cannot be reached") {
		t.Errorf("with the server stopped: %d, Retry-After %q, %s; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
}
