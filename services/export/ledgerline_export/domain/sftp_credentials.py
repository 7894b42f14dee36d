"""SFTP credentials: the password issued to an API user, its argon2id hash, and the SFTP username.

The password is shown once (`POST /api/v1/me/sftp/password`); only its argon2id hash is kept.
Pure except for the randomness of the password and of the hash's salt.

Username rule (derived from the token's `sub`, `GET /api/v1/me/sftp` shows it):
- a subject already made of 1 to 32 characters of `[a-z0-9._-]`, starting with a letter or a digit, is
  used as is (`alice` -> `alice`);
- any other subject is lowercased, every run of characters outside `[a-z0-9._-]` becomes one `-`,
  leading/trailing `.`/`-`/`_` are stripped, the result is cut to 23 characters and suffixed with `-`
  and the first 8 hex digits of the subject's SHA-256 (`Alice@Example.com` -> `alice-example.com-<8 hex>`),
  so subjects differing only by case or punctuation get different usernames.
Whoever stores the records maps username -> subject and must refuse a second subject for a taken name.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

SFTP_USERNAME_MAX = 32
_SAFE_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,31}")
_UNSAFE_RUN = re.compile(r"[^a-z0-9._-]+")
_SUFFIX_HEX = 8
_ARGON2ID_PREFIX = "$argon2id$"

# 18 random bytes -> 24 url-safe characters, 144 bits: far beyond any online guessing.
_PASSWORD_BYTES = 18

# argon2-cffi's defaults are RFC 9106's low-memory profile (t=3, 64 MiB, p=4); argon2id is pinned so a
# library default change cannot silently weaken new hashes.
_HASHER = PasswordHasher(type=Type.ID)


@dataclass(frozen=True)
class CredentialRecord:
    """What the SFTP server needs to authenticate one user."""

    username: str
    password_hash: str | None = None  # argon2id; None: no password issued yet (keys only)
    authorized_keys: tuple[str, ...] = ()  # OpenSSH public key lines ("ssh-ed25519 AAAA... comment")
    password_expired: bool = False  # the password is right but too old: refused, a new one is needed


@dataclass(frozen=True)
class IssuedSftpPassword:
    """A fresh password and its hash: the password goes to the user once, the hash to storage."""

    password: str = field(repr=False)
    password_hash: str


def sftp_username(subject: str) -> str:
    """The SFTP username of a token subject (rule in the module docstring)."""
    if not subject or not subject.strip():
        raise ValueError("a token subject is required to derive an SFTP username")
    if _SAFE_USERNAME.fullmatch(subject):
        return subject
    slug = _UNSAFE_RUN.sub("-", subject.lower()).strip(".-_")
    slug = slug[: SFTP_USERNAME_MAX - _SUFFIX_HEX - 1].rstrip(".-_")
    digest = hashlib.sha256(subject.encode("utf-8")).hexdigest()[:_SUFFIX_HEX]
    return f"{slug}-{digest}" if slug else f"u-{digest}"


def issue_sftp_password() -> IssuedSftpPassword:
    password = secrets.token_urlsafe(_PASSWORD_BYTES)
    return IssuedSftpPassword(password=password, password_hash=hash_sftp_password(password))


def hash_sftp_password(password: str) -> str:
    if not password:
        raise ValueError("an empty SFTP password cannot be hashed")
    return _HASHER.hash(password)


def verify_sftp_password(password_hash: str, password: str) -> bool:
    """True only for the right password against an argon2id hash; never raises on bad input."""
    # Older argon2 variants are refused so a tampered or legacy record cannot lower the bar.
    if not password or not password_hash.startswith(_ARGON2ID_PREFIX):
        return False
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def sftp_password_needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    return _HASHER.check_needs_rehash(password_hash)
