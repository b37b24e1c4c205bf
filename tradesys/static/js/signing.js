// Signing keys (签名密钥): an organisation's own ECDSA P-256 key pair, made in this browser, with
// which it signs what it confirms (the opening record, 开标记录) so that anyone can check the
// signature without the platform (DESIGN.md invariant 6; tradesys/opening/confirmation.py).
//
// As with the encryption keys (envelope.js, keyring.js): the pair is made extractable only long
// enough to export the PKCS#8 once into the password-protected backup (docs/envelope.md §7, the
// same file format, marked "purpose": "signing"), then the private key is re-imported
// NON-EXTRACTABLE and kept in IndexedDB (keyring.js, "sign:<key id>"). It is registered as
// {"purpose": "signing", "public_key": base64url of the 65-byte uncompressed point}.
//
// Public API:
//   generateSigningKey(password) → {publicKey (raw), privateKey (non-extractable), backup}
//   importSigningBackup(backup, password) → {publicKey, privateKey};  isSigningBackup(backup)
//   confirmationMessage({sectionCode, recordSha256, bidderCreditCode}) → Uint8Array
//   sign(privateKey, bytes) → base64url r||s (64 bytes, IEEE P1363)
//   verify(publicKey (raw or base64url), bytes, signature) → boolean

import { b64u, BACKUP_ITERATIONS, EnvelopeError, openBackup, sealBackup, unb64u } from './envelope.js';

const subtle = globalThis.crypto.subtle;
const encoder = new TextEncoder();

export const ECDSA = { name: 'ECDSA', namedCurve: 'P-256' };
export const SIGNATURE = { name: 'ECDSA', hash: 'SHA-256' };
export const SIGNING_PURPOSE = 'signing';
export const CONFIRMATION_TYPE = 'tradesys.opening-record-confirmation';
const SIGNATURE_LEN = 64;

/** A new signing key pair and its backup file; the private key never leaves the browser. */
export async function generateSigningKey(password, { iterations = BACKUP_ITERATIONS } = {}) {
  if (!password) throw new EnvelopeError('empty_password', '密码不能为空 (the password must not be empty)');
  const pair = await subtle.generateKey(ECDSA, true, ['sign', 'verify']);
  const publicKey = new Uint8Array(await subtle.exportKey('raw', pair.publicKey));
  const pkcs8 = new Uint8Array(await subtle.exportKey('pkcs8', pair.privateKey));
  try {
    const backup = await sealBackup(pkcs8, publicKey, password,
      { iterations, extra: { purpose: SIGNING_PURPOSE } });
    const privateKey = await subtle.importKey('pkcs8', pkcs8, ECDSA, false, ['sign']);
    return { publicKey, privateKey, backup };
  } finally {
    pkcs8.fill(0);
  }
}

/** A backup file of a signing key (the other backups hold encryption keys). */
export function isSigningBackup(backup) {
  return Boolean(backup) && typeof backup === 'object' && backup.purpose === SIGNING_PURPOSE;
}

/** Restores a signing key's backup as a non-extractable ECDSA pair. */
export async function importSigningBackup(backup, password) {
  const { publicKey, pkcs8 } = await openBackup(backup, password);
  try {
    const privateKey = await subtle.importKey('pkcs8', pkcs8, ECDSA, false, ['sign']);
    const check = await subtle.importKey('raw', publicKey, ECDSA, false, ['verify']);
    const probe = encoder.encode('tradesys/signing-key-check');
    if (!await subtle.verify(SIGNATURE, check, await subtle.sign(SIGNATURE, privateKey, probe), probe)) {
      throw new EnvelopeError('bad_backup', '备份中的公钥不匹配 (public key mismatch)');
    }
    return { publicKey, privateKey };
  } catch (error) {
    if (error instanceof EnvelopeError) throw error;
    throw new EnvelopeError('bad_backup', '不是有效的签名密钥备份 (not a valid signing key backup)');
  } finally {
    pkcs8.fill(0);
  }
}

/**
 * What a bidder signs to confirm an opening record: the UTF-8 bytes of the canonical JSON
 * (keys sorted, no spaces) — tradesys.opening.confirmation.message.
 */
export function confirmationMessage({ sectionCode, recordSha256, bidderCreditCode }) {
  for (const [name, value] of [['section code', sectionCode], ['record SHA-256', recordSha256],
    ['credit code', bidderCreditCode]]) {
    if (typeof value !== 'string' || !value) {
      throw new Error(`缺少签名内容：${name} (nothing to sign: ${name} is missing)`);
    }
  }
  if (!/^[0-9a-f]{64}$/.test(recordSha256)) {
    throw new Error('开标记录摘要无效 (the record SHA-256 is not 64 hex digits)');
  }
  return encoder.encode(JSON.stringify({
    bidder_credit_code: bidderCreditCode,
    record_sha256: recordSha256,
    section_code: sectionCode,
    type: CONFIRMATION_TYPE,
  }));
}

/** ECDSA P-256 with SHA-256 over bytes: the raw r||s (64 bytes), base64url without padding. */
export async function sign(privateKey, bytes) {
  const signature = new Uint8Array(await subtle.sign(SIGNATURE, privateKey, bytes));
  if (signature.length !== SIGNATURE_LEN) throw new Error('签名长度无效 (unexpected signature length)');
  return b64u(signature);
}

/** Checks a signature (base64url r||s) with a public key (raw point or its base64url text). */
export async function verify(publicKey, bytes, signature) {
  try {
    const raw = typeof publicKey === 'string' ? unb64u(publicKey, 'public_key') : publicKey;
    const sig = unb64u(signature, 'signature');
    if (raw.length !== 65 || raw[0] !== 4 || sig.length !== SIGNATURE_LEN) return false;
    const key = await subtle.importKey('raw', raw, ECDSA, false, ['verify']);
    return await subtle.verify(SIGNATURE, key, sig, bytes);
  } catch (error) {
    return false;
  }
}
