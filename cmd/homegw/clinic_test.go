package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/julienschmidt/httprouter"

	"vclinic/homekit"
	"vclinic/homekit/gatt"
	"vclinic/internal/records"
	"vclinic/internal/records/recordstest"
)

// clinic is the clinic's real readings API (a homekit store on SQLite and
// its HTTP routes) for one patient, pat-1, whose gateway gw-1 holds the
// token "gw-token".
type clinic struct {
	t     *testing.T
	store *homekit.Store
	url   string
	api   http.Handler

	mu      sync.Mutex
	answers map[string]int // results the server gave, by status
}

var clinicActor = homekit.Actor{ID: "u-admin", Role: homekit.RoleAdmin}

func newClinic(t *testing.T) *clinic {
	t.Helper()
	ctx := context.Background()
	db, trail := recordstest.OpenAt(t, records.Config{SQLitePath: filepath.Join(t.TempDir(), "records.db")}, nil)
	store, err := homekit.NewStore(ctx, db, trail, homekit.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	auth := homekit.AuthenticatorFunc(func(r *http.Request) (homekit.Principal, error) {
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if strings.HasPrefix(tok, homekit.CredentialPrefix) {
			// The gateway's own credential, as the clinic checks it.
			g, err := store.GatewayByCredential(r.Context(), tok)
			if err != nil {
				return homekit.Principal{}, err
			}
			return homekit.Principal{ID: g.ID, Role: homekit.RoleGateway}, nil
		}
		if tok != "gw-token" {
			return homekit.Principal{}, errors.New("no token")
		}
		return homekit.Principal{ID: "gw-1", Role: homekit.RoleGateway}, nil
	})
	api, err := homekit.NewAPI(homekit.APIConfig{Now: func() time.Time { return t0.Add(24 * time.Hour) }}, store, auth, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.AddGateway(ctx, clinicActor, homekit.Gateway{ID: "gw-1", PatientID: "pat-1"}); err != nil {
		t.Fatal(err)
	}
	r := httprouter.New()
	api.Routes(r)
	c := &clinic{t: t, store: store, api: r, answers: map[string]int{}}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	c.url = srv.URL
	return c
}

// addDevice adds a device to pat-1's kit, as the gateway then lists it.
func (c *clinic) addDevice(kind gatt.DeviceKind, addr string) Device {
	c.t.Helper()
	d, err := c.store.AddDevice(context.Background(), clinicActor, homekit.Device{
		PatientID: "pat-1", Kind: kind, Address: addr, IdentifiedBy: homekit.ByBluetoothAddress})
	if err != nil {
		c.t.Fatal(err)
	}
	return Device{ID: d.ID, Type: string(d.Kind), Address: d.Address, IdentifiedBy: string(d.IdentifiedBy)}
}

// ServeHTTP serves the API and counts the results of POST /api/v1/readings.
func (c *clinic) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tw := &teeWriter{ResponseWriter: w}
	c.api.ServeHTTP(tw, r)
	if r.Method != http.MethodPost || r.URL.Path != "/api/v1/readings" {
		return
	}
	var answer struct {
		Results []result `json:"results"`
	}
	json.Unmarshal(tw.body.Bytes(), &answer)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, res := range answer.Results {
		c.answers[res.Status]++
	}
}

type teeWriter struct {
	http.ResponseWriter
	body bytes.Buffer
}

func (w *teeWriter) Write(p []byte) (int, error) {
	w.body.Write(p)
	return w.ResponseWriter.Write(p)
}

// answered is how many results the server gave with status.
func (c *clinic) answered(status string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.answers[status]
}

// stored is the raw values the clinic holds for the device, in hex, with how
// many readings hold each.
func (c *clinic) stored(deviceID string) map[string]int {
	c.t.Helper()
	rs, err := c.store.ListReadings(context.Background(), clinicActor, "pat-1", t0.Add(-time.Hour))
	if err != nil {
		c.t.Fatal(err)
	}
	out := map[string]int{}
	for _, r := range rs {
		if r.DeviceID == deviceID {
			b, _ := r.Raw.MarshalText()
			out[string(b)]++
			// The gateway finds a kit device by its Bluetooth address, and
			// the clinic keeps that.
			if r.IdentifiedBy != homekit.ByBluetoothAddress {
				c.t.Errorf("reading %s identified by %q, want %q", r.ID, r.IdentifiedBy, homekit.ByBluetoothAddress)
			}
		}
	}
	return out
}
