"""The expert pool (评标专家库): profiles kept by the platform operator, ties declared by the
experts themselves. Every change is one ``expert`` event (invariant 3)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tradesys.errors import Invalid, NotFound
from tradesys.evaluation.avoidance import Candidate
from tradesys.evaluation.models import ExpertProfile
from tradesys.events.log import append_event
from tradesys.identity.credit_code import is_valid_credit_code
from tradesys.identity.models import User
from tradesys.identity.principal import Principal
from tradesys.identity.roles import Role

AGGREGATE = "expert"


@dataclass(frozen=True)
class ProfileFields:
    specialties: list[str]
    region_code: str
    ties: list[str]
    active: bool = True


def _check_ties(ties: list[str]) -> list[str]:
    codes = sorted({code.upper() for code in ties})
    bad = [code for code in codes if not is_valid_credit_code(code)]
    if bad:
        raise Invalid("bad_credit_code", "统一社会信用代码校验失败 (a tie names an invalid "
                      f"unified social credit code): {', '.join(bad)}")
    return codes


def profile_json(profile: ExpertProfile) -> dict[str, object]:
    return {"user_id": profile.user_id, "specialties": json.loads(profile.specialties),
            "region_code": profile.region_code, "ties": json.loads(profile.ties),
            "active": profile.active}


async def save_profile(session: AsyncSession, principal: Principal, user_id: int,
                       fields: ProfileFields, now: datetime) -> tuple[ExpertProfile, User]:
    """Create or replace an expert's profile (the platform operator only)."""
    principal.require_role(Role.ADMIN)
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("user_not_found", "用户不存在 (no such user)")
    if user.role != Role.EXPERT.value:
        raise Invalid("not_an_expert", "只有评标专家角色的用户可入专家库 (only a user of role "
                      "expert can be in the expert pool)")
    ties = _check_ties(fields.ties)
    specialties = sorted(set(fields.specialties))
    profile = await session.get(ExpertProfile, user_id, with_for_update=True)
    if profile is None:
        profile = ExpertProfile(user_id=user_id)
        session.add(profile)
    profile.specialties = json.dumps(specialties)
    profile.region_code = fields.region_code
    profile.ties = json.dumps(ties)
    profile.active = fields.active
    profile.updated_at = now
    await session.flush()
    await append_event(session, actor=principal.actor, at=now, aggregate_type=AGGREGATE,
                       aggregate_id=user_id, type="expert.profile_saved",
                       payload=profile_json(profile))
    return profile, user


async def declare_tie(session: AsyncSession, principal: Principal, credit_code: str,
                      now: datetime) -> ExpertProfile:
    """An expert adds a tie to an organisation (法 Art. 37: they must disclose interests).
    Experts can only add ties: removing one would re-open a door avoidance closed, so only the
    operator (who checks the evidence) may edit a profile's ties."""
    principal.require_role(Role.EXPERT)
    profile = await session.get(ExpertProfile, principal.user_id, with_for_update=True)
    if profile is None:
        raise NotFound("no_expert_profile", "您尚未入库，请联系平台运营方 (you have no profile "
                       "in the expert pool yet; ask the platform operator)")
    ties = set(json.loads(profile.ties)) | set(_check_ties([credit_code]))
    profile.ties = json.dumps(sorted(ties))
    profile.updated_at = now
    await session.flush()
    await append_event(session, actor=principal.actor, at=now, aggregate_type=AGGREGATE,
                       aggregate_id=principal.user_id, type="expert.tie_declared",
                       payload={"user_id": principal.user_id,
                                "credit_code": credit_code.upper()})
    return profile


async def list_profiles(session: AsyncSession, principal: Principal
                        ) -> list[tuple[ExpertProfile, User]]:
    principal.require_role(Role.ADMIN)
    rows = (await session.execute(
        select(ExpertProfile, User).join(User, User.id == ExpertProfile.user_id)
        .order_by(ExpertProfile.user_id))).all()
    return [(profile, user) for profile, user in rows]


async def candidates(session: AsyncSession) -> list[Candidate]:
    """Every profile of an active expert user, as the screening sees it."""
    rows = (await session.execute(
        select(ExpertProfile, User).join(User, User.id == ExpertProfile.user_id)
        .order_by(ExpertProfile.user_id))).all()
    return [Candidate(user_id=profile.user_id, org_id=user.org_id,
                      specialties=frozenset(json.loads(profile.specialties)),
                      region_code=profile.region_code,
                      ties=frozenset(json.loads(profile.ties)),
                      active=profile.active and user.active and user.role == Role.EXPERT.value)
            for profile, user in rows]
