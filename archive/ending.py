"""Whether a project has ended, and how each of its sections did: what may be archived.

A project is archived once nothing more can happen in it (docs/archive.md): every section has
one of these endings, read from the rows the steps write with their events:

- ``concluded``: the section's standing award (``awards.status = awarded``) has a contract
  signed by both parties (``contracts.state = signed``, ``contract.concluded``);
- ``tender_failed``: a failed tender is recorded (``tender_failures``, 招标失败);
- ``opening_failed``: the opening declared 流标 (too few bids, ``openings.phase = failed``);
- ``cancelled``: the section, or the whole project, was cancelled (终止).

Why the contracts table is read as a plain table here, not through ``contracts.models``:
``archive`` and ``contracts`` are peers in the layering (DESIGN.md §3, imports go down only),
so neither imports the other; the columns named below are all this package relies on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, LargeBinary, String, column, select, table
from sqlalchemy.ext.asyncio import AsyncSession

from tradesys.award.models import Award, TenderFailure
from tradesys.db.base import UTCDateTime
from tradesys.errors import Conflict
from tradesys.events.models import Event
from tradesys.opening.models import Opening
from tradesys.opening.state import FAILED
from tradesys.procurement.kinds import ProjectState, SectionState
from tradesys.procurement.models import Project, Section

#: The contracts table, as far as the archive reads it (contracts/models.py ``Contract``).
CONTRACTS = table(
    "contracts",
    column("id", Integer), column("award_id", String), column("project_id", Integer),
    column("purchaser_org_id", Integer), column("supplier_org_id", Integer),
    column("state", String), column("draft", Integer), column("pdf", LargeBinary),
    column("sha256", String), column("created_at", UTCDateTime),
)
CONTRACT_DRAFTS = table(
    "contract_drafts",
    column("id", Integer), column("contract_id", Integer), column("number", Integer),
    column("facts", String), column("pdf", LargeBinary), column("sha256", String),
    column("created_at", UTCDateTime),
)
CONTRACT_SIGNATURES = table(
    "contract_signatures",
    column("contract_id", Integer), column("field", String), column("state", String),
    column("org_id", Integer), column("signed_sha256", String),
    column("signed_at", UTCDateTime),
)

#: Amendments of a concluded contract (contracts/models.py ``ContractAmendment``).
CONTRACT_AMENDMENTS = table(
    "contract_amendments",
    column("id", Integer), column("contract_id", Integer), column("number", Integer),
    column("base_sha256", String), column("state", String), column("pdf", LargeBinary),
    column("sha256", String), column("proposed_sha256", String),
    column("created_at", UTCDateTime), column("concluded_at", UTCDateTime),
)

CONCLUDED, TENDER_FAILED, OPENING_FAILED, CANCELLED = (
    "concluded", "tender_failed", "opening_failed", "cancelled")
ENDING_TITLES = {CONCLUDED: "合同已签订", TENDER_FAILED: "招标失败", OPENING_FAILED: "流标",
                 CANCELLED: "已终止"}


@dataclass(frozen=True)
class SectionEnding:
    section: Section
    ending: str
    #: When it ended (the contract's conclusion, the failure, the cancellation).
    at: datetime
    #: The concluded contract's award id (``<section code>-<round>``).
    award_id: str | None = None


@dataclass(frozen=True)
class ProjectEnding:
    project: Project
    sections: list[SectionEnding]

    @property
    def ended_at(self) -> datetime:
        return max((s.at for s in self.sections),
                   default=self.project.cancelled_at or self.project.created_at)

    @property
    def concluded(self) -> bool:
        return any(s.ending == CONCLUDED for s in self.sections)


async def _event_time(session: AsyncSession, project_id: int, type: str,
                      aggregate_id: str | None = None) -> datetime | None:
    query = select(Event.occurred_at).where(Event.project_id == project_id, Event.type == type)
    if aggregate_id is not None:
        query = query.where(Event.aggregate_id == aggregate_id)
    return (await session.execute(query.order_by(Event.seq.desc()).limit(1))).scalar()


async def _ending(session: AsyncSession, project: Project, section: Section
                  ) -> SectionEnding | str:
    """The section's ending, or what it still waits for (a Chinese phrase)."""
    if project.state == ProjectState.CANCELLED or section.state == SectionState.CANCELLED:
        at = project.cancelled_at or section.closed_at or project.created_at
        return SectionEnding(section, CANCELLED, at)
    failure = await session.get(TenderFailure, section.id)
    if failure is not None:
        return SectionEnding(section, TENDER_FAILED, failure.at)
    opening = await session.get(Opening, section.id)
    if opening is not None and opening.phase == FAILED:
        return SectionEnding(section, OPENING_FAILED, opening.updated_at)
    award = (await session.execute(select(Award).where(
        Award.section_id == section.id, Award.status == "awarded")
        .order_by(Award.round.desc()).limit(1))).scalar_one_or_none()
    if award is None:
        return "尚未定标"
    award_id = f"{section.code}-{award.round}"
    contract = (await session.execute(select(CONTRACTS.c.id, CONTRACTS.c.state).where(
        CONTRACTS.c.award_id == award_id))).first()
    if contract is None or contract.state != "signed":
        return "合同尚未签订"
    at = await _event_time(session, project.id, "contract.concluded", str(contract.id))
    return SectionEnding(section, CONCLUDED, at or award.awarded_at, award_id)


class NotEnded(Conflict):
    pass


async def project_ending(session: AsyncSession, project: Project) -> ProjectEnding:
    """Every section's ending; :class:`NotEnded` (409 ``project_not_ended``) naming the sections
    still under way when any is."""
    sections = list((await session.execute(select(Section).where(
        Section.project_id == project.id).order_by(Section.lot_no))).scalars().all())
    endings: list[SectionEnding] = []
    waiting: list[dict[str, str]] = []
    for section in sections:
        found = await _ending(session, project, section)
        if isinstance(found, str):
            waiting.append({"section": section.code, "waiting_for": found})
        else:
            endings.append(found)
    if not sections and project.state != ProjectState.CANCELLED:
        waiting.append({"section": "", "waiting_for": "尚无标段"})
    if waiting:
        names = "；".join(f"{w['section']} {w['waiting_for']}" for w in waiting)
        raise NotEnded("project_not_ended", f"项目尚未结束，不能归档：{names} (the project has "
                       "not ended: every section must have a concluded contract, a failed "
                       "tender, a failed opening or be cancelled)", details={"sections": waiting})
    return ProjectEnding(project, endings)
