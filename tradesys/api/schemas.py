"""Response models of the API (requests are the domain's command models)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from tradesys.identity.models import ApiToken, Organisation, User
from tradesys.procurement.models import (
    Clarification,
    Notice,
    Project,
    Question,
    Section,
    TenderDocument,
)
from tradesys.procurement.projects import money


class OrganisationOut(BaseModel):
    id: int
    name: str
    credit_code: str
    #: False once the admin disabled it (its users are refused).
    active: bool = True

    @classmethod
    def of(cls, org: Organisation) -> OrganisationOut:
        return cls(id=org.id, name=org.name, credit_code=org.credit_code,
                   active=org.active is not False)


class UserOut(BaseModel):
    id: int
    org_id: int
    username: str
    display_name: str
    role: str
    active: bool

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.id,
            org_id=user.org_id,
            username=user.username,
            display_name=user.display_name,
            role=user.role,
            active=user.active,
        )


class LoginOut(BaseModel):
    user: UserOut
    csrf_token: str
    expires_at: datetime


class TokenInfoOut(BaseModel):
    """A token as its owner lists it: never the secret itself."""

    #: The opaque public id (``tok_…``): ``DELETE /auth/tokens/{id}`` revokes it.
    id: str
    name: str
    created_at: datetime
    expires_at: datetime | None

    @classmethod
    def of(cls, token: ApiToken) -> TokenInfoOut:
        return cls(id=token.public_id, name=token.name, created_at=token.created_at,
                   expires_at=token.expires_at)


class TokenOut(TokenInfoOut):
    """A newly issued token: the only time its secret is shown."""

    token: str


class TokenListOut(BaseModel):
    items: list[TokenInfoOut]


class SectionOut(BaseModel):
    id: int
    code: str
    lot_no: int
    name: str
    content: str
    budget: str | None
    ceiling_price: str | None
    bid_security: str | None
    state: str
    bid_deadline: datetime | None

    @classmethod
    def of(cls, section: Section) -> SectionOut:
        return cls(
            id=section.id,
            code=section.code,
            lot_no=section.lot_no,
            name=section.name,
            content=section.content,
            budget=money(section.budget),
            ceiling_price=money(section.ceiling_price),
            bid_security=money(section.bid_security),
            state=section.state,
            bid_deadline=section.bid_deadline,
        )


class ProjectOut(BaseModel):
    id: int
    code: str
    name: str
    trade_type: str
    category: str
    procedure: str
    region_code: str
    content: str
    owner_name: str
    procurer_org_id: int
    agency_org_id: int | None
    state: str
    created_at: datetime
    cancelled_at: datetime | None
    #: The named organisation's answer to the entrustment: ``pending`` or ``declined`` (the
    #: project cannot be announced), ``accepted``; null when the project names no other party.
    entrustment: Literal["pending", "declined", "accepted"] | None
    sections: list[SectionOut]

    @classmethod
    def of(cls, project: Project, sections: list[Section],
           entrustment: str | None) -> ProjectOut:
        return cls(
            id=project.id,
            code=project.code,
            name=project.name,
            trade_type=project.trade_type,
            category=project.category,
            procedure=project.procedure,
            region_code=project.region_code,
            content=project.content,
            owner_name=project.owner_name,
            procurer_org_id=project.procurer_org_id,
            agency_org_id=project.agency_org_id,
            state=project.state,
            created_at=project.created_at,
            cancelled_at=project.cancelled_at,
            entrustment=entrustment,
            sections=[SectionOut.of(section) for section in sections],
        )


class ProjectSummary(BaseModel):
    id: int
    code: str
    name: str
    procedure: str
    state: str
    created_at: datetime
    #: A bidder's own involvement: ``obtained`` (it obtained the documents), ``bid`` (it holds a
    #: current sealed bid in a section). Empty for every other role.
    marks: list[Literal["obtained", "bid"]] = []


class ProjectPage(BaseModel):
    items: list[ProjectSummary]
    next_cursor: str | None


class MilestoneOut(BaseModel):
    """One milestone of a project's timeline: a fixed label and a time, never a payload."""

    seq: int
    type: str
    label: str
    occurred_at: datetime


class TimelineOut(BaseModel):
    project_id: int
    items: list[MilestoneOut]


class NoticeOut(BaseModel):
    id: int
    project_id: int
    project_code: str
    project_name: str
    kind: str
    title: str
    published_at: datetime
    bid_deadline: datetime | None


class NoticeDetail(NoticeOut):
    content: str
    doc_start: datetime | None
    doc_end: datetime | None
    clarification_deadline: datetime | None
    opening_place: str | None
    consortium_allowed: bool
    contact: str | None
    procedure: str
    trade_type: str
    region_code: str
    sections: list[SectionOut]

    @classmethod
    def of(cls, notice: Notice, project: Project, sections: list[Section]) -> NoticeDetail:
        return cls(
            id=notice.id,
            project_id=project.id,
            project_code=project.code,
            project_name=project.name,
            kind=notice.kind,
            title=notice.title,
            published_at=notice.published_at,
            bid_deadline=notice.bid_deadline,
            content=notice.content,
            doc_start=notice.doc_start,
            doc_end=notice.doc_end,
            clarification_deadline=notice.clarification_deadline,
            opening_place=notice.opening_place,
            consortium_allowed=notice.consortium_allowed,
            contact=notice.contact,
            procedure=project.procedure,
            trade_type=project.trade_type,
            region_code=project.region_code,
            sections=[SectionOut.of(section) for section in sections],
        )


class NoticePage(BaseModel):
    items: list[NoticeOut]
    next_cursor: str | None


class DocumentOut(BaseModel):
    id: int
    filename: str
    content_type: str
    sha256: str
    size: int
    uploaded_at: datetime

    @classmethod
    def of(cls, document: TenderDocument) -> DocumentOut:
        return cls(
            id=document.id,
            filename=document.filename,
            content_type=document.content_type,
            sha256=document.sha256,
            size=document.size,
            uploaded_at=document.uploaded_at,
        )


class DocumentList(BaseModel):
    items: list[DocumentOut]


class DownloadOut(BaseModel):
    """One line of the document-download log (获取招标文件记录)."""

    document_id: int
    filename: str
    org_name: str
    credit_code: str
    obtained_at: datetime


class DownloadList(BaseModel):
    items: list[DownloadOut]


class QuestionOut(BaseModel):
    #: The question's opaque public id (a sequence would count the questions hidden from you).
    id: str
    text: str
    asked_at: datetime
    answer: str | None
    answered_at: datetime | None
    #: True only for the asker itself and for the project's managers' own view of it.
    mine: bool

    @classmethod
    def of(cls, question: Question, mine: bool) -> QuestionOut:
        return cls(
            id=question.public_id,
            text=question.text,
            asked_at=question.asked_at,
            answer=question.answer,
            answered_at=question.answered_at,
            mine=mine,
        )


class QuestionList(BaseModel):
    items: list[QuestionOut]


class ClarificationOut(BaseModel):
    id: int
    number: int
    title: str
    content: str
    changes_bid_content: bool
    previous_bid_deadline: datetime
    new_bid_deadline: datetime | None
    document_id: int | None
    published_at: datetime

    @classmethod
    def of(cls, item: Clarification) -> ClarificationOut:
        return cls(
            id=item.id,
            number=item.number,
            title=item.title,
            content=item.content,
            changes_bid_content=item.changes_bid_content,
            previous_bid_deadline=item.previous_bid_deadline,
            new_bid_deadline=item.new_bid_deadline,
            document_id=item.document_id,
            published_at=item.published_at,
        )


class ClarificationList(BaseModel):
    items: list[ClarificationOut]


class ServerTime(BaseModel):
    now: datetime
    timezone: str
    display: str


class OrganisationRef(BaseModel):
    name: str
    credit_code: str


class StandingEntrustmentOut(BaseModel):
    """A standing entrustment (长期委托) of the caller's organisation: projects that
    ``counterpart`` registers naming it need no acceptance each while it is in force."""

    id: int
    counterpart: OrganisationRef
    created_at: datetime


class StandingEntrustmentList(BaseModel):
    items: list[StandingEntrustmentOut]


class EntrustmentRequestOut(BaseModel):
    """A project that names the caller's organisation and awaits its answer."""

    project_id: int
    project_code: str
    project_name: str
    #: What the caller's organisation would be: ``owner`` (招标人) or ``host`` (代理机构).
    grant: Literal["owner", "host"]
    requested_by: OrganisationRef
    registered_at: datetime


class EntrustmentRequestList(BaseModel):
    items: list[EntrustmentRequestOut]
