"""Minimum periods per procedure, checked when a notice is published or amended.

Defaults follow the 招标投标法 and its 实施条例 (20 days from documents to the deadline, a
document period of at least 5 days, amendments that change bid content at least 15 days before
the deadline, questions on the documents at least 10 days before it) and the government
procurement rules for the non-tender procedures. Days are calendar days: working-day rules need
a holiday calendar, which the platform does not yet keep (documented in docs/rules.md). An
operator can override any value with a JSON file (``TRADESYS_RULES_FILE``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from pathlib import Path

from tradesys.errors import Invalid
from tradesys.procurement.kinds import Procedure


@dataclass(frozen=True)
class PeriodRules:
    #: From the start of the document period to the bid deadline.
    min_days_documents_to_deadline: int
    #: Length of the document period (招标文件发售期).
    min_days_document_period: int
    #: An amendment that changes bid content needs this many days before the deadline.
    min_days_amendment_before_deadline: int
    #: The clarification (question) deadline lies at least this many days before the deadline.
    min_days_questions_before_deadline: int
    #: Fewer valid bids than this and the tender fails (流标); used by the opening.
    min_bids: int = 3
    #: How long bidders have to decrypt (解密) once the host opens the window.
    decryption_window_minutes: int = 30
    #: How long bidders have to confirm (or object to) the opening record.
    confirmation_window_minutes: int = 30
    #: The evaluation committee (评标委员会) has at least this many members (法 Art. 37).
    panel_min_size: int = 5
    #: ... and an odd number of them (法 Art. 37).
    panel_size_odd: bool = True
    #: Drawn experts are at least numerator/denominator of the members (法 Art. 37: 2/3).
    panel_min_expert_numerator: int = 2
    panel_min_expert_denominator: int = 3
    #: With at least this many experts scoring, the panel's score of a criterion drops one
    #: highest and one lowest score (RULES.md, 综合评估法); 0 never drops any.
    score_trim_min_experts: int = 7
    #: Decimals of a price score and of a panel's criterion score, rounded half up once each.
    score_places: int = 2
    #: A price below this percentage of the mean of the other prices within the ceiling is
    #: abnormally low (异常低价, 12号令 Art. 21, 87号令 Art. 60); 0 flags nothing.
    abnormally_low_percent: int = 80
    #: Hours the bidder has to explain an abnormally low price in writing.
    explanation_hours: int = 24
    #: At most this many ranked candidates (中标候选人, 条例 Art. 53).
    max_candidates: int = 3
    #: Fewer compliant bids than this after the review and the evaluation fails (87号令
    #: Art. 43; no compliant bid at all always fails, 法 Art. 42).
    min_compliant_bids: int = 3
    #: Hours after the report is drafted before the host may record a member who has neither
    #: signed nor dissented as refusing without reasons (taken to agree, 条例 Art. 53).
    report_sign_hours: int = 24
    #: The candidates are published (公示) within this many days of the final report, and
    #: the publicity runs at least ``publicity_days`` (条例 Art. 54).
    publicity_publish_days: int = 3
    publicity_days: int = 3
    #: An objection (异议) to the candidates is answered within this many days; until then
    #: nothing is awarded (条例 Art. 54).
    objection_answer_days: int = 3
    #: The contract is signed within this many days of the award notice (法 Art. 46); printed
    #: on the award notice.
    contract_days: int = 30
    #: The bid securities (投标保证金) are returned, with the bank's interest, to the winner
    #: and the other bidders within this many days of the contract's signing (条例 Art. 57).
    bid_security_return_days: int = 5


DEFAULT_RULES: dict[Procedure, PeriodRules] = {
    Procedure.OPEN: PeriodRules(20, 5, 15, 10),
    Procedure.INVITED: PeriodRules(20, 5, 15, 10),
    Procedure.COMPETITIVE_CONSULTATION: PeriodRules(10, 5, 5, 3, min_bids=3),
    Procedure.COMPETITIVE_NEGOTIATION: PeriodRules(3, 3, 3, 1, min_bids=3),
    Procedure.INQUIRY: PeriodRules(3, 3, 3, 1, min_bids=3),
    Procedure.SINGLE_SOURCE: PeriodRules(0, 0, 0, 0, min_bids=1, min_compliant_bids=1,
                                         max_candidates=1),
}


class RuleBook:
    def __init__(self, rules: dict[Procedure, PeriodRules] | None = None) -> None:
        self._rules = dict(rules or DEFAULT_RULES)

    @classmethod
    def from_file(cls, path: str) -> RuleBook:
        """Defaults, with the values named in a JSON file ``{"open": {"min_bids": 3}, ...}``."""
        rules = dict(DEFAULT_RULES)
        if path:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            names = {f.name for f in fields(PeriodRules)}
            for procedure_name, overrides in data.items():
                procedure = Procedure(procedure_name)
                unknown = set(overrides) - names
                if unknown:
                    raise ValueError(f"unknown rule(s) for {procedure_name}: {sorted(unknown)}")
                rules[procedure] = replace(rules[procedure], **overrides)
        return cls(rules)

    def for_procedure(self, procedure: Procedure) -> PeriodRules:
        return self._rules[procedure]


@dataclass(frozen=True)
class KeyTimes:
    doc_start: datetime
    doc_end: datetime
    clarification_deadline: datetime
    bid_deadline: datetime


def _days(n: int) -> timedelta:
    return timedelta(days=n)


def check_key_times(times: KeyTimes, rules: PeriodRules, now: datetime) -> None:
    """Refuse impossible or too-short periods with a message that names the rule."""
    problems: list[str] = []
    if times.doc_start < now - timedelta(minutes=5):
        problems.append(
            "文件获取开始时间不能早于发布时间 (the document period cannot start in the past)"
        )
    if not times.doc_start < times.doc_end:
        problems.append(
            "文件获取截止时间须晚于开始时间 (the document period must end after it starts)"
        )
    if not times.doc_end <= times.bid_deadline:
        problems.append(
            "文件获取截止时间不能晚于投标截止时间 (the document period must end by "
            "the bid deadline)"
        )
    if not times.doc_start <= times.clarification_deadline < times.bid_deadline:
        problems.append(
            "澄清截止时间须在文件获取开始与投标截止之间 (the clarification deadline "
            "must fall between the document start and the bid deadline)"
        )
    if times.bid_deadline <= now:
        problems.append("投标截止时间须晚于当前时间 (the bid deadline must be in the future)")
    if problems:
        raise Invalid("impossible_dates", "；".join(problems), details=problems)
    if times.doc_end - times.doc_start < _days(rules.min_days_document_period):
        problems.append(
            f"文件获取期不得少于 {rules.min_days_document_period} 日 (the document "
            f"period must last at least {rules.min_days_document_period} days)"
        )
    if times.bid_deadline - times.doc_start < _days(rules.min_days_documents_to_deadline):
        problems.append(
            f"自文件发出至投标截止不得少于 {rules.min_days_documents_to_deadline} 日 "
            f"(at least {rules.min_days_documents_to_deadline} days from documents "
            "to the bid deadline)"
        )
    if times.bid_deadline - times.clarification_deadline < _days(
        rules.min_days_questions_before_deadline
    ):
        problems.append(
            f"澄清截止时间须在投标截止前至少 {rules.min_days_questions_before_deadline}"
            f" 日 (the clarification deadline must be at least "
            f"{rules.min_days_questions_before_deadline} days before the bid "
            "deadline)"
        )
    if problems:
        raise Invalid("period_too_short", "；".join(problems), details=problems)


def check_amendment(
    *,
    changes_bid_content: bool,
    current_deadline: datetime,
    new_deadline: datetime | None,
    rules: PeriodRules,
    now: datetime,
) -> None:
    """An amendment that changes bid content needs the minimum notice before the deadline;
    if there is less time left, it must move the deadline far enough."""
    if now >= current_deadline:
        raise Invalid(
            "deadline_passed", "投标已截止，不能再澄清或修改 (the bid deadline has passed)"
        )
    if new_deadline is not None and new_deadline <= current_deadline:
        raise Invalid(
            "deadline_not_later",
            "新的投标截止时间须晚于原截止时间 (a new bid "
            "deadline must be later than the current one)",
        )
    if not changes_bid_content:
        return
    needed = _days(rules.min_days_amendment_before_deadline)
    effective = new_deadline or current_deadline
    if effective - now < needed:
        raise Invalid(
            "amendment_too_late",
            f"影响投标文件编制的修改须在投标截止前至少 "
            f"{rules.min_days_amendment_before_deadline} 日发出，否则须顺延投标截止时间 "
            f"(an amendment that changes bid content must come at least "
            f"{rules.min_days_amendment_before_deadline} days before the deadline, or "
            "move the deadline)",
        )


# -- archive retention (电子档案保管期限) ---------------------------------------------------

#: Retention categories of GB/T 18894-2016 (电子文件归档与电子档案管理规范): permanent
#: (永久), and fixed terms of 30 and 10 years (定期30年, 定期10年). docs/rules.md "Archive".
RETENTION_PERMANENT, RETENTION_30_YEARS, RETENTION_10_YEARS = "permanent", "30y", "10y"
RETENTION_YEARS: dict[str, int | None] = {
    RETENTION_PERMANENT: None, RETENTION_30_YEARS: 30, RETENTION_10_YEARS: 10}
RETENTION_TITLES = {RETENTION_PERMANENT: "永久", RETENTION_30_YEARS: "定期30年",
                    RETENTION_10_YEARS: "定期10年"}
#: Rights in land, minerals and state property are title records: kept for good.
RETENTION_PERMANENT_TRADE_TYPES = frozenset({"land_mineral", "state_property"})
#: Government procurement files are kept at least 15 years from the end of the procurement
#: (政府采购法 Art. 42), so never in the 10-year category, even without a contract.
RETENTION_AT_LEAST_15_YEARS_TRADE_TYPES = frozenset({"gov_procurement"})


def retention_for(trade_type: str, concluded: bool) -> str:
    """The retention category of a project's archive: permanent for title records; 30 years
    for a project that ended in a contract (and for any government procurement); 10 years for
    one that ended without any contract (every section failed or cancelled)."""
    if trade_type in RETENTION_PERMANENT_TRADE_TYPES:
        return RETENTION_PERMANENT
    if concluded or trade_type in RETENTION_AT_LEAST_15_YEARS_TRADE_TYPES:
        return RETENTION_30_YEARS
    return RETENTION_10_YEARS
