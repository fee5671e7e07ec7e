package sfu

import (
	"maps"
	"slices"
	"sync"

	"github.com/pion/webrtc/v4"
)

// room is a set of participants who all receive each other's media. It has
// no goroutines of its own: its participants own theirs, and the room ends
// when the last one leaves.
//
// Who is in the room and what each one publishes change together under mu,
// so that a participant who joins while someone publishes subscribes to the
// new track exactly once: either Join finds it, or the publisher finds the
// new participant.
type room struct {
	id  string
	max int

	mu           sync.Mutex // guards the following, and Participant.published of the members
	participants map[string]*Participant
}

func newRoom(id string, maxParticipants int) *room {
	return &room{id: id, max: maxParticipants, participants: map[string]*Participant{}}
}

// add admits p and returns the tracks the others publish.
func (r *room) add(p *Participant) ([]*upTrack, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.participants[p.id]; ok {
		return nil, ErrParticipantExists
	}
	if len(r.participants) >= r.max {
		return nil, ErrRoomFull
	}
	var ups []*upTrack
	for _, o := range r.participants {
		ups = append(ups, slices.Collect(maps.Values(o.published))...)
	}
	r.participants[p.id] = p
	return ups, nil
}

// remove takes p out and returns what it published, who remains, and
// whether the room is now empty.
func (r *room) remove(p *Participant) (ups []*upTrack, others []*Participant, empty bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.participants[p.id] != p {
		return nil, nil, len(r.participants) == 0
	}
	delete(r.participants, p.id)
	ups = slices.Collect(maps.Values(p.published))
	p.published = nil
	return ups, slices.Collect(maps.Values(r.participants)), len(r.participants) == 0
}

// members returns the participants.
func (r *room) members() []*Participant {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Collect(maps.Values(r.participants))
}

// publish records that p sends a remote track of kind. If p already publishes
// that kind, the existing track is returned (the caller switches its source);
// otherwise newTrack makes one, and subscribers lists who must subscribe to
// it. up is nil if p is no longer in the room.
func (r *room) publish(p *Participant, kind webrtc.RTPCodecType, newTrack func() *upTrack) (up *upTrack, created bool, subscribers []*Participant) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.participants[p.id] != p {
		return nil, false, nil
	}
	if up := p.published[kind]; up != nil {
		return up, false, nil
	}
	up = newTrack()
	p.published[kind] = up
	for _, o := range r.participants {
		if o != p {
			subscribers = append(subscribers, o)
		}
	}
	return up, true, subscribers
}

// hasPublished tells whether p is still in the room publishing up.
func (r *room) hasPublished(p *Participant, up *upTrack) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.participants[p.id] == p && p.published[up.kind] == up
}
