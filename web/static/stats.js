// Receive statistics: the summary sent to the server as stats {…} every few
// seconds, computed from the subscribe peer connection's getStats() report
// (W3C webrtc-stats: RTCInboundRtpStreamStats, RTCIceCandidatePairStats).

/**
 * The Stats message without firstFrameMillis.
 * @typedef {object} Summary
 * @property {number} framesDecoded
 * @property {number} videoPacketsReceived
 * @property {number} videoPacketsLost
 * @property {number} audioPacketsReceived
 * @property {number} audioPacketsLost
 * @property {number} roundTripSeconds
 * @property {number} [frameWidth] the largest remote video decoded now
 * @property {number} [frameHeight]
 * @property {number} [framesPerSecond] its frame rate
 * @property {number} [freezeCount] freezes so far, over all received video
 * @property {number} [freezeMillis] their total duration
 * @property {string} [candidateType] the local candidate of the selected pair: host, srflx, prflx, relay, or tcp (ICE-TCP)
 */

/**
 * Sums inbound-rtp over all received tracks and takes the round-trip time of
 * the selected candidate pair, with what the visit's quality record keeps:
 * the largest video decoded and its frame rate, the freezes (Chromium counts
 * them: freezeCount, totalFreezesDuration; Firefox does not yet) and the
 * kind of path (the local candidate's type, "tcp" for ICE-TCP).
 * @param {{values(): Iterable<any>}|null|undefined} report an RTCStatsReport
 * @returns {Summary}
 */
export function summarize(report) {
  const sum = {
    framesDecoded: 0,
    videoPacketsReceived: 0,
    videoPacketsLost: 0,
    audioPacketsReceived: 0,
    audioPacketsLost: 0,
    roundTripSeconds: 0,
  };
  if (!report) return sum;
  const byId = new Map();
  const pairs = [];
  let selected = '';
  for (const s of report.values()) {
    byId.set(s.id, s);
    if (s.type === 'inbound-rtp') {
      const kind = s.kind || s.mediaType;
      const received = count(s.packetsReceived);
      const lost = count(s.packetsLost); // may be negative with duplicates
      if (kind === 'video') {
        sum.framesDecoded += count(s.framesDecoded);
        sum.videoPacketsReceived += received;
        sum.videoPacketsLost += lost;
        const w = count(s.frameWidth);
        const h = count(s.frameHeight);
        if (w * h > (sum.frameWidth || 0) * (sum.frameHeight || 0)) {
          sum.frameWidth = w;
          sum.frameHeight = h;
          const fps = Number(s.framesPerSecond);
          if (Number.isFinite(fps) && fps >= 0) sum.framesPerSecond = Math.round(fps * 10) / 10;
        }
        if (s.freezeCount !== undefined) {
          sum.freezeCount = (sum.freezeCount || 0) + count(s.freezeCount);
          sum.freezeMillis = (sum.freezeMillis || 0) + count(Number(s.totalFreezesDuration) * 1000);
        }
      } else if (kind === 'audio') {
        sum.audioPacketsReceived += received;
        sum.audioPacketsLost += lost;
      }
    } else if (s.type === 'transport' && s.selectedCandidatePairId) {
      selected = s.selectedCandidatePairId;
    } else if (s.type === 'candidate-pair') {
      pairs.push(s);
    }
  }
  let pair = selected ? byId.get(selected) : undefined;
  if (!pair) pair = pairs.find((p) => p.nominated && p.state === 'succeeded');
  const rtt = pair ? Number(pair.currentRoundTripTime) : NaN;
  if (Number.isFinite(rtt) && rtt > 0) sum.roundTripSeconds = rtt;
  const local = pair ? byId.get(pair.localCandidateId) : undefined;
  if (local) {
    const type = local.candidateType;
    if (type === 'relay') sum.candidateType = 'relay';
    else if (local.protocol === 'tcp') sum.candidateType = 'tcp';
    else if (type === 'host' || type === 'srflx' || type === 'prflx') sum.candidateType = type;
  }
  return sum;
}

/**
 * Reports whether any video frame has been decoded.
 * @param {{values(): Iterable<any>}|null|undefined} report
 * @returns {boolean}
 */
export function hasDecodedFrame(report) {
  if (!report) return false;
  for (const s of report.values()) {
    if (s.type === 'inbound-rtp' && (s.kind || s.mediaType) === 'video' && count(s.framesDecoded) > 0) {
      return true;
    }
  }
  return false;
}

/**
 * A non-negative integer from a stats counter that may be missing.
 * @param {unknown} v
 * @returns {number}
 */
function count(v) {
  const n = Math.trunc(Number(v));
  return Number.isFinite(n) && n > 0 ? n : 0;
}

/**
 * Sums roundTripTimeMeasurements over remote-inbound-rtp: it grows with every
 * receiver report the server sends about what this client publishes.
 * @param {{values(): Iterable<any>}|null|undefined} report the publish connection's report
 * @returns {number}
 */
export function receiverReports(report) {
  let n = 0;
  if (!report) return n;
  for (const s of report.values()) {
    if (s.type === 'remote-inbound-rtp') n += count(s.roundTripTimeMeasurements);
  }
  return n;
}

/**
 * StallWatch follows a counter that keeps growing while media flows (packets
 * received, receiver reports). Once the counter has grown, standing still for
 * stallMs while media is expected is a stall: ICE may say "connected" while the
 * other end has given the connection up, typically after an ICE restart during
 * an outage. After a stall it waits another stallMs before reporting again.
 */
export class StallWatch {
  /** @param {number} stallMs */
  constructor(stallMs) {
    this.stallMs = stallMs;
    this.value = -1;
    this.since = 0;
    this.grown = false;
  }

  /**
   * @param {number} value the counter now
   * @param {boolean} expected media should be flowing
   * @param {number} now milliseconds
   * @returns {boolean} true when a stall is to be acted on
   */
  update(value, expected, now) {
    if (value !== this.value || !expected || !this.grown) {
      if (value > 0 && value > this.value) this.grown = true;
      this.value = value;
      this.since = now;
      return false;
    }
    if (now - this.since < this.stallMs) return false;
    this.since = now;
    return true;
  }
}

/**
 * The video received from each participant: its size and frames, from
 * inbound-rtp (the track id is "<participantId>-video", as the server
 * names it).
 * @param {RTCStatsReport|null} report
 * @returns {{participant: string, frameWidth: number, frameHeight: number, framesPerSecond: number, framesDecoded: number}[]}
 */
export function receivedVideo(report) {
  const out = [];
  if (!report) return out;
  for (const s of report.values()) {
    if (s.type !== 'inbound-rtp' || (s.kind || s.mediaType) !== 'video') continue;
    const id = String(s.trackIdentifier || '');
    out.push({
      participant: id.endsWith('-video') ? id.slice(0, -'-video'.length) : id,
      frameWidth: count(s.frameWidth),
      frameHeight: count(s.frameHeight),
      framesPerSecond: count(s.framesPerSecond),
      framesDecoded: count(s.framesDecoded),
    });
  }
  return out;
}

/**
 * The path a connection's media takes: the selected candidate pair's local
 * candidate (RFC 8445 terms: host, srflx, prflx, relay; udp or tcp).
 * @param {RTCStatsReport|null} report
 * @returns {{address: string, port: number, protocol: string, candidateType: string}|null}
 */
export function selectedPath(report) {
  if (!report) return null;
  let pairId = '';
  for (const s of report.values()) {
    if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
  }
  if (!pairId) {
    for (const s of report.values()) {
      if (s.type === 'candidate-pair' && (s.selected || s.nominated) && s.state === 'succeeded') pairId = s.id;
    }
  }
  const pair = pairId ? report.get(pairId) : null;
  const local = pair ? report.get(pair.localCandidateId) : null;
  if (!local) return null;
  return {
    address: String(local.address || local.ip || ''),
    port: count(local.port),
    protocol: String(local.protocol || ''),
    candidateType: String(local.candidateType || ''),
  };
}

/**
 * What the connection quality is judged from, read from the two
 * connections' getStats at one moment.
 * @typedef {object} LinkSample
 * @property {number} at ms
 * @property {number} received packets received, audio and video
 * @property {number} lost packets lost on the way to us
 * @property {number} rtt seconds, the selected pair's round trip (0: unknown)
 * @property {number} jitter seconds, the audio's interarrival jitter
 * @property {number} upLoss the share of our packets lost on the way up, as the server reports it (0-1)
 * @property {boolean} upLimited the browser holds our video back for lack of bandwidth
 * @property {number} upAvailable bits/s the browser estimates it can send (0: unknown)
 * @property {number} reports receiver reports on our media so far (receiverReports)
 * @property {boolean} stalled nothing arrived and no report came since the sample before: the link was out
 */

/**
 * @param {RTCStatsReport|null} sub the subscribe connection's report
 * @param {RTCStatsReport|null} pub the publish connection's report
 * @param {number} at ms
 * @param {LinkSample|null} [prev] the sample before, to tell an outage
 * @returns {LinkSample}
 */
export function linkSample(sub, pub, at, prev = null) {
  const s = summarize(sub);
  const sample = {
    at,
    received: s.videoPacketsReceived + s.audioPacketsReceived,
    lost: s.videoPacketsLost + s.audioPacketsLost,
    rtt: s.roundTripSeconds || summarize(pub).roundTripSeconds,
    jitter: 0,
    upLoss: 0,
    upLimited: false,
    upAvailable: 0,
    reports: receiverReports(pub),
    stalled: false,
  };
  sample.stalled = !!prev && sample.received === prev.received && sample.reports === prev.reports;
  if (sub) {
    for (const x of sub.values()) {
      if (x.type === 'inbound-rtp' && (x.kind || x.mediaType) === 'audio') sample.jitter = Math.max(sample.jitter, Number(x.jitter) || 0);
    }
  }
  if (pub) {
    for (const x of pub.values()) {
      if (x.type === 'remote-inbound-rtp') sample.upLoss = Math.max(sample.upLoss, Number(x.fractionLost) || 0);
      if (x.type === 'outbound-rtp' && (x.kind || x.mediaType) === 'video' && x.qualityLimitationReason === 'bandwidth' && x.active !== false) {
        sample.upLimited = true;
      }
      if (x.type === 'candidate-pair' && x.state === 'succeeded' && (x.nominated || x.selected) && Number(x.availableOutgoingBitrate) > 0) {
        sample.upAvailable = Number(x.availableOutgoingBitrate);
      }
    }
  }
  return sample;
}

/**
 * The verdict on a connection: good, weak or very weak, with the reasons
 * (QualityLoss, QualityDelay, QualityJitter, QualityBandwidth), and whether
 * it is our uplink that is weak (then the page tells its user the others
 * still hear them). server is the media server's view of our downlink
 * (quality messages), '' if it has said nothing.
 *
 * Thresholds, for speech first: loss over 3 % is heard (Opus conceals a
 * little, RED and FEC some more), over 10 % words go missing; a round trip
 * over 400 ms makes people talk over each other (ITU-T G.114 puts the
 * one-way limit for most users at 150-400 ms), over 1 s a conversation
 * breaks down; jitter over 50 ms makes the jitter buffer add that much delay.
 * The uplink is weak when the browser estimates it under 300 kbit/s and holds
 * the camera back for it, very weak under 100 kbit/s.
 * @param {LinkSample} cur
 * @param {LinkSample|null} prev the sample before, for the loss in between
 * @param {string} [server]
 * @returns {{level: string, reasons: string[], uplink: boolean}}
 */
export function assessQuality(cur, prev, server = '') {
  // The first reports after an outage count everything the outage took
  // as lost (RFC 3550 §6.4.1: lost since the last report). That was the
  // outage, over now: judged on it, the page would cut its camera just as
  // the link came back.
  const afterOutage = !!prev?.stalled;
  let level = 0; // 0 good, 1 weak, 2 very weak
  const reasons = new Set();
  let uplink = false;
  const worse = (/** @type {number} */ l, /** @type {string} */ why, up = false) => {
    level = Math.max(level, l);
    reasons.add(why);
    uplink = uplink || up;
  };
  if (prev && !afterOutage) {
    const got = cur.received - prev.received;
    const lost = cur.lost - prev.lost;
    if (got + lost >= 50 && lost > 0) {
      const share = lost / (got + lost);
      if (share >= 0.1) worse(2, 'loss');
      else if (share >= 0.03) worse(1, 'loss');
    }
  }
  if (afterOutage) {
    // no loss judged
  } else if (cur.upLoss >= 0.1) worse(2, 'loss', true);
  else if (cur.upLoss >= 0.03) worse(1, 'loss', true);
  if (cur.rtt >= 1) worse(2, 'delay');
  else if (cur.rtt >= 0.4) worse(1, 'delay');
  if (cur.jitter >= 0.05) worse(1, 'jitter');
  // The browser's own estimate of its uplink: under 300 kbit/s the camera
  // goes out small and slow, under 100 kbit/s only the voice is safe. (That
  // the encoder is held back for bandwidth, upLimited, is not enough: a
  // browser says so of a simulcast camera whenever its top layer is off.)
  if (cur.upAvailable > 0 && cur.upAvailable < 100000) worse(2, 'bandwidth', true);
  else if (cur.upAvailable > 0 && cur.upAvailable < 300000 && cur.upLimited) worse(1, 'bandwidth', true);
  if (server === 'very-weak') worse(2, 'bandwidth');
  else if (server === 'weak') worse(1, 'bandwidth');
  return { level: ['good', 'weak', 'very-weak'][level], reasons: [...reasons], uplink };
}
