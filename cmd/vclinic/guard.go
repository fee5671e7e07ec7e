package main

import (
	"encoding/json"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"vclinic/signaling"
)

// guard is what every request to the clinic passes before its route:
//
//   - Every answer says X-Content-Type-Options: nosniff, and under TLS
//     Strict-Transport-Security (RFC 6797), so that a browser that once
//     reached the clinic over HTTPS never falls back to HTTP.
//   - A request body sent to the API is JSON and says so (415 otherwise):
//     a form or a text/plain body, which another site may send without
//     asking, is never read as an API call.
//   - A request that would be authenticated by the session cookie alone
//     (no Authorization header, no token subprotocol) must come from the
//     clinic's own pages: a state change needs Sec-Fetch-Site: same-origin
//     or an Origin of the clinic (403 otherwise), and a read may not come
//     from another site (Sec-Fetch-Site cross-site or same-site), so that a
//     link on another site can neither act as a signed-in clinician nor
//     put a lookup they did not make on the audit log. SameSite=Lax alone
//     lets a top-level navigation from another site carry the cookie, and
//     treats another port of the same host as the same site.
type guard struct {
	// origins are the clinic's own origins (scheme://host[:port]): the
	// address it serves and its public URL, and the allowed extra ones.
	origins []string
	tls     bool
}

// newGuard lists the clinic's origins: linkBase (the public URL, or the
// address served) and the configured extra ones.
func newGuard(linkBase string, extra []string, tls bool) guard {
	g := guard{tls: tls}
	for _, o := range append([]string{linkBase}, extra...) {
		if u, err := url.Parse(strings.TrimSpace(o)); err == nil && u.Scheme != "" && u.Host != "" {
			g.origins = append(g.origins, strings.ToLower(u.Scheme+"://"+u.Host))
		}
	}
	return g
}

func (g guard) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		if g.tls {
			h.Set("Strict-Transport-Security", "max-age=63072000")
		}
		api := strings.HasPrefix(r.URL.Path, "/api/") || strings.HasPrefix(r.URL.Path, "/fhir/") || r.URL.Path == "/ws"
		if !api {
			next.ServeHTTP(w, r)
			return
		}
		if status, why := g.check(r); status != 0 {
			guardProblem(w, r, status, why)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// check answers the status and reason that refuse r, or 0.
func (g guard) check(r *http.Request) (int, string) {
	state := r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodOptions
	if state && hasBody(r) {
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != "application/json" {
			return http.StatusUnsupportedMediaType, "send the body as application/json"
		}
	}
	if !cookieOnly(r) {
		return 0, ""
	}
	site := r.Header.Get("Sec-Fetch-Site")
	if state {
		if site == "same-origin" || g.ownOrigin(r, r.Header.Get("Origin")) {
			return 0, ""
		}
		return http.StatusForbidden, "a signed-in change must come from the clinic's own pages"
	}
	if site == "cross-site" || site == "same-site" {
		return http.StatusForbidden, "a signed-in read must come from the clinic's own pages"
	}
	return 0, ""
}

// hasBody reports whether r carries a body.
func hasBody(r *http.Request) bool {
	return r.ContentLength > 0 || (r.ContentLength < 0 && r.Body != nil && r.Body != http.NoBody)
}

// cookieOnly reports whether the session cookie would be r's only
// credential (signaling.Keyring.FromRequest's order: the Authorization
// header, then a token subprotocol, then the cookie).
func cookieOnly(r *http.Request) bool {
	if r.Header.Get("Authorization") != "" {
		return false
	}
	for _, h := range r.Header.Values("Sec-WebSocket-Protocol") {
		if strings.Contains(h, signaling.TokenSubprotocolPrefix) {
			return false
		}
	}
	_, err := r.Cookie(signaling.SessionCookie)
	return err == nil
}

// ownOrigin reports whether origin is the clinic's: one of its configured
// origins, or the one r itself was sent to (another site's page cannot
// make a browser send its own origin with the clinic's Host).
func (g guard) ownOrigin(r *http.Request, origin string) bool {
	if origin == "" || origin == "null" {
		return false
	}
	origin = strings.ToLower(origin)
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return slices.Contains(g.origins, origin) || origin == strings.ToLower(scheme+"://"+r.Host)
}

// guardProblem answers an RFC 9457 problem.
func guardProblem(w http.ResponseWriter, r *http.Request, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"type": "about:blank", "title": http.StatusText(status), "status": status,
		"detail": detail, "instance": r.URL.Path,
	})
}

// trustedProxies are the reverse proxies (a TLS load balancer) whose
// X-Forwarded-For the clinic believes: a request from one of them comes
// from the last address in the header that is not itself a trusted proxy.
// The client's address is what the audit log records and what sign-in
// attempts are limited by; without this every request behind a proxy would
// come from the proxy.
type trustedProxies []*net.IPNet

// parseTrustedProxies reads a comma-separated list of CIDRs or addresses.
func parseTrustedProxies(list string) (trustedProxies, error) {
	var out trustedProxies
	for _, s := range splitList(list) {
		if !strings.Contains(s, "/") {
			if ip := net.ParseIP(s); ip != nil && ip.To4() != nil {
				s += "/32"
			} else {
				s += "/128"
			}
		}
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			return nil, fmt.Errorf("-trusted-proxies: %q is not an address or CIDR", s)
		}
		out = append(out, n)
	}
	return out, nil
}

func (t trustedProxies) trusts(ip net.IP) bool {
	for _, n := range t {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// wrap puts the client's address in RemoteAddr for a request a trusted
// proxy forwarded (X-Forwarded-For, read from the right).
func (t trustedProxies) wrap(next http.Handler) http.Handler {
	if len(t) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		peer := net.ParseIP(host)
		if err != nil || peer == nil || !t.trusts(peer) {
			next.ServeHTTP(w, r)
			return
		}
		var hops []string
		for _, h := range r.Header.Values("X-Forwarded-For") {
			hops = append(hops, strings.Split(h, ",")...)
		}
		client := peer
		for i := len(hops) - 1; i >= 0; i-- {
			ip := net.ParseIP(strings.TrimSpace(hops[i]))
			if ip == nil {
				break // a malformed hop: believe nothing before it
			}
			client = ip
			if !t.trusts(ip) {
				break
			}
		}
		r2 := r.Clone(r.Context())
		r2.RemoteAddr = net.JoinHostPort(client.String(), "0")
		next.ServeHTTP(w, r2)
	})
}
