package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestTrustedProxies(t *testing.T) {
	proxies, err := parseTrustedProxies("10.0.0.0/8, 192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	var seen string
	h := proxies.wrap(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { seen = r.RemoteAddr }))
	for _, tc := range []struct {
		name, peer, xff, want string
	}{
		{"no proxy: the header is not believed", "198.51.100.7:5000", "203.0.113.9", "198.51.100.7:5000"},
		{"through the proxy", "10.1.2.3:5000", "203.0.113.9", "203.0.113.9:0"},
		{"through two proxies", "192.0.2.1:443", "203.0.113.9, 10.9.9.9", "203.0.113.9:0"},
		{"a forged hop before the client is not believed", "10.1.2.3:5000", "1.1.1.1, 203.0.113.9", "203.0.113.9:0"},
		{"a malformed hop stops the reading", "10.1.2.3:5000", "203.0.113.9, junk", "10.1.2.3:0"},
		{"a proxy without the header", "10.1.2.3:5000", "", "10.1.2.3:0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.peer
			if tc.xff != "" {
				r.Header.Set("X-Forwarded-For", tc.xff)
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			if seen != tc.want {
				t.Errorf("client %q, want %q", seen, tc.want)
			}
		})
	}
	for _, bad := range []string{"10.0.0.0/33", "proxy.example.org", "10.0.0"} {
		if _, err := parseTrustedProxies(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if p, err := parseTrustedProxies(""); err != nil || len(p) != 0 {
		t.Errorf("no proxies: %v, %v", p, err)
	}
}
