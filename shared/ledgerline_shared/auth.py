"""JWT bearer auth and roles (spec section 3).

Roles: admin; billing (write, runs, credit notes, sends); accounting (read and exports); readonly;
client:<client_id> (a portal user: reads only that client's documents); ops (operations pages only:
dashboards and dead-letter replay, no business data through the API). Missing, malformed or expired
token: 401. Role too weak: 403.

Verification keys: HS256 with LEDGERLINE_JWT_SECRET (32+ bytes; no default outside dev mode), or
RS256/ES256 with a PEM public key (text or file) or a JWKS file, so an identity provider can issue
the tokens. `aud` is checked when LEDGERLINE_JWT_AUDIENCE is set. See docs/security.md.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from fastapi import Depends, HTTPException, Request, status

from ledgerline_shared.roles import ACCOUNTING, ADMIN, BILLING, CLIENT_PREFIX, OPS, STAFF_ROLES
from ledgerline_shared.settings import Settings, get_settings

# What each kind of route accepts; admin is in every set.
READ = STAFF_ROLES
WRITE = frozenset({ADMIN, BILLING})
EXPORT = frozenset({ADMIN, ACCOUNTING, BILLING})
OPERATIONS = frozenset({ADMIN, OPS})  # dashboards and dead-letter replay

MIN_SECRET_BYTES = 32
ASYMMETRIC = frozenset({"RS256", "ES256"})
# Public on purpose: only ever used when LEDGERLINE_DEV_MODE=true and no secret is set.
DEV_JWT_SECRET = "ledgerline-dev-mode-only-not-a-secret-0123456789"


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


def _hs256_secret(settings: Settings) -> str | None:
    if settings.jwt_secret:
        return settings.jwt_secret
    return DEV_JWT_SECRET if settings.dev_mode else None


def startup_problem(settings: Settings) -> str | None:
    """Why a service must not start with these auth settings (one line), or None when they are sound."""
    algorithm = settings.jwt_algorithm
    if algorithm == "HS256":
        if settings.dev_mode:
            return None
        if not settings.jwt_secret:
            return (
                "LEDGERLINE_JWT_SECRET is not set: give it 32+ random bytes "
                "(or LEDGERLINE_DEV_MODE=true for local development only)"
            )
        if len(settings.jwt_secret.encode()) < MIN_SECRET_BYTES:
            return f"LEDGERLINE_JWT_SECRET is shorter than {MIN_SECRET_BYTES} bytes"
        return None
    if algorithm not in ASYMMETRIC:
        return f"LEDGERLINE_JWT_ALGORITHM={algorithm} is not supported (HS256, RS256 or ES256)"
    sources = [settings.jwt_public_key, settings.jwt_public_key_file, settings.jwt_jwks_file]
    if sum(source is not None for source in sources) != 1:
        return (
            f"LEDGERLINE_JWT_ALGORITHM={algorithm} needs exactly one of LEDGERLINE_JWT_PUBLIC_KEY, "
            "LEDGERLINE_JWT_PUBLIC_KEY_FILE or LEDGERLINE_JWT_JWKS_FILE"
        )
    try:
        _asymmetric_keys(settings)
    except InvalidToken as exc:
        return str(exc)
    return None


# (path, mtime_ns) -> parsed keys: a rotated key file is picked up without a restart.
_KEY_FILES: dict[tuple[str, int], dict[str | None, Any]] = {}


def _load_key_file(path: Path, jwks: bool, algorithm: str) -> dict[str | None, Any]:
    try:
        stamp = (str(path), os.stat(path).st_mtime_ns)
    except OSError as exc:
        raise InvalidToken(f"cannot read the key file {path}: {exc.strerror}") from exc
    keys = _KEY_FILES.get(stamp)
    if keys is None:
        text = path.read_text()
        keys = _parse_jwks(text, algorithm) if jwks else {None: _parse_pem(text, algorithm)}
        _KEY_FILES.clear()  # one live file per process is the common case; stale ones go
        _KEY_FILES[stamp] = keys
    return keys


def _parse_pem(text: str, algorithm: str) -> Any:
    try:
        return jwt.get_algorithm_by_name(algorithm).prepare_key(text)
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise InvalidToken(f"the configured public key is not a {algorithm} PEM public key: {exc}") from exc


def _parse_jwks(text: str, algorithm: str) -> dict[str | None, Any]:
    try:
        keyset = jwt.PyJWKSet.from_json(text)
    except (jwt.PyJWTError, ValueError) as exc:
        raise InvalidToken(f"the configured JWKS file is not a usable key set: {exc}") from exc
    keys: dict[str | None, Any] = {}
    for jwk in keyset.keys:
        if jwk.algorithm_name == algorithm:  # keys of another algorithm are never tried
            keys[jwk.key_id] = jwk.key
    if not keys:
        raise InvalidToken(f"the configured JWKS file holds no {algorithm} key")
    return keys


def _asymmetric_keys(settings: Settings) -> dict[str | None, Any]:
    if settings.jwt_jwks_file is not None:
        return _load_key_file(settings.jwt_jwks_file, True, settings.jwt_algorithm)
    if settings.jwt_public_key_file is not None:
        return _load_key_file(settings.jwt_public_key_file, False, settings.jwt_algorithm)
    if settings.jwt_public_key:
        return {None: _parse_pem(settings.jwt_public_key, settings.jwt_algorithm)}
    raise InvalidToken("no verification key configured")


def _verification_key(settings: Settings, token: str) -> Any:
    if settings.jwt_algorithm == "HS256":
        secret = _hs256_secret(settings)
        if not secret or (len(secret.encode()) < MIN_SECRET_BYTES and not settings.dev_mode):
            raise InvalidToken("no usable verification key configured")
        return secret
    if settings.jwt_algorithm not in ASYMMETRIC:
        raise InvalidToken(f"algorithm {settings.jwt_algorithm} is not supported")
    keys = _asymmetric_keys(settings)
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    if kid in keys:
        return keys[kid]
    if len(keys) == 1 and (kid is None or None in keys):
        return next(iter(keys.values()))
    raise InvalidToken("no configured key matches the token's kid")


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
        raise ValueError("local tokens are HS256; RS256/ES256 tokens come from the identity provider")
    secret = _hs256_secret(settings)
    if not secret:
        raise ValueError("LEDGERLINE_JWT_SECRET is not set")
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
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    return jwt.encode(claims, secret, algorithm="HS256")


def decode_token(settings: Settings, token: str) -> Principal:
    key = _verification_key(settings, token)
    required = ["sub", "exp", "iss"] + (["aud"] if settings.jwt_audience else [])
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[settings.jwt_algorithm],  # never trust the token's own `alg`
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            options={"require": required},
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
