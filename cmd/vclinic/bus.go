package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"vclinic/scheduler"
	"vclinic/signaling"
)

// What the nodes of a cluster tell each other over Redis. Neither is the
// only copy of anything: readings are in the records before they are
// published, and presence is a count each node rewrites every second.
const (
	// vitalsChannel carries new home readings (pub/sub) to the node whose
	// visit the patient is in: a reading may be posted to any node.
	vitalsChannel = "{vclinic}:vitals"
	// presenceKey + room holds "waiting,inCall" for the day lists of the
	// clinicians on other nodes, written by the room's node.
	presenceKey = "{vclinic}:presence:"
	// presenceEvery is how often a node writes its rooms' presence;
	// presenceTTL lets the counts of a node that died lapse.
	presenceEvery = time.Second
	presenceTTL   = 5 * time.Second
)

// vitalsNote is one vitalsChannel message.
type vitalsNote struct {
	From    string            `json:"from"` // node id; that node has shown them already
	Patient string            `json:"patient"`
	Vitals  []signaling.Vital `json:"vitals"`
}

// pushVitals shows new readings of patient in the visits the patient is in:
// those on this node at once, those on other nodes through Redis.
func (c *clinic) pushVitals(patient string, vs []signaling.Vital) {
	rooms := c.sig.PushVitals(patient, vs)
	c.vitalsPushes.Add(uint64(rooms))
	if c.rdb == nil || len(vs) == 0 {
		return
	}
	b, err := json.Marshal(vitalsNote{From: c.registry.ID(), Patient: patient, Vitals: vs})
	if err != nil {
		c.log.Warn("live vitals: encode", "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := c.rdb.Publish(ctx, vitalsChannel, b).Err(); err != nil {
		// Stored already: the clinician's page shows them with the next.
		c.log.Warn("live vitals: publish to the other nodes", "err", err)
	}
}

// runVitalsFeed shows the readings other nodes publish, until ctx ends. The
// subscription is made again by go-redis after Redis restarts.
func (c *clinic) runVitalsFeed(ctx context.Context) {
	sub := c.rdb.Subscribe(ctx, vitalsChannel)
	defer sub.Close()
	ch := sub.Channel(redis.WithChannelHealthCheckInterval(10 * time.Second))
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-ch:
			if !ok {
				return
			}
			var n vitalsNote
			if err := json.Unmarshal([]byte(m.Payload), &n); err != nil {
				c.log.Warn("live vitals: a message from another node", "err", err)
				continue
			}
			if n.From == c.registry.ID() {
				continue
			}
			rooms := c.sig.PushVitals(n.Patient, n.Vitals)
			c.vitalsPushes.Add(uint64(rooms))
		}
	}
}

// runPresence writes how many wait and how many are in the call of each
// room on this node, every presenceEvery until ctx ends, and removes the
// counts of rooms that closed here.
func (c *clinic) runPresence(ctx context.Context) {
	t := time.NewTicker(presenceEvery)
	defer t.Stop()
	written := map[string]bool{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := map[string]bool{}
		wctx, cancel := context.WithTimeout(ctx, presenceEvery)
		_, err := c.rdb.Pipelined(wctx, func(p redis.Pipeliner) error {
			for _, room := range c.sig.RoomIDs() {
				w, in := c.sig.Presence(room)
				p.Set(wctx, presenceKey+room, fmt.Sprintf("%d,%d", w, in), presenceTTL)
				now[room] = true
			}
			for room := range written {
				if !now[room] {
					p.Del(wctx, presenceKey+room)
				}
			}
			return nil
		})
		cancel()
		if err == nil {
			written = now
		}
	}
}

// presence is how many wait and how many are in the call of room: from this
// node when it hosts the room, else from what the room's node wrote.
func (c *clinic) presence(room string) (waiting, inCall int) {
	if c.rdb == nil || c.sig.Hosts(room) {
		return c.sig.Presence(room)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	v, err := c.rdb.Get(ctx, presenceKey+room).Result()
	if err != nil {
		return 0, 0
	}
	if _, err := fmt.Sscanf(v, "%d,%d", &waiting, &inCall); err != nil {
		return 0, 0
	}
	return waiting, inCall
}

// signInBucket is a token bucket in Redis (burst ARGV[1], one more every
// ARGV[2] ms), on Redis's own clock so that the nodes' clocks do not
// matter: it answers {1, 0} for an attempt taken, {0, wait ms} otherwise.
var signInBucket = redis.NewScript(`
local burst = tonumber(ARGV[1])
local refill = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(b[1]) or burst
local at = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) / refill)
local ok, wait = 0, 0
if tokens >= 1 then
	tokens = tokens - 1
	ok = 1
else
	wait = math.ceil((1 - tokens) * refill)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * refill))
return {ok, wait}`)

// redisSignInLimit is the cluster's per-address sign-in limit
// (scheduler.AttemptLimiter), shared by every node through Redis.
type redisSignInLimit struct{ rdb redis.UniversalClient }

// Allow implements scheduler.AttemptLimiter.
func (l redisSignInLimit) Allow(ctx context.Context, address string) (bool, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	res, err := signInBucket.Run(ctx, l.rdb, []string{"{vclinic}:signin:" + address},
		scheduler.LoginBurst, scheduler.LoginRefill.Milliseconds()).Int64Slice()
	if err != nil {
		return false, 0, err
	}
	if len(res) != 2 {
		return false, 0, fmt.Errorf("sign-in limit: unexpected answer %v", res)
	}
	return res[0] == 1, time.Duration(res[1]) * time.Millisecond, nil
}
