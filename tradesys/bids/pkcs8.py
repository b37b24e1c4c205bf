"""Encrypted PKCS#8 (RFC 5958 ``EncryptedPrivateKeyInfo``, PBES2 of RFC 8018) with a KDF we
choose, for the key files ``tradesys bidder keygen`` writes.

Why not ``cryptography``'s ``BestAvailableEncryption``: for PKCS#8 it leaves the iteration count
to OpenSSL's default, 2,048 rounds of PBKDF2, which a stolen key file does not survive against a
guessed password; and its ``encryption_builder`` (explicit rounds) exists only for PKCS#12 and
OpenSSH. So the file is built here from standard parts and stays readable by OpenSSL,
``cryptography``'s ``load_pem_private_key`` and ``openssl pkcs8``:

    EncryptedPrivateKeyInfo ::= SEQUENCE {
      SEQUENCE { id-PBES2,
        SEQUENCE { SEQUENCE { id-PBKDF2, SEQUENCE { salt OCTET STRING (16), iterationCount,
                       keyLength 32, SEQUENCE { hmacWithSHA256, NULL } } },
                   SEQUENCE { aes256-CBC, iv OCTET STRING (16) } } },
      encryptedData OCTET STRING }   -- AES-256-CBC, PKCS#7 padding, of the PKCS#8 DER

PBKDF2-HMAC-SHA256 with 600,000 rounds is the browser backup's KDF (docs/envelope.md §7), the
figure OWASP gives for PBKDF2-HMAC-SHA256 in 2023.
"""

from __future__ import annotations

import base64
import os

from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

#: PBKDF2-HMAC-SHA256 rounds for a key file: the same floor as the browser backup's.
KEY_FILE_ITERATIONS = 600_000

OID_PBES2 = "1.2.840.113549.1.5.13"
OID_PBKDF2 = "1.2.840.113549.1.5.12"
OID_HMAC_SHA256 = "1.2.840.113549.2.9"
OID_AES256_CBC = "2.16.840.1.101.3.4.1.42"


def _tlv(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        length = bytes([size])
    else:
        raw = size.to_bytes((size.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + content


def _seq(*items: bytes) -> bytes:
    return _tlv(0x30, b"".join(items))


def _int(value: int) -> bytes:
    return _tlv(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))  # non-negative


def _octets(value: bytes) -> bytes:
    return _tlv(0x04, value)


def _oid(dotted: str) -> bytes:
    arcs = [int(part) for part in dotted.split(".")]
    body = bytearray([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body.extend(reversed(chunk))
    return _tlv(0x06, bytes(body))


def encrypted_pkcs8_pem(key: ec.EllipticCurvePrivateKey, password: bytes, *,
                        iterations: int = KEY_FILE_ITERATIONS, salt: bytes | None = None,
                        iv: bytes | None = None) -> bytes:
    """``-----BEGIN ENCRYPTED PRIVATE KEY-----`` with PBKDF2-HMAC-SHA256 × ``iterations`` and
    AES-256-CBC. ``salt`` and ``iv`` are fresh random unless a test fixes them."""
    salt = os.urandom(16) if salt is None else salt
    iv = os.urandom(16) if iv is None else iv
    kek = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt,
                     iterations=iterations).derive(password)
    plain = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption())
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plain) + padder.finalize()
    encryptor = Cipher(algorithms.AES(kek), modes.CBC(iv)).encryptor()
    sealed = encryptor.update(padded) + encryptor.finalize()
    kdf = _seq(_oid(OID_PBKDF2), _seq(_octets(salt), _int(iterations), _int(32),
                                      _seq(_oid(OID_HMAC_SHA256), _tlv(0x05, b""))))
    scheme = _seq(_oid(OID_AES256_CBC), _octets(iv))
    der = _seq(_seq(_oid(OID_PBES2), _seq(kdf, scheme)), _octets(sealed))
    text = base64.b64encode(der).decode("ascii")
    lines = [text[i:i + 64] for i in range(0, len(text), 64)]
    return ("-----BEGIN ENCRYPTED PRIVATE KEY-----\n" + "\n".join(lines)
            + "\n-----END ENCRYPTED PRIVATE KEY-----\n").encode("ascii")
