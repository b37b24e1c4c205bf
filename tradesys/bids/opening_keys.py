"""Section opening keys (开标密钥): made when the notice is published, split k-of-n at once.

The private key exists only inside :func:`tradesys.bids.shamir.split_opening_key` for the time
it takes to split it; the database holds the public key and the wrapped shares.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tradesys.bids.encoding import b64u
from tradesys.bids.keyring import HOLDER_ROLES, KeyPurpose, active_holder_key
from tradesys.bids.keys import key_id
from tradesys.bids.models import EncryptionKey, OpeningKey, OpeningKeyShare
from tradesys.bids.shamir import split_opening_key
from tradesys.errors import Invalid
from tradesys.events.log import Actor, append_event
from tradesys.identity.models import Organisation, User
from tradesys.identity.roles import Grant, Role
from tradesys.procurement.access import grants_of
from tradesys.procurement.models import Project, ProjectGrant, Section


def may_hold_share(role: Role, grants: set[Grant]) -> bool:
    """A supervisor of a department granted the project, the project's host agency, or its
    owner procurer (one rule, two uses): a share given to an ungranted supervisor could not be
    released (supervision follows jurisdiction, tradesys/procurement/supervisors.py)."""
    return role in HOLDER_ROLES and (
        (role is Role.SUPERVISOR and Grant.SUPERVISOR in grants)
        or (role is Role.AGENCY and Grant.HOST in grants)
        or (role is Role.PROCURER and Grant.OWNER in grants))


async def check_holders(session: AsyncSession, project: Project, holder_ids: Sequence[int],
                        threshold: int) -> list[tuple[User, int, str]]:
    """The holders as (user, key row id, public key); refuses anyone unfit to hold a share."""
    if len(set(holder_ids)) != len(holder_ids):
        raise Invalid("duplicate_key_holder", "开标密钥持有人不能重复 (each key holder once)")
    if not 2 <= threshold <= len(holder_ids):
        raise Invalid("bad_threshold", f"门限须在 2 与持有人数 {len(holder_ids)} 之间 (the "
                      "threshold must be between 2 and the number of holders)")
    holders = []
    for user_id in holder_ids:
        user = await session.get(User, user_id)
        if user is None or not user.active:
            raise Invalid("key_holder_unknown", f"用户 {user_id} 不存在或已停用 (no such active "
                          "user)")
        role = Role(user.role)
        grants = await grants_of(session, project.id, user.org_id)
        if not may_hold_share(role, grants):
            raise Invalid("key_holder_not_party", f"用户 {user_id} 不是本项目的代理机构、招标人或"
                          "监督人员 (a key holder must be of the project's agency, its procurer, "
                          "or a supervisor)")
        key = await active_holder_key(session, user_id)
        if key is None:
            raise Invalid("key_holder_without_key", f"用户 {user_id} 尚未登记开标密钥持有人公钥 "
                          "(the holder has no registered holder key)")
        holders.append((user, key.id, key.public_key))
    return holders


async def holder_candidates(session: AsyncSession, project: Project) -> list[tuple[User, str]]:
    """Users who may hold an opening-key share of this project: the host's and the owner's
    agency/procurer users and the granted supervisors, each with a registered holder key."""
    granted = select(ProjectGrant.org_id).where(ProjectGrant.project_id == project.id)
    rows = (await session.execute(
        select(User, Organisation.name)
        .join(Organisation, Organisation.id == User.org_id)
        .join(EncryptionKey, EncryptionKey.user_id == User.id)
        .where(User.active.is_(True), EncryptionKey.purpose == KeyPurpose.HOLDER.value,
               EncryptionKey.revoked_at.is_(None),
               (User.role == Role.SUPERVISOR.value)
               | ((User.role.in_([Role.AGENCY.value, Role.PROCURER.value]))
                  & User.org_id.in_(granted)))
        .order_by(User.id).distinct())).all()
    fit = []
    for user, org_name in rows:
        grants = await grants_of(session, project.id, user.org_id)
        role = Role(user.role)
        if may_hold_share(role, grants):
            fit.append((user, org_name))
    return fit


async def create_opening_keys(session: AsyncSession, *, actor: Actor, at: datetime,
                              project: Project, sections: Sequence[Section],
                              holders: Sequence[tuple[User, int, str]],
                              threshold: int) -> dict[int, str]:
    """One opening key per section, split to the holders; returns section id → public key."""
    made = {}
    for section in sections:
        opening_pub, wrapped = split_opening_key(section.code, [pub for _, _, pub in holders],
                                                 threshold)
        row = OpeningKey(section_id=section.id, public_key=b64u(opening_pub),
                         threshold=threshold, holders=len(holders), created_at=at)
        session.add(row)
        await session.flush()
        for (user, key_row_id, _), share in zip(holders, wrapped, strict=True):
            session.add(OpeningKeyShare(opening_key_id=row.id, holder_user_id=user.id,
                                        holder_key_id=key_row_id, share_index=share["index"],
                                        wrapped=json.dumps(share, sort_keys=True)))
        await session.flush()
        await append_event(
            session, actor=actor, at=at, aggregate_type="section", aggregate_id=section.id,
            project_id=project.id, type="opening_key.created",
            payload={"section_code": section.code, "public_key": row.public_key,
                     "key_id": key_id(opening_pub), "threshold": threshold,
                     "holders": [user.id for user, _, _ in holders]})
        made[section.id] = row.public_key
    return made


async def opening_key_of(session: AsyncSession, section_id: int) -> OpeningKey | None:
    return (await session.execute(
        select(OpeningKey).where(OpeningKey.section_id == section_id))).scalar_one_or_none()
