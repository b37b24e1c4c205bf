"""schemathesis against a real server: every operation, every check, a fixed seed, two roles.

What it proves: no input the document allows or forbids gets a 5xx; every answer has a
documented status, media type, headers and schema; what the schema allows is accepted and
what it forbids is refused (the document states the limits the server enforces); an
operation refuses a missing or bad credential (``ignored_auth``); created resources can be
read and deleted ones are gone (``use_after_free``, ``ensure_resource_availability``, in the
stateful phase, over the links schemathesis infers).

How it is bounded (a minute or so per role on two shared cores):

- ``--max-examples 5`` per operation and phase. The phases are schemathesis's defaults, all
  four: *examples* (the document's own examples), *coverage* (each constraint's boundaries and
  one value past each: where a bound the document omits shows up), *fuzzing* (random valid and
  invalid inputs), *stateful* (chains of calls along the inferred links). Coverage is the
  phase that proves the limits; fuzzing and stateful add the 5xx hunt and resources.
- ``--seed`` fixed and the example database off (``--generation-database none``): the same
  cases every run, nothing carried over between runs.
- One worker: the server's clock is frozen and its database a private copy.

Roles: an agency (writes projects, announces, answers) and a bidder (keys, uploads, bids),
each signed in with its own token, which the hooks (``schemathesis_hooks.py``) renew when the
run logs itself out. SQLite only: the API's behaviour on PostgreSQL is covered by the other API
tests on both back ends, and this run is about the document, which does not depend on the
database; a second back end would double its time.

The statuses that count as "accepted" beyond the defaults, per operation and with the reason
for each, are in ``schemathesis.toml``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from starlette.applications import Starlette

from tests.support import Seed
from tradesys.api.v1 import api_router
from tradesys.app import create_app
from tradesys.clock import AdjustableClock
from tradesys.demo.server import InProcessServer
from tradesys.settings import Settings

CONFIG = Path(__file__).with_name("schemathesis.toml")
SEED = 20261202
MAX_EXAMPLES = 5


@pytest.fixture
def backend() -> str:
    """Overrides the two-back-end parameter of tests/conftest.py: SQLite only (see above)."""
    return "sqlite"


@pytest.fixture
def web_app(settings: Settings, clock: AdjustableClock) -> Starlette:
    # Behind a "proxy" on loopback: the run's own sign-ins (schemathesis_hooks.py) say they
    # come from another address, so the fuzzer's wrong passwords from 127.0.0.1, which the
    # login throttle rightly answers with 429, do not lock the run out of its own account.
    return create_app(replace(settings, trusted_proxies=("127.0.0.1",)), clock=clock,
                      run_scheduler=False)


@pytest.mark.parametrize("role", ["agency", "bidder1"])
def test_the_server_keeps_to_its_openapi_document(
    web_app: Starlette, seed: Seed, role: str, tmp_path: Path
) -> None:
    party = seed.parties[role]
    root = Path(__file__).parents[2]
    with InProcessServer(web_app) as server:
        env = {**os.environ, "PYTHONPATH": str(root),
               "SCHEMATHESIS_HOOKS": "tests.api.schemathesis_hooks",
               "TRADESYS_ST_URL": server.url, "TRADESYS_ST_USERNAME": party.username,
               "TRADESYS_ST_PASSWORD": party.password}
        result = subprocess.run(
            [str(Path(sys.executable).with_name("st")), "--config-file", str(CONFIG), "run",
             f"{server.url}/openapi.json", "--checks", "all", "--seed", str(SEED),
             "--max-examples", str(MAX_EXAMPLES), "--workers", "1",
             "--generation-database", "none", "--no-color", "--output-truncate", "false"],
            capture_output=True, text=True, cwd=tmp_path, timeout=600, env=env,
        )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-30000:]
    # It tested what it should have: every operation, in every phase, and no case errored.
    operations = len(api_router().endpoints)
    assert f"Operations:       {operations} selected / {operations} total" in output, output
    assert f"Tested: {operations}" in output, output
    for phase in ("Examples", "Coverage", "Fuzzing", "Stateful"):
        assert re.search(rf"✅ {phase}\b", output), (phase, output[-5000:])
    assert f"Seed: {SEED}" in output
    generated = re.search(r"(\d+) generated", output)
    assert generated is not None and int(generated.group(1)) > 20 * operations, output[-3000:]
