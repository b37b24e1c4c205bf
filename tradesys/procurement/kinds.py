"""Closed vocabularies of the workflow: trade types, procedures, categories and states."""

from __future__ import annotations

from enum import StrEnum


class TradeType(StrEnum):
    WORKS = "works"  # 工程建设
    GOV_PROCUREMENT = "gov_procurement"  # 政府采购
    EPC = "epc"  # 工程总承包
    SURVEY_DESIGN = "survey_design"  # 勘察设计
    LAND_MINERAL = "land_mineral"  # 土地矿产
    STATE_PROPERTY = "state_property"  # 国有产权


class Category(StrEnum):
    """OCDS mainProcurementCategory."""

    GOODS = "goods"
    WORKS = "works"
    SERVICES = "services"


class Procedure(StrEnum):
    OPEN = "open"  # 公开招标
    INVITED = "invited"  # 邀请招标
    COMPETITIVE_NEGOTIATION = "competitive_negotiation"  # 竞争性谈判
    COMPETITIVE_CONSULTATION = "competitive_consultation"  # 竞争性磋商
    INQUIRY = "inquiry"  # 询价
    SINGLE_SOURCE = "single_source"  # 单一来源


class ProjectState(StrEnum):
    REGISTERED = "registered"  # 已登记
    ANNOUNCED = "announced"  # 已发布公告
    CANCELLED = "cancelled"  # 已终止


class SectionState(StrEnum):
    REGISTERED = "registered"
    TENDERING = "tendering"  # 投标中
    CLOSED = "closed"  # 投标截止
    CANCELLED = "cancelled"


class NoticeKind(StrEnum):
    TENDER = "tender"  # 招标公告
    TERMINATION = "termination"  # 终止公告
    CANDIDATES = "candidates"  # 中标候选人公示
    RESULT = "result"  # 中标结果公告
    FAILED = "failed"  # 招标失败公告
    CONTRACT = "contract"  # 合同公告 (contracts/publication.py)


class ReportSet(StrEnum):
    """The public service platform's data sets (PLATFORM-DATASPEC.md)."""

    TENDER_PROJECT = "TENDER_PROJECT"
    NOTICE = "NOTICE"
    TENDER_FILE_CLARI_MODI = "TENDER_FILE_CLARI_MODI"
    TENDER_LIST = "TENDER_LIST"
    BID_OPENING_RECORD = "BID_OPENING_RECORD"
    EVALUATION_REPORT = "EVALUATION_REPORT"
    TENDER_CANDIDATE = "TENDER_CANDIDATE"
    WIN_RESULT_ANNO = "WIN_RESULT_ANNO"
    BID_WINNING_NOTICE = "BID_WINNING_NOTICE"
    CONTRACT_PERFORMANCE = "CONTRACT_PERFORMANCE"
