package signaling

import "testing"

// TestScreenShareIsSaid: a participant whose video becomes a shared screen
// says so in mute, and the others see it in the participant list until it
// stops.
func TestScreenShareIsSaid(t *testing.T) {
	ts := newTestServer(t, Config{})
	c := ts.mustDial("a", ts.token(RoleClinician, "c", ""))
	cj := c.join()
	p := ts.mustDial("a", ts.token(RolePatient, "p", "a"))
	p.join()
	c.send(TypeMute, Mute{Audio: true, Video: true, Screen: true})
	p.waitParticipants(func(ps []Participant) bool {
		q, ok := findParticipant(ps, cj.ParticipantID)
		return ok && q.Screen && q.Video
	})
	c.send(TypeMute, Mute{Audio: true, Video: true})
	p.waitParticipants(func(ps []Participant) bool {
		q, ok := findParticipant(ps, cj.ParticipantID)
		return ok && !q.Screen && q.Video
	})
}
