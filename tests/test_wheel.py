"""The built wheel runs outside the checkout, without extras, from an empty directory.

What a newcomer does after ``pip install tradesys``: build the wheel from this tree, install it
into a fresh virtual environment (its declared dependencies only), and from an empty temporary
directory apply the migrations, run the demo, and serve the UI and API. Anything the installed
package reads at run time (migrations, Alembic configuration, static files, OCDS schemas) must be
inside the wheel; anything it imports must be declared.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tradesys.demo.server import free_port

REPO = Path(__file__).resolve().parents[1]


def run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None,
        timeout: float = 600) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(part) for part in command], cwd=cwd, env=env, text=True,
                            capture_output=True, timeout=timeout, check=False)
    assert result.returncode == 0, f"{command}: {result.returncode}\n{result.stdout[-3000:]}\n" \
                                   f"{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with only the wheel and its declared dependencies; its ``bin``."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    # Build from a copy of the tracked files, as a clean clone would: nothing the checkout has
    # lying about (a venv, var/, build/) can leak into the wheel.
    files = run("git", "ls-files", "-z", cwd=REPO).stdout.split("\0")
    for name in filter(None, files):
        target = source / name
        if (REPO / name).is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes((REPO / name).read_bytes())
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir",
        root / "dist", source, cwd=root)
    wheel, = (root / "dist").glob("tradesys-*.whl")
    run(sys.executable, "-m", "venv", root / "venv", cwd=root)
    bin_dir = root / "venv" / "bin"
    run(bin_dir / "pip", "install", "--quiet", wheel, cwd=root)
    return bin_dir


def clean_env(bin_dir: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("TRADESYS_", "PYTHON", "VIRTUAL_ENV"))}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return env


def test_the_wheel_holds_no_test_code_and_its_package_data(installed: Path) -> None:
    site = next((installed.parent / "lib").glob("python*/site-packages"))
    assert (site / "tradesys" / "alembic.ini").is_file()
    assert sorted(p.name for p in (site / "tradesys" / "migrations" / "versions").glob("0*.py"))
    assert (site / "tradesys" / "static" / "index.html").is_file()
    assert (site / "tradesys" / "reporting" / "ocds_schema" / "1.1.5" /
            "release-schema.json").is_file()
    assert not (site / "tests").exists()


def test_the_installed_wheel_upgrades_demos_and_serves_from_an_empty_directory(
        installed: Path, tmp_path: Path) -> None:
    work = tmp_path / "empty"
    work.mkdir()
    env = clean_env(installed)
    tradesys = installed / "tradesys"
    upgraded = run(tradesys, "db", "upgrade", cwd=work, env=env, timeout=120)
    assert "latest schema" in upgraded.stdout
    assert (work / "var" / "tradesys.db").is_file()

    demo = run(tradesys, "demo", "--json", "--out", work / "demo-out", cwd=work, env=env)
    summary = json.loads(demo.stdout)
    assert summary["ok"] is True, summary

    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        # The README's first command as an installed user runs it: the demo loaded, the
        # reference public service platform beside it.
        server = subprocess.Popen([str(tradesys), "serve", "--demo", "--port", str(port),
                                   "--receiver-port", str(free_port())], cwd=work, env=env,
                                  stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                  start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert server.poll() is None, log.read_text(errors="replace")[-4000:]
            try:
                ready = httpx.get(f"{base}/readyz", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, log.read_text(errors="replace")[-4000:]
                time.sleep(0.2)
        assert ready.status_code == 200, ready.text
        index = httpx.get(f"{base}/", timeout=5)
        assert index.status_code == 200
        assert "<html" in index.text.lower()
        script = httpx.get(f"{base}/js/ui.js", timeout=5)
        assert script.status_code == 200
        assert "javascript" in script.headers["content-type"]
        assert script.text == (REPO / "tradesys" / "static" / "js" / "ui.js").read_text(
            encoding="utf-8")
        notices = httpx.get(f"{base}/api/v1/notices", timeout=5).json()["items"]
        assert len(notices) >= 2     # the tender for bidding and the one whose opening to watch
        assert (work / "var" / "demo-accounts.json").is_file()
        assert sorted(path.name for path in (work / "var" / "demo-keys").iterdir())
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
