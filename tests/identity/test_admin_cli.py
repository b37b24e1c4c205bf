"""`tradesys admin create`: the first operator account, usable through the API at once."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import httpx
from sqlalchemy import select

from tests.support import assert_error, table_counts
from tradesys.identity.credit_code import make_credit_code
from tradesys.identity.models import User
from tradesys.services import Services

#: A code with letters, so that its case matters.
CODE = make_credit_code("91350100MA2YQ0K3A")


async def admin_create(db_url: str, tmp_path: Path, password: str, *args: str
                       ) -> tuple[int, str]:
    env = {**os.environ, "TRADESYS_ADMIN_PASSWORD": password,
           "TRADESYS_DATA_DIR": str(tmp_path / "cli-data")}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tradesys.cli", "admin", "create", "--database", db_url, *args,
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, output.decode()


async def test_an_admin_created_on_the_command_line_can_log_in(
    client: httpx.AsyncClient, db_url: str, tmp_path: Path, services: Services
) -> None:
    password = " ops password 1 "  # spaces are part of it, on both sides of the API
    code, output = await admin_create(db_url, tmp_path, password, "--username", "ops1",
                                      "--org-name", "平台运维中心", "--credit-code", CODE)
    assert code == 0, output
    assert "ops1" in output
    assert password not in output
    login = await client.post("/api/v1/auth/login",
                              json={"username": "ops1", "password": password})
    assert login.status_code == 200, login.text
    assert login.json()["user"]["role"] == "admin"


async def test_a_second_admin_joins_the_organisation_whatever_the_case_of_its_code(
    db_url: str, tmp_path: Path, services: Services
) -> None:
    first = await admin_create(db_url, tmp_path, "first-password-1", "--username", "ops1",
                               "--org-name", "平台运维中心", "--credit-code", CODE)
    assert first[0] == 0, first[1]
    second = await admin_create(db_url, tmp_path, "second-password-2", "--username", "ops2",
                                "--org-name", "平台运维中心", "--credit-code", CODE.lower())
    assert second[0] == 0, second[1]
    async with services.db.reading() as session:
        orgs = dict((await session.execute(
            select(User.username, User.org_id).where(User.username.in_(["ops1", "ops2"]))
        )).all())
    assert orgs["ops1"] == orgs["ops2"]


async def test_the_command_line_refuses_bad_input_and_changes_nothing(
    client: httpx.AsyncClient, db_url: str, tmp_path: Path, services: Services
) -> None:
    wrong_check = CODE[:17] + ("0" if CODE[17] != "0" else "1")
    before = await table_counts(services)
    bad_code = await admin_create(db_url, tmp_path, "good-password-1", "--username", "ops9",
                                  "--org-name", "X", "--credit-code", wrong_check)
    assert bad_code[0] == 2
    assert "统一社会信用代码" in bad_code[1]
    weak = await admin_create(db_url, tmp_path, "short", "--username", "ops9",
                              "--org-name", "X", "--credit-code", CODE)
    assert weak[0] == 2
    assert "short" not in weak[1]
    assert await table_counts(services) == before
    assert_error(await client.post("/api/v1/auth/login",
                                   json={"username": "ops9", "password": "short"}),
                 401, "bad_credentials")
