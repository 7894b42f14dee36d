"""Sessions and the person behind a request: a session cookie, or a gateway's Bearer JWT instead.

The session's API token is a JWT minted from LEDGERLINE_JWT_SECRET that expires with the session;
every page calls the APIs with it, so every permission is the APIs'. CSRF tokens are an HMAC of what
identifies the visitor (the session, the bearer token, or before sign-in a random pre-session cookie).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from ledgerline_backoffice.adapters.session_store import SessionStore, StoredSession
from ledgerline_backoffice.domain.roles import Action, allowed_actions, is_staff, portal_clients
from ledgerline_backoffice.domain.users import User
from ledgerline_shared.auth import InvalidToken, decode_token, mint_token
from ledgerline_shared.settings import Settings


@dataclass(frozen=True)
class Person:
    username: str
    name: str
    email: str
    roles: frozenset[str]
    token: str
    csrf_binding: str
    session_id: str | None = None  # None: signed in by the gateway's Bearer token

    @property
    def actions(self) -> frozenset[Action]:
        return allowed_actions(self.roles)

    def may(self, action: Action) -> bool:
        return action in self.actions

    @property
    def is_staff(self) -> bool:
        return is_staff(self.roles)

    @property
    def client_ids(self) -> list[str]:
        return portal_clients(self.roles)


class Sessions:
    def __init__(self, settings: Settings, session_hours: float, store: SessionStore | None = None) -> None:
        self.settings = settings
        self.ttl = dt.timedelta(hours=session_hours)
        self.store = store or SessionStore()
        # Behind an identity provider (RS256/ES256) there is no shared secret: a key of this process
        # then, which is enough because the sessions it binds live in this process's memory too.
        secret = settings.jwt_secret.encode() if settings.jwt_secret else secrets.token_bytes(32)
        self._csrf_key = hashlib.sha256(b"ledgerline-backoffice-csrf:" + secret).digest()

    # -- CSRF -------------------------------------------------------------------------------------
    def csrf_token(self, binding: str) -> str:
        return hmac.new(self._csrf_key, binding.encode(), hashlib.sha256).hexdigest()

    def csrf_valid(self, binding: str, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf_token(binding), token or "")

    @staticmethod
    def new_pre_session() -> str:
        return secrets.token_urlsafe(24)

    # -- sessions ---------------------------------------------------------------------------------
    def start(self, user: User) -> tuple[str, Person]:
        token = mint_token(
            self.settings,
            sub=user.username,
            roles=user.roles,
            name=user.display_name,
            email=user.email or None,
            ttl=self.ttl,
        )
        session_id = secrets.token_urlsafe(32)
        expires = time.time() + self.ttl.total_seconds()
        self.store.add(StoredSession(session_id, user.username, token, expires))
        person = self._person(token, f"s:{session_id}", session_id)
        assert person is not None  # just minted with the same settings
        return session_id, person

    def end(self, session_id: str) -> None:
        self.store.remove(session_id)

    def from_session(self, session_id: str | None) -> Person | None:
        if not session_id:
            return None
        stored = self.store.get(session_id)
        if stored is None:
            return None
        person = self._person(stored.token, f"s:{session_id}", session_id)
        if person is None:  # expired or the secret changed: the session is over
            self.store.remove(session_id)
        return person

    def from_bearer(self, authorization: str | None) -> Person | None:
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return None
        return self._person(token, "b:" + hashlib.sha256(token.encode()).hexdigest(), None)

    def _person(self, token: str, binding: str, session_id: str | None) -> Person | None:
        try:
            principal = decode_token(self.settings, token)
        except InvalidToken:
            return None
        return Person(
            username=principal.sub,
            name=principal.name,
            email=principal.email,
            roles=principal.roles,
            token=token,
            csrf_binding=binding,
            session_id=session_id,
        )
