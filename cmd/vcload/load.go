package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"vclinic/internal/keystore"
	"vclinic/internal/records"
	"vclinic/internal/records/audit"
	"vclinic/scheduler"
	"vclinic/signaling"
)

// closeTimeout bounds how long closing every participant may take.
const closeTimeout = 20 * time.Second

// runLoad joins every participant, lets the load settle, measures one window and
// closes everything. The whole run is bounded in time.
func runLoad(parent context.Context, cfg config, log *slog.Logger, progress io.Writer) (*report, error) {
	n := cfg.Rooms * cfg.Size
	budget := time.Duration(n)*cfg.Ramp + cfg.JoinTimeout + cfg.Warmup + cfg.Duration + 10*time.Second
	ctx, cancel := context.WithTimeout(parent, budget)
	defer cancel()

	// validate derives the URL and pid lists; a config built in code (the
	// tests) has not been through parseConfig.
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	lr, err := prepareLoad(ctx, cfg, log, progress)
	if err != nil {
		return nil, err
	}
	parts, err := newParticipants(cfg, cfg.Rooms, lr.keys, lr.env, lr.clinician)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "vcload: joining %d rooms of %d (%d participants) at %s\n", cfg.Rooms, cfg.Size, n, strings.Join(cfg.URLs, ", "))
	startErrs := startAll(ctx, parts, cfg.Ramp)
	defer func() {
		if !closeAll(parts, closeTimeout) {
			fmt.Fprintf(progress, "vcload: closing the participants took longer than %s; exiting anyway\n", closeTimeout)
		}
	}()
	joined := 0
	for _, err := range startErrs {
		if err == nil {
			joined++
		}
	}
	if joined == 0 {
		return nil, fmt.Errorf("no participant joined; first error: %w", startErrs[0])
	}
	fmt.Fprintf(progress, "vcload: %d joined, %d failed; warming up for %s, then measuring for %s\n",
		joined, n-joined, cfg.Warmup, cfg.Duration)
	return lr.measure(ctx, cfg, parts, startErrs, joined)
}

// loadRun is what a run needs besides its participants: the server's keys,
// the shared pion API, and how to read the server's processes and metrics.
type loadRun struct {
	keys       *signaling.Keyring
	env        *peerEnv
	clinician  string
	pids       []string
	ticks      int64
	ticksKnown bool
	idle       procSample // the server before the first join
	metrics    []string
	http       *http.Client
}

// prepareLoad opens the server's keys, builds the pion API and takes the
// server's figures before anyone joins; cfg has been validated.
func prepareLoad(ctx context.Context, cfg config, log *slog.Logger, progress io.Writer) (*loadRun, error) {
	base, _ := url.Parse(cfg.URLs[0]) // validated
	host := base.Hostname()
	loopback := host == "localhost"
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		loopback = true
	}
	lr := &loadRun{ticks: 100, http: &http.Client{Timeout: 5 * time.Second}}
	var err error
	if lr.keys, err = openServerKeys(ctx, cfg.Data, cfg.Postgres); err != nil {
		return nil, err
	}
	api, err := newAPI(loopback, pionLogs(cfg.Verbose, progress))
	if err != nil {
		return nil, err
	}
	var wsURLs []string
	for _, raw := range cfg.URLs {
		u, _ := url.Parse(raw) // validated
		ws := *u
		ws.Scheme = map[string]string{"http": "ws", "https": "wss"}[u.Scheme]
		ws.Path = strings.TrimSuffix(u.Path, "/") + "/ws"
		wsURLs = append(wsURLs, ws.String())
		lr.metrics = append(lr.metrics, strings.TrimSuffix(u.String(), "/")+"/metrics")
	}
	lr.env = &peerEnv{
		api:         api,
		dialer:      &websocket.Dialer{HandshakeTimeout: cfg.JoinTimeout, Subprotocols: []string{signaling.ProtocolName}},
		wsURLs:      wsURLs,
		joinTimeout: cfg.JoinTimeout,
		log:         log,
		latency:     &latencyHistogram{},
	}
	for _, p := range cfg.ServerPIDs {
		lr.pids = append(lr.pids, strconv.Itoa(p))
	}
	if len(lr.pids) > 0 {
		lr.ticks, lr.ticksKnown = clockTicks(ctx)
		if lr.idle, err = readProcs(lr.pids, lr.ticks); err != nil {
			return nil, fmt.Errorf("-server-pid: %w", err)
		}
	}
	if lr.clinician, err = loadClinician(ctx, cfg); err != nil {
		return nil, err
	}
	return lr, nil
}

// take is every counter now: the participants', the server's processes
// and its metrics.
func (lr *loadRun) take(ctx context.Context, parts []*participant) (snapshot, error) {
	s := snapshotOf(parts)
	var err error
	if len(lr.pids) > 0 {
		if s.server, err = readProcs(lr.pids, lr.ticks); err != nil {
			return s, fmt.Errorf("server process: %w (did it exit?)", err)
		}
	}
	s.self, _ = readProc("self", lr.ticks)
	s.selfDrops, _ = udpDrops("self")
	for _, pid := range lr.pids {
		drops, err := udpDrops(pid)
		s.serverDrops += drops
		s.serverDropsErr = errors.Join(s.serverDropsErr, err)
	}
	s.load = loadAverage()
	for _, m := range lr.metrics {
		c, err := scrapeMetrics(ctx, lr.http, m)
		s.counters.add(c)
		s.countersErr = errors.Join(s.countersErr, err)
	}
	return s, nil
}

// measure waits out the warm-up, then reports one window.
func (lr *loadRun) measure(ctx context.Context, cfg config, parts []*participant, startErrs []error, joined int) (*report, error) {
	if !sleep(ctx, cfg.Warmup) {
		return nil, fmt.Errorf("interrupted during the warm-up: %w", ctx.Err())
	}
	from, err := lr.take(ctx, parts)
	if err != nil {
		return nil, err
	}
	if !sleep(ctx, cfg.Duration) {
		return nil, fmt.Errorf("interrupted during the measurement: %w", ctx.Err())
	}
	to, err := lr.take(ctx, parts)
	if err != nil {
		return nil, err
	}
	rep := buildReport(cfg, parts, startErrs, from, to)
	if len(lr.pids) > 0 {
		rep.Server = serverFiguresOf(cfg.ServerPIDs, lr.ticks, lr.ticksKnown, lr.idle, from, to, joined)
	}
	return rep, nil
}

// openServerKeys opens the server's keyring: a cluster's in PostgreSQL
// (postgres), else the data directory's. An empty key store is an error:
// tokens signed with a key the server does not know would all be refused,
// so the load tool never makes one.
func openServerKeys(ctx context.Context, data, postgres string) (*signaling.Keyring, error) {
	if postgres != "" {
		db, err := records.Open(ctx, records.Config{PostgresURL: postgres}, nil)
		if err != nil {
			return nil, fmt.Errorf("-postgres: %w", err)
		}
		defer db.Close()
		keys, err := keystore.OpenExisting(ctx, db)
		if err != nil {
			return nil, fmt.Errorf("-postgres: %w", err)
		}
		return keys, nil
	}
	dir := filepath.Join(data, "keys")
	found, _ := filepath.Glob(filepath.Join(dir, "*.key"))
	if len(found) == 0 {
		return nil, fmt.Errorf("no signing keys in %s: point -data at the server's data directory", dir)
	}
	keys, err := signaling.OpenKeyring(dir)
	if err != nil {
		return nil, fmt.Errorf("server keys: %w", err)
	}
	return keys, nil
}

// loadClinician makes the staff account the rooms' clinicians sign in as:
// the server accepts a clinician's token only for a live staff account. It
// is made in the server's records (the cluster's PostgreSQL, or the SQLite
// database in the data directory), with a random password nobody keeps.
// Without records to write to (a bare signaling server) it returns a
// made-up subject.
func loadClinician(ctx context.Context, cfg config) (string, error) {
	rc := records.Config{PostgresURL: cfg.Postgres}
	if cfg.Postgres == "" {
		rc.SQLitePath = filepath.Join(cfg.Data, "vclinic.db")
		if _, err := os.Stat(rc.SQLitePath); err != nil {
			return "vcload-clinician", nil
		}
	}
	logger := slog.New(slog.DiscardHandler)
	db, err := records.Open(ctx, rc, logger)
	if err != nil {
		return "", fmt.Errorf("the server's records: %w", err)
	}
	defer db.Close()
	trail, err := audit.New(ctx, db, audit.Config{}, logger)
	if err != nil {
		return "", fmt.Errorf("the server's records: %w", err)
	}
	store, err := scheduler.NewStore(ctx, db, trail, scheduler.Config{}, logger)
	if err != nil {
		return "", fmt.Errorf("the server's records: %w", err)
	}
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	u, err := store.CreateUser(ctx, scheduler.System, "vcload-"+hex.EncodeToString(b[:4]), "Load clinician",
		scheduler.RoleClinician, hex.EncodeToString(b))
	if err != nil {
		return "", fmt.Errorf("the load's clinician account: %w", err)
	}
	return u.ID, nil
}

// newParticipants mints a token for everyone in rooms rooms of cfg.Size: a
// clinician first in each room, the others patients of that room. Room ids carry
// a random id, so that a second run (or step) never meets another's
// participants still in their grace period.
func newParticipants(cfg config, rooms int, keys *signaling.Keyring, env *peerEnv, clinician string) ([]*participant, error) {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	run := hex.EncodeToString(b)
	ttl := time.Hour
	var parts []*participant
	for r := range rooms {
		room := fmt.Sprintf("load-%s-%d", run, r)
		for i := range cfg.Size {
			req := signaling.TokenRequest{
				Role:    signaling.RolePatient,
				Subject: fmt.Sprintf("%s-p%d", room, i),
				Name:    fmt.Sprintf("Load patient %d-%d", r, i),
				Room:    room,
				TTL:     ttl,
			}
			if i == 0 {
				req.Role, req.Room, req.Name, req.Subject = signaling.RoleClinician, "", fmt.Sprintf("Load clinician %d", r), clinician
			}
			tok, err := keys.Sign(req)
			if err != nil {
				return nil, fmt.Errorf("room %s: token: %w", room, err)
			}
			parts = append(parts, &participant{
				env: env, room: room, token: tok, name: req.Name, wsURL: env.wsURLs[len(parts)%len(env.wsURLs)],
				log: env.log.With("room", room, "n", i),
			})
		}
	}
	return parts, nil
}

// startAll starts one participant every ramp and waits for every start to end;
// it returns each participant's start error.
func startAll(ctx context.Context, parts []*participant, ramp time.Duration) []error {
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	for i, p := range parts {
		if i > 0 && !sleep(ctx, ramp) {
			for j := i; j < len(parts); j++ {
				errs[j] = fmt.Errorf("not started: %w", ctx.Err())
			}
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = p.start(ctx)
			if errs[i] != nil {
				p.log.Warn("join failed", "err", errs[i])
			} else {
				p.log.Info("joined", "joined_ms", p.joinedAfter.Milliseconds(), "connected_ms", p.connectedAfter.Milliseconds())
			}
		}()
	}
	wg.Wait()
	return errs
}

// closeAll closes every participant at once; false if that took longer than limit.
func closeAll(parts []*participant, limit time.Duration) bool {
	done := make(chan struct{})
	go func() {
		var wg sync.WaitGroup
		for _, p := range parts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.close()
			}()
		}
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(limit):
		return false
	}
}

// sleep waits for d or until ctx ends; false if ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// snapshot is every counter at one moment.
type snapshot struct {
	at               time.Time
	sentAudio        int64
	sentVideo        int64
	skipped          int64 // packets or frames skipped by late senders
	keyframeRequests int64
	tracks           map[*remoteTrack]seqSnapshot
	server           procSample
	self             procSample
	load             float64 // one-minute load average of the machine

	// Receive drops of UDP sockets with a full buffer, cumulative.
	serverDrops    uint64
	serverDropsErr error
	selfDrops      uint64
	counters       serverCounters
	countersErr    error
	latency        latencyCounts
}

func snapshotOf(parts []*participant) snapshot {
	s := snapshot{at: time.Now(), tracks: map[*remoteTrack]seqSnapshot{}}
	if len(parts) > 0 && parts[0].env.latency != nil {
		s.latency = parts[0].env.latency.snapshot()
	}
	for _, p := range parts {
		s.sentAudio += p.sentAudio.Load()
		s.sentVideo += p.sentVideo.Load()
		s.skipped += p.skipped.Load()
		s.keyframeRequests += p.keyframeRequests.Load()
		for _, t := range p.remoteTracks() {
			s.tracks[t], _ = t.snapshot()
		}
	}
	return s
}
