"""A real reference receiver on loopback, and a relay pointed at it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from tradesys.clock import AdjustableClock
from tradesys.demo.server import InProcessServer, free_port
from tradesys.receiver.app import create_receiver_app
from tradesys.reporting.relay import Relay
from tradesys.services import Services


class Switchable:
    """Wraps the receiver: while ``failing`` is set it answers every delivery with a 500."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.failing = False
        self.failures = 0
        #: While set, deliveries are answered only after this many seconds (a hung platform).
        self.stall = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and self.stall:
            await asyncio.sleep(self.stall)
        if scope["type"] == "http" and scope["method"] == "POST" and self.failing:
            self.failures += 1
            await send({"type": "http.response.start", "status": 500,
                        "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": b"platform busy"})
            return
        await self.app(scope, receive, send)


class Receiver:
    def __init__(self, services: Services, clock: AdjustableClock, tmp: Path,
                 port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        app = create_receiver_app(
            f"sqlite+aiosqlite:///{tmp / 'receiver.db'}",
            platform_code=services.reporting.pub_service_plat_code,
            trusted={services.reporting.platform_code: services.report_key.public_key()},
            clock=clock)
        self.switch = Switchable(app)
        self.server: InProcessServer | None = None

    def start(self) -> None:
        self.server = InProcessServer(self.switch, port=self.port)  # type: ignore[arg-type]
        self.server.__enter__()

    def stop(self) -> None:
        if self.server is not None:
            self.server.__exit__(None, None, None)
            self.server = None

    def reports(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = httpx.get(f"{self.url}/reports", timeout=10).json()["items"]
        return items


@pytest.fixture
def receiver(services: Services, clock: AdjustableClock, tmp_path: Path) -> Iterator[Receiver]:
    peer = Receiver(services, clock, tmp_path)
    peer.start()
    try:
        yield peer
    finally:
        peer.stop()


def make_relay(services: Services, url: str, **options: Any) -> Relay:
    return Relay(services.db, services.clock, services.reporting, f"{url}/reports",
                 services.report_key, timeout=5.0, **options)
