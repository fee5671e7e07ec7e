package signaling

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/logging"
	"github.com/pion/turn/v5"
)

const turnSecret = "a shared secret of 32 characters"

// turnServer starts pion's TURN server on loopback, checking credentials in
// the TURN REST API scheme with turnSecret, as coturn's use-auth-secret does.
func turnServer(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := turn.NewServer(turn.ServerConfig{
		Realm:       "clinic.test",
		AuthHandler: turn.LongTermTURNRESTAuthHandler(turnSecret, logging.NewDefaultLoggerFactory().NewLogger("turn")),
		PacketConnConfigs: []turn.PacketConnConfig{{
			PacketConn:            pc,
			RelayAddressGenerator: &turn.RelayAddressGeneratorStatic{RelayAddress: net.ParseIP("127.0.0.1"), Address: "127.0.0.1"},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return pc.LocalAddr().String()
}

// allocate asks the TURN server at addr for a relayed address with the
// credentials, as a browser does for a relay candidate.
func allocate(t *testing.T, addr, username, password string) error {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c, err := turn.NewClient(&turn.ClientConfig{
		STUNServerAddr: addr, TURNServerAddr: addr, Conn: conn,
		Username: username, Password: password, Realm: "clinic.test",
		RTO: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	relay, err := c.Allocate()
	if err != nil {
		return err
	}
	return relay.Close()
}

// TestTURNCredentials: each participant gets a TURN server with a credential
// of its own in joined; a TURN server with the shared secret accepts it, and
// refuses it altered or expired.
func TestTURNCredentials(t *testing.T) {
	addr := turnServer(t)
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	ts := newTestServer(t, Config{
		ICEServers: []ICEServer{{URLs: []string{"stun:stun.example.org"}}},
		TURN:       &TURN{URLs: []string{"turn:" + addr + "?transport=udp"}, Secret: []byte(turnSecret), TTL: time.Hour, Now: clock},
	})
	p := ts.mustDial("a", ts.token(RolePatient, "patient-7", "a"))
	pj := p.join()
	if len(pj.ICEServers) != 2 || pj.ICEServers[0].URLs[0] != "stun:stun.example.org" {
		t.Fatalf("ice servers %+v: want the STUN server, then TURN", pj.ICEServers)
	}
	ice := pj.ICEServers[1]
	if len(ice.URLs) != 1 || ice.URLs[0] != "turn:"+addr+"?transport=udp" {
		t.Fatalf("TURN URLs %v", ice.URLs)
	}
	// "<expiry>:<participant id>": the person's id is not in it.
	expiry, id, ok := strings.Cut(ice.Username, ":")
	if !ok || id != pj.ParticipantID || strings.Contains(ice.Username, "patient-7") {
		t.Fatalf("username %q: want <expiry>:%s", ice.Username, pj.ParticipantID)
	}
	if n, err := strconv.ParseInt(expiry, 10, 64); err != nil || n != now.Add(time.Hour).Unix() {
		t.Fatalf("username %q: expiry %s, want %d", ice.Username, expiry, now.Add(time.Hour).Unix())
	}
	mac := hmac.New(sha1.New, []byte(turnSecret))
	mac.Write([]byte(ice.Username))
	if want := base64.StdEncoding.EncodeToString(mac.Sum(nil)); ice.Credential != want {
		t.Fatalf("credential %q, want HMAC-SHA1 %q", ice.Credential, want)
	}

	if err := allocate(t, addr, ice.Username, ice.Credential); err != nil {
		t.Fatalf("the TURN server refused the credential: %v", err)
	}
	// Another first character: the credential is then surely different.
	altered := "A" + ice.Credential[1:]
	if ice.Credential[0] == 'A' {
		altered = "B" + ice.Credential[1:]
	}
	if err := allocate(t, addr, ice.Username, altered); err == nil {
		t.Fatal("an altered credential was accepted")
	}

	// Another participant gets a credential of its own.
	c := ts.mustDial("a", ts.token(RoleClinician, "c", ""))
	cj := c.join()
	if cj.ICEServers[1].Username == ice.Username {
		t.Fatal("two participants share a TURN username")
	}

	// Minted two hours ago with a one-hour life: expired.
	mu.Lock()
	now = now.Add(-2 * time.Hour)
	mu.Unlock()
	old := ts.mustDial("a", ts.token(RoleRelative, "r", "a"))
	oj := old.join()
	if err := allocate(t, addr, oj.ICEServers[1].Username, oj.ICEServers[1].Credential); err == nil {
		t.Fatal("an expired credential was accepted")
	}
}

func TestTURNValidate(t *testing.T) {
	secret := []byte(turnSecret)
	for _, tc := range []struct {
		name string
		turn TURN
		ok   bool
	}{
		{"good", TURN{URLs: []string{"turn:t.example.org:3478", "turns:t.example.org:443?transport=tcp"}, Secret: secret}, true},
		{"no URLs", TURN{Secret: secret}, false},
		{"a STUN URL", TURN{URLs: []string{"stun:t.example.org"}, Secret: secret}, false},
		{"short secret", TURN{URLs: []string{"turn:t.example.org"}, Secret: []byte("short")}, false},
		{"negative TTL", TURN{URLs: []string{"turn:t.example.org"}, Secret: secret, TTL: -time.Second}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.turn.Validate()
			if (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok %v", err, tc.ok)
			}
			cfg := Config{TURN: &tc.turn}
			if err := cfg.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Config.Validate() = %v, want ok %v", err, tc.ok)
			}
		})
	}
}
