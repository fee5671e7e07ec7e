package main

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"vclinic/homekit"
	"vclinic/internal/callquality"
	"vclinic/signaling/cluster"
)

// metricsHandler serves Prometheus metrics: the media server's, signaling's
// and the home kit's counters, read from their Stats and Counters at scrape
// time, plus process and Go runtime.
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
	gauge("red_audio_tracks", "Published audio tracks that carry redundant audio (RFC 2198 RED), each frame sent twice.", func() float64 { return float64(c.media.Stats().REDTracks) })
	counter("forwarded_packets_total", "RTP packets written to subscribers.", func() float64 { return float64(c.media.Stats().ForwardedPackets) })
	counter("forwarded_bytes_total", "RTP bytes written to subscribers.", func() float64 { return float64(c.media.Stats().ForwardedBytes) })
	counter("dropped_packets_total", "RTP packets dropped from full subscriber queues.", func() float64 { return float64(c.media.Stats().DroppedPackets) })
	counter("nacks_received_total", "RTCP NACK packets received from subscribers.", func() float64 { return float64(c.media.Stats().NACKsReceived) })
	counter("retransmitted_packets_total", "RTP packets resent to subscribers who asked for them again (NACK), from each published track's history.", func() float64 { return float64(c.media.Stats().Retransmitted) })
	counter("plis_sent_total", "Keyframe requests (PLI) sent to publishers.", func() float64 { return float64(c.media.Stats().PLIsSent) })
	counter("rembs_sent_total", "Bitrate caps (REMB) sent to publishers from their subscribers' downlink estimates.", func() float64 { return float64(c.media.Stats().REMBsSent) })
	counter("udp_send_calls_total", "System calls that sent media datagrams (sendmmsg: one carries a batch).", func() float64 { return float64(c.media.Stats().UDPSendCalls) })
	counter("udp_sent_datagrams_total", "Media datagrams sent through batched system calls.", func() float64 { return float64(c.media.Stats().UDPSent) })
	counter("udp_receive_calls_total", "System calls that received media datagrams (recvmmsg).", func() float64 { return float64(c.media.Stats().UDPRecvCalls) })
	counter("udp_received_datagrams_total", "Media datagrams received through batched system calls.", func() float64 { return float64(c.media.Stats().UDPReceived) })
	counter("udp_errors_total", "Media datagrams the kernel refused to send, or too large to receive.", func() float64 { return float64(c.media.Stats().UDPErrors) })
	gauge("simulcast_layers", "Simulcast layers (RFC 8853) of published video tracks that have started arriving.", func() float64 { return float64(c.media.Stats().SimulcastLayers) })
	gauge("video_paused_subscriptions", "Subscribers' copies of a video track paused because their link cannot carry its lowest layer; audio goes on.", func() float64 { return float64(c.media.Stats().VideoPaused) })
	counter("layer_switches_total", "Subscribers moved from one simulcast layer to another.", func() float64 { return float64(c.media.Stats().LayerSwitches) })
	counter("layer_changes_total", "Times a publisher was told to pause or resume simulcast layers.", func() float64 { return float64(c.media.Stats().LayerChanges) })
	counter("padding_packets_total", "Padding packets sent to probe subscribers' links before a move to a higher layer.", func() float64 { return float64(c.media.Stats().PaddingPackets) })
	gauge("downlink_limited_tracks", "Published video tracks held below the maximum bitrate because a subscriber's link loses packets.", func() float64 { return float64(c.media.Stats().DownlinkLimited) })
	gauge("websocket_connections", "Open signaling WebSockets.", func() float64 { return float64(c.sig.Counters().Connections) })
	counter("websocket_accepted_total", "Signaling WebSockets accepted.", func() float64 { return float64(c.sig.Counters().Accepted) })
	counter("websocket_refused_total", "Signaling upgrades refused (token, scope, origin).", func() float64 { return float64(c.sig.Counters().Refused) })
	counter("signaling_errors_total", "Error messages sent to clients.", func() float64 { return float64(c.sig.Counters().ErrorsSent) })
	gauge("full", "1 while the node is past -max-cpu or -max-forwarded-pps and takes no new visits.", func() float64 {
		if c.admit.Full() {
			return 1
		}
		return 0
	})
	gauge("signaling_members", "Participants in signaling rooms, including those reconnecting.", func() float64 { return float64(c.sig.Counters().Members) })
	if c.place != nil {
		leases := c.place.leases
		gauge("room_leases", "Rooms this cluster node holds the lease of (hosts).", func() float64 { return float64(leases.Counters().Held) })
		reg.MustRegister(leasesLostCollector{leases})
		counter("room_lease_renewal_failures_total", "Renewals of this node's room leases that failed (retried at the next, every lease/3).", func() float64 {
			return float64(leases.Counters().RenewFailures)
		})
	}
	reg.MustRegister(callQualityCollector{c})

	// The home kit: one series per fixed label combination, read from the
	// home-kit API's counters at scrape time.
	kit := func(name, help string, labels prometheus.Labels, f func(homekit.Counters) uint64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "vclinic", Name: name, Help: help, ConstLabels: labels},
			func() float64 { return float64(f(c.kitAPI.Counters())) }))
	}
	readings := func(source, status string, f func(homekit.Counters) uint64) {
		kit("readings_total", "Home-kit readings answered (HTTP and WebSocket), by source and status.",
			prometheus.Labels{"source": source, "status": status}, f)
	}
	readings(homekit.SourceDevice, homekit.StatusStored, func(k homekit.Counters) uint64 { return k.DeviceStored })
	readings(homekit.SourceDevice, homekit.StatusDuplicate, func(k homekit.Counters) uint64 { return k.DeviceDuplicate })
	readings(homekit.SourceDevice, homekit.StatusRejected, func(k homekit.Counters) uint64 { return k.DeviceRejected })
	readings(homekit.SourcePatientEntered, homekit.StatusStored, func(k homekit.Counters) uint64 { return k.PatientEnteredStored })
	readings(homekit.SourcePatientEntered, homekit.StatusRejected, func(k homekit.Counters) uint64 { return k.PatientEnteredRejected })
	flagged := func(flag string, f func(homekit.Counters) uint64) {
		kit("readings_flagged_total", "Stored home-kit readings carrying a flag, by flag.", prometheus.Labels{"flag": flag}, f)
	}
	flagged(homekit.FlagImplausible, func(k homekit.Counters) uint64 { return k.FlaggedImplausible })
	flagged(homekit.FlagDeviceClockNotSet, func(k homekit.Counters) uint64 { return k.FlaggedDeviceClockNotSet })
	batches := func(transport string, f func(homekit.Counters) uint64) {
		kit("readings_batches_total", "Batches of device readings answered item by item, by transport.", prometheus.Labels{"transport": transport}, f)
	}
	batches("http", func(k homekit.Counters) uint64 { return k.BatchesHTTP })
	batches("websocket", func(k homekit.Counters) uint64 { return k.BatchesWebSocket })
	counter("live_vitals_pushes_total", "New readings pushed live to visits: one per visit the patient is in.",
		func() float64 { return float64(c.vitalsPushes.Load()) })
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

// callQualityCollector exposes the node's connection-quality histograms: one
// sample per participant in a call every couple of seconds (signaling's
// quality sampler), in base units.
// leasesLostCollector serves vclinic_room_leases_lost_total{reason}: the
// rooms this node stopped hosting without closing them, because their
// lease was not renewed by its deadline ("deadline": PostgreSQL away, the
// node paused or cut off) or another node holds it ("taken").
type leasesLostCollector struct{ leases *cluster.Leases }

var leasesLostDesc = prometheus.NewDesc("vclinic_room_leases_lost_total",
	"Rooms this node stopped hosting without closing them: a lease not renewed by its deadline (PostgreSQL away, the node paused), or held by another node.",
	[]string{"reason"}, nil)

func (l leasesLostCollector) Describe(ch chan<- *prometheus.Desc) { ch <- leasesLostDesc }

func (l leasesLostCollector) Collect(ch chan<- prometheus.Metric) {
	c := l.leases.Counters()
	ch <- prometheus.MustNewConstMetric(leasesLostDesc, prometheus.CounterValue, float64(c.LostDeadline), "deadline")
	ch <- prometheus.MustNewConstMetric(leasesLostDesc, prometheus.CounterValue, float64(c.LostTaken), "taken")
}

type callQualityCollector struct{ c *clinic }

// callQualityMetrics names each histogram and the factor from the record's
// unit to the metric's.
var callQualityMetrics = []struct {
	metric     callquality.Metric
	name, help string
	scale      float64
}{
	{callquality.RTT, "call_rtt_seconds", "Round-trip time of participants' connections.", 1e-3},
	{callquality.Loss, "call_loss_ratio", "Share of the packets sent to a participant lost after repair, from its receiver reports.", 1e-2},
	{callquality.Jitter, "call_jitter_seconds", "Interarrival jitter of what participants receive.", 1e-3},
	{callquality.SendKbps, "call_send_bits_per_second", "Bitrate participants send.", 1e3},
	{callquality.RecvKbps, "call_receive_bits_per_second", "Bitrate sent to participants.", 1e3},
	{callquality.FPS, "call_received_frames_per_second", "Frame rate of the video participants decode, as their pages report it.", 1},
}

func (q callQualityCollector) desc(i int) *prometheus.Desc {
	m := callQualityMetrics[i]
	return prometheus.NewDesc("vclinic_"+m.name, m.help, nil, nil)
}

func (q callQualityCollector) Describe(ch chan<- *prometheus.Desc) {
	for i := range callQualityMetrics {
		ch <- q.desc(i)
	}
}

func (q callQualityCollector) Collect(ch chan<- prometheus.Metric) {
	for i, m := range callQualityMetrics {
		buckets, count, sum := q.c.sig.QualityHistogram(m.metric)
		scaled := make(map[float64]uint64, len(buckets))
		for b, n := range buckets {
			scaled[b*m.scale] = n
		}
		ch <- prometheus.MustNewConstHistogram(q.desc(i), count, sum*m.scale, scaled)
	}
}
