"""P-256 key handling and the ECIES wrap used for every share in the system.

Why these forms:

* A **public key** travels as the 65-byte uncompressed SEC1 point (``04 ‖ X ‖ Y``), in text as
  base64url without padding. It is what WebCrypto's ``exportKey("raw")`` gives, so the browser
  and the CLI register byte-identical keys. SPKI (PEM or DER) is accepted on input too.
* A **private key file** from ``tradesys bidder keygen`` is encrypted PKCS#8 PEM (PBES2:
  PBKDF2-HMAC-SHA256 × 600,000, AES-256-CBC; tradesys/bids/pkcs8.py says why it is built there),
  readable by OpenSSL. The browser's password-protected
  backup (docs/envelope.md §7: PBKDF2-SHA256 → AES-256-GCM over the PKCS#8) is read here too, so
  a bidder can move between the browser and the CLI.
* **Wrapping** (ECIES) is one construction for the envelope's two data-key shares and for the
  key holders' Shamir shares: an ephemeral P-256 key, ECDH, HKDF-SHA256 with
  ``salt = ephemeral_pub ‖ recipient_pub`` and a caller-chosen ``info`` that names the role and
  the context, then AES-256-GCM with an all-zero nonce (every wrap key is used exactly once,
  because each wrap has a fresh ephemeral key).
"""

from __future__ import annotations

import hmac
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from tradesys.bids.encoding import b64u, sha256, unb64u
from tradesys.bids.errors import EnvelopeError
from tradesys.bids.pkcs8 import encrypted_pkcs8_pem

CURVE = ec.SECP256R1()
#: Order of the P-256 group (the Shamir field, see shamir.py).
CURVE_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
PUBLIC_KEY_LEN = 65
ZERO_NONCE = bytes(12)

BACKUP_FORMAT = "tradesys-key-backup"
BACKUP_VERSION = 1
BACKUP_AAD_LABEL = b"tradesys/key-backup/v1"
#: OWASP's 2023 figure for PBKDF2-HMAC-SHA256; a backup with fewer is refused on import.
BACKUP_ITERATIONS = 600_000

PrivateKey = ec.EllipticCurvePrivateKey
PublicKey = ec.EllipticCurvePublicKey


def generate_private_key() -> PrivateKey:
    return ec.generate_private_key(CURVE)


def private_key_from_scalar(scalar: int) -> PrivateKey:
    """For the Shamir combiner and fixed test vectors; ``scalar`` must be in [1, n-1]."""
    if not 0 < scalar < CURVE_ORDER:
        raise EnvelopeError("bad_private_key", "私钥标量越界 (private scalar out of range)")
    return ec.derive_private_key(scalar, CURVE)


def public_key_bytes(key: PublicKey | PrivateKey) -> bytes:
    """The 65-byte uncompressed point: the one canonical byte form of a public key."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        key = key.public_key()
    return key.public_bytes(serialization.Encoding.X962,
                            serialization.PublicFormat.UncompressedPoint)


def public_key_text(key: PublicKey | PrivateKey) -> str:
    return b64u(public_key_bytes(key))


def key_id(key: PublicKey | PrivateKey | bytes) -> str:
    """Hex SHA-256 of the raw point: a short name for a key in logs, events and file names."""
    raw = key if isinstance(key, bytes) else public_key_bytes(key)
    return sha256(raw).hex()


def load_public_key(data: bytes | str | PublicKey) -> PublicKey:
    """Accepts the raw point (bytes or base64url text, surrounding whitespace ignored) or SPKI in
    PEM or DER. Rejects anything that is not a valid P-256 point (off-curve, infinity)."""
    if isinstance(data, ec.EllipticCurvePublicKey):
        if not isinstance(data.curve, ec.SECP256R1):
            raise EnvelopeError("bad_public_key", "公钥不是 P-256 (public key is not P-256)")
        return data
    raw = data.encode("ascii", "replace") if isinstance(data, str) else bytes(data)
    # Binary forms are taken as they are: a raw point or a DER SPKI may end in a byte that is
    # whitespace (0x20, 0x0a, ...), and stripping it once made one key in ~40 unparseable.
    binary = isinstance(data, bytes | bytearray | memoryview) and (
        (len(raw) == PUBLIC_KEY_LEN and raw[0] == 4) or raw[:1] == b"\x30")
    if not binary:
        raw = raw.strip()
    try:
        if raw.startswith(b"-----BEGIN"):
            key = serialization.load_pem_public_key(raw)
        elif binary and raw[:1] == b"\x30":
            key = serialization.load_der_public_key(raw)
        else:
            if len(raw) != PUBLIC_KEY_LEN:
                raw = unb64u(raw.decode("ascii", "replace"), field="public key")
            key = ec.EllipticCurvePublicKey.from_encoded_point(CURVE, raw)
    except EnvelopeError:
        raise
    except (ValueError, TypeError) as error:
        raise EnvelopeError("bad_public_key", "公钥无效 (invalid public key)") from error
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise EnvelopeError("bad_public_key", "公钥不是 P-256 (public key is not P-256)")
    return key


def same_public_key(a: PublicKey | bytes, b: PublicKey | bytes) -> bool:
    raw_a = a if isinstance(a, bytes) else public_key_bytes(a)
    raw_b = b if isinstance(b, bytes) else public_key_bytes(b)
    return hmac.compare_digest(raw_a, raw_b)


# --- private key files ---------------------------------------------------------------------


def private_key_pem(key: PrivateKey, password: bytes) -> bytes:
    """Encrypted PKCS#8 PEM with an explicit, strong KDF (tradesys/bids/pkcs8.py). An empty
    password is refused: the file is the bidder's half of every bid it ever seals."""
    if not password:
        raise EnvelopeError("empty_password", "密码不能为空 (the password must not be empty)")
    return encrypted_pkcs8_pem(key, password)


def _backup_key(password: bytes, salt: bytes, iterations: int) -> bytes:
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=iterations)
    return kdf.derive(password)


def make_backup(key: PrivateKey, password: bytes, *, iterations: int = BACKUP_ITERATIONS,
                salt: bytes | None = None, nonce: bytes | None = None,
                purpose: str | None = None) -> dict[str, Any]:
    """The browser's backup format (docs/envelope.md §7), so the CLI can write one too.

    ``purpose="signing"`` marks a signing key's backup, as signing.js writes it: keys.html then
    imports it as an ECDSA key; without it the key is imported for ECDH (encryption)."""
    if not password:
        raise EnvelopeError("empty_password", "密码不能为空 (the password must not be empty)")
    salt = os.urandom(16) if salt is None else salt
    nonce = os.urandom(12) if nonce is None else nonce
    public = public_key_bytes(key)
    pkcs8 = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption())
    sealed = AESGCM(_backup_key(password, salt, iterations)).encrypt(
        nonce, pkcs8, BACKUP_AAD_LABEL + public)
    backup: dict[str, Any] = {
        "format": BACKUP_FORMAT, "version": BACKUP_VERSION, "curve": "P-256",
        "kdf": "PBKDF2-SHA256", "iterations": iterations, "salt": b64u(salt),
        "nonce": b64u(nonce), "public_key": b64u(public), "ciphertext": b64u(sealed)}
    if purpose is not None:
        backup["purpose"] = purpose
    return backup


def load_backup(backup: dict[str, Any], password: bytes) -> PrivateKey:
    """Opens a browser backup; a wrong password or any edited field fails the GCM tag."""
    try:
        if backup.get("format") != BACKUP_FORMAT or backup.get("version") != BACKUP_VERSION \
                or backup.get("kdf") != "PBKDF2-SHA256" or backup.get("curve") != "P-256":
            raise EnvelopeError("bad_backup", "不是 tradesys 密钥备份 (not a tradesys key backup)")
        iterations = backup["iterations"]
        if not isinstance(iterations, int) or not BACKUP_ITERATIONS <= iterations <= 10**8:
            raise EnvelopeError("bad_backup", "备份的迭代次数无效 (bad iteration count)")
        salt = unb64u(backup["salt"], field="salt")
        nonce = unb64u(backup["nonce"], field="nonce")
        public = unb64u(backup["public_key"], field="public_key")
        sealed = unb64u(backup["ciphertext"], field="ciphertext")
    except KeyError as error:
        raise EnvelopeError("bad_backup", "备份缺少字段 (backup field missing)") from error
    if len(salt) < 16 or len(nonce) != 12:
        raise EnvelopeError("bad_backup", "备份的盐或随机数长度无效 (bad salt or nonce)")
    try:
        pkcs8 = AESGCM(_backup_key(password, salt, iterations)).decrypt(
            nonce, sealed, BACKUP_AAD_LABEL + public)
    except InvalidTag as error:
        raise EnvelopeError("bad_password", "密码错误或备份已损坏 (wrong password or damaged "
                            "backup)") from error
    key = serialization.load_der_private_key(pkcs8, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not same_public_key(key, public):
        raise EnvelopeError("bad_backup", "备份中的公钥不匹配 (public key mismatch)")
    return key


def load_private_key(data: bytes, password: bytes) -> PrivateKey:
    """Reads ``keygen``'s encrypted PKCS#8 PEM or a browser backup (JSON)."""
    stripped = data.strip()
    if stripped.startswith(b"{"):
        try:
            backup = json.loads(stripped)
        except ValueError as error:
            raise EnvelopeError("bad_backup", "备份不是 JSON (backup is not JSON)") from error
        return load_backup(backup, password)
    try:
        key = serialization.load_pem_private_key(stripped, password=password)
    except (ValueError, TypeError) as error:
        # cryptography says "Bad decrypt" for a wrong password and other things for junk;
        # neither message carries key material.
        raise EnvelopeError("bad_private_key", "私钥文件无法读取：密码错误或文件损坏 (wrong "
                            "password or damaged key file)") from error
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise EnvelopeError("bad_private_key", "私钥不是 P-256 (private key is not P-256)")
    return key


# --- ECIES wrap ----------------------------------------------------------------------------


def _wrap_key(shared: bytes, ephemeral_pub: bytes, recipient_pub: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=ephemeral_pub + recipient_pub,
                info=info).derive(shared)


def wrap(recipient: PublicKey, plaintext: bytes, info: bytes,
         ephemeral: PrivateKey | None = None) -> tuple[bytes, bytes]:
    """Encrypts ``plaintext`` to ``recipient``; returns ``(ephemeral_pub, ciphertext‖tag)``.

    ``ephemeral`` is only ever passed by the test-vector generator; a reused ephemeral key with
    the same recipient and info would reuse the (key, zero nonce) pair.
    """
    ephemeral = generate_private_key() if ephemeral is None else ephemeral
    eph_pub = public_key_bytes(ephemeral)
    shared = ephemeral.exchange(ec.ECDH(), recipient)
    key = _wrap_key(shared, eph_pub, public_key_bytes(recipient), info)
    return eph_pub, AESGCM(key).encrypt(ZERO_NONCE, plaintext, None)


def unwrap(private_key: PrivateKey, ephemeral_pub: bytes, ciphertext: bytes, info: bytes) -> bytes:
    """Inverse of :func:`wrap`. Any wrong key, info or byte gives ``unwrap_failed``."""
    try:
        eph = ec.EllipticCurvePublicKey.from_encoded_point(CURVE, ephemeral_pub)
    except ValueError as error:
        raise EnvelopeError("bad_ephemeral_key", "临时公钥无效 (invalid ephemeral key)") from error
    shared = private_key.exchange(ec.ECDH(), eph)
    key = _wrap_key(shared, ephemeral_pub, public_key_bytes(private_key), info)
    try:
        return AESGCM(key).decrypt(ZERO_NONCE, ciphertext, None)
    except InvalidTag as error:
        raise EnvelopeError("unwrap_failed", "份额无法解开：私钥不对或数据被篡改 (cannot unwrap: "
                            "wrong private key or tampered data)") from error
