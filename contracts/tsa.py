"""An external time-stamping authority (``TRADESYS_TSA_URL``): pyHanko's ``HTTPTimeStamper``
instead of the built-in TSA, and the validation data its tokens need.

Why the validation data: a contract is PAdES B-LT, so everything needed to validate it is in
its DSS, including what validates the RFC 3161 tokens; and the document timestamp after the last
signature must be the last revision (B-LTA: it covers the file to its last byte), so the TSA's
certificates and CRLs go into the DSS *before* it. The built-in TSA's are known (our own CA);
an external TSA's are learnt by asking it for one token over a fixed probe digest (RFC 3161
``certReq``: the token carries the TSA's certificate and chain) and fetching the CRLs those
certificates' distribution points name, at signing time.

The verifier needs the TSA's root among its trust roots (``TRADESYS_CONTRACT_TRUST_ROOTS``);
without it the timestamps are not trusted and the server refuses to store the signature
(``signature_invalid``). An unreachable or refusing TSA is ``tsa_unavailable`` (HTTP 503),
raised before anything is stored.
"""

from __future__ import annotations

import hashlib

import httpx
from asn1crypto import cms
from cryptography import x509
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError

from contracts.signing import ValidationData
from tradesys.errors import DomainError

__all__ = ["TIMEOUT_SECONDS", "TsaUnavailable", "external_timestamper", "external_validation",
           "unavailable"]

#: Seconds to wait for the TSA (each request) and for each CRL.
TIMEOUT_SECONDS = 10
#: What the probe token stamps: only its certificates are used.
PROBE = hashlib.sha256(b"tradesys: which certificates does this TSA sign with?").digest()


class TsaUnavailable(DomainError):
    """The external TSA did not answer with a token: 503."""

    kind = "unavailable"


def unavailable(url: str, error: Exception) -> TsaUnavailable:
    return TsaUnavailable("tsa_unavailable", f"时间戳服务不可用，签名未保存，请稍后再试 (the "
                          f"time-stamping authority {url} is unavailable: {error}; nothing was "
                          "stored)")


def external_timestamper(url: str) -> HTTPTimeStamper:
    return HTTPTimeStamper(url, timeout=TIMEOUT_SECONDS)


def _crl_urls(cert: x509.Certificate) -> list[str]:
    try:
        points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    except x509.ExtensionNotFound:
        return []
    return [name.value for point in points for name in (point.full_name or [])
            if isinstance(name, x509.UniformResourceIdentifier)]


async def external_validation(url: str) -> ValidationData:
    """The external TSA's certificates (from a probe token) and their CRLs, fetched now."""
    stamper = external_timestamper(url)
    try:
        token: cms.ContentInfo = await stamper.async_timestamp(PROBE, "sha256")
    except (TimestampRequestError, OSError, ValueError) as error:
        raise unavailable(url, error) from error
    certs = [x509.load_der_x509_certificate(choice.chosen.dump())
             for choice in token["content"]["certificates"]
             if choice.name == "certificate"]
    crls: list[bytes] = []
    async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as client:
        for crl_url in dict.fromkeys(u for c in certs for u in _crl_urls(c)):
            try:
                response = await client.get(crl_url)
                response.raise_for_status()
                x509.load_der_x509_crl(response.content)
            except (httpx.HTTPError, ValueError) as error:
                raise unavailable(crl_url, error) from error
            crls.append(response.content)
    return ValidationData(certificates=certs, crls=crls, ocsps=[])
