"""Signers' certificates from an external CA the deployment trusts
(``TRADESYS_CONTRACT_TRUST_ROOTS``), checked before they are registered, and the validation data
that CA publishes, fetched at signing time.

Why fetched at signing time: a PAdES B-LT signature carries the revocation state of its
signer's certificate as of signing, and for an external certificate only its CA can state it.
The built-in CA's answers are built from our database (``contracts.store.revocation_data``);
an external CA's are fetched over HTTP from the CRL distribution points its certificates name
(the leaf's and each intermediate's), each CRL's signature checked by its issuer. An
unreachable CA is ``ca_unavailable`` (503, nothing stored, as ``tsa_unavailable``); a
certificate its CA lists as revoked is ``certificate_revoked``.

The credit code: the certificate's organizationIdentifier (2.5.4.97) must be the organisation's
unified social credit code. Compared case-insensitively (the code's letters are upper case,
GB 32100-2015), after stripping an ETSI EN 319 412-1 §5.1.4 legal-person prefix if present
(``NTRCN-``: national trade register, China; eIDAS-style CAs write it so). Any other prefix is a
different identifier, not a credit code, and does not match.
"""

from __future__ import annotations

import itertools
import re
from datetime import datetime

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec

from contracts.pki import CertificateAuthority, certificate_pem, organization_identifier
from contracts.signing import ValidationData
from tradesys.errors import Conflict, DomainError, Invalid

__all__ = [
    "TIMEOUT_SECONDS",
    "CaUnavailable",
    "check_external",
    "credit_code_of",
    "fetch_validation",
    "parse_pem",
]

#: Seconds to wait for each CRL of an external CA.
TIMEOUT_SECONDS = 10
#: Longest chain accepted from the leaf to the root (leaf, intermediates, root).
MAX_DEPTH = 6
ETSI_PREFIX = "NTRCN-"
_PEM_CERTIFICATE = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----",
                              re.DOTALL)


class CaUnavailable(DomainError):
    """The external CA's revocation information could not be fetched: 503."""

    kind = "unavailable"


def parse_pem(text: str, *, what: str) -> list[x509.Certificate]:
    """Every PEM certificate in ``text`` (at least one), or ``not_pem``."""
    blocks = _PEM_CERTIFICATE.findall(text)
    certs: list[x509.Certificate] = []
    try:
        certs = [x509.load_pem_x509_certificate(block.encode("ascii")) for block in blocks]
        for cert in certs:  # parsed lazily: a malformed extension or key must fail here
            _ = cert.extensions, cert.public_key(), cert.subject, cert.issuer
            if cert.serial_number.bit_length() > 159:  # RFC 5280 §4.1.2.2: at most 20 octets
                raise ValueError("serial number longer than 20 octets")
    except (ValueError, UnicodeEncodeError, UnsupportedAlgorithm):
        certs = []
    if not certs:
        raise Invalid("not_pem", f"{what}不是 PEM 格式的 X.509 证书 ({what}: not a PEM X.509 "
                      "certificate)")
    return certs


def credit_code_of(cert: x509.Certificate) -> str | None:
    """The certificate's organizationIdentifier as a credit code (upper case, without the
    ``NTRCN-`` prefix), or ``None`` when it has none."""
    value = organization_identifier(cert)
    if value is None:
        return None
    value = value.strip().upper()
    return value.removeprefix(ETSI_PREFIX)


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _valid_at(cert: x509.Certificate, at: datetime, what: str) -> None:
    if at < cert.not_valid_before_utc:
        raise Invalid("certificate_not_yet_valid", f"{what}尚未生效 ({what} is not valid "
                      f"before {cert.not_valid_before_utc.isoformat()})")
    if at >= cert.not_valid_after_utc:
        raise Invalid("certificate_expired", f"{what}已过期 ({what} expired at "
                      f"{cert.not_valid_after_utc.isoformat()})")


def check_external(cert: x509.Certificate, intermediates: list[x509.Certificate],
                   roots: tuple[x509.Certificate, ...], builtin: CertificateAuthority,
                   at: datetime, *, credit_code: str) -> list[x509.Certificate]:
    """The chain (intermediates, then the trusted root) of an external signer's certificate,
    after every check a built-in certificate passes by construction; refuses otherwise."""
    if builtin.issued_here(cert) or _issued_by(cert, builtin.root):
        raise Invalid("builtin_certificate", "这是平台内置 CA 签发的证书，请通过 POST "
                      "/api/v1/contracts/certificates 申请 (a certificate of the built-in CA: it "
                      "is issued, not registered)")
    chain: list[x509.Certificate] = []
    current = cert
    while True:
        root = next((r for r in roots if _issued_by(current, r)), None)
        if root is not None:
            chain.append(root)
            break
        parent = next((c for c in intermediates
                       if c not in chain and c != current and _is_ca(c)
                       and _issued_by(current, c)), None)
        if parent is None or len(chain) >= MAX_DEPTH:
            raise Invalid("untrusted_chain", "证书不能链接到本平台配置的受信任根证书 (the "
                          "certificate does not chain to a configured trust root, "
                          "TRADESYS_CONTRACT_TRUST_ROOTS)")
        chain.append(parent)
        current = parent
    if chain[-1] == builtin.root:
        raise Invalid("builtin_certificate", "这是平台内置 CA 签发的证书 (a certificate of the "
                      "built-in CA: it is issued, not registered)")
    _valid_at(cert, at, "证书 (the certificate)")
    for link in chain[:-1]:
        _valid_at(link, at, "中间证书 (an intermediate certificate)")
    if _is_ca(cert):
        raise Invalid("wrong_key_usage", "CA 证书不能用于签署合同 (a CA certificate cannot sign "
                      "contracts)")
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    if usage is None or not (usage.digital_signature and usage.content_commitment):
        raise Invalid("wrong_key_usage", "证书的密钥用法必须包含 digitalSignature 和 "
                      "nonRepudiation (the key usage must include digitalSignature and "
                      "nonRepudiation, as the built-in CA's signer certificates do)")
    public = cert.public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey) or not isinstance(
            public.curve, ec.SECP256R1):
        raise Invalid("not_registered_key", "证书的公钥不是 P-256 签名密钥 (the certificate's "
                      "key is not a P-256 signing key)")
    code = credit_code_of(cert)
    if code is None:
        raise Invalid("no_credit_code", "证书没有 organizationIdentifier (2.5.4.97)，无法确认"
                      "统一社会信用代码 (the certificate names no organizationIdentifier)")
    if code != credit_code.strip().upper():
        raise Invalid("credit_code_mismatch", "证书的 organizationIdentifier 不是本单位的统一"
                      "社会信用代码 (the certificate's organizationIdentifier is not the "
                      "organisation's unified social credit code)")
    if not _crl_urls(cert):
        raise Invalid("no_revocation_source", "证书没有 CRL 分发点，无法在签署时取得其吊销状态 "
                      "(the certificate names no CRL distribution point)")
    return chain


def duplicate(serial_taken: bool) -> None:
    if serial_taken:
        raise Conflict("certificate_registered", "该证书已登记 (this certificate is already "
                       "registered)")


def _crl_urls(cert: x509.Certificate) -> list[str]:
    try:
        points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    except x509.ExtensionNotFound:
        return []
    return [name.value for point in points for name in (point.full_name or [])
            if isinstance(name, x509.UniformResourceIdentifier)
            and name.value.lower().startswith(("http://", "https://"))]


def _unavailable(url: str, error: object) -> CaUnavailable:
    return CaUnavailable("ca_unavailable", f"外部 CA 的吊销信息无法取得，签名未保存，请稍后再试 "
                         f"(the external CA's revocation information at {url} is unavailable: "
                         f"{error}; nothing was stored)")


async def fetch_validation(cert: x509.Certificate, chain: list[x509.Certificate],
                           at: datetime) -> ValidationData:
    """The external CA's CRLs for the signer's certificate and its intermediates, fetched now,
    each checked against its issuer and for currency; ``certificate_revoked`` when the
    certificate (or an intermediate) is listed."""
    links = [cert, *chain]
    crls: list[bytes] = []
    async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as client:
        for subject, issuer in itertools.pairwise(links):
            for url in _crl_urls(subject):
                try:
                    response = await client.get(url)
                    response.raise_for_status()
                    crl = x509.load_der_x509_crl(response.content)
                except (httpx.HTTPError, ValueError) as error:
                    raise _unavailable(url, error) from error
                if crl.issuer != issuer.subject or not crl.is_signature_valid(
                        issuer.public_key()):  # type: ignore[arg-type]
                    raise _unavailable(url, "the CRL is not signed by the certificate's issuer")
                if crl.next_update_utc is not None and crl.next_update_utc < at:
                    raise _unavailable(url, "the CRL is out of date")
                if crl.get_revoked_certificate_by_serial_number(
                        subject.serial_number) is not None:
                    who = ("签名证书", "signing") if subject is cert else ("中间证书",
                                                                       "intermediate")
                    raise Invalid("certificate_revoked", f"{who[0]}已被外部 CA 吊销 (the "
                                  f"external CA's CRL lists the {who[1]} certificate as "
                                  "revoked)")
                crls.append(response.content)
    return ValidationData(certificates=list(chain), crls=crls, ocsps=[])


def chain_text(chain: list[x509.Certificate]) -> str:
    return "".join(certificate_pem(c) for c in chain)
