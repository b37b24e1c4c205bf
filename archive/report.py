"""What the offline verifier found: every failure named, and what was checked, counted."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Report:
    failures: list[str] = field(default_factory=list)
    #: What was checked, counted (for the summary line).
    checked: dict[str, int] = field(default_factory=dict)
    archive_sha256: str | None = None

    @property
    def ok(self) -> bool:
        return not self.failures

    def fail(self, message: str) -> None:
        self.failures.append(message)

    def count(self, what: str, n: int = 1) -> None:
        self.checked[what] = self.checked.get(what, 0) + n
