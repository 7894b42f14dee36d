"""An API user's SFTP login: a password (its argon2id hash only) and public keys, revocable.

Revoking wipes the password and the keys at once. The owner takes the login back with a valid token:
a new password, or new keys, lift the revocation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

MAX_REVOKED_BY = 200


@dataclass(frozen=True)
class SftpLogin:
    username: str
    subject: str  # the token subject it belongs to
    password_hash: str | None = None
    authorized_keys: tuple[str, ...] = ()  # OpenSSH public key lines
    password_issued_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None
    revoked_by: str | None = None

    def with_password(self, password_hash: str, at: dt.datetime) -> SftpLogin:
        return replace(
            self, password_hash=password_hash, password_issued_at=at, revoked_at=None, revoked_by=None
        )

    def with_keys(self, keys: list[str]) -> SftpLogin:
        return replace(self, authorized_keys=tuple(keys), revoked_at=None, revoked_by=None)

    def revoked(self, by: str, at: dt.datetime) -> SftpLogin:
        return replace(
            self,
            password_hash=None,
            password_issued_at=None,
            authorized_keys=(),
            revoked_at=at,
            revoked_by=by[:MAX_REVOKED_BY],
        )
