"""PAdES signing with the key on the signer's side: prepare, then complete.

Why interrupted signing: the signer's P-256 key is non-extractable in the browser (WebCrypto)
or stays in the signer's PEM file (``tradesys contract sign``), so the server never holds it.
The server prepares the signature (pyHanko's interrupted signing: the signature field and its
appearance are written, the ``/ByteRange`` digest is computed over the document with a
placeholder, and the CMS signed attributes are formed around that digest); the signer signs
exactly those DER bytes (ECDSA P-256 with SHA-256); the server checks the signature against the
certificate's key before it embeds anything, adds an RFC 3161 timestamp over the signature
(the signature-time-stamp unsigned attribute) and the validation data (certificates, CRL and
OCSP in the DSS: PAdES B-LT), and after the last signature a document timestamp (B-LTA).

WebCrypto gives the ECDSA signature as raw ``r ‖ s`` (IEEE P1363, 64 bytes); CMS wants the DER
``SEQUENCE { r, s }``: :func:`der_signature` accepts both.

The first signer certifies (DocMDP level 2: form filling and signatures allowed); the second
signs the other, already existing field incrementally. Everything here is a function of its
inputs (the clock's time is passed in); the store (``contracts.store``) keeps the prepared
state between the two calls and records the events.
"""

from __future__ import annotations

import asyncio
import binascii
import uuid
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO

from asn1crypto import cms, core
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from pyhanko.pdf_utils.content import PdfContent
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.layout import BoxConstraints
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, general, signers
from pyhanko.sign.general import SigningError, simple_cms_attribute
from pyhanko.sign.signers.pdf_byterange import PreparedByteRangeDigest
from pyhanko.sign.signers.pdf_signer import PdfTBSDocument, PdfTimeStamper
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.stamp import TextStampStyle
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from contracts import seal

__all__ = [
    "BYTES_RESERVED",
    "BuiltinTimeStamper",
    "Prepared",
    "SigningRefused",
    "ValidationData",
    "builtin_timestamper",
    "complete",
    "der_signature",
    "prepare",
]

#: The placeholder for the CMS: signature, timestamp token and two chains fit in 16 KiB
#: (hex-encoded in the file, so the PDF grows by twice this).
BYTES_RESERVED = 16384
DIGEST = "sha256"


class SigningRefused(ValueError):
    """A signature that must not be embedded; ``code`` for the API, message in Chinese."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Prepared:
    """What the server keeps between prepare and complete, and what the signer signs."""

    pdf: bytes  #: the document with the placeholder: the bytes the signature covers
    field: str
    document_digest: bytes
    reserved_start: int
    reserved_end: int
    signed_attributes: bytes  #: DER (SET OF Attribute): the bytes the signer signs

    @property
    def covered(self) -> bytes:
        """The signed byte range (the whole prepared file without the placeholder)."""
        return self.pdf[: self.reserved_start] + self.pdf[self.reserved_end:]


@dataclass(frozen=True)
class ValidationData:
    """What goes into the DSS: certificates, CRLs and OCSP responses (DER)."""

    certificates: list[x509.Certificate]
    crls: list[bytes]
    ocsps: list[bytes]


def asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


class BuiltinTimeStamper(DummyTimeStamper):
    """The embedded default's TSA (RFC 3161), answering with the platform clock's time.

    pyHanko's in-process responder issues real RFC 3161 tokens signed by the TSA key; it is the
    built-in TSA here, as the built-in CA is the CA. Production configures an external TSA
    instead (docs/contracts.md). It signs with the already loaded key: pyHanko's parent class
    re-parses the RSA key for every token, which with its consistency check costs about 0.15 s
    each, more than the rest of a signature."""

    def __init__(self, tsa_key: rsa.RSAPrivateKey, tsa_cert: x509.Certificate,
                 chain: list[x509.Certificate], at: datetime) -> None:
        key_info = asn1_keys.PrivateKeyInfo.load(tsa_key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        super().__init__(tsa_cert=asn1_cert(tsa_cert), tsa_key=key_info,
                         certs_to_embed=SimpleCertificateStore.from_certs(
                             [asn1_cert(c) for c in chain]), fixed_dt=at)
        self._key = tsa_key

    def _sign_tst_info(self, tst_info_data: bytes, md_algorithm: str,
                       dt: datetime) -> tuple[bytes, cms.CMSAttributes]:
        digest = hashes.Hash(get_pyca_cryptography_hash(md_algorithm))
        digest.update(tst_info_data)
        signed_attrs = cms.CMSAttributes([
            simple_cms_attribute("content_type", "tst_info"),
            simple_cms_attribute("signing_time", cms.Time({"utc_time": core.UTCTime(dt)})),
            simple_cms_attribute("signing_certificate",
                                 general.as_signing_certificate(self.tsa_cert)),
            simple_cms_attribute("message_digest", digest.finalize()),
        ])
        signature = self._key.sign(signed_attrs.dump(), PKCS1v15(),
                                   get_pyca_cryptography_hash(md_algorithm.upper()))
        return signature, signed_attrs


def builtin_timestamper(tsa_key: rsa.RSAPrivateKey, tsa_cert: x509.Certificate,
                        chain: list[x509.Certificate], at: datetime) -> BuiltinTimeStamper:
    return BuiltinTimeStamper(tsa_key, tsa_cert, chain, at)


class _PdfBytesPage(PdfContent):
    """pyHanko's ``ImportedPdfPage`` reads a file; the seal is in memory."""

    def __init__(self, data: bytes) -> None:
        self.data_pdf = data
        super().__init__()

    def render(self) -> bytes:
        writer = self._ensure_writer
        xobj = writer.import_page_as_xobject(PdfFileReader(BytesIO(self.data_pdf)), page_ix=0)
        name = "/Seal" + binascii.hexlify(uuid.uuid4().bytes).decode("ascii")
        self.resources.xobject[name] = xobj
        x1, y1, x2, y2 = xobj.get_object()["/BBox"]
        self.box = BoxConstraints(width=abs(x1 - x2), height=abs(y1 - y2))
        return name.encode("ascii") + b" Do"


class _ClockedSigner(signers.PdfSigner):
    """A ``PdfSigner`` whose signature dictionary's /M is the platform clock's time (pyHanko
    reads the system clock otherwise; the server's time is the only time)."""

    def __init__(self, *args: object, at: datetime, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._at = at

    def init_signing_session(self, pdf_out, existing_fields_only=False):  # type: ignore[no-untyped-def]
        session = super().init_signing_session(pdf_out, existing_fields_only)
        session.system_time = self._at
        return session


def _signer(cert: x509.Certificate, chain: list[x509.Certificate],
            signature: bytes | None = None) -> signers.ExternalSigner:
    return signers.ExternalSigner(
        signing_cert=asn1_cert(cert),
        cert_registry=SimpleCertificateStore.from_certs([asn1_cert(c) for c in chain]),
        signature_value=signature if signature is not None else 72,
        signature_mechanism=cms.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}),
    )


async def prepare_async(pdf: bytes, *, field: str, cert: x509.Certificate,
                        chain: list[x509.Certificate], certify: bool, signer_name: str,
                        organization: str, at: datetime) -> Prepared:
    """Write the field's appearance and the placeholder; form the signed attributes."""
    reader_fields = {name for name, _value, _ref in fields.enumerate_sig_fields(
        PdfFileReader(BytesIO(pdf)), filled_status=False)}
    if field not in reader_fields:
        raise SigningRefused("field_taken", "该签名域不存在或已签署 (the signature field is "
                             "missing or already signed)")
    appearance = seal.seal_pdf(organization, signer_name, at)
    style = TextStampStyle(stamp_text="", border_width=0, background=_PdfBytesPage(appearance),
                           background_opacity=1)
    meta = signers.PdfSignatureMetadata(
        field_name=field, md_algorithm=DIGEST, subfilter=fields.SigSeedSubFilter.PADES,
        certify=certify, docmdp_permissions=fields.MDPPerm.FILL_FORMS,
        name=signer_name, location="tradesys",
    )
    external = _signer(cert, chain)
    pdf_signer = _ClockedSigner(meta, signer=external, stamp_style=style, at=at)
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    prep, _tbs, output = await pdf_signer.async_digest_doc_for_signing(
        writer, existing_fields_only=True, bytes_reserved=BYTES_RESERVED)
    attrs = await external.signed_attrs(prep.document_digest, DIGEST, use_pades=True)
    output.seek(0)
    return Prepared(pdf=output.read(), field=field, document_digest=prep.document_digest,
                    reserved_start=prep.reserved_region_start,
                    reserved_end=prep.reserved_region_end, signed_attributes=attrs.dump())


def prepare(pdf: bytes, **kwargs: object) -> Prepared:
    return asyncio.run(prepare_async(pdf, **kwargs))  # type: ignore[arg-type]


def der_signature(value: bytes) -> bytes:
    """ECDSA P-256 as DER; WebCrypto's raw ``r ‖ s`` (64 bytes) is converted."""
    if len(value) == 64:
        return encode_dss_signature(int.from_bytes(value[:32], "big"),
                                    int.from_bytes(value[32:], "big"))
    if 8 <= len(value) <= 72 and value[0] == 0x30:
        return value
    raise SigningRefused("bad_signature", "签名格式错误：应为 64 字节 r‖s 或 DER (the signature "
                         "is neither raw r‖s nor DER)")


def check_signature(cert: x509.Certificate, signed_attributes: bytes, signature: bytes) -> bytes:
    """The signature must be the certificate's key over exactly the prepared attributes."""
    der = der_signature(signature)
    public = cert.public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey):
        raise SigningRefused("bad_certificate", "证书不是 P-256 密钥 (not a P-256 certificate)")
    try:
        public.verify(der, signed_attributes, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as error:
        raise SigningRefused("bad_signature", "签名验证失败：不是该证书的密钥对准备的内容"
                             "所作的签名 (the signature is not by the certificate's key over "
                             "the prepared bytes)") from error
    return der


async def complete_async(prepared: Prepared, signature: bytes, *, cert: x509.Certificate,
                         chain: list[x509.Certificate], timestamper: object,
                         validation: ValidationData, trust_roots: list[x509.Certificate],
                         last: bool, at: datetime) -> bytes:
    """Embed the checked signature with its timestamp, then the DSS, then (last) the
    document timestamp. Returns the new file; the prepared one is its prefix."""
    der = check_signature(cert, prepared.signed_attributes, signature)
    external = _signer(cert, chain, der)
    try:
        signed_attrs = cms.CMSAttributes.load(prepared.signed_attributes)
        content = await external.async_sign_prescribed_attributes(
            DIGEST, signed_attrs=signed_attrs, timestamper=timestamper)
    except (SigningError, ValueError) as error:
        raise SigningRefused("bad_signature", f"签名封装失败 (CMS assembly failed): {error}") \
            from error
    output = BytesIO(prepared.pdf)
    digest = PreparedByteRangeDigest(prepared.document_digest, prepared.reserved_start,
                                     prepared.reserved_end)
    try:
        await PdfTBSDocument.async_finish_signing(output, digest, content)
    except SigningError as error:
        raise SigningRefused("signature_too_large", str(error)) from error
    signed = output.getvalue()
    signed = add_dss(signed, validation)
    if last:
        signed = await document_timestamp(signed, timestamper)
    return signed


def complete(prepared: Prepared, signature: bytes, **kwargs: object) -> bytes:
    return asyncio.run(complete_async(prepared, signature, **kwargs))  # type: ignore[arg-type]


def add_dss(pdf: bytes, validation: ValidationData) -> bytes:
    """Certificates, CRLs and OCSP responses into the DSS, one incremental update (B-LT)."""
    from asn1crypto import crl as asn1_crl
    from asn1crypto import ocsp as asn1_ocsp

    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    DocumentSecurityStore.supply_dss_in_writer(
        writer, None,
        certs=[asn1_cert(c) for c in validation.certificates],
        crls=[asn1_crl.CertificateList.load(c) for c in validation.crls],
        ocsps=[asn1_ocsp.OCSPResponse.load(o) for o in validation.ocsps],
    )
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def validation_context(trust_roots: list[x509.Certificate], validation: ValidationData,
                       moment: datetime | None = None) -> ValidationContext:
    from asn1crypto import crl as asn1_crl
    from asn1crypto import ocsp as asn1_ocsp

    return ValidationContext(
        trust_roots=[asn1_cert(c) for c in trust_roots],
        other_certs=[asn1_cert(c) for c in validation.certificates],
        crls=[asn1_crl.CertificateList.load(c) for c in validation.crls],
        ocsps=[asn1_ocsp.OCSPResponse.load(o) for o in validation.ocsps],
        allow_fetching=False, revocation_mode="hard-fail", moment=moment,
    )


async def document_timestamp(pdf: bytes, timestamper: object) -> bytes:
    """The document timestamp after the last signature (PAdES B-LTA). The TSA's certificate
    and its CRL are already in the DSS (:func:`add_dss`), so no revision follows the
    timestamp and it covers the file to its last byte."""
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    out = BytesIO()
    await PdfTimeStamper(timestamper).async_timestamp_pdf(  # type: ignore[arg-type]
        writer, DIGEST, output=out)
    return out.getvalue()
