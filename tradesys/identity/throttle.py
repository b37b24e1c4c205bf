"""Login throttling: per (account, address) with growing delays, and a budget per address.

The old rule (5 failures lock a user name for 15 minutes from everywhere) let anyone lock any
bidder out on deadline day by typing wrong passwords. Now failures count against the pair of
user name and address they came from, so the right password from the bidder's own address is
never refused because of failures elsewhere:

- per (user name, address), failures within :data:`PAIR_WINDOW`: the first
  :data:`FREE_FAILURES` cost nothing; from then on each further attempt waits
  :data:`FIRST_DELAY` after the latest failure, doubling with each failure up to
  :data:`MAX_DELAY`. A successful login from that address forgets the pair's failures.
- per address, across all user names: at most :data:`ADDRESS_BUDGET` failures within
  :data:`ADDRESS_WINDOW`; then every login from it waits until enough of them age out (one
  address guessing at many accounts).

A refusal says when to come back (``retry_after`` seconds, sent as ``Retry-After``).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tradesys.errors import TooManyRequests
from tradesys.identity.models import LoginAttempt

FREE_FAILURES = 3
FIRST_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(minutes=15)
PAIR_WINDOW = timedelta(hours=1)
ADDRESS_BUDGET = 30
ADDRESS_WINDOW = timedelta(minutes=15)
#: As stored (the columns' lengths): the same truncation when counting and when recording.
FIELD_LENGTH = 64


def pair_delay(failures: int) -> timedelta:
    """How long after the latest failure the pair must wait, given its failures so far."""
    if failures < FREE_FAILURES:
        return timedelta(0)
    doublings = failures - FREE_FAILURES
    if doublings >= 32:
        return MAX_DELAY
    return min(FIRST_DELAY * 2**doublings, MAX_DELAY)


def _seconds(delta: timedelta) -> int:
    return max(1, math.ceil(delta.total_seconds()))


async def _pair_wait(session: AsyncSession, username: str, ip: str,
                     at: datetime) -> timedelta:
    failures, latest = (await session.execute(
        select(func.count(), func.max(LoginAttempt.at)).where(
            LoginAttempt.username == username, LoginAttempt.ip == ip,
            LoginAttempt.at > at - PAIR_WINDOW))).one()
    if latest is None:
        return timedelta(0)
    if latest.tzinfo is None:  # an aggregate comes back without the column's type
        latest = latest.replace(tzinfo=at.tzinfo)
    return latest + pair_delay(failures) - at


async def _address_wait(session: AsyncSession, ip: str, at: datetime) -> timedelta:
    since = at - ADDRESS_WINDOW
    failures = (await session.execute(
        select(func.count()).where(LoginAttempt.ip == ip, LoginAttempt.at > since)
    )).scalar_one()
    if failures < ADDRESS_BUDGET:
        return timedelta(0)
    # Free again when this failure ages out: then fewer than the budget remain.
    freeing = (await session.execute(
        select(LoginAttempt.at).where(LoginAttempt.ip == ip, LoginAttempt.at > since)
        .order_by(LoginAttempt.at).offset(failures - ADDRESS_BUDGET).limit(1)
    )).scalar_one()
    return freeing + ADDRESS_WINDOW - at


async def check(session: AsyncSession, *, username: str, ip: str, at: datetime) -> None:
    """Refuses (429) while this user name from this address, or this address, must wait."""
    username, ip = username[:FIELD_LENGTH], ip[:FIELD_LENGTH]
    wait = max(await _pair_wait(session, username, ip, at),
               await _address_wait(session, ip, at))
    if wait > timedelta(0):
        retry_after = _seconds(wait)
        raise TooManyRequests(
            "too_many_login_attempts",
            f"登录失败次数过多，请 {math.ceil(retry_after / 60)} 分钟后再试 (too many failed "
            f"logins: try again in {retry_after} s)",
            {"retry_after": retry_after},
        )


async def record_failure(session: AsyncSession, *, username: str, ip: str,
                         at: datetime) -> None:
    session.add(LoginAttempt(username=username[:FIELD_LENGTH], ip=ip[:FIELD_LENGTH], at=at))
    await session.flush()


async def forget_pair(session: AsyncSession, *, username: str, ip: str) -> None:
    """After a successful login: the pair starts afresh. Only the pair's own failures go, so
    logging in to one's own account buys no guesses at anyone else's."""
    await session.execute(delete(LoginAttempt).where(
        LoginAttempt.username == username[:FIELD_LENGTH],
        LoginAttempt.ip == ip[:FIELD_LENGTH]))
