// The one way the pages talk to the server: JSON over fetch, with the session cookie, the
// X-CSRF-Token header on unsafe methods, and the API's error shape turned into ApiError.

const BASE = 'api/v1';
const CSRF_COOKIE = 'tradesys_csrf';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** An error answer of the API: {"error": {"code", "message", "details"?}}. */
export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export function readCookie(name) {
  for (const part of document.cookie.split(';')) {
    const index = part.indexOf('=');
    if (index < 0) continue;
    if (part.slice(0, index).trim() === name) {
      return decodeURIComponent(part.slice(index + 1).trim());
    }
  }
  return null;
}

/** True when this browser holds a session's CSRF cookie (the session itself is HttpOnly). */
export function hasSessionCookie() {
  return Boolean(readCookie(CSRF_COOKIE));
}

/** A fresh random Idempotency-Key. */
export function newIdempotencyKey() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function apiUrl(path, query) {
  const url = new URL(BASE + path, document.baseURI);
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== '') {
      url.searchParams.set(key, String(value));
    }
  }
  return url;
}

/**
 * One request, answered with the raw bytes. Options: method, query (object), json (a value
 * sent as JSON), or body (a Blob or File sent raw) with contentType, headers (extra request
 * headers, e.g. Upload-Offset), and idempotencyKey. Resolves to {data, bytes}: the parsed JSON
 * answer (or null) and the exact bytes of the body (a Uint8Array), e.g. to save a signed
 * receipt exactly as issued. Rejects with ApiError.
 */
export async function requestBytes(path, options = {}) {
  const method = (options.method || 'GET').toUpperCase();
  const headers = new Headers({ Accept: 'application/json' });
  let body;
  if (options.json !== undefined) {
    headers.set('Content-Type', 'application/json');
    body = JSON.stringify(options.json);
  } else if (options.body !== undefined) {
    headers.set('Content-Type', options.contentType || 'application/octet-stream');
    body = options.body;
  }
  for (const [name, value] of Object.entries(options.headers || {})) {
    headers.set(name, String(value));
  }
  if (!SAFE_METHODS.has(method)) {
    const csrf = readCookie(CSRF_COOKIE);
    if (csrf) headers.set('X-CSRF-Token', csrf);
    if (options.idempotencyKey) headers.set('Idempotency-Key', options.idempotencyKey);
  }
  let response;
  let bytes;
  try {
    response = await fetch(apiUrl(path, options.query), {
      method,
      headers,
      body,
      credentials: 'same-origin',
      cache: 'no-store',
      redirect: 'error',
    });
    bytes = new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    throw new ApiError(0, 'network_error',
      '无法连接服务器，请检查网络后重试 (the server could not be reached)');
  }
  let data = null;
  if (bytes.length) {
    try {
      data = JSON.parse(new TextDecoder().decode(bytes));
    } catch (error) {
      data = null;
    }
  }
  if (!response.ok) {
    const error = data && typeof data === 'object' ? data.error : null;
    if (error && typeof error.code === 'string') {
      throw new ApiError(response.status, error.code, String(error.message || error.code),
        error.details);
    }
    throw new ApiError(response.status, `http_${response.status}`,
      `服务器返回错误 ${response.status} (the server answered ${response.status})`);
  }
  return { data, bytes };
}

/** One request (options as requestBytes); resolves to the parsed JSON answer. */
export async function request(path, options = {}) {
  return (await requestBytes(path, options)).data;
}

export function get(path, query) {
  return request(path, { method: 'GET', query });
}

export function post(path, json, options = {}) {
  return request(path, { ...options, method: 'POST', json });
}

/** Upload a File as the raw body, with its own type or application/octet-stream. */
export function upload(path, file, query, options = {}) {
  return request(path, {
    ...options,
    method: 'POST',
    query,
    body: file,
    contentType: file.type || 'application/octet-stream',
  });
}
