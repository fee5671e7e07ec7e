package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"vclinic/scheduler"
)

// clientFrom is an HTTP client whose connections come from the loopback
// address ip (127.0.0.0/8 is all loopback), so that a test can be several
// clients.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
}

// signIn posts a sign-in to base and returns the status and the session
// cookie's token.
func signIn(t *testing.T, c *http.Client, base, user, password string) (int, string) {
	t.Helper()
	resp, err := c.Post(base+"/api/v1/login", "application/json",
		strings.NewReader(`{"username":"`+user+`","password":"`+password+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	for _, ck := range resp.Cookies() {
		if ck.Name == scheduler.SessionCookie {
			return resp.StatusCode, ck.Value
		}
	}
	return resp.StatusCode, ""
}

// TestClusterSignInShared: what guards sign-in holds on every node. A name
// locked by failures on one node is locked on the other; one address's
// attempts are counted across the nodes; a session signed out everywhere on
// one node is over on the other.
func TestClusterSignInShared(t *testing.T) {
	nodes := startCluster(t, 2)
	a, b := nodes[0].srv.URL, nodes[1].srv.URL
	ctx := context.Background()
	if _, err := nodes[0].c.store.CreateUser(ctx, scheduler.System, "anna", "Dr. Anna Holm", scheduler.RoleClinician, "a long password 2"); err != nil {
		t.Fatal(err)
	}
	mette, err := nodes[0].c.store.CreateUser(ctx, scheduler.System, "mette", "Mette Lund", scheduler.RoleScheduler, "a long password 1")
	if err != nil {
		t.Fatal(err)
	}

	// The lock on a name: five failures, alternating nodes; then the right
	// password on either node is refused until the lock ends.
	c := clientFrom("127.0.0.3")
	for i := range scheduler.LockAfter {
		if status, _ := signIn(t, c, []string{a, b}[i%2], "anna", "wrong password"); status != 401 {
			t.Fatalf("failure %d: %d, want 401", i+1, status)
		}
	}
	for _, base := range []string{a, b} {
		if status, _ := signIn(t, c, base, "anna", "a long password 2"); status != 429 {
			t.Fatalf("a locked name on %s: %d, want 429", base, status)
		}
	}

	// Per address: the burst is spent on node A, and node B refuses the next.
	c2 := clientFrom("127.0.0.4")
	for i := range scheduler.LoginBurst {
		if status, _ := signIn(t, c2, a, "nobody-"+string(rune('a'+i)), "wrong password"); status != 401 {
			t.Fatalf("attempt %d from one address: %d, want 401", i+1, status)
		}
	}
	if status, _ := signIn(t, c2, b, "nobody-z", "wrong password"); status != 429 {
		t.Fatalf("the same address on node B after the burst on node A: %d, want 429", status)
	}

	// Sessions: signed in on node A, valid on B; signed out everywhere on A,
	// over on B.
	c3 := clientFrom("127.0.0.5")
	status, tok := signIn(t, c3, a, "mette", "a long password 1")
	if status != 200 || tok == "" {
		t.Fatalf("sign in: %d", status)
	}
	me := func(base string) int {
		req, _ := http.NewRequest("GET", base+"/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := c3.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := me(b); got != 200 {
		t.Fatalf("the session on node B: %d", got)
	}
	req, _ := http.NewRequest("POST", a+"/api/v1/users/"+mette.ID+"/sign-out", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := c3.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 {
		t.Fatalf("sign out everywhere on node A: %d", resp.StatusCode)
	}
	if got := me(b); got != 401 {
		t.Fatalf("after signing out everywhere on node A, node B: %d, want 401", got)
	}
}
