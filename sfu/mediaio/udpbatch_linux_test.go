//go:build linux

package mediaio

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func listenBatch(t *testing.T, network, addr string) (*batchConn, *Counters) {
	t.Helper()
	la, err := net.ResolveUDPAddr(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.ListenUDP(network, la)
	if err != nil {
		t.Skipf("no %s socket here: %v", addr, err)
	}
	var counters Counters
	b, ok := NewBatchConn(c, &counters).(*batchConn)
	if !ok {
		t.Fatal("newBatchConn did not batch a UDP socket")
	}
	t.Cleanup(func() { _ = b.Close() })
	return b, &counters
}

// TestBatchConnWrites: four goroutines write 2,000 numbered datagrams each
// through one socket; every one arrives, each writer's in order, in fewer
// system calls than datagrams.
func TestBatchConnWrites(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	for _, tc := range []struct{ network, local, peer string }{
		{"udp4", "127.0.0.1:0", "127.0.0.1:0"},
		{"udp6", "[::1]:0", "[::1]:0"},
		{"udp", ":0", "127.0.0.1:0"}, // dual-stack socket writing to IPv4
	} {
		t.Run(tc.local+"->"+tc.peer, func(t *testing.T) {
			b, counters := listenBatch(t, tc.network, tc.local)
			peerNet := "udp4"
			if tc.peer[0] == '[' {
				peerNet = "udp6"
			}
			pa, _ := net.ResolveUDPAddr(peerNet, tc.peer)
			peer, err := net.ListenUDP(peerNet, pa)
			if err != nil {
				t.Skipf("no peer socket: %v", err)
			}
			defer peer.Close()
			_ = peer.SetReadBuffer(8 << 20)
			to := peer.LocalAddr().(*net.UDPAddr).AddrPort()

			const writers, each = 4, 2000
			got := make(chan [2]uint32, writers*each)
			go func() {
				buf := make([]byte, 2048)
				for {
					_ = peer.SetReadDeadline(time.Now().Add(5 * time.Second))
					n, err := peer.Read(buf)
					if err != nil {
						close(got)
						return
					}
					if n != 1000 {
						t.Errorf("datagram of %d bytes, want 1000", n)
					}
					got <- [2]uint32{binary.BigEndian.Uint32(buf), binary.BigEndian.Uint32(buf[4:])}
					if len(got) == cap(got) {
						close(got)
						return
					}
				}
			}()
			var wg sync.WaitGroup
			for w := range writers {
				wg.Go(func() {
					p := make([]byte, 1000)
					for i := range each {
						binary.BigEndian.PutUint32(p, uint32(w))
						binary.BigEndian.PutUint32(p[4:], uint32(i))
						if n, err := b.WriteToAddrPort(p, to); err != nil || n != len(p) {
							t.Errorf("write: %d, %v", n, err)
							return
						}
						clear(p) // the socket copied it
						if i%20 == 19 {
							time.Sleep(time.Millisecond) // a paced sender, as media is
						}
					}
				})
			}
			wg.Wait()
			next := make([]uint32, writers)
			count := 0
			for m := range got {
				w, i := m[0], m[1]
				if w >= writers || i != next[w] {
					t.Fatalf("writer %d's datagram %d arrived, want %d", w, i, next[w])
				}
				next[w]++
				count++
			}
			if count != writers*each {
				t.Fatalf("%d of %d datagrams arrived", count, writers*each)
			}
			calls, sent := counters.SendCalls.Load(), counters.Sent.Load()
			if sent != writers*each || calls == 0 || calls > sent || counters.SendErrors.Load() != 0 {
				t.Fatalf("%d datagrams in %d calls, %d errors", sent, calls, counters.SendErrors.Load())
			}
			t.Logf("%d datagrams in %d sendmmsg calls", sent, calls)
		})
	}
}

// TestBatchConnReads: datagrams queued while nobody reads come back in one
// recvmmsg, each with its sender's address; a datagram larger than a read
// slot is dropped and counted, and the ones after it still come.
func TestBatchConnReads(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	b, counters := listenBatch(t, "udp4", "127.0.0.1:0")
	c, err := net.DialUDP("udp4", nil, b.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	from := c.LocalAddr().(*net.UDPAddr).AddrPort()
	for i := range 10 {
		size := 100 + i
		if i == 5 {
			size = readSlot + 1
		}
		p := make([]byte, size)
		p[0] = byte(i)
		if _, err := c.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(50 * time.Millisecond) // all queued in the socket
	buf := make([]byte, 8192)
	for i := range 10 {
		if i == 5 {
			continue
		}
		_ = b.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, addr, err := b.ReadFromAddrPort(buf)
		if err != nil {
			t.Fatal(err)
		}
		if n != 100+i || buf[0] != byte(i) || addr != from {
			t.Fatalf("read %d bytes (#%d) from %s, want %d bytes (#%d) from %s", n, buf[0], addr, 100+i, i, from)
		}
	}
	if calls, got := counters.RecvCalls.Load(), counters.Received.Load(); calls != 1 || got != 10 {
		t.Errorf("%d datagrams in %d recvmmsg calls, want 10 in 1", got, calls)
	}
	if e := counters.RecvErrors.Load(); e != 1 {
		t.Errorf("%d read errors, want 1 (the oversized datagram)", e)
	}
	// A deadline ends a read that waits, as on any net.PacketConn.
	_ = b.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, _, err := b.ReadFrom(buf); !errors.Is(err, syscall.ETIMEDOUT) && !isTimeout(err) {
		t.Fatalf("read past the deadline: %v", err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// TestBatchConnRefuses: what a blocking socket would refuse is refused at
// once; what was queued before Close still leaves.
func TestBatchConnRefuses(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	b, _ := listenBatch(t, "udp4", "127.0.0.1:0")
	if _, err := b.WriteToAddrPort([]byte("x"), netip.MustParseAddrPort("[2001:db8::1]:5000")); !errors.Is(err, syscall.EAFNOSUPPORT) {
		t.Errorf("IPv6 peer on an IPv4 socket: %v, want EAFNOSUPPORT", err)
	}
	if _, err := b.WriteTo([]byte("x"), &net.TCPAddr{}); err == nil {
		t.Error("WriteTo accepted a TCP address")
	}

	peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	to := peer.LocalAddr().(*net.UDPAddr).AddrPort()
	big := make([]byte, writeSlot+500) // a slot grows for it
	big[len(big)-1] = 7
	for range 3 {
		if _, err := b.WriteToAddrPort(big, to); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	for i := range 3 {
		_ = peer.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := peer.Read(buf)
		if err != nil || n != len(big) || buf[n-1] != 7 {
			t.Fatalf("datagram %d after Close: %d bytes, %v", i, n, err)
		}
	}
	if _, err := b.WriteToAddrPort([]byte("x"), to); !errors.Is(err, net.ErrClosed) {
		t.Errorf("write after Close: %v, want net.ErrClosed", err)
	}
}

// TestBatchConnAllocs: a datagram written through one batching socket and
// read from another costs no allocation, the sender's goroutine included
// (AllocsPerRun counts the whole process).
func TestBatchConnAllocs(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	a, _ := listenBatch(t, "udp4", "127.0.0.1:0")
	b, _ := listenBatch(t, "udp4", "127.0.0.1:0")
	to := b.LocalAddr().(*net.UDPAddr).AddrPort()
	p, buf := make([]byte, 1200), make([]byte, 1500)
	_ = b.SetReadDeadline(time.Now().Add(10 * time.Second))
	allocs := testing.AllocsPerRun(500, func() {
		if _, err := a.WriteToAddrPort(p, to); err != nil {
			t.Fatal(err)
		}
		if _, _, err := b.ReadFromAddrPort(buf); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0 {
		t.Errorf("%.2f allocations per datagram", allocs)
	}
}
