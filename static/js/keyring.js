// The keys of this browser and of the organisation: which registered public keys have their
// private half here (IndexedDB, non-extractable), and what a role registers.
//
// A local key pair is kept under "key:<key id>", the key id being the hex SHA-256 of the raw
// public point: the same id the server gives the registered key (docs/envelope.md §7).

import { b64u, listKeyNames, loadKeyPair, saveKeyPair } from './envelope.js';

const PREFIX = 'key:';

export const PURPOSES = {
  bidder: '投标文件加密密钥',
  holder: '开标密钥持有人密钥',
};

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

/** The key ids of the key pairs kept in this browser. */
export async function localKeyIds() {
  const names = await listKeyNames();
  return new Set(names.filter((name) => typeof name === 'string' && name.startsWith(PREFIX))
    .map((name) => name.slice(PREFIX.length)));
}

/** Keeps a pair {privateKey (non-extractable), publicKey (raw)}; resolves to its key id. */
export async function storeLocal(pair) {
  const id = await keyIdOf(pair.publicKey);
  await saveKeyPair(PREFIX + id, { privateKey: pair.privateKey, publicKey: pair.publicKey });
  return id;
}

/** The pair kept under a key id, or undefined. */
export function loadLocal(keyId) {
  return loadKeyPair(PREFIX + keyId);
}

/** "1a2b3c4d 5e6f7a8b": the first 16 hex digits of a key id, grouped for reading aloud. */
export function shortKeyId(keyId) {
  return `${keyId.slice(0, 8)} ${keyId.slice(8, 16)}`;
}
