package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"vclinic/sfu"
	"vclinic/signaling"
)

// The connection part of the patient's pre-visit check (the visit page's
// check screen, web/static/check.js): the page learns which ways to the
// media server the clinic offers, then asks for one probe per way (the
// media server's connection probe, sfu/probe.go) on the same ports a call
// uses. Only the patient's own invitation link may, while it opens the
// visit page; the result is stored through POST /api/v1/visit/check.

// precheckTURNTTL is how long the TURN credential handed to a check lasts:
// the check takes seconds, and the visit's own credential comes with the
// call.
const precheckTURNTTL = 10 * time.Minute

// maxProbeBody bounds a probe request: an offer with its candidates.
const maxProbeBody = 80 << 10

func (c *clinic) precheckRoutes(r *httprouter.Router) {
	r.GET("/api/v1/visit/check/servers", c.patientOnly(c.precheckServers))
	r.POST("/api/v1/visit/check/probe", c.patientOnly(c.precheckProbe))
}

// patientOnly lets through the bearer of a patient's working invitation
// link: 401 for no or a dead credential, 403 for any other role.
func (c *clinic) patientOnly(h func(http.ResponseWriter, *http.Request, *signaling.Claims)) httprouter.Handle {
	return func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
		claims, err := c.auth.Authenticate(r)
		switch {
		case errors.Is(err, signaling.ErrUnavailable):
			w.Header().Set("Retry-After", "2")
			guardProblem(w, r, http.StatusServiceUnavailable, "the clinic's records cannot be reached just now; try again in a moment")
			return
		case err != nil:
			guardProblem(w, r, http.StatusUnauthorized, "open the link from your invitation")
			return
		case claims.Role != signaling.RolePatient || claims.Appt == "":
			guardProblem(w, r, http.StatusForbidden, "only the patient's own invitation link checks the connection")
			return
		}
		h(w, r, claims)
	}
}

// precheckServers: GET /api/v1/visit/check/servers answers which ways the
// check tries: {"udp": true, "tcp": bool, "relay": bool, "iceServers":
// [...]}, the TURN server with a short-lived credential when the clinic has
// one (relay false otherwise: the page then says TURN is not configured,
// and never tests it).
func (c *clinic) precheckServers(w http.ResponseWriter, r *http.Request, claims *signaling.Claims) {
	out := struct {
		UDP        bool                  `json:"udp"`
		TCP        bool                  `json:"tcp"`
		Relay      bool                  `json:"relay"`
		ICEServers []signaling.ICEServer `json:"iceServers"`
	}{UDP: true, TCP: c.media.TCPPort() != 0, ICEServers: []signaling.ICEServer{}}
	if c.turn != nil {
		t := *c.turn
		t.TTL = precheckTURNTTL
		// The TURN username names no person (signaling.TURN): a fresh id.
		out.Relay = true
		out.ICEServers = append(out.ICEServers, t.Server("check-"+strings.ToLower(rand.Text()[:16])))
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSONBody(w, http.StatusOK, out)
}

// precheckProbe: POST /api/v1/visit/check/probe {"sdp": offer with its
// candidates, "transport": "udp"|"tcp"|"relay"} answers {"sdp": answer},
// whose candidates are of that transport only. 400 for a bad offer or
// transport, 409 for a transport the clinic does not offer, 429 when too
// many probes run (for this link, or in all).
func (c *clinic) precheckProbe(w http.ResponseWriter, r *http.Request, claims *signaling.Claims) {
	var req struct {
		SDP       string `json:"sdp"`
		Transport string `json:"transport"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxProbeBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		guardProblem(w, r, http.StatusBadRequest, "send {\"sdp\": offer, \"transport\": \"udp\", \"tcp\" or \"relay\"} as JSON of at most 80 KiB: "+err.Error())
		return
	}
	switch {
	case req.Transport != sfu.ProbeUDP && req.Transport != sfu.ProbeTCP && req.Transport != sfu.ProbeRelay:
		guardProblem(w, r, http.StatusBadRequest, "transport: want udp, tcp or relay")
		return
	case req.SDP == "":
		guardProblem(w, r, http.StatusBadRequest, "sdp: send the offer, with its candidates")
		return
	case req.Transport == sfu.ProbeRelay && c.turn == nil:
		guardProblem(w, r, http.StatusConflict, "transport: the clinic has no TURN server configured")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	answer, err := c.media.Probe(ctx, claims.Appt, req.SDP, req.Transport)
	switch {
	case errors.Is(err, sfu.ErrProbeBusy):
		w.Header().Set("Retry-After", "15")
		guardProblem(w, r, http.StatusTooManyRequests, "too many connection checks run just now; try again in 15 seconds")
		return
	case errors.Is(err, sfu.ErrProbeUnavailable):
		guardProblem(w, r, http.StatusConflict, "transport: the clinic does not offer "+req.Transport)
		return
	case errors.Is(err, sfu.ErrBadSDP):
		guardProblem(w, r, http.StatusBadRequest, "sdp: not an offer we can answer")
		return
	case err != nil:
		c.log.Warn("connection check", "transport", req.Transport, "err", err)
		guardProblem(w, r, http.StatusServiceUnavailable, "the media server cannot check just now; try again")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSONBody(w, http.StatusOK, map[string]string{"sdp": answer})
}

func writeJSONBody(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
