"""Domain errors. The route layer maps each kind to an HTTP status; domain code never does.

Every error carries a stable machine ``code`` and a human ``message`` (Chinese first, with the
English meaning) so a client can both react to it and show it.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every refusal the domain makes. Raising one rolls back the whole command."""

    kind = "invalid"

    def __init__(self, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


class Invalid(DomainError):
    """The request is well-formed but breaks a rule (dates, periods, formats)."""

    kind = "invalid"


class NotFound(DomainError):
    kind = "not_found"


class Unauthenticated(DomainError):
    kind = "unauthenticated"


class Forbidden(DomainError):
    kind = "forbidden"


class Conflict(DomainError):
    """The request conflicts with the current state (wrong workflow state, duplicates)."""

    kind = "conflict"


class TooManyRequests(DomainError):
    kind = "rate_limited"
