package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"vclinic/signaling"
	"vclinic/signaling/cluster"
)

// nodeIDPattern is what a node id may be.
var nodeIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// defaultNodeID is the host name and the HTTP port, e.g. web3-8080: stable
// across restarts of the same node.
func defaultNodeID(addr string) string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "node"
	}
	host = regexp.MustCompile(`[^A-Za-z0-9.-]`).ReplaceAllString(strings.SplitN(host, ".", 2)[0], "-")
	_, port, _ := net.SplitHostPort(addr)
	id := host + "-" + port
	if len(id) > 64 {
		id = id[:64]
	}
	return id
}

// redisOptions reads -redis: redis://, rediss:// (TLS) or unix:// as
// go-redis does, plus addr=host:port query parameters for the other seeds
// of a Redis Cluster and master=name for Sentinel (the URL's host then names
// a sentinel).
func redisOptions(raw string) (*redis.UniversalOptions, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("-redis: %w", err)
	}
	q := u.Query()
	extra, master := q["addr"], q.Get("master")
	q.Del("addr")
	q.Del("master")
	u.RawQuery = q.Encode()
	opt, err := redis.ParseURL(u.String())
	if err != nil {
		return nil, fmt.Errorf("-redis: %w", err)
	}
	uo := &redis.UniversalOptions{
		Addrs: append([]string{opt.Addr}, extra...), MasterName: master,
		Username: opt.Username, Password: opt.Password, DB: opt.DB, TLSConfig: opt.TLSConfig,
	}
	if opt.Network == "unix" {
		uo.Dialer = func(ctx context.Context, _, addr string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", addr)
		}
	}
	return uo, nil
}

// newRegistry opens the cluster registry of this node: in Redis when -redis
// is given, else this node alone.
func newRegistry(ctx context.Context, cfg serveConfig, linkBase, mediaHost string, load func() cluster.Load, c *clinic) (*cluster.Registry, redis.UniversalClient, error) {
	id := cfg.NodeID
	if id == "" {
		id = defaultNodeID(cfg.Addr)
	}
	var rdb redis.UniversalClient
	if cfg.Redis != "" {
		opt, err := redisOptions(cfg.Redis)
		if err != nil {
			return nil, nil, err
		}
		rdb = redis.NewUniversalClient(opt)
	}
	// The relay reaches nodes at their own address, never the public URL,
	// which a load balancer shares among them.
	nodeURL := strings.TrimSuffix(cfg.NodeURL, "/")
	if nodeURL == "" {
		nodeURL = linkBase
	}
	reg, err := cluster.New(cluster.Config{NodeID: id, URL: nodeURL, MediaHost: mediaHost, Load: load},
		rdb, c.log.With("component", "cluster"))
	if err == nil {
		err = reg.Join(ctx)
	}
	if err != nil {
		if rdb != nil {
			rdb.Close()
		}
		return nil, nil, err
	}
	return reg, rdb, nil
}

// serveCluster answers GET /api/v1/cluster (admins): the nodes of the
// cluster, this one alone when it runs on its own.
func (c *clinic) serveCluster(w http.ResponseWriter, r *http.Request) {
	claims, err := c.auth.Authenticate(r)
	if err != nil {
		guardProblem(w, r, http.StatusUnauthorized, "sign in first")
		return
	}
	if claims.Role != signaling.RoleAdmin {
		guardProblem(w, r, http.StatusForbidden, "the cluster is for admins")
		return
	}
	nodes, err := c.registry.Nodes(r.Context())
	if err != nil {
		c.log.Warn("cluster view", "err", err)
		w.Header().Set("Retry-After", "2")
		guardProblem(w, r, http.StatusServiceUnavailable, "the cluster view is not available now (Redis); try again")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{"nodes": nodes})
}

// reloadKeys reads the signing keys again every interval until ctx ends, so
// that a key another node made signs here too once it is the newest.
func (c *clinic) reloadKeys(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := c.keys.Reload(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("signing keys: reload failed", "err", err)
		}
	}
}

// runCluster keeps the node in the cluster until ctx ends: its heartbeat in
// the registry and, in a cluster, the renewal of its rooms' leases.
func (c *clinic) runCluster(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := c.registry.Run(ctx); err != nil {
			// Another process answers to this node's id: this one stops.
			select {
			case c.fatal <- err:
			default:
			}
		}
	})
	if c.place != nil {
		c.place.leases.OnLost(c.sig.Evict)
		wg.Go(func() { c.place.leases.Run(ctx) })
	}
	if c.rdb != nil {
		wg.Go(func() { c.runVitalsFeed(ctx) })
		wg.Go(func() { c.runPresence(ctx) })
	}
	wg.Wait()
}

// drainRooms waits, until ctx ends, for the visits on this node to end;
// then it gives up the leases of the rooms left, so that other nodes may
// host them at once, and tells their participants to join again, which
// places each room on another node.
func (c *clinic) drainRooms(ctx context.Context) {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for c.sig.Counters().Rooms > 0 && ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
	rooms := c.sig.RoomIDs()
	rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.place.leases.ReleaseAll(rctx); err != nil {
		c.log.Warn("drain: release room leases; other nodes take the rooms when the leases lapse", "err", err)
	}
	if len(rooms) > 0 {
		c.log.Info("drain: moving the visits left to other nodes", "rooms", len(rooms))
		c.sig.Evict(rooms)
	}
}
