"""The installation's signing authority, from its settings (used by the composition root and
the CLI): the built-in CA in ``TRADESYS_DATA_DIR/keys/contract-ca/``, created on first use,
pointing its certificates' CRL and OCSP addresses at ``TRADESYS_PUBLIC_URL``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from contracts.pki import CertificateAuthority
from contracts.store import Authority
from tradesys.settings import Settings

__all__ = ["ca_folder", "load_authority"]


def ca_folder(settings: Settings) -> Path:
    return settings.data_dir / "keys" / "contract-ca"


def load_authority(settings: Settings, now: datetime) -> Authority:
    base_url = f"{settings.public_url.rstrip('/')}/api/v1/contracts/ca"
    return Authority(CertificateAuthority.load_or_create(ca_folder(settings), now,
                                                         base_url=base_url))
