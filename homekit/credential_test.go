package homekit

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"vclinic/internal/records/recordstest"
)

// TestNormalPairingCode: a code survives how people type it.
func TestNormalPairingCode(t *testing.T) {
	for i := 0; i < 100; i++ {
		c := newPairingCode()
		if len(c) != 14 || c[4] != '-' || c[9] != '-' || strings.ContainsAny(c, "ILOU") {
			t.Fatalf("code %q", c)
		}
		for _, typed := range []string{c, strings.ToLower(c), strings.ReplaceAll(c, "-", " "), strings.ReplaceAll(strings.ReplaceAll(c, "0", "O"), "1", "l")} {
			if normalPairingCode(typed) != normalPairingCode(c) {
				t.Fatalf("%q typed as %q reads %q", c, typed, normalPairingCode(typed))
			}
		}
	}
}

// TestPairingCodeExpires: a code unused within PairingFor is
// refused, at the store, on both databases.
func TestPairingCodeExpires(t *testing.T) {
	for _, b := range recordstest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			now := time.Now()
			s := openStore(t, b, Config{Clock: func() time.Time { return now }})
			actor := Actor{ID: "u-1", Role: RoleScheduler}
			if _, err := s.AddGateway(ctx, actor, Gateway{ID: "gw-1", PatientID: "p-1"}); err != nil {
				t.Fatal(err)
			}
			p, err := s.NewPairing(ctx, actor, "p-1", "gw-1")
			if err != nil {
				t.Fatal(err)
			}
			now = now.Add(PairingFor + time.Second)
			if _, err := s.Pair(ctx, p.Code, "10.0.0.1"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("an expired code: %v", err)
			}
			p, err = s.NewPairing(ctx, actor, "p-1", "gw-1")
			if err != nil {
				t.Fatal(err)
			}
			paired, err := s.Pair(ctx, p.Code, "10.0.0.1")
			if err != nil {
				t.Fatal(err)
			}
			if g, err := s.GatewayByCredential(ctx, paired.Credential); err != nil || g.ID != "gw-1" || g.PatientID != "p-1" {
				t.Fatalf("credential: %+v %v", g, err)
			}
			if _, err := s.GatewayByCredential(ctx, paired.Credential+"x"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("a wrong credential: %v", err)
			}
		})
	}
}
