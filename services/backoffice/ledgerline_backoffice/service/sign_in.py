"""Signing in: check the password against the users file, throttling failures per username and address."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from ledgerline_backoffice.adapters.throttle_store import FailureStore
from ledgerline_backoffice.adapters.users_file import UsersFile
from ledgerline_backoffice.domain.throttle import ThrottleRule, minutes_left
from ledgerline_backoffice.domain.users import User

WRONG = "Wrong username or password. Check both and try again."
MISSING = "Enter your username and your password."


@dataclass(frozen=True)
class SignInRefused:
    message: str
    locked: bool = False


class SignIn:
    def __init__(self, users: UsersFile, per_user: ThrottleRule, per_address: ThrottleRule) -> None:
        self.users = users
        self.per_user = per_user
        self.per_address = per_address
        self.user_failures = FailureStore()
        self.address_failures = FailureStore()

    def _lock_message(self, username: str, address: str, now: float) -> str | None:
        user_lock = self.per_user.locked_until(self.user_failures.get(username.lower()), now)
        if user_lock is not None:
            return (
                "Too many failed sign-ins for this username: it is locked for "
                f"{minutes_left(user_lock, now)} more minute(s). Wait, or ask an administrator to reset "
                "your password."
            )
        address_lock = self.per_address.locked_until(self.address_failures.get(address), now)
        if address_lock is not None:
            return (
                "Too many failed sign-ins from your network address: sign-in is locked for "
                f"{minutes_left(address_lock, now)} more minute(s). Wait and try again."
            )
        return None

    def _record_failure(self, username: str, address: str, now: float) -> None:
        key = username.lower()
        self.user_failures.put(key, self.per_user.recent([*self.user_failures.get(key), now], now))
        self.address_failures.put(
            address, self.per_address.recent([*self.address_failures.get(address), now], now)
        )

    async def attempt(self, username: str, password: str, address: str) -> User | SignInRefused:
        username = username.strip()
        if not username or not password:
            return SignInRefused(MISSING)
        now = time.time()
        locked = self._lock_message(username, address, now)
        if locked:
            return SignInRefused(
                locked, locked=True
            )  # not even checked: a lock holds against the right password too
        user = await asyncio.to_thread(self.users.check_password, username, password)  # argon2 is slow
        if user is None:
            self._record_failure(username, address, now)
            now_locked = self._lock_message(username, address, now)
            return SignInRefused(now_locked or WRONG, locked=now_locked is not None)
        self.user_failures.put(username.lower(), [])
        return user
