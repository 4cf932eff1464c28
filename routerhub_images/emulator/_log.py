"""The emulator's record of the requests it served (never the keys they carried)."""

from __future__ import annotations

import dataclasses
import threading


@dataclasses.dataclass(frozen=True)
class LoggedRequest:
    """One request as the emulator saw it.

    Attributes:
        method: The HTTP method.
        path: The URL path.
        model: The model named in the path, as given; ``None`` off the endpoint.
        status: The HTTP status answered (200 for a dropped connection).
        auth: ``"bearer"``, ``"x-goog-api-key"`` or ``None`` for no credentials.
        time: Wall-clock seconds (``time.time()``) when the request arrived.
        fault: The scripted fault's kind, if one was applied.
    """

    method: str
    path: str
    model: str | None
    status: int
    auth: str | None
    time: float
    fault: str | None = None


class RequestLog:
    """A thread-safe, append-only list of ``LoggedRequest``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[LoggedRequest] = []

    def append(self, entry: LoggedRequest) -> None:
        """Record one request."""
        with self._lock:
            self._entries.append(entry)

    @property
    def entries(self) -> list[LoggedRequest]:
        """A snapshot of the requests served, oldest first."""
        with self._lock:
            return list(self._entries)

    @property
    def count(self) -> int:
        """The number of requests served."""
        with self._lock:
            return len(self._entries)

    @property
    def statuses(self) -> list[int]:
        """The HTTP statuses answered, oldest first."""
        return [entry.status for entry in self.entries]

    def clear(self) -> None:
        """Forget every request."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return self.count
