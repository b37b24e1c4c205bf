"""Who may sit on a section's committee: pure, so the draw, its tests and an auditor agree.

Avoidance (回避, 法 Art. 37, 条例 Art. 46): an expert is ineligible when they work for, or have
declared a tie to, a bidder of the section, the procurer or the host agency, or work for or are
tied to the project's supervising department. Eligible experts must also match one of the
requested specialties (and region, when the request names regions) and have an active profile.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

#: Reasons an expert is avoided (logged per expert with the draw, so the screening is auditable).
BIDDER_ORG, BIDDER_TIE = "bidder_org", "bidder_tie"
PROCURER_ORG, PROCURER_TIE = "procurer_org", "procurer_tie"
SUPERVISOR_ORG, SUPERVISOR_TIE = "supervisor_org", "supervisor_tie"
AGENCY_ORG, AGENCY_TIE = "agency_org", "agency_tie"


@dataclass(frozen=True)
class Candidate:
    """An expert of the pool as the screening sees them."""

    user_id: int
    org_id: int
    specialties: frozenset[str]
    region_code: str
    #: Unified social credit codes of the organisations the expert declared ties to.
    ties: frozenset[str]
    active: bool = True


@dataclass(frozen=True)
class Party:
    org_id: int
    credit_code: str


@dataclass(frozen=True)
class Parties:
    """The organisations with an interest in the section."""

    bidders: tuple[Party, ...]
    procurer: Party
    agency: Party | None = None
    supervisors: tuple[Party, ...] = ()


@dataclass(frozen=True)
class Criteria:
    specialties: frozenset[str]
    regions: frozenset[str] = frozenset()
    #: Users never to draw (sitting members, members who withdrew, representatives).
    excluded: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Screening:
    #: Eligible user ids, ascending: the pool snapshot the draw runs over.
    eligible: tuple[int, ...]
    #: Avoided experts and why (a conflict of interest, not a mismatch of specialty).
    avoided: dict[int, str] = field(default_factory=dict)


def _conflict(candidate: Candidate, parties: Parties) -> str | None:
    groups: list[tuple[Iterable[Party], str, str]] = [
        (parties.bidders, BIDDER_ORG, BIDDER_TIE),
        ((parties.procurer,), PROCURER_ORG, PROCURER_TIE),
        (parties.supervisors, SUPERVISOR_ORG, SUPERVISOR_TIE),
        ((parties.agency,) if parties.agency else (), AGENCY_ORG, AGENCY_TIE),
    ]
    for members, org_reason, tie_reason in groups:
        for party in members:
            if candidate.org_id == party.org_id:
                return org_reason
            if party.credit_code.upper() in candidate.ties:
                return tie_reason
    return None


def screen(candidates: Iterable[Candidate], parties: Parties, criteria: Criteria) -> Screening:
    eligible: list[int] = []
    avoided: dict[int, str] = {}
    for candidate in candidates:
        if not candidate.active or candidate.user_id in criteria.excluded:
            continue
        if not candidate.specialties & criteria.specialties:
            continue
        if criteria.regions and candidate.region_code not in criteria.regions:
            continue
        reason = _conflict(candidate, parties)
        if reason is not None:
            avoided[candidate.user_id] = reason
            continue
        eligible.append(candidate.user_id)
    return Screening(tuple(sorted(set(eligible))), dict(sorted(avoided.items())))
