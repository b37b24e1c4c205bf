// Resumable upload of a sealed envelope (the bidding API, docs/api.md):
//   POST  /sections/{id}/uploads {size}          → {id, offset}
//   PATCH /uploads/{id}  Upload-Offset: N, body = the next slice of the envelope
//   GET   /uploads/{id}                           → {offset}: where to go on after a failure
//   POST  /uploads/{id}/complete                  → the signed receipt file (exact bytes)
// Only ciphertext travels here: the envelope was sealed in this browser.

import { ApiError, get, newIdempotencyKey, post, request, requestBytes } from './api.js';

// 8 MiB: each PATCH has a fixed server cost of a few milliseconds (bench/bids.py), which at
// 1 MiB slices halved the upload rate; 8 MiB keeps it near the server's streaming speed.
export const SLICE_BYTES = 8 * 1024 * 1024;
const RETRY_DELAYS_MS = [500, 1000, 2000, 4000, 8000];
const MAX_MOVES = 5;

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A failure worth retrying: no answer at all, or the server's own trouble. */
export function isTransient(error) {
  return error instanceof ApiError
    && (error.status === 0 || error.status === 408 || error.status === 429 || error.status >= 500);
}

async function withRetries(action, onRetry) {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await action();
    } catch (error) {
      if (!isTransient(error) || attempt >= RETRY_DELAYS_MS.length) throw error;
      if (onRetry) onRetry(attempt + 1, error);
      await sleep(RETRY_DELAYS_MS[attempt]);
    }
  }
}

/** Opens an upload of `size` bytes for a section; the same key makes a retry harmless. */
export function startUpload(sectionId, size, { onRetry } = {}) {
  const key = newIdempotencyKey();
  return withRetries(() => post(`/sections/${sectionId}/uploads`, { size },
    { idempotencyKey: key }), onRetry);
}

function uploadPath(uploadId) {
  return `/uploads/${encodeURIComponent(uploadId)}`;
}

/**
 * Sends `blob` from the upload's current offset to its end, slice by slice. After a network
 * failure (or a 5xx) it asks the server where the upload stands and goes on from there; a
 * refusal (4xx) ends it. `onProgress(sent, total)`, `onRetry(attempt, error)`.
 */
export async function sendSlices(uploadId, blob, { offset = 0, onProgress, onRetry,
  sliceBytes = SLICE_BYTES } = {}) {
  let at = offset;
  let failures = 0;
  let moves = 0;
  if (onProgress) onProgress(at, blob.size);
  while (at < blob.size) {
    try {
      const answer = await request(uploadPath(uploadId), {
        method: 'PATCH',
        body: blob.slice(at, at + sliceBytes),
        contentType: 'application/offset+octet-stream',
        headers: { 'Upload-Offset': at },
      });
      if (!answer || !Number.isSafeInteger(answer.offset) || answer.offset <= at) {
        throw new ApiError(0, 'upload_stalled', '上传没有进展，请稍后重试 (the upload made no progress)');
      }
      at = answer.offset;
      failures = 0;
      moves = 0;
      if (onProgress) onProgress(at, blob.size);
    } catch (error) {
      const known = error instanceof ApiError && error.code === 'offset_mismatch'
        && error.details && Number.isSafeInteger(error.details.offset);
      if (known && moves < MAX_MOVES) {
        moves += 1;
        at = error.details.offset; // the server holds more (or less) than we thought
        continue;
      }
      if (!isTransient(error) || failures >= RETRY_DELAYS_MS.length) throw error;
      if (onRetry) onRetry(failures + 1, error);
      await sleep(RETRY_DELAYS_MS[failures]);
      failures += 1;
      try {
        const status = await get(uploadPath(uploadId));
        if (status && Number.isSafeInteger(status.offset)) at = status.offset;
      } catch (statusError) {
        if (!isTransient(statusError)) throw statusError;
        // Still unreachable: the next PATCH tries again (a stale offset answers 409 + offset).
      }
      if (onProgress) onProgress(at, blob.size);
    }
  }
  return at;
}

/**
 * Completes the upload: the bid is accepted (or refused, e.g. after the deadline). Resolves to
 * {file, bytes}: the parsed receipt file ({receipt, signature, public_key}) and its exact
 * bytes, to be saved unchanged.
 */
export async function completeUpload(uploadId, { onRetry } = {}) {
  const key = newIdempotencyKey();
  const { data, bytes } = await withRetries(() => requestBytes(`${uploadPath(uploadId)}/complete`,
    { method: 'POST', idempotencyKey: key }), onRetry);
  if (!data || typeof data !== 'object' || !data.receipt) {
    throw new ApiError(0, 'bad_receipt', '服务器未返回回执 (no receipt in the answer)');
  }
  return { file: data, bytes };
}
