package sfu

import (
	"strconv"
	"strings"
)

// advertiser rewrites the ports in our ICE candidates (RFC 8839 §5.1:
// "candidate:<foundation> <component> <transport> <priority> <address>
// <port> typ <type> ...") when Config.PublicUDPPort or PublicTCPPort name
// another port than the one bound: what a port forward maps to ours. It
// works on a candidate attribute's value and on whole session
// descriptions, line by line.
type advertiser struct {
	udp, tcp [2]string // bound port, advertised port; empty when unchanged
}

func newAdvertiser(cfg Config, udpPort, tcpPort int) advertiser {
	var a advertiser
	if cfg.PublicUDPPort != 0 && cfg.PublicUDPPort != udpPort {
		a.udp = [2]string{strconv.Itoa(udpPort), strconv.Itoa(cfg.PublicUDPPort)}
	}
	if cfg.PublicTCPPort != 0 && cfg.PublicTCPPort != tcpPort && tcpPort > 0 {
		a.tcp = [2]string{strconv.Itoa(tcpPort), strconv.Itoa(cfg.PublicTCPPort)}
	}
	return a
}

// rewrite returns s with the ports of its candidates advertised.
func (a advertiser) rewrite(s string) string {
	if a.udp[0] == "" && a.tcp[0] == "" || !strings.Contains(s, "candidate:") {
		return s
	}
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		lines[i] = a.candidate(l)
	}
	return strings.Join(lines, "")
}

// candidate rewrites one candidate, with or without "a=" before it and a
// line end after it.
func (a advertiser) candidate(l string) string {
	k := strings.Index(l, "candidate:")
	if k < 0 || (k != 0 && !strings.HasPrefix(l, "a=candidate:")) {
		return l
	}
	f := strings.Split(l, " ")
	if len(f) < 8 || f[6] != "typ" {
		return l
	}
	var m [2]string
	switch strings.ToLower(f[2]) {
	case "udp":
		m = a.udp
	case "tcp":
		m = a.tcp
	}
	if m[0] == "" || f[5] != m[0] {
		return l
	}
	f[5] = m[1]
	return strings.Join(f, " ")
}
