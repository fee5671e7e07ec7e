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

// maxLayers is the most simulcast encodings a published video track may
// have (RFC 8853): what browsers send, low, middle and high.
const maxLayers = 3

// upTrack is one published track: what one participant sends of one kind,
// fanned out to one downTrack per subscriber.
//
// A video track may come as up to maxLayers simulcast layers (RFC 8853,
// each its own RTP stream named by a RID, RFC 8852), lowest first in the
// order the publisher's offer lists them; each subscriber's downTrack
// forwards one of them (allocate.go). A track without simulcast is one
// layer.
//
// The remote track feeding a layer may change: when the publisher sends a
// new track of the same kind (a new SSRC after an ICE failure or a camera
// swap), the layer switches to it and the subscribers' downTracks carry on.
type upTrack struct {
	id       string // "<participantID>-<kind>", the subscribers' track id
	streamID string // the publisher's participant id, the subscribers' stream id
	kind     webrtc.RTPCodecType
	codec    webrtc.RTPCodecCapability
	epoch    time.Time // origin of the arrival times given to the rewriters

	// layers are fixed when the track is made: layers[0] is the only one
	// without simulcast.
	layers []*layer

	// redPT is the payload type the publisher gave redundant audio (RFC
	// 2198, red.go), 0 if none: its packets with it carry RED.
	redPT atomic.Uint32
	// red: the remote track being forwarded sends RED (counted in Stats).
	red atomic.Bool

	// downs is read per packet without a lock. Writers hold mu and replace
	// the slice, never change it in place.
	downs atomic.Pointer[[]*downTrack]

	// active is the set of layers the publisher was last told to send
	// (bit i: layer i); the publisher's control loop (allocate.go) sets it
	// and is woken through kick.
	active atomic.Uint32
	kick   chan struct{}

	mu     sync.Mutex // guards closed, and serialises writers of downs
	closed bool

	redTracks *atomic.Int64 // the SFU's count of published RED tracks
}

// layer is one simulcast encoding of a published track, or the only one.
type layer struct {
	rid        string
	counted    atomic.Bool        // counted in Stats.SimulcastLayers
	keyframes  *keyframeRequester // nil for audio
	hist       *history           // the last packets sent, for NACKs; nil for audio
	source     atomic.Uint64      // generation of the remote track being forwarded
	remoteSSRC atomic.Uint32      // its SSRC, the target of keyframe requests

	// lastAt and resumedAt are when the last packet arrived and when the
	// publisher was last told to resume the layer, on the upTrack's clock
	// (time since epoch); 0 if never.
	lastAt, resumedAt atomic.Int64
	// bytes counts what arrived, for the layer's bitrate; rate is that
	// bitrate over the last measurement (bits/s), and what it was when the
	// layer last sent, while it is paused.
	bytes atomic.Uint64
	rate  atomic.Uint64
	// measured: bytes as of the last measurement, when; owned by the
	// publisher's control loop.
	measured   uint64
	measuredAt time.Time
}

func newUpTrack(publisherID string, codec webrtc.RTPCodecParameters, kind webrtc.RTPCodecType, rids ...string) *upTrack {
	if len(rids) == 0 {
		rids = []string{""}
	}
	u := &upTrack{
		id:       publisherID + "-" + kind.String(),
		streamID: publisherID,
		kind:     kind,
		codec:    codec.RTPCodecCapability,
		epoch:    time.Now(),
		kick:     make(chan struct{}, 1),
	}
	u.active.Store(1<<len(rids) - 1)
	for _, rid := range rids {
		u.layers = append(u.layers, &layer{rid: rid})
	}
	return u
}

// layered reports whether the track comes as simulcast layers.
func (u *upTrack) layered() bool { return len(u.layers) > 1 }

// layerOf returns the index of the layer with RID rid; the first layer for
// a track without simulcast or an unknown RID.
func (u *upTrack) layerOf(rid string) int {
	for i, l := range u.layers {
		if l.rid == rid {
			return i
		}
	}
	return 0
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

// setSource makes remote the track to forward on layer i and returns its
// generation; packets read from earlier remote tracks of that layer are
// ignored from now on.
func (u *upTrack) setSource(i int, remote *webrtc.TrackRemote, codecs []webrtc.RTPCodecParameters) uint64 {
	l := u.layers[i]
	l.remoteSSRC.Store(uint32(remote.SSRC()))
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
	return l.source.Add(1)
}

// requestKeyframe asks the publisher for a keyframe of layer i, throttled.
// Audio has no keyframes.
func (u *upTrack) requestKeyframe(i int) {
	if i >= 0 && i < len(u.layers) && u.layers[i].keyframes != nil {
		u.layers[i].keyframes.request()
	}
}

// requestKeyframes asks for a keyframe of every layer.
func (u *upTrack) requestKeyframes() {
	for i := range u.layers {
		u.requestKeyframe(i)
	}
}

// read forwards what remote receives on layer i until it ends. It is the
// one reader goroutine of remote; buffer and packet are reused for every
// packet.
func (u *upTrack) read(i int, remote *webrtc.TrackRemote, gen uint64) {
	buf := make([]byte, receiveMTU)
	var pkt rtp.Packet
	for {
		n, _, err := remote.Read(buf)
		if err != nil {
			return
		}
		u.handle(buf[:n], i, gen, &pkt)
	}
}

// handle parses one packet of layer i's source generation gen into pkt and
// queues it for every subscriber. It allocates nothing.
func (u *upTrack) handle(b []byte, i int, gen uint64, pkt *rtp.Packet) {
	l := u.layers[i]
	if l.source.Load() != gen {
		return // a replaced remote track; its receiver ends soon
	}
	if err := pkt.Unmarshal(b); err != nil {
		return
	}
	l.bytes.Add(uint64(len(b)))
	downs := u.downs.Load()
	if downs == nil {
		return
	}
	if l.hist != nil {
		l.hist.put(pkt.SSRC, pkt.SequenceNumber, pkt.Marker, pkt.Payload)
	}
	now := time.Since(u.epoch)
	if u.layered() {
		l.lastAt.Store(int64(now))
	}
	key := false // the packet starts a keyframe: only a switching subscriber asks
	if u.kind == webrtc.RTPCodecTypeVideo {
		if d, ok := parseVP8(pkt.Payload); ok {
			key = d.keyframe
		}
	}
	for _, dt := range *downs {
		dt.enqueue(&pkt.Header, pkt.Payload, now, i, key)
	}
}
