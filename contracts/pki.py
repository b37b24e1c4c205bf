"""The built-in CA of the embedded default: root, issuing CA, time-stamping authority; the
signers' certificates, the CRL and OCSP responses.

Why a CA of our own: a PAdES signature is verifiable by anyone only if it chains to a root the
verifier trusts. A deployment may trust an external CA instead (its roots configured, its
certificates registered); the embedded default must work with nothing configured, so it runs
this two-level CA (a root that signs only the issuing CA, so the root key is used twice in its
life) after the platform's identity check. A signer's certificate binds the P-256 key the
bidder registered (the key never leaves the signer's side) to the user (CN) and to the
organisation's unified social credit code (organizationIdentifier, 2.5.4.97, as eIDAS
certificates carry their registration number).

Everything here is pure given its inputs: revocation state lives in the database
(``contracts.store``) and is passed in, so a revocation is honoured by the next CRL or OCSP
answer and by the next signature check, at once. Keys are kept in one PEM directory (0600
files in a 0700 folder, like the platform's Ed25519 keys).
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tradesys.storage import private_dir

__all__ = [
    "CertificateAuthority",
    "Revoked",
    "SignerName",
    "certificate_pem",
    "load_certificate",
    "organization_identifier",
]

ROOT_YEARS = 20
ISSUING_YEARS = 10
TSA_YEARS = 10
#: The platform's identity check gives a signer this long before a new check is due.
SIGNER_DAYS = 730
CRL_HOURS = 24
OCSP_HOURS = 24
_FILES = ("root", "issuing", "tsa")


@dataclass(frozen=True)
class SignerName:
    """Who a certificate names: the user and their organisation (checked by the platform)."""

    user: str
    organization: str
    credit_code: str


@dataclass(frozen=True)
class Revoked:
    serial: int
    at: datetime


def certificate_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def load_certificate(data: bytes | str) -> x509.Certificate:
    raw = data.encode("ascii") if isinstance(data, str) else data
    if raw.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_certificate(raw)
    return x509.load_der_x509_certificate(raw)


def organization_identifier(cert: x509.Certificate) -> str | None:
    values = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_IDENTIFIER)
    return str(values[0].value) if values else None


def _name(common: str, organization: str, credit_code: str | None = None) -> x509.Name:
    attributes = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
    ]
    if credit_code is not None:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, credit_code))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common))
    return x509.Name(attributes)


def _key_ids(builder: x509.CertificateBuilder, public: ec.EllipticCurvePublicKey,
             issuer: x509.Certificate | None) -> x509.CertificateBuilder:
    builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(public), False)
    if issuer is not None:
        ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), False)
    return builder


@dataclass
class CertificateAuthority:
    """Root, issuing CA and TSA, with the URLs the certificates point at (served by the app:
    ``{base_url}/crl`` and ``{base_url}/ocsp``)."""

    root_key: ec.EllipticCurvePrivateKey
    root: x509.Certificate
    issuing_key: ec.EllipticCurvePrivateKey
    issuing: x509.Certificate
    tsa_key: rsa.RSAPrivateKey
    tsa: x509.Certificate
    base_url: str

    # --- creation and storage ----------------------------------------------------------

    @classmethod
    def create(cls, now: datetime, *, base_url: str,
               name: str = "tradesys 电子招标投标交易平台") -> CertificateAuthority:
        root_key = ec.generate_private_key(ec.SECP256R1())
        root_name = _name(f"{name} 根证书", name)
        root = (
            _key_ids(x509.CertificateBuilder(), root_key.public_key(), None)
            .subject_name(root_name).issuer_name(root_name)
            .public_key(root_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=365 * ROOT_YEARS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
            .add_extension(_ca_usage(), critical=True)
            .sign(root_key, hashes.SHA256())
        )
        issuing_key = ec.generate_private_key(ec.SECP256R1())
        issuing = (
            _key_ids(x509.CertificateBuilder(), issuing_key.public_key(), root)
            .subject_name(_name(f"{name} 签名证书颁发机构", name)).issuer_name(root.subject)
            .public_key(issuing_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=365 * ISSUING_YEARS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_ca_usage(), critical=True)
            .add_extension(_distribution(f"{base_url.rstrip('/')}/root.crl"), critical=False)
            .sign(root_key, hashes.SHA256())
        )
        # RSA for the TSA: pyHanko's in-process RFC 3161 responder signs with RSA only.
        tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
        ca = cls(root_key, root, issuing_key, issuing, tsa_key, issuing, base_url.rstrip("/"))
        tsa = (
            ca._leaf(tsa_key.public_key(), _name(f"{name} 时间戳服务", name), now,
                     timedelta(days=365 * TSA_YEARS))
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]),
                           critical=True)
            .add_extension(_leaf_usage(), critical=True)
            .sign(issuing_key, hashes.SHA256())
        )
        ca.tsa = tsa
        return ca

    @classmethod
    def load_or_create(cls, folder: Path, now: datetime, *, base_url: str) -> CertificateAuthority:
        """The installation's CA, created on first use (keys 0600 in a 0700 folder).

        Several server processes may make their first contract request at once: each writes
        its CA into a folder of its own and renames it into place, which is atomic; the one
        that finds the place taken loads the winner's, so every process signs with one CA."""
        if all((folder / f"{part}.pem").exists() for part in _FILES):
            return cls.load(folder, base_url=base_url)
        ca = cls.create(now, base_url=base_url)
        private_dir(folder.parent)
        staging = folder.with_name(f".{folder.name}-{uuid.uuid4().hex}")
        ca.save(staging)
        try:
            os.rename(staging, folder)  # replaces only a missing or empty folder
        except OSError:
            shutil.rmtree(staging)
            return cls.load(folder, base_url=base_url)
        return ca

    @classmethod
    def load(cls, folder: Path, *, base_url: str) -> CertificateAuthority:
        parts: dict[str, tuple[object, x509.Certificate]] = {}
        for part in _FILES:
            data = (folder / f"{part}.pem").read_bytes()
            key = serialization.load_pem_private_key(data, password=None)
            wanted = rsa.RSAPrivateKey if part == "tsa" else ec.EllipticCurvePrivateKey
            if not isinstance(key, wanted):
                raise ValueError(f"{folder / part}.pem does not hold the expected key type")
            parts[part] = (key, x509.load_pem_x509_certificate(data))
        return cls(*parts["root"], *parts["issuing"], *parts["tsa"],  # type: ignore[arg-type]
                   base_url=base_url)

    def save(self, folder: Path) -> None:
        private_dir(folder)
        for part, key, cert in (("root", self.root_key, self.root),
                                ("issuing", self.issuing_key, self.issuing),
                                ("tsa", self.tsa_key, self.tsa)):
            pem = key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
            fd = os.open(folder / f"{part}.pem", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(pem + certificate_pem(cert).encode("ascii"))

    # --- issuing -----------------------------------------------------------------------

    def _leaf(self, public: ec.EllipticCurvePublicKey | rsa.RSAPublicKey, subject: x509.Name,
              now: datetime, life: timedelta) -> x509.CertificateBuilder:
        return (
            _key_ids(x509.CertificateBuilder(), public, self.issuing)
            .subject_name(subject).issuer_name(self.issuing.subject).public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + life)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_distribution(f"{self.base_url}/crl"), critical=False)
            .add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
                x509.AuthorityInformationAccessOID.OCSP,
                x509.UniformResourceIdentifier(f"{self.base_url}/ocsp"))]), critical=False)
        )

    def issue(self, public: ec.EllipticCurvePublicKey, name: SignerName, now: datetime, *,
              days: int = SIGNER_DAYS) -> x509.Certificate:
        """A signer's certificate for the registered key (non-repudiation: 电子签名法 Art. 13)."""
        if not isinstance(public, ec.EllipticCurvePublicKey) or not isinstance(
                public.curve, ec.SECP256R1):
            raise ValueError("签名密钥必须是 P-256 (the signing key must be P-256)")
        subject = _name(name.user, name.organization, name.credit_code)
        return (
            self._leaf(public, subject, now, timedelta(days=days))
            .add_extension(_leaf_usage(), critical=True)
            .sign(self.issuing_key, hashes.SHA256())
        )

    # --- revocation --------------------------------------------------------------------

    def crl(self, revoked: list[Revoked], now: datetime, *,
            number: int) -> x509.CertificateRevocationList:
        """The issuing CA's CRL (signers' and the TSA's certificates)."""
        return _crl(self.issuing, self.issuing_key, revoked, now, number)

    def root_crl(self, now: datetime) -> x509.CertificateRevocationList:
        """The root's CRL (it covers the issuing CA, which is never revoked while the
        installation runs: a compromised issuing CA means a new installation)."""
        return _crl(self.root, self.root_key, [], now, 1)

    def ocsp_response(self, cert: x509.Certificate, revoked_at: datetime | None,
                      now: datetime) -> ocsp.OCSPResponse:
        """The issuing CA answers for its own certificates (RFC 6960 §4.2.2.2, no delegate)."""
        status = ocsp.OCSPCertStatus.GOOD if revoked_at is None else ocsp.OCSPCertStatus.REVOKED
        builder = ocsp.OCSPResponseBuilder().add_response(
            cert=cert, issuer=self.issuing, algorithm=hashes.SHA256(), cert_status=status,
            this_update=now, next_update=now + timedelta(hours=OCSP_HOURS),
            revocation_time=revoked_at, revocation_reason=None,
        ).responder_id(ocsp.OCSPResponderEncoding.HASH, self.issuing)
        return builder.sign(self.issuing_key, hashes.SHA256())

    def issued_here(self, cert: x509.Certificate) -> bool:
        try:
            cert.verify_directly_issued_by(self.issuing)
        except (ValueError, TypeError, InvalidSignature):
            return False
        return True


def _distribution(url: str) -> x509.CRLDistributionPoints:
    return x509.CRLDistributionPoints([x509.DistributionPoint(
        [x509.UniformResourceIdentifier(url)], None, None, None)])


def _crl(issuer: x509.Certificate, key: ec.EllipticCurvePrivateKey, revoked: list[Revoked],
         now: datetime, number: int) -> x509.CertificateRevocationList:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.subject).last_update(now)
        .next_update(now + timedelta(hours=CRL_HOURS))
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
            issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value),
            critical=False)
    )
    for entry in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(entry.serial)
            .revocation_date(entry.at).build())
    return builder.sign(key, hashes.SHA256())


def _ca_usage() -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                         crl_sign=True, encipher_only=False, decipher_only=False)


def _leaf_usage() -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                         crl_sign=False, encipher_only=False, decipher_only=False)
