"""Finished bodies of public, anonymous reads (the notice list), kept until anything commits.

The notice list is the busiest read and the same for everyone; it changes only when something
is committed. Every commit in this process (the API's commands, the scheduler's passes) and,
on PostgreSQL, every event another process commits (the hall backplane's notifications) drops
the whole cache. A read stores its body only if no commit was announced since it began (the
generation check), so a page computed from data older than a commit is never kept. Entries also
expire after ``ttl`` seconds: a bound on staleness should a notification ever be missed.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Hashable


class ReadCache:
    def __init__(self, *, max_entries: int = 2048, ttl: float = 5.0) -> None:
        self.max_entries = max_entries
        self.ttl = ttl
        self.generation = 0
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[Hashable, tuple[float, bytes]] = OrderedDict()

    def invalidate(self) -> None:
        self.generation += 1
        self._entries.clear()

    def get(self, key: Hashable) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None or time.monotonic() - entry[0] > self.ttl:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return entry[1]

    def put(self, key: Hashable, generation: int, body: bytes) -> None:
        """Keeps ``body`` if nothing was committed since ``generation`` was read."""
        if generation != self.generation or self.max_entries <= 0:
            return
        self._entries[key] = (time.monotonic(), body)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
