// Sealed-bid envelope v1 in the browser: the same bytes as tradesys/bids (docs/envelope.md).
//
// WebCrypto only (crypto.subtle: ECDH P-256, HKDF-SHA256, AES-256-GCM, PBKDF2), no server round
// trip for any plaintext. The bid is read chunk by chunk with Blob.slice, so no more than one
// chunk of plaintext is in memory at a time. The bidder's private key is a non-extractable
// CryptoKey kept in IndexedDB; its only exportable form is the password-protected backup.
//
// Public API:
//   seal(input, summary, {sectionCode, bidderCode, bidderPublicKey, openingPublicKey, chunkSize})
//       → {blob, header, size}
//   parseHeader(bytes) → header;  readHeader(blob) → header
//   unwrapShare(header, role, privateKey[, publicKey]) → Uint8Array(32)  (role: "bidder"|"opening")
//   combine(header, bidderShare, openingShare) → keys;  openSummary(header, keys) → object
//   decrypt(blob, keys, header) → Blob;  canonicalJson(value) → string
//   generateBidderKey(password) → {publicKey, privateKey, backup};  importBackup(backup, password)
//   sealBackup(pkcs8, publicKey, password[, {iterations, extra}]);  openBackup(backup, password)
//   importPrivateKeyJwk(jwk);  saveKeyPair(name, pair);  loadKeyPair(name);  listKeyNames()
//   unwrapHolderShare(wrapped, privateKey[, publicKey]) → released opening-key share (§10)
// canonicalJson refuses integers beyond ±(2^53 − 1) (bad_json), as Python's canonical_json does.
// Secrets (keys, shares, plaintext) are never logged.

const subtle = globalThis.crypto.subtle;
const encoder = new TextEncoder();

export const MAGIC = encoder.encode("TSBIDENV");
export const VERSION = 1;
export const PREFIX_LEN = 14;
export const TAG_LEN = 16;
export const SHARE_LEN = 32;
export const PUBLIC_KEY_LEN = 65;
export const STANZA_LEN = 1 + 65 + 65 + 32 + 48;
export const ROLE_BIDDER = 1;
export const ROLE_OPENING = 2;
export const MIN_CHUNK_SIZE = 1 << 12;
export const MAX_CHUNK_SIZE = 1 << 24;
export const DEFAULT_CHUNK_SIZE = 1 << 20;
export const MAX_PLAINTEXT_SIZE = 2 ** 48 - 1;
export const MAX_SUMMARY_BYTES = 65536;
export const BACKUP_ITERATIONS = 600000;

const LABEL_WRAP = encoder.encode("tradesys/envelope/v1/wrap");
const LABEL_COMMIT = encoder.encode("tradesys/envelope/v1/commit");
const LABEL_SUMMARY = encoder.encode("tradesys/envelope/v1/summary");
const LABEL_PAYLOAD = encoder.encode("tradesys/envelope/v1/payload");
const BACKUP_AAD_LABEL = encoder.encode("tradesys/key-backup/v1");
const ZERO_NONCE = new Uint8Array(12);
const ECDH = { name: "ECDH", namedCurve: "P-256" };
const MAX_HEADER_LEN = PREFIX_LEN + 4 + 8 + 7 + 2 + 2 * 64 + 1 + 2 * STANZA_LEN + 4
  + MAX_SUMMARY_BYTES + TAG_LEN;

export class EnvelopeError extends Error {
  constructor(code, message, details = null) {
    super(message);
    this.name = "EnvelopeError";
    this.code = code;
    this.details = details;
  }
}

// --- bytes -----------------------------------------------------------------------------------

export function concat(...parts) {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export function b64u(bytes) {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

export function unb64u(text, field = "value") {
  if (typeof text !== "string" || !/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) {
    throw new EnvelopeError("bad_base64", `${field} 不是 base64url 编码 (not base64url)`);
  }
  const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  const out = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  if (b64u(out) !== text) {
    throw new EnvelopeError("bad_base64", `${field} 不是规范的 base64url (non-canonical)`);
  }
  return out;
}

function u8(buffer) {
  return buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer);
}

async function sha256(...parts) {
  return u8(await subtle.digest("SHA-256", concat(...parts)));
}

function equalBytes(a, b) {
  // Constant-time over the length: the commitments compared here are public, but the habit is.
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

function xor(a, b) {
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] ^ b[i];
  return out;
}

function randomBytes(n) {
  return crypto.getRandomValues(new Uint8Array(n));
}

// --- canonical JSON (must equal tradesys.events.canonical.canonical_json byte for byte) ------

function compareCodePoints(a, b) {
  // Python sorts str keys by code point; JavaScript's default sort is by UTF-16 unit.
  const x = Array.from(a, (c) => c.codePointAt(0));
  const y = Array.from(b, (c) => c.codePointAt(0));
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i] - y[i];
  }
  return x.length - y.length;
}

function canonicalString(value, path) {
  if (!value.isWellFormed()) throw new EnvelopeError("bad_json", `lone surrogate at ${path}`);
  return JSON.stringify(value); // same escapes as Python's json.dumps(ensure_ascii=False)
}

export function canonicalJson(value, path = "$") {
  if (value === null) return "null";
  if (value === true) return "true";
  if (value === false) return "false";
  if (typeof value === "number") {
    if (Number.isInteger(value) && !Number.isSafeInteger(value)) {
      // JSON.parse has already rounded it: refuse rather than hash a different number.
      throw new EnvelopeError("bad_json", `integer at ${path} is beyond ±(2^53−1): use a decimal string (整数超出 ±(2^53−1)，请用十进制字符串)`);
    }
    if (!Number.isSafeInteger(value)) {
      throw new EnvelopeError("bad_json", `non-integer number at ${path}: use a decimal string`);
    }
    return String(value);
  }
  if (typeof value === "string") return canonicalString(value, path);
  if (Array.isArray(value)) {
    return `[${value.map((item, i) => canonicalJson(item, `${path}[${i}]`)).join(",")}]`;
  }
  if (typeof value === "object" && [Object.prototype, null].includes(Object.getPrototypeOf(value))) {
    const keys = Object.keys(value).sort(compareCodePoints);
    return `{${keys.map((k) => `${canonicalString(k, path)}:${canonicalJson(value[k], `${path}.${k}`)}`).join(",")}}`;
  }
  throw new EnvelopeError("bad_json", `${typeof value} at ${path} is not canonical JSON`);
}

// --- the bid summary (开标一览表); rules as tradesys/bids/summary.py --------------------------

const REQUIRED = ["price", "currency", "duration_days", "quality", "project_manager"];

function badSummary(message) {
  return new EnvelopeError("bad_summary", `开标一览表无效 (invalid bid summary): ${message}`);
}

export function encodeSummary(summary) {
  if (summary === null || typeof summary !== "object" || Array.isArray(summary)) {
    throw badSummary("must be a JSON object");
  }
  const missing = REQUIRED.filter((name) => !(name in summary));
  if (missing.length) throw badSummary(`missing ${missing.join(", ")}`);
  if (typeof summary.price !== "string" || !/^(0|[1-9][0-9]{0,17})(\.[0-9]{1,6})?$/.test(summary.price)) {
    throw badSummary('price must be a decimal string such as "1234567.89"');
  }
  if (typeof summary.currency !== "string" || !/^[A-Z]{3}$/.test(summary.currency)) {
    throw badSummary('currency must be an ISO 4217 code such as "CNY"');
  }
  const days = summary.duration_days;
  if (!Number.isSafeInteger(days) || days < 1 || days > 36500) {
    throw badSummary("duration_days must be an integer in 1..36500");
  }
  for (const name of ["quality", "project_manager"]) {
    const text = summary[name];
    if (typeof text !== "string" || /^[\t\n\v\f\r \u3000]*$/.test(text) || [...text].length > 200) {
      throw badSummary(`${name} must be a non-empty string of at most 200 characters`);
    }
  }
  for (const key of Object.keys(summary)) {
    if (!REQUIRED.includes(key) && !/^[a-z][a-z0-9_]{0,63}$/.test(key)) {
      throw badSummary(`extra field name ${JSON.stringify(key)} must match [a-z][a-z0-9_]{0,63}`);
    }
  }
  let bytes;
  try {
    bytes = encoder.encode(canonicalJson(summary));
  } catch (error) {
    throw badSummary(error.message);
  }
  if (bytes.length > MAX_SUMMARY_BYTES) throw badSummary(`larger than ${MAX_SUMMARY_BYTES} bytes`);
  return bytes;
}

// --- keys ------------------------------------------------------------------------------------

async function publicKeyRaw(key) {
  if (key instanceof Uint8Array) return key;
  if (typeof key === "string") return unb64u(key.trim(), "public key");
  if (key instanceof CryptoKey) return u8(await subtle.exportKey("raw", key));
  throw new EnvelopeError("bad_public_key", "公钥无效 (invalid public key)");
}

async function importPublicKey(raw) {
  if (raw.length !== PUBLIC_KEY_LEN || raw[0] !== 4) {
    throw new EnvelopeError("bad_public_key", "公钥必须是未压缩的 P-256 点 (uncompressed P-256 point)");
  }
  try {
    return await subtle.importKey("raw", raw, ECDH, true, []);
  } catch {
    throw new EnvelopeError("bad_public_key", "公钥无效 (invalid public key)");
  }
}

/** A non-extractable ECDH private key from a JWK {d, x, y} (tests and vectors). */
export async function importPrivateKeyJwk({ d, x, y }, extractable = false) {
  return subtle.importKey("jwk", { kty: "EC", crv: "P-256", d, x, y, ext: extractable }, ECDH,
    extractable, ["deriveBits"]);
}

async function backupKey(password, salt, iterations) {
  const base = await subtle.importKey("raw", encoder.encode(password), "PBKDF2", false, ["deriveKey"]);
  return subtle.deriveKey({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, base,
    { name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
}

/**
 * The password-protected backup of a private key (docs/envelope.md §7): PKCS#8 DER under
 * AES-256-GCM with a PBKDF2-SHA256 key, the raw public point bound in the additional data.
 * `extra` fields (e.g. {purpose: "signing"}) are added to the file as they are.
 */
export async function sealBackup(pkcs8, publicKey, password, { iterations = BACKUP_ITERATIONS, extra = {} } = {}) {
  if (!password) throw new EnvelopeError("empty_password", "密码不能为空 (the password must not be empty)");
  const salt = randomBytes(16);
  const nonce = randomBytes(12);
  const sealed = u8(await subtle.encrypt(
    { name: "AES-GCM", iv: nonce, additionalData: concat(BACKUP_AAD_LABEL, publicKey) },
    await backupKey(password, salt, iterations), pkcs8));
  return {
    format: "tradesys-key-backup", version: 1, curve: "P-256", kdf: "PBKDF2-SHA256", iterations,
    salt: b64u(salt), nonce: b64u(nonce), public_key: b64u(publicKey), ciphertext: b64u(sealed),
    ...extra,
  };
}

/** Opens a backup: {publicKey (raw), pkcs8}; a wrong password fails the GCM tag. Wipe pkcs8. */
export async function openBackup(backup, password) {
  if (backup?.format !== "tradesys-key-backup" || backup.version !== 1
      || backup.kdf !== "PBKDF2-SHA256" || backup.curve !== "P-256") {
    throw new EnvelopeError("bad_backup", "不是 tradesys 密钥备份 (not a tradesys key backup)");
  }
  if (!Number.isSafeInteger(backup.iterations) || backup.iterations < BACKUP_ITERATIONS) {
    throw new EnvelopeError("bad_backup", "备份的迭代次数无效 (bad iteration count)");
  }
  const publicKey = unb64u(backup.public_key, "public_key");
  try {
    const pkcs8 = u8(await subtle.decrypt(
      { name: "AES-GCM", iv: unb64u(backup.nonce, "nonce"), additionalData: concat(BACKUP_AAD_LABEL, publicKey) },
      await backupKey(password, unb64u(backup.salt, "salt"), backup.iterations),
      unb64u(backup.ciphertext, "ciphertext")));
    return { publicKey, pkcs8 };
  } catch (error) {
    if (error instanceof EnvelopeError) throw error;
    throw new EnvelopeError("bad_password", "密码错误或备份已损坏 (wrong password or damaged backup)");
  }
}

/**
 * A new bidder key pair: a non-extractable private key, its raw public key (register this), and
 * the password-protected backup (docs/envelope.md §7) — the only copy that can leave the browser.
 */
export async function generateBidderKey(password, { iterations = BACKUP_ITERATIONS } = {}) {
  if (!password) throw new EnvelopeError("empty_password", "密码不能为空 (the password must not be empty)");
  const pair = await subtle.generateKey(ECDH, true, ["deriveBits"]);
  const publicKey = u8(await subtle.exportKey("raw", pair.publicKey));
  const pkcs8 = u8(await subtle.exportKey("pkcs8", pair.privateKey));
  const backup = await sealBackup(pkcs8, publicKey, password, { iterations });
  const privateKey = await subtle.importKey("pkcs8", pkcs8, ECDH, false, ["deriveBits"]);
  pkcs8.fill(0);
  return { publicKey, privateKey, backup };
}

/** Restores a backup as a non-extractable (ECDH) key pair; a wrong password fails the GCM tag. */
export async function importBackup(backup, password) {
  const { publicKey, pkcs8 } = await openBackup(backup, password);
  try {
    const privateKey = await subtle.importKey("pkcs8", pkcs8, ECDH, false, ["deriveBits"]);
    return { publicKey, privateKey };
  } finally {
    pkcs8.fill(0);
  }
}

function openKeyStore() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open("tradesys-keys", 1);
    request.onupgradeneeded = () => request.result.createObjectStore("keys");
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function keyStore(mode, action) {
  const db = await openKeyStore();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction("keys", mode);
      const request = action(tx.objectStore("keys"));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

/** Keeps {privateKey (non-extractable CryptoKey), publicKey (raw bytes)} under a name. */
export function saveKeyPair(name, pair) {
  return keyStore("readwrite", (store) => store.put({ privateKey: pair.privateKey, publicKey: pair.publicKey }, name));
}

export function loadKeyPair(name) {
  return keyStore("readonly", (store) => store.get(name));
}

/** The names under which key pairs are kept in this browser. */
export function listKeyNames() {
  return keyStore("readonly", (store) => store.getAllKeys());
}

// --- ECIES wrap (keys.py) --------------------------------------------------------------------

async function hkdf(ikm, salt, info) {
  const key = await subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
  return u8(await subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt, info }, key, 256));
}

async function aesKey(raw, usage) {
  return subtle.importKey("raw", raw, "AES-GCM", false, [usage]);
}

async function wrap(recipientRaw, plaintext, info, ephemeral) {
  const recipient = await importPublicKey(recipientRaw);
  let privateKey;
  let ephemeralRaw;
  if (ephemeral) { // fixed test-vector randomness only
    privateKey = await importPrivateKeyJwk(ephemeral);
    ephemeralRaw = concat(new Uint8Array([4]), unb64u(ephemeral.x), unb64u(ephemeral.y));
  } else {
    const pair = await subtle.generateKey(ECDH, false, ["deriveBits"]);
    privateKey = pair.privateKey;
    ephemeralRaw = u8(await subtle.exportKey("raw", pair.publicKey));
  }
  const shared = u8(await subtle.deriveBits({ name: "ECDH", public: recipient }, privateKey, 256));
  const key = await hkdf(shared, concat(ephemeralRaw, recipientRaw), info);
  const sealed = u8(await subtle.encrypt({ name: "AES-GCM", iv: ZERO_NONCE }, await aesKey(key, "encrypt"), plaintext));
  return { ephemeralRaw, sealed };
}

async function unwrap(privateKey, recipientRaw, ephemeralRaw, sealed, info) {
  const ephemeral = await importPublicKey(ephemeralRaw);
  try {
    const shared = u8(await subtle.deriveBits({ name: "ECDH", public: ephemeral }, privateKey, 256));
    const key = await hkdf(shared, concat(ephemeralRaw, recipientRaw), info);
    return u8(await subtle.decrypt({ name: "AES-GCM", iv: ZERO_NONCE }, await aesKey(key, "decrypt"), sealed));
  } catch {
    throw new EnvelopeError("unwrap_failed", "份额无法解开：私钥不对或数据被篡改 (cannot unwrap: wrong private key or tampered data)");
  }
}

// --- header ----------------------------------------------------------------------------------

function checkCode(value, what) {
  if (typeof value !== "string" || !/^[\x21-\x7e]{1,64}$/.test(value)) {
    throw new EnvelopeError(`bad_${what}`, `${what} code must be 1..64 printable ASCII characters (编号格式无效)`);
  }
  return encoder.encode(value);
}

export function chunkCount(plaintextSize, chunkSize) {
  return Math.max(1, Math.ceil(plaintextSize / chunkSize));
}

function checkSizes(chunkSize, plaintextSize) {
  if (!Number.isInteger(chunkSize) || chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE
      || (chunkSize & (chunkSize - 1)) !== 0) {
    throw new EnvelopeError("bad_chunk_size", `chunk size must be a power of two in ${MIN_CHUNK_SIZE}..${MAX_CHUNK_SIZE} (分块大小无效)`);
  }
  if (!Number.isSafeInteger(plaintextSize) || plaintextSize < 0 || plaintextSize > MAX_PLAINTEXT_SIZE
      || chunkCount(plaintextSize, chunkSize) > 0xffffffff) {
    throw new EnvelopeError("bad_size", "plaintext size out of range (文件大小无效)");
  }
}

function encodeCore({ headerLen, chunkSize, plaintextSize, noncePrefix, section, bidder }) {
  const fixed = new Uint8Array(PREFIX_LEN + 12);
  fixed.set(MAGIC, 0);
  const view = new DataView(fixed.buffer);
  view.setUint16(8, VERSION);
  view.setUint32(10, headerLen);
  view.setUint32(14, chunkSize);
  view.setBigUint64(18, BigInt(plaintextSize));
  return concat(fixed, noncePrefix, new Uint8Array([section.length]), section,
    new Uint8Array([bidder.length]), bidder);
}

function roleNumber(role) {
  if (role === "bidder" || role === ROLE_BIDDER) return ROLE_BIDDER;
  if (role === "opening" || role === ROLE_OPENING) return ROLE_OPENING;
  throw new EnvelopeError("bad_role", `unknown recipient role ${role}`);
}

/** Parses and structurally validates a header (buffer may continue past it). */
export async function parseHeader(bytes) {
  bytes = u8(bytes);
  const bad = (code, message) => new EnvelopeError(code, message);
  if (bytes.length < PREFIX_LEN) throw bad("truncated_header", "envelope shorter than its header (信封头不完整)");
  if (!equalBytes(bytes.subarray(0, 8), MAGIC)) throw bad("bad_magic", "not a tradesys sealed bid (不是加密投标文件)");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint16(8) !== VERSION) throw bad("bad_version", "unsupported envelope version (版本不支持)");
  const headerLen = view.getUint32(10);
  if (headerLen <= PREFIX_LEN || headerLen > MAX_HEADER_LEN) throw bad("bad_header_length", "header length out of range (信封头长度无效)");
  if (bytes.length < headerLen) throw bad("truncated_header", "envelope shorter than its header (信封头不完整)");
  const raw = bytes.slice(0, headerLen);
  let pos = PREFIX_LEN;
  const take = (n) => {
    if (pos + n > headerLen) throw bad("bad_header_length", "a header field runs past header_len (信封头损坏)");
    const piece = raw.subarray(pos, pos + n);
    pos += n;
    return piece;
  };
  const sizes = new DataView(take(12).slice().buffer);
  const chunkSize = sizes.getUint32(0);
  const big = sizes.getBigUint64(4);
  if (big > BigInt(MAX_PLAINTEXT_SIZE)) throw bad("bad_size", "plaintext size out of range (文件大小无效)");
  const plaintextSize = Number(big);
  checkSizes(chunkSize, plaintextSize);
  const noncePrefix = take(7).slice();
  const codes = [];
  for (const what of ["section", "bidder"]) {
    const text = String.fromCharCode(...take(take(1)[0]));
    checkCode(text, what);
    codes.push(text);
  }
  const coreLen = pos;
  if (take(1)[0] !== 2) throw bad("bad_recipients", "an envelope has exactly two recipients (接收方数量无效)");
  const stanzas = [];
  for (const role of [ROLE_BIDDER, ROLE_OPENING]) {
    const body = take(STANZA_LEN);
    if (body[0] !== role) throw bad("bad_recipients", "recipients must be the bidder then the opening key (接收方顺序无效)");
    const stanza = {
      role, recipientPub: body.slice(1, 66), ephemeralPub: body.slice(66, 131),
      commitment: body.slice(131, 163), wrapped: body.slice(163),
    };
    await importPublicKey(stanza.recipientPub);
    await importPublicKey(stanza.ephemeralPub);
    stanzas.push(stanza);
  }
  const summaryLen = new DataView(take(4).slice().buffer).getUint32(0);
  if (summaryLen === 0) throw bad("missing_summary", "the envelope has no bid summary (缺少开标一览表)");
  if (summaryLen <= TAG_LEN || summaryLen > MAX_SUMMARY_BYTES + TAG_LEN) throw bad("bad_summary_length", "summary length out of range (开标一览表长度无效)");
  const summaryCiphertext = take(summaryLen).slice();
  if (pos !== headerLen) throw bad("bad_header_length", "bytes left over after the summary (信封头长度不符)");
  return {
    raw, headerLen, chunkSize, plaintextSize, noncePrefix, sectionCode: codes[0], bidderCode: codes[1],
    bidder: stanzas[0], opening: stanzas[1], summaryCiphertext,
    chunkCount: chunkCount(plaintextSize, chunkSize),
    envelopeSize: headerLen + plaintextSize + TAG_LEN * chunkCount(plaintextSize, chunkSize),
    contextHash: await sha256(raw.subarray(0, coreLen)),
    summaryAad: await sha256(raw.subarray(0, coreLen + 1 + 2 * STANZA_LEN)),
    headerHash: await sha256(raw),
  };
}

/** Reads just the header of an envelope Blob. */
export async function readHeader(blob) {
  const prefix = u8(await blob.slice(0, PREFIX_LEN).arrayBuffer());
  if (prefix.length < PREFIX_LEN) throw new EnvelopeError("truncated_header", "envelope shorter than its header (信封头不完整)");
  const headerLen = new DataView(prefix.buffer).getUint32(10);
  return parseHeader(await blob.slice(0, Math.min(headerLen, MAX_HEADER_LEN)).arrayBuffer());
}

function chunkNonce(prefix, index, last) {
  const nonce = new Uint8Array(12);
  nonce.set(prefix, 0);
  new DataView(nonce.buffer).setUint32(7, index);
  nonce[11] = last ? 1 : 0;
  return nonce;
}

const commitmentOf = (role, contextHash, share) => sha256(LABEL_COMMIT, new Uint8Array([role]), contextHash, share);
const wrapInfo = (role, contextHash) => concat(LABEL_WRAP, new Uint8Array([role]), contextHash);

// --- seal ------------------------------------------------------------------------------------

function asBlob(input) {
  if (input instanceof Blob) return input;
  if (input instanceof ArrayBuffer || ArrayBuffer.isView(input)) return new Blob([input]);
  throw new EnvelopeError("bad_input", "the bid must be a File, Blob or ArrayBuffer");
}

/**
 * Seals a bid. Returns {blob, header, size}; `blob` is the envelope to upload. Ciphertext is
 * gathered into intermediate Blobs so the browser may keep it out of the JS heap.
 * `options.randomness` is for the test vectors only.
 */
export async function seal(input, summary, options) {
  const { sectionCode, bidderCode, chunkSize = DEFAULT_CHUNK_SIZE, randomness } = options;
  const source = asBlob(input);
  const section = checkCode(sectionCode, "section");
  const bidder = checkCode(bidderCode, "bidder");
  checkSizes(chunkSize, source.size);
  const bidderRaw = await publicKeyRaw(options.bidderPublicKey);
  const openingRaw = await publicKeyRaw(options.openingPublicKey);
  await importPublicKey(bidderRaw);
  await importPublicKey(openingRaw);
  if (equalBytes(bidderRaw, openingRaw)) throw new EnvelopeError("bad_recipients", "bidder and opening keys must differ (接收方公钥相同)");
  const summaryPlain = encodeSummary(summary);
  const rnd = randomness
    ? { dataKey: unb64u(randomness.data_key), bidderShare: unb64u(randomness.bidder_share),
        noncePrefix: unb64u(randomness.nonce_prefix), bidderEphemeral: randomness.bidder_ephemeral,
        openingEphemeral: randomness.opening_ephemeral }
    : { dataKey: randomBytes(32), bidderShare: randomBytes(32), noncePrefix: randomBytes(7) };
  const headerLen = PREFIX_LEN + 12 + 7 + 2 + section.length + bidder.length + 1 + 2 * STANZA_LEN
    + 4 + summaryPlain.length + TAG_LEN;
  const core = encodeCore({ headerLen, chunkSize, plaintextSize: source.size, noncePrefix: rnd.noncePrefix, section, bidder });
  const contextHash = await sha256(core);
  const openingShare = xor(rnd.dataKey, rnd.bidderShare);
  const stanzas = [];
  for (const [role, recipient, share, eph] of [
    [ROLE_BIDDER, bidderRaw, rnd.bidderShare, rnd.bidderEphemeral],
    [ROLE_OPENING, openingRaw, openingShare, rnd.openingEphemeral]]) {
    const { ephemeralRaw, sealed } = await wrap(recipient, share, wrapInfo(role, contextHash), eph);
    stanzas.push(concat(new Uint8Array([role]), recipient, ephemeralRaw,
      await commitmentOf(role, contextHash, share), sealed));
  }
  const beforeSummary = concat(core, new Uint8Array([2]), ...stanzas);
  const summaryKey = await aesKey(await hkdf(rnd.dataKey, contextHash, LABEL_SUMMARY), "encrypt");
  const summaryCt = u8(await subtle.encrypt(
    { name: "AES-GCM", iv: ZERO_NONCE, additionalData: await sha256(beforeSummary) }, summaryKey, summaryPlain));
  const lenField = new Uint8Array(4);
  new DataView(lenField.buffer).setUint32(0, summaryCt.length);
  const raw = concat(beforeSummary, lenField, summaryCt);
  const header = await parseHeader(raw); // check ourselves with the reader's rules
  const payloadKey = await aesKey(await hkdf(rnd.dataKey, contextHash, LABEL_PAYLOAD), "encrypt");
  rnd.dataKey.fill(0);
  rnd.bidderShare.fill(0);
  openingShare.fill(0);
  const parts = [raw];
  let batch = [];
  for (let index = 0; index < header.chunkCount; index++) {
    const start = index * chunkSize;
    const plain = u8(await source.slice(start, Math.min(start + chunkSize, source.size)).arrayBuffer());
    const sealed = await subtle.encrypt(
      { name: "AES-GCM", iv: chunkNonce(header.noncePrefix, index, index === header.chunkCount - 1),
        additionalData: header.headerHash }, payloadKey, plain);
    plain.fill(0);
    batch.push(sealed);
    if (batch.length === 64) {
      parts.push(new Blob(batch));
      batch = [];
    }
    options.progress?.(Math.min(start + chunkSize, source.size), source.size);
  }
  parts.push(new Blob(batch));
  const blob = new Blob(parts, { type: "application/octet-stream" });
  if (blob.size !== header.envelopeSize) throw new EnvelopeError("size_mismatch", "the bid changed while it was sealed (文件长度不符)");
  return { blob, header, size: blob.size };
}

// --- the section's opening key (threshold, docs/envelope.md §10) ------------------------------

const SHARE_LABEL = encoder.encode("tradesys/opening-share/v1");
/** The P-256 group order n: the Shamir field. */
export const CURVE_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551n;

function badShare(message) {
  return new EnvelopeError("bad_share", message);
}

function shareParameters(share, what) {
  checkCode(share.section, "section");
  const { threshold: k, count: n, index: i } = share;
  if (![k, n, i].every(Number.isSafeInteger) || !(2 <= k && k <= n && n <= 255) || !(1 <= i && i <= n)) {
    throw badShare(`${what}: share parameters out of range, need 2 ≤ k ≤ n ≤ 255 and 1 ≤ index ≤ n (份额参数无效)`);
  }
}

/**
 * A key holder opens its wrapped opening-key share (as tradesys.bids.shamir.unwrap_holder_share)
 * and gets the released form to send: {format: "tradesys-released-share", version, section,
 * opening_public_key, threshold, count, index, value}. `publicKey` (raw), when given, names a
 * wrong key before trying. Errors: bad_share, wrong_key, unwrap_failed, bad_base64.
 */
export async function unwrapHolderShare(wrapped, privateKey, publicKey = null) {
  if (!wrapped || typeof wrapped !== "object" || wrapped.format !== "tradesys-opening-share" || wrapped.version !== 1) {
    throw badShare("不是开标密钥份额 (not a wrapped opening share)");
  }
  const missing = ["section", "opening_public_key", "threshold", "count", "index", "holder_public_key",
    "ephemeral_public_key", "ciphertext"].filter((name) => !(name in wrapped));
  if (missing.length) throw badShare(`份额缺少字段 (wrapped share is missing ${missing.join(", ")})`);
  shareParameters(wrapped, "wrapped share");
  const fields = {
    format: wrapped.format, version: wrapped.version, section: wrapped.section,
    opening_public_key: wrapped.opening_public_key, threshold: wrapped.threshold,
    count: wrapped.count, index: wrapped.index, holder_public_key: wrapped.holder_public_key,
  };
  unb64u(wrapped.opening_public_key, "opening_public_key");
  const holderRaw = unb64u(wrapped.holder_public_key, "holder_public_key");
  if (publicKey && !equalBytes(await publicKeyRaw(publicKey), holderRaw)) {
    throw new EnvelopeError("wrong_key", "持有人私钥不符 (this key does not hold that share)");
  }
  const info = concat(SHARE_LABEL, await sha256(encoder.encode(canonicalJson(fields))));
  const value = await unwrap(privateKey, holderRaw, unb64u(wrapped.ephemeral_public_key, "ephemeral_public_key"),
    unb64u(wrapped.ciphertext, "ciphertext"), info);
  try {
    if (value.length !== 32) throw badShare("份额长度无效 (the share value must be 32 bytes)");
    const number = BigInt(`0x${Array.from(value, (b) => b.toString(16).padStart(2, "0")).join("")}`);
    if (number >= CURVE_ORDER) throw badShare("份额值越界 (share value out of range)");
    return {
      format: "tradesys-released-share", version: 1, section: wrapped.section,
      opening_public_key: wrapped.opening_public_key, threshold: wrapped.threshold,
      count: wrapped.count, index: wrapped.index, value: b64u(value),
    };
  } finally {
    value.fill(0);
  }
}

// --- open ------------------------------------------------------------------------------------

/** The share wrapped to `role`; `publicKey` (raw) lets a wrong key be named before trying. */
export async function unwrapShare(header, role, privateKey, publicKey = null) {
  const number = roleNumber(role);
  const stanza = number === ROLE_BIDDER ? header.bidder : header.opening;
  if (publicKey && !equalBytes(await publicKeyRaw(publicKey), stanza.recipientPub)) {
    throw new EnvelopeError("wrong_key", "私钥与信封接收方不符 (this key is not the envelope's recipient key)");
  }
  const share = await unwrap(privateKey, stanza.recipientPub, stanza.ephemeralPub, stanza.wrapped,
    wrapInfo(number, header.contextHash));
  await checkShare(header, number, share);
  return share;
}

export async function checkShare(header, role, share) {
  const number = roleNumber(role);
  const stanza = number === ROLE_BIDDER ? header.bidder : header.opening;
  if (!(share instanceof Uint8Array) || share.length !== SHARE_LEN) throw new EnvelopeError("bad_share", "a share is 32 bytes (份额长度无效)");
  if (!equalBytes(await commitmentOf(number, header.contextHash, share), stanza.commitment)) {
    throw new EnvelopeError("share_mismatch", "份额与承诺不符 (the share does not match the envelope's commitment)",
      { role: number === ROLE_BIDDER ? "bidder" : "opening" });
  }
}

export async function combine(header, bidderShare, openingShare) {
  await checkShare(header, ROLE_BIDDER, bidderShare);
  await checkShare(header, ROLE_OPENING, openingShare);
  const dataKey = xor(bidderShare, openingShare);
  const keys = {
    summaryKey: await aesKey(await hkdf(dataKey, header.contextHash, LABEL_SUMMARY), "decrypt"),
    payloadKey: await aesKey(await hkdf(dataKey, header.contextHash, LABEL_PAYLOAD), "decrypt"),
  };
  dataKey.fill(0);
  return keys;
}

export async function openSummary(header, keys) {
  let plain;
  try {
    plain = u8(await subtle.decrypt({ name: "AES-GCM", iv: ZERO_NONCE, additionalData: header.summaryAad },
      keys.summaryKey, header.summaryCiphertext));
  } catch {
    throw new EnvelopeError("summary_auth_failed", "开标一览表校验失败 (the bid summary fails authentication)");
  }
  const summary = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(plain));
  if (!equalBytes(encodeSummary(summary), plain)) throw badSummary("not canonical JSON");
  return summary;
}

/** Decrypts the whole payload of an envelope Blob, chunk by chunk; returns the plaintext Blob. */
export async function decrypt(blob, keys, header = null) {
  header ??= await readHeader(blob);
  if (blob.size < header.envelopeSize) throw new EnvelopeError("truncated", "加密投标文件不完整 (the envelope is truncated)");
  if (blob.size > header.envelopeSize) throw new EnvelopeError("trailing_data", "信封末尾有多余数据 (bytes after the last chunk)");
  const parts = [];
  let at = header.headerLen;
  let remaining = header.plaintextSize;
  for (let index = 0; index < header.chunkCount; index++) {
    const want = Math.min(header.chunkSize, remaining);
    const sealed = await blob.slice(at, at + want + TAG_LEN).arrayBuffer();
    try {
      parts.push(await subtle.decrypt(
        { name: "AES-GCM", iv: chunkNonce(header.noncePrefix, index, index === header.chunkCount - 1),
          additionalData: header.headerHash }, keys.payloadKey, sealed));
    } catch {
      throw new EnvelopeError("chunk_auth_failed", `第 ${index} 块校验失败 (chunk ${index} fails authentication)`, { chunk: index });
    }
    at += want + TAG_LEN;
    remaining -= want;
  }
  return new Blob(parts);
}
