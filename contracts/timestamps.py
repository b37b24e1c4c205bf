"""RFC 3161 time stamps over a digest, for records that are not PDFs (the archive's seal and
its signed tree head), and their offline check.

Why here: the time-stamping authority is the contract PKI's (``contracts.pki``), and a token is
checked the way a PDF's document timestamp is, with pyHanko's ``validate_tst_signed_data``
against a set of trust roots. The archive package does not import this module (DESIGN.md §3:
``archive`` and ``contracts`` are siblings); the composition roots (``tradesys/app.py`` for the
builder, ``tradesys/cli.py`` for ``tradesys verify archive``) hand these functions to it.

Both functions are synchronous: the archive is written and verified in worker threads, where
each call runs pyHanko's coroutine on an event loop of its own.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from asn1crypto import cms
from cryptography import x509
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
from pyhanko_certvalidator import ValidationContext

from contracts.services import load_authority
from contracts.signing import asn1_cert
from contracts.store import Authority
from contracts.tsa import unavailable
from contracts.verify import verify_contract
from tradesys.settings import Settings

__all__ = ["AuthorityStamps", "PkiEvidenceChecks", "TimestampCheck", "check_timestamp"]

#: The only imprint algorithm used and accepted here.
ALGORITHM = "sha256"


@dataclass(frozen=True)
class TimestampCheck:
    """A token's verdict: ``at`` (the TSA's ``genTime``) when it holds, else ``why``."""

    at: datetime | None
    why: str = ""

    @property
    def ok(self) -> bool:
        return self.at is not None


class AuthorityStamps:
    """The built-in TSA for the archive builder (``archive.builder.Stamps``): loaded from the
    settings on first use (in the builder's worker thread; ``load_or_create`` is safe beside
    the app's own loading), then kept."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._authority: Authority | None = None
        self._lock = threading.Lock()

    def _get(self, now: datetime) -> Authority:
        with self._lock:
            if self._authority is None:
                self._authority = load_authority(self._settings, now)
            return self._authority

    def stamp(self, digest: bytes, at: datetime) -> bytes:
        """The DER ``TimeStampToken`` over a SHA-256 digest at ``at`` (the platform clock's
        time, as every token of this TSA)."""
        if len(digest) != 32:
            raise ValueError("a SHA-256 digest is 32 bytes")
        authority = self._get(at)
        stamper = authority.timestamper(at)
        try:
            token = asyncio.run(stamper.async_timestamp(digest, ALGORITHM))  # type: ignore[attr-defined]
        except TimestampRequestError as error:
            raise unavailable(authority.tsa_url, error) from error
        return bytes(token.dump())

    def trust_roots(self) -> list[x509.Certificate]:
        return self._get(datetime.now(UTC)).trust_roots


class PkiEvidenceChecks:
    """What ``tradesys verify archive`` checks with this PKI (``archive.verify_pki.PkiChecks``):
    time stamps, and signed contracts as ``tradesys verify contract`` does."""

    def timestamp(self, token: bytes, digest: bytes, roots: list[x509.Certificate]
                  ) -> TimestampCheck:
        return check_timestamp(token, digest, roots)

    def contract(self, pdf: bytes, roots: list[x509.Certificate]) -> list[str]:
        report = verify_contract(pdf, roots)
        return [] if report.ok else (report.reasons or ["the contract does not verify"])


async def _validate(token: bytes, digest: bytes, roots: list[x509.Certificate]
                    ) -> TimestampCheck:
    try:
        info = cms.ContentInfo.load(token, strict=True)
        if info["content_type"].native != "signed_data":
            return TimestampCheck(None, "not a CMS SignedData time-stamp token")
        signed = info["content"]
        tst = signed["encap_content_info"]["content"].parsed
        imprint = tst["message_imprint"]
        algorithm = imprint["hash_algorithm"]["algorithm"].native
        gen_time: datetime = tst["gen_time"].native
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        return TimestampCheck(None, f"not a DER RFC 3161 token ({error})")
    if algorithm != ALGORITHM or imprint["hashed_message"].native != digest:
        return TimestampCheck(None, "the token stamps another digest")
    context = ValidationContext(
        trust_roots=[asn1_cert(c) for c in roots], moment=gen_time, allow_fetching=False,
        revocation_mode="soft-fail")
    try:
        status = await validate_tst_signed_data(signed, context, lambda _name: digest)
    except Exception as error:  # pyHanko raises many kinds for a bad token; all mean "no"
        return TimestampCheck(None, f"the token cannot be validated ({error})")
    if not status.get("intact") or not status.get("valid"):
        return TimestampCheck(None, "the TSA's signature does not hold")
    if status.get("trust_problem_indic") is not None:
        return TimestampCheck(None, "the TSA's certificate does not chain to a trusted root "
                              f"({status['trust_problem_indic']})")
    return TimestampCheck(gen_time)


def check_timestamp(token: bytes, digest: bytes, roots: list[x509.Certificate]
                    ) -> TimestampCheck:
    """Whether ``token`` is a TSA's RFC 3161 token over ``digest`` (SHA-256), signed by a
    certificate that chains to one of ``roots`` at the token's own time; offline."""
    return asyncio.run(_validate(token, digest, roots))
