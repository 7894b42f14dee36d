"""Sign-in, sign-out, and the gateway's `auth_request` check for the operations dashboards."""

from __future__ import annotations

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from prometheus_client import Counter

from ledgerline_backoffice.domain.users import User
from ledgerline_backoffice.entrypoints.web import (
    PRE_SESSION_COOKIE,
    SESSION_COOKIE,
    checked_form,
    current_person,
    field,
    redirect,
    render,
    safe_next,
    sessions_of,
    settings_of,
)
from ledgerline_backoffice.service.sessions import Person
from ledgerline_backoffice.service.sign_in import SignIn, SignInRefused
from ledgerline_shared.roles import ADMIN, OPS

log = structlog.get_logger(__name__)
router = APIRouter(tags=["sign-in"])
SIGN_INS = Counter("ledgerline_backoffice_sign_ins_total", "Sign-in attempts by outcome", ["outcome"])
OPS_ROLES = frozenset({ADMIN, OPS})


def client_address(request: Request) -> str:
    """The visitor's address; behind the gateway (a trusted peer) the one it passes in X-Real-IP."""
    peer = request.client.host if request.client else "unknown"
    forwarded = request.headers.get("x-real-ip", "").strip()
    if forwarded and peer in settings_of(request).backoffice_trusted_proxies:
        return forwarded[:64]
    return peer


def _login_page(
    request: Request, next_url: str, status: int = 200, error: str = "", username: str = ""
) -> Response:
    pre = request.cookies.get(PRE_SESSION_COOKIE) or sessions_of(request).new_pre_session()
    request.state.pre_session = pre
    response = render(
        request,
        "login.html",
        None,
        status,
        next_url=next_url,
        error=error,
        username=username,
        title="Sign in",
    )
    settings = settings_of(request)
    response.set_cookie(
        PRE_SESSION_COOKIE,
        pre,
        httponly=True,
        samesite="strict",
        secure=settings.backoffice_secure_cookies,
        path="/login",
    )
    return response


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, next: str = "/") -> Response:
    if current_person(request) is not None:
        return redirect(safe_next(next))
    return _login_page(request, safe_next(next))


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    form = await checked_form(request, None)
    next_url = safe_next(field(form, "next"))
    username = field(form, "username")
    password = form.get("password")
    sign_in: SignIn = request.app.state.sign_in
    address = client_address(request)
    outcome = await sign_in.attempt(username, password if isinstance(password, str) else "", address)
    if isinstance(outcome, SignInRefused):
        status = 429 if outcome.locked else 401
        SIGN_INS.labels("locked" if outcome.locked else "refused").inc()
        log.warning("sign-in refused", username=username[:64], address=address, locked=outcome.locked)
        return _login_page(request, next_url, status, outcome.message, username)
    SIGN_INS.labels("signed_in").inc()
    log.info("signed in", username=outcome.username, address=address)
    return _signed_in(request, outcome, next_url)


NO_LOCAL_TOKENS = (
    "Signing in with a password is not available on this installation: its tokens come from your "
    "organisation's identity provider. Sign in through it, or ask an administrator."
)


def _signed_in(request: Request, user: User, next_url: str) -> Response:
    settings = settings_of(request)
    try:
        session_id, _person = sessions_of(request).start(user)
    except ValueError:  # RS256: tokens are the identity provider's to sign, not ours
        return _login_page(request, next_url, 503, NO_LOCAL_TOKENS, user.username)
    response = redirect(next_url)
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=int(settings.backoffice_session_hours * 3600),
        httponly=True,  # never readable by a script
        samesite="strict",
        secure=settings.backoffice_secure_cookies,
        path="/",
    )
    response.delete_cookie(PRE_SESSION_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    person = current_person(request)
    await checked_form(request, person)
    if person is not None and person.session_id:
        sessions_of(request).end(person.session_id)
    response = redirect("/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/auth/ops-token")
async def ops_token(request: Request) -> Response:
    """For nginx `auth_request` on /ops/<service>/: 200 with the person's token for admin or ops,
    401 with no session, 403 with a weaker role. The gateway passes `X-Ledgerline-Token` on as
    `Authorization: Bearer` to the dashboards."""
    person: Person | None = current_person(request)
    if person is None:
        return Response(status_code=401)
    if not person.roles & OPS_ROLES:
        return Response(status_code=403)
    return Response(
        status_code=200, headers={"X-Ledgerline-Token": person.token, "Cache-Control": "no-store"}
    )
