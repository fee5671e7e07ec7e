package main

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"

	"vclinic/signaling"
	"vclinic/signaling/cluster"
)

// hopHeader marks a request one node forwards to another: the receiving
// node serves it itself and never forwards it again. A client that sets it
// gains nothing: the node still serves a room only under its lease, and
// authenticates the request as any other.
const hopHeader = "X-Vclinic-Hop"

// errMoving means the room's node cannot be reached now: it died and its
// lease has not lapsed yet, or Redis (which says where nodes are) is away.
var errMoving = errors.New("the room is moving between nodes")

// errRelayRefused means the node a WebSocket was relayed to would not take
// the room.
var errRelayRefused = errors.New("the node would not take the room")

// placement sends each request about one room (its WebSocket, its status,
// admit and end) to the node that hosts the room, and places a room that is
// live nowhere on the least loaded live node. The request is relayed as it
// is, WebSocket included, over one HTTP hop (httputil.ReverseProxy): the
// browser's signaling reaches the room's node in order and without loss while
// both nodes live, and its media goes straight to the room's node, whose ICE
// candidates it gets. Nil outside a cluster.
type placement struct {
	c      *clinic
	leases *cluster.Leases
	self   string
	proxy  *httputil.ReverseProxy

	mu       sync.Mutex // guards the following
	nodes    []cluster.Node
	nodesAt  time.Time
	suspects map[string]time.Time // node id -> when a relay to it failed
	// placed is when this node last sent new rooms to each node: rooms
	// whose leases may not be taken yet, counted for placedFor.
	placed map[string][]time.Time
}

// placedFor is how long a room this node placed counts towards its node's
// rooms before its lease shows: the relayed join takes the lease within
// milliseconds, so a room counted twice for a moment only evens things out.
const placedFor = time.Second

// nodesFresh is how long the placement reuses the cluster view.
const nodesFresh = time.Second

// suspectFor is how long a node that refused a relay is passed over.
const suspectFor = 10 * time.Second

func newPlacement(c *clinic, leases *cluster.Leases) *placement {
	p := &placement{c: c, leases: leases, self: c.registry.ID(), suspects: map[string]time.Time{}, placed: map[string][]time.Time{}}
	tr := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 15 * time.Second,
		ForceAttemptHTTP2:     false, // a WebSocket upgrade needs HTTP/1.1
	}
	p.proxy = &httputil.ReverseProxy{
		Transport: tr,
		Rewrite: func(pr *httputil.ProxyRequest) {
			hop := pr.In.Context().Value(hopKey{}).(*hopState)
			pr.SetURL(hop.target)
			pr.Out.Host = pr.In.Host // origin checks and links see the address the browser used
			pr.SetXForwarded()
			pr.Out.Header.Set(hopHeader, p.self)
		},
		ModifyResponse: func(resp *http.Response) error {
			// A node that will not take the room after all (it drains, shuts
			// down, or lost a race for the room to another node) answers
			// 503: the WebSocket is placed again rather than refused.
			if resp.StatusCode == http.StatusServiceUnavailable && resp.Request.Header.Get("Upgrade") != "" {
				return errRelayRefused
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			// Nothing was written: the caller decides whether to try elsewhere.
			hop := r.Context().Value(hopKey{}).(*hopState)
			hop.err = err
		},
	}
	return p
}

type hopKey struct{}

// hopState is one relay attempt.
type hopState struct {
	target *url.URL
	err    error // set when the relay failed before answering
}

// onRoomNode serves a request about room on the node that hosts it: here
// when this node hosts it (or it is live nowhere and place is false, which
// this node answers as well as any), else relayed to that node. place says
// the request opens the room (a WebSocket): a room live nowhere is placed.
// While the room's node cannot be reached (it died and its lease has not
// lapsed yet) a placing request waits for the lease, up to its TTL and a
// little more, then places the room elsewhere.
func (c *clinic) onRoomNode(w http.ResponseWriter, r *http.Request, room string, place bool, serve http.HandlerFunc) {
	p := c.place
	if p == nil || r.Header.Get(hopHeader) != "" || !signaling.ValidRoomID(room) || c.sig.Hosts(room) {
		serve(w, r)
		return
	}
	// Whoever cannot authenticate is answered here, as the room's node
	// would: it costs no lookup and no relay.
	if _, err := c.auth.Authenticate(r); err != nil {
		serve(w, r)
		return
	}
	if r.Header.Get("Upgrade") != "" {
		// A relayed WebSocket lives as long as the call: the request's
		// read deadline must not cut it.
		rc := http.NewResponseController(w)
		_ = rc.SetReadDeadline(time.Time{})
		_ = rc.SetWriteDeadline(time.Time{})
	}
	giveUp := time.Now().Add(p.leases.TTL() + 3*time.Second)
	for {
		target, node, err := p.route(r.Context(), room, place)
		if err == nil && target == nil {
			serve(w, r)
			return
		}
		if err == nil {
			hop := &hopState{target: target}
			p.proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), hopKey{}, hop)))
			if hop.err == nil {
				return
			}
			c.log.Info("relay to the room's node failed", "room", room, "node", node, "err", hop.err)
			p.suspect(node)
			err = errMoving
		}
		if !place || !errors.Is(err, errMoving) || time.Now().After(giveUp) || r.Context().Err() != nil {
			c.log.Warn("room placement", "room", room, "err", err)
			w.Header().Set("Retry-After", "1")
			guardProblem(w, r, http.StatusServiceUnavailable, "the visit's server cannot be reached now; trying again")
			return
		}
		select {
		case <-r.Context().Done():
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// route says where room's requests go: nil for this node, else the base URL
// of the node that hosts it or is to host it.
func (p *placement) route(ctx context.Context, room string, place bool) (*url.URL, string, error) {
	holder, _, ok, err := p.leases.Holder(ctx, room)
	if err != nil {
		return nil, "", err
	}
	if ok {
		if holder == p.self {
			// An earlier instance of this node held it: this one takes it
			// over when the room opens.
			return nil, "", nil
		}
		n, found, err := p.node(ctx, holder)
		switch {
		case err != nil:
			return nil, "", errMoving
		case found && n.State != cluster.StateDead && !p.isSuspect(holder):
			u, err := url.Parse(n.URL)
			return u, holder, err
		case !place:
			return nil, "", nil // not live anywhere reachable: answered here
		default:
			return nil, "", errMoving
		}
	}
	if !place {
		return nil, "", nil
	}
	return p.choose(ctx)
}

// choose picks the node for a new room: of the active nodes, the one that
// hosts the fewest rooms now (their leases in PostgreSQL, which are current
// where the registry's load figures may be 2 s old, and the rooms this node
// placed in the last second, whose leases may not show yet), then the one with
// fewer participants, then the lower CPU, and between equals one at random,
// so that rooms opened at the same moment through different nodes do not
// all go to one. A node past its load (Full) is passed over, and when all
// are, the room stays here, which refuses it as busy. When the rooms cannot
// be counted (PostgreSQL away), two nodes are drawn at random and the
// lighter by the registry's figures taken. Without a cluster view (Redis
// away) the room stays here, unless this node drains.
func (p *placement) choose(ctx context.Context) (*url.URL, string, error) {
	nodes, err := p.view(ctx)
	var live []cluster.Node
	if err == nil {
		for _, n := range nodes {
			if n.State == cluster.StateActive && !n.Full && !p.isSuspect(n.ID) && !(n.ID == p.self && p.c.registry.Draining()) {
				live = append(live, n)
			}
		}
	}
	if len(live) == 0 {
		if p.c.registry.Draining() {
			return nil, "", errMoving
		}
		return nil, "", nil
	}
	var pick cluster.Node
	if rooms, err := p.leases.Counts(ctx); err == nil {
		// Rooms opened at the same moment through this node count
		// before their leases show.
		now := time.Now()
		p.mu.Lock()
		for id, ts := range p.placed {
			i := 0
			for i < len(ts) && now.Sub(ts[i]) > placedFor {
				i++
			}
			if ts = ts[i:]; len(ts) == 0 {
				delete(p.placed, id)
				continue
			}
			p.placed[id] = ts
			rooms[id] += len(ts)
		}
		pick = leastLoaded(live, rooms)
		p.placed[pick.ID] = append(p.placed[pick.ID], now)
		p.mu.Unlock()
	} else {
		pick = live[rand.IntN(len(live))]
		if other := live[rand.IntN(len(live))]; lighter(other, pick) {
			pick = other
		}
	}
	if pick.ID == p.self {
		return nil, "", nil
	}
	u, err := url.Parse(pick.URL)
	return u, pick.ID, err
}

// leastLoaded is the node of live with the fewest rooms, then the lighter
// (lighter), one at random between equals.
func leastLoaded(live []cluster.Node, rooms map[string]int) cluster.Node {
	var best []cluster.Node
	for _, n := range live {
		switch {
		case len(best) == 0:
			best = append(best, n)
		case rooms[n.ID] < rooms[best[0].ID] || rooms[n.ID] == rooms[best[0].ID] && lighter(n, best[0]):
			best = append(best[:0], n)
		case rooms[n.ID] == rooms[best[0].ID] && !lighter(best[0], n):
			best = append(best, n)
		}
	}
	return best[rand.IntN(len(best))]
}

// lighter says a carries less load than b by the registry's figures: fewer
// participants, then lower CPU.
func lighter(a, b cluster.Node) bool {
	if a.Participants != b.Participants {
		return a.Participants < b.Participants
	}
	return a.CPU < b.CPU
}

// view is the cluster's nodes, at most nodesFresh old.
func (p *placement) view(ctx context.Context) ([]cluster.Node, error) {
	p.mu.Lock()
	if time.Since(p.nodesAt) < nodesFresh {
		nodes := p.nodes
		p.mu.Unlock()
		return nodes, nil
	}
	p.mu.Unlock()
	nodes, err := p.c.registry.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.nodes, p.nodesAt = nodes, time.Now()
	p.mu.Unlock()
	return nodes, nil
}

func (p *placement) node(ctx context.Context, id string) (cluster.Node, bool, error) {
	nodes, err := p.view(ctx)
	if err != nil {
		return cluster.Node{}, false, err
	}
	for _, n := range nodes {
		if n.ID == id {
			return n, true, nil
		}
	}
	return cluster.Node{}, false, nil
}

func (p *placement) suspect(id string) {
	p.mu.Lock()
	p.suspects[id] = time.Now()
	p.mu.Unlock()
}

func (p *placement) isSuspect(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	at, ok := p.suspects[id]
	if ok && time.Since(at) > suspectFor {
		delete(p.suspects, id)
		return false
	}
	return ok
}
