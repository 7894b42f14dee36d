"""Signed-in sessions, in this process's memory: a restart signs everyone out (decisions.md)."""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(frozen=True)
class StoredSession:
    session_id: str
    username: str
    token: str  # the person's JWT for the APIs; it never leaves the server
    expires_at: float


class SessionStore:
    def __init__(self) -> None:
        self._sessions: dict[str, StoredSession] = {}

    def add(self, session: StoredSession) -> None:
        self._prune()
        self._sessions[session.session_id] = session

    def get(self, session_id: str) -> StoredSession | None:
        found = self._sessions.get(session_id)
        if found is not None and found.expires_at <= time.time():
            self._sessions.pop(session_id, None)
            return None
        return found

    def remove(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)

    def _prune(self) -> None:
        now = time.time()
        for sid in [s for s, v in self._sessions.items() if v.expires_at <= now]:
            del self._sessions[sid]
