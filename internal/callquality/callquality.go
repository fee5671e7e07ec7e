// Package callquality keeps the connection quality of a participant's time
// in a visit: round-trip time, loss, jitter, bitrates, the video received
// (size and frame rate), freezes, layer switches, reconnects and the kind of
// path (ICE candidate type). Samples taken every few seconds go into fixed
// histograms, so that a record stays small (well under a kilobyte) however
// long the visit, and the records of one person's several sessions (a page
// reloaded, a visit moved to another node) merge into one summary.
//
// Medians and 95th percentiles are read from the histograms, interpolated
// within a bucket: they are as precise as the buckets are narrow (a few
// milliseconds at low round-trip times, wider above). No health data goes in
// a record.
//
// The standard library only: signaling fills records, the scheduler keeps
// them with the appointment, cmd/vclinic shows the node's totals in /metrics.
package callquality

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"
)

// Metric names one measured quantity: the histogram it goes in and the
// Prometheus metric cmd/vclinic exposes it as.
type Metric int

// The metrics with distributions.
const (
	RTT      Metric = iota // round-trip time, milliseconds
	Loss                   // packets lost of those sent to the participant, percent
	Jitter                 // interarrival jitter of what the participant receives, milliseconds
	SendKbps               // what the participant sends, kbit/s
	RecvKbps               // what the participant is sent, kbit/s
	FPS                    // frame rate of the video the participant decodes, frames/s
	numMetrics
)

// Bounds are each metric's bucket upper bounds (inclusive); a last bucket
// takes what is above the last bound.
var bounds = [numMetrics][]float64{
	RTT:      {5, 10, 20, 30, 40, 50, 75, 100, 150, 200, 250, 300, 400, 500, 750, 1000, 1500, 2000, 3000},
	Loss:     {0, 0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 50, 75, 100},
	Jitter:   {1, 2, 5, 10, 15, 20, 30, 40, 50, 75, 100, 150, 200, 300, 500},
	SendKbps: {16, 32, 64, 100, 150, 200, 300, 400, 500, 750, 1000, 1500, 2000, 2500, 3000, 4000, 5000},
	RecvKbps: {16, 32, 64, 100, 150, 200, 300, 400, 500, 750, 1000, 1500, 2000, 2500, 3000, 4000, 5000},
	FPS:      {1, 3, 5, 8, 10, 12, 15, 18, 20, 24, 25, 28, 30, 45, 60},
}

// Bounds returns m's bucket upper bounds; the caller must not change them.
func Bounds(m Metric) []float64 { return bounds[m] }

// Name is m's name as a JSON field and in /metrics.
func (m Metric) Name() string {
	switch m {
	case RTT:
		return "rttMs"
	case Loss:
		return "lossPct"
	case Jitter:
		return "jitterMs"
	case SendKbps:
		return "sendKbps"
	case RecvKbps:
		return "recvKbps"
	case FPS:
		return "fps"
	}
	return fmt.Sprintf("metric%d", int(m))
}

// Metrics lists every metric.
func Metrics() []Metric {
	out := make([]Metric, numMetrics)
	for i := range out {
		out[i] = Metric(i)
	}
	return out
}

// Hist counts samples per bucket of one metric: len(Bounds(m))+1 counts.
type Hist []uint32

// newHist is an empty histogram of m.
func newHist(m Metric) Hist { return make(Hist, len(bounds[m])+1) }

// observe adds one sample v of m.
func (h Hist) observe(m Metric, v float64) {
	i := sort.SearchFloat64s(bounds[m], v) // the first bound >= v
	h[i]++
}

// Count is the number of samples.
func (h Hist) Count() uint64 {
	var n uint64
	for _, c := range h {
		n += uint64(c)
	}
	return n
}

// quantile estimates the q-quantile (0 < q < 1) of m's samples in h,
// interpolating within the bucket it falls in; false with no samples. A
// quantile in the overflow bucket is reported as the last bound.
func (h Hist) quantile(m Metric, q float64) (float64, bool) {
	n := h.Count()
	if n == 0 {
		return 0, false
	}
	b := bounds[m]
	rank := q * float64(n)
	var cum float64
	for i, c := range h {
		if c == 0 {
			continue
		}
		if cum+float64(c) < rank {
			cum += float64(c)
			continue
		}
		if i == len(b) {
			return b[len(b)-1], true
		}
		lo := 0.0
		if i > 0 {
			lo = b[i-1]
		}
		hi := b[i]
		if lo == hi || hi <= 0 {
			return hi, true
		}
		return lo + (hi-lo)*(rank-cum)/float64(c), true
	}
	return b[len(b)-1], true
}

// Sample is what was measured of one participant over one interval. A
// negative value is unknown in that interval and is not counted.
type Sample struct {
	RTTMs    float64
	LossPct  float64
	JitterMs float64
	SendKbps float64
	RecvKbps float64
	// The largest video the participant decoded in the interval; 0 when it
	// decoded none (audio only, video paused, nobody sending video).
	Width, Height int
	FPS           float64
	// Counted during the interval.
	Freezes  int64
	FreezeMs int64
	// Candidate is the ICE candidate type of the path used (CandidateHost,
	// ...), empty when unknown.
	Candidate string
}

// measured is s's value of each metric, by Metric; negative when unknown.
// A frame rate counts only with a decoded video's size.
func (s Sample) measured() [numMetrics]float64 {
	fps := s.FPS
	if s.Width <= 0 || s.Height <= 0 {
		fps = -1
	}
	return [numMetrics]float64{RTT: s.RTTMs, Loss: s.LossPct, Jitter: s.JitterMs, SendKbps: s.SendKbps, RecvKbps: s.RecvKbps, FPS: fps}
}

// known tells a measured value from an unknown (negative) or broken one.
func known(v float64) bool { return v >= 0 && !math.IsNaN(v) && !math.IsInf(v, 0) }

// Unknown is a sample with nothing measured.
func Unknown() Sample {
	return Sample{RTTMs: -1, LossPct: -1, JitterMs: -1, SendKbps: -1, RecvKbps: -1, FPS: -1}
}

// ICE candidate types as a record names them (RFC 8445 §5.1.1.1; "tcp" is
// a host candidate over TCP, RFC 6544, the clinic's fallback when UDP is
// blocked; a relayed path is "relay" whatever carries it to the relay).
const (
	CandidateHost  = "host"
	CandidateSrflx = "srflx"
	CandidatePrflx = "prflx"
	CandidateRelay = "relay"
	CandidateTCP   = "tcp"
)

// ValidCandidate reports whether c is one of the candidate types above.
func ValidCandidate(c string) bool {
	switch c {
	case CandidateHost, CandidateSrflx, CandidatePrflx, CandidateRelay, CandidateTCP:
		return true
	}
	return false
}

// Record is one person's quality in one visit: a session, or several
// merged. Its JSON is what the records database keeps.
type Record struct {
	// Participant is the id of the person's (latest) session in the room.
	Participant string `json:"participant"`
	Role        string `json:"role"`
	// Person says whose session it is (the token's subject), so that one
	// person's sessions merge; never shown.
	Person string    `json:"person,omitempty"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	// Seconds is the time measured (in the call, not in the waiting room).
	Seconds float64 `json:"seconds"`
	// Sessions is how many sessions were merged: more than one when the
	// person joined again (a reloaded page, a visit moved to another node).
	Sessions int `json:"sessions"`
	// Hists holds a histogram per Metric, by Metric.Name.
	Hists map[string]Hist `json:"hists"`
	// Resolutions is seconds of decoded video by "WxH".
	Resolutions map[string]float64 `json:"resolutions,omitempty"`
	// Candidates is seconds on each path type.
	Candidates    map[string]float64 `json:"candidates,omitempty"`
	Freezes       int64              `json:"freezes"`
	FreezeMs      int64              `json:"freezeMs"`
	LayerSwitches int64              `json:"layerSwitches"`
	Reconnects    int64              `json:"reconnects"`
}

// NewRecord starts the record of a session.
func NewRecord(participant, role string, start time.Time) *Record {
	r := &Record{Participant: participant, Role: role, Start: start.UTC(), End: start.UTC(), Sessions: 1, Hists: map[string]Hist{}}
	for _, m := range Metrics() {
		r.Hists[m.Name()] = newHist(m)
	}
	return r
}

// Add takes a sample covering span, ending at end.
func (r *Record) Add(end time.Time, span time.Duration, s Sample) {
	if span <= 0 {
		return
	}
	r.End = end.UTC()
	r.Seconds += span.Seconds()
	for i, v := range s.measured() {
		if m := Metric(i); known(v) {
			r.Hists[m.Name()].observe(m, v)
		}
	}
	if s.Width > 0 && s.Height > 0 {
		if r.Resolutions == nil {
			r.Resolutions = map[string]float64{}
		}
		r.Resolutions[fmt.Sprintf("%dx%d", s.Width, s.Height)] += span.Seconds()
	}
	r.Freezes += max(s.Freezes, 0)
	r.FreezeMs += max(s.FreezeMs, 0)
	if s.Candidate != "" {
		if r.Candidates == nil {
			r.Candidates = map[string]float64{}
		}
		r.Candidates[s.Candidate] += span.Seconds()
	}
}

// Merge adds o, a later or earlier session of the same person, to r. A
// second session means the person joined again: one more reconnect.
func (r *Record) Merge(o *Record) {
	if o.End.After(r.End) || o.End.Equal(r.End) {
		r.Participant = o.Participant
		r.End = o.End
	}
	if o.Start.Before(r.Start) {
		r.Start = o.Start
	}
	r.Seconds += o.Seconds
	r.Sessions += o.Sessions
	r.Reconnects += o.Reconnects + int64(o.Sessions)
	for _, m := range Metrics() {
		h, oh := r.Hists[m.Name()], o.Hists[m.Name()]
		for i := range h {
			if i < len(oh) {
				h[i] += oh[i]
			}
		}
	}
	for k, v := range o.Resolutions {
		if r.Resolutions == nil {
			r.Resolutions = map[string]float64{}
		}
		r.Resolutions[k] += v
	}
	for k, v := range o.Candidates {
		if r.Candidates == nil {
			r.Candidates = map[string]float64{}
		}
		r.Candidates[k] += v
	}
	r.Freezes += o.Freezes
	r.FreezeMs += o.FreezeMs
	r.LayerSwitches += o.LayerSwitches
}

// Decode reads a record kept as JSON, checking its histograms' shapes.
func Decode(b []byte) (*Record, error) {
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("quality record: %w", err)
	}
	if r.Hists == nil {
		r.Hists = map[string]Hist{}
	}
	for _, m := range Metrics() {
		h, ok := r.Hists[m.Name()]
		if !ok {
			r.Hists[m.Name()] = newHist(m)
			continue
		}
		if len(h) != len(bounds[m])+1 {
			return nil, fmt.Errorf("quality record: %s: %d buckets, want %d", m.Name(), len(h), len(bounds[m])+1)
		}
	}
	if r.Sessions < 1 {
		r.Sessions = 1
	}
	return &r, nil
}

// Summary is a record as people read it: the answer of
// GET /api/v1/appointments/{id}/quality, one per person. Figures that were
// never measured are null.
type Summary struct {
	ID       string    `json:"id"`
	Role     string    `json:"role"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Seconds  int       `json:"seconds"`
	Sessions int       `json:"sessions"`
	// Medians over the visit.
	RTTMs    *float64 `json:"rttMs"`
	LossPct  *float64 `json:"lossPct"`
	JitterMs *float64 `json:"jitterMs"`
	SendKbps *float64 `json:"sendKbps"`
	RecvKbps *float64 `json:"recvKbps"`
	// P95 is the 95th percentile of the same figures: the bad moments.
	P95 Tail `json:"p95"`
	// Resolutions is the video the participant decoded, the most seen
	// first, with the share of the measured time.
	Resolutions []Resolution `json:"resolutions"`
	// FrameRate is the decoded video's frame rate: its median, and the
	// 5th percentile (the slow moments).
	FrameRate     *Spread `json:"frameRate"`
	Freezes       int64   `json:"freezes"`
	FreezeMs      int64   `json:"freezeMs"`
	LayerSwitches int64   `json:"layerSwitches"`
	Reconnects    int64   `json:"reconnects"`
	// CandidateType is the path used for most of the time (host, srflx,
	// prflx, relay, tcp); empty when unknown.
	CandidateType string `json:"candidateType"`
}

// Tail is the 95th percentiles.
type Tail struct {
	RTTMs    *float64 `json:"rttMs"`
	LossPct  *float64 `json:"lossPct"`
	JitterMs *float64 `json:"jitterMs"`
}

// Resolution is one video size and how long it was decoded.
type Resolution struct {
	Width   int     `json:"width"`
	Height  int     `json:"height"`
	Seconds int     `json:"seconds"`
	Share   float64 `json:"share"` // of Summary.Seconds, 0-1
}

// Spread is a median and a low percentile.
type Spread struct {
	Median float64 `json:"median"`
	P5     float64 `json:"p5"`
}

// Summary reads r.
func (r *Record) Summary() Summary {
	s := Summary{
		ID: r.Participant, Role: r.Role, Start: r.Start, End: r.End,
		Seconds: int(math.Round(r.Seconds)), Sessions: r.Sessions,
		Freezes: r.Freezes, FreezeMs: r.FreezeMs, LayerSwitches: r.LayerSwitches, Reconnects: r.Reconnects,
		Resolutions: []Resolution{},
	}
	q := func(m Metric, p float64, digits int) *float64 {
		v, ok := r.Hists[m.Name()].quantile(m, p)
		if !ok {
			return nil
		}
		f := math.Pow(10, float64(digits))
		v = math.Round(v*f) / f
		return &v
	}
	s.RTTMs, s.P95.RTTMs = q(RTT, 0.5, 0), q(RTT, 0.95, 0)
	s.LossPct, s.P95.LossPct = q(Loss, 0.5, 2), q(Loss, 0.95, 2)
	s.JitterMs, s.P95.JitterMs = q(Jitter, 0.5, 1), q(Jitter, 0.95, 1)
	s.SendKbps, s.RecvKbps = q(SendKbps, 0.5, 0), q(RecvKbps, 0.5, 0)
	if med, p5 := q(FPS, 0.5, 1), q(FPS, 0.05, 1); med != nil {
		s.FrameRate = &Spread{Median: *med, P5: *p5}
	}
	for k, secs := range r.Resolutions {
		var w, h int
		if _, err := fmt.Sscanf(k, "%dx%d", &w, &h); err != nil {
			continue
		}
		res := Resolution{Width: w, Height: h, Seconds: int(math.Round(secs))}
		if r.Seconds > 0 {
			res.Share = math.Round(secs/r.Seconds*1000) / 1000
		}
		s.Resolutions = append(s.Resolutions, res)
	}
	slices.SortFunc(s.Resolutions, func(a, b Resolution) int {
		if a.Seconds != b.Seconds {
			return b.Seconds - a.Seconds
		}
		return b.Width*b.Height - a.Width*a.Height
	})
	best := -1.0
	for k, secs := range r.Candidates {
		if secs > best || (secs == best && k < s.CandidateType) {
			s.CandidateType, best = k, secs
		}
	}
	return s
}

// Totals are a node's histograms over every sample of every participant,
// for /metrics. The zero value is ready; its owner serialises calls.
type Totals struct {
	hists [numMetrics]Hist
	sums  [numMetrics]float64
}

// Observe adds s.
func (t *Totals) Observe(s Sample) {
	for i, v := range s.measured() {
		m := Metric(i)
		if !known(v) {
			continue
		}
		if t.hists[m] == nil {
			t.hists[m] = newHist(m)
		}
		t.hists[m].observe(m, v)
		t.sums[m] += v
	}
}

// Snapshot returns m's cumulative bucket counts (Prometheus style: each
// count includes the buckets below it, keyed by upper bound), the number of
// samples and their sum.
func (t *Totals) Snapshot(m Metric) (buckets map[float64]uint64, count uint64, sum float64) {
	buckets = make(map[float64]uint64, len(bounds[m]))
	h := t.hists[m]
	var cum uint64
	for i, b := range bounds[m] {
		if h != nil {
			cum += uint64(h[i])
		}
		buckets[b] = cum
	}
	if h != nil {
		count = h.Count()
	}
	return buckets, count, t.sums[m]
}
