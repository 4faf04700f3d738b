// The console's only way to the server: the public API (/api/v1/sql, /api/v1/tables), with the
// bearer token from session storage when there is one. Errors come back as ApiError carrying
// the server's own message and kind ({"error": ..., "kind": ...}).

const TOKEN_KEY = 'dss-lake-token';

export class ApiError extends Error {
  constructor(status, kind, message) {
    super(message);
    this.status = status;
    this.kind = kind;
  }
}

// Called on every 401, so the page can ask for a token wherever the refusal came from.
let onUnauthorized = () => {};
export function whenUnauthorized(handler) {
  onUnauthorized = handler;
}

export const token = () => sessionStorage.getItem(TOKEN_KEY);
export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

function headers(extra = {}) {
  const t = token();
  return t ? { ...extra, Authorization: `Bearer ${t}` } : extra;
}

async function send(path, init = {}) {
  const response = await fetch(path, { ...init, headers: headers(init.headers), cache: 'no-store' });
  if (response.ok) return response;
  let body = null;
  try {
    body = await response.json();
  } catch {
    // Not our JSON error (a proxy's page, say): the status line is all there is.
  }
  const error = new ApiError(response.status, body?.kind ?? 'http',
    body?.error ?? `HTTP ${response.status} ${response.statusText}`);
  if (response.status === 401) onUnauthorized(error);
  throw error;
}

export async function tables(signal) {
  const response = await send('/api/v1/tables', { signal });
  return (await response.json()).tables;
}

export async function examples() {
  const response = await fetch('/console/examples.json');
  return response.ok ? response.json() : [];
}

function post(sql, format, signal) {
  return send('/api/v1/sql', {
    method: 'POST',
    body: JSON.stringify({ sql, format }),
    headers: { 'Content-Type': 'application/json' },
    signal,
  });
}

// The whole result as an array of row objects: for the console's own small queries.
export async function rows(sql, signal) {
  const response = await post(sql, 'json', signal);
  return response.json();
}

// The result as it arrives: yields arrays of row objects, one array per chunk of NDJSON the
// server sent (it sends one per record batch), so the first rows show before the last are read.
export async function* streamRows(sql, signal) {
  const response = await post(sql, 'ndjson', signal);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let pending = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      pending += value;
      const end = pending.lastIndexOf('\n');
      if (end < 0) continue;
      const lines = pending.slice(0, end).split('\n');
      pending = pending.slice(end + 1);
      yield lines.filter((l) => l.length > 0).map((l) => JSON.parse(l));
    }
    if (pending.trim()) yield [JSON.parse(pending)];
  } finally {
    reader.cancel().catch(() => {});
  }
}

// The result in a download format, as a Blob.
export async function blob(sql, format, signal) {
  const response = await post(sql, format, signal);
  return response.blob();
}
