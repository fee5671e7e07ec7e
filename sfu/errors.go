package sfu

import "errors"

// Sentinel errors. Errors returned by this package wrap one of these (test with
// errors.Is) and name the operation and the room or participant they concern.
var (
	// ErrRoomFull is returned by Join when the room already has
	// Config.MaxParticipants participants.
	ErrRoomFull = errors.New("room full")

	// ErrParticipantExists is returned by Join when the room already has a
	// participant with that id.
	ErrParticipantExists = errors.New("participant already in room")

	// ErrClosed is returned after SFU.Close or Participant.Close.
	ErrClosed = errors.New("closed")

	// ErrBadSDP is returned when an offer or answer cannot be parsed or
	// applied, or arrives when none is expected.
	ErrBadSDP = errors.New("bad SDP")

	// ErrBadCandidate is returned when an ICE candidate cannot be parsed or
	// added.
	ErrBadCandidate = errors.New("bad ICE candidate")

	// ErrProbeBusy is returned by Probe when too many probes run, in all or
	// for one key.
	ErrProbeBusy = errors.New("too many connection probes")

	// ErrProbeUnavailable is returned by Probe for a transport the media
	// server does not offer.
	ErrProbeUnavailable = errors.New("transport not offered")
)
