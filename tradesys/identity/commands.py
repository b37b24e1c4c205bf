"""Validated inputs of identity commands."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from tradesys.identity.roles import Role
from tradesys.strict import Strict


class NewOrganisation(Strict):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    credit_code: Annotated[str, Field(min_length=18, max_length=18)]


class NewUser(Strict):
    org_id: int
    username: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{3,64}$")]
    display_name: Annotated[str, Field(min_length=1, max_length=100)]
    password: Annotated[str, Field(min_length=1, max_length=256)]
    role: Role


class Login(Strict):
    username: Annotated[str, Field(min_length=1, max_length=64)]
    password: Annotated[str, Field(min_length=1, max_length=256)]


class NewToken(Strict):
    username: Annotated[str, Field(min_length=1, max_length=64)]
    password: Annotated[str, Field(min_length=1, max_length=256)]
    name: Annotated[str, Field(min_length=1, max_length=100)] = "cli"
    ttl_days: Annotated[int, Field(ge=1, le=365)] | None = 30
