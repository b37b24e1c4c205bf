"""Builds a project's archive (一项一档): one sealed BagIt bag per version, written once.

1. **Read** (one read transaction): the project must have ended (archive/ending.py; else 409
   ``project_not_ended`` and nothing is written); its records (archive/records.py), its events
   with the log's size at that moment, the Merkle root of the whole log and each event's
   inclusion proof against it; the tree head is signed with the archive key.
2. **Write** the bag (in a worker thread; stored files streamed, never read whole):
   ``data/<records…>``, ``data/log/events.jsonl`` (every stored field, so each hash
   recomputes), ``data/log/proofs.jsonl``, ``data/log/tree-head.json``,
   ``data/keys/archive-key.pem`` (the trust root, overridable by the verifier), and with a
   time-stamping authority (``ArchiveConfig.stamps``) ``data/log/tree-head.tsr`` (an RFC 3161
   token over the tree head file's bytes) and ``data/keys/trust-roots.pem`` (the roots its
   tokens and the contracts' signatures chain to),
   ``data/archive.json`` (the descriptive metadata), ``data/index.json`` (what each file
   is), bag-info, manifests, then the seal (archive/seal.py) and its RFC 3161 token
   (``archive-signature.tsr``, over the seal file's bytes; bag-info announces it, so that
   removing it is caught) before ``bagit.txt``.
3. **Record** (one write transaction): the ``archives`` row and the ``archive.built`` event
   naming the archive's SHA-256. If that fails the bag is removed: there is never a bag the
   log does not name.

Versions live in ``<data_dir>/archives/<project code>/v<N>``; a second build is version N + 1
naming version N's SHA-256 (in its seal, its metadata and its event). An existing folder is
never written over (``archive_exists``).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import shutil
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from archive import tree_head as log_tree
from archive.bag import BagExists, BagWriter, PayloadFile
from archive.ending import CONTRACTS, ENDING_TITLES, ProjectEnding, project_ending
from archive.index import index_document
from archive.models import ArchiveVersion
from archive.records import Collector, Item, Stores, organisations, record
from archive.seal import SIGNATURE_FILE, TIMESTAMP_FILE, seal_document, sign_seal
from tradesys.clock import Clock, isoformat_utc
from tradesys.db.database import Database
from tradesys.errors import Conflict, NotFound
from tradesys.events.canonical import canonical_json
from tradesys.events.log import Actor, append_event
from tradesys.events.models import Event
from tradesys.procurement.models import Notice, Project, Section
from tradesys.procurement.rules import (
    RETENTION_TITLES,
    RETENTION_YEARS,
    RuleBook,
    retention_for,
)
from tradesys.reporting.facts import ReportingSettings
from tradesys.signatures import public_key_pem

FORMAT = "tradesys.archive"
FORMAT_VERSION = 1
EVENTS_FILE, PROOFS_FILE = "log/events.jsonl", "log/proofs.jsonl"
TREE_HEAD_FILE, KEY_FILE, RECEIPT_KEY_FILE = (
    "log/tree-head.json", "keys/archive-key.pem", "keys/receipt-key.pem")
TREE_HEAD_STAMP_FILE, TRUST_ROOTS_FILE = "log/tree-head.tsr", "keys/trust-roots.pem"
#: The bag-info field that announces the seal's time stamp (bag-info is in the tag manifests,
#: which the seal signs: a removed token is noticed).
SEAL_STAMP_FIELD = "Tradesys-Seal-Timestamp"
METADATA_FILE, INDEX_FILE = "archive.json", "index.json"
#: Events read per query.
BATCH = 1000


class Stamps(Protocol):
    """A time-stamping authority, as the composition root hands it in (the contract PKI's,
    contracts/timestamps.py: ``archive`` does not import ``contracts``, DESIGN.md §3)."""

    def stamp(self, digest: bytes, at: datetime) -> bytes:
        """The DER RFC 3161 ``TimeStampToken`` over a SHA-256 digest, at ``at``."""
        ...

    def trust_roots(self) -> list[x509.Certificate]:
        """The roots its tokens and the contracts' signatures chain to."""
        ...


@dataclass(frozen=True)
class ArchiveConfig:
    data_dir: Path
    platform_code: str
    archive_key: Ed25519PrivateKey
    reporting: ReportingSettings
    rules: RuleBook
    #: The platform key that signs receipts and award notices: its public half goes into the
    #: archive so that they can be checked offline.
    receipt_key: Ed25519PublicKey | None = None
    #: The TSA that stamps the tree head and the seal; None: no time stamps (then the
    #: archive's time rests on its signed tree head alone).
    stamps: Stamps | None = None

    @property
    def root(self) -> Path:
        return self.data_dir / "archives"


@dataclass(frozen=True)
class Built:
    project_id: int
    version: int
    path: Path
    sha256: str
    previous_sha256: str | None
    payload_files: int
    payload_octets: int
    tree_size: int
    event_seq: int


@dataclass
class _Plan:
    """Everything read from the database, ready to be written without it."""

    project: Project
    ending: ProjectEnding
    version: int
    previous_sha256: str | None
    items: list[Item]
    event_lines: list[bytes]
    proof_lines: list[bytes]
    tree_head: dict[str, Any]
    tree_size: int
    root_hash: str
    metadata: dict[str, Any]
    bag_info: list[tuple[str, str]]


def folder_name(code: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", code)[:100] or "_"


def event_record(row: Event) -> dict[str, Any]:
    """An event exactly as stored: the fields its hash is computed over, and the hash."""
    return {"seq": row.seq, "prev_hash": row.prev_hash, "aggregate_type": row.aggregate_type,
            "aggregate_id": row.aggregate_id, "aggregate_seq": row.aggregate_seq,
            "type": row.type, "project_id": row.project_id, "payload": row.payload,
            "actor_user_id": row.actor_user_id, "actor_org_id": row.actor_org_id, "ip": row.ip,
            "user_agent": row.user_agent, "occurred_at": isoformat_utc(row.occurred_at),
            "hash": row.hash}


def _until(ended: datetime, years: int | None) -> str | None:
    if years is None:
        return None
    day = ended.date()
    try:
        return day.replace(year=day.year + years).isoformat()
    except ValueError:  # 29 February
        return date(day.year + years, 2, 28).isoformat()


async def _events(session: AsyncSession, project_id: int, size: int,
                  cache: log_tree.SubtreeCache) -> tuple[list[bytes], list[bytes]]:
    lines: list[bytes] = []
    proofs: list[bytes] = []
    after = 0
    while True:
        rows = (await session.execute(select(Event).where(
            Event.project_id == project_id, Event.seq > after, Event.seq <= size)
            .order_by(Event.seq).limit(BATCH))).scalars().all()
        if not rows:
            return lines, proofs
        for row in rows:
            lines.append(canonical_json(event_record(row)) + b"\n")
            path = await log_tree.inclusion_proof(session, row.seq - 1, size, cache)
            proofs.append(canonical_json({
                "seq": row.seq, "leaf_index": row.seq - 1, "tree_size": size,
                "inclusion_path": [p.hex() for p in path]}) + b"\n")
            after = row.seq


async def _metadata(session: AsyncSession, config: ArchiveConfig, ending: ProjectEnding,
                    collector: Collector, version: int, previous: str | None, now: datetime,
                    actor: Actor, tree_size: int, root_hash: str, events: int
                    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    project = ending.project
    suppliers = [row.supplier_org_id for row in (await session.execute(
        select(CONTRACTS.c.supplier_org_id).where(CONTRACTS.c.project_id == project.id,
                                                  CONTRACTS.c.state == "signed"))).all()]
    orgs = await organisations(session, [project.procurer_org_id, project.agency_org_id,
                                         *collector.bidder_org_ids, *suppliers])

    def party(org_id: int | None) -> dict[str, str] | None:
        org = orgs.get(org_id) if org_id is not None else None
        return None if org is None else {"name": org.name, "credit_code": org.credit_code}

    bidders = sorted((party(i) for i in collector.bidder_org_ids), key=lambda p: (
        p or {}).get("credit_code", ""))
    first_notice = (await session.execute(select(Notice.published_at).where(
        Notice.project_id == project.id).order_by(Notice.published_at).limit(1))).scalar()
    sections = list((await session.execute(select(Section).where(
        Section.project_id == project.id).order_by(Section.lot_no))).scalars().all())
    category = retention_for(project.trade_type, ending.concluded)
    years = RETENTION_YEARS[category]
    metadata = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "platform_code": config.platform_code,
        "archive_version": version, "previous_sha256": previous,
        "project": {"code": project.code, "name": project.name,
                    "trade_type": project.trade_type, "category": project.category,
                    "procedure": project.procedure, "region_code": project.region_code,
                    "owner_name": project.owner_name,
                    "approval_number": project.approval_number,
                    "supervise_dept_name": project.supervise_dept_name,
                    "state": project.state},
        "parties": {"procurer": party(project.procurer_org_id),
                    "agency": party(project.agency_org_id),
                    "bidders": bidders,
                    "suppliers": [party(i) for i in suppliers]},
        "sections": [{"code": s.section.code, "lot_no": s.section.lot_no,
                      "name": s.section.name, "ending": s.ending,
                      "ending_title": ENDING_TITLES[s.ending], "ended_at": isoformat_utc(s.at),
                      "award_id": s.award_id} for s in ending.sections],
        "dates": {"registered_at": isoformat_utc(project.created_at),
                  "first_notice_at": first_notice and isoformat_utc(first_notice),
                  "bid_deadlines": {s.code: s.bid_deadline and isoformat_utc(s.bid_deadline)
                                    for s in sections},
                  "ended_at": isoformat_utc(ending.ended_at)},
        "retention": {"category": category, "title": RETENTION_TITLES[category],
                      "years": years, "until": _until(ending.ended_at, years),
                      "standard": "GB/T 18894-2016"},
        "filed": {"at": isoformat_utc(now), "by_user_id": actor.user_id,
                  "by_org_id": actor.org_id, "by": "system" if actor.user_id is None
                  else "user"},
        "log": {"events": events, "tree_size": tree_size, "root_hash": root_hash},
    }
    info = [
        ("Source-Organization", f"tradesys 电子招标投标交易平台 {config.platform_code}"),
        ("External-Identifier", project.code),
        ("External-Description", project.name),
        ("Bag-Group-Identifier", project.code),
        ("Internal-Sender-Identifier", f"{project.code}/v{version}"),
        ("Tradesys-Archive-Version", str(version)),
        ("Tradesys-Previous-Archive-SHA256", previous or "none"),
        ("Tradesys-Retention", f"{category} {RETENTION_TITLES[category]}"),
        ("Tradesys-Retention-Until", metadata["retention"]["until"] or "permanent"),
        ("Tradesys-Project-Ended", metadata["dates"]["ended_at"]),
        ("Tradesys-Filed-At", isoformat_utc(now)),
        ("Tradesys-Tree-Size", str(tree_size)),
        ("Tradesys-Tree-Root", root_hash),
    ]
    if config.stamps is not None:
        info.append((SEAL_STAMP_FIELD, f"{TIMESTAMP_FILE} (RFC 3161, SHA-256 of "
                     f"{SIGNATURE_FILE})"))
    for role, value in (("招标人", metadata["parties"]["procurer"]),
                        ("招标代理机构", metadata["parties"]["agency"]), *(
                            ("投标人", b) for b in bidders)):
        if value is not None:
            info.append(("Tradesys-Party", f"{role} {value['credit_code']} {value['name']}"))
    for s in ending.sections:
        info.append(("Tradesys-Section", f"{s.section.code} {ENDING_TITLES[s.ending]}"))
    return metadata, info


async def _plan(session: AsyncSession, config: ArchiveConfig, project_id: int,
                now: datetime, actor: Actor) -> _Plan:
    project = await session.get(Project, project_id)
    if project is None:
        raise NotFound("project_not_found", "项目不存在 (no such project)")
    ending = await project_ending(session, project)
    last = (await session.execute(select(ArchiveVersion).where(
        ArchiveVersion.project_id == project_id).order_by(ArchiveVersion.version.desc())
        .limit(1))).scalar_one_or_none()
    version = 1 if last is None else last.version + 1
    previous = None if last is None else last.sha256
    receipt_pem = None if config.receipt_key is None else public_key_pem(config.receipt_key)
    collector = Collector(session, ending, Stores(config.data_dir), config.reporting,
                          config.rules, receipt_pem)
    items = await collector.collect()
    size = await log_tree.log_size(session)
    cache = log_tree.SubtreeCache(min_height=6, entries=65536)
    root = await log_tree.subtree_hash(session, 0, size, cache)
    signed = log_tree.sign_tree_head(config.archive_key, log_tree.TreeHead(
        config.platform_code, size, root, now))
    lines, proofs = await _events(session, project_id, size, cache)
    metadata, info = await _metadata(session, config, ending, collector, version, previous,
                                     now, actor, size, root.hex(), len(lines))
    return _Plan(project, ending, version, previous, items, lines, proofs, signed.as_json(),
                 size, root.hex(), metadata, info)


def _open(item: Item) -> BinaryIO | list[bytes]:
    if isinstance(item.source, bytes):
        return [item.source] if item.source else []
    try:
        return item.source.open("rb")
    except FileNotFoundError:
        raise Conflict("archive_file_missing", f"归档文件缺失：{item.title}（{item.path}）(a "
                       f"stored file of the project is missing: {item.path})") from None


def _write(plan: _Plan, config: ArchiveConfig, path: Path, now: datetime) -> tuple[
        str, int, int]:
    """Writes the bag; returns (its SHA-256, payload files, payload octets)."""
    sealed: dict[str, str] = {}

    def seal(tags: dict[str, bytes]) -> dict[str, bytes]:
        document = seal_document(
            platform_code=config.platform_code, project_code=plan.project.code,
            archive_version=plan.version, previous_sha256=plan.previous_sha256,
            tagmanifest_sha256=tags["tagmanifest-sha256.txt"],
            tagmanifest_sha512=tags["tagmanifest-sha512.txt"], sealed_at=isoformat_utc(now))
        sealed["sha256"] = document["tagmanifest_sha256"]
        signature = canonical_json(sign_seal(config.archive_key, document)) + b"\n"
        if config.stamps is None:
            return {SIGNATURE_FILE: signature}
        return {SIGNATURE_FILE: signature, TIMESTAMP_FILE: config.stamps.stamp(
            hashlib.sha256(signature).digest(), now)}

    try:
        bag = BagWriter(path, plan.bag_info, bagging_date=now.date())
    except BagExists:
        raise Conflict("archive_exists", f"归档目录已存在，不会覆盖：{path} (the archive's "
                       "folder exists; an archive is never written over)") from None
    with bag:
        entries: list[tuple[Item, PayloadFile]] = []
        for item in plan.items:
            source = _open(item)
            try:
                entries.append((item, bag.add(item.path, source)))
            finally:
                if not isinstance(source, list):
                    source.close()
        head = canonical_json(plan.tree_head) + b"\n"
        log_items = [
            Item(EVENTS_FILE, "events", "项目事件日志（JSON Lines）", now,
                 b"".join(plan.event_lines)),
            Item(PROOFS_FILE, "inclusion_proofs", "事件包含证明（RFC 9162）", now,
                 b"".join(plan.proof_lines)),
            Item(TREE_HEAD_FILE, "tree_head", "签名树头（归档时全日志）", now, head),
            Item(KEY_FILE, "archive_key", "归档签名公钥（信任根）", now,
                 public_key_pem(config.archive_key.public_key()).encode()),
        ]
        if config.stamps is not None:
            log_items.append(Item(TREE_HEAD_STAMP_FILE, "tree_head_timestamp",
                                  "签名树头的时间戳（RFC 3161）", now, config.stamps.stamp(
                                      hashlib.sha256(head).digest(), now)))
            log_items.append(Item(TRUST_ROOTS_FILE, "trust_roots",
                                  "时间戳与合同签名的信任根证书", now, b"".join(
                                      c.public_bytes(serialization.Encoding.PEM)
                                      for c in config.stamps.trust_roots())))
        if config.receipt_key is not None:
            log_items.append(Item(RECEIPT_KEY_FILE, "receipt_key", "平台回执与通知书签名公钥",
                                  now, public_key_pem(config.receipt_key).encode()))
        log_items.append(Item(METADATA_FILE, "metadata", "档案著录信息", now,
                              record(plan.metadata)))
        for item in log_items:
            entries.append((item, bag.add_bytes(item.path, item.source)))  # type: ignore[arg-type]
        bag.add_bytes(INDEX_FILE, record(index_document(entries)))
        bag.finish(seal=seal)
        files = bag.files
    return sealed["sha256"], len(files), sum(f.size for f in files)


async def build_archive(db: Database, clock: Clock, config: ArchiveConfig, project_id: int,
                        *, actor: Actor | None = None) -> Built:
    """Builds the next version of the project's archive; see the module's docstring."""
    actor = actor or Actor.system()
    now = clock.now()
    async with db.reading() as session:
        plan = await _plan(session, config, project_id, now, actor)
    relative = Path("archives") / folder_name(plan.project.code) / f"v{plan.version}"
    path = config.data_dir / relative
    sha256, files, octets = await asyncio.to_thread(_write, plan, config, path, now)
    try:
        async with db.transaction() as session:
            session.add(ArchiveVersion(
                project_id=project_id, version=plan.version, sha256=sha256,
                previous_sha256=plan.previous_sha256, path=relative.as_posix(),
                payload_files=files, payload_octets=octets, tree_size=plan.tree_size,
                root_hash=plan.root_hash, built_at=now, built_by=actor.user_id))
            await session.flush()
            event = await append_event(
                session, actor=actor, at=now, aggregate_type="archive",
                aggregate_id=project_id, project_id=project_id, type="archive.built",
                payload={"version": plan.version, "sha256": sha256,
                         "previous_sha256": plan.previous_sha256,
                         "path": relative.as_posix(), "payload_files": files,
                         "payload_octets": str(octets), "tree_size": plan.tree_size,
                         "root_hash": plan.root_hash,
                         "retention": plan.metadata["retention"]["category"]})
            seq = event.seq
    except BaseException:
        await asyncio.to_thread(shutil.rmtree, path, True)
        raise
    return Built(project_id, plan.version, path, sha256, plan.previous_sha256, files, octets,
                 plan.tree_size, seq)

