// The keys of this browser and of the organisation: which registered public keys have their
// private half here (IndexedDB, non-extractable), and what a role registers.
//
// A local encryption key pair (ECDH: bidder and holder keys) is kept under "key:<key id>", a
// signing key pair (ECDSA, signing.js) under "sign:<key id>", the key id being the hex SHA-256
// of the raw public point: the same id the server gives the registered key (docs/envelope.md §7).
// The two kinds are kept apart so that no page ever uses one for the other.

import { b64u, listKeyNames, loadKeyPair, saveKeyPair } from './envelope.js';

/** Where each kind of key pair is kept: "encryption" (ECDH) or "signing" (ECDSA). */
const PREFIXES = { encryption: 'key:', signing: 'sign:' };

export const PURPOSES = {
  bidder: '投标文件加密密钥',
  holder: '开标密钥持有人密钥',
  signing: '签名密钥（电子签名）',
};

/** The kind of key pair a registered purpose needs. */
export function kindOf(purpose) {
  return purpose === 'signing' ? 'signing' : 'encryption';
}

function prefixOf(kind) {
  const prefix = PREFIXES[kind];
  if (!prefix) throw new Error(`unknown key kind ${kind}`);
  return prefix;
}

/** What a role registers: bidders seal bids, agency/procurer/supervisor users hold shares. */
export function purposeFor(role) {
  if (role === 'bidder') return 'bidder';
  if (role === 'agency' || role === 'procurer' || role === 'supervisor') return 'holder';
  return null;
}

/** The hex SHA-256 of a raw public point. */
export async function keyIdOf(rawPublicKey) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', rawPublicKey));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The registered (text) form of a raw public point: base64url without padding. */
export function publicKeyText(rawPublicKey) {
  return b64u(rawPublicKey);
}

/** The key ids of the key pairs of one kind kept in this browser. */
export async function localKeyIds(kind = 'encryption') {
  const prefix = prefixOf(kind);
  const names = await listKeyNames();
  return new Set(names.filter((name) => typeof name === 'string' && name.startsWith(prefix))
    .map((name) => name.slice(prefix.length)));
}

/** Keeps a pair {privateKey (non-extractable), publicKey (raw)}; resolves to its key id. */
export async function storeLocal(pair, kind = 'encryption') {
  const prefix = prefixOf(kind);
  const id = await keyIdOf(pair.publicKey);
  await saveKeyPair(prefix + id, { privateKey: pair.privateKey, publicKey: pair.publicKey });
  return id;
}

/** The pair of that kind kept under a key id, or undefined. */
export function loadLocal(keyId, kind = 'encryption') {
  return loadKeyPair(prefixOf(kind) + keyId);
}

/** "1a2b3c4d 5e6f7a8b": the first 16 hex digits of a key id, grouped for reading aloud. */
export function shortKeyId(keyId) {
  return `${keyId.slice(0, 8)} ${keyId.slice(8, 16)}`;
}
