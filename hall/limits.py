"""How many hall connections one client address may hold open at once.

Every connection costs a queue, a reader and a writer task, and a share of each broadcast; one
address opening thousands would take them from everyone else. The count is per process (as the
rooms are), on purpose: what it protects is this process's memory and broadcast time, which it
bounds exactly; a count shared through the database would cost a write per handshake and keep
the slots of a killed process taken. One bound over all processes is the proxy's job
(nginx ``limit_conn``: docs/operations.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class AddressLimit:
    #: Connections one address may hold; 0 means no limit (the hall sets it from
    #: TRADESYS_HALL_MAX_CONNECTIONS_PER_ADDRESS).
    limit: int = 0
    _open: dict[str, int] = field(default_factory=dict)

    def admit(self, address: str) -> bool:
        """Takes a slot for ``address`` if one is free; each True needs one :meth:`release`."""
        count = self._open.get(address, 0)
        if self.limit and count >= self.limit:
            return False
        self._open[address] = count + 1
        return True

    def release(self, address: str) -> None:
        count = self._open.get(address, 0) - 1
        if count > 0:
            self._open[address] = count
        else:
            self._open.pop(address, None)

    def open_from(self, address: str) -> int:
        return self._open.get(address, 0)
