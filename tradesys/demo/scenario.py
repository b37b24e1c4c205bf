"""The demo procurement, step by step, through the public HTTP API.

Every step is an ordinary API call with the role that would make it in real life; the clock is
moved forward instead of waiting for deadlines. ``load_demo_tender`` stops once the tender is
announced (what ``tradesys serve --demo`` shows); ``run_procurement`` goes on to the deadline.
"""

from __future__ import annotations

import hashlib
import io
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import ec

from tradesys.bids.encoding import b64u, unb64u
from tradesys.bids.envelope import ROLE_BIDDER, parse_header
from tradesys.bids.keys import PrivateKey, generate_private_key, public_key_text
from tradesys.bids.open import unwrap_share
from tradesys.bids.receipts import verify_receipt_file
from tradesys.bids.seal import seal
from tradesys.bids.shamir import unwrap_holder_share
from tradesys.clock import AdjustableClock
from tradesys.demo.hall_client import HallConnection, HallError
from tradesys.identity.credit_code import ALPHABET, make_credit_code
from tradesys.opening import confirmation
from tradesys.signatures import load_public_pem

#: The bids of ``tradesys serve --demo``'s watched tender (its browser test reads them out).
SEED_PRICES = ["34980000.00", "35050000.00", "34720000.00"]


def new_password() -> str:
    return secrets.token_urlsafe(12)


class DemoFailure(Exception):
    def __init__(self, step: str, detail: str) -> None:
        super().__init__(f"step {step!r} failed: {detail}")
        self.step = step


def random_credit_code(region: str = "350100") -> str:
    """A valid unified social credit code (9 = enterprise, 1 = company) in a region."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(9))
    return make_credit_code("91" + region + body)


@dataclass
class Party:
    role: str
    org_name: str
    username: str
    credit_code: str = field(default_factory=random_credit_code)
    password: str = field(default_factory=new_password)
    user_id: int = 0
    private_key: PrivateKey | None = None
    #: A party's P-256 signing key (a bidder's confirms the opening record; a member signs
    #: score sheets and the report; the contract's parties sign it), once registered.
    signing_key: ec.EllipticCurvePrivateKey | None = None
    signing_key_id: str = ""
    org_id: int = 0
    token: str = ""

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class DemoState:
    base_url: str
    out_dir: Path
    steps: list[str] = field(default_factory=list)
    parties: dict[str, Party] = field(default_factory=dict)
    project: dict[str, Any] = field(default_factory=dict)
    notice: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, str] = field(default_factory=dict)
    receipts: list[str] = field(default_factory=list)
    #: After the opening: the committee by seat, the opened bids by credit code, the report.
    members: list[Party] = field(default_factory=list)
    bids: dict[str, dict[str, Any]] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)
    #: What the summary gains from the evaluation, the award and the contract.
    results: dict[str, Any] = field(default_factory=dict)


def check(step: str, response: httpx.Response, expected: int) -> dict[str, Any]:
    """The response's JSON body, or a :class:`DemoFailure` naming the step when the status is
    not the expected one (every demo call is checked: a demo that carries on past a refusal
    proves nothing)."""
    if response.status_code != expected:
        raise DemoFailure(step, f"HTTP {response.status_code}: {response.text[:500]}")
    if response.headers.get("content-type", "").startswith("application/json"):
        body: dict[str, Any] = response.json()
        return body
    return {}


def _iso(value: datetime) -> str:
    return value.isoformat()


class Scenario:
    def __init__(self, client: httpx.Client, state: DemoState, clock: AdjustableClock | None,
                 *, suffix: str | None = None) -> None:
        self.client = client
        self.state = state
        self.clock = clock
        self.suffix = suffix or secrets.token_hex(3)
        self.admin_token = ""

    def step(self, name: str, action: Callable[[], None]) -> None:
        action()
        self.state.steps.append(name)

    def server_now(self) -> datetime:
        body = check("time", self.client.get("/api/v1/time"), 200)
        return datetime.fromisoformat(body["now"])

    # -- steps ---------------------------------------------------------------------------------

    def create_parties(self, admin_token: str) -> None:
        s = self.suffix
        wanted = [
            Party("procurer", f"福州市示范学校（演示）{s}", f"procurer-{s}"),
            Party("agency", f"福建示范招标代理有限公司（演示）{s}", f"agency-{s}"),
            Party("bidder", f"闽江建设工程有限公司（演示）{s}", f"bidder1-{s}"),
            Party("bidder", f"榕城建筑集团有限公司（演示）{s}", f"bidder2-{s}"),
            Party("bidder", f"海峡路桥工程有限公司（演示）{s}", f"bidder3-{s}"),
            Party("supervisor", f"福州市住房和城乡建设局（演示）{s}", f"supervisor-{s}"),
        ]
        self.admin_token = admin_token
        admin = {"Authorization": f"Bearer {admin_token}"}
        for party in wanted:
            org = check("organisations", self.client.post(
                "/api/v1/organisations", headers=admin,
                json={"name": party.org_name, "credit_code": party.credit_code}), 201)
            party.org_id = org["id"]
            check("organisations", self.client.post(
                "/api/v1/users", headers=admin,
                json={"org_id": party.org_id, "username": party.username,
                      "display_name": party.org_name, "password": party.password,
                      "role": party.role}), 201)
            token = check("organisations", self.client.post(
                "/api/v1/auth/tokens",
                json={"username": party.username, "password": party.password,
                      "name": "demo"}), 201)
            party.token = token["token"]
            me = check("organisations", self.client.get("/api/v1/me", headers=party.headers()),
                        200)
            party.user_id = me["id"]
            if party.role in ("agency", "procurer", "supervisor", "bidder"):
                # Made on the party's own side; only the public key reaches the server.
                party.private_key = generate_private_key()
                check("keys", self.client.post(
                    "/api/v1/keys", headers=party.headers(),
                    json={"purpose": "bidder" if party.role == "bidder" else "holder",
                          "public_key": public_key_text(party.private_key)}), 201)
            self.state.parties[party.username] = party

    def log_in_again(self) -> None:
        """New tokens for everyone (sessions expire: the served demo dates its history back)."""
        for party in self.state.parties.values():
            token = check("log_in", self.client.post(
                "/api/v1/auth/tokens",
                json={"username": party.username, "password": party.password,
                      "name": "demo"}), 201)
            party.token = token["token"]

    def register_signing_keys(self) -> None:
        """Each bidder makes and registers its signing key now, not at the opening."""
        for bidder in self.bidders():
            bidder.signing_key, bidder.signing_key_id = self._signing_key(bidder)

    def signing_key_of(self, party: Party) -> tuple[ec.EllipticCurvePrivateKey, str]:
        """The party's registered signing key, made and registered on first use."""
        if party.signing_key is None:
            party.signing_key, party.signing_key_id = self._signing_key(party)
        return party.signing_key, party.signing_key_id

    def party(self, prefix: str) -> Party:
        return next(p for name, p in self.state.parties.items() if name.startswith(prefix))

    def bidders(self) -> list[Party]:
        return [p for p in self.state.parties.values() if p.role == "bidder"]

    def register(self, *, name: str = "福州市示范学校教学楼新建工程",
                 sections: list[dict[str, str]] | None = None,
                 idempotency_key: str = "register-1") -> None:
        agency, procurer = self.party("agency"), self.party("procurer")
        body = {
            "name": name,
            "trade_type": "works",
            "category": "works",
            "procedure": "open",
            "region_code": "350100",
            "content": "新建教学楼一栋，建筑面积约12000平方米，含土建、安装及室外配套工程。",
            "owner_name": procurer.org_name,
            "procurer_credit_code": procurer.credit_code,
            "approval_number": "榕发改审批〔2026〕118号",
            "approval_dept_name": "福州市发展和改革委员会",
            "supervise_dept_name": "福州市住房和城乡建设局",
            "sections": sections or [
                {"name": "施工总承包", "content": "土建及安装工程",
                 "budget": "36000000.00", "ceiling_price": "35200000.00",
                 "bid_security": "500000.00"},
                {"name": "工程监理", "content": "施工阶段全过程监理",
                 "budget": "900000.00", "ceiling_price": "860000.00",
                 "bid_security": "10000.00"},
            ],
        }
        self.state.project = check("register", self.client.post(
            "/api/v1/projects", headers={**agency.headers(), "Idempotency-Key": idempotency_key},
            json=body), 201)
        # 委托 is mutual: the procurer the agency named accepts before anything is announced.
        self.state.project = check("register", self.client.post(
            f"/api/v1/projects/{self.state.project['id']}/entrustment/accept",
            headers=procurer.headers()), 200)
        # The platform operator lets the supervising department see it (项目监督授权).
        if self.admin_token:
            check("register", self.client.post(
                f"/api/v1/projects/{self.state.project['id']}/supervisors",
                headers={"Authorization": f"Bearer {self.admin_token}"},
                json={"org_id": self.party("supervisor").org_id}), 201)

    def upload_documents(self) -> None:
        agency = self.party("agency")
        text = ("福州市示范学校教学楼新建工程 招标文件\n\n第一章 招标公告\n第二章 投标人须知\n"
                "第三章 评标办法（综合评估法）\n第四章 合同条款及格式\n第五章 工程量清单\n")
        path = self.state.out_dir / "tender-document.txt"
        path.write_text(text, encoding="utf-8")
        self.state.artifacts["tender_document"] = str(path.resolve())
        document = check("upload_documents", self.client.post(
            f"/api/v1/projects/{self.state.project['id']}/documents",
            params={"filename": "招标文件.txt"},
            headers={**agency.headers(), "Content-Type": "text/plain"},
            content=path.read_bytes()), 201)
        if document["sha256"] != hashlib.sha256(path.read_bytes()).hexdigest():
            raise DemoFailure("upload_documents", "the server's SHA-256 differs from ours")
        self.state.project["document_id"] = document["id"]

    def announce(self, bid_deadline: datetime | None = None) -> None:
        """Announces the registered project; its bid deadline 21 days away unless given."""
        agency = self.party("agency")
        now = self.server_now()
        body = {
            "title": f"{self.state.project['name']}招标公告",
            "content": "本招标项目已批准建设，招标人为福州市示范学校，现对该项目进行公开招标，"
                       "欢迎符合资格条件的投标人参加投标。投标文件须通过本平台加密递交。",
            "doc_start": _iso(now + timedelta(minutes=1)),
            "doc_end": _iso(now + timedelta(days=7)),
            "clarification_deadline": _iso(now + timedelta(days=10)),
            "bid_deadline": _iso(bid_deadline or now + timedelta(days=21)),
            "opening_place": "网上开标大厅（不见面开标）",
            "consortium_allowed": False,
            "contact": "示范代理 张工 0591-00000000",
            # 开标密钥 2-of-3: the agency host, the procurer's representative, the supervisor.
            "opening_key_holders": [self.party(name).user_id
                                    for name in ("agency", "procurer", "supervisor")],
            "opening_threshold": 2,
        }
        self.state.notice = check("announce", self.client.post(
            f"/api/v1/projects/{self.state.project['id']}/announce", headers=agency.headers(),
            json=body), 201)

    def obtain_documents(self) -> None:
        assert self.clock is not None
        self.clock.advance(timedelta(minutes=2))
        project_id, document_id = self.state.project["id"], self.state.project["document_id"]
        for bidder in self.bidders():
            response = self.client.get(
                f"/api/v1/projects/{project_id}/documents/{document_id}/content",
                headers=bidder.headers())
            check("obtain_documents", response, 200)
            if hashlib.sha256(response.content).hexdigest() != response.headers.get(
                    "x-content-sha256"):
                raise DemoFailure("obtain_documents", "document hash mismatch")

    def questions(self) -> None:
        project_id = self.state.project["id"]
        bidder, agency = self.bidders()[0], self.party("agency")
        question = check("question", self.client.post(
            f"/api/v1/projects/{project_id}/questions", headers=bidder.headers(),
            json={"text": "工程量清单第3.2节的外墙保温材料是否允许采用同等性能的替代品？"}), 201)
        check("answer", self.client.post(
            f"/api/v1/projects/{project_id}/questions/{question['id']}/answer",
            headers=agency.headers(),
            json={"answer": "允许，但须满足招标文件技术要求并在投标文件中提供检测报告。"}), 200)

    def clarify(self) -> None:
        assert self.clock is not None
        project_id, agency = self.state.project["id"], self.party("agency")
        check("clarify", self.client.post(
            f"/api/v1/projects/{project_id}/clarifications", headers=agency.headers(),
            json={"title": "澄清（一）", "content": "关于外墙保温材料替代品的答疑见问题答复。",
                  "changes_bid_content": False}), 201)
        # Eight days later the agency amends the bill of quantities: less than 15 days remain,
        # so the amendment must move the bid deadline (the rule the platform enforces).
        self.clock.advance(timedelta(days=8))
        now = self.server_now()
        check("amend", self.client.post(
            f"/api/v1/projects/{project_id}/clarifications", headers=agency.headers(),
            json={"title": "修改（一）", "content": "工程量清单第5章补充室外排水工程量。",
                  "changes_bid_content": True,
                  "new_bid_deadline": _iso(now + timedelta(days=15, hours=1))}), 201)

    def submit_bids(self, prices: list[str] | None = None) -> None:
        """Each bidder seals its bid on its own side and uploads only the envelope."""
        section = self.state.project["sections"][0]
        receipts_dir = self.state.out_dir / "receipts"
        receipts_dir.mkdir(exist_ok=True)
        key_pem = self.client.get("/api/v1/receipts/key")
        pinned = load_public_pem(key_pem.text)
        key_path = self.state.out_dir / "receipt-key.pem"
        key_path.write_text(key_pem.text, encoding="utf-8")
        self.state.artifacts["receipt_key"] = str(key_path.resolve())
        for bidder, price in zip(self.bidders(), prices or SEED_PRICES, strict=True):
            assert bidder.private_key is not None
            info = check("bids", self.client.get(
                f"/api/v1/sections/{section['id']}/sealing", headers=bidder.headers()), 200)
            plaintext = (f"{bidder.org_name} 投标文件：商务标、技术标、报价 {price} 元。\n"
                         * 2000).encode()
            sealed = io.BytesIO()
            seal(io.BytesIO(plaintext), len(plaintext), sealed,
                 section_code=info["section_code"], bidder_code=info["bidder_code"],
                 bidder_public_key=bidder.private_key.public_key(),
                 opening_public_key=info["opening_public_key"],
                 summary={"price": price, "currency": "CNY", "duration_days": 540,
                          "quality": "合格", "project_manager": "项目经理（演示）"},
                 chunk_size=64 * 1024)
            envelope = sealed.getvalue()
            upload = check("bids", self.client.post(
                f"/api/v1/sections/{section['id']}/uploads", headers=bidder.headers(),
                json={"size": len(envelope)}), 201)
            for offset in range(0, len(envelope), 48 * 1024):
                check("bids", self.client.patch(
                    f"/api/v1/uploads/{upload['id']}", content=envelope[offset:offset + 48 * 1024],
                    headers={**bidder.headers(), "Upload-Offset": str(offset),
                             "Content-Type": "application/offset+octet-stream"}), 200)
            response = self.client.post(f"/api/v1/uploads/{upload['id']}/complete",
                                        headers=bidder.headers())
            receipt = check("bids", response, 201)
            genuine, reason = verify_receipt_file(response.content, pinned)
            if not genuine or receipt["receipt"]["envelope_sha256"] != hashlib.sha256(
                    envelope).hexdigest():
                raise DemoFailure("bids", f"receipt for {bidder.username}: {reason}")
            path = receipts_dir / f"{bidder.username}.json"
            path.write_bytes(response.content)
            self.state.receipts.append(str(path.resolve()))

    def open_bids(self) -> None:
        """The opening, live in the hall over WebSocket, as the people would run it: the agency
        hosts; the bidders sign in and decrypt; two of the three key holders release their
        shares; prices are read out; one bidder objects and is answered; every bidder confirms
        the record; the host closes. The second section received no bid: 流标."""
        sections = self.state.project["sections"]
        section = sections[0]
        agency, supervisor = self.party("agency"), self.party("supervisor")
        host = HallConnection(self.state.base_url, section["id"], agency.token)
        holder = HallConnection(self.state.base_url, section["id"], supervisor.token)
        bidders = [(b, HallConnection(self.state.base_url, section["id"], b.token))
                   for b in self.bidders()]
        connections = [host, holder, *(c for _, c in bidders)]
        try:
            host.wait_for("opening.bids_published")
            for _, connection in bidders:
                connection.command("sign_in")
            host.command("start_decryption")
            for party, connection in ((agency, host), (supervisor, holder)):
                assert party.private_key is not None
                wrapped = check("opening", self.client.get(
                    f"/api/v1/sections/{section['id']}/opening/my-share",
                    headers=party.headers()), 200)
                share = unwrap_holder_share(wrapped, party.private_key)
                connection.command("release_holder_share", share=share.to_json())
            for bidder, connection in bidders:
                connection.command("release_share", share=self._bidder_share(section, bidder))
            host.wait_for("opening.decryption_ended")
            for _ in bidders:
                host.command("read_next")
            host.command("generate_record")
            draft = host.wait_for("opening.record_generated")["event"]["data"]
            first = bidders[0][1]
            first.command("raise_objection",
                          text="请主持人核对本单位报价的唱读是否与开标一览表一致。")
            host.command("answer_objection", objection=1,
                         text="经核对，唱标与开标一览表一致。")
            for bidder, connection in bidders:
                key, key_id = self.signing_key_of(bidder)
                signed = confirmation.message(section["code"], draft["record_sha256"],
                                              bidder.credit_code)
                connection.command("confirm_record", record_sha256=draft["record_sha256"],
                                   key_id=key_id, signature=confirmation.sign(key, signed))
            host.command("close")
            closed = host.wait_for("opening.closed")["event"]["data"]
        except HallError as error:
            raise DemoFailure("opening", str(error)) from error
        finally:
            for connection in connections:
                connection.close()
        outcomes = [m["event"]["type"] for m in host.events if m["event"]["type"].startswith(
            "bid.") and m["event"]["type"] != "bid.share_released"]
        if outcomes != ["bid.decrypted"] * len(bidders):
            raise DemoFailure("opening", f"unexpected outcomes {outcomes}")
        self._save_record(closed, "opening_record")
        for other in sections[1:]:
            self._declare_failed(other)

    def _signing_key(self, party: Party) -> tuple[ec.EllipticCurvePrivateKey, str]:
        """The party's own signing key (its tool keeps the private half), registered."""
        key = ec.generate_private_key(ec.SECP256R1())
        registered = check("keys", self.client.post(
            "/api/v1/keys", headers=party.headers(),
            json={"purpose": "signing", "public_key": public_key_text(key)}), 201)
        return key, registered["key_id"]

    def _bidder_share(self, section: dict[str, Any], bidder: Party) -> str:
        assert bidder.private_key is not None
        base = f"/api/v1/sections/{section['id']}"
        bid = check("opening", self.client.get(f"{base}/bids", headers=bidder.headers()),
                     200)["items"][-1]
        header = check("opening", self.client.get(f"{base}/bids/{bid['id']}/header",
                                                   headers=bidder.headers()), 200)["header"]
        return b64u(unwrap_share(parse_header(unb64u(header)), ROLE_BIDDER, bidder.private_key))

    def _declare_failed(self, section: dict[str, Any]) -> None:
        host = HallConnection(self.state.base_url, section["id"], self.party("agency").token)
        try:
            host.wait_for("opening.bids_published")
            host.command("declare_failed",
                         reason="投标截止时递交投标文件的投标人少于3个，依法流标。")
            failed = host.wait_for("opening.failed")["event"]["data"]
        except HallError as error:
            raise DemoFailure("opening", str(error)) from error
        finally:
            host.close()
        self._save_record(failed, f"failed_record_{section['id']}")

    def _save_record(self, data: dict[str, Any], name: str) -> None:
        """The published record, as anyone can fetch it: JSON (its hash checked) and PDF."""
        record = self.client.get(data["record_url"])
        check("opening", record, 200)
        if hashlib.sha256(record.content).hexdigest() != data["record_sha256"]:
            raise DemoFailure("opening", "the published record does not match its hash")
        pdf = self.client.get(data["pdf_url"])
        check("opening", pdf, 200)
        path = self.state.out_dir / f"{name.replace('_', '-')}.json"
        path.write_bytes(record.content)
        path.with_suffix(".pdf").write_bytes(pdf.content)
        self.state.artifacts[name] = str(path.resolve())

    def reach_deadline(self, wait: Callable[[float], None]) -> None:
        assert self.clock is not None
        project_id, agency = self.state.project["id"], self.party("agency")
        project = check("bid_deadline", self.client.get(
            f"/api/v1/projects/{project_id}", headers=agency.headers()), 200)
        deadline = max(datetime.fromisoformat(s["bid_deadline"]) for s in project["sections"])
        self.clock.set(deadline + timedelta(seconds=1))
        for _ in range(200):
            project = check("bid_deadline", self.client.get(
                f"/api/v1/projects/{project_id}", headers=agency.headers()), 200)
            if all(section["state"] == "closed" for section in project["sections"]):
                self.state.project = {**self.state.project, **project}
                return
            wait(0.05)
        raise DemoFailure("bid_deadline", "the scheduler did not close bidding in time")
