"""Archive retrieval through HTTP, on both back ends (docs/archive.md "Retrieval"): the search by
project code, party credit code and build date (Beijing days), paged; one version's metadata;
one listed file; the whole bag as a tar stream that extracts to a bag the ``bagit`` package
validates fully and that equals the stored bag file by file. The owner, the host, a granted
supervisor and the admin read; everyone else (another procurer or agency, a bidder of the
project, an expert, a supervisor whose grant was taken back) gets the same 404 as an id that
names nothing. Paths that are not listed in the bag's manifests — ``..``, absolute, encoded,
the seal and the tag manifests, planted files, a listed file replaced by a link — are refused.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import tracemalloc
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import bagit
import httpx
from sqlalchemy import select
from starlette.applications import Starlette

from archive.builder import Built, build_archive
from archive.models import ArchiveVersion
from archive.retrieval import beijing_days, tar_length, tar_stream
from archive.verify import verify_archive
from contracts.timestamps import PkiEvidenceChecks
from tests.archive.conftest import config_of, failed_project
from tests.evaluation.conftest import Pool, pool  # noqa: F401  (the fixture)
from tests.support import Flow, Party, Seed
from tradesys.api.routes.archives import _attachment
from tradesys.app import create_app
from tradesys.clock import DISPLAY_TZ, AdjustableClock
from tradesys.demo.server import InProcessServer
from tradesys.identity.credit_code import make_credit_code
from tradesys.services import Services
from tradesys.settings import Settings


async def archived(client: httpx.AsyncClient, flow: Flow, seed: Seed, services: Services,
                   pool: Pool, clock: AdjustableClock, app: Starlette  # noqa: F811
                   ) -> tuple[int, Built, Built]:
    """A failed tender archived twice: version 1 at 00:30 Beijing time (still the previous
    day in UTC) two days after the project ended, version 2 one day later."""
    ended = await failed_project(client, flow, seed, clock, app, pool)
    day = clock.now().date() + timedelta(days=2)
    clock.set(datetime.combine(day, time(16, 30), UTC))
    config = config_of(services)
    first = await build_archive(services.db, clock, config, ended.project_id)
    clock.advance(timedelta(days=1))
    second = await build_archive(services.db, clock, config, ended.project_id)
    return ended.project_id, first, second


async def ids(client: httpx.AsyncClient, party: Party, query: str = "") -> list[int]:
    response = await client.get(f"/api/v1/archives{query}", headers=party.auth)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def row_ids(services: Services) -> tuple[int, int]:
    async with services.db.reading() as session:
        rows = (await session.execute(select(ArchiveVersion.id).order_by(
            ArchiveVersion.version))).scalars().all()
    return rows[0], rows[1]


def stored_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


async def test_readers_read_the_metadata_a_file_and_the_whole_bag_others_get_404(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, services: Services, pool: Pool,  # noqa: F811
        clock: AdjustableClock, app: Starlette, tmp_path: Path, settings: Settings) -> None:
    project_id, first, second = await archived(client, flow, seed, services, pool, clock, app)
    v1, v2 = await row_ids(services)
    base = f"/api/v1/archives/{v1}"
    code = json.loads((first.path / "data/archive.json").read_bytes())["project"]["code"]

    # The metadata: the row, the retention and every index entry, in Chinese.
    readers = [seed.procurer, seed.agency, seed.supervisor, seed.admin]
    index = json.loads((first.path / "data/index.json").read_bytes())["files"]
    for party in readers:
        response = await client.get(base, headers=party.auth)
        assert response.status_code == 200, (party.key, response.text)
        body = response.json()
        assert body["id"] == v1 and body["version"] == 1 and body["sha256"] == first.sha256
        assert body["project"] == {"id": project_id, "code": code,
                                   "name": body["project"]["name"]}
        assert body["built_at"].startswith(f"{clock.now().date() - timedelta(days=1)}T16:30")
        assert body["retention"]["category"] == "10y"
        assert body["files"] == [{key: entry[key] for key in (
            "path", "kind", "title", "date", "section", "size", "sha256", "original_name")}
            for entry in index]
        assert any(entry["title"] == "档案著录信息" for entry in body["files"])
    second_body = (await client.get(f"/api/v1/archives/{v2}", headers=seed.admin.auth)).json()
    assert second_body["previous_sha256"] == first.sha256 == second.previous_sha256

    # Everyone else: the same 404 as an id that names nothing, on every endpoint.
    outsiders = [seed.procurer2, seed.agency2, seed.bidder1, seed.expert]
    nothing = {"code": "archive_not_found", "message": "档案不存在 (no such archive)"}
    for path in ("", "/files/data/index.json", "/download"):
        for party in outsiders:
            response = await client.get(base + path, headers=party.auth)
            assert response.status_code == 404, (party.key, path, response.text)
            assert response.json()["error"] == nothing
        for missing in (999999, 0, 2**31, 10**30):
            response = await client.get(f"/api/v1/archives/{missing}{path}",
                                        headers=seed.admin.auth)
            assert response.status_code == 404 and response.json()["error"] == nothing
        assert (await client.get(base + path)).status_code == 401

    # One listed file: as stored, its manifest SHA-256 as the ETag, saved and never rendered.
    for path in ("data/index.json", "data/log/events.jsonl", "bagit.txt", "bag-info.txt",
                 "manifest-sha256.txt", "manifest-sha512.txt"):
        response = await client.get(f"{base}/files/{path}", headers=seed.supervisor.auth)
        assert response.status_code == 200, (path, response.text)
        data = (first.path / path).read_bytes()
        assert response.content == data
        assert response.headers["content-type"] == "application/octet-stream"
        assert response.headers["content-length"] == str(len(data))
        assert response.headers["x-content-type-options"] == "nosniff"
        name = path.rsplit("/", 1)[-1]
        assert response.headers["content-disposition"] == (
            f"attachment; filename=\"{name}\"; filename*=UTF-8''{name}")
        if path.startswith("data/"):
            assert response.headers["etag"] == f'"{hashlib.sha256(data).hexdigest()}"'
    envelope = next(e["path"] for e in index if e["kind"] == "bid_envelope")
    response = await client.get(f"{base}/files/{envelope}", headers=seed.procurer.auth)
    assert response.content == (first.path / envelope).read_bytes()

    # Only what the manifests list: traversal, absolute, encoded, unlisted tag files, folders.
    (first.path / "data/planted.txt").write_text("not in the manifest")
    (tmp_path / "secret.txt").write_text("outside the bag")
    refused = [
        "data/%2E%2E/bagit.txt", "data/%2e%2e/%2e%2e/%2e%2e/secret.txt", "..%2F..%2Fsecret.txt",
        "%2E%2E/v2/bagit.txt", "/etc/passwd", "%2Fetc%2Fpasswd", f"{tmp_path}/secret.txt",
        "data%2Findex.json%00", "data%5Cindex.json", "%2E/data/index.json", "data//index.json",
        "data/%2E/index.json", "DATA/index.json", "data/index.json/", "data/index.json%20",
        "%20data/index.json", "tagmanifest-sha256.txt", "tagmanifest-sha512.txt",
        "archive-signature.json", "data/planted.txt", "data", "data/", "data/log", "",
        "data/%E6%A1%A3%E6%A1%88.json", "x" * 5000, "data/%FF.json", "%C0%AE%C0%AE/bagit.txt",
    ]
    for path in refused:
        response = await client.get(f"{base}/files/{path}", headers=seed.admin.auth)
        assert response.status_code == 404, (path, response.status_code, response.text)
        assert response.json()["error"]["code"] == "archive_file_not_found", path
    # A listed file replaced by a link to a file outside the bag is not served.
    listed = first.path / "data/project/registration.json"
    kept = listed.read_bytes()
    listed.unlink()
    listed.symlink_to(tmp_path / "secret.txt")
    response = await client.get(f"{base}/files/data/project/registration.json",
                                headers=seed.admin.auth)
    assert response.status_code in (404, 503) and b"outside the bag" not in response.content
    assert response.json()["error"]["code"] in ("archive_file_not_found", "archive_damaged")
    listed.unlink()
    listed.write_bytes(kept)
    (first.path / "data/planted.txt").unlink()

    # The whole bag, as a tar stream: it extracts to a bag that validates fully, equal to the
    # stored one file by file; the offline verifier accepts it.
    for party in readers:
        response = await client.get(f"{base}/download", headers=party.auth)
        assert response.status_code == 200, (party.key, response.text)
        assert response.headers["content-type"] == "application/x-tar"
        assert response.headers["content-disposition"] == (
            f"attachment; filename=\"{code}-v1.tar\"; filename*=UTF-8''{code}-v1.tar")
        assert response.headers["etag"] == f'"{first.sha256}"'
        assert response.headers["content-length"] == str(len(response.content))
        assert len(response.content) % tarfile.RECORDSIZE == 0
    head = await client.head(f"{base}/download", headers=seed.admin.auth)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(response.content))
    head = await client.head(f"{base}/files/data/index.json", headers=seed.admin.auth)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len((first.path / "data/index.json")
                                                     .read_bytes()))
    target = tmp_path / "extracted"
    with tarfile.open(fileobj=io.BytesIO(response.content), mode="r:") as tar:
        names = tar.getnames()
        assert all(n == f"{code}-v1" or n.startswith(f"{code}-v1/") for n in names)
        tar.extractall(target, filter="data")
    extracted = target / f"{code}-v1"
    bag = bagit.Bag(str(extracted))
    assert bag.version_info == (1, 0)
    bag.validate(fast=False)
    assert stored_files(extracted) == stored_files(first.path)
    assert verify_archive(extracted, checks=PkiEvidenceChecks()).ok
    # The same bag always streams the same bytes.
    again = await client.get(f"{base}/download", headers=seed.admin.auth)
    assert again.content == response.content
    second_tar = await client.get(f"/api/v1/archives/{v2}/download", headers=seed.admin.auth)
    with tarfile.open(fileobj=io.BytesIO(second_tar.content), mode="r:") as tar:
        tar.extractall(tmp_path / "second", filter="data")
    assert stored_files(tmp_path / "second" / f"{code}-v2") == stored_files(second.path)

    # Through a real server (uvicorn over a socket): streamed in many chunks of the declared
    # length; a client that hangs up half-way leaves the server serving.
    with InProcessServer(create_app(settings, clock=clock, run_scheduler=False)) as server:
        async with httpx.AsyncClient(base_url=server.url, headers=seed.admin.auth,
                                     timeout=60) as http:
            digest, chunks = hashlib.sha256(), 0
            async with http.stream("GET", f"{base}/download") as streamed:
                assert streamed.status_code == 200
                assert streamed.headers["content-length"] == str(len(response.content))
                assert "transfer-encoding" not in streamed.headers
                async for chunk in streamed.aiter_raw():
                    digest.update(chunk)
                    chunks += 1
            assert digest.hexdigest() == hashlib.sha256(response.content).hexdigest()
            assert chunks > 1
            async with http.stream("GET", f"{base}/download") as cut:
                await anext(cut.aiter_raw(1024))
            assert (await http.get(base)).status_code == 200

    # A supervisor whose grant is taken back reads nothing more.
    revoked = await client.delete(f"/api/v1/projects/{project_id}/supervisors/"
                                  f"{seed.supervisor.org_id}", headers=seed.admin.auth)
    assert revoked.status_code in (200, 204), revoked.text
    for path in ("", "/files/data/index.json", "/download"):
        response = await client.get(base + path, headers=seed.supervisor.auth)
        assert response.status_code == 404 and response.json()["error"] == nothing
    assert await ids(client, seed.supervisor) == []

    # A stored bag that lost its files is a 503 naming it, never a 500.
    (first.path / "data/index.json").rename(tmp_path / "index.json")
    response = await client.get(base, headers=seed.admin.auth)
    assert response.status_code == 503 and response.json()["error"]["code"] == "archive_damaged"
    response = await client.get(f"{base}/files/data/index.json", headers=seed.admin.auth)
    assert response.status_code == 503 and response.json()["error"]["code"] == "archive_damaged"
    for broken in (b"{", b'{"files": 1}', b'{"files": [{"size": "big"}]}', b"[]"):
        (first.path / "data/index.json").write_bytes(broken)
        response = await client.get(base, headers=seed.admin.auth)
        assert response.status_code == 503, (broken, response.text)
        assert response.json()["error"]["code"] == "archive_damaged"


async def test_the_search_by_code_party_and_date_paged_and_its_bad_parameters(
        client: httpx.AsyncClient, flow: Flow, seed: Seed, services: Services, pool: Pool,  # noqa: F811
        clock: AdjustableClock, app: Starlette) -> None:
    _project_id, first, second = await archived(client, flow, seed, services, pool, clock, app)
    v1, v2 = await row_ids(services)
    metadata = json.loads((first.path / "data/archive.json").read_bytes())
    code = metadata["project"]["code"]
    both = [v2, v1]  # newest first

    # Who sees which: the readers see both versions, everyone else an empty list.
    for party in (seed.procurer, seed.agency, seed.supervisor, seed.admin):
        assert await ids(client, party) == both, party.key
    for party in (seed.procurer2, seed.agency2, seed.bidder1, seed.expert):
        assert await ids(client, party) == [], party.key
    assert (await client.get("/api/v1/archives")).status_code == 401
    listed = (await client.get("/api/v1/archives", headers=seed.agency.auth)).json()["items"]
    assert listed[1] == {"id": v1, "project": listed[1]["project"], "version": 1,
                         "built_at": listed[1]["built_at"], "sha256": first.sha256,
                         "previous_sha256": None, "payload_files": first.payload_files,
                         "payload_octets": first.payload_octets,
                         "retention": {"category": "10y", "title": "定期10年"}}
    assert listed[0]["previous_sha256"] == first.sha256 == second.previous_sha256
    assert listed[1]["project"]["code"] == code

    # By project code, exactly.
    assert await ids(client, seed.admin, f"?code={code}") == both
    assert await ids(client, seed.admin, f"?code={code[:-1]}") == []
    assert await ids(client, seed.admin, "?code=E000000000000000") == []

    # By party: every credit code the archive's metadata names finds it (lower case too);
    # an organisation that took no part does not.
    parties = metadata["parties"]
    codes = [parties["procurer"]["credit_code"], parties["agency"]["credit_code"],
             *(b["credit_code"] for b in parties["bidders"])]
    assert len(codes) >= 4 and seed.bidder1.credit_code in codes
    for credit in codes:
        assert await ids(client, seed.admin, f"?credit_code={credit}") == both, credit
    assert await ids(client, seed.admin, f"?credit_code={codes[0].lower()}") == both
    for other in (seed.procurer2, seed.agency2, seed.expert, seed.supervisor):
        assert await ids(client, seed.admin, f"?credit_code={other.credit_code}") == []
    # A credit code no organisation has, well formed: nothing.
    assert await ids(client, seed.admin,
                     f"?credit_code={make_credit_code('91110000MA0000001')}") == []

    # By build date, Beijing days: version 1 was built at 00:30 Beijing time, the day before
    # in UTC; version 2 a day later.
    day1 = first_day(await client.get(f"/api/v1/archives/{v1}", headers=seed.admin.auth))
    day2 = day1 + timedelta(days=1)
    utc_day1 = day1 - timedelta(days=1)
    assert first_day(await client.get(f"/api/v1/archives/{v2}", headers=seed.admin.auth)) == day2
    assert await ids(client, seed.admin, f"?from={day1}") == both
    assert await ids(client, seed.admin, f"?from={day2}") == [v2]
    assert await ids(client, seed.admin, f"?to={day1}") == [v1]
    assert await ids(client, seed.admin, f"?from={day1}&to={day1}") == [v1]
    assert await ids(client, seed.admin, f"?from={day2}&to={day2}") == [v2]
    assert await ids(client, seed.admin, f"?to={utc_day1}") == []  # not the UTC day
    assert await ids(client, seed.admin, f"?from={day2 + timedelta(days=1)}") == []
    assert await ids(client, seed.admin, "?from=0001-01-01&to=9999-12-31") == both
    # Every filter at once, for the owner.
    assert await ids(client, seed.procurer, f"?code={code}&credit_code={codes[2]}"
                     f"&from={day1}&to={day2}") == both

    # Paged, newest first.
    page = (await client.get("/api/v1/archives?limit=1", headers=seed.admin.auth)).json()
    assert [i["id"] for i in page["items"]] == [v2] and page["next_cursor"]
    rest = (await client.get(f"/api/v1/archives?limit=1&cursor={page['next_cursor']}",
                             headers=seed.admin.auth)).json()
    assert [i["id"] for i in rest["items"]] == [v1] and rest["next_cursor"] is None

    # Bad parameters: a 400 naming the parameter, never a 500.
    bad = {
        "code=a%20b": "invalid_code", "code=" + "E" * 41: "invalid_code", "code=": "invalid_code",
        "code=%E9%A1%B9%E7%9B%AE": "invalid_code",
        "credit_code=123": "invalid_credit_code",
        "credit_code=" + codes[0][:-1] + ("0" if codes[0][-1] != "0" else "1"):
            "invalid_credit_code",
        "credit_code=" + "I" * 18: "invalid_credit_code",
        "from=2026-13-01": "invalid_from", "from=2026-02-30": "invalid_from",
        "from=20260301": "invalid_from", "from=2026-3-1": "invalid_from",
        "from=%EF%BC%92%EF%BC%90%EF%BC%92%EF%BC%96-03-01": "invalid_from",
        "from=2026-03-01T00:00:00": "invalid_from", "from=": "invalid_from",
        "to=yesterday": "invalid_to", "to=2026-03-01%00": "invalid_to",
        f"from={day2}&to={day1}": "invalid_range",
        "cursor=%21%21": "invalid_cursor", "cursor=eyJhIjoxfQ": "invalid_cursor",
        "cursor=WyJ4Il0": "invalid_cursor", "limit=0": "invalid_limit",
        "limit=201": "invalid_limit", "limit=abc": "invalid_limit", "limit=-1": "invalid_limit",
    }
    for query, error in bad.items():
        response = await client.get(f"/api/v1/archives?{query}", headers=seed.admin.auth)
        assert response.status_code == 400, (query, response.status_code, response.text)
        assert response.json()["error"]["code"] == error, (query, response.text)


def first_day(response: httpx.Response) -> date:
    """The Beijing calendar day of an archive's build."""
    built = datetime.fromisoformat(response.json()["built_at"])
    return built.astimezone(DISPLAY_TZ).date()


def test_beijing_days_are_utc_instants_with_open_ends() -> None:
    lower, upper = beijing_days(date(2026, 3, 2), date(2026, 3, 2))
    assert lower == datetime(2026, 3, 1, 16, 0, tzinfo=UTC)
    assert upper == datetime(2026, 3, 2, 16, 0, tzinfo=UTC)
    assert beijing_days(None, None) == (None, None)
    assert beijing_days(date.min, date.max) == (None, None)
    # Year 1 in Shanghai is local mean time (+08:05:43), as the zone database says.
    assert beijing_days(date(1, 1, 2), None)[0] == datetime(1, 1, 1, 15, 54, 17, tzinfo=UTC)
    assert beijing_days(None, date(9999, 12, 30))[1] == datetime(9999, 12, 30, 16, 0, tzinfo=UTC)


def test_the_download_name_is_always_a_safe_header() -> None:
    assert _attachment("E1-v1.tar") == ("attachment; filename=\"E1-v1.tar\"; "
                                        "filename*=UTF-8''E1-v1.tar")
    header = _attachment('招标 "文件"\r\n.pdf')
    assert "\r" not in header and "\n" not in header and '"文件"' not in header
    assert header.startswith('attachment; filename="') and header.isascii()


async def test_the_tar_stream_holds_one_chunk_whatever_the_file_size(tmp_path: Path) -> None:
    """48 MiB through the stream with a peak of a few MiB: nothing is read whole."""
    root = tmp_path / "bag"
    (root / "data").mkdir(parents=True)
    big = root / "data" / "big.bin"
    with big.open("wb") as handle:
        for i in range(48):
            handle.write(bytes([i]) * (1024 * 1024))
    (root / "bagit.txt").write_text("BagIt-Version: 1.0\n")
    digest = hashlib.sha256()
    total = 0
    tracemalloc.start()
    try:
        async for chunk in tar_stream(root, "top", datetime(2026, 3, 2, tzinfo=UTC)):
            digest.update(chunk)
            total += len(chunk)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024, peak
    assert total % tarfile.RECORDSIZE == 0 and total > 48 * 1024 * 1024
    assert total == tar_length(root, "top", datetime(2026, 3, 2, tzinfo=UTC))
