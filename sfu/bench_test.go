package sfu

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"
)

// BenchmarkPionForward measures the whole cost of forwarding one packet: a
// real pion publisher writes a VP8 packet, the SFU reads, rewrites, queues
// and writes it, and a real pion subscriber reads it, over loopback UDP with
// SRTP and all interceptors on both sides. ns/op and allocs/op cover all
// three parties (one process), so they are an upper bound of the SFU's
// share; BenchmarkForward isolates ours.
//
// The publisher keeps at most window packets in flight so that the kernel's
// socket buffers never overflow; lost packets would be waited for forever.
func BenchmarkPionForward(b *testing.B) {
	const window = 64
	s := newTestSFU(b, nil)
	pub := joinPeer(b, s, "bench", "pub", peerOptions{noMedia: true})
	defer pub.close()
	sub := joinPeer(b, s, "bench", "sub", peerOptions{noMedia: true})
	defer sub.close()

	// The subscriber counts what it reads; the test peer's recording
	// reader would allocate.
	var received atomic.Int64
	arrived := make(chan struct{}, 1)
	sub.sub.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		sub.wg.Add(1)
		defer sub.wg.Done()
		buf := make([]byte, 1500)
		for {
			if _, _, err := t.Read(buf); err != nil {
				return
			}
			received.Add(1)
			select {
			case arrived <- struct{}{}:
			default:
			}
		}
	})
	video := pub.newVideoTrack("cam")
	if _, err := pub.pub.AddTransceiverFromTrack(video, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		b.Fatal(err)
	}
	pub.enqueue(pub.publish)

	pkt := &rtp.Packet{Header: rtp.Header{Version: 2, Marker: true}, Payload: vp8Keyframe(1100)}
	send := func() {
		pkt.SequenceNumber++
		pkt.Timestamp += 3000
		if err := video.WriteRTP(pkt); err != nil {
			b.Fatal(err)
		}
	}
	// Warm up until packets come through.
	waitFor(b, 20*time.Second, "the first forwarded packets", func() bool {
		send()
		return received.Load() >= 10
	})
	time.Sleep(100 * time.Millisecond) // let the warm-up packets in flight land
	base := received.Load()

	b.SetBytes(int64(len(pkt.Payload)))
	b.ReportAllocs()
	b.ResetTimer()
	sent := int64(0)
	for i := 0; i < b.N; i++ {
		for sent-(received.Load()-base) >= window {
			select {
			case <-arrived:
			case <-time.After(5 * time.Second):
				b.Fatalf("%d packets sent, %d received: lost", sent, received.Load()-base)
			}
		}
		send()
		sent++
	}
	for received.Load()-base < sent {
		select {
		case <-arrived:
		case <-time.After(5 * time.Second):
			b.Fatalf("%d packets sent, %d received: lost", sent, received.Load()-base)
		}
	}
	b.StopTimer()
	if d := s.Stats().DroppedPackets; d != 0 {
		b.Logf("%d packets dropped from the queue", d)
	}
}

// BenchmarkSRTPProfile: encrypting one 1,000-byte forwarded packet with
// each SRTP profile the SFU offers, in the order it offers them.
func BenchmarkSRTPProfile(b *testing.B) {
	for _, p := range []srtp.ProtectionProfile{srtp.ProtectionProfileAeadAes128Gcm, srtp.ProtectionProfileAeadAes256Gcm, srtp.ProtectionProfileAes128CmHmacSha1_80} {
		b.Run(p.String(), func(b *testing.B) {
			keyLen, _ := p.KeyLen()
			saltLen, _ := p.SaltLen()
			ctx, err := srtp.CreateContext(make([]byte, keyLen), make([]byte, saltLen), p)
			if err != nil {
				b.Fatal(err)
			}
			h := rtp.Header{Version: 2, PayloadType: 96, SSRC: 1}
			pkt, err := (&rtp.Packet{Header: h, Payload: make([]byte, 1000)}).Marshal()
			if err != nil {
				b.Fatal(err)
			}
			dst := make([]byte, 0, 1200)
			b.SetBytes(int64(len(pkt)))
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				// Each packet a new sequence number, as on the wire.
				pkt[2], pkt[3] = byte(i>>8), byte(i)
				if dst, err = ctx.EncryptRTP(dst[:0], pkt, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
