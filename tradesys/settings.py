"""Settings read from ``TRADESYS_*`` environment variables.

With nothing set, the system runs on the embedded default: a SQLite file under ``./var/``
and no other service, so that a clean clone starts with one command.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path


def _env(name: str, default: str) -> str:
    return os.environ.get(f"TRADESYS_{name}", default)


#: Shortest metrics token accepted: a guessable token would make the metrics public again.
MIN_METRICS_TOKEN = 24


@dataclass(frozen=True)
class Settings:
    data_dir: Path = field(default_factory=lambda: Path(_env("DATA_DIR", "var")))
    database_url: str = ""
    #: Identifies this trading system towards the public service platform (交易系统标识码).
    platform_code: str = field(default_factory=lambda: _env("PLATFORM_CODE", "TS0000000001"))
    #: Seconds between scheduler passes; each pass also wakes when the clock is moved.
    scheduler_interval: float = field(
        default_factory=lambda: float(_env("SCHEDULER_INTERVAL", "1.0"))
    )
    #: Forces the Secure flag on cookies; it is on anyway whenever ``public_url`` is https
    #: (see :attr:`cookies_secure`).
    secure_cookies: bool = field(
        default_factory=lambda: _env("SECURE_COOKIES", "false").lower() in ("1", "true", "yes")
    )
    session_ttl_seconds: int = field(
        default_factory=lambda: int(_env("SESSION_TTL_SECONDS", str(8 * 3600)))
    )
    #: The longest a bearer API token may live, in days; a request without ``ttl_days`` gets
    #: this, a longer one is refused (422).
    token_max_ttl_days: int = field(
        default_factory=lambda: int(_env("TOKEN_MAX_TTL_DAYS", "30"))
    )
    #: How long an admin's one-time password reset link works, in seconds (a day).
    password_reset_ttl_seconds: int = field(
        default_factory=lambda: int(_env("PASSWORD_RESET_TTL_SECONDS", str(24 * 3600)))
    )
    #: Addresses (or networks, CIDR) of the reverse proxies whose ``X-Forwarded-For`` and
    #: ``X-Forwarded-Proto`` are believed; comma-separated. None by default: the peer address
    #: is the client's, whatever headers it sends.
    trusted_proxies: tuple[str, ...] = field(
        default_factory=lambda: parse_list(_env("TRUSTED_PROXIES", ""))
    )
    #: This system's receiving public service platform (公共服务平台) and where to push to.
    pub_service_plat_code: str = field(
        default_factory=lambda: _env("PUB_SERVICE_PLAT_CODE", "PSP0000000001")
    )
    platform_url: str = field(default_factory=lambda: _env("PLATFORM_URL", ""))
    #: The OCDS ocid prefix registered for this publisher ("ocds-" + six characters).
    ocid_prefix: str = field(default_factory=lambda: _env("OCID_PREFIX", "ocds-tsys01"))
    #: The public address of this system, used in report URLs.
    public_url: str = field(default_factory=lambda: _env("PUBLIC_URL", "http://127.0.0.1:8000"))
    #: Deliveries tried before a report is dead-lettered for an operator to replay.
    relay_max_attempts: int = field(
        default_factory=lambda: int(_env("RELAY_MAX_ATTEMPTS", "8"))
    )
    relay_interval: float = field(default_factory=lambda: float(_env("RELAY_INTERVAL", "1.0")))
    #: Optional JSON file overriding the per-procedure period rules (see docs/rules.md).
    rules_file: str = field(default_factory=lambda: _env("RULES_FILE", ""))
    #: Largest sealed bid accepted, in bytes (per envelope).
    max_bid_bytes: int = field(
        default_factory=lambda: int(_env("MAX_BID_BYTES", str(4 * 1024 * 1024 * 1024)))
    )
    #: Pages of public reads kept until the next commit (tradesys/read_cache.py); 0: none.
    read_cache_entries: int = field(
        default_factory=lambda: int(_env("READ_CACHE_ENTRIES", "2048"))
    )
    #: Largest tender document accepted, in bytes.
    max_document_bytes: int = field(
        default_factory=lambda: int(_env("MAX_DOCUMENT_BYTES", str(200 * 1024 * 1024)))
    )

    #: Bearer token that operators' scrapers present to read ``/metrics``; empty: metrics off.
    metrics_token: str = field(default_factory=lambda: _env("METRICS_TOKEN", ""))
    #: Open hall WebSocket connections one client address may hold (per process); 0: no limit.
    #: 20 leaves room for a bidder's office behind one NAT address, each with a tab or two.
    hall_max_connections_per_address: int = field(
        default_factory=lambda: int(_env("HALL_MAX_CONNECTIONS_PER_ADDRESS", "20"))
    )
    #: A PEM file of further trust roots for contract signatures (an external CA's), trusted
    #: besides the built-in CA's root; empty: the built-in root only.
    contract_trust_roots: str = field(default_factory=lambda: _env("CONTRACT_TRUST_ROOTS", ""))
    #: An external RFC 3161 time-stamping authority's URL for contract signatures and document
    #: timestamps (contracts/tsa.py); empty: the built-in TSA. Its root must be among the
    #: contract trust roots.
    tsa_url: str = field(default_factory=lambda: _env("TSA_URL", ""))
    #: Seconds between the instants at which the event log's signed tree head is published
    #: (archive/publication.py); a head is never published inside an open bidding window.
    tree_head_interval_seconds: int = field(
        default_factory=lambda: int(_env("TREE_HEAD_INTERVAL_SECONDS", "3600"))
    )

    def __post_init__(self) -> None:
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(f"TRADESYS_TRUSTED_PROXIES: {proxy!r} is not an IP address or "
                                 "network (CIDR)") from None
        if self.metrics_token and len(self.metrics_token) < MIN_METRICS_TOKEN:
            raise ValueError(f"TRADESYS_METRICS_TOKEN must be at least {MIN_METRICS_TOKEN} "
                             "characters (use e.g. `openssl rand -hex 32`)")
        if self.tree_head_interval_seconds < 1:
            raise ValueError("TRADESYS_TREE_HEAD_INTERVAL_SECONDS must be at least 1")
        if not self.database_url:
            url = os.environ.get("TRADESYS_DATABASE_URL") or default_sqlite_url(self.data_dir)
            object.__setattr__(self, "database_url", url)

    @property
    def cookies_secure(self) -> bool:
        """Cookies are Secure whenever the public address is https (or when forced): a
        session cookie must never travel in the clear to a site people reach over TLS."""
        return self.secure_cookies or self.public_url.strip().lower().startswith("https://")

    @property
    def documents_dir(self) -> Path:
        return self.data_dir / "documents"

    @property
    def receipt_key_file(self) -> Path:
        return self.data_dir / "keys" / "receipt-signing.pem"

    @property
    def report_key_file(self) -> Path:
        return self.data_dir / "keys" / "report-signing.pem"

    @property
    def archive_key_file(self) -> Path:
        """Signs the event log's tree heads (and, later, archive manifests)."""
        return self.data_dir / "keys" / "archive-signing.pem"


@dataclass(frozen=True)
class Argon2Parameters:
    """The argon2id cost of password hashes (RFC 9106 §4's second recommendation by default:
    t=3, 64 MiB, 4 lanes). A process reads them once, when it first hashes a password
    (tradesys/identity/passwords.py): a hash carries its own parameters, so hashes made under
    other ones still verify, and a changed setting applies to passwords set from then on."""

    time_cost: int
    memory_kib: int
    parallelism: int


#: Below these a hash is cheap to brute-force (OWASP: at least 19 MiB and t=2): allowed only
#: for test suites, which hash thousands of passwords, and named in a warning at ``serve``.
WEAK_ARGON2 = Argon2Parameters(time_cost=2, memory_kib=19 * 1024, parallelism=1)


def argon2_parameters() -> Argon2Parameters:
    values = {name: _env(name, default) for name, default in (
        ("ARGON2_TIME_COST", "3"), ("ARGON2_MEMORY_KIB", "65536"), ("ARGON2_PARALLELISM", "4"))}
    for name, value in values.items():
        if not (value.isascii() and value.isdecimal()) or int(value) < 1:
            raise ValueError(f"TRADESYS_{name} must be a whole number of at least 1")
    parameters = Argon2Parameters(int(values["ARGON2_TIME_COST"]),
                                  int(values["ARGON2_MEMORY_KIB"]),
                                  int(values["ARGON2_PARALLELISM"]))
    if parameters.memory_kib < 8 * parameters.parallelism:
        raise ValueError("TRADESYS_ARGON2_MEMORY_KIB must be at least 8 × "
                         "TRADESYS_ARGON2_PARALLELISM (argon2's minimum)")
    return parameters


def weak_argon2(parameters: Argon2Parameters) -> bool:
    return (parameters.time_cost < WEAK_ARGON2.time_cost
            or parameters.memory_kib < WEAK_ARGON2.memory_kib)


def parse_list(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(",") if item.strip())


def default_sqlite_url(data_dir: Path) -> str:
    return f"sqlite+aiosqlite:///{(data_dir / 'tradesys.db').resolve()}"
