"""Tables of the contract step: signers' certificates, contracts, drafts, signatures.

Why files in rows: a contract PDF is small (hundreds of KiB) and every version of it is
evidence (each draft, each signed revision); keeping the bytes beside their SHA-256 in the same
transaction as the event that names the hash means a stored contract can never disagree with
the log. The prepared signature (the document with its placeholder and the signed attributes)
is kept too: completing must embed the signature into exactly the bytes that were prepared.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from tradesys.db.base import Base, UTCDateTime


class SignerCertificate(Base):
    """A certificate binding a registered P-256 signing key to a user and an organisation:
    issued by the built-in CA, or (``external``) registered from a trusted external CA."""

    __tablename__ = "contract_certificates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    key_id: Mapped[str] = mapped_column(String(64))
    serial: Mapped[str] = mapped_column(String(40), unique=True)  #: hex
    pem: Mapped[str] = mapped_column(Text)
    not_after: Mapped[datetime] = mapped_column(UTCDateTime)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revocation_reason: Mapped[str | None] = mapped_column(String(200))
    #: Issued by an external CA the deployment trusts (``TRADESYS_CONTRACT_TRUST_ROOTS``) and
    #: registered by its holder, not by the built-in CA: its revocation is that CA's to state.
    external: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: An external certificate's chain (PEM: intermediates, then the trusted root).
    chain_pem: Mapped[str | None] = mapped_column(Text)


class Contract(Base):
    __tablename__ = "contracts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    award_id: Mapped[str] = mapped_column(String(64), unique=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), index=True)
    purchaser_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    supplier_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    #: ``drafting`` → ``signing`` (first signature) → ``signed`` (both, with the timestamp).
    state: Mapped[str] = mapped_column(String(16))
    draft: Mapped[int] = mapped_column(Integer)
    #: The current file: the latest draft, then each signed revision.
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ContractDraft(Base):
    __tablename__ = "contract_drafts"
    __table_args__ = (UniqueConstraint("contract_id", "number", name="uq_contract_drafts_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    facts: Mapped[str] = mapped_column(Text)  #: canonical JSON of the ContractFacts
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PreparedSignature:
    """The columns of one party's signature of a signed document (the contract, or one of its
    amendments): the prepared state pyHanko's interrupted signing resumes from
    (``contracts.store.prepared_values`` / ``embed_signature``), then the signed file's hash."""

    field: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))  #: ``prepared`` → ``signed``
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    certificate_id: Mapped[int] = mapped_column(ForeignKey("contract_certificates.id"))
    certify: Mapped[bool] = mapped_column(Boolean)
    prepared_pdf: Mapped[bytes] = mapped_column(LargeBinary)
    document_digest: Mapped[bytes] = mapped_column(LargeBinary)
    reserved_start: Mapped[int] = mapped_column(Integer)
    reserved_end: Mapped[int] = mapped_column(Integer)
    signed_attributes: Mapped[bytes] = mapped_column(LargeBinary)
    prepared_at: Mapped[datetime] = mapped_column(UTCDateTime)
    signed_sha256: Mapped[str | None] = mapped_column(String(64))
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ContractSignature(PreparedSignature, Base):
    __tablename__ = "contract_signatures"
    __table_args__ = (
        UniqueConstraint("contract_id", "field", name="uq_contract_signatures_field"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), index=True)


class ContractAmendment(Base):
    """An amendment (合同变更协议) of a concluded contract: its own PDF, signed by both parties as
    the contract is, naming the signed document it amends by ``base_sha256`` (the contract's
    signed file for the first, the previous concluded amendment's for the next: a chain)."""

    __tablename__ = "contract_amendments"
    __table_args__ = (
        UniqueConstraint("contract_id", "number", name="uq_contract_amendments_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    base_sha256: Mapped[str] = mapped_column(String(64))
    #: canonical JSON of the AmendmentTerms (changes, reason, the clauses after it)
    terms: Mapped[str] = mapped_column(Text)
    #: ``proposed`` → ``signing`` (first preparation) → ``signed`` (both, with the timestamp).
    state: Mapped[str] = mapped_column(String(16))
    #: The current file: the proposal, then each signed revision.
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    proposed_sha256: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    concluded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AmendmentSignature(PreparedSignature, Base):
    """One party's signature of an amendment: the same prepared state as
    :class:`ContractSignature`."""

    __tablename__ = "contract_amendment_signatures"
    __table_args__ = (
        UniqueConstraint("amendment_id", "field", name="uq_contract_amendment_signatures_field"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    amendment_id: Mapped[int] = mapped_column(ForeignKey("contract_amendments.id"), index=True)
