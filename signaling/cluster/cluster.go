// Package cluster keeps the registry of the clinic's nodes: which nodes are
// alive, where each one is reached, and how loaded it is. Each node writes
// its entry to Redis every Heartbeat; a node not heard from for DeadAfter is
// dead, and after ForgetAfter it is no longer listed. A node id is held by
// one live node at a time (a claim each heartbeat renews), so two processes
// started with the same -node-id cannot both run. Without Redis (one node)
// the registry lists that node alone.
//
// Redis is never the only copy of anything that must not be lost: the
// registry is rebuilt by the heartbeats after Redis restarts or fails over,
// and what must hold across failures (which node hosts a room) is kept in
// the records. It knows nothing of rooms, users or HTTP.
package cluster

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// Node states.
const (
	StateActive   = "active"   // takes new rooms
	StateDraining = "draining" // shutting down: takes no new rooms
	StateDead     = "dead"     // not heard from for DeadAfter
)

// Node is one node as the cluster sees it.
type Node struct {
	ID           string  `json:"id"`
	URL          string  `json:"url"`       // the node's own HTTP base URL
	MediaHost    string  `json:"mediaHost"` // where browsers send its media
	State        string  `json:"state"`
	Rooms        int     `json:"rooms"`
	Participants int     `json:"participants"`
	CPU          float64 `json:"cpu"` // busy fraction of the node's cores, 0-1
	// Full: past its configured load, the node takes no new rooms.
	Full     bool      `json:"full"`
	LastSeen time.Time `json:"lastSeen"`
}

// Load is what a node reports of its own work.
type Load struct {
	Rooms, Participants int
	Full                bool
}

// Config describes this node.
type Config struct {
	NodeID    string
	URL       string
	MediaHost string
	// Load reports the node's rooms and participants; nil reports none.
	Load func() Load
	// Heartbeat is how often the node writes its entry. Default 2 s.
	Heartbeat time.Duration
	// DeadAfter is how long a silent node is alive. Default 5 s.
	DeadAfter time.Duration
	// ForgetAfter is how long a dead node stays listed. Default 10 min.
	ForgetAfter time.Duration
	// Clock is the clock. Default time.Now.
	Clock func() time.Time
}

func (c Config) withDefaults() Config {
	if c.Heartbeat == 0 {
		c.Heartbeat = 2 * time.Second
	}
	if c.DeadAfter == 0 {
		c.DeadAfter = 5 * time.Second
	}
	if c.ForgetAfter == 0 {
		c.ForgetAfter = 10 * time.Minute
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.Load == nil {
		c.Load = func() Load { return Load{} }
	}
	return c
}

// Validate reports a configuration the registry cannot use.
func (c Config) Validate() error {
	switch {
	case c.NodeID == "":
		return errors.New("cluster: a node id is required")
	case len(c.NodeID) > 64:
		return errors.New("cluster: node id: at most 64 characters")
	case c.Heartbeat < 0 || c.DeadAfter < 0 || c.ForgetAfter < 0:
		return errors.New("cluster: durations must not be negative")
	case c.DeadAfter != 0 && c.Heartbeat >= c.DeadAfter:
		return errors.New("cluster: the heartbeat must be shorter than DeadAfter")
	}
	return nil
}

// ErrIDTaken means another live node holds this node's id.
var ErrIDTaken = errors.New("cluster: node id held by another live node")

// Redis keys. They share one hash tag, so that a Redis Cluster keeps them
// in one slot and one MGET reads every entry.
const (
	keyNodes  = "{vclinic}:nodes"       // set of node ids ever registered
	keyPrefix = "{vclinic}:node:"       // node entry, JSON
	keyClaim  = "{vclinic}:node-claim:" // the instance holding a node id
)

// Registry is this node's view of the cluster.
type Registry struct {
	cfg      Config
	rdb      redis.UniversalClient // nil: one node
	log      *slog.Logger
	instance string // this process, in the id's claim

	mu       sync.Mutex // guards the following
	state    string
	cpu      CPUMeter
	lastErr  time.Time // when a Redis error was last logged
	lastBeat time.Time
}

// New returns the registry of the node cfg describes, on rdb (nil for a
// node on its own).
func New(cfg Config, rdb redis.UniversalClient, logger *slog.Logger) (*Registry, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	return &Registry{cfg: cfg.withDefaults(), rdb: rdb, log: logger, instance: fmt.Sprintf("%x", b), state: StateActive}, nil
}

// ID is this node's id.
func (r *Registry) ID() string { return r.cfg.NodeID }

// Join claims the node id and writes the first entry. A claim held by
// another instance is waited for up to DeadAfter, as the claim of a node
// that died lapses by then; one that is renewed meanwhile belongs to a live
// node, and Join answers ErrIDTaken.
func (r *Registry) Join(ctx context.Context) error {
	if r.rdb == nil {
		r.mu.Lock()
		r.lastBeat = r.cfg.Clock()
		r.mu.Unlock()
		return nil
	}
	deadline := time.Now().Add(r.cfg.DeadAfter + r.cfg.Heartbeat)
	for {
		ok, err := r.rdb.SetNX(ctx, keyClaim+r.cfg.NodeID, r.instance, r.cfg.DeadAfter).Result()
		if err != nil {
			return fmt.Errorf("cluster: claim node id %s: %w", r.cfg.NodeID, err)
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: %s (start it with another -node-id, or stop the other)", ErrIDTaken, r.cfg.NodeID)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(r.cfg.Heartbeat / 4):
		}
	}
	return r.beat(ctx)
}

// renewClaim extends the claim if this instance holds it, and takes it
// again if it lapsed (Redis restarted): KEYS[1] the claim, ARGV[1] the
// instance, ARGV[2] the lifetime in ms. It answers 0 when another instance
// holds the id.
var renewClaim = redis.NewScript(`
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
	redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
	return 1
end
return 0`)

// beat writes this node's entry and renews its claim.
func (r *Registry) beat(ctx context.Context) error {
	n := r.self()
	if r.rdb == nil {
		return nil
	}
	held, err := renewClaim.Run(ctx, r.rdb, []string{keyClaim + r.cfg.NodeID}, r.instance, r.cfg.DeadAfter.Milliseconds()).Int()
	if err != nil {
		return fmt.Errorf("cluster: renew claim: %w", err)
	}
	if held == 0 {
		return fmt.Errorf("%w: %s was taken while this node was out of touch", ErrIDTaken, r.cfg.NodeID)
	}
	b, err := json.Marshal(n)
	if err != nil {
		return err
	}
	_, err = r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.SAdd(ctx, keyNodes, r.cfg.NodeID)
		p.Set(ctx, keyPrefix+r.cfg.NodeID, b, r.cfg.ForgetAfter)
		return nil
	})
	if err != nil {
		return fmt.Errorf("cluster: write node entry: %w", err)
	}
	return nil
}

// self is this node's entry now.
func (r *Registry) self() Node {
	load := r.cfg.Load()
	now := r.cfg.Clock()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lastBeat = now
	return Node{ID: r.cfg.NodeID, URL: r.cfg.URL, MediaHost: r.cfg.MediaHost, State: r.state,
		Rooms: load.Rooms, Participants: load.Participants, CPU: r.cpu.Busy(now), Full: load.Full, LastSeen: now.UTC()}
}

// Run writes the node's entry every Heartbeat until ctx ends. When Redis
// fails it logs (at most once a minute) and tries again at the next beat,
// so that the node registers again by itself when Redis is back. It
// returns ErrIDTaken when another live instance took the node id while this
// one was out of touch (a paused process): two nodes must never answer to
// one id, and this one must stop. Otherwise it returns nil when ctx ends.
func (r *Registry) Run(ctx context.Context) error {
	t := time.NewTicker(r.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		bctx, cancel := context.WithTimeout(ctx, r.cfg.Heartbeat)
		err := r.beat(bctx)
		cancel()
		if errors.Is(err, ErrIDTaken) {
			return err
		}
		if err != nil && ctx.Err() == nil {
			r.mu.Lock()
			quiet := time.Since(r.lastErr) < time.Minute
			if !quiet {
				r.lastErr = time.Now()
			}
			r.mu.Unlock()
			if !quiet {
				r.log.Warn("cluster: heartbeat failed; trying again", "err", err)
			}
		}
	}
}

// Drain marks the node as draining: it takes no new rooms. The next beat
// tells the cluster.
func (r *Registry) Drain(ctx context.Context) {
	r.mu.Lock()
	r.state = StateDraining
	r.mu.Unlock()
	if err := r.beat(ctx); err != nil && r.rdb != nil {
		r.log.Warn("cluster: could not announce draining", "err", err)
	}
}

// Draining reports whether Drain was called.
func (r *Registry) Draining() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state == StateDraining
}

// Leave gives up the node id's claim, so that the node can start again at
// once (a restart), and leaves the entry to age into dead.
func (r *Registry) Leave(ctx context.Context) {
	if r.rdb == nil {
		return
	}
	release := redis.NewScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`)
	if err := release.Run(ctx, r.rdb, []string{keyClaim + r.cfg.NodeID}, r.instance).Err(); err != nil {
		r.log.Warn("cluster: could not release the node id", "err", err)
	}
}

// Nodes lists the cluster's nodes by id, the dead ones (for ForgetAfter)
// among them. Without Redis it lists this node.
func (r *Registry) Nodes(ctx context.Context) ([]Node, error) {
	if r.rdb == nil {
		return []Node{r.self()}, nil
	}
	ids, err := r.rdb.SMembers(ctx, keyNodes).Result()
	if err != nil {
		return nil, fmt.Errorf("cluster: list nodes: %w", err)
	}
	if len(ids) == 0 {
		return []Node{}, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = keyPrefix + id
	}
	vals, err := r.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, fmt.Errorf("cluster: read nodes: %w", err)
	}
	now := r.cfg.Clock()
	out := []Node{}
	for i, v := range vals {
		s, ok := v.(string)
		if !ok {
			// The entry expired: forgotten. Drop it from the set too.
			r.rdb.SRem(ctx, keyNodes, ids[i])
			continue
		}
		var n Node
		if err := json.Unmarshal([]byte(s), &n); err != nil {
			return nil, fmt.Errorf("cluster: node %s: %w", ids[i], err)
		}
		if now.Sub(n.LastSeen) > r.cfg.DeadAfter {
			n.State = StateDead
		}
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// CPUMeter measures the process's busy fraction of the machine's cores
// between two readings (getrusage: user and system time). The zero value
// is ready; the first reading is 0.
type CPUMeter struct {
	at   time.Time
	used time.Duration
	last float64
}

// Busy is the busy fraction, 0-1, since the last reading.
func (m *CPUMeter) Busy(now time.Time) float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return m.last
	}
	used := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	if !m.at.IsZero() && now.After(m.at) {
		frac := float64(used-m.used) / float64(now.Sub(m.at)) / float64(runtime.NumCPU())
		m.last = min(max(frac, 0), 1)
	}
	m.at, m.used = now, used
	return m.last
}
