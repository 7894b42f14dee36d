"""A back-office person as the users file knows them (no I/O here)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ledgerline_backoffice.domain.roles import is_valid_role
from ledgerline_shared.roles import CLIENT_PREFIX

USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


class InvalidUser(ValueError):
    pass


@dataclass(frozen=True)
class User:
    username: str
    password_hash: str
    roles: tuple[str, ...]
    name: str = ""
    email: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def display_name(self) -> str:
        return self.name or self.username


def parse_roles(text: str, client: str | None = None) -> tuple[str, ...]:
    """`billing,accounting` (+ `--client C1` → `client:C1`), each checked; at least one."""
    roles = [r.strip() for r in text.split(",") if r.strip()] if text else []
    if client:
        roles.append(f"{CLIENT_PREFIX}{client.strip()}")
    bad = [r for r in roles if not is_valid_role(r)]
    if bad:
        raise InvalidUser(
            f"unknown role(s): {', '.join(bad)} (admin, billing, accounting, readonly, ops, client:<id>)"
        )
    if not roles:
        raise InvalidUser("a user needs at least one role")
    return tuple(dict.fromkeys(roles))


def check_username(username: str) -> str:
    if not USERNAME.match(username):
        raise InvalidUser("a username is 1-64 letters, digits or . _ @ -")
    return username
