"""schemathesis against a real server: all operations, all checks, a fixed seed, two roles."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from starlette.applications import Starlette

from tests.support import Seed
from tradesys.app import create_app
from tradesys.clock import AdjustableClock
from tradesys.demo.server import InProcessServer
from tradesys.settings import Settings

CONFIG = Path(__file__).with_name("schemathesis.toml")


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
def web_app(settings: Settings, clock: AdjustableClock) -> Starlette:
    # Behind a "proxy" on loopback: the run's own sign-ins (schemathesis_hooks.py) say they
    # come from another address, so the fuzzer's wrong passwords from 127.0.0.1, which the
    # login throttle rightly answers with 429, do not lock the run out of its own account.
    return create_app(replace(settings, trusted_proxies=("127.0.0.1",)), clock=clock,
                      run_scheduler=False)


@pytest.mark.parametrize("role", ["agency", "bidder1"])
def test_schemathesis(web_app: Starlette, seed: Seed, role: str, tmp_path: Path) -> None:
    party = seed.parties[role]
    root = Path(__file__).parents[2]
    with InProcessServer(web_app) as server:
        env = {**os.environ, "PYTHONPATH": str(root),
               "SCHEMATHESIS_HOOKS": "tests.api.schemathesis_hooks",
               "TRADESYS_ST_URL": server.url, "TRADESYS_ST_USERNAME": party.username,
               "TRADESYS_ST_PASSWORD": party.password}
        result = subprocess.run(
            [str(Path(sys.executable).with_name("st")), "--config-file", str(CONFIG), "run",
             f"{server.url}/openapi.json", "--checks", "all", "--seed", "20261202",
             "--max-examples", os.environ.get("ST_N", "5"), "--workers", "1",
             "--generation-database", "none", "--no-color", "--output-truncate", "false"],
            capture_output=True, text=True, cwd=tmp_path, timeout=600, env=env,
        )
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]
