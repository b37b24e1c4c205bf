"""The demo's evaluation (评标, docs/evaluation.md), through the public HTTP API: the expert
pool, the scheme announced with the tender, the committee's auditable draw, the review, an
abnormally low price explained and accepted, every member's signed score sheet, and the
report every member signs.

Each member — four drawn experts and the procurer's representative — uses their own account
and their own P-256 signing key (made on their side; only the public key is registered), as
their browser would.
"""

from __future__ import annotations

import json
from typing import Any

from tradesys.demo.scenario import DemoFailure, Party, Scenario, check, random_credit_code
from tradesys.documents import evaluation_report as documents
from tradesys.evaluation import sheets
from tradesys.opening import confirmation

#: 综合评估法: price 30 points, technical 60, business 10 (they sum to 100, docs/evaluation.md §9).
SCHEME = {
    "method": "comprehensive", "price_weight": "30",
    "criteria": [
        {"id": "T1", "name": "施工组织设计", "category": "technical", "max_score": "40"},
        {"id": "T2", "name": "项目管理机构", "category": "technical", "max_score": "20"},
        {"id": "B1", "name": "类似工程业绩", "category": "business", "max_score": "10",
         "min_score": "2"},
    ],
}
#: The demo's bids: the third is below 80% of the others' mean (abnormally low, §12).
PRICES = ["34980000.00", "35050000.00", "27860000.00"]
#: Each bidder's scores (T1, T2, B1) from every member: the first ranks first overall.
SCORES = [("36", "18", "9"), ("33", "16", "8"), ("27", "13", "6")]
#: The specialty the pool's experts hold and the draw asks for (房屋建筑工程, for the demo).
SPECIALTY = "A01"
EXPERT_EMPLOYERS = ("福建省建筑科学研究院（演示）", "福州大学土木工程学院（演示）",
                    "福建省建设工程造价总站（演示）")
EXPERTS = ("林建国", "陈志明", "黄丽华", "吴海峰", "郑晓东", "刘振宇")
PANEL_SIZE = 5


def create_experts(sc: Scenario) -> None:
    """The operator enters six experts into the pool (each employed by an organisation that
    has nothing to do with the tender, so none is avoided)."""
    admin = {"Authorization": f"Bearer {sc.admin_token}"}
    employers = []
    for name in EXPERT_EMPLOYERS:
        employers.append(check("experts", sc.client.post(
            "/api/v1/organisations", headers=admin,
            json={"name": f"{name}{sc.suffix}", "credit_code": random_credit_code()}), 201))
    for n, name in enumerate(EXPERTS):
        employer = employers[n % len(employers)]
        expert = Party("expert", employer["name"], f"expert{n + 1}-{sc.suffix}",
                       credit_code=employer["credit_code"], org_id=employer["id"])
        user = check("experts", sc.client.post("/api/v1/users", headers=admin, json={
            "org_id": expert.org_id, "username": expert.username,
            "display_name": f"{name}（评标专家）", "password": expert.password,
            "role": "expert"}), 201)
        expert.user_id = user["id"]
        check("experts", sc.client.put(f"/api/v1/experts/{expert.user_id}/profile",
                                       headers=admin, json={"specialties": [SPECIALTY],
                                                            "region_code": "350100"}), 200)
        expert.token = check("experts", sc.client.post("/api/v1/auth/tokens", json={
            "username": expert.username, "password": expert.password, "name": "demo"}),
            201)["token"]
        sc.state.parties[expert.username] = expert


def set_scheme(sc: Scenario) -> None:
    """The host sets the works section's scheme while the project is only registered (the
    notice freezes it: bidders prepare against it)."""
    section = sc.state.project["sections"][0]
    check("scheme", sc.client.put(f"/api/v1/sections/{section['id']}/evaluation/scheme",
                                  headers=sc.party("agency").headers(), json=SCHEME), 200)


def _url(sc: Scenario) -> str:
    return f"/api/v1/sections/{sc.state.project['sections'][0]['id']}/evaluation"


def draw_panel(sc: Scenario) -> None:
    """Four experts drawn from the pool (commit, then reveal) and the procurer's
    representative: five members, seated in order."""
    sc.log_in_again()  # weeks have passed since the tokens were issued
    section_id = sc.state.project["sections"][0]["id"]
    agency, procurer = sc.party("agency"), sc.party("procurer")
    check("panel", sc.client.post(f"/api/v1/sections/{section_id}/panel",
                                  headers=agency.headers(),
                                  json={"size": PANEL_SIZE, "specialties": [SPECIALTY],
                                        "representatives": [procurer.user_id]}), 201)
    panel = check("panel", sc.client.get(f"/api/v1/sections/{section_id}/panel",
                                         headers=agency.headers()), 200)
    people = {p.user_id: p for p in sc.state.parties.values()}
    sc.state.members = [people[m["user_id"]] for m in sorted(panel["members"],
                                                             key=lambda m: m["seat"])
                        if m["status"] == "active"]
    if len(sc.state.members) != PANEL_SIZE:
        raise DemoFailure("panel", f"{len(sc.state.members)} members sit, not {PANEL_SIZE}")


def review(sc: Scenario) -> None:
    """Every member reads the opened bids and records a reasoned verdict on every review item
    of every bid (all pass)."""
    url = _url(sc)
    scheme = check("review", sc.client.get(f"{url}/scheme",
                                           headers=sc.state.members[0].headers()), 200)
    items = [item["id"] for item in scheme["compliance"]]
    for member in sc.state.members:
        bids = check("review", sc.client.get(f"{url}/bids", headers=member.headers()), 200)
        sc.state.bids = {b["credit_code"]: b for b in bids["items"]}
        verdicts = [{"bid_id": bid["bid_id"], "item": item, "passed": True,
                     "reason": "经审查，符合招标文件要求。"}
                    for bid in bids["items"] for item in items]
        check("review", sc.client.post(f"{url}/verdicts", headers=member.headers(),
                                       json={"verdicts": verdicts}), 200)


def explain_low_price(sc: Scenario) -> None:
    """The platform flags the abnormally low price; the host asks its bidder to explain; the
    bidder answers in writing; every member votes to accept (the bid stays in)."""
    url = _url(sc)
    flagged = [b for b in sc.state.bids.values() if b["abnormally_low"]]
    if len(flagged) != 1:
        raise DemoFailure("explanation", f"{len(flagged)} abnormally low bids, expected 1")
    bid = flagged[0]
    bidder = next(p for p in sc.bidders() if p.credit_code == bid["credit_code"])
    base = f"{url}/bids/{bid['bid_id']}/explanation"
    check("explanation", sc.client.post(base, headers=sc.party("agency").headers(), json={
        "question": "贵单位报价明显低于其他投标报价，请书面说明其合理性并提供相关证明材料。"}), 201)
    check("explanation", sc.client.post(f"{base}/answer", headers=bidder.headers(), json={
        "answer": "我公司在本项目周边有在建工程，大型机械和周转材料可直接调配，钢材已按年度"
                  "框架协议锁定价格，报价不低于成本，详见所附成本分析表。"}), 200)
    for member in sc.state.members:
        check("explanation", sc.client.post(f"{base}/votes", headers=member.headers(), json={
            "accept": True, "reason": "说明及成本分析合理，报价不低于成本。"}), 200)
    decided = check("explanation", sc.client.get(base, headers=sc.party("agency").headers()),
                    200)
    sc.state.results["abnormally_low"] = {"credit_code": bid["credit_code"],
                                          "decision": decided.get("decision")}


def score(sc: Scenario) -> None:
    """Each member scores every bid and signs the sheet with their own key over the scheme's
    SHA-256 (docs/evaluation.md §14)."""
    url, section = _url(sc), sc.state.project["sections"][0]
    sha = check("scores", sc.client.get(f"{url}/scheme",
                                        headers=sc.state.members[0].headers()), 200)["sha256"]
    by_code = {bidder.credit_code: points for bidder, points in zip(sc.bidders(), SCORES,
                                                                     strict=True)}
    scores = {bid["bid_id"]: dict(zip(("T1", "T2", "B1"), by_code[code], strict=True))
              for code, bid in sc.state.bids.items()}
    for member in sc.state.members:
        key, key_id = sc.signing_key_of(member)
        document = sheets.message(section["code"], sha, member.user_id, scores)
        check("scores", sc.client.post(f"{url}/score-sheets", headers=member.headers(), json={
            "scores": scores, "key_id": key_id, "signature": sheets.sign(key, document)}), 201)


def report(sc: Scenario) -> None:
    """The host drafts the report from the result; every member signs it; the final report
    (JSON with its signatures) is downloaded as an artifact."""
    url, agency = _url(sc), sc.party("agency")
    check("report", sc.client.get(f"{url}/result", headers=agency.headers()), 200)
    drafted = check("report", sc.client.post(f"{url}/report", headers=agency.headers()), 201)
    body = drafted["report"]
    seats = {m["member_id"]: m for m in body["committee"]}
    for seat, member in enumerate(sc.state.members, start=1):
        if f"seat-{seat}" not in seats:
            raise DemoFailure("report", f"seat-{seat} is not in the report's committee")
        key, key_id = sc.signing_key_of(member)
        message = documents.signing_message(body, f"seat-{seat}")
        check("report", sc.client.post(f"{url}/report/signatures", headers=member.headers(),
                                       json={"key_id": key_id,
                                             "signature": confirmation.sign(key, message)}), 200)
    final = check("report", sc.client.get(f"{url}/report", headers=agency.headers()), 200)
    if not final["final"]:
        raise DemoFailure("report", "the report is not final after every member signed")
    sc.state.report = final["report"]
    path = sc.state.out_dir / "evaluation-report.json"
    path.write_text(json.dumps(final["report"], ensure_ascii=False, indent=2), encoding="utf-8")
    sc.state.artifacts["evaluation_report"] = str(path.resolve())
    sc.state.results["evaluation_report"] = str(path.resolve())


def candidates(sc: Scenario) -> list[dict[str, Any]]:
    ranked: list[dict[str, Any]] = sorted(sc.state.report["candidates"],
                                          key=lambda c: c["rank"])
    return ranked
