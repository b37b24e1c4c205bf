"""The installation's signing authority, from its settings (used by the composition root and
the CLI): the built-in CA in ``TRADESYS_DATA_DIR/keys/contract-ca/``, created on first use,
pointing its certificates' CRL and OCSP addresses at ``TRADESYS_PUBLIC_URL``, and trusting
besides its own root the roots in ``TRADESYS_CONTRACT_TRUST_ROOTS`` (an external CA's), and
time-stamping at ``TRADESYS_TSA_URL`` when it is set (contracts/tsa.py)."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from pathlib import Path

from cryptography import x509

from contracts.pki import CertificateAuthority
from contracts.store import Authority
from tradesys.settings import Settings

__all__ = ["AuthoritySource", "ca_base_url", "ca_folder", "load_authority", "load_trust_roots"]

#: Where the app serves the CA (tradesys/api/routes/contracts.py): the certificates name it.
CA_PATH = "/api/v1/contracts/ca"
_PEM_CERTIFICATE = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----",
                              re.DOTALL)


def ca_folder(settings: Settings) -> Path:
    return settings.data_dir / "keys" / "contract-ca"


def ca_base_url(settings: Settings) -> str:
    return f"{settings.public_url.rstrip('/')}{CA_PATH}"


def load_trust_roots(path: str) -> tuple[x509.Certificate, ...]:
    """Every PEM certificate in the file (an external CA's roots); the file must hold one."""
    data = Path(path).read_bytes()
    roots = tuple(x509.load_pem_x509_certificate(block)
                  for block in _PEM_CERTIFICATE.findall(data))
    if not roots:
        raise ValueError(f"TRADESYS_CONTRACT_TRUST_ROOTS: {path} holds no PEM certificate")
    return roots


def load_authority(settings: Settings, now: datetime) -> Authority:
    extra = (load_trust_roots(settings.contract_trust_roots)
             if settings.contract_trust_roots else ())
    return Authority(CertificateAuthority.load_or_create(ca_folder(settings), now,
                                                         base_url=ca_base_url(settings)),
                     extra_trust_roots=extra, tsa_url=settings.tsa_url.strip())


class AuthoritySource:
    """The authority, loaded (or, the first time, created: an RSA-3072 key for the TSA) on
    first use off the event loop, once per process. Why lazy: most requests never touch the
    contract CA, and an installation that never signs a contract never makes one."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._authority: Authority | None = None
        self._lock = asyncio.Lock()

    async def get(self, now: datetime) -> Authority:
        if self._authority is None:
            async with self._lock:
                if self._authority is None:
                    self._authority = await asyncio.to_thread(load_authority, self._settings,
                                                              now)
        return self._authority
