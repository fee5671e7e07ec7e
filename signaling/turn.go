package signaling

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// TURN hands browsers a TURN server for networks that let neither UDP nor
// direct TCP through to the media server (some hospital and mobile
// networks), with short-lived credentials in the "TURN REST API" scheme
// (draft-uberti-behave-turn-rest-00, section 2.2, as coturn's
// use-auth-secret implements it):
//
//	username   = "<expiry, Unix seconds>:<participant id>"
//	credential = base64(HMAC-SHA1(shared secret, username))
//
// The TURN server recomputes the HMAC with the same shared secret and
// refuses a username whose expiry has passed, so vclinic stores no TURN
// passwords, and a credential that leaks works only until it expires. The
// participant id, not the person's id, goes into the username: TURN logs
// learn nothing about who called.
type TURN struct {
	// URLs are the TURN server's addresses as RTCIceServer.urls takes them,
	// for example "turn:turn.example.org:3478?transport=udp" and
	// "turns:turn.example.org:443?transport=tcp".
	URLs []string
	// Secret is the shared secret (coturn's static-auth-secret).
	Secret []byte
	// TTL is how long a credential lasts. Default 12 h: longer than any
	// visit, so an ICE restart late in a call still has a valid credential;
	// a participant who resumes gets a fresh one.
	TTL time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Validate reports a configuration that cannot work.
func (t *TURN) Validate() error {
	if len(t.URLs) == 0 {
		return errors.New("turn: no URLs")
	}
	for _, u := range t.URLs {
		if !strings.HasPrefix(u, "turn:") && !strings.HasPrefix(u, "turns:") {
			return fmt.Errorf("turn: URL %q: want turn: or turns: (RFC 7065)", u)
		}
	}
	if len(t.Secret) < 16 {
		return errors.New("turn: the shared secret is shorter than 16 bytes")
	}
	if t.TTL < 0 {
		return errors.New("turn: negative TTL")
	}
	return nil
}

// Server gives the ICE server entry with a fresh credential for participant
// id.
func (t *TURN) Server(id string) ICEServer {
	ttl := t.TTL
	if ttl == 0 {
		ttl = 12 * time.Hour
	}
	now := time.Now
	if t.Now != nil {
		now = t.Now
	}
	username := strconv.FormatInt(now().Add(ttl).Unix(), 10) + ":" + id
	mac := hmac.New(sha1.New, t.Secret)
	mac.Write([]byte(username))
	return ICEServer{
		URLs:       append([]string(nil), t.URLs...),
		Username:   username,
		Credential: base64.StdEncoding.EncodeToString(mac.Sum(nil)),
	}
}
