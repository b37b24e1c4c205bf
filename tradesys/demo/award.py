"""The demo after the report, through the public HTTP API: the candidates' publicity, an
objection raised and answered, the end of the publicity (the clock moved past it, the
scheduler ends it), the award with the winner downloading its signed notice (docs/award.md
§4–§6).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from tradesys.demo.evaluation import candidates
from tradesys.demo.scenario import DemoFailure, Party, Scenario, check
from tradesys.documents.notices import verify_notice
from tradesys.signatures import load_public_pem


def section_path(sc: Scenario) -> str:
    return f"/api/v1/sections/{sc.state.project['sections'][0]['id']}"


def bidder(sc: Scenario, credit_code: str) -> Party:
    return next(p for p in sc.bidders() if p.credit_code == credit_code)


def publish(sc: Scenario) -> None:
    """The host publishes the final report's candidates (中标候选人公示)."""
    body = check("publicity", sc.client.post(f"{section_path(sc)}/publicity",
                                             headers=sc.party("agency").headers()), 201)
    sc.state.results["publicity_ends_at"] = body["ends_at"]


def objection(sc: Scenario) -> None:
    """The second candidate objects to the first during the publicity; the procurer answers."""
    section = section_path(sc)
    objector = bidder(sc, candidates(sc)[1]["credit_code"])
    raised = check("objection", sc.client.post(f"{section}/objections",
                                               headers=objector.headers(), json={
        "text": "第一中标候选人投标文件所列类似工程业绩的竣工验收证明不完整，请核查。"}), 201)
    check("objection", sc.client.post(
        f"{section}/objections/{raised['number']}/answer",
        headers=sc.party("procurer").headers(),
        json={"answer": "经向原建设单位核实，该业绩竣工验收备案齐全，异议不成立，维持评标结果。"}),
        200)


def end_publicity(sc: Scenario, wait: Callable[[float], None]) -> None:
    """The clock moves past the publicity's end; the scheduler ends it (never a sleep for the
    period itself: only a bounded wait for the scheduler's next run)."""
    assert sc.clock is not None
    ends_at = datetime.fromisoformat(sc.state.results["publicity_ends_at"])
    sc.clock.set(ends_at + timedelta(seconds=1))
    for _ in range(200):
        publicity = check("publicity_end", sc.client.get(f"{section_path(sc)}/publicity"), 200)
        if publicity["ended"]:
            return
        wait(0.05)
    raise DemoFailure("publicity_end", "the scheduler did not end the publicity in time")


def award(sc: Scenario) -> None:
    """The host awards the first-ranked candidate; the winner downloads its award notice
    (JSON, platform signature, PDF) and checks the signature with the platform's key."""
    section = section_path(sc)
    state = check("award", sc.client.post(f"{section}/award",
                                          headers=sc.party("agency").headers(), json={}), 201)
    winner_code = state["awards"][-1]["credit_code"]
    winner = bidder(sc, winner_code)
    own = check("award", sc.client.get(f"{section}/award", headers=winner.headers()), 200)
    notice = next(n for n in own["awards"][-1]["notices"] if n["kind"] == "award")
    base = f"/api/v1/award-notices/{notice['id']}"
    data = sc.client.get(f"{base}/notice.json", headers=winner.headers())
    signature = sc.client.get(f"{base}/notice.json.sig", headers=winner.headers())
    pdf = sc.client.get(f"{base}/notice.pdf", headers=winner.headers())
    for response in (data, signature, pdf):
        check("award", response, 200)
    key = load_public_pem(sc.client.get("/api/v1/receipts/key").text)
    genuine, reason = verify_notice(data.content, signature.text, key)
    if not genuine:
        raise DemoFailure("award", f"the award notice does not verify: {reason}")
    out = sc.state.out_dir
    (out / "award-notice.json").write_bytes(data.content)
    (out / "award-notice.json.sig").write_bytes(signature.content)
    (out / "award-notice.pdf").write_bytes(pdf.content)
    sc.state.artifacts["award_notice"] = str((out / "award-notice.pdf").resolve())
    sc.state.results.update(winner=winner_code, award_notice=sc.state.artifacts["award_notice"])
