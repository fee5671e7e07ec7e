package main

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metricsHandler serves Prometheus metrics: the media server's and signaling's
// counters, read from their Stats at scrape time, plus process and Go runtime.
func (c *clinic) metricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(collectors.NewGoCollector())
	gauge := func(name, help string, f func() float64) {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "vclinic", Name: name, Help: help}, f))
	}
	counter := func(name, help string, f func() float64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "vclinic", Name: name, Help: help}, f))
	}
	gauge("rooms", "Rooms with media participants.", func() float64 { return float64(c.media.Stats().Rooms) })
	gauge("participants", "Participants connected to the media server.", func() float64 { return float64(c.media.Stats().Participants) })
	gauge("tracks", "Published tracks.", func() float64 { return float64(c.media.Stats().Tracks) })
	counter("forwarded_packets_total", "RTP packets written to subscribers.", func() float64 { return float64(c.media.Stats().ForwardedPackets) })
	counter("forwarded_bytes_total", "RTP bytes written to subscribers.", func() float64 { return float64(c.media.Stats().ForwardedBytes) })
	counter("dropped_packets_total", "RTP packets dropped from full subscriber queues.", func() float64 { return float64(c.media.Stats().DroppedPackets) })
	counter("nacks_received_total", "RTCP NACK packets received from subscribers.", func() float64 { return float64(c.media.Stats().NACKsReceived) })
	counter("plis_sent_total", "Keyframe requests (PLI) sent to publishers.", func() float64 { return float64(c.media.Stats().PLIsSent) })
	gauge("websocket_connections", "Open signaling WebSockets.", func() float64 { return float64(c.sig.Counters().Connections) })
	counter("websocket_accepted_total", "Signaling WebSockets accepted.", func() float64 { return float64(c.sig.Counters().Accepted) })
	counter("websocket_refused_total", "Signaling upgrades refused (token, scope, origin).", func() float64 { return float64(c.sig.Counters().Refused) })
	counter("signaling_errors_total", "Error messages sent to clients.", func() float64 { return float64(c.sig.Counters().ErrorsSent) })
	gauge("signaling_members", "Participants in signaling rooms, including those reconnecting.", func() float64 { return float64(c.sig.Counters().Members) })
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
