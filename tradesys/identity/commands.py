"""Validated inputs of identity commands."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from tradesys.identity.roles import Role
from tradesys.strict import ONE_LINE, Strict

#: A password is taken verbatim: the model-wide whitespace stripping of ``Strict`` would
#: silently change it (and make a password set through the CLI, which never strips, fail to
#: log in through the API when it starts or ends with a space).
Password = Annotated[
    str, StringConstraints(strip_whitespace=False), Field(min_length=1, max_length=256)
]
#: Ids are 32-bit on every back end; a larger number is no id at all (not a database error).
Id = Annotated[int, Field(ge=1, le=2**31 - 1)]


class NewOrganisation(Strict):
    name: Annotated[str, Field(min_length=1, max_length=200), ONE_LINE]
    credit_code: Annotated[str, Field(min_length=18, max_length=18)]


class NewUser(Strict):
    org_id: Id
    username: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{3,64}$")]
    display_name: Annotated[str, Field(min_length=1, max_length=100), ONE_LINE]
    password: Password
    role: Role


class Login(Strict):
    username: Annotated[str, Field(min_length=1, max_length=64)]
    password: Password


class NewToken(Strict):
    username: Annotated[str, Field(min_length=1, max_length=64)]
    password: Password
    name: Annotated[str, Field(min_length=1, max_length=100), ONE_LINE] = "cli"
    #: Days the token lives; absent or null: the longest allowed (``TRADESYS_TOKEN_MAX_TTL_DAYS``,
    #: which also refuses more). The bound here only keeps the number a number of days.
    ttl_days: Annotated[int, Field(ge=1, le=36500)] | None = None


class EditOrganisation(Strict):
    """A correction of an organisation's registration; an absent field stays as it is."""

    name: Annotated[str, Field(min_length=1, max_length=200), ONE_LINE] | None = None
    credit_code: Annotated[str, Field(min_length=18, max_length=18)] | None = None


class RedeemReset(Strict):
    """The holder of a one-time reset link sets a new password (tradesys/identity/resets.py)."""

    token: Annotated[str, Field(pattern=r"^rst_[A-Za-z0-9_-]{43}$")]
    password: Password


class GrantSupervisor(Strict):
    org_id: Id


class Replay(Strict):
    """Re-queue the dead-lettered reports: all, or one project's."""

    project_id: Id | None = None
