// api.js -- the console's one way to the server: the same public API routes
// integrators use (/api/v1/...), authenticated by the session cookie, plus
// the console's own /console/api/... routes.  State-changing requests carry
// the CSRF token the server handed out (X-CSRF-Token); the browser adds the
// Origin header itself.

let csrfToken = null;

export function setCsrf(token) {
  csrfToken = token || null;
}

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.body = body || null;
    this.errors = (body && body.errors) || {};
  }
}

// Listeners of a lost session (a 401 from the API): the app goes back to
// the sign-in page.
const lostListeners = [];
export function onSessionLost(fn) {
  lostListeners.push(fn);
}

export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, { message: 'The server cannot be reached. Check your connection and try again.' });
  }
  let json = null;
  try {
    json = await res.json();
  } catch (e) {
    json = null;
  }
  if (res.status === 401 && path.startsWith('/api/')) lostListeners.forEach((fn) => fn());
  if (!res.ok || !json || json.success !== true) throw new ApiError(res.status, json);
  return json;
}

// Query string of the entries of params that are not empty.
export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  }
  const s = u.toString();
  return s ? `?${s}` : '';
}
