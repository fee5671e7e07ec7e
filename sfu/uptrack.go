package sfu

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// receiveMTU is the largest RTP packet we read, the same as pion's default
// receive MTU.
const receiveMTU = 1500

// upTrack is one published track: what one participant sends of one kind,
// fanned out to one downTrack per subscriber.
//
// The remote track feeding it may change: when the publisher sends a new
// track of the same kind (a new SSRC after an ICE failure or a camera swap),
// the upTrack switches to it and the subscribers' downTracks carry on.
type upTrack struct {
	id        string // "<participantID>-<kind>", the subscribers' track id
	streamID  string // the publisher's participant id, the subscribers' stream id
	kind      webrtc.RTPCodecType
	codec     webrtc.RTPCodecCapability
	keyframes *keyframeRequester // nil for audio
	hist      *history           // the last packets sent, for NACKs; nil for audio
	epoch     time.Time          // origin of the arrival times given to the rewriters

	source     atomic.Uint64 // generation of the remote track being forwarded
	remoteSSRC atomic.Uint32 // its SSRC, the target of keyframe requests
	// redPT is the payload type the publisher gave redundant audio (RFC
	// 2198, red.go), 0 if none: its packets with it carry RED.
	redPT atomic.Uint32
	// red: the remote track being forwarded sends RED (counted in Stats).
	red atomic.Bool

	// downs is read per packet without a lock. Writers hold mu and replace
	// the slice, never change it in place.
	downs atomic.Pointer[[]*downTrack]

	mu     sync.Mutex // guards closed, and serialises writers of downs
	closed bool

	redTracks *atomic.Int64 // the SFU's count of published RED tracks
}

func newUpTrack(publisherID string, codec webrtc.RTPCodecParameters, kind webrtc.RTPCodecType) *upTrack {
	return &upTrack{
		id:       publisherID + "-" + kind.String(),
		streamID: publisherID,
		kind:     kind,
		codec:    codec.RTPCodecCapability,
		epoch:    time.Now(),
	}
}

// attach adds a subscriber's downTrack; false if the track has ended.
func (u *upTrack) attach(dt *downTrack) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		return false
	}
	l := append(u.subscribers(), dt)
	u.downs.Store(&l)
	return true
}

// detach removes a subscriber's downTrack.
func (u *upTrack) detach(dt *downTrack) {
	u.mu.Lock()
	defer u.mu.Unlock()
	l := u.subscribers()
	if i := slices.Index(l, dt); i >= 0 {
		l = slices.Delete(l, i, i+1)
		u.downs.Store(&l)
	}
}

// subscribers returns a copy of the downTracks.
func (u *upTrack) subscribers() []*downTrack {
	if l := u.downs.Load(); l != nil {
		return slices.Clone(*l)
	}
	return nil
}

// close ends the track: nothing more is forwarded and nothing can attach.
func (u *upTrack) close() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.closed = true
	u.downs.Store(nil)
}

// setSource makes remote the track to forward and returns its generation;
// packets read from earlier remote tracks are ignored from now on.
func (u *upTrack) setSource(remote *webrtc.TrackRemote, codecs []webrtc.RTPCodecParameters) uint64 {
	u.remoteSSRC.Store(uint32(remote.SSRC()))
	if u.kind == webrtc.RTPCodecTypeAudio {
		_, red := audioPayloadTypes(codecs)
		u.redPT.Store(uint32(red))
		isRED := strings.EqualFold(remote.Codec().MimeType, mimeTypeRED)
		if was := u.red.Swap(isRED); was != isRED && u.redTracks != nil {
			if isRED {
				u.redTracks.Add(1)
			} else {
				u.redTracks.Add(-1)
			}
		}
	}
	return u.source.Add(1)
}

// requestKeyframe asks the publisher for a keyframe, throttled. Audio has no
// keyframes.
func (u *upTrack) requestKeyframe() {
	if u.keyframes != nil {
		u.keyframes.request()
	}
}

// read forwards what remote receives until it ends. It is the one reader
// goroutine of remote; buffer and packet are reused for every packet.
func (u *upTrack) read(remote *webrtc.TrackRemote, gen uint64) {
	buf := make([]byte, receiveMTU)
	var pkt rtp.Packet
	for {
		n, _, err := remote.Read(buf)
		if err != nil {
			return
		}
		u.handle(buf[:n], gen, &pkt)
	}
}

// handle parses one packet of source generation gen into pkt and queues it
// for every subscriber. It allocates nothing.
func (u *upTrack) handle(b []byte, gen uint64, pkt *rtp.Packet) {
	if u.source.Load() != gen {
		return // a replaced remote track; its receiver ends soon
	}
	if err := pkt.Unmarshal(b); err != nil {
		return
	}
	downs := u.downs.Load()
	if downs == nil {
		return
	}
	if u.hist != nil {
		u.hist.put(pkt.SSRC, pkt.SequenceNumber, pkt.Marker, pkt.Payload)
	}
	now := time.Since(u.epoch)
	for _, dt := range *downs {
		dt.enqueue(&pkt.Header, pkt.Payload, now)
	}
}
