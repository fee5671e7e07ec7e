// Local camera and microphone. Video asks for about 1280x720 at 24 frames per
// second: the call sends it as simulcast layers of 1280x720, 640x360 and
// 320x180 (call.js), and the media server pauses the ones no viewer needs.
// A phone whose encoder cannot keep up lowers the resolution itself
// (WebRTC's CPU adaptation), and the browser picks the nearest its camera
// offers.

/**
 * What to capture: camera and microphone, microphone only, or nothing (the
 * participant still sees and hears the others).
 * @typedef {'full'|'audio'|'none'} MediaMode
 */

/**
 * Why capture failed, in the words the pages explain:
 * camera-denied (NotAllowedError), no-camera (NotFoundError), camera-in-use
 * (NotReadableError), unsupported (no mediaDevices: not a secure context or an
 * old browser), media (anything else).
 * @typedef {'camera-denied'|'no-camera'|'camera-in-use'|'unsupported'|'media'} MediaProblem
 */

/** @type {MediaTrackConstraints} */
export const videoConstraints = {
  width: { ideal: 1280 },
  height: { ideal: 720 },
  frameRate: { ideal: 24 },
  facingMode: 'user',
};

/** @type {MediaTrackConstraints} */
export const audioConstraints = {
  echoCancellation: true,
  noiseSuppression: true,
  autoGainControl: true,
};

/** Capture failed; problem says why. */
export class MediaProblemError extends Error {
  /**
   * @param {MediaProblem} problem
   * @param {unknown} [cause]
   */
  constructor(problem, cause) {
    super(`camera or microphone: ${problem}`, { cause });
    this.name = 'MediaProblemError';
    this.problem = problem;
  }
}

/**
 * Classifies a getUserMedia error.
 * @param {unknown} err
 * @returns {MediaProblem}
 */
export function mediaProblem(err) {
  const name = err && typeof err === 'object' && 'name' in err ? String(err.name) : '';
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
    case 'PermissionDeniedError':
      return 'camera-denied';
    case 'NotFoundError':
    case 'DevicesNotFoundError':
    case 'OverconstrainedError':
      return 'no-camera';
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return 'camera-in-use';
  }
  return 'media';
}

/**
 * Captures what mode asks for. For 'none' it returns an empty stream.
 * @param {MediaMode} mode
 * @param {MediaDevices|undefined} devices navigator.mediaDevices
 * @returns {Promise<MediaStream>}
 * @throws {MediaProblemError}
 */
export async function getLocalMedia(mode, devices) {
  if (mode === 'none') return new MediaStream();
  if (!devices || !devices.getUserMedia) throw new MediaProblemError('unsupported');
  const want = { audio: audioConstraints, video: mode === 'full' ? videoConstraints : false };
  try {
    return await devices.getUserMedia(want);
  } catch (err) {
    if (mode === 'full' && err && /** @type {any} */ (err).name === 'OverconstrainedError') {
      try {
        return await devices.getUserMedia({ audio: audioConstraints, video: true });
      } catch (err2) {
        throw new MediaProblemError(mediaProblem(err2), err2);
      }
    }
    throw new MediaProblemError(mediaProblem(err), err);
  }
}
