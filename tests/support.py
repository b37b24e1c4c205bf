"""What many tests share: the seeded parties, request helpers, and "nothing changed" checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from tradesys.bids.keys import PrivateKey
from tradesys.schema import metadata
from tradesys.services import Services

#: The frozen start of every test's server clock: Monday 2 March 2026, 09:00 in Beijing.
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


@dataclass
class Party:
    key: str
    role: str
    username: str
    password: str
    org_id: int = 0
    user_id: int = 0
    credit_code: str = ""
    token: str = ""
    #: The encryption key pair registered for this party (holder or bidder), if any.
    private_key: PrivateKey | None = None

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Seed:
    parties: dict[str, Party] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Party:
        try:
            return self.parties[name]
        except KeyError:
            raise AttributeError(name) from None


async def table_counts(services: Services) -> dict[str, int]:
    """Row counts of every table: equal before and after a refused request."""
    counts = {}
    async with services.db.reading() as session:
        for table in metadata.sorted_tables:
            counts[table.name] = (
                await session.execute(select(func.count()).select_from(table))
            ).scalar_one()
    return counts


def section_in(name: str = "施工", **extra: Any) -> dict[str, Any]:
    return {"name": name, "content": f"{name}内容", "budget": "1000000.00",
            "ceiling_price": "950000.00", "bid_security": "10000.00", **extra}


def project_body(procurer: Party, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "测试教学楼工程",
        "trade_type": "works",
        "category": "works",
        "procedure": "open",
        "region_code": "350100",
        "content": "新建教学楼",
        "owner_name": "测试学校",
        "procurer_credit_code": procurer.credit_code,
        "sections": [section_in("施工"), section_in("监理")],
    }
    body.update(overrides)
    return body


def key_times(now: datetime, *, deadline_days: float = 21, doc_days: float = 7,
              questions_days: float = 10) -> dict[str, str]:
    return {
        "doc_start": now.isoformat(),
        "doc_end": (now + timedelta(days=doc_days)).isoformat(),
        "clarification_deadline": (now + timedelta(days=questions_days)).isoformat(),
        "bid_deadline": (now + timedelta(days=deadline_days)).isoformat(),
    }


#: Who holds the opening key shares in the usual flow: the host, the owner, a supervisor.
HOLDER_KEYS = ("agency", "procurer", "supervisor")


def holders(seed: Seed) -> list[int]:
    return [seed.parties[key].user_id for key in HOLDER_KEYS]


def announce_body(now: datetime, seed: Seed, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"title": "测试招标公告", "content": "欢迎投标", **key_times(now),
                            "opening_key_holders": holders(seed)}
    body.update(overrides)
    return body


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]


async def grant_supervisor(client: httpx.AsyncClient, seed: Seed, project_id: int,
                           supervisor: Party | None = None) -> None:
    """The admin lets the seeded supervisor's department see the project: a supervisor sees
    only the projects it was granted (tradesys/procurement/supervisors.py)."""
    supervisor = supervisor or seed.supervisor
    response = await client.post(f"/api/v1/projects/{project_id}/supervisors",
                                 headers=seed.admin.auth, json={"org_id": supervisor.org_id})
    assert response.status_code == 201, response.text


class Flow:
    """Drives the usual steps so a test can start from the state it is about."""

    def __init__(self, client: httpx.AsyncClient, seed: Seed, now: datetime) -> None:
        self.client = client
        self.seed = seed
        self.now = now

    async def register(self, by: Party | None = None, *, supervised: bool = True,
                       **overrides: Any) -> dict[str, Any]:
        """Register a project; ``supervised``: the seeded supervisor's department is granted it,
        as the admin would."""
        by = by or self.seed.agency
        response = await self.client.post("/api/v1/projects", headers=by.auth,
                                          json=project_body(self.seed.procurer, **overrides))
        assert response.status_code == 201, response.text
        project: dict[str, Any] = response.json()
        if supervised:
            await grant_supervisor(self.client, self.seed, project["id"])
        return project

    async def upload(self, project_id: int, data: bytes = b"tender documents v1",
                     by: Party | None = None) -> dict[str, Any]:
        by = by or self.seed.agency
        response = await self.client.post(
            f"/api/v1/projects/{project_id}/documents", params={"filename": "招标文件.pdf"},
            headers={**by.auth, "Content-Type": "application/pdf"}, content=data)
        assert response.status_code == 201, response.text
        document: dict[str, Any] = response.json()
        return document

    async def announced(self, **announce: Any) -> dict[str, Any]:
        project = await self.register()
        await self.upload(project["id"])
        response = await self.client.post(
            f"/api/v1/projects/{project['id']}/announce", headers=self.seed.agency.auth,
            json=announce_body(self.now, self.seed, **announce))
        assert response.status_code == 201, response.text
        project["notice"] = response.json()
        return project
