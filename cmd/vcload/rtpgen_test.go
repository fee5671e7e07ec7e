package main

import (
	"errors"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// collected is what a source wrote, copied (the sources reuse their buffers).
type collected struct {
	at      time.Time
	header  rtp.Header
	payload []byte
}

func collect(out *[]collected, now *time.Time) writeFunc {
	return func(p *rtp.Packet) error {
		*out = append(*out, collected{at: *now, header: p.Header, payload: append([]byte(nil), p.Payload...)})
		return nil
	}
}

// pollFor polls a source on a fake clock every step for d and returns what it wrote.
func pollFor(t *testing.T, poll func(time.Time, writeFunc) (int, error), start time.Time, d, step time.Duration) []collected {
	t.Helper()
	var out []collected
	now := start
	write := collect(&out, &now)
	for ; now.Before(start.Add(d)); now = now.Add(step) {
		n0 := len(out)
		n, err := poll(now, write)
		if err != nil {
			t.Fatalf("poll at %s: %v", now.Sub(start), err)
		}
		if n != len(out)-n0 {
			t.Fatalf("poll at %s returned %d packets, wrote %d", now.Sub(start), n, len(out)-n0)
		}
	}
	return out
}

func TestOpusPacing(t *testing.T) {
	start := time.Unix(1000, 0)
	s := newOpusSource(start, 65530, 4294967000) // both wrap during the run
	pkts := pollFor(t, s.poll, start, 10*time.Second, time.Millisecond)
	if got, want := len(pkts), 500; got != want {
		t.Fatalf("packets in 10 s: got %d, want %d (50/s)", got, want)
	}
	for i, p := range pkts {
		if got, want := p.at.Sub(start), time.Duration(i)*20*time.Millisecond; got != want {
			t.Fatalf("packet %d sent at %s, want %s", i, got, want)
		}
		if got, want := p.header.SequenceNumber, uint16(65530+i); got != want {
			t.Fatalf("packet %d: seq %d, want %d", i, got, want)
		}
		if got, want := p.header.Timestamp, uint32(4294967000+960*i); got != want {
			t.Fatalf("packet %d: timestamp %d, want %d", i, got, want)
		}
		if len(p.payload) != opusPayloadBytes || p.payload[0] != opusTOC {
			t.Fatalf("packet %d: %d bytes starting %#x, want %d starting with the TOC byte", i, len(p.payload), p.payload[0], opusPayloadBytes)
		}
	}
}

func TestVP8PacingAndBitrate(t *testing.T) {
	start := time.Unix(1000, 0)
	s := newVP8Source(start, 100, 0, 32760)
	const d = 10 * time.Second
	pkts := pollFor(t, s.poll, start, d, time.Millisecond)

	var bytes int
	frames := map[uint32][]collected{}
	var order []uint32
	for _, p := range pkts {
		bytes += len(p.payload)
		if _, ok := frames[p.header.Timestamp]; !ok {
			order = append(order, p.header.Timestamp)
		}
		frames[p.header.Timestamp] = append(frames[p.header.Timestamp], p)
	}
	if got, want := len(frames), 300; got != want {
		t.Fatalf("frames in 10 s: got %d, want %d (30/s)", got, want)
	}
	rate := float64(bytes*8) / d.Seconds()
	if rate < 1.49e6 || rate > 1.51e6 {
		t.Errorf("payload bitrate %.0f bit/s, want 1.5 Mbit/s ±1%%", rate)
	}
	pps := float64(len(pkts)) / d.Seconds()
	if pps < 165 || pps > 175 {
		t.Errorf("%.1f packets/s, want ~170", pps)
	}
	for i, ts := range order {
		f := frames[ts]
		if got, want := ts, uint32(3000*i); got != want {
			t.Fatalf("frame %d: timestamp %d, want %d", i, got, want)
		}
		if len(f) < 5 || len(f) > 6 {
			t.Errorf("frame %d: %d packets, want 5 or 6", i, len(f))
		}
		for j, p := range f {
			if got, want := p.header.Marker, j == len(f)-1; got != want {
				t.Errorf("frame %d packet %d: marker %v, want %v", i, j, got, want)
			}
			if p.at != f[0].at {
				t.Errorf("frame %d packet %d sent at %s, the frame's first at %s", i, j, p.at.Sub(start), f[0].at.Sub(start))
			}
		}
		if got, want := f[0].at.Sub(start), time.Duration(i)*time.Second/30; got-want >= time.Millisecond || got < want {
			t.Errorf("frame %d sent at %s, want %s (within the 1 ms step)", i, got, want)
		}
	}
	for i, p := range pkts {
		if got, want := p.header.SequenceNumber, uint16(100+i); got != want {
			t.Fatalf("packet %d: seq %d, want %d", i, got, want)
		}
	}
}

func TestVP8Descriptor(t *testing.T) {
	start := time.Unix(1000, 0)
	s := newVP8Source(start, 0, 0, 32766)
	pkts := pollFor(t, s.poll, start, 2*time.Second+50*time.Millisecond, time.Millisecond) // frames 0-61

	keyframes := 0
	var lastPID uint16
	for i, p := range pkts {
		var vp8 codecs.VP8Packet
		if _, err := vp8.Unmarshal(p.payload); err != nil {
			t.Fatalf("packet %d: pion cannot parse the VP8 descriptor: %v", i, err)
		}
		first := i == 0 || pkts[i-1].header.Marker
		if got, want := vp8.S == 1, first; got != want {
			t.Errorf("packet %d: S=%d, want start of partition only on a frame's first packet", i, vp8.S)
		}
		if got, want := vp8.IsPartitionHead(p.payload), first; got != want {
			t.Errorf("packet %d: IsPartitionHead %v, want %v", i, got, want)
		}
		if vp8.I != 1 {
			t.Fatalf("packet %d: no PictureID", i)
		}
		if first && i > 0 && vp8.PictureID != (lastPID+1)&0x7fff {
			t.Errorf("packet %d: PictureID %d after %d, want +1 mod 2^15", i, vp8.PictureID, lastPID)
		}
		lastPID = vp8.PictureID
		key := isVP8Keyframe(p.payload)
		if key {
			keyframes++
			if !first {
				t.Errorf("packet %d: keyframe header on a packet that does not start a frame", i)
			}
			// RFC 7741 §4.3: the inverse keyframe bit P of the payload header is 0.
			if vp8.Payload[0]&1 != 0 {
				t.Errorf("packet %d: P bit set on a keyframe", i)
			}
		} else if first && vp8.Payload[0]&1 != 1 {
			t.Errorf("packet %d: interframe without the P bit", i)
		}
		frame := p.header.Timestamp / 3000
		if wantKey := first && frame%60 == 0; key != wantKey {
			t.Errorf("packet %d (frame %d): keyframe %v, want %v (one every 2 s)", i, frame, key, wantKey)
		}
	}
	if keyframes != 2 {
		t.Errorf("%d keyframes in frames 0-61, want 2", keyframes)
	}
}

func TestVP8KeyframeOnRequest(t *testing.T) {
	start := time.Unix(1000, 0)
	s := newVP8Source(start, 0, 0, 0)
	var out []collected
	now := start.Add(100 * time.Millisecond)
	s.poll(now, collect(&out, &now)) // frames 0-3
	s.requestKeyframe()
	out = out[:0]
	now = now.Add(40 * time.Millisecond)
	s.poll(now, collect(&out, &now)) // frame 4, and 5 is not due yet
	if len(out) == 0 || !isVP8Keyframe(out[0].payload) {
		t.Fatal("the frame after a keyframe request is not a keyframe")
	}
	out = out[:0]
	now = now.Add(40 * time.Millisecond)
	s.poll(now, collect(&out, &now))
	if len(out) == 0 || isVP8Keyframe(out[0].payload) {
		t.Fatal("the request made more than one keyframe")
	}
}

func TestLateSourceSkips(t *testing.T) {
	start := time.Unix(1000, 0)
	s := newOpusSource(start, 0, 0)
	var out []collected
	now := start.Add(time.Second) // a starved sender wakes up 1 s late
	n, err := s.poll(now, collect(&out, &now))
	if err != nil {
		t.Fatal(err)
	}
	// It skips what is older than maxLag (200 ms) and sends the rest.
	if got, want := n, int(maxLag/opusPacketTime)+1; got != want {
		t.Errorf("packets after 1 s late: got %d, want %d", got, want)
	}
	if got, want := s.skipped, int64(50+1-n); got != want {
		t.Errorf("skipped %d, want %d", got, want)
	}
	// The timestamps follow the clock across the gap; the sequence numbers do
	// not jump, so receivers see no loss.
	if got, want := out[0].header.Timestamp, uint32(960*s.skipped); got != want {
		t.Errorf("first timestamp after the gap %d, want %d", got, want)
	}
	if out[0].header.SequenceNumber != 0 {
		t.Errorf("first seq after the gap %d, want 0", out[0].header.SequenceNumber)
	}
}

func TestWriteErrorStopsPoll(t *testing.T) {
	start := time.Unix(1000, 0)
	s := newVP8Source(start, 0, 0, 0)
	boom := errors.New("closed")
	calls := 0
	n, err := s.poll(start.Add(100*time.Millisecond), func(*rtp.Packet) error { calls++; return boom })
	if !errors.Is(err, boom) || n != 1 || calls != 1 {
		t.Fatalf("got %d packets, %d calls, err %v; want 1, 1, %v", n, calls, err, boom)
	}
	// The failed frame is not retried: the next poll carries on with the next frame.
	if got, want := s.next(), start.Add(time.Second/30); !got.Equal(want) {
		t.Errorf("next frame due %s, want %s", got.Sub(start), want.Sub(start))
	}
}
