"""JWT bearer auth and roles (spec section 3).

Roles: admin; billing (write, runs, credit notes, sends); accounting (read and exports); readonly;
client:<client_id> (a portal user: reads only that client's documents). Missing, malformed or
expired token: 401. Role too weak: 403.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import jwt
from fastapi import Depends, HTTPException, Request, status

from ledgerline_shared.settings import Settings, get_settings

ADMIN = "admin"
BILLING = "billing"
ACCOUNTING = "accounting"
READONLY = "readonly"
CLIENT_PREFIX = "client:"
STAFF_ROLES = frozenset({ADMIN, BILLING, ACCOUNTING, READONLY})

# What each kind of route accepts; admin is in every set.
READ = STAFF_ROLES
WRITE = frozenset({ADMIN, BILLING})
EXPORT = frozenset({ADMIN, ACCOUNTING, BILLING})


@dataclass(frozen=True)
class Principal:
    sub: str
    name: str
    email: str
    roles: frozenset[str]

    @property
    def client_ids(self) -> frozenset[str]:
        return frozenset(r[len(CLIENT_PREFIX) :] for r in self.roles if r.startswith(CLIENT_PREFIX))

    @property
    def is_staff(self) -> bool:
        return bool(self.roles & STAFF_ROLES)

    def may_read_client(self, client_id: str | None) -> bool:
        return self.is_staff or (client_id is not None and client_id in self.client_ids)


class InvalidToken(Exception):
    pass


def mint_token(
    settings: Settings,
    *,
    sub: str,
    roles: Iterable[str],
    name: str | None = None,
    email: str | None = None,
    ttl: dt.timedelta = dt.timedelta(hours=12),
) -> str:
    if settings.jwt_algorithm != "HS256":
        raise ValueError("local tokens are HS256; RS256 tokens come from the identity provider")
    now = dt.datetime.now(dt.UTC)
    claims = {
        "sub": sub,
        "name": name or sub,
        "email": email or f"{sub}@ledgerline.test",
        "roles": sorted(set(roles)),
        "iss": settings.jwt_issuer,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
    }
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


def decode_token(settings: Settings, token: str) -> Principal:
    key = settings.jwt_public_key if settings.jwt_algorithm == "RS256" else settings.jwt_secret
    if not key:
        raise InvalidToken("no verification key configured")
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[settings.jwt_algorithm],  # never trust the token's own `alg`
            issuer=settings.jwt_issuer,
            options={"require": ["sub", "exp", "iss"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    roles = claims.get("roles", [])
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise InvalidToken("roles must be a list of strings")
    return Principal(
        sub=str(claims["sub"]),
        name=str(claims.get("name", claims["sub"])),
        email=str(claims.get("email", "")),
        roles=frozenset(roles),
    )


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def _settings_of(request: Request) -> Settings:
    # The app's own settings (a test may run several apps with other secrets in one process).
    runtime = getattr(request.app.state, "runtime", None)
    return runtime.settings if runtime is not None else get_settings()


def current_principal(request: Request) -> Principal:
    settings = _settings_of(request)
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("missing bearer token")
    try:
        return decode_token(settings, token.strip())
    except InvalidToken as exc:
        raise _unauthorized(f"invalid token: {exc}") from exc


def require(allowed: frozenset[str], *, portal: bool = False) -> Callable[..., Principal]:
    """A dependency admitting the given staff roles (and portal users when `portal`)."""

    def dependency(principal: Principal = Depends(current_principal)) -> Principal:
        if principal.roles & allowed or ADMIN in principal.roles:
            return principal
        if portal and principal.client_ids:
            return principal
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="role too weak for this action")

    return dependency
