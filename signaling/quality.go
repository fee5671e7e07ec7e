package signaling

import (
	"context"
	"time"

	"vclinic/internal/callquality"
	"vclinic/sfu"
)

// QualityLog keeps the quality record of each participant of an
// appointment's room with the appointment (room id = appointment id).
// Package scheduler satisfies it through cmd/vclinic. A record is handed
// over while the participant is in the call (a checkpoint) and once more
// when it leaves; each names its session (Record.Participant), and a later
// one of the same session replaces the earlier.
type QualityLog interface {
	RecordQuality(ctx context.Context, room string, r *callquality.Record) error
}

// freshStats is how old a page's stats may be and still describe the
// interval sampled (pages send them every 3 s).
const freshStats = 7 * time.Second

// qualityState is what the quality sampler keeps of a member; the sampler
// goroutine alone uses it.
type qualityState struct {
	rec       *callquality.Record
	at        time.Time // of the last sample
	link      sfu.Link  // as of the last sample
	freezes   int64     // the page's counters as of the last sample
	freezeMs  int64
	savedAt   time.Time // the last checkpoint
	appt      bool      // the room is an appointment's: the record is kept
	roomID    string
	finalised bool
}

// qualityJob is one member as the sampler sees it at a tick.
type qualityJob struct {
	mb         *member
	media      *sfu.Participant
	stats      Stats
	statsAt    time.Time
	reconnects int64
	ended      bool
}

// qualityLoop samples every member in a call each QualityInterval, keeps
// the node's totals for /metrics, and hands the records of appointment
// rooms to the QualityLog: every QualityCheckpoint while the member is in,
// and when it leaves. It runs until Shutdown, and hands over the records of
// those Shutdown ended before it stops.
func (s *Server) qualityLoop() {
	defer s.done()
	t := time.NewTicker(s.cfg.QualityInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			s.sampleQuality(time.Now(), false)
		case <-s.quit:
			s.sampleQuality(time.Now(), true)
			return
		}
	}
}

// sampleQuality takes one sample of every member in a call and of those who
// left since the last tick; final says the server is shutting down.
func (s *Server) sampleQuality(now time.Time, final bool) {
	s.mu.Lock()
	var jobs []qualityJob
	for _, r := range s.rooms {
		for _, mb := range r.members {
			if mb.media != nil {
				jobs = append(jobs, qualityJob{mb: mb, media: mb.media, stats: mb.stats, statsAt: mb.statsAt, reconnects: mb.reconnects})
			}
		}
	}
	for _, mb := range s.qualityEnded {
		if mb.media != nil {
			jobs = append(jobs, qualityJob{mb: mb, media: mb.media, stats: mb.stats, statsAt: mb.statsAt, reconnects: mb.reconnects, ended: true})
		}
	}
	s.qualityEnded = nil
	s.mu.Unlock()

	for _, j := range jobs {
		q := j.mb.quality
		if q.finalised {
			continue
		}
		smp := s.qualitySample(q, j, now)
		s.qualityMu.Lock()
		s.qualityTotals.Observe(smp)
		s.qualityMu.Unlock()
		if !q.appt || s.cfg.Quality == nil {
			continue
		}
		if j.ended || final || now.Sub(q.savedAt) >= s.cfg.QualityCheckpoint {
			q.savedAt = now
			q.finalised = j.ended || final
			ctx, cancel := context.WithTimeout(context.Background(), visitTimeout)
			if err := s.cfg.Quality.RecordQuality(ctx, q.roomID, q.rec); err != nil {
				s.log.Warn("visit quality not recorded", "room", q.roomID, "participant", j.mb.id, "err", err)
			}
			cancel()
		}
	}
}

// qualitySample measures j's member over the time since its last sample
// and adds it to its record.
func (s *Server) qualitySample(q *qualityState, j qualityJob, now time.Time) callquality.Sample {
	span := now.Sub(q.at)
	smp := callquality.Unknown()
	link := j.media.Link()
	if span <= 0 {
		return smp
	}
	secs := span.Seconds()
	if link.SentBytes >= q.link.SentBytes {
		smp.RecvKbps = float64(link.SentBytes-q.link.SentBytes) * 8 / 1000 / secs
	}
	if link.ReceivedBytes >= q.link.ReceivedBytes {
		smp.SendKbps = float64(link.ReceivedBytes-q.link.ReceivedBytes) * 8 / 1000 / secs
	}
	// Under a few dozen packets a percentage says little.
	if exp := link.Expected - q.link.Expected; exp >= 25 {
		smp.LossPct = 100 * float64(max(link.Lost-q.link.Lost, 0)) / float64(exp)
		smp.LossPct = min(smp.LossPct, 100)
	}
	smp.JitterMs = link.JitterMs
	if link.RTT > 0 {
		smp.RTTMs = float64(link.RTT) / float64(time.Millisecond)
	}
	smp.Candidate = link.Candidate
	// What only the page knows, if it told us lately: the video it
	// decodes, its freezes, and its own view of the path and round trip
	// (a browser behind a TURN relay knows it is relayed; we see the relay).
	if st := j.stats; !j.statsAt.IsZero() && now.Sub(j.statsAt) <= freshStats {
		if st.RoundTripSeconds > 0 {
			smp.RTTMs = st.RoundTripSeconds * 1000
		}
		if st.FrameWidth > 0 && st.FrameHeight > 0 {
			smp.Width, smp.Height, smp.FPS = st.FrameWidth, st.FrameHeight, st.FramesPerSecond
		}
		if st.CandidateType != "" {
			smp.Candidate = st.CandidateType
		}
		// Counters restart when the page renews its connection: a lower
		// value is counted from zero.
		if st.FreezeCount >= q.freezes {
			smp.Freezes = st.FreezeCount - q.freezes
		} else {
			smp.Freezes = st.FreezeCount
		}
		if st.FreezeMillis >= q.freezeMs {
			smp.FreezeMs = st.FreezeMillis - q.freezeMs
		} else {
			smp.FreezeMs = st.FreezeMillis
		}
		q.freezes, q.freezeMs = st.FreezeCount, st.FreezeMillis
	}
	q.rec.Add(now, span, smp)
	q.rec.LayerSwitches = int64(link.LayerSwitches)
	q.rec.Reconnects = j.reconnects
	// Counters can lag a subscription that just ended (link.go): keep the
	// higher baseline.
	if link.SentBytes < q.link.SentBytes {
		link.SentBytes = q.link.SentBytes
	}
	if link.ReceivedBytes < q.link.ReceivedBytes {
		link.ReceivedBytes = q.link.ReceivedBytes
	}
	q.link, q.at = link, now
	return smp
}

// newQualityState begins mb's quality record as its media p starts; appt
// says the room is an appointment's. mb's id, role, person and room are
// fixed when it is made.
func newQualityState(mb *member, p *sfu.Participant, appt bool) *qualityState {
	now := time.Now()
	rec := callquality.NewRecord(mb.id, mb.role, now)
	rec.Person = mb.sub
	return &qualityState{
		rec:     rec,
		at:      now,
		link:    p.Link(),
		savedAt: now,
		appt:    appt,
		roomID:  mb.room.id,
	}
}

// QualityHistogram returns the node's distribution of m over every
// participant's samples: cumulative bucket counts by upper bound, the
// count and the sum (Prometheus histogram semantics).
func (s *Server) QualityHistogram(m callquality.Metric) (map[float64]uint64, uint64, float64) {
	s.qualityMu.Lock()
	defer s.qualityMu.Unlock()
	return s.qualityTotals.Snapshot(m)
}
