package cluster

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"vclinic/internal/records"
)

// Leases keeps which node hosts which room: a lease per room in PostgreSQL
// with a fencing token. Redis cannot fence (its replication is asynchronous,
// and a failover can lose a lock it acknowledged), so placement lives in the
// records, where a write is either committed or not.
//
// A node hosts a room only while it holds the room's lease. The lease lasts
// TTL from the moment the node last renewed it, measured by PostgreSQL's
// clock; the node renews every TTL/3 in one statement for all its rooms.
// Each time a lease changes hands it gets a new token from one sequence, so a
// node that held a room before (a paused process, the dead instance of a
// restarted node) is fenced: its renewal names the old token and matches
// nothing.
//
// The node also keeps its own deadline for each lease on its monotonic clock,
// started before it asked PostgreSQL and a tenth of the TTL short of it
// (giveUpShare): a node that could not renew in time (PostgreSQL away, or
// this node cut off from it), or was paused past it, stops hosting at that
// deadline even before it hears from PostgreSQL, which cannot then have
// given the room to another node earlier. Run watches the deadlines and
// reports a lapsed lease to OnLost at its deadline, not at the next renewal,
// so that the room is gone from this node before another may take it.
// Leases is safe for concurrent use.
type Leases struct {
	db   *records.DB
	node string
	ttl  time.Duration
	log  *slog.Logger

	mu       sync.Mutex // guards the following
	held     map[string]*lease
	lost     func(rooms []string)
	draining bool // ReleaseAll was called: no new leases

	// For /metrics: rooms given up, by why, and renewals that failed.
	lostDeadline, lostTaken, renewFailures atomic.Uint64
}

// LeaseCounters are a node's lease figures for /metrics.
type LeaseCounters struct {
	Held int // leases this node holds now
	// LostDeadline counts rooms given up because their lease could not be
	// renewed by its deadline (PostgreSQL away, or this node paused or
	// cut off); LostTaken those another node holds now.
	LostDeadline, LostTaken uint64
	// RenewFailures counts renewals that failed (each retried at the next).
	RenewFailures uint64
}

// Counters answers the node's lease figures.
func (l *Leases) Counters() LeaseCounters {
	l.mu.Lock()
	held := len(l.held)
	l.mu.Unlock()
	return LeaseCounters{Held: held, LostDeadline: l.lostDeadline.Load(), LostTaken: l.lostTaken.Load(), RenewFailures: l.renewFailures.Load()}
}

// lease is one room this node holds.
type lease struct {
	token int64
	// until is when this node stops hosting unless it renews: the local
	// monotonic instant before the statement that granted or renewed the
	// lease, plus the TTL less a tenth (Leases.deadline).
	until time.Time
	// closed is set when the room has gone from this node; the next renewal
	// releases the lease instead.
	closed bool
	// opened is when the lease was taken; a lease whose room never opened is
	// released after openWithin.
	opened time.Time
	inUse  bool // the room has opened on this node
}

// giveUpShare is how much of the TTL before the lease's end in PostgreSQL
// a node gives a room up when it could not renew: room for the eviction
// to be done, and for a late wake-up of a loaded machine, before another
// node can take the lease.
const giveUpShare = 10

// deadline is a lease's local deadline when the statement that granted or
// renewed it started at start.
func (l *Leases) deadline(start time.Time) time.Time {
	return start.Add(l.ttl - l.ttl/giveUpShare)
}

// openWithin is how long a lease taken for a join may wait for its room to
// open before it is released.
const openWithin = 30 * time.Second

// ErrElsewhere means another node holds the room's lease.
var ErrElsewhere = errors.New("cluster: the room is hosted by another node")

// ErrDraining means this node is shutting down and takes no rooms.
var ErrDraining = errors.New("cluster: this node is draining and takes no rooms")

// DefaultLeaseTTL is how long a room's lease lasts without renewal. After a
// node dies its rooms move once their leases lapse: a longer lease rides out
// a longer PostgreSQL failover, a shorter one moves rooms sooner.
const DefaultLeaseTTL = 6 * time.Second

// leaseMigrations is the lease table's schema.
var leaseMigrations = []records.Migration{{
	Version: 1,
	Name:    "room leases with fencing tokens",
	Postgres: `
CREATE SEQUENCE room_lease_tokens;
CREATE TABLE room_leases (
	room_id    text PRIMARY KEY,
	node_id    text NOT NULL,
	token      bigint NOT NULL,      -- fencing token: grows each time the lease changes hands
	expires_at timestamptz NOT NULL  -- PostgreSQL's clock
);
CREATE INDEX room_leases_node ON room_leases (node_id);
`,
}}

// NewLeases opens the lease table for node on db, which must be PostgreSQL:
// a cluster's nodes share it. ttl 0 takes DefaultLeaseTTL.
func NewLeases(ctx context.Context, db *records.DB, node string, ttl time.Duration, logger *slog.Logger) (*Leases, error) {
	if db.Dialect() != records.Postgres {
		return nil, errors.New("cluster: room leases need PostgreSQL")
	}
	if ttl == 0 {
		ttl = DefaultLeaseTTL
	}
	if ttl < 300*time.Millisecond {
		return nil, fmt.Errorf("cluster: lease TTL %v: want at least 300ms", ttl)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := db.Migrate(ctx, "cluster", leaseMigrations); err != nil {
		return nil, err
	}
	return &Leases{db: db, node: node, ttl: ttl, log: logger, held: map[string]*lease{}}, nil
}

// TTL is how long a lease lasts without renewal.
func (l *Leases) TTL() time.Duration { return l.ttl }

// Holder says which node holds room's lease now, and its token; ok is false
// when no live lease exists.
func (l *Leases) Holder(ctx context.Context, room string) (node string, token int64, ok bool, err error) {
	err = l.db.QueryRowContext(ctx,
		`SELECT node_id, token FROM room_leases WHERE room_id = $1 AND expires_at > clock_timestamp()`, room).Scan(&node, &token)
	if errors.Is(err, sql.ErrNoRows) {
		return "", 0, false, nil
	}
	if err != nil {
		return "", 0, false, fmt.Errorf("cluster: lease of room %s: %w", room, err)
	}
	return node, token, true, nil
}

// Counts answers how many rooms each node holds a live lease of now, by
// node id: the cluster's placement as PostgreSQL has it this instant, where
// the registry's figures may be seconds old.
func (l *Leases) Counts(ctx context.Context) (map[string]int, error) {
	out := map[string]int{}
	err := records.QueryRows(ctx, l.db, `SELECT node_id, count(*) FROM room_leases
		WHERE expires_at > clock_timestamp() GROUP BY node_id`, nil, func(r *sql.Rows) error {
		var node string
		var n int
		if err := r.Scan(&node, &n); err != nil {
			return err
		}
		out[node] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: rooms per node: %w", err)
	}
	return out, nil
}

// Open takes room's lease for this node, unless it holds it already. It
// takes a lease that has lapsed, or that an earlier instance of this node
// held (the node id is held by one live process at a time), with a new
// token. A lease another node holds is refused with ErrElsewhere.
func (l *Leases) Open(ctx context.Context, room string) error {
	l.mu.Lock()
	if h := l.held[room]; h != nil && time.Now().Before(h.until) {
		h.closed = false
		h.inUse = true
		l.mu.Unlock()
		return nil
	}
	draining := l.draining
	l.mu.Unlock()
	if draining {
		return ErrDraining
	}
	start := time.Now()
	var token int64
	err := l.db.InTx(ctx, "take the lease of room "+room, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `
INSERT INTO room_leases (room_id, node_id, token, expires_at)
VALUES ($1, $2, nextval('room_lease_tokens'), clock_timestamp() + $3 * interval '1 millisecond')
ON CONFLICT (room_id) DO UPDATE
	SET node_id = excluded.node_id, token = excluded.token, expires_at = excluded.expires_at
	WHERE room_leases.expires_at <= clock_timestamp() OR room_leases.node_id = excluded.node_id
RETURNING token`, room, l.node, l.ttl.Milliseconds()).Scan(&token)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: room %s", ErrElsewhere, room)
	}
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	l.mu.Lock()
	l.held[room] = &lease{token: token, until: l.deadline(start), opened: start, inUse: true}
	l.mu.Unlock()
	l.log.Debug("lease taken", "room", room, "token", token)
	return nil
}

// Holds reports whether this node may host room now: it holds the lease and
// its local deadline has not passed. A node that finds it does not must stop
// hosting the room at once.
func (l *Leases) Holds(room string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	h := l.held[room]
	return h != nil && time.Now().Before(h.until)
}

// Token is the fencing token of room's lease on this node; 0 when it holds
// none.
func (l *Leases) Token(room string) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if h := l.held[room]; h != nil && time.Now().Before(h.until) {
		return h.token
	}
	return 0
}

// Closed says that room has gone from this node; the next renewal releases
// its lease. A room opened again before then keeps it.
func (l *Leases) Closed(room string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if h := l.held[room]; h != nil {
		h.closed = true
	}
}

// Rooms lists the rooms whose leases this node holds.
func (l *Leases) Rooms() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]string, 0, len(l.held))
	for r := range l.held {
		out = append(out, r)
	}
	return out
}

// OnLost sets what is called with the rooms whose leases this node lost
// (taken by another node, or lapsed): the node must stop hosting them.
func (l *Leases) OnLost(f func(rooms []string)) {
	l.mu.Lock()
	l.lost = f
	l.mu.Unlock()
}

// Run renews the node's leases every TTL/3 until ctx ends, releases the
// leases of rooms that closed, and gives up each lease it could not renew
// at its deadline.
func (l *Leases) Run(ctx context.Context) {
	go l.watchDeadlines(ctx)
	t := time.NewTicker(l.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rctx, cancel := context.WithTimeout(ctx, l.ttl/3)
		if err := l.Renew(rctx); err != nil && ctx.Err() == nil {
			l.renewFailures.Add(1)
			l.log.Warn("cluster: lease renewal failed; rooms stop at their deadlines unless it succeeds", "err", err)
		}
		cancel()
	}
}

// watchDeadlines reports each lease lost at its local deadline unless it
// was renewed by then, until ctx ends. It runs beside the renewals, which
// may be stuck in a statement PostgreSQL does not answer while a deadline
// passes. A lease taken later ends later than any it waits for, and a
// renewal only moves a deadline on, so sleeping until the earliest one
// known (at most TTL/3) misses none.
func (l *Leases) watchDeadlines(ctx context.Context) {
	t := time.NewTimer(l.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		next := now.Add(l.ttl / 3)
		var lost []string
		l.mu.Lock()
		for room, h := range l.held {
			if !now.Before(h.until) {
				delete(l.held, room)
				lost = append(lost, room)
			} else if h.until.Before(next) {
				next = h.until
			}
		}
		l.mu.Unlock()
		l.reportLost(lost, &l.lostDeadline, "cluster: leases not renewed by their deadline; no longer hosting")
		t.Reset(time.Until(next))
	}
}

// reportLost logs why this node no longer hosts rooms, counts them in
// count and tells OnLost.
func (l *Leases) reportLost(rooms []string, count *atomic.Uint64, why string) {
	if len(rooms) == 0 {
		return
	}
	count.Add(uint64(len(rooms)))
	l.mu.Lock()
	onLost := l.lost
	l.mu.Unlock()
	l.log.Warn(why, "rooms", rooms)
	if onLost != nil {
		onLost(rooms)
	}
}

// Renew releases the leases of closed rooms and renews the others in one
// statement each. Leases PostgreSQL no longer grants this node, and those
// past their local deadline, are dropped and reported to OnLost.
func (l *Leases) Renew(ctx context.Context) error {
	now := time.Now()
	l.mu.Lock()
	var rooms, release []string
	var tokens, releaseTokens []int64
	var lost []string
	for room, h := range l.held {
		switch {
		case !now.Before(h.until):
			delete(l.held, room)
			lost = append(lost, room)
		case h.closed || (!h.inUse && now.Sub(h.opened) > openWithin):
			delete(l.held, room)
			release = append(release, room)
			releaseTokens = append(releaseTokens, h.token)
		default:
			rooms = append(rooms, room)
			tokens = append(tokens, h.token)
		}
	}
	l.mu.Unlock()
	l.reportLost(lost, &l.lostDeadline, "cluster: leases lapsed before they were renewed; no longer hosting")
	var errs []error
	if len(release) > 0 {
		if err := l.release(ctx, release, releaseTokens); err != nil {
			errs = append(errs, err)
		}
	}
	if len(rooms) == 0 {
		return errors.Join(errs...)
	}
	renewed := map[string]bool{}
	err := l.db.InTx(ctx, "renew room leases", func(tx *sql.Tx) error {
		clear(renewed)
		return records.QueryRows(ctx, tx, `UPDATE room_leases SET expires_at = clock_timestamp() + $4 * interval '1 millisecond'
			WHERE node_id = $1 AND expires_at > clock_timestamp()
			AND (room_id, token) IN (SELECT * FROM unnest($2::text[], $3::bigint[]))
			RETURNING room_id`, []any{l.node, rooms, tokens, l.ttl.Milliseconds()}, func(r *sql.Rows) error {
			var room string
			if err := r.Scan(&room); err != nil {
				return err
			}
			renewed[room] = true
			return nil
		})
	})
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("cluster: %w", err))...)
	}
	lost = lost[:0]
	l.mu.Lock()
	for i, room := range rooms {
		h := l.held[room]
		if h == nil || h.token != tokens[i] {
			continue // released or taken again meanwhile
		}
		if renewed[room] {
			h.until = l.deadline(now)
			continue
		}
		delete(l.held, room)
		lost = append(lost, room)
	}
	l.mu.Unlock()
	l.reportLost(lost, &l.lostTaken, "cluster: leases held by another node now; no longer hosting")
	return errors.Join(errs...)
}

// ReleaseAll gives up every lease this node holds (a drain), so that other
// nodes may take the rooms at once; from then on Open refuses new ones.
func (l *Leases) ReleaseAll(ctx context.Context) error {
	l.mu.Lock()
	l.draining = true
	var rooms []string
	var tokens []int64
	for room, h := range l.held {
		rooms = append(rooms, room)
		tokens = append(tokens, h.token)
	}
	l.held = map[string]*lease{}
	l.mu.Unlock()
	if len(rooms) == 0 {
		return nil
	}
	return l.release(ctx, rooms, tokens)
}

// release deletes the leases of rooms with these tokens, if still this
// node's.
func (l *Leases) release(ctx context.Context, rooms []string, tokens []int64) error {
	err := l.db.InTx(ctx, "release room leases", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM room_leases WHERE node_id = $1
			AND (room_id, token) IN (SELECT * FROM unnest($2::text[], $3::bigint[]))`, l.node, rooms, tokens)
		return err
	})
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	return nil
}
