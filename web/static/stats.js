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
 */

/**
 * Sums inbound-rtp over all received tracks and takes the round-trip time of
 * the selected candidate pair.
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
