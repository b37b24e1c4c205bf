"""``tradesys verify draw`` in a subprocess, on both back ends: it reproduces the logged
committee (exit 0) and names the draw that does not reproduce after an edit (exit 1), including
an edit whose event hash was re-computed to look consistent."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import httpx
from sqlalchemy import select

from tests.evaluation.conftest import Pool
from tests.events.test_chain import _tamper
from tests.support import Seed
from tradesys.evaluation import panel
from tradesys.evaluation.draw import new_seed
from tradesys.events.log import hash_event_row
from tradesys.events.models import Event
from tradesys.identity.principal import Principal
from tradesys.identity.roles import Role
from tradesys.services import Services


async def _cli(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tradesys.cli", "verify", "draw", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def _reveal_event(services: Services, section_id: int, number: int) -> Event:
    async with services.db.reading() as session:
        rows = (await session.execute(select(Event).where(
            Event.aggregate_type == "panel", Event.aggregate_id == str(section_id),
            Event.type == "panel.draw_revealed"))).scalars().all()
    return next(row for row in rows if json.loads(row.payload)["draw"] == number)


async def test_verify_draw_reproduces_and_catches_edits(
        client: httpx.AsyncClient, seed: Seed, services: Services, pool: Pool,
        closed: dict[str, Any], db_url: str) -> None:
    section_id = closed["section_id"]
    code, _, err = await _cli("--database", db_url, "--section", str(section_id))
    assert code == 1 and "no draw is logged" in err
    for reason in (None, "首次抽取专家无法到场"):
        response = await client.post(f"/api/v1/sections/{section_id}/panel",
                                     headers=seed.agency.auth,
                                     json={"size": 5, "specialties": ["A01"],
                                           "representatives": [seed.procurer.user_id],
                                           **({"reason": reason} if reason else {})})
        assert response.status_code == 201, response.text
    code, out, err = await _cli("--database", db_url, "--section", str(section_id))
    assert code == 0, err
    assert out.strip() == f"ok: section {section_id}, 2 draw(s) reproduced"

    # A superuser swaps two members of draw 2 and re-computes the event's hash to match.
    event = await _reveal_event(services, section_id, 2)
    payload = json.loads(event.payload)
    payload["members"] = [payload["members"][1], payload["members"][0], *payload["members"][2:]]
    event.payload = json.dumps(payload, separators=(",", ":"), sort_keys=True,
                               ensure_ascii=False)
    forged_hash = hash_event_row(event)
    # Parameterless SQL on purpose (the tamper helper runs one raw statement); the values are
    # ours: hex digits and JSON made above, quotes doubled.
    quoted = event.payload.replace("'", "''")
    await _tamper(services, f"UPDATE events SET payload = '{quoted}', hash = '{forged_hash}' "
                            f"WHERE seq = {event.seq}")
    code, _, err = await _cli("--database", db_url, "--section", str(section_id))
    assert code == 1
    assert f"section {section_id}, draw 2" in err and "re-running the draw gives" in err

    # A plain edit of draw 1's seed: its hash no longer matches.
    first = await _reveal_event(services, section_id, 1)
    await _tamper(services, "UPDATE events SET payload = replace(payload, '\"seed\":\"', "
                            f"'\"seed\":\"00') WHERE seq = {first.seq}")
    code, _, err = await _cli("--database", db_url, "--section", str(section_id))
    assert code == 1 and "draw 1" in err and "edited" in err


async def test_a_commitment_never_revealed_stays_in_the_log(
        client: httpx.AsyncClient, seed: Seed, services: Services, pool: Pool,
        closed: dict[str, Any], db_url: str) -> None:
    """The process stops between commit and reveal: the commitment stays, the verifier lists it,
    and drawing again needs a reason (docs/evaluation.md §5)."""
    section_id = closed["section_id"]
    agency = Principal(seed.agency.user_id, seed.agency.org_id, "agency", Role.AGENCY)
    async with services.db.transaction() as session:
        await panel._commit_full(session, agency, section_id,
                                 panel.PanelRequest(size=5, specialties=["A01"]),
                                 services.clock.now(), services.rules, new_seed())
    # ... and the seed is gone with the process: no reveal.
    code, out, err = await _cli("--database", db_url, "--section", str(section_id))
    assert code == 0, err
    assert "0 draw(s) reproduced; committed but never revealed: 1" in out
    url = f"/api/v1/sections/{section_id}/panel"
    body = {"size": 5, "specialties": ["A01"]}
    refused = await client.post(url, headers=seed.agency.auth, json=body)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == \
        "redraw_reason_required"
    again = await client.post(url, headers=seed.agency.auth,
                              json={**body, "reason": "上次抽取未揭晓（服务中断）"})
    assert again.status_code == 201, again.text
    assert [(d["number"], d["state"]) for d in again.json()["draws"]] == [
        (1, "abandoned"), (2, "revealed")]
    code, out, err = await _cli("--database", db_url, "--section", str(section_id))
    assert code == 0 and "1 draw(s) reproduced; committed but never revealed: 1" in out
