"""Verifying a signed contract offline: ``tradesys verify contract FILE.pdf [--trust ROOT.pem]``.

Why pyHanko's AdES validation (ETSI EN 319 102-1 §5.6.3, the same ``ades_lta_validation`` that
``pyhanko sign adesverify`` runs): a contract must be verifiable by anyone, long after the
certificates expire, from the file alone. So nothing is fetched: the certificates, CRLs and
OCSP responses come from the file's DSS (PAdES B-LT) and the document timestamp chain proves
they existed (B-LTA); revocation information is required for every certificate. Difference
analysis checks every revision after a signature against its DocMDP rules (the first signer
certified: form filling and signatures allowed).

A contract passes when it carries exactly the two party signatures, both intact, valid and
trusted, every later revision is one the certification allows, and the whole file is covered:
the last revision is the document timestamp's, which covers the file to its end.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from io import BytesIO

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY
from pyhanko.sign.validation import async_validate_pdf_timestamp
from pyhanko.sign.validation.ades import ades_lta_validation
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.policy_decl import (
    CertificateFetchingRule,
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
from pyhanko_certvalidator.policy_decl import REQUIRE_REVINFO, CertRevTrustPolicy
from pyhanko_certvalidator.registry import SimpleTrustManager

from contracts.generation import FIELDS
from contracts.signing import asn1_cert

__all__ = ["ContractReport", "SignerReport", "verify_contract"]

ORGANIZATION_IDENTIFIER = "2.5.4.97"


@dataclass
class SignerReport:
    field: str
    signer: str
    organization: str
    credit_code: str | None
    signing_time: datetime | None  #: as the signer's PDF software reported it (/M)
    timestamp: datetime | None  #: the RFC 3161 signature timestamp (the trusted time)
    coverage: str
    modifications: str
    intact: bool
    valid: bool
    trusted: bool
    docmdp_ok: bool
    bottom_line: bool
    certifies: bool


@dataclass
class ContractReport:
    ok: bool
    reasons: list[str] = field(default_factory=list)
    signers: list[SignerReport] = field(default_factory=list)
    document_timestamp: datetime | None = None
    covers_whole_file: bool = False


def _subject(cert: asn1_x509.Certificate, oid: str) -> str | None:
    for rdn in cert.subject.chosen:
        for attribute in rdn:
            if attribute["type"].dotted == oid:
                return str(attribute["value"].native)
    return None


def _spec(trust_roots: list[x509.Certificate]) -> PdfSignatureValidationSpec:
    policy = CertValidationPolicySpec(
        trust_manager=SimpleTrustManager.build(trust_roots=[asn1_cert(c) for c in trust_roots]),
        revinfo_policy=CertRevTrustPolicy(REQUIRE_REVINFO),
    )
    return PdfSignatureValidationSpec(
        signature_validation_spec=SignatureValidationSpec(
            cert_validation_policy=policy,
            revinfo_gathering_policy=RevocationInfoGatheringSpec(
                online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY,
                certificate_fetching_rule=CertificateFetchingRule.NEVER_FETCH,
            ),
        ),
        diff_policy=DEFAULT_DIFF_POLICY,
    )


async def verify_contract_async(pdf: bytes, trust_roots: list[x509.Certificate],
                                at: datetime | None = None) -> ContractReport:
    report = ContractReport(ok=False)
    try:
        reader = PdfFileReader(BytesIO(pdf), strict=True)
        signatures = list(reader.embedded_regular_signatures)
        timestamps = list(reader.embedded_timestamp_signatures)
    except (PdfError, ValueError, KeyError, TypeError) as error:
        report.reasons.append(f"不是可读的 PDF (not a readable PDF): {error}")
        return report
    spec = _spec(trust_roots)
    archived = _timestamp_time(timestamps[-1]) if timestamps else None
    if at is None and archived is not None:
        # Offline, long after signing, the CRLs in the file are no longer fresh: validate as of
        # the last document timestamp, which proves the file and its validation data existed
        # then (what B-LTA is for).
        at = archived
    timing = ValidationTimingInfo.now() if at is None else ValidationTimingInfo(
        at, at, point_in_time_validation=False)
    names = [sig.field_name for sig in signatures]
    if sorted(names) != sorted(FIELDS):
        report.reasons.append(f"签名不全：应有 {', '.join(FIELDS)} 两个签名 (expected both "
                              f"party signatures, found: {', '.join(names) or 'none'})")
    for sig in signatures:
        try:
            result = await ades_lta_validation(sig, spec, timing_info=timing)
        except (SignatureValidationError, PdfError, ValueError) as error:
            report.reasons.append(f"{sig.field_name}: 签名无法验证 (cannot be validated): {error}")
            continue
        status = result.api_status
        cert = sig.signer_cert
        ts = status.timestamp_validity.timestamp if status.timestamp_validity else None
        coverage = status.coverage.name if status.coverage else "UNKNOWN"
        modifications = status.modification_level.name if status.modification_level else "NONE"
        signer = SignerReport(
            field=sig.field_name, signer=_subject(cert, "2.5.4.3") or "",
            organization=_subject(cert, "2.5.4.10") or "",
            credit_code=_subject(cert, ORGANIZATION_IDENTIFIER),
            signing_time=sig.self_reported_timestamp, timestamp=ts, coverage=coverage,
            modifications=modifications, intact=status.intact, valid=status.valid,
            trusted=status.trusted, docmdp_ok=bool(status.docmdp_ok),
            bottom_line=status.bottom_line, certifies=sig.docmdp_level is not None,
        )
        report.signers.append(signer)
        if not status.intact:
            report.reasons.append(f"{sig.field_name}: 文件已被篡改，签名覆盖的内容不完整 "
                                  "(the signed bytes were altered)")
        elif not status.valid:
            report.reasons.append(f"{sig.field_name}: 签名值无效 (the signature is not valid)")
        elif not status.trusted:
            report.reasons.append(f"{sig.field_name}: 证书不受信任、已吊销或已过期 (the "
                                  "certificate is not trusted, revoked or expired)")
        elif not status.docmdp_ok:
            report.reasons.append(f"{sig.field_name}: 签名后的修改不被认证签名允许 (a change "
                                  f"after the signature is not permitted: {modifications})")
        elif not status.bottom_line:
            report.reasons.append(f"{sig.field_name}: 签名验证未通过 (validation failed)")
        stamp = status.timestamp_validity
        if stamp is None or not (stamp.intact and stamp.valid and stamp.trusted):
            # pyHanko's bottom line does not depend on the signature timestamp: an untrusted
            # TSA (an external one whose root is not configured) must still fail here.
            report.reasons.append(f"{sig.field_name}: 签名时间戳缺失或其签发机构不受信任 (the "
                                  "signature timestamp is missing or not by a trusted TSA)")
    if signatures and signatures[0].docmdp_level is None:
        report.reasons.append("第一个签名不是认证签名 (the first signature does not certify)")
    last = timestamps[-1] if timestamps else (signatures[-1] if signatures else None)
    if not timestamps:
        report.reasons.append("缺少文档时间戳 (no document timestamp: not PAdES B-LTA)")
    else:
        report.document_timestamp = _timestamp_time(timestamps[-1])
        if not await _document_timestamp_trusted(timestamps[-1], trust_roots):
            report.reasons.append("文档时间戳无效或其签发机构不受信任 (the document timestamp "
                                  "does not hold or is not by a trusted TSA)")
    if last is not None:
        try:
            report.covers_whole_file = (last.evaluate_signature_coverage()
                                        == SignatureCoverageLevel.ENTIRE_FILE)
        except (PdfError, ValueError) as error:
            report.reasons.append(f"覆盖范围无法确定 (coverage unknown): {error}")
        if not report.covers_whole_file:
            report.reasons.append("最后的签名或时间戳之后文件又被修改 (the file was changed "
                                  "after the last signature or timestamp)")
    report.ok = not report.reasons
    return report


async def _document_timestamp_trusted(sig: EmbeddedPdfSignature,
                                      trust_roots: list[x509.Certificate]) -> bool:
    """The document timestamp's token is intact, valid and its TSA chains to a trusted root
    at the token's own time (pyHanko's AdES validation above only uses it as a proof of
    existence, and proceeds without one when its chain fails)."""
    moment = _timestamp_time(sig)
    context = ValidationContext(trust_roots=[asn1_cert(c) for c in trust_roots],
                                moment=moment, allow_fetching=False,
                                revocation_mode="soft-fail")
    try:
        status = await async_validate_pdf_timestamp(sig, validation_context=context,
                                                    skip_diff=True)
    except (SignatureValidationError, PdfError, ValueError):
        return False
    return bool(status.intact and status.valid and status.trusted)


def _timestamp_time(sig: object) -> datetime | None:
    try:
        tst = sig.signed_data["encap_content_info"]["content"].parsed  # type: ignore[attr-defined]
        return tst["gen_time"].native
    except (KeyError, ValueError, AttributeError):
        return None


def verify_contract(pdf: bytes, trust_roots: list[x509.Certificate],
                    at: datetime | None = None) -> ContractReport:
    return asyncio.run(verify_contract_async(pdf, trust_roots, at))
