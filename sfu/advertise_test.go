package sfu

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestAdvertiserRewrites only the bound ports of candidates of their
// transport, in candidate values and in whole descriptions.
func TestAdvertiserRewrites(t *testing.T) {
	a := newAdvertiser(Config{PublicUDPPort: 30000, PublicTCPPort: 30001}, 7882, 7881)
	for in, want := range map[string]string{
		"candidate:1 1 udp 2130706431 10.0.0.5 7882 typ host":                         "candidate:1 1 udp 2130706431 10.0.0.5 30000 typ host",
		"candidate:2 1 tcp 1671430143 10.0.0.5 7881 typ host tcptype passive":         "candidate:2 1 tcp 1671430143 10.0.0.5 30001 typ host tcptype passive",
		"candidate:3 1 udp 2130706431 10.0.0.5 7881 typ host":                         "candidate:3 1 udp 2130706431 10.0.0.5 7881 typ host", // another port
		"v=0\r\na=candidate:1 1 udp 2130706431 10.0.0.5 7882 typ host\r\na=mid:0\r\n": "v=0\r\na=candidate:1 1 udp 2130706431 10.0.0.5 30000 typ host\r\na=mid:0\r\n",
		"a=rtcp:7882 IN IP4 0.0.0.0\r\n":                                              "a=rtcp:7882 IN IP4 0.0.0.0\r\n", // not a candidate
	} {
		if got := a.rewrite(in); got != want {
			t.Errorf("rewrite(%q) = %q, want %q", in, got, want)
		}
	}
	if got := newAdvertiser(Config{}, 7882, 7881).rewrite("candidate:1 1 udp 1 10.0.0.5 7882 typ host"); !strings.Contains(got, " 7882 ") {
		t.Errorf("no public port, and the candidate changed: %q", got)
	}
	if err := (Config{PublicUDPPort: 70000}).WithDefaults().Validate(); err == nil {
		t.Error("Validate accepted PublicUDPPort 70000")
	}
}

// TestPublicUDPPort: with a port forward in front of the media port, the
// client is told the forward's port, and the call goes through it.
func TestPublicUDPPort(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	s, forward := behindForward(t, nil)
	public := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(s.cfg.PublicUDPPort))
	a := joinPeer(t, s, "room", "alice", peerOptions{})
	defer a.close()
	b := joinPeer(t, s, "room", "bob", peerOptions{noMedia: true})
	defer b.close()
	waitMedia(t, b, 20, a)
	for _, tp := range []*testPeer{a, b} {
		tp.mu.Lock()
		cands := slices.Clone(tp.candidates)
		tp.mu.Unlock()
		if len(cands) == 0 {
			t.Fatalf("%s was told no candidate", tp.id)
		}
		for _, c := range cands {
			if strings.Contains(c, " udp ") && !strings.Contains(c, " "+strconv.Itoa(int(public.Port()))+" typ ") {
				t.Errorf("%s was told %q, not the public port %d", tp.id, c, public.Port())
			}
		}
	}
	waitFor(t, 5*time.Second, "the clients' checks through the forward", func() bool { return len(forward.Flows()) > 0 })

	// A re-offer (carol publishes too) carries the candidates gathered by
	// then in its description: advertised the same way.
	offers := b.offers.Load()
	c := joinPeer(t, s, "room", "carol", peerOptions{})
	defer c.close()
	waitFor(t, 10*time.Second, "a subscribe re-offer to bob", func() bool { return b.offers.Load() > offers })
	offer, _ := b.lastOffer.Load().(string)
	n := 0
	for _, l := range strings.Split(offer, "\r\n") {
		if strings.HasPrefix(l, "a=candidate:") && strings.Contains(l, " udp ") {
			n++
			if !strings.Contains(l, " "+strconv.Itoa(int(public.Port()))+" typ ") {
				t.Errorf("bob's re-offer names %q, not the public port %d", l, public.Port())
			}
		}
	}
	if n == 0 {
		t.Fatalf("bob's re-offer carries no UDP candidate to check:\n%s", offer)
	}
}
