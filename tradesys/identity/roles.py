"""The roles a user can hold. One role per user account; an organisation may have many users."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    PROCURER = "procurer"  # 招标人/采购人
    AGENCY = "agency"  # 招标代理机构
    BIDDER = "bidder"  # 投标人
    EXPERT = "expert"  # 评标专家
    SUPERVISOR = "supervisor"  # 行政监督部门 (read-only)
    ADMIN = "admin"  # 平台运维


class Grant(StrEnum):
    """What an organisation is to one project."""

    OWNER = "owner"  # the procurer that owns the project
    HOST = "host"  # the agency entrusted to run it
    SUPERVISOR = "supervisor"
    EXPERT = "expert"


#: Which project grant lets a user of each role act on a project.
ROLE_GRANTS: dict[Role, frozenset[Grant]] = {
    Role.PROCURER: frozenset({Grant.OWNER}),
    Role.AGENCY: frozenset({Grant.HOST}),
    Role.SUPERVISOR: frozenset({Grant.SUPERVISOR}),
    Role.EXPERT: frozenset({Grant.EXPERT}),
    Role.BIDDER: frozenset(),
    Role.ADMIN: frozenset(),
}
