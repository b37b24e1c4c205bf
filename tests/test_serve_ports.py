"""``tradesys serve`` and ``make serve`` choose their ports, and a port in use is one clear line.

Real processes on real sockets: a port is taken by a listening socket of the test, the server is
started as a newcomer would start it, and what it prints and leaves behind is checked.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tradesys.demo.server import free_port

REPO = Path(__file__).resolve().parents[1]


@contextmanager
def taken_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def environment(data_dir: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("TRADESYS_")}
    env["TRADESYS_DATA_DIR"] = str(data_dir)
    return env


def serve(*options: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tradesys.cli", "serve", "--demo", *options],
        env=environment(data_dir), cwd=data_dir.parent, capture_output=True, text=True,
        timeout=60, check=False)


@pytest.mark.parametrize("option", ["--receiver-port", "--port"])
def test_a_port_in_use_is_one_line_and_exit_2_before_anything_starts(
        tmp_path: Path, option: str) -> None:
    data_dir = tmp_path / "var"
    with taken_port() as port:
        other = "--port" if option == "--receiver-port" else "--receiver-port"
        result = serve(option, str(port), other, str(free_port()), data_dir=data_dir)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (f"tradesys serve: 127.0.0.1:{port} is in use: "
                             f"choose another with {option}\n")
    # Nothing was started or written: no migration, no demo seeding, no keys.
    assert not data_dir.exists()


@pytest.mark.parametrize("value", ["99999", "-1", "²", "80a", ""])
def test_a_port_that_is_not_a_port_number_is_a_usage_error(tmp_path: Path, value: str) -> None:
    result = serve("--port", value, data_dir=tmp_path / "var")
    assert result.returncode == 2
    assert "argument --port: not a port number (0–65535)" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "var").exists()


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text(errors="replace")[-4000:]
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} never answered:\n{log.read_text(errors='replace')[-4000:]}")


def test_make_serve_takes_its_ports_from_make_variables(tmp_path: Path) -> None:
    """``make serve PORT=… RECEIVER_PORT=…`` (the README's first command) serves the UI on the
    one port and the reference public service platform, which receives the demo's reports, on
    the other."""
    port, receiver_port = free_port(), free_port()
    log = tmp_path / "make-serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["make", "--no-print-directory", "serve", f"PORT={port}",
             f"RECEIVER_PORT={receiver_port}", f"PYTHON={sys.executable}"],
            cwd=REPO, env=environment(tmp_path / "var"), stdin=subprocess.DEVNULL, stdout=out,
            stderr=out, start_new_session=True)
    try:
        wait_ready(f"http://127.0.0.1:{port}/readyz", process, log)
        assert httpx.get(f"http://127.0.0.1:{port}/").status_code == 200
        text = log.read_text(errors="replace")
        assert f"reference public service platform at http://127.0.0.1:{receiver_port}" in text
        # Nothing set: production-strength password hashes, no warning (tests/conftest.py's
        # cheap ones are stripped with the other TRADESYS_ variables).
        assert "password hashes are cheap to guess" not in text
        with socket.create_connection(("127.0.0.1", receiver_port), timeout=5):
            pass
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def test_make_serve_with_the_receiver_port_taken_says_so_in_one_line(tmp_path: Path) -> None:
    with taken_port() as port:
        result = subprocess.run(
            ["make", "--no-print-directory", "serve", f"PORT={free_port()}",
             f"RECEIVER_PORT={port}", f"PYTHON={sys.executable}"],
            cwd=REPO, env=environment(tmp_path / "var"), stdin=subprocess.DEVNULL,
            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if "tradesys serve:" in line]
    assert lines == [f"tradesys serve: 127.0.0.1:{port} is in use: "
                     f"choose another with --receiver-port"]
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "var").exists()
