"""OCDS 1.1.5 releases for each reported step (one immutable release per change).

``ocid`` = the registered prefix + the tender project code; a release's ``id`` is the hash of
its event's log entry (unique, and opaque: the event's sequence number would count every event
on the platform between two releases, bids before the deadline included), and ``ocid/id`` is
the report's idempotency key. The pull feed's order is ``outbox.public_seq`` (feed.py).
Organisations appear in full in ``parties`` with their roles, elsewhere by ``{id, name}``.
Party ids use the scheme ``CN-USCC`` (统一社会信用代码).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tradesys.clock import isoformat_utc
from tradesys.reporting import opening_record
from tradesys.reporting.facts import EventFacts, ReportingSettings

PROCUREMENT_METHOD = {
    "open": "open",
    "invited": "selective",
    "competitive_consultation": "limited",
    "competitive_negotiation": "limited",
    "inquiry": "limited",
    "single_source": "direct",
}
METHOD_DETAILS = {
    "open": "公开招标",
    "invited": "邀请招标",
    "competitive_consultation": "竞争性磋商",
    "competitive_negotiation": "竞争性谈判",
    "inquiry": "询价",
    "single_source": "单一来源",
}
SCHEME = "CN-USCC"
#: A bid's opening outcome as an OCDS bid status (bid extension codelist bidStatus).
BID_STATUS = {"decrypted": "valid", "revoked": "disqualified", "withdrawn": "withdrawn",
              "pending": "pending"}
#: The opening record's document type. The 1.1.5 documentType codelist has no code for the
#: minutes of a public bid opening (``evaluationReports`` is the later evaluation,
#: ``bidders`` the bidders' own credentials); the codelist is open, so we add this camelCase
#: code and document it in docs/platform-interface.md.
OPENING_RECORD_DOCUMENT = "bidOpeningRecord"


def ocid(settings: ReportingSettings, project_code: str) -> str:
    return f"{settings.ocid_prefix}-{project_code}"


def release_id(event: EventFacts) -> str:
    return event.hash


def _date(value: datetime | str) -> str:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _amount(value: str | None) -> dict[str, Any] | None:
    if value is None:
        return None
    number = Decimal(value)
    return {
        "amount": int(number) if number == number.to_integral() else float(number),
        "currency": "CNY",
    }


def _party(org: dict[str, Any], roles: list[str]) -> dict[str, Any]:
    return {
        "id": f"{SCHEME}-{org['credit_code']}",
        "name": org["name"],
        "identifier": {"scheme": SCHEME, "id": org["credit_code"], "legalName": org["name"]},
        "roles": roles,
    }


def _ref(org: dict[str, Any]) -> dict[str, str]:
    return {"id": f"{SCHEME}-{org['credit_code']}", "name": org["name"]}


def _parties(
    project: dict[str, Any],
) -> tuple[list[dict[str, Any]], dict[str, str], dict[str, str]]:
    procurer, agency = project["procurer"], project.get("agency")
    if agency is None:
        return [_party(procurer, ["buyer", "procuringEntity"])], _ref(procurer), _ref(procurer)
    return (
        [_party(procurer, ["buyer"]), _party(agency, ["procuringEntity"])],
        _ref(procurer),
        _ref(agency),
    )


def _items(sections: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"id": section["code"], "description": f"{section['name']}：{section['content']}"}
        for section in sections
    ]


def _ceiling(sections: list[dict[str, Any]]) -> dict[str, Any] | None:
    values = [s.get("ceiling_price") for s in sections]
    if not values or any(v is None for v in values):
        return None
    return _amount(str(sum(Decimal(v) for v in values)))


def build_release(
    topic: str, event: EventFacts, registration: EventFacts, settings: ReportingSettings
) -> dict[str, Any]:
    project = registration.payload
    parties, buyer, procuring = _parties(project)
    tender: dict[str, Any] = {
        "id": project["code"],
        "title": project["name"],
        "description": project["content"],
        "procurementMethod": PROCUREMENT_METHOD[project["procedure"]],
        "procurementMethodDetails": METHOD_DETAILS[project["procedure"]],
        "mainProcurementCategory": project["category"],
        "procuringEntity": procuring,
        "items": _items(project["sections"]),
    }
    release: dict[str, Any] = {
        "ocid": ocid(settings, project["code"]),
        "id": release_id(event),
        "date": _date(event.occurred_at),
        "initiationType": "tender",
        "language": "zh",
        "parties": parties,
        "buyer": buyer,
        "tender": tender,
    }
    payload = event.payload
    if event.type == "project.registered":
        release["tag"] = ["planning"]
        tender["status"] = "planned"
        budget = [s.get("budget") for s in project["sections"]]
        planning: dict[str, Any] = {}
        if budget and all(b is not None for b in budget):
            planning["budget"] = {
                "amount": _amount(str(sum(Decimal(b) for b in budget))),
                "description": "各标段预算合计",
            }
        if project.get("approval_number"):
            planning["rationale"] = (
                f"{project.get('approval_dept_name') or ''} {project['approval_number']}"
            ).strip()
        if planning:
            release["planning"] = planning
    elif event.type == "notice.published":
        release["tag"] = ["tender"]
        tender.update(
            status="active",
            submissionMethod=["electronicSubmission"],
            submissionMethodDetails="网上递交加密投标文件",
            tenderPeriod={
                "startDate": _date(payload["doc_start"]),
                "endDate": _date(payload["bid_deadline"]),
            },
            enquiryPeriod={
                "startDate": _date(payload["doc_start"]),
                "endDate": _date(payload["clarification_deadline"]),
            },
            documents=[
                {
                    "id": f"notice-{payload['notice_id']}",
                    "documentType": "tenderNotice",
                    "title": payload["title"],
                    "description": payload["content"],
                    "datePublished": _date(event.occurred_at),
                    "language": "zh",
                    "url": f"{settings.public_base_url}/notice.html?id={payload['notice_id']}",
                }
            ],
        )
        ceiling = _ceiling(payload["sections"])
        if ceiling is not None:
            tender["value"] = ceiling
    elif event.type == "clarification.published":
        moved = payload["bid_deadline"] != payload["previous_bid_deadline"]
        release["tag"] = [
            "tenderAmendment" if payload["changes_bid_content"] or moved else "tenderUpdate"
        ]
        tender.update(
            status="active",
            tenderPeriod={"endDate": _date(payload["bid_deadline"])},
            amendments=[
                {
                    "id": f"clarification-{payload['number']}",
                    "date": _date(event.occurred_at),
                    "rationale": payload["title"],
                    "description": payload["content"],
                }
            ],
        )
    elif event.type == "section.tender_list":
        release["tag"] = ["tenderUpdate"]
        tender["status"] = "active"
        details = []
        for bidder in payload["bidders"]:
            org = {"name": bidder["name"], "credit_code": bidder["credit_code"]}
            release["parties"].append(_party(org, ["tenderer"]))
            bid: dict[str, Any] = {
                # The public id (lists from before 0006 have only the internal sequence).
                "id": f"bid-{bidder.get('public_id') or bidder['bid_id']}",
                "date": _date(bidder["received_at"]),
                "status": BID_STATUS[bidder["outcome"] or "pending"],
                "tenderers": [_ref(org)],
            }
            if bidder.get("price") is not None and bidder.get("outcome") == "decrypted":
                bid["value"] = _amount(bidder["price"])
            details.append(bid)
        release["bids"] = {"details": details}
    elif event.type in ("opening.closed", "opening.failed"):
        _opening(release, event, project, settings)
    elif event.type == "award.evaluation_reported":
        release["tag"] = ["tenderUpdate"]
        tender["documents"] = [{
            "id": f"evaluation-report-{payload['section']['code']}",
            "documentType": "evaluationReports",
            "title": f"{payload['section']['code']} 评标报告",
            "description": payload["content"],
            "datePublished": _date(event.occurred_at),
            "language": "zh",
        }]
    elif event.type in ("award.publicity_published", "award.awarded", "award.notice_issued"):
        _award(release, event, settings)
    elif event.type == "contract.concluded":
        release["tag"] = ["contract"]
        supplier = payload["supplier"]
        release["parties"].append(_party(supplier, ["supplier"]))
        release["contracts"] = [{
            "id": f"contract-{payload['award_id']}",
            "awardID": _award_id(payload["section"]["code"], supplier["credit_code"]),
            "title": f"{payload['section']['name']} 合同",
            "description": payload["subject"],
            "status": "active",
            "value": _amount(payload["price"]),
            "dateSigned": _date(payload["signed_at"]),
            "period": {"durationInDays": payload["duration_days"]},
            "documents": [{
                "id": f"contract-{payload['award_id']}-signed",
                "documentType": "contractSigned",
                "title": "签署的合同 (PAdES, SHA-256 in the description)",
                "description": payload["sha256"],
                "datePublished": _date(event.occurred_at),
                "language": "zh",
            }],
        }]
    elif event.type == "project.cancelled":
        release["tag"] = ["tenderCancellation"]
        tender.update(
            status="cancelled",
            documents=[
                {
                    "id": f"notice-{payload['notice_id']}",
                    "documentType": "cancellationDetails",
                    "title": payload["title"],
                    "description": payload["reason"],
                    "datePublished": _date(event.occurred_at),
                    "language": "zh",
                }
            ],
        )
    else:
        raise ValueError(f"no OCDS mapping for event type {event.type!r} ({topic})")
    return release


def _opening(release: dict[str, Any], event: EventFacts, project: dict[str, Any],
             settings: ReportingSettings) -> None:
    """开标记录: the published record (JSON and PDF, with their SHA-256) as tender documents,
    and the section's bid counts. A normal opening adds no ``bids.details``: TENDER_LIST
    reported each bid at the end of decryption (the record names no bid ids, and other ids
    would duplicate those bids in the compiled record). A failed tender (流标) never had a
    TENDER_LIST, so its unopened bids (if any) are listed here, ``pending`` (never
    evaluated), under their envelope's hash."""
    payload, tender = event.payload, release["tender"]
    record = payload["record"]
    section = record["section"]
    failed = record.get("failed")
    published = _date(event.occurred_at)
    title = opening_record.title(project, record)
    release["tag"] = ["tenderUpdate"]
    # The ocid is the whole project; only when its one section failed did the tender fail.
    # With several sections the others go on (OCDS 1.1 without the lots extension cannot
    # give one section a status): the record and the counts say which one failed.
    tender["status"] = "unsuccessful" if failed and len(project["sections"]) == 1 else "active"
    what = "流标记录" if failed else "开标记录"
    tender["documents"] = [
        {
            "id": f"opening-record-{section['code']}",
            "documentType": OPENING_RECORD_DOCUMENT,
            "title": title,
            "description": f"{section['code']} {section['name']} {what}（规范 JSON）。"
                           f"SHA-256: {payload['record_sha256']}",
            "url": f"{settings.public_base_url}{payload['record_url']}",
            "datePublished": published,
            "format": "application/json",
            "language": "zh",
        },
        {
            "id": f"opening-record-{section['code']}-pdf",
            "documentType": OPENING_RECORD_DOCUMENT,
            "title": f"{title}（PDF）",
            "description": f"{section['code']} {section['name']} {what}（PDF，页脚载明 JSON 记录"
                           f"的 SHA-256: {payload['record_sha256']}）。"
                           f"SHA-256: {payload['pdf_sha256']}",
            "url": f"{settings.public_base_url}{payload['pdf_url']}",
            "datePublished": published,
            "format": "application/pdf",
            "language": "zh",
        },
    ]
    statistics = [{"id": f"{section['code']}-bids", "measure": "bids",
                   "value": len(record["bidders"]), "date": published}]
    bids: dict[str, Any] = {"statistics": statistics}
    if failed and record["bidders"]:  # an empty list would replace others' bids on merge
        details = []
        for bidder in record["bidders"]:
            org = {"name": bidder["name"], "credit_code": bidder["credit_code"]}
            release["parties"].append(_party(org, ["tenderer"]))
            details.append({"id": f"bid-{bidder['envelope_sha256']}",
                            "date": _date(bidder["received_at"]),
                            "status": "pending", "tenderers": [_ref(org)]})
        bids["details"] = details
    else:
        statistics.append({
            "id": f"{section['code']}-validBids", "measure": "validBids",
            "value": sum(1 for b in record["bidders"] if b.get("outcome") == "decrypted"),
            "date": published})
    release["bids"] = bids


def _award_id(section_code: str, credit_code: str) -> str:
    """One OCDS award per section and candidate: proposed (``pending``) at the publicity,
    ``active`` for the winner and ``unsuccessful`` for the others at the award; the compiled
    record merges them by this id."""
    return f"award-{section_code}-{credit_code}"


def _award(release: dict[str, Any], event: EventFacts, settings: ReportingSettings) -> None:
    """中标候选人公示 (tag ``award``, the candidates as pending awards), 中标结果公告 (tag
    ``award``, the winner's award active) and 中标通知书 (tag ``awardUpdate``, the signed
    notice's SHA-256 as an award document)."""
    payload, published = event.payload, _date(event.occurred_at)
    section = payload["section"]["code"]
    release["tender"]["status"] = "active"
    if event.type == "award.notice_issued":
        org = {"name": payload["name"], "credit_code": payload["credit_code"]}
        release["tag"] = ["awardUpdate"]
        release["parties"].append(_party(org, ["tenderer", "supplier"]))
        release["awards"] = [{
            "id": _award_id(section, payload["credit_code"]), "status": "active",
            "documents": [{
                "id": payload["document_id"], "documentType": "awardNotice",
                "title": "中标通知书", "datePublished": published, "language": "zh",
                "description": f"中标通知书（平台签名的规范 JSON）。SHA-256: {payload['sha256']}",
            }],
        }]
        return
    release["tag"] = ["award"]
    notice = {"id": f"notice-{payload['notice_id']}", "title": payload["title"],
              "description": payload["content"], "datePublished": published, "language": "zh",
              "url": f"{settings.public_base_url}/notice.html?id={payload['notice_id']}"}
    if event.type == "award.publicity_published":
        awards = []
        for candidate in payload["candidates"]:
            org = {"name": candidate["name"], "credit_code": candidate["credit_code"]}
            release["parties"].append(_party(org, ["tenderer"]))
            awards.append({
                "id": _award_id(section, candidate["credit_code"]), "status": "pending",
                "title": f"第{candidate['rank']}中标候选人", "date": published,
                "value": _amount(candidate["price"]), "suppliers": [_ref(org)],
                "documents": [{**notice, "documentType": "awardNotice"}],
            })
        release["awards"] = awards
        return
    awards = []
    for candidate in payload["candidates"]:
        org = {"name": candidate["name"], "credit_code": candidate["credit_code"]}
        won = candidate["credit_code"] == payload["credit_code"]
        release["parties"].append(_party(org, ["tenderer", "supplier"] if won else ["tenderer"]))
        award: dict[str, Any] = {"id": _award_id(section, candidate["credit_code"]),
                                 "status": "active" if won else "unsuccessful",
                                 "suppliers": [_ref(org)]}
        if won:
            award.update(title="中标人", date=published, value=_amount(payload["price"]),
                         documents=[{**notice, "documentType": "awardNotice"}])
        awards.append(award)
    release["awards"] = awards


def release_package(
    releases: list[dict[str, Any]], settings: ReportingSettings, published: datetime, uri: str
) -> dict[str, Any]:
    return {
        "uri": uri,
        "version": "1.1",
        "extensions": [
            "https://raw.githubusercontent.com/open-contracting-extensions/ocds_bid_extension/"
            "v1.1.5/extension.json"
        ],
        "publishedDate": isoformat_utc(published)[:19] + "Z",
        "publisher": {"name": settings.publisher_name},
        "license": "https://creativecommons.org/publicdomain/zero/1.0/",
        "releases": releases,
    }
