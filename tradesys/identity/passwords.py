"""Password hashing with argon2id. A dummy verify keeps unknown users as slow as known ones.

The cost comes from ``TRADESYS_ARGON2_*`` (tradesys/settings.py ``argon2_parameters``), read
once per process; the dummy hash has the same cost, so that an unknown user's login takes as
long as a known one's.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from tradesys.settings import argon2_parameters

_parameters = argon2_parameters()
_hasher = PasswordHasher(time_cost=_parameters.time_cost, memory_cost=_parameters.memory_kib,
                         parallelism=_parameters.parallelism)
_DUMMY = _hasher.hash("tradesys-dummy-password")

MIN_LENGTH = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
