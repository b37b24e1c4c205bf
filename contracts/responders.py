"""The built-in CA's public answers: CRLs, OCSP (RFC 6960) and time stamps (RFC 3161).

Why here and not in the route layer: what a relying party is told about a certificate is
evidence, built from the database's revocation state at the platform clock's time, the same
state the signing commands check (``contracts.store``). The routes only move bytes; every
decision (which issuer we answer for, which status, which hash algorithms a time stamp may
use) is made here, in plain Python.

A request that is not DER of the protocol's type is refused as :class:`MalformedRequest`
(HTTP 400, the API's error shape). A well-formed request we will not serve gets the
protocol's own refusal, as the RFCs ask: OCSP ``unauthorized`` for a certificate another CA
issued (RFC 6960 §2.3), a time-stamp ``rejection`` with ``badAlg`` or ``unacceptedPolicy``
(RFC 3161 §2.4.2).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, ClassVar

from asn1crypto import core, tsp
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.models import SignerCertificate
from contracts.pki import OCSP_HOURS
from contracts.store import Authority, revocation_data
from tradesys.errors import DomainError

__all__ = [
    "TSA_POLICY",
    "MalformedRequest",
    "crl",
    "ocsp_answer",
    "root_crl",
    "timestamp_reply",
]

#: The policy the built-in TSA's tokens name (pyHanko's in-process responder's).
TSA_POLICY = "1.3.6.1.4.1.4146.2.2"
#: Hash algorithms a time-stamp request may use, with their digest lengths.
TSA_DIGESTS = {"sha256": 32, "sha384": 48, "sha512": 64}


class MalformedRequest(DomainError):
    """Not a DER request of the protocol: 400."""

    kind = "bad_request"


async def crl(session: AsyncSession, authority: Authority, at: datetime) -> bytes:
    """The issuing CA's current CRL (DER): every revoked signer certificate."""
    return (await revocation_data(session, authority, at, [])).crls[0]


def root_crl(authority: Authority, at: datetime) -> bytes:
    """The root's CRL (DER): it covers the issuing CA."""
    return authority.ca.root_crl(at).public_bytes(serialization.Encoding.DER)


def _issuer_hashes(issuer: x509.Certificate, algorithm: hashes.HashAlgorithm) -> tuple[bytes,
                                                                                          bytes]:
    """RFC 6960 §4.1.1 CertID: the hash of the issuer's DN and of its public key's BIT STRING
    contents (for P-256, the uncompressed point)."""
    name = hashes.Hash(algorithm)
    name.update(issuer.subject.public_bytes())
    key = hashes.Hash(algorithm)
    key.update(issuer.public_key().public_bytes(serialization.Encoding.X962,
                                                serialization.PublicFormat.UncompressedPoint))
    return name.finalize(), key.finalize()


async def ocsp_answer(session: AsyncSession, authority: Authority, request: bytes,
                      at: datetime) -> bytes:
    """The DER OCSP response for one request: good, revoked (with its time) or unknown, signed
    by the issuing CA itself, the request's nonce echoed."""
    try:
        parsed = ocsp.load_der_ocsp_request(request)
        serial = parsed.serial_number
        algorithm = parsed.hash_algorithm
        name_hash, key_hash = parsed.issuer_name_hash, parsed.issuer_key_hash
        nonce = next((e.value.nonce for e in parsed.extensions
                      if isinstance(e.value, x509.OCSPNonce)), None)
    except (ValueError, UnsupportedAlgorithm, TypeError) as error:
        raise MalformedRequest("malformed_ocsp_request", "不是有效的 OCSP 请求（RFC 6960，DER）"
                               "(not a DER OCSP request)") from error
    ca = authority.ca
    if (name_hash, key_hash) != _issuer_hashes(ca.issuing, algorithm):
        return ocsp.OCSPResponseBuilder.build_unsuccessful(
            ocsp.OCSPResponseStatus.UNAUTHORIZED).public_bytes(serialization.Encoding.DER)
    status, revoked_at = ocsp.OCSPCertStatus.UNKNOWN, None
    if serial == ca.tsa.serial_number:
        status = ocsp.OCSPCertStatus.GOOD
    else:
        row = (await session.execute(select(SignerCertificate).where(
            SignerCertificate.serial == format(serial, "x")))).scalar_one_or_none()
        if row is not None:
            status = (ocsp.OCSPCertStatus.GOOD if row.revoked_at is None
                      else ocsp.OCSPCertStatus.REVOKED)
            revoked_at = row.revoked_at
    builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
        issuer_name_hash=name_hash, issuer_key_hash=key_hash, serial_number=serial,
        algorithm=algorithm, cert_status=status, this_update=at,
        next_update=at + timedelta(hours=OCSP_HOURS), revocation_time=revoked_at,
        revocation_reason=None,
    ).responder_id(ocsp.OCSPResponderEncoding.HASH, ca.issuing)
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.sign(ca.issuing_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


class _Rejection(core.Sequence):
    """A ``TimeStampResp`` without its (OPTIONAL) token: asn1crypto's declares it required."""

    _fields: ClassVar[list[tuple[Any, ...]]] = [("status", tsp.PKIStatusInfo)]


def _rejection(failure: str, text: str) -> bytes:
    return _Rejection({"status": tsp.PKIStatusInfo({
        "status": "rejection", "status_string": [text],
        "fail_info": tsp.PKIFailureInfo({failure})})}).dump()


def timestamp_reply(authority: Authority, request: bytes, at: datetime) -> bytes:
    """The DER time-stamp response (RFC 3161): a token from the built-in TSA over the
    request's message imprint at the platform clock's time, or a rejection."""
    try:
        parsed = tsp.TimeStampReq.load(request, strict=True)
        native = parsed.native  # asn1crypto parses lazily: force every field now
        algorithm = parsed["message_imprint"]["hash_algorithm"]["algorithm"].native
        imprint = parsed["message_imprint"]["hashed_message"].native
    except (ValueError, TypeError, KeyError, OverflowError) as error:
        raise MalformedRequest("malformed_timestamp_request", "不是有效的时间戳请求（RFC 3161，"
                               "DER）(not a DER time-stamp request)") from error
    if native["version"] != "v1":
        return _rejection("bad_request", "unsupported version")
    if TSA_DIGESTS.get(algorithm) != len(imprint):
        return _rejection("bad_alg", f"message imprint must be one of {sorted(TSA_DIGESTS)} "
                          "with its digest length")
    if native["req_policy"] is not None and native["req_policy"] != TSA_POLICY:
        return _rejection("unaccepted_policy", f"this TSA issues under {TSA_POLICY} only")
    stamper = authority.builtin_timestamper(at)
    response = stamper.request_tsa_response(parsed)
    return bytes(response.dump())

