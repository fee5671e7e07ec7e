package main

import (
	"encoding/binary"
	"sync/atomic"
	"time"
)

// One-way delay from our sender through the server to our receiver: every
// packet's payload carries, at stampOffset, a magic word and the send time
// on this process's monotonic clock; the receiver, in the same process,
// takes the difference. On loopback that is the server's added latency plus
// both pion stacks' (an upper bound on the server's).

const (
	stampOffset = 16 // past the VP8 payload descriptor and header
	stampMagic  = 0x7e51
	stampLen    = 10 // magic (2) and nanoseconds (8)
)

// clockEpoch is the origin of the stamps.
var clockEpoch = time.Now()

// stamp writes the send time into payload, if it is long enough.
func stamp(payload []byte) {
	if len(payload) < stampOffset+stampLen {
		return
	}
	binary.BigEndian.PutUint16(payload[stampOffset:], stampMagic)
	binary.BigEndian.PutUint64(payload[stampOffset+2:], uint64(time.Since(clockEpoch)))
}

// stamped reads the send time from payload.
func stamped(payload []byte) (time.Duration, bool) {
	if len(payload) < stampOffset+stampLen || binary.BigEndian.Uint16(payload[stampOffset:]) != stampMagic {
		return 0, false
	}
	return time.Duration(binary.BigEndian.Uint64(payload[stampOffset+2:])), true
}

// Latency buckets: 10 µs wide up to 100 ms, and one for longer.
const (
	latencyBucket  = 10 * time.Microsecond
	latencyBuckets = 10_000
)

// latencyHistogram counts delays; safe for concurrent use.
type latencyHistogram struct {
	counts [latencyBuckets + 1]atomic.Uint64
}

func (h *latencyHistogram) add(d time.Duration) {
	i := int(d / latencyBucket)
	if i < 0 {
		i = 0
	}
	if i > latencyBuckets {
		i = latencyBuckets
	}
	h.counts[i].Add(1)
}

// latencyCounts is a copy of a histogram's counts.
type latencyCounts []uint64

func (h *latencyHistogram) snapshot() latencyCounts {
	out := make(latencyCounts, len(h.counts))
	for i := range h.counts {
		out[i] = h.counts[i].Load()
	}
	return out
}

// latencyFigures summarise the delays of one window.
type latencyFigures struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50Millis"`
	P99   float64 `json:"p99Millis"`
	Max   float64 `json:"maxMillis"` // the upper edge of the highest bucket used
}

// between summarises what was counted from from to to.
func between(from, to latencyCounts) latencyFigures {
	var total uint64
	diff := make([]uint64, len(to))
	for i := range to {
		if i < len(from) {
			diff[i] = to[i] - from[i]
		} else {
			diff[i] = to[i]
		}
		total += diff[i]
	}
	f := latencyFigures{Count: int(total)}
	if total == 0 {
		return f
	}
	edge := func(i int) float64 { return float64(time.Duration(i+1)*latencyBucket) / float64(time.Millisecond) }
	var seen uint64
	p50, p99 := (total+1)/2, total-total/100
	for i, n := range diff {
		if n == 0 {
			continue
		}
		if seen < p50 && seen+n >= p50 {
			f.P50 = edge(i)
		}
		if seen < p99 && seen+n >= p99 {
			f.P99 = edge(i)
		}
		seen += n
		f.Max = edge(i)
	}
	return f
}
