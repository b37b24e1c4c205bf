"""The national data-spec face of a report (《公共资源交易平台系统数据规范》 field sets).

Field names follow ../shared/PLATFORM-DATASPEC.md (as implemented by real trading systems);
docs/platform-interface.md lists what we fill, what we add and what we lack. Times are Beijing
time as ``yyyy-MM-dd HH:mm:ss``, the form those systems exchange; amounts are decimal strings
in yuan. Codes: TENDER_MODE 1 公开 / 2 邀请 / 3 竞争性谈判 / 4 竞争性磋商 / 5 询价 / 6 单一来源;
TENDER_ORGANIZE_FORM 1 自行 / 2 委托; *_CODE_TYPE 97 = 统一社会信用代码.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from tradesys.clock import DISPLAY_TZ
from tradesys.reporting import opening_record
from tradesys.reporting.facts import EventFacts, ReportingSettings

TENDER_MODE = {
    "open": "1",
    "invited": "2",
    "competitive_negotiation": "3",
    "competitive_consultation": "4",
    "inquiry": "5",
    "single_source": "6",
}
TENDER_PROJECT_TYPE = {
    "works": "A",
    "gov_procurement": "D",
    "epc": "A",
    "survey_design": "A",
    "land_mineral": "B",
    "state_property": "C",
}
CODE_TYPE_USCC = "97"


def beijing(value: datetime | str | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(DISPLAY_TZ).strftime("%Y-%m-%d %H:%M:%S")


def _total(values: list[str | None]) -> str | None:
    if not values or any(v is None for v in values):
        return None
    return f"{sum(Decimal(v) for v in values if v is not None):.2f}"


def common(
    event: EventFacts, project: dict[str, Any], settings: ReportingSettings
) -> dict[str, Any]:
    sections = [s["code"] for s in project["sections"]]
    return {
        "PLATFORM_CODE": settings.platform_code,
        "PUB_SERVICE_PLAT_CODE": settings.pub_service_plat_code,
        "DATA_TIMESTAMP": beijing(event.occurred_at),
        "UNIFIED_DEAL_CODE": project["code"],
        "TENDER_PROJECT_CODE": project["code"],
        "BID_SECTION_CODES": sections,
    }


def build_record(
    topic: str, event: EventFacts, registration: EventFacts, settings: ReportingSettings
) -> dict[str, Any]:
    project = registration.payload
    record = common(event, project, settings)
    payload = event.payload
    procurer, agency = project["procurer"], project.get("agency")
    if topic == "TENDER_PROJECT":
        record.update(
            PROJECT_CODE=project.get("approval_number") or project["code"],
            TENDER_PROJECT_NAME=project["name"],
            TENDER_PROJECT_TYPE=TENDER_PROJECT_TYPE[project["trade_type"]],
            REGION_CODE=project["region_code"],
            TENDER_CONTENT=project["content"],
            OWNER_NAME=project["owner_name"],
            TENDERER_NAME=procurer["name"],
            TENDERER_CODE_TYPE=CODE_TYPE_USCC,
            TENDERER_CODE=procurer["credit_code"],
            TENDERER_ROLE="招标人",
            TENDER_AGENCY_NAME=agency["name"] if agency else None,
            TENDER_AGENCY_CODE_TYPE=CODE_TYPE_USCC if agency else None,
            TENDER_AGENCY_CODE=agency["credit_code"] if agency else None,
            TENDER_AGENCY_ROLE="招标代理机构" if agency else None,
            TENDER_MODE=TENDER_MODE[project["procedure"]],
            TENDER_ORGANIZE_FORM="2" if agency else "1",
            CREATE_TIME=beijing(registration.occurred_at),
            SUPERVISE_DEPT_NAME=project.get("supervise_dept_name"),
            APPROVE_DEPT_NAME=project.get("approval_dept_name"),
            APPROVE_NUMBER=project.get("approval_number"),
            BID_SECTIONS=[
                {
                    "BID_SECTION_CODE": s["code"],
                    "BID_SECTION_NAME": s["name"],
                    "BID_SECTION_CONTENT": s["content"],
                    "BUDGET": s["budget"],
                    "CONTROL_PRICE": s["ceiling_price"],
                    "MARGIN_AMOUNT": s["bid_security"],
                }
                for s in project["sections"]
            ],
        )
    elif topic == "NOTICE" and event.type == "notice.published":
        record.update(
            PROJECT_CODE=project.get("approval_number") or project["code"],
            NOTICE_NAME=payload["title"],
            NOTICE_CONTENT=payload["content"],
            NOTICE_SEND_TIME=beijing(event.occurred_at),
            NOTICE_MEDIA="tradesys",
            URL=f"{settings.public_base_url}/notice.html?id={payload['notice_id']}",
            NOTICE_NATURE="1",
            BULLETIN_TYPE="1",
            DOC_GET_START_TIME=beijing(payload["doc_start"]),
            DOC_GET_END_TIME=beijing(payload["doc_end"]),
            TENDER_DOC_GET_METHOD="网上下载",
            BID_DOC_REFER_END_TIME=beijing(payload["bid_deadline"]),
            BID_OPEN_TIME=beijing(payload["bid_deadline"]),
            BID_DOC_REFER_METHOD="网上递交加密投标文件",
            SYNDICATED_FLAG="1" if payload["consortium_allowed"] else "0",
            BULLETIN_DUTY=(agency or procurer)["name"],
            CONTACT=payload.get("contact"),
            CONTROL_PRICE=_total([s["ceiling_price"] for s in payload["sections"]]),
            TRADE_PLAT=settings.platform_code,
        )
    elif topic == "NOTICE" and event.type == "project.cancelled":
        record.update(
            PROJECT_CODE=project.get("approval_number") or project["code"],
            NOTICE_NAME=payload["title"],
            NOTICE_CONTENT=payload["reason"],
            NOTICE_SEND_TIME=beijing(event.occurred_at),
            NOTICE_MEDIA="tradesys",
            URL=f"{settings.public_base_url}/notice.html?id={payload['notice_id']}",
            NOTICE_NATURE="9",
            BULLETIN_TYPE="9",  # 9: other — a termination notice
            BULLETIN_DUTY=(agency or procurer)["name"],
            TRADE_PLAT=settings.platform_code,
        )
    elif topic == "TENDER_LIST":
        record["BID_SECTION_CODES"] = [payload["section_code"]]
        record["BIDDERS"] = [
            {
                "BIDDER_NAME": bidder["name"],
                "BIDDER_CODE_TYPE": CODE_TYPE_USCC,
                "BIDDER_ORG_CODE": bidder["credit_code"],
                "BIDDER_ROLE": "投标人",
                "BID_MANAGER": bidder.get("project_manager"),
                "BID_PRICE": bidder.get("price"),
                "PRICE_CURRENCY": bidder.get("currency"),
                "PRICE_UNIT": "元" if bidder.get("price") else None,
                "TIME_LIMIT": bidder.get("duration_days"),
                "CHECKIN_TIME": beijing(bidder["received_at"]),
                "IS_COMMIT_MARGIN": "1" if bidder.get("security") == "confirmed" else "0",
                "OPEN_RESULT": bidder.get("outcome"),
            }
            for bidder in payload["bidders"]
        ]
    elif topic == "TENDER_FILE_CLARI_MODI":
        record.update(
            CLARI_MODI_NO=payload["number"],
            CLARI_MODI_TITLE=payload["title"],
            CLARI_MODI_CONTENT=payload["content"],
            IS_CHANGE_BID_CONTENT="1" if payload["changes_bid_content"] else "0",
            BID_DOC_REFER_END_TIME=beijing(payload["bid_deadline"]),
            BID_OPEN_TIME=beijing(payload["bid_deadline"]),
            BID_OPEN_PLACE=payload.get("opening_place"),
            CONTROL_PRICE=_total([s["ceiling_price"] for s in payload["sections"]]),
            MARGIN_AMOUNT=_total([s["bid_security"] for s in payload["sections"]]),
            CLARI_MODI_TIME=beijing(event.occurred_at),
        )
    elif topic == "BID_OPENING_RECORD":
        record.update(_opening_record(event, project, settings))
    elif topic in AWARD_TOPICS and event.type == AWARD_TOPICS[topic]:
        record.update(_award_record(topic, event, project, settings))
    elif topic == "CONTRACT_PERFORMANCE" and event.type == "contract.concluded":
        record.update(_contract_record(payload))
    else:
        raise ValueError(f"no data-spec mapping for {topic} from {event.type!r}")
    return record


def _opening_record(
    event: EventFacts, project: dict[str, Any], settings: ReportingSettings
) -> dict[str, Any]:
    """开标记录 (``opening.closed``, or ``opening.failed`` for 流标) from the final record the
    event carries. The host is the entrusted agency's person (or the procurer's, when it runs
    its own tender); the record names no other person of either."""
    payload = event.payload
    opening = payload["record"]
    host = opening.get("host") or {}
    agency = project.get("agency")
    hosted_by_agency = agency is not None and host.get("organisation") == agency["name"]
    hosted_by_procurer = agency is None and host.get("organisation") == project["procurer"]["name"]
    actors = opening_record.present(opening)
    return {
        "BID_SECTION_CODES": [opening["section"]["code"]],
        "NOTICE_NAME": opening_record.title(project, opening),
        "BID_OPENING_ACTOR": "、".join(actors) if actors else None,
        "BID_OPENING_CONTENT": opening_record.content(opening),
        "BID_OPENING_ADDRESS": opening.get("place"),
        # The actual start (decryption began); a failed tender never started: its opening was
        # the bid deadline (开标时间 = 投标截止时间), when the hall found too few bids.
        "BID_OPENING_TIME": beijing(
            opening.get("opened_at") or opening.get("bid_deadline") or event.occurred_at),
        "URL": f"{settings.public_base_url}{payload['record_url']}",
        "OPEN_COMPERE": host.get("name"),
        "TENDER_AGENCY_PERSON": host.get("name") if hosted_by_agency else None,
        "TENDERER_PERSON": host.get("name") if hosted_by_procurer else None,
        # Added by us: the record's end, the 流标 flag, and the published files' hashes.
        "BID_OPENING_END_TIME": beijing(opening.get("closed_at") or event.occurred_at),
        "IS_FAILED": "1" if opening_record.is_failed(opening) else "0",
        "FAILED_REASON": (opening.get("failed") or {}).get("reason"),
        "RECORD_SHA256": payload["record_sha256"],
        "PDF_URL": f"{settings.public_base_url}{payload['pdf_url']}",
        "PDF_SHA256": payload["pdf_sha256"],
    }


#: The award step's data sets and the event each is reported from (docs/award.md §8).
AWARD_TOPICS = {
    "EVALUATION_REPORT": "award.evaluation_reported",
    "TENDER_CANDIDATE": "award.publicity_published",
    "WIN_RESULT_ANNO": "award.awarded",
    "BID_WINNING_NOTICE": "award.notice_issued",
}


def _award_record(topic: str, event: EventFacts, project: dict[str, Any],
                  settings: ReportingSettings) -> dict[str, Any]:
    """评标报告, 中标候选人公示, 中标结果公告 and 中标通知书 from the events that publish or
    issue them."""
    payload = event.payload
    duty = (project.get("agency") or project["procurer"])["name"]
    common_fields: dict[str, Any] = {"BID_SECTION_CODES": [payload["section"]["code"]]}
    if topic == "EVALUATION_REPORT":
        return {
            **common_fields,
            "EVALUATION_CONTENT": payload["content"],
            "SUBMIT_TIME": beijing(payload["final_at"]),
            "END_TIME": beijing(payload["completed_at"]),
            "EVALUATION_RESULT": payload["result"],
            # Added by us: the signed report's SHA-256 and the counts behind the content.
            "REPORT_SHA256": payload["report_sha256"],
            "BID_COUNT": payload["bids"],
            "COMPLIANT_COUNT": payload["compliant"],
        }
    if topic == "BID_WINNING_NOTICE":
        return {
            **common_fields,
            "WIN_NOTICE_CODE": payload["document_id"],
            "WIN_BIDDER_NAME": payload["name"],
            "WIN_BIDDER_CODE": payload["credit_code"],
            "BID_AMOUNT": payload["price"],
            "TIME_LIMIT": None,  # the bid's duration: not carried by the award yet
            "PROJECT_LEAD": None, "PROJECT_LEAD_ID": None, "PROJECT_LEAD_CERTITY_NO": None,
            "WIN_NOTICE_CONTENT": payload["content"],
            "WIN_NOTICE_SEND_TIME": beijing(payload["issued_at"]),
            # Added by us: the signed notice's SHA-256 and the contract period it states.
            "WIN_NOTICE_SHA256": payload["sha256"],
            "CONTRACT_DAYS": payload["contract_days"],
        }
    notice = {
        **common_fields,
        "NOTICE_NAME": payload["title"],
        "NOTICE_CONTENT": payload["content"],
        "NOTICE_SEND_TIME": beijing(event.occurred_at),
        "NOTICE_MEDIA": "tradesys",
        "URL": f"{settings.public_base_url}/notice.html?id={payload['notice_id']}",
        "BULLETIN_DUTY": duty,
        "TRADE_PLAT": settings.platform_code,
    }
    if topic == "TENDER_CANDIDATE":
        notice["PUBLICITY_END_TIME"] = beijing(payload["ends_at"])  # added by us
        notice["CANDIDATES"] = [
            {
                "WIN_CANDIDATE_NAME": c["name"],
                "WIN_CANDIDATE_CODE": c["credit_code"],
                "BIDDER_CODE_TYPE": CODE_TYPE_USCC,
                "WIN_CANDIDATE_ORDER": c["rank"],
                "IS_FLOAT_RATE": "0",
                "BID_PRICE": c["price"],
                "EVALUATION_RESULT": c.get("score"),
            }
            for c in payload["candidates"]
        ]
        return notice
    notice.update(
        WIN_BIDDER_NAME=payload["name"],
        WIN_BIDDER_CODE=payload["credit_code"],
        BIDDER_ROLE="中标人",
        BID_AMOUNT=payload["price"],
        BID_CURRENCY="CNY",
        PRICE_UNIT="元",
    )
    return notice


def _contract_record(payload: dict[str, Any]) -> dict[str, Any]:
    """合同履约信息 at the signing (``contract.concluded``): what was agreed. The performance
    fields (settlement, changes, completion) are filled by later reports, not yet built."""
    return {
        "BID_SECTION_CODES": [payload["section"]["code"]],
        "CONTRACT_CODE": payload["award_id"],
        "CONTRACT_NAME": f"{payload['section']['name']} 合同",
        "TENDERER_NAME": payload["purchaser"]["name"],
        "TENDERER_CODE": payload["purchaser"]["credit_code"],
        "BIDDER_NAME": payload["supplier"]["name"],
        "BIDDER_CODE": payload["supplier"]["credit_code"],
        "CONTRACT_PRICE": payload["price"],
        "SETTLE_PRICE": None,
        "CONTRACT_CONTENT": payload["subject"],
        "LIMITE_TIME": payload["duration_days"],
        "QUALITY_REQUIRE": payload["quality"],
        "PERFORM_CHANGE_CONTENT": None,
        "FINISH_TIME": None,
        "ACTUALLY_PERIOD": None,
        "PERFORM_INFO": None,
        "CONTRACT_SIGN_TIME": beijing(payload["signed_at"]),
        # Added by us: the signed PDF's SHA-256 (verifiable with tradesys verify contract).
        "CONTRACT_SHA256": payload["sha256"],
    }
