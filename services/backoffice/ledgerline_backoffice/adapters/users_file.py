"""The users file: `<data dir>/backoffice/users.json`, argon2 password hashes, written atomically."""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ledgerline_backoffice.domain.users import User

_hasher = PasswordHasher()
# Verified against when the username is unknown, so both refusals take the same time.
_DUMMY_HASH = _hasher.hash("not-a-password-of-anyone")


class UsersFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def _read(self) -> list[dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        users = data.get("users", []) if isinstance(data, dict) else []
        return [u for u in users if isinstance(u, dict) and isinstance(u.get("username"), str)]

    def _write(self, users: list[dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".users-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump({"users": users}, out, indent=2, ensure_ascii=False)
                out.write("\n")
            os.chmod(tmp, 0o600)  # hashes only, but still nobody else's business
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @staticmethod
    def _user(raw: dict[str, Any]) -> User:
        return User(
            username=raw["username"],
            password_hash=str(raw.get("password_hash", "")),
            roles=tuple(str(r) for r in raw.get("roles", [])),
            name=str(raw.get("name") or ""),
            email=str(raw.get("email") or ""),
        )

    def all(self) -> list[User]:
        return [self._user(u) for u in self._read()]

    def get(self, username: str) -> User | None:
        return next((u for u in self.all() if u.username == username), None)

    def put(self, username: str, password: str, roles: tuple[str, ...], name: str, email: str) -> User:
        """Adds the user, or replaces the one of that username."""
        record = {
            "username": username,
            "password_hash": _hasher.hash(password),
            "roles": list(roles),
            "name": name,
            "email": email,
        }
        with self._lock:
            users = [u for u in self._read() if u["username"] != username]
            users.append(record)
            users.sort(key=lambda u: str(u["username"]))
            self._write(users)
        return self._user(record)

    def check_password(self, username: str, password: str) -> User | None:
        """The user if the password matches; None for a wrong password or an unknown user alike."""
        user = self.get(username)
        try:
            _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            return None
        return user

    def readable(self) -> None:
        """Raises if the file exists but cannot be read (the readiness check)."""
        if self.path.exists():
            json.loads(self.path.read_text(encoding="utf-8"))
