"""Key files and backups: what keygen writes, what the browser exports, what is refused."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization

from tradesys.bids.encoding import b64u
from tradesys.bids.errors import EnvelopeError
from tradesys.bids.keys import (
    generate_private_key,
    load_backup,
    load_private_key,
    load_public_key,
    make_backup,
    private_key_pem,
    public_key_bytes,
    public_key_text,
    unwrap,
    wrap,
)


def test_pkcs8_file_round_trip_and_wrong_password() -> None:
    key = generate_private_key()
    pem = private_key_pem(key, b"secret")
    assert b"ENCRYPTED PRIVATE KEY" in pem
    assert public_key_bytes(load_private_key(pem, b"secret")) == public_key_bytes(key)
    with pytest.raises(EnvelopeError) as caught:
        load_private_key(pem, b"wrong")
    assert caught.value.code == "bad_private_key"
    with pytest.raises(EnvelopeError):
        private_key_pem(key, b"")


def test_browser_backup_round_trip_and_wrong_password() -> None:
    key = generate_private_key()
    backup = make_backup(key, "密码".encode(), iterations=600_000)
    assert public_key_bytes(load_backup(backup, "密码".encode())) == public_key_bytes(key)
    with pytest.raises(EnvelopeError) as caught:
        load_backup(backup, b"wrong")
    assert caught.value.code == "bad_password"
    weak = {**backup, "iterations": 1000}
    with pytest.raises(EnvelopeError) as caught:
        load_backup(weak, "密码".encode())
    assert caught.value.code == "bad_backup"
    swapped = {**backup, "public_key": public_key_text(generate_private_key())}
    with pytest.raises(EnvelopeError) as caught:  # the public key is in the AAD
        load_backup(swapped, "密码".encode())
    assert caught.value.code == "bad_password"


def test_a_signing_keys_backup_is_marked_as_signing_js_marks_it() -> None:
    """keys.html imports a backup with ``"purpose": "signing"`` as an ECDSA key, any other as
    an ECDH one (tests/browser/test_demo_opening.py imports both kinds written here)."""
    key = generate_private_key()
    signing = make_backup(key, b"password", purpose="signing")
    encryption = make_backup(key, b"password")
    assert signing["purpose"] == "signing" and "purpose" not in encryption
    assert public_key_bytes(load_backup(signing, b"password")) == public_key_bytes(key)


def test_public_key_forms() -> None:
    key = generate_private_key()
    raw = public_key_bytes(key)
    pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    der = key.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    for form in (raw, b64u(raw), b64u(raw) + "\n", pem, der):
        assert public_key_bytes(load_public_key(form)) == raw


def test_a_der_key_ending_in_a_whitespace_byte_is_read_whole() -> None:
    """The DER SPKI ends with the point's last byte; when that byte was 0x20, 0x0a or the like the
    parser once stripped it as if the key were text, and refused one key in about forty."""
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    while True:
        key = generate_private_key()
        der = key.public_key().public_bytes(serialization.Encoding.DER, spki)
        if der[-1:].isspace():
            break
    assert public_key_bytes(load_public_key(der)) == public_key_bytes(key)
    assert public_key_bytes(load_public_key(der[-65:])) == public_key_bytes(key)  # the raw point


@pytest.mark.parametrize("bad", [b"", b"\x04" + bytes(64), "not base64!", b64u(b"\x04" * 65),
                                 b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"])
def test_invalid_public_keys_are_refused(bad) -> None:
    with pytest.raises(EnvelopeError) as caught:
        load_public_key(bad)
    assert caught.value.code in ("bad_public_key", "bad_base64")


def test_wrap_is_bound_to_its_info_and_recipient() -> None:
    key = generate_private_key()
    eph, sealed = wrap(key.public_key(), b"share" * 6, b"info-a")
    assert unwrap(key, eph, sealed, b"info-a") == b"share" * 6
    for args in ((key, eph, sealed, b"info-b"), (generate_private_key(), eph, sealed, b"info-a")):
        with pytest.raises(EnvelopeError) as caught:
            unwrap(*args)
        assert caught.value.code == "unwrap_failed"


def test_raw_points_ending_in_whitespace_bytes_load_unchanged() -> None:
    """A raw point is binary: 0x20 or 0x0a at either end is data, not padding to strip."""
    for _ in range(2000):
        raw = public_key_bytes(generate_private_key())
        if raw[-1] in b" \n\r\t\x0b\x0c":
            assert public_key_bytes(load_public_key(raw)) == raw
            return
    pytest.skip("no key ending in a whitespace byte was drawn")
