"""The offline verifier of an archive: no database, no network, only the bag and a key.

``verify_archive(path)`` checks, and names every failure it finds (never only the first):

1. **The bag** (RFC 8493): ``bagit.txt`` exactly as written; every file under ``data/`` is
   listed in both payload manifests and every listed file is there (an added, removed or
   renamed file), and each file's SHA-256 and SHA-512 are re-computed in one read (a changed
   file, a same-size edit included); both tag manifests likewise over the tag files, and no
   tag file is unlisted but the seal; ``Payload-Oxum`` is the payload's octets and count.
2. **The seal** (archive/seal.py): ``archive-signature.json`` is the archive key's signature
   over both tag manifests' digests, and those are the files' digests now.
3. **The log**: the signed tree head (``data/log/tree-head.json``) is the archive key's; each
   line of ``data/log/events.jsonl`` is canonical JSON of an event's stored fields whose hash
   recomputes (``tradesys/events/log.py``), in sequence order, linked to the event before it
   where that one is in the archive too; each has exactly one inclusion proof that verifies
   against the head (RFC 9162); the metadata's event count and head match.
4. **The index** names every payload file with its manifest SHA-256, and nothing else.
5. **Signed records**: every bid receipt, and every award and result notice with its detached
   signature, under the platform key the bag carries (``data/keys/receipt-key.pem``); every
   expert's score sheet and report signature, against the event that took it (which names
   the signing key and is itself proved in the log).
6. With a **later tree head** (and, if it is larger, the consistency proof from the archive's
   head to it, as ``GET /api/v1/log/consistency?from=&to=`` serves it): the later head is the
   archive key's and the log it covers extends the archive's unchanged.

The trust root is the archive key in the bag (``data/keys/archive-key.pem``) unless one is
given (``key``): a bag re-sealed with another key passes on its own key only, which is why
the key published by the platform (``GET /api/v1/log/key``) should be pinned.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from archive import merkle
from archive.bag import BAGIT_TXT, CHUNK
from archive.builder import (
    EVENTS_FILE,
    INDEX_FILE,
    KEY_FILE,
    METADATA_FILE,
    PROOFS_FILE,
    RECEIPT_KEY_FILE,
    TREE_HEAD_FILE,
)
from archive.report import Report
from archive.seal import SIGNATURE_FILE, TIMESTAMP_FILE, verify_seal
from archive.tree_head import TreeHead, verify_tree_head
from archive.verify_pki import PkiChecks, check_pki
from tradesys.bids.receipts import verify_receipt_file
from tradesys.clock import parse_instant
from tradesys.documents.evaluation_report import signing_message
from tradesys.documents.notices import verify_notice
from tradesys.events.canonical import canonical_json
from tradesys.events.log import GENESIS_HASH, event_hash_material
from tradesys.opening import confirmation
from tradesys.signatures import load_public_pem, pem_exact, same_key

ALGORITHMS = ("sha256", "sha512")
_LINE = {"sha256": re.compile(r"^([0-9a-f]{64}) {1,2}(\S.*)$"),
         "sha512": re.compile(r"^([0-9a-f]{128}) {1,2}(\S.*)$")}
EVENT_FIELDS = ("seq", "prev_hash", "aggregate_type", "aggregate_id", "aggregate_seq", "type",
                "project_id", "payload", "actor_user_id", "actor_org_id", "ip", "user_agent",
                "occurred_at", "hash")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def _walk(root: Path, report: Report) -> set[str]:
    """Every regular file of the bag, as ``/``-separated relative paths."""
    found: set[str] = set()
    for folder, dirs, files in os.walk(root, followlinks=False):
        for name in [*dirs, *files]:
            full = Path(folder) / name
            if full.is_symlink():
                report.fail(f"{full.relative_to(root).as_posix()}: a symbolic link (not allowed "
                            "in an archive)")
        for name in files:
            full = Path(folder) / name
            if full.is_file() and not full.is_symlink():
                found.add(full.relative_to(root).as_posix())
    return found


def _digests(path: Path) -> dict[str, str]:
    """SHA-256 and SHA-512 of a file in one read (SHA-512 on a second thread, as the writer)."""
    sha256, sha512 = hashlib.sha256(), hashlib.sha512()
    with ThreadPoolExecutor(1) as pool, path.open("rb") as source:
        pending = None
        while piece := source.read(CHUNK):
            if pending is not None:
                pending.result()
            pending = pool.submit(sha512.update, piece)
            sha256.update(piece)
        if pending is not None:
            pending.result()
    return {"sha256": sha256.hexdigest(), "sha512": sha512.hexdigest()}


def _manifest(root: Path, name: str, algorithm: str, report: Report) -> dict[str, str] | None:
    path = root / name
    if not path.is_file():
        report.fail(f"{name}: missing")
        return None
    entries: dict[str, str] = {}
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        report.fail(f"{name}: not UTF-8")
        return None
    for number, line in enumerate(text.splitlines(), start=1):
        match = _LINE[algorithm].match(line)
        if match is None:
            report.fail(f"{name} line {number}: not '<{algorithm}>  <path>'")
            continue
        digest, listed = match.groups()
        if listed in entries:
            report.fail(f"{name} line {number}: {listed} listed twice")
        entries[listed] = digest
    return entries


def _bag(root: Path, files: set[str], report: Report) -> dict[str, dict[str, str]]:
    """Checks both payload and both tag manifests; returns every file's digests."""
    digests: dict[str, dict[str, str]] = {}

    def digest_of(name: str) -> dict[str, str]:
        if name not in digests:
            digests[name] = _digests(root / name)
        return digests[name]

    if "bagit.txt" not in files:
        report.fail("bagit.txt: missing (not a bag)")
    elif (root / "bagit.txt").read_bytes() != BAGIT_TXT:
        report.fail("bagit.txt: not 'BagIt-Version: 1.0' with UTF-8 tag files")
    payload = {f for f in files if f.startswith("data/")}
    for algorithm in ALGORITHMS:
        name = f"manifest-{algorithm}.txt"
        entries = _manifest(root, name, algorithm, report)
        if entries is None:
            continue
        for listed, digest in sorted(entries.items()):
            if not listed.startswith("data/"):
                report.fail(f"{name}: {listed} is not a payload path")
            elif listed not in files:
                report.fail(f"{listed}: listed in {name} but missing (a removed or renamed "
                            "file)")
            elif digest_of(listed)[algorithm] != digest:
                report.fail(f"{listed}: {algorithm.upper()} differs from {name} (the file was "
                            "changed)")
        for extra in sorted(payload - set(entries)):
            report.fail(f"{extra}: not in {name} (an added or renamed file)")
    report.count("payload files", len(payload))
    tag_files = files - payload
    unlisted_allowed = {"tagmanifest-sha256.txt", "tagmanifest-sha512.txt", SIGNATURE_FILE,
                        TIMESTAMP_FILE}
    for algorithm in ALGORITHMS:
        name = f"tagmanifest-{algorithm}.txt"
        entries = _manifest(root, name, algorithm, report)
        if entries is None:
            continue
        for listed, digest in sorted(entries.items()):
            if listed.startswith("data/") or listed in unlisted_allowed:
                report.fail(f"{name}: {listed} is not a tag file it may list")
            elif listed not in files:
                report.fail(f"{listed}: listed in {name} but missing")
            elif digest_of(listed)[algorithm] != digest:
                report.fail(f"{listed}: {algorithm.upper()} differs from {name} (the tag file "
                            "was changed)")
        for required in ("bagit.txt", "bag-info.txt", "manifest-sha256.txt",
                         "manifest-sha512.txt"):
            if required not in entries:
                report.fail(f"{name}: does not list {required}")
        for extra in sorted(tag_files - set(entries) - unlisted_allowed):
            report.fail(f"{extra}: a tag file not in {name} (an added file)")
    _oxum(root, payload, report)
    return digests


def _oxum(root: Path, payload: set[str], report: Report) -> None:
    try:
        info = (root / "bag-info.txt").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        report.fail("bag-info.txt: missing or not UTF-8")
        return
    oxum = [line.split(":", 1)[1].strip() for line in info.splitlines()
            if line.lower().startswith("payload-oxum:")]
    actual = f"{sum((root / p).stat().st_size for p in payload)}.{len(payload)}"
    if oxum != [actual]:
        report.fail(f"bag-info.txt: Payload-Oxum {oxum} is not the payload's {actual}")


def _json(root: Path, name: str, report: Report) -> Any:
    try:
        return json.loads((root / name).read_bytes())
    except FileNotFoundError:
        report.fail(f"{name}: missing")
    except (ValueError, OSError) as error:
        report.fail(f"{name}: not JSON ({error})")
    return None


def _trust_key(root: Path, pinned: Ed25519PublicKey | None, report: Report
               ) -> Ed25519PublicKey | None:
    name = f"data/{KEY_FILE}"
    carried = None
    try:
        text = (root / name).read_text(encoding="ascii")
        carried = load_public_pem(text)
        if not pem_exact(carried, text):
            report.fail(f"{name}: not the key as written")
    except FileNotFoundError:
        report.fail(f"{name}: missing")
    except (ValueError, UnicodeDecodeError) as error:
        report.fail(f"{name}: not an Ed25519 public key ({error})")
    if pinned is not None:
        if carried is not None and not same_key(pinned, carried):
            report.fail(f"{name}: not the trusted archive key given (another platform's, or "
                        "a re-sealed archive)")
        return pinned
    return carried


def _seal(root: Path, key: Ed25519PublicKey, digests: dict[str, dict[str, str]],
          report: Report) -> dict[str, Any] | None:
    published = _json(root, SIGNATURE_FILE, report)
    if published is None:
        return None
    document, why = verify_seal(key, published)
    if document is None:
        report.fail(f"{SIGNATURE_FILE}: {why}")
        return None
    for algorithm in ALGORITHMS:
        name = f"tagmanifest-{algorithm}.txt"
        if not (root / name).is_file():
            continue
        actual = digests.get(name) or _digests(root / name)
        if actual[algorithm] != document[f"tagmanifest_{algorithm}"]:
            report.fail(f"{name}: not the tag manifest the seal signs (it was changed)")
    report.archive_sha256 = document["tagmanifest_sha256"]
    report.count("seal")
    return document


def _event_lines(root: Path, report: Report) -> Iterator[tuple[int, bytes]]:
    path = root / "data" / EVENTS_FILE
    try:
        source = path.open("rb")
    except FileNotFoundError:
        report.fail(f"data/{EVENTS_FILE}: missing")
        return
    with source:
        yield from enumerate(source, start=1)


def _event(number: int, line: bytes, report: Report) -> dict[str, Any] | None:
    where = f"data/{EVENTS_FILE} line {number}"
    try:
        event = json.loads(line)
    except ValueError:
        report.fail(f"{where}: not JSON")
        return None
    if not isinstance(event, dict) or sorted(event) != sorted(EVENT_FIELDS):
        report.fail(f"{where}: not an event's stored fields")
        return None
    if canonical_json(event) + b"\n" != line:
        report.fail(f"{where}: not the event's canonical JSON (the line was edited)")
    try:
        occurred = parse_instant(event["occurred_at"])
        material = event_hash_material(**{k: event[k] for k in EVENT_FIELDS
                                          if k not in ("hash", "occurred_at")},
                                       occurred_at=occurred)
    except (TypeError, ValueError) as error:
        report.fail(f"{where}: malformed event ({error})")
        return None
    if hashlib.sha256(material).hexdigest() != event["hash"]:
        report.fail(f"{where} (event {event['seq']}): its hash does not recompute from its "
                    "fields (the event was edited)")
    return event


#: Events whose payload carries an expert's signature, checked against the archived files.
SIGNED_EVENTS = ("evaluation.score_sheet_submitted", "evaluation.report_signed",
                 "opening.record_confirmed")


def _log(root: Path, key: Ed25519PublicKey, report: Report,
         signed: list[dict[str, Any]]) -> TreeHead | None:
    """Checks the log; appends to ``signed`` the events of :data:`SIGNED_EVENTS`."""
    head = None
    published = _json(root, f"data/{TREE_HEAD_FILE}", report)
    if published is not None:
        head = verify_tree_head(key, published)
        if head is None:
            report.fail(f"data/{TREE_HEAD_FILE}: not a tree head signed by the archive key "
                        "(another log's, or edited)")
    proofs: dict[int, dict[str, Any]] = {}
    try:
        with (root / "data" / PROOFS_FILE).open("rb") as source:
            for number, line in enumerate(source, start=1):
                try:
                    proof = json.loads(line)
                    proofs.setdefault(int(proof["seq"]), proof)
                except (ValueError, KeyError, TypeError):
                    report.fail(f"data/{PROOFS_FILE} line {number}: not an inclusion proof")
    except FileNotFoundError:
        report.fail(f"data/{PROOFS_FILE}: missing")
    previous: dict[str, Any] | None = None
    seen: set[int] = set()
    count = 0
    for number, line in _event_lines(root, report):
        event = _event(number, line, report)
        if event is None:
            continue
        count += 1
        seq = event["seq"]
        if not isinstance(seq, int) or seq < 1:
            report.fail(f"data/{EVENTS_FILE} line {number}: no sequence number")
            continue
        if previous is not None:
            if seq <= previous["seq"]:
                report.fail(f"event {seq}: out of order (after event {previous['seq']})")
            elif seq == previous["seq"] + 1 and event["prev_hash"] != previous["hash"]:
                report.fail(f"event {seq}: does not follow event {previous['seq']} in the chain")
            if event["project_id"] != previous["project_id"]:
                report.fail(f"event {seq}: of another project")
        elif seq == 1 and event["prev_hash"] != GENESIS_HASH:
            report.fail("event 1: does not start the chain")
        previous = event
        seen.add(seq)
        if event["type"] in SIGNED_EVENTS:
            signed.append(event)
        proof = proofs.get(seq)
        if proof is None:
            report.fail(f"event {seq}: has no inclusion proof")
            continue
        if head is None:
            continue
        if not _proof_holds(proof, event, head):
            report.fail(f"event {seq}: its inclusion proof does not verify against the tree "
                        f"head (size {head.tree_size})")
        else:
            report.count("inclusion proofs")
    for seq in sorted(set(proofs) - seen):
        report.fail(f"event {seq}: has an inclusion proof but is not in data/{EVENTS_FILE} "
                    "(a removed event)")
    report.count("events", count)
    metadata = _json(root, f"data/{METADATA_FILE}", report)
    if isinstance(metadata, dict):
        log = metadata.get("log") or {}
        if log.get("events") != count:
            report.fail(f"data/{METADATA_FILE}: names {log.get('events')} events, "
                        f"data/{EVENTS_FILE} holds {count} (an event was removed or added)")
        if head is not None and (log.get("tree_size") != head.tree_size
                                 or log.get("root_hash") != head.root_hash.hex()):
            report.fail(f"data/{METADATA_FILE}: names another tree head than "
                        f"data/{TREE_HEAD_FILE}")
    return head


def _proof_holds(proof: dict[str, Any], event: dict[str, Any], head: TreeHead) -> bool:
    path = proof.get("inclusion_path")
    if (proof.get("tree_size") != head.tree_size or proof.get("leaf_index") != event["seq"] - 1
            or not isinstance(path, list) or not all(
                isinstance(p, str) and _HEX64.match(p) for p in path)
            or not isinstance(event["hash"], str) or not _HEX64.match(event["hash"])):
        return False
    leaf = merkle.leaf_hash(bytes.fromhex(event["hash"]))
    return merkle.verify_inclusion(leaf, event["seq"] - 1, head.tree_size,
                                   [bytes.fromhex(p) for p in path], head.root_hash)


def _index(root: Path, files: set[str], digests: dict[str, dict[str, str]],
           report: Report) -> list[dict[str, Any]]:
    index = _json(root, f"data/{INDEX_FILE}", report)
    entries = index.get("files") if isinstance(index, dict) else None
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        if index is not None:
            report.fail(f"data/{INDEX_FILE}: not an archive index")
        return []
    listed = {e.get("path"): e for e in entries}
    payload = {f for f in files if f.startswith("data/")} - {f"data/{INDEX_FILE}"}
    for missing in sorted(payload - set(listed)):
        report.fail(f"{missing}: not in the index (an added or renamed file)")
    for path, entry in listed.items():
        if path not in payload:
            report.fail(f"data/{INDEX_FILE}: names {path}, which is not in the archive (a "
                        "removed or renamed file)")
        elif path in digests and entry.get("sha256") != digests[path]["sha256"]:
            report.fail(f"{path}: not the file the index names (a swapped or changed file)")
    report.count("index entries", len(entries))
    return entries


def _signed_records(root: Path, entries: list[dict[str, Any]], report: Report) -> None:
    try:
        platform = load_public_pem((root / "data" / RECEIPT_KEY_FILE).read_bytes())
    except (OSError, ValueError):
        if any(e.get("kind") == "bid_receipt" for e in entries):
            report.fail(f"data/{RECEIPT_KEY_FILE}: missing or not a key: receipts and notices "
                        "cannot be checked")
        return
    for entry in entries:
        path, kind = entry.get("path"), entry.get("kind")
        if not isinstance(path, str) or not isinstance(kind, str) or not (root / path).is_file():
            continue
        if kind == "bid_receipt":
            genuine, why = verify_receipt_file((root / path).read_bytes(), platform)
            if genuine:
                report.count("receipts")
            else:
                report.fail(f"{path}: the bid receipt is not genuine ({why})")
        elif kind.startswith("award_notice.") and path.endswith(".json"):
            signature_path = root / path.replace(".json", ".signature.json")
            try:
                signature = json.loads(signature_path.read_bytes())["signature"]
            except (OSError, ValueError, KeyError, TypeError):
                report.fail(f"{path}: its signature file is missing or malformed")
                continue
            genuine, why = verify_notice((root / path).read_bytes(), str(signature), platform)
            if genuine:
                report.count("notices")
            else:
                report.fail(f"{path}: the notice is not genuine ({why})")


def _payload(event: dict[str, Any]) -> dict[str, Any]:
    try:
        value = json.loads(event["payload"])
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _expert_signatures(root: Path, entries: list[dict[str, Any]],
                       signed: list[dict[str, Any]], report: Report) -> None:
    """Each expert's score sheet and report signature: the archived file is the one the log's
    event names (the event is proved in the log), and the signature in that event, by the
    signing key it names, holds over the file's bytes (ECDSA P-256, r ‖ s base64url, as the
    platform checked when it took it)."""
    sheets = {p.get("sha256"): (e, p) for e in signed
              if e["type"] == SIGNED_EVENTS[0] for p in [_payload(e)]}
    bodies: dict[str, bytes] = {}
    for entry in entries:
        path, kind = entry.get("path"), entry.get("kind")
        if not isinstance(path, str) or not (root / path).is_file():
            continue
        if kind == "score_sheet":
            data = (root / path).read_bytes()
            found = sheets.pop(hashlib.sha256(data).hexdigest(), None)
            if found is None:
                report.fail(f"{path}: no score sheet the log names (an edited or added sheet)")
            elif found[1].get("document") != data.decode("utf-8", "replace") or not \
                    confirmation.verify(str(found[1].get("public_key")), data,
                                        str(found[1].get("signature"))):
                report.fail(f"{path}: the expert's signature does not hold over the sheet")
            else:
                report.count("expert score sheets")
        elif kind == "evaluation_report_body":
            data = (root / path).read_bytes()
            bodies[hashlib.sha256(data).hexdigest()] = data
    for event, _payload_of in sheets.values():
        report.fail(f"event {event['seq']}: names a score sheet the archive does not hold")
    for event in (e for e in signed if e["type"] == SIGNED_EVENTS[1]):
        payload = _payload(event)
        body = bodies.get(str(payload.get("sha256")))
        if body is None:
            report.fail(f"event {event['seq']}: names an evaluation report body the archive "
                        "does not hold")
            continue
        try:
            message = signing_message(json.loads(body), f"seat-{payload.get('seat')}")
        except (ValueError, KeyError, TypeError):
            report.fail(f"event {event['seq']}: the report body it names is malformed")
            continue
        if (payload.get("message") != message.decode() or not confirmation.verify(
                str(payload.get("public_key")), message, str(payload.get("signature")))):
            report.fail(f"event {event['seq']}: the expert's report signature does not hold "
                        "over the archived report")
        else:
            report.count("expert report signatures")


def _opening_confirmations(root: Path, entries: list[dict[str, Any]],
                           signed: list[dict[str, Any]], report: Report) -> None:
    """Each bidder's confirmation of an opening record (开标记录确认): the final record lists
    it with what was signed; the signed message is the one ``tradesys.opening.confirmation``
    builds from the record's section, the draft's SHA-256 and the bidder's credit code; the
    draft it confirms is in the archive with that hash; the signature holds under the key it
    names; and the log holds the event that took it (same key, same signature)."""
    taken = {(p.get("record_sha256"), p.get("public_key"), p.get("signature"))
             for e in signed if e["type"] == "opening.record_confirmed" for p in [_payload(e)]}
    drafts = {e.get("sha256") for e in entries if e.get("kind") == "opening_record_draft"}
    for entry in entries:
        path = entry.get("path")
        if entry.get("kind") != "opening_record" or not isinstance(path, str):
            continue
        try:
            record = json.loads((root / path).read_bytes())
            section_code = record["section"]["code"]
            items = record.get("confirmations") or []
            if not isinstance(items, list):
                raise TypeError("confirmations")
        except (OSError, ValueError, KeyError, TypeError):
            report.fail(f"{path}: not an opening record")
            continue
        for number, item in enumerate(items, start=1):
            where = f"{path}: confirmation {number}"
            if not isinstance(item, dict):
                report.fail(f"{where}: malformed")
                continue
            sha, credit = item.get("record_sha256"), item.get("credit_code")
            message = confirmation.message(str(section_code), str(sha), str(credit))
            if item.get("signed") != json.loads(message):
                report.fail(f"{where}: what it says was signed is not the confirmation of "
                            "this record by this bidder")
            elif sha != record.get("draft_sha256") or sha not in drafts:
                report.fail(f"{where}: confirms a record the archive does not hold as this "
                            "record's draft")
            elif not confirmation.verify(str(item.get("public_key")), message,
                                         str(item.get("signature"))):
                report.fail(f"{where}: the bidder's signature does not hold")
            elif (sha, item.get("public_key"), item.get("signature")) not in taken:
                report.fail(f"{where}: the log holds no such confirmation")
            else:
                report.count("opening record confirmations")


def _later(head: TreeHead | None, key: Ed25519PublicKey, later: Any, consistency: Any,
           report: Report) -> None:
    given = verify_tree_head(key, later)
    if given is None:
        report.fail("--tree-head: not a tree head signed by the archive key (another log's, "
                    "or edited)")
        return
    if head is None:
        return
    if given.platform_code != head.platform_code:
        report.fail("--tree-head: of another platform")
    if given.tree_size < head.tree_size:
        report.fail(f"--tree-head: size {given.tree_size} is older than the archive's head "
                    f"({head.tree_size})")
        return
    if given.tree_size == head.tree_size:
        if given.root_hash != head.root_hash:
            report.fail("--tree-head: the same size as the archive's head with another root "
                        "(a forked log)")
        else:
            report.count("consistency")
        return
    if consistency is None:
        report.fail(f"--tree-head: a consistency proof is needed (--consistency, from GET "
                    f"/api/v1/log/consistency?from={head.tree_size}&to={given.tree_size})")
        return
    path = consistency.get("consistency_path") if isinstance(consistency, dict) else None
    if (not isinstance(consistency, dict) or consistency.get("first") != head.tree_size
            or consistency.get("second") != given.tree_size or not isinstance(path, list)
            or not all(isinstance(p, str) and _HEX64.match(p) for p in path)):
        report.fail(f"--consistency: not a consistency proof from {head.tree_size} to "
                    f"{given.tree_size}")
        return
    if not merkle.verify_consistency(head.tree_size, given.tree_size, head.root_hash,
                                     given.root_hash, [bytes.fromhex(p) for p in path]):
        report.fail("--consistency: the later log does not extend the archive's (the proof "
                    "fails)")
    else:
        report.count("consistency")


def verify_archive(path: Path, *, key: Ed25519PublicKey | None = None,
                   later_head: Any = None, consistency: Any = None,
                   checks: PkiChecks | None = None,
                   trust_roots: list[x509.Certificate] | None = None) -> Report:
    """Every check of the module's docstring; the report names each failure. ``checks``
    validates time stamps and contract signatures (archive/verify_pki.py); ``trust_roots``
    pins their roots instead of the archive's own."""
    report = Report()
    root = Path(path)
    if not root.is_dir():
        report.fail(f"{root}: not a folder")
        return report
    files = _walk(root, report)
    digests = _bag(root, files, report)
    trusted = _trust_key(root, key, report)
    head = None
    signed: list[dict[str, Any]] = []
    if trusted is not None:
        _seal(root, trusted, digests, report)
        head = _log(root, trusted, report, signed)
        if later_head is not None:
            _later(head, trusted, later_head, consistency, report)
    entries = _index(root, files, digests, report)
    _signed_records(root, entries, report)
    _expert_signatures(root, entries, signed, report)
    _opening_confirmations(root, entries, signed, report)
    # On a thread of its own: the PKI checks run pyHanko's coroutines on an event loop of their
    # own, which a caller already inside one (an async test, a server) could not host.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(check_pki, root, entries, checks, trust_roots, report).result()
    return report
