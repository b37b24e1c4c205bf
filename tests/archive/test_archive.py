"""Project archives end to end, on both back ends: a project whose section ended in a concluded
contract and one whose tender failed are archived; the bags pass the ``bagit`` package's full
validation and ``tradesys verify archive`` (a separate process: no database); each tampering is
detected and named; an old archive is checked against a later public tree head by the served
consistency proof; an unfinished project is refused with nothing written; a second build is
version 2 naming version 1's SHA-256, which stays as it was."""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import bagit
import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from starlette.applications import Starlette

from archive.builder import build_archive
from archive.ending import NotEnded
from archive.models import ArchiveVersion
from archive.scheduling import archive_jobs
from archive.seal import SIGNATURE_FILE, sign_seal
from archive.tree_head import TreeHead, sign_tree_head
from archive.verify import Report, verify_archive
from contracts.pki import CertificateAuthority
from contracts.timestamps import PkiEvidenceChecks
from tests.archive.conftest import (
    awarded,
    conclude,
    config_of,
    fail_other_section,
    failed_project,
)
from tests.award.conftest import drafted_report, sign_all
from tests.contracts.test_amendments import _sign_amendment
from tests.contracts.test_http import http_signer
from tests.evaluation.conftest import Pool, pool  # noqa: F401  (the fixture)
from tests.support import Flow, Seed, table_counts
from tradesys.clock import AdjustableClock
from tradesys.errors import NotFound
from tradesys.events.canonical import canonical_json
from tradesys.events.models import Event
from tradesys.services import Services


async def run_cli(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tradesys.cli", "verify", "archive", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


#: The contract PKI's checks, as ``tradesys verify archive`` runs them.
CHECKS = PkiEvidenceChecks()


def verified(path: Path) -> Report:
    return verify_archive(path, checks=CHECKS)


def assert_openssl_verifies(bag: Path, token: str, data: str, tmp_path: Path) -> None:
    """A stock tool agrees: ``openssl ts -verify`` over the file's bytes, trusting only the
    archive's own roots (the TSA's chain from the token itself)."""
    chain = tmp_path / "tsa-chain.pem"
    chain.write_bytes(subprocess.run(
        ["openssl", "pkcs7", "-inform", "DER", "-print_certs", "-in", str(bag / token)],
        check=True, capture_output=True).stdout)
    checked = subprocess.run(
        ["openssl", "ts", "-verify", "-data", str(bag / data), "-in", str(bag / token),
         "-token_in", "-CAfile", str(bag / "data/keys/trust-roots.pem"), "-untrusted",
         str(chain)], capture_output=True, text=True)
    assert checked.returncode == 0 and "Verification: OK" in checked.stdout, checked.stderr


def rehash(root: Path) -> None:
    """What a forger with no key can do after an edit: rewrite both payload manifests and both
    tag manifests (and Payload-Oxum) so that the bag is consistent again — only the seal is
    left to catch it."""
    payload = sorted(p for p in (root / "data").rglob("*") if p.is_file())
    for algorithm in ("sha256", "sha512"):
        (root / f"manifest-{algorithm}.txt").write_text("".join(
            f"{hashlib.new(algorithm, p.read_bytes()).hexdigest()}  "
            f"{p.relative_to(root).as_posix()}\n" for p in payload))
    info = (root / "bag-info.txt").read_text().splitlines()
    oxum = f"Payload-Oxum: {sum(p.stat().st_size for p in payload)}.{len(payload)}"
    (root / "bag-info.txt").write_text("\n".join(
        oxum if line.startswith("Payload-Oxum") else line for line in info) + "\n")
    tags = ["bag-info.txt", "bagit.txt", "manifest-sha256.txt", "manifest-sha512.txt"]
    for algorithm in ("sha256", "sha512"):
        (root / f"tagmanifest-{algorithm}.txt").write_text("".join(
            f"{hashlib.new(algorithm, (root / t).read_bytes()).hexdigest()}  {t}\n"
            for t in tags))


def flip(path: Path, at: int = 40) -> None:
    """A same-size edit: one byte changed in place."""
    data = bytearray(path.read_bytes())
    data[at % len(data)] ^= 0x01
    path.write_bytes(bytes(data))


def edit_event(root: Path) -> None:
    events = root / "data/log/events.jsonl"
    lines = events.read_bytes().splitlines(keepends=True)
    event = json.loads(lines[3])
    event["ip"] = "198.51.100.99"
    lines[3] = canonical_json(event) + b"\n"
    events.write_bytes(b"".join(lines))


def remove_event(root: Path) -> None:
    events = root / "data/log/events.jsonl"
    lines = events.read_bytes().splitlines(keepends=True)
    events.write_bytes(b"".join(lines[:5] + lines[6:]))


def swap(root: Path) -> None:
    first = root / "data/sections/001/award/notices/001-award.pdf"
    second = root / "data/sections/001/award/notices/002-result.pdf"
    a, b = first.read_bytes(), second.read_bytes()
    first.write_bytes(b)
    second.write_bytes(a)


def edit_sheet(root: Path) -> None:
    sheet = sorted((root / "data/sections/001/evaluation/score-sheets").glob("*[0-9].json"))[0]
    sheet.write_bytes(sheet.read_bytes().replace(b'"T1":"3', b'"T1":"4', 1))
    rehash(root)


def other_seal(root: Path) -> None:
    published = json.loads((root / SIGNATURE_FILE).read_bytes())
    forged = sign_seal(Ed25519PrivateKey.generate(), published["seal"])
    forged["key_id"] = published["key_id"]
    (root / SIGNATURE_FILE).write_bytes(canonical_json(forged) + b"\n")


def other_log_head(root: Path) -> None:
    head = json.loads((root / "data/log/tree-head.json").read_bytes())["tree_head"]
    forged = sign_tree_head(Ed25519PrivateKey.generate(), TreeHead(
        head["platform_code"], head["tree_size"], bytes(32), __import__(
            "tradesys.clock", fromlist=["parse_instant"]).parse_instant(head["timestamp"])))
    (root / "data/log/tree-head.json").write_bytes(canonical_json(forged.as_json()) + b"\n")


def replace_contract(root: Path) -> None:
    """A forger swaps the signed contract for its unsigned draft and rewrites the manifests."""
    folder = next((root / "data/contracts").iterdir())
    (folder / "contract.pdf").write_bytes(sorted((folder / "drafts").iterdir())[0].read_bytes())
    rehash(root)


ENVELOPE = "data/sections/001/bids/001/envelope.bin"
STAMP = "archive-signature.tsr"
#: (what is done to a copy of the bag, what the failures must name).
TAMPERING: dict[str, tuple[Callable[[Path], None], list[str]]] = {
    "same-size edit of a bid": (lambda r: flip(r / ENVELOPE),
                                [f"{ENVELOPE}: SHA256 differs from manifest-sha256.txt",
                                 f"{ENVELOPE}: SHA512 differs", f"{ENVELOPE}: not the file "
                                 "the index names"]),
    "same-size edit, manifests rewritten": (lambda r: (flip(r / ENVELOPE), rehash(r)),
                                            ["tagmanifest-sha256.txt: not the tag manifest the "
                                             "seal signs", f"{ENVELOPE}: not the file the "
                                             "index names"]),
    "edited line in events.jsonl": (edit_event, [
        "data/log/events.jsonl: SHA256 differs", "its hash does not recompute"]),
    "edited event, manifests rewritten": (lambda r: (edit_event(r), rehash(r)), [
        "its hash does not recompute", "not the tag manifest the seal signs"]),
    "removed event, manifests rewritten": (lambda r: (remove_event(r), rehash(r)), [
        "is not in data/log/events.jsonl (a removed event)",
        "data/archive.json: names 66 events", "not the tag manifest the seal signs"]),
    "swapped documents": (swap, [
        "data/sections/001/award/notices/001-award.pdf: SHA256 differs",
        "data/sections/001/award/notices/002-result.pdf: not the file the index names"]),
    "added payload file": (lambda r: (r / "data/extra.txt").write_text("x"), [
        "data/extra.txt: not in manifest-sha256.txt (an added or renamed file)",
        "data/extra.txt: not in the index"]),
    "added tag file": (lambda r: (r / "notes.txt").write_text("x"), [
        "notes.txt: a tag file not in tagmanifest-sha256.txt (an added file)"]),
    "removed file": (lambda r: (r / "data/sections/001/award/awards.json").unlink(), [
        "data/sections/001/award/awards.json: listed in manifest-sha256.txt but missing",
        "names data/sections/001/award/awards.json, which is not in the archive"]),
    "renamed file": (lambda r: (r / "data/sections/001/award/awards.json").rename(
        r / "data/sections/001/award/awards2.json"), [
        "data/sections/001/award/awards.json: listed in manifest-sha256.txt but missing",
        "data/sections/001/award/awards2.json: not in manifest-sha256.txt"]),
    "replaced seal signature": (other_seal, [
        "archive-signature.json: the seal's signature is not the archive key's"]),
    "removed seal": (lambda r: (r / SIGNATURE_FILE).unlink(), ["archive-signature.json: "
                                                              "missing"]),
    "edited tag file": (lambda r: (r / "bag-info.txt").write_text(
        (r / "bag-info.txt").read_text().replace("定期30年", "定期10年")), [
        "bag-info.txt: SHA256 differs from tagmanifest-sha256.txt (the tag file was changed)"]),
    "tree head of another log": (other_log_head, [
        "data/log/tree-head.json: not a tree head signed by the archive key"]),
    "a receipt edited, manifests rewritten": (lambda r: (
        (r / "data/sections/001/bids/002/receipt.json").write_bytes(
            (r / "data/sections/001/bids/002/receipt.json").read_bytes().replace(
                b'"size":', b'"size":1')), rehash(r)), [
        "data/sections/001/bids/002/receipt.json: the bid receipt is not genuine"]),
    "a score sheet edited, manifests rewritten": (edit_sheet, [
        "no score sheet the log names (an edited or added sheet)",
        "names a score sheet the archive does not hold"]),
    "the seal's time stamp is the tree head's": (lambda r: (r / STAMP).write_bytes(
        (r / "data/log/tree-head.tsr").read_bytes()), [
        f"{STAMP}: not a valid time stamp of archive-signature.json (the token stamps "
        "another digest)"]),
    "the seal's time stamp edited": (lambda r: flip(r / STAMP, at=-300), [
        f"{STAMP}: not a valid time stamp of archive-signature.json"]),
    "the seal's time stamp removed": (lambda r: (r / STAMP).unlink(), [
        f"{STAMP}: missing (the time stamp cannot be checked)"]),
    "the tree head's time stamp edited, manifests rewritten": (lambda r: (
        flip(r / "data/log/tree-head.tsr", at=-300), rehash(r)), [
        "data/log/tree-head.tsr: not a valid time stamp of data/log/tree-head.json"]),
    "the signed contract replaced by its draft, manifests rewritten": (replace_contract, [
        "contract.pdf: 签名不全"]),
}


def check_tampering(bag: Path, tmp_path: Path) -> None:
    for name, (tamper, expected) in TAMPERING.items():
        copy = tmp_path / "tampered" / name.replace(" ", "-").replace(",", "")
        shutil.copytree(bag, copy)
        tamper(copy)
        failures = verified(copy).failures
        assert failures, name
        for text in expected:
            assert any(text in f for f in failures), (name, text, failures)


async def count_rows(services: Services) -> tuple[int, int]:
    async with services.db.reading() as session:
        archives = (await session.execute(select(func.count()).select_from(
            ArchiveVersion))).scalar_one()
        built = (await session.execute(select(func.count()).select_from(Event).where(
            Event.type == "archive.built"))).scalar_one()
    return archives, built


async def test_a_concluded_project_is_archived_sealed_and_verifiable_offline(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, services: Services, pool: Pool,  # noqa: F811
        clock: AdjustableClock, app: Starlette, tmp_path: Path) -> None:
    config = config_of(services)
    reported, contract_id = await awarded(client, flow, seed, clock, app, pool)
    await fail_other_section(client, seed, reported)
    project_id = reported.opened.project_id

    # Not ended while the contract is unsigned: refused, nothing written.
    before = await table_counts(services)
    with pytest.raises(NotEnded) as refused:
        await build_archive(services.db, clock, config, project_id)
    assert refused.value.code == "project_not_ended"
    assert refused.value.details == {"sections": [
        {"section": reported.opened.section_code, "waiting_for": "合同尚未签订"}]}
    assert await table_counts(services) == before
    assert not (services.settings.data_dir / "archives").exists()
    with pytest.raises(NotFound):
        await build_archive(services.db, clock, config, 999999)

    await conclude(client, seed, clock, reported, contract_id)
    clock.advance(timedelta(minutes=1))
    built = await build_archive(services.db, clock, config, project_id)
    assert built.version == 1 and built.previous_sha256 is None
    assert built.path == (services.settings.data_dir / "archives" /
                          reported.opened.section_code[:-3] / "v1")
    bag = bagit.Bag(str(built.path))
    assert bag.version_info == (1, 0) and set(bag.algorithms) == {"sha256", "sha512"}
    bag.validate(fast=False)
    assert built.sha256 == hashlib.sha256(
        (built.path / "tagmanifest-sha256.txt").read_bytes()).hexdigest()

    # The archive.built event and its row, in one transaction; the archive's SHA-256.
    async with services.db.reading() as session:
        row = (await session.execute(select(ArchiveVersion))).scalar_one()
        event = (await session.execute(select(Event).where(
            Event.type == "archive.built"))).scalar_one()
    payload = json.loads(event.payload)
    assert row.sha256 == payload["sha256"] == built.sha256 and event.seq == built.event_seq
    assert payload["version"] == 1 and payload["tree_size"] == built.tree_size == event.seq - 1
    assert event.project_id == project_id and payload["retention"] == "30y"

    # What it holds: the metadata and the index name every record, in Chinese.
    metadata = json.loads((built.path / "data/archive.json").read_bytes())
    assert metadata["project"]["code"] == reported.opened.section_code[:-3]
    assert [s["ending"] for s in metadata["sections"]] == ["concluded", "opening_failed"]
    assert metadata["parties"]["procurer"]["credit_code"] == seed.procurer.credit_code
    assert metadata["retention"] == {"category": "30y", "title": "定期30年", "years": 30,
                                     "until": metadata["retention"]["until"],
                                     "standard": "GB/T 18894-2016"}
    index = json.loads((built.path / "data/index.json").read_bytes())["files"]
    kinds = {entry["kind"] for entry in index}
    assert {"notice.tender", "tender_document", "bid_envelope", "bid_receipt", "bid_opened",
            "opening_record", "opening_record_pdf", "score_sheet", "evaluation_report_body",
            "evaluation_report_pdf", "publicity", "award_notice.award", "award_notice.result",
            "contract_pdf", "contract_draft_pdf", "platform_report.CONTRACT_PERFORMANCE",
            "platform_deliveries", "events", "inclusion_proofs", "tree_head",
            "archive_key"} <= kinds
    assert all(entry["title"] for entry in index)
    # The events are the project's, exactly as stored.
    async with services.db.reading() as session:
        stored = (await session.execute(select(Event.hash).where(
            Event.project_id == project_id, Event.seq <= built.tree_size)
            .order_by(Event.seq))).scalars().all()
    lines = (built.path / "data/log/events.jsonl").read_bytes().splitlines()
    assert [json.loads(line)["hash"] for line in lines] == stored

    code, out, err = await run_cli(str(built.path))
    assert code == 0, err
    assert out.startswith(f"ok: archive {built.sha256}")
    assert "66 inclusion proofs" in out and "4 receipts" in out and "4 notices" in out
    assert "5 expert score sheets" in out and "5 expert report signatures" in out
    assert "2 time stamps" in out and "1 signed contracts" in out
    assert_openssl_verifies(built.path, "archive-signature.tsr", "archive-signature.json",
                            tmp_path)
    assert_openssl_verifies(built.path, "data/log/tree-head.tsr", "data/log/tree-head.json",
                            tmp_path)

    check_tampering(built.path, tmp_path)
    tampered = tmp_path / "tampered" / "edited-tag-file"
    code, out, err = await run_cli(str(tampered))
    assert code == 1 and "FAILED: bag-info.txt: SHA256 differs" in err
    with pytest.raises(bagit.BagValidationError):
        bagit.Bag(str(tmp_path / "tampered" / "same-size-edit-of-a-bid")).validate(fast=False)

    # More events, then a later public tree head: the old archive checks against it by the
    # consistency proof the platform serves.
    second = await build_archive(services.db, clock, config, project_id)
    assert second.version == 2 and second.previous_sha256 == built.sha256
    clock.advance(timedelta(hours=2))
    head = (await client.get("/api/v1/log/tree-head")).json()
    size = head["tree_head"]["tree_size"]
    assert size > built.tree_size
    proof = (await client.get(f"/api/v1/log/consistency?from={built.tree_size}&to={size}"))
    assert proof.status_code == 200, proof.text
    (tmp_path / "head.json").write_text(json.dumps(head))
    (tmp_path / "proof.json").write_text(proof.text)
    key = tmp_path / "key.pem"
    key.write_text((await client.get("/api/v1/log/key")).text)
    code, out, err = await run_cli(str(built.path), "--key", str(key), "--tree-head",
                                   str(tmp_path / "head.json"), "--consistency",
                                   str(tmp_path / "proof.json"))
    assert code == 0, err
    assert "1 consistency" in out
    # Without the proof, with a proof that fails, with another log's head, another key.
    code, _out, err = await run_cli(str(built.path), "--tree-head", str(tmp_path / "head.json"))
    assert code == 1 and f"/api/v1/log/consistency?from={built.tree_size}&to={size}" in err
    bad = proof.json()
    bad["consistency_path"][0] = "00" * 32
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    code, _out, err = await run_cli(str(built.path), "--tree-head", str(tmp_path / "head.json"),
                                    "--consistency", str(tmp_path / "bad.json"))
    assert code == 1 and "does not extend the archive's" in err
    other = sign_tree_head(Ed25519PrivateKey.generate(), TreeHead(
        head["tree_head"]["platform_code"], size, bytes.fromhex(head["tree_head"]["root_hash"]),
        clock.now()))
    (tmp_path / "other.json").write_text(json.dumps(other.as_json()))
    code, _out, err = await run_cli(str(built.path), "--tree-head", str(tmp_path / "other.json"),
                                    "--consistency", str(tmp_path / "proof.json"))
    assert code == 1 and "--tree-head: not a tree head signed by the archive key" in err
    stranger = tmp_path / "stranger.pem"
    stranger.write_text(__import__("tradesys.signatures", fromlist=["public_pem"]).public_pem(
        Ed25519PrivateKey.generate()))
    code, _out, err = await run_cli(str(built.path), "--key", str(stranger))
    assert code == 1 and "not the trusted archive key given" in err
    code, _out, err = await run_cli(str(built.path), "--tree-head", str(tmp_path / "none.json"))
    assert code == 2 and "cannot read" in err
    # Trust pinned to another CA's root: neither the time stamps nor the contract hold.
    other_root = tmp_path / "other-root.pem"
    other_root.write_bytes(CertificateAuthority.create(clock.now(), base_url="http://x").root
                           .public_bytes(serialization.Encoding.PEM))
    code, _out, err = await run_cli(str(built.path), "--trust", str(other_root))
    assert code == 1, err
    assert "FAILED: archive-signature.tsr: not a valid time stamp" in err
    assert "does not chain to a trusted root" in err and "contract.pdf: " in err


async def test_a_failed_tender_is_archived_and_a_rebuild_is_a_new_version(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, services: Services, pool: Pool,  # noqa: F811
        clock: AdjustableClock, app: Starlette) -> None:
    config = config_of(services)
    reported = await drafted_report(client, flow, seed, clock, app, pool,
                                    failing=frozenset({"bidder3"}), scheme=None)
    await sign_all(client, reported)
    before = await table_counts(services)
    with pytest.raises(NotEnded) as refused:
        await build_archive(services.db, clock, config, reported.opened.project_id)
    assert {s["waiting_for"] for s in refused.value.details["sections"]} == {"尚未定标"}
    assert len(refused.value.details["sections"]) == 2
    assert await table_counts(services) == before
    assert not (services.settings.data_dir / "archives").exists()

    recorded = await client.post(f"/api/v1/sections/{reported.section_id}/award/failure",
                                 headers=seed.agency.auth)
    assert recorded.status_code == 201, recorded.text
    await fail_other_section(client, seed, reported)
    first = await build_archive(services.db, clock, config, reported.opened.project_id)
    bagit.Bag(str(first.path)).validate(fast=False)
    assert verified(first.path).ok
    metadata = json.loads((first.path / "data/archive.json").read_bytes())
    assert [s["ending"] for s in metadata["sections"]] == ["tender_failed", "opening_failed"]
    assert metadata["retention"]["category"] == "10y"  # works, no contract
    kinds = {e["kind"] for e in json.loads((first.path / "data/index.json").read_bytes())[
        "files"]}
    assert {"tender_failure", "notice.failed", "evaluation_report_pdf"} <= kinds
    assert "contract_pdf" not in kinds
    seal_v1 = (first.path / SIGNATURE_FILE).read_bytes()
    manifest_v1 = (first.path / "tagmanifest-sha256.txt").read_bytes()

    clock.advance(timedelta(days=1))
    second = await build_archive(services.db, clock, config, reported.opened.project_id)
    assert second.version == 2 and second.path.name == "v2"
    assert second.previous_sha256 == first.sha256 != second.sha256
    assert verified(second.path).ok
    assert json.loads((second.path / SIGNATURE_FILE).read_bytes())["seal"][
        "previous_sha256"] == first.sha256
    assert json.loads((second.path / "data/archive.json").read_bytes())[
        "previous_sha256"] == first.sha256
    # Version 1's archive.built event is in version 2's log; version 1 is untouched.
    types = [json.loads(line)["type"] for line in
             (second.path / "data/log/events.jsonl").read_bytes().splitlines()]
    assert types.count("archive.built") == 1
    assert (first.path / SIGNATURE_FILE).read_bytes() == seal_v1
    assert (first.path / "tagmanifest-sha256.txt").read_bytes() == manifest_v1
    assert await count_rows(services) == (2, 2)

    # A leftover folder where the next version goes is never written over.
    (second.path.parent / "v3").mkdir()
    before = await table_counts(services)
    with pytest.raises(Exception) as exists:
        await build_archive(services.db, clock, config, reported.opened.project_id)
    assert getattr(exists.value, "code", None) == "archive_exists"
    assert await table_counts(services) == before
    assert list((second.path.parent / "v3").iterdir()) == []


def test_verify_a_folder_that_is_no_archive(tmp_path: Path) -> None:
    assert verify_archive(tmp_path / "nothing").failures == [f"{tmp_path / 'nothing'}: not a "
                                                             "folder"]
    failures = verify_archive(tmp_path).failures
    assert "bagit.txt: missing (not a bag)" in failures
    assert "data/keys/archive-key.pem: missing" in failures



async def test_the_scheduler_job_archives_a_project_once_it_has_ended(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, services: Services, pool: Pool,  # noqa: F811
        clock: AdjustableClock, app: Starlette) -> None:
    config = config_of(services)
    [job] = archive_jobs(config)
    reported = await drafted_report(client, flow, seed, clock, app, pool,
                                    failing=frozenset({"bidder3"}), scheme=None)
    await sign_all(client, reported)
    recorded = await client.post(f"/api/v1/sections/{reported.section_id}/award/failure",
                                 headers=seed.agency.auth)
    assert recorded.status_code == 201, recorded.text
    # One section failed, the other still waits for its opening: nothing to archive yet.
    assert await job(services.db, clock) == 0
    assert await count_rows(services) == (0, 0)
    await fail_other_section(client, seed, reported)
    assert await job(services.db, clock) == 1
    assert await count_rows(services) == (1, 1)
    assert await job(services.db, clock) == 0  # nothing new
    [restarted] = archive_jobs(config)  # a new process: catches up, skips what is archived
    assert await restarted(services.db, clock) == 0
    assert await count_rows(services) == (1, 1)
    async with services.db.reading() as session:
        row = (await session.execute(select(ArchiveVersion))).scalar_one()
    assert row.project_id == reported.opened.project_id and row.built_by is None
    assert verified(services.settings.data_dir / row.path).ok


async def test_the_apps_scheduler_archives_an_ended_project(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, services: Services, pool: Pool,  # noqa: F811
        clock: AdjustableClock, app: Starlette) -> None:
    """The job is in the running app's job list (tradesys/app.py): its own pass, not a job
    built by the test, archives the project at the first pass after it ended, and only once."""
    ended = await failed_project(client, flow, seed, clock, app, pool)
    assert await count_rows(services) == (0, 0)
    await app.state.scheduler.run_once()
    assert await count_rows(services) == (1, 1)
    await app.state.scheduler.run_once()
    assert await count_rows(services) == (1, 1)
    async with services.db.reading() as session:
        row = (await session.execute(select(ArchiveVersion))).scalar_one()
        event = (await session.execute(select(Event).where(
            Event.type == "archive.built"))).scalar_one()
    assert row.project_id == event.project_id == ended.project_id and row.built_by is None
    assert event.actor_user_id is None
    assert verified(services.settings.data_dir / row.path).ok


async def test_an_amendment_after_the_archive_is_archived_as_a_new_version(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, services: Services, pool: Pool,  # noqa: F811
        clock: AdjustableClock, app: Starlette) -> None:
    """合同变更 concluded after the project was archived is part of its file: the scheduler job
    builds version 2 (naming version 1's SHA-256) holding the signed amendment, which the
    verifier checks as a signed contract; then nothing more, in this process or a new one."""
    config = config_of(services)
    [job] = archive_jobs(config)
    reported, contract_id = await awarded(client, flow, seed, clock, app, pool)
    await fail_other_section(client, seed, reported)
    await conclude(client, seed, clock, reported, contract_id)
    assert await job(services.db, clock) == 1
    winner = reported.report["candidates"][0]["credit_code"]
    supplier = next(p for p in seed.parties.values() if p.credit_code == winner)
    current = (await client.get(f"/api/v1/contracts/{contract_id}/amendments",
                                headers=seed.procurer.auth)).json()
    assert current["items"] == []
    clause = (await client.get(f"/api/v1/contracts/{contract_id}", headers=seed.procurer.auth)
              ).json()["facts"]["clauses"][0]
    proposed = await client.post(f"/api/v1/contracts/{contract_id}/amendments",
                                 headers=supplier.auth, json={
                                     "base_sha256": current["current_sha256"],
                                     "reason": "双方协商调整条款",
                                     "changes": [{"clause": clause["title"], "old": clause["text"],
                                                  "new": clause["text"] + "（变更）"}]})
    assert proposed.status_code == 201, proposed.text
    assert await job(services.db, clock) == 0  # proposed, not concluded: nothing to add yet
    number = proposed.json()["number"]
    for party in (seed.procurer, supplier):
        clock.advance(timedelta(minutes=5))
        await _sign_amendment(client, contract_id, number, await http_signer(client, party))
    assert await job(services.db, clock) == 1
    assert await job(services.db, clock) == 0
    [restarted] = archive_jobs(config)
    assert await restarted(services.db, clock) == 0
    async with services.db.reading() as session:
        first, second = (await session.execute(select(ArchiveVersion).order_by(
            ArchiveVersion.version))).scalars().all()
    assert second.version == 2 and second.previous_sha256 == first.sha256
    bag = services.settings.data_dir / second.path
    kinds = [e["kind"] for e in json.loads((bag / "data/index.json").read_bytes())["files"]]
    assert "contract_amendment_pdf" in kinds
    report = verified(bag)
    assert report.ok, report.failures
    assert report.checked["signed contracts"] == report.checked["signed amendments"] == 1
