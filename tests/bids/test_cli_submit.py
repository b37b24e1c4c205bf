"""The offline tool chain: ``bidder seal`` then ``bidder submit`` to a running server, then
``verify receipt``: what a bidder without a browser does."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support import Flow, Seed
from tradesys.app import create_app
from tradesys.bids.keys import public_key_text
from tradesys.clock import AdjustableClock
from tradesys.demo.server import InProcessServer
from tradesys.settings import Settings


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tradesys.cli", *args], capture_output=True,
                          text=True, timeout=120, check=False,
                          env={**os.environ, **(env or {})})


async def test_seal_submit_verify(client: httpx.AsyncClient, flow: Flow, seed: Seed,
                                  settings: Settings, clock: AdjustableClock,
                                  tmp_path: Path) -> None:
    project = await flow.announced()
    section = project["notice"]["sections"][0]
    info = (await client.get(f"/api/v1/sections/{section['id']}/sealing",
                             headers=seed.bidder1.auth)).json()
    assert seed.bidder1.private_key is not None
    (tmp_path / "bidder.pub").write_text(public_key_text(seed.bidder1.private_key))
    (tmp_path / "opening.pub").write_text(info["opening_public_key"])
    (tmp_path / "summary.json").write_text(json.dumps({
        "price": "8800000.00", "currency": "CNY", "duration_days": 400, "quality": "合格",
        "project_manager": "王五"}, ensure_ascii=False))
    (tmp_path / "bid.pdf").write_bytes(b"%PDF-1.7 bid " * 100_000)
    sealed = await asyncio.to_thread(
        _cli, "bidder", "seal", "--section", info["section_code"], "--bidder",
        info["bidder_code"], "--key", str(tmp_path / "bidder.pub"), "--opening-key",
        str(tmp_path / "opening.pub"), "--summary", str(tmp_path / "summary.json"),
        str(tmp_path / "bid.pdf"), "-o", str(tmp_path / "bid.env"))
    assert sealed.returncode == 0, sealed.stderr
    key_pem = (await client.get("/api/v1/receipts/key")).text
    (tmp_path / "receipt-key.pem").write_text(key_pem)
    with InProcessServer(create_app(settings, clock=clock, run_scheduler=False)) as server:
        submitted = await asyncio.to_thread(
            _cli, "bidder", "submit", "--server", server.url, "--section", str(section["id"]),
            "--slice-mib", "1", str(tmp_path / "bid.env"), "-o", str(tmp_path / "receipt.json"),
            env={"TRADESYS_TOKEN": seed.bidder1.token})
    assert submitted.returncode == 0, submitted.stderr
    assert seed.bidder1.token not in submitted.stdout + submitted.stderr
    verified = await asyncio.to_thread(_cli, "verify", "receipt", str(tmp_path / "receipt.json"),
                                       "--key", str(tmp_path / "receipt-key.pem"))
    assert verified.returncode == 0, verified.stderr
    bids = (await client.get(f"/api/v1/sections/{section['id']}/bids",
                             headers=seed.bidder1.auth)).json()["items"]
    assert [bid["status"] for bid in bids] == ["valid"]
    no_token = await asyncio.to_thread(
        _cli, "bidder", "submit", "--section", "1", str(tmp_path / "bid.env"), "-o",
        str(tmp_path / "x.json"), env={"TRADESYS_TOKEN": ""})
    assert no_token.returncode == 2
