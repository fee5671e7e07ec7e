// The vclinic REST API (scheduler/openapi.json) as the pages call it: JSON in
// and out, the session cookie sent along (same origin), an optional bearer
// token, and errors (RFC 9457 problem details) thrown as APIError with the
// status and the server's "detail". It knows no page and no words.

/** A request that failed: an HTTP error status, or 0 when the server could not be reached. */
export class APIError extends Error {
  /**
   * @param {number} status HTTP status; 0 for a network failure
   * @param {string} detail the problem's detail (or title, or the plain text body)
   * @param {object|null} [problem] the parsed problem details
   * @param {unknown} [cause]
   */
  constructor(status, detail, problem = null, cause = undefined) {
    super(status ? `HTTP ${status}${detail ? ': ' + detail : ''}` : 'the server could not be reached', { cause });
    this.name = 'APIError';
    this.status = status;
    this.detail = detail;
    this.problem = problem;
  }
}

/**
 * @typedef {object} RequestOptions
 * @property {any} [body] sent as JSON
 * @property {Record<string, string|number|undefined|null>} [query] added to the path; empty values left out
 * @property {Record<string, string>} [headers]
 * @property {AbortSignal} [signal]
 */

/**
 * A path with query parameters; undefined, null and '' values are left out.
 * @param {string} path
 * @param {Record<string, string|number|undefined|null>} [query]
 * @returns {string}
 */
export function withQuery(path, query) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== '') q.append(k, String(v));
  }
  const s = q.toString();
  return s ? path + (path.includes('?') ? '&' : '?') + s : path;
}

/**
 * Builds the fetch arguments for one call.
 * @param {string} method
 * @param {string} path
 * @param {RequestOptions} opts
 * @param {string} token bearer token, '' for none (the cookie then decides)
 * @returns {{url: string, init: RequestInit}}
 */
export function buildRequest(method, path, opts, token) {
  /** @type {Record<string, string>} */
  const headers = { Accept: 'application/json, application/problem+json' };
  if (token) headers.Authorization = 'Bearer ' + token;
  /** @type {RequestInit} */
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(opts.body);
  }
  Object.assign(headers, opts.headers || {});
  if (opts.signal) init.signal = opts.signal;
  return { url: withQuery(path, opts.query), init };
}

/**
 * Reads a response: the parsed JSON (or text) when it succeeded, null when it
 * has no body; throws APIError when it did not.
 * @param {Response} res
 * @returns {Promise<any>}
 */
export async function readResponse(res) {
  const type = (res.headers.get('Content-Type') || '').toLowerCase();
  const json = type.includes('json');
  let text = '';
  try {
    text = await res.text();
  } catch (err) {
    throw new APIError(0, '', null, err);
  }
  /** @type {any} */
  let data = null;
  if (text && json) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (res.ok) {
    if (!text) return null;
    if (json && data === null) throw new APIError(res.status, 'the server sent a reply that is not JSON');
    return json ? data : text;
  }
  const problem = data && typeof data === 'object' && !Array.isArray(data) ? data : null;
  const detail =
    (problem && typeof problem.detail === 'string' && problem.detail) ||
    (problem && typeof problem.title === 'string' && problem.title) ||
    (!json && text.length <= 300 ? text.trim() : '') ||
    res.statusText ||
    '';
  throw new APIError(res.status, detail, problem);
}

/** Calls the API on this origin. */
export class API {
  /**
   * @param {{token?: string, fetch?: typeof fetch}} [opts]
   *   token: sent as Authorization: Bearer (staff who came with a link, or a
   *   guest); fetch: for tests
   */
  constructor(opts = {}) {
    this.token = opts.token || '';
    this._fetch = opts.fetch || ((/** @type {any} */ url, /** @type {any} */ init) => globalThis.fetch(url, init));
  }

  /**
   * @param {string} method
   * @param {string} path
   * @param {RequestOptions} [opts]
   * @returns {Promise<any>}
   * @throws {APIError}
   */
  async request(method, path, opts = {}) {
    const { url, init } = buildRequest(method, path, opts, this.token);
    let res;
    try {
      res = await this._fetch(url, init);
    } catch (err) {
      if (err && /** @type {any} */ (err).name === 'AbortError') throw err;
      throw new APIError(0, '', null, err);
    }
    return readResponse(res);
  }

  /**
   * Fetches a file (an invitation, say) with this API's credentials.
   * @param {string} path
   * @returns {Promise<Blob>}
   * @throws {APIError}
   */
  async blob(path) {
    const { url, init } = buildRequest('GET', path, { headers: { Accept: '*/*' } }, this.token);
    let res;
    try {
      res = await this._fetch(url, init);
    } catch (err) {
      throw new APIError(0, '', null, err);
    }
    if (!res.ok) return readResponse(res); // throws the problem
    return res.blob();
  }

  /**
   * @param {string} path
   * @param {Record<string, string|number|undefined|null>} [query]
   * @param {AbortSignal} [signal]
   */
  get(path, query, signal) {
    return this.request('GET', path, { query, signal });
  }

  /**
   * @param {string} path
   * @param {any} [body]
   * @param {Record<string, string>} [headers]
   */
  post(path, body, headers) {
    return this.request('POST', path, { body, headers });
  }
}

/**
 * One path segment, escaped: api.get(`/api/v1/appointments/${seg(id)}`).
 * @param {string} s
 * @returns {string}
 */
export function seg(s) {
  return encodeURIComponent(s);
}

/**
 * A new Idempotency-Key: one per booking attempt, reused when that attempt is
 * sent again, so a double click or a retry books once.
 * @returns {string}
 */
export function idempotencyKey() {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === 'function') return c.randomUUID();
  const b = new Uint8Array(16);
  c.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}
