package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"
)

// seqCounter follows one RTP stream's sequence numbers to count loss the way
// RFC 3550 §6.4.1 and Appendix A.3 do: expected is the span of extended sequence
// numbers seen, lost is expected minus received. Retransmitted duplicates count as
// received, so lost may come out negative; callers clamp it.
type seqCounter struct {
	started  bool
	first    int64 // extended sequence number of the first packet
	highest  int64 // highest extended sequence number
	received int64
}

// add records one packet.
func (c *seqCounter) add(seq uint16) {
	c.received++
	if !c.started {
		c.started = true
		c.first, c.highest = int64(seq), int64(seq)
		return
	}
	// The distance from the highest so far, as a signed 16-bit step, extends seq
	// across wraps in either direction (RFC 3550 A.1 with a window of 2^15).
	ext := c.highest + int64(int16(seq-uint16(c.highest)))
	if ext > c.highest {
		c.highest = ext
	}
	if ext < c.first {
		c.first = ext
	}
}

// seqSnapshot is a seqCounter's state at one moment.
type seqSnapshot struct {
	started        bool
	first, highest int64
	received       int64
}

func (c *seqCounter) snapshot() seqSnapshot {
	return seqSnapshot{started: c.started, first: c.first, highest: c.highest, received: c.received}
}

// windowLoss returns the packets expected and received between two snapshots of
// one stream. A stream that started inside the window is expected from its first
// packet.
func windowLoss(from, to seqSnapshot) (expected, received int64) {
	if !to.started {
		return 0, 0
	}
	if !from.started {
		return to.highest - to.first + 1, to.received
	}
	return to.highest - from.highest, to.received - from.received
}

// lossPercent is lost packets as a percentage of expected, clamped at zero.
func lossPercent(expected, received int64) float64 {
	if expected <= 0 || received >= expected {
		return 0
	}
	return 100 * float64(expected-received) / float64(expected)
}

// percentile returns the p-th percentile (0-100) of xs by the nearest-rank
// method; 0 for no samples. xs is not modified.
func percentile(xs []time.Duration, p float64) time.Duration {
	if len(xs) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), xs...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	if rank < 1 {
		rank = 1
	}
	if rank > len(s) {
		rank = len(s)
	}
	return s[rank-1]
}

// distribution summarises durations in milliseconds.
type distribution struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50Millis"`
	P95   float64 `json:"p95Millis"`
	Max   float64 `json:"maxMillis"`
}

func summarize(xs []time.Duration) distribution {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return distribution{Count: len(xs), P50: ms(percentile(xs, 50)), P95: ms(percentile(xs, 95)), Max: ms(percentile(xs, 100))}
}

// writeJSON prints v indented.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// report is what one run measured.
type report struct {
	URL          string `json:"url"`
	Rooms        int    `json:"rooms"`
	Size         int    `json:"size"`
	Participants int    `json:"participants"`
	Joined       int    `json:"joined"`
	Failed       int    `json:"failed"`
	// FailureReasons are the distinct reasons joins failed, first seen first.
	FailureReasons []string `json:"failureReasons,omitempty"`
	// Dropped counts participants that joined and then failed before the end.
	Dropped     int      `json:"dropped"`
	DropReasons []string `json:"dropReasons,omitempty"`

	// Join sent → joined received; → publish connection connected; and, per
	// subscribed track, the later of the subscriber's and the publisher's join
	// sent → the track's first RTP packet.
	JoinToJoined    distribution `json:"joinToJoined"`
	JoinToConnected distribution `json:"joinToConnected"`
	JoinToMedia     distribution `json:"joinToFirstRemoteMedia"`
	// RemoteTracks with at least one packet, of the ExpectedTracks the joined
	// participants should receive (two from every other joined member of the room).
	RemoteTracks   int `json:"remoteTracks"`
	ExpectedTracks int `json:"expectedRemoteTracks"`
	// Incomplete describes (up to five) participants that received media on
	// fewer tracks than expected.
	Incomplete []string `json:"incomplete,omitempty"`

	WindowSeconds float64 `json:"windowSeconds"`
	Audio         packets `json:"audio"`
	Video         packets `json:"video"`
	// Latency is the one-way delay of the packets received in the window,
	// sender to server to receiver on this machine: the server's added
	// latency and both clients' pion stacks.
	Latency latencyFigures `json:"latency"`
	// KeyframeRequests are PLIs and FIRs the server sent our publishers; Skipped
	// are packets or frames our senders skipped because they ran late (this
	// machine was out of CPU). Both over the window; ServerErrors (error
	// messages after join) over the whole run.
	KeyframeRequests int64 `json:"keyframeRequests"`
	SkippedLate      int64 `json:"skippedLate"`
	ServerErrors     int64 `json:"serverErrors"`

	Server *serverFigures `json:"server,omitempty"`
	// ClientCPUSeconds is vcload's own CPU time over the window, and
	// ClientUDPDrops the datagrams its sockets dropped with a full receive buffer.
	ClientCPUSeconds float64 `json:"clientCpuSeconds"`
	ClientUDPDrops   uint64  `json:"clientUdpReceiveDrops"`
	// LoadAverage is the machine's one-minute load average at the start and
	// the end of the window: other work on the machine shows here.
	LoadAverage [2]float64 `json:"loadAverage"`
}

// packets are one kind's packet counts over the window: sent by our publishers,
// expected and received by our subscribers (from sequence numbers).
type packets struct {
	Sent        int64   `json:"sent"`
	Expected    int64   `json:"expected"`
	Received    int64   `json:"received"`
	Lost        int64   `json:"lost"`
	LossPercent float64 `json:"lossPercent"`
}

func (p *packets) add(expected, received int64) {
	p.Expected += expected
	p.Received += received
	if lost := expected - received; lost > 0 {
		p.Lost += lost
	}
	p.LossPercent = lossPercent(p.Expected, p.Expected-p.Lost)
}

// serverFigures are the server's costs over the window.
type serverFigures struct {
	PID               int   `json:"pid"`
	PIDs              []int `json:"pids"` // all the processes summed: a cluster's nodes
	ClockTicks        int64 `json:"clockTicks"`
	ClockTicksAssumed bool  `json:"clockTicksAssumed,omitempty"`

	CPUSeconds   float64 `json:"cpuSeconds"`
	CPUPercent   float64 `json:"cpuPercentOfOneCore"`
	Forwarded    float64 `json:"forwardedPackets"`
	Dropped      float64 `json:"droppedPackets"`
	NACKs        float64 `json:"nacksReceived"`
	PLIs         float64 `json:"plisSent"`
	MetricsError string  `json:"metricsError,omitempty"`
	// UDPDrops are datagrams the server's sockets dropped with a full receive
	// buffer over the window (from /proc/PID/net/udp).
	UDPDrops      uint64  `json:"udpReceiveDrops"`
	UDPDropsError string  `json:"udpReceiveDropsError,omitempty"`
	CPUPerPacket  float64 `json:"cpuMicrosPerForwardedPacket"`
	RSSIdleMiB    float64 `json:"rssIdleMiB"`
	RSSLoadedMiB  float64 `json:"rssLoadedMiB"`
	RSSPerPartKiB float64 `json:"rssPerParticipantKiB"`
}

func buildReport(cfg config, parts []*participant, startErrs []error, from, to snapshot) *report {
	r := &report{URL: cfg.URL, Rooms: cfg.Rooms, Size: cfg.Size, Participants: len(parts), Latency: between(from.latency, to.latency)}
	byID := map[string]*participant{}
	perRoom := map[string]int{}
	var joined, connected, media []time.Duration
	for i, p := range parts {
		if err := startErrs[i]; err != nil {
			r.Failed++
			r.FailureReasons = appendDistinct(r.FailureReasons, err.Error())
			continue
		}
		r.Joined++
		byID[p.id] = p
		perRoom[p.room]++
		joined = append(joined, p.joinedAfter)
		connected = append(connected, p.connectedAfter)
		if err := p.failure(); err != nil {
			r.Dropped++
			r.DropReasons = appendDistinct(r.DropReasons, err.Error())
		}
		r.ServerErrors += p.serverErrors.Load()
	}
	for _, p := range byID {
		want := 2 * (perRoom[p.room] - 1)
		r.ExpectedTracks += want
		got := 0
		for _, t := range p.remoteTracks() {
			_, first := t.snapshot()
			if first.IsZero() {
				continue
			}
			got++
			if pub := byID[t.publisher]; pub != nil {
				since := p.joinSent
				if pub.joinSent.After(since) {
					since = pub.joinSent
				}
				media = append(media, first.Sub(since))
			}
		}
		r.RemoteTracks += got
		if got < want && len(r.Incomplete) < 5 {
			r.Incomplete = append(r.Incomplete, fmt.Sprintf(
				"room %s participant %s: media on %d of %d remote tracks (%d announced), %d subscribe offers, subscribe connection %s",
				p.room, p.id, got, want, len(p.remoteTracks()), p.subOffers.Load(),
				webrtc.PeerConnectionState(p.subState.Load())))
		}
	}
	r.JoinToJoined, r.JoinToConnected, r.JoinToMedia = summarize(joined), summarize(connected), summarize(media)

	r.WindowSeconds = to.at.Sub(from.at).Seconds()
	r.Audio.Sent = to.sentAudio - from.sentAudio
	r.Video.Sent = to.sentVideo - from.sentVideo
	r.KeyframeRequests = to.keyframeRequests - from.keyframeRequests
	r.SkippedLate = to.skipped - from.skipped
	for t, end := range to.tracks {
		expected, received := windowLoss(from.tracks[t], end)
		if t.kind == webrtc.RTPCodecTypeAudio {
			r.Audio.add(expected, received)
		} else {
			r.Video.add(expected, received)
		}
	}
	r.ClientCPUSeconds = (to.self.cpu - from.self.cpu).Seconds()
	r.ClientUDPDrops = to.selfDrops - min(from.selfDrops, to.selfDrops)
	r.LoadAverage = [2]float64{from.load, to.load}
	return r
}

func serverFiguresOf(pids []int, ticks int64, ticksKnown bool, idle procSample, from, to snapshot, joined int) *serverFigures {
	s := &serverFigures{PID: pids[0], PIDs: pids, ClockTicks: ticks, ClockTicksAssumed: !ticksKnown}
	window := to.at.Sub(from.at).Seconds()
	s.CPUSeconds = (to.server.cpu - from.server.cpu).Seconds()
	s.CPUPercent = 100 * s.CPUSeconds / window
	if from.countersErr == nil && to.countersErr == nil {
		s.Forwarded = to.counters.forwarded - from.counters.forwarded
		s.Dropped = to.counters.dropped - from.counters.dropped
		s.NACKs = to.counters.nacks - from.counters.nacks
		s.PLIs = to.counters.plis - from.counters.plis
		if s.Forwarded > 0 {
			s.CPUPerPacket = s.CPUSeconds * 1e6 / s.Forwarded
		}
	} else if err := errors.Join(from.countersErr, to.countersErr); err != nil {
		s.MetricsError = err.Error()
	}
	if err := errors.Join(from.serverDropsErr, to.serverDropsErr); err != nil {
		s.UDPDropsError = err.Error()
	} else {
		s.UDPDrops = to.serverDrops - min(from.serverDrops, to.serverDrops)
	}
	const mib = 1 << 20
	s.RSSIdleMiB = float64(idle.rss) / mib
	s.RSSLoadedMiB = float64(to.server.rss) / mib
	if joined > 0 {
		s.RSSPerPartKiB = (float64(to.server.rss) - float64(idle.rss)) / 1024 / float64(joined)
	}
	return s
}

// appendDistinct appends s unless present, keeping at most five reasons.
func appendDistinct(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	if len(list) >= 5 {
		return list
	}
	return append(list, s)
}

// writeText prints the report for people.
func (r *report) writeText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "vcload: %d rooms x %d at %s, window %.1f s\n", r.Rooms, r.Size, r.URL, r.WindowSeconds)
	fmt.Fprintf(&b, "participants  %d joined, %d failed, %d dropped during the run\n", r.Joined, r.Failed, r.Dropped)
	for _, s := range r.FailureReasons {
		fmt.Fprintf(&b, "  join failed: %s\n", s)
	}
	for _, s := range r.DropReasons {
		fmt.Fprintf(&b, "  dropped: %s\n", s)
	}
	dist := func(name string, d distribution) {
		fmt.Fprintf(&b, "%-28s p50 %7.1f ms  p95 %7.1f ms  max %7.1f ms  (n=%d)\n", name, d.P50, d.P95, d.Max, d.Count)
	}
	dist("join -> joined", r.JoinToJoined)
	dist("join -> publish connected", r.JoinToConnected)
	dist("join -> first remote media", r.JoinToMedia)
	fmt.Fprintf(&b, "remote tracks with media      %d of %d expected\n", r.RemoteTracks, r.ExpectedTracks)
	for _, s := range r.Incomplete {
		fmt.Fprintf(&b, "  incomplete: %s\n", s)
	}
	pk := func(name string, p packets) {
		fmt.Fprintf(&b, "%-6s sent %9d  expected %9d  received %9d  lost %7d (%.3f%%)\n",
			name, p.Sent, p.Expected, p.Received, p.Lost, p.LossPercent)
	}
	pk("audio", r.Audio)
	fmt.Fprintf(&b, "one-way delay through the server  p50 %.2f ms  p99 %.2f ms  max %.2f ms  (n=%d)\n",
		r.Latency.P50, r.Latency.P99, r.Latency.Max, r.Latency.Count)
	pk("video", r.Video)
	fmt.Fprintf(&b, "keyframe requests %d, sender packets/frames skipped late %d, server errors %d\n",
		r.KeyframeRequests, r.SkippedLate, r.ServerErrors)
	if s := r.Server; s != nil {
		fmt.Fprintf(&b, "server pid %s: CPU %.2f s over the window (%.0f%% of one core)", pidList(s.PIDs), s.CPUSeconds, s.CPUPercent)
		if s.ClockTicksAssumed {
			fmt.Fprintf(&b, " [CLK_TCK assumed %d]", s.ClockTicks)
		}
		b.WriteString("\n")
		if s.MetricsError != "" {
			fmt.Fprintf(&b, "  no forwarded-packet count: %s\n", s.MetricsError)
		} else {
			fmt.Fprintf(&b, "  forwarded %.0f packets (%.0f/s), dropped %.0f, NACKs %.0f, PLIs %.0f; %.2f us CPU per forwarded packet\n",
				s.Forwarded, s.Forwarded/r.WindowSeconds, s.Dropped, s.NACKs, s.PLIs, s.CPUPerPacket)
		}
		if s.UDPDropsError != "" {
			fmt.Fprintf(&b, "  UDP receive drops unknown: %s\n", s.UDPDropsError)
		} else {
			fmt.Fprintf(&b, "  UDP receive buffer drops %d\n", s.UDPDrops)
		}
		fmt.Fprintf(&b, "  RSS idle %.1f MiB, loaded %.1f MiB, %.0f KiB per participant\n", s.RSSIdleMiB, s.RSSLoadedMiB, s.RSSPerPartKiB)
	}
	fmt.Fprintf(&b, "vcload itself: CPU %.2f s over the window, UDP receive buffer drops %d\n", r.ClientCPUSeconds, r.ClientUDPDrops)
	fmt.Fprintf(&b, "machine load average %.2f at the start, %.2f at the end\n", r.LoadAverage[0], r.LoadAverage[1])
	_, err := io.WriteString(w, b.String())
	return err
}

// pidList prints process ids as 123 or 123+456+789 (summed).
func pidList(pids []int) string {
	out := make([]string, len(pids))
	for i, p := range pids {
		out[i] = fmt.Sprint(p)
	}
	return strings.Join(out, "+")
}
