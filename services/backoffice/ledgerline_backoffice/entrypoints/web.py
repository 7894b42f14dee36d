"""What every page route shares: the templates, the person behind the request, CSRF, redirects.

Routes declare `person: Person = Depends(signed_in)` (or `allowed(Action.X)`); an anonymous visitor is
sent to /login, a person without the action gets the 403 page. A state-changing form goes through
`checked_form`, which refuses a missing or wrong CSRF token with 403.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from collections.abc import Callable
from typing import Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.datastructures import FormData

from ledgerline_backoffice.adapters.api_client import ApiClient, ApiError
from ledgerline_backoffice.config import BackofficeSettings
from ledgerline_backoffice.domain import formatting
from ledgerline_backoffice.domain.api_errors import explain
from ledgerline_backoffice.domain.roles import Action
from ledgerline_backoffice.service.sessions import Person, Sessions

SESSION_COOKIE = "ll_session"
PRE_SESSION_COOKIE = "ll_pre"  # binds the sign-in form's CSRF token before there is a session
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
# No inline script or style anywhere: the pages' JavaScript and CSS are files under /static.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}

templates = Environment(
    loader=PackageLoader("ledgerline_backoffice", "templates"),
    autoescape=select_autoescape(["html"], default=True),  # every value is text unless marked safe
    trim_blocks=True,
    lstrip_blocks=True,
)


class SignInNeeded(Exception):
    pass


class Forbidden(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CsrfRefused(Exception):
    pass


def settings_of(request: Request) -> BackofficeSettings:
    settings: BackofficeSettings = request.app.state.settings
    return settings


def api_of(request: Request) -> ApiClient:
    api: ApiClient = request.app.state.api
    return api


def sessions_of(request: Request) -> Sessions:
    sessions: Sessions = request.app.state.sessions
    return sessions


def current_person(request: Request) -> Person | None:
    """A valid gateway Bearer token first (identity provider), else the session cookie."""
    if hasattr(request.state, "person"):
        cached: Person | None = request.state.person
        return cached
    sessions = sessions_of(request)
    person = sessions.from_bearer(request.headers.get("authorization")) or sessions.from_session(
        request.cookies.get(SESSION_COOKIE)
    )
    request.state.person = person
    return person


def signed_in(request: Request) -> Person:
    person = current_person(request)
    if person is None:
        raise SignInNeeded()
    return person


def allowed(action: Action) -> Callable[..., Person]:
    def dependency(person: Person = Depends(signed_in)) -> Person:
        if not person.may(action):
            raise Forbidden("Your role does not allow this page. Ask an administrator if you need it.")
        return person

    return dependency


async def checked_form(request: Request, person: Person | None) -> FormData:
    """The posted form, once its CSRF token matches the visitor's; CsrfRefused otherwise."""
    form = await request.form()
    sent = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
    binding = person.csrf_binding if person else "a:" + (request.cookies.get(PRE_SESSION_COOKIE) or "")
    if not isinstance(sent, str) or (person is None and not request.cookies.get(PRE_SESSION_COOKIE)):
        raise CsrfRefused()
    if not sessions_of(request).csrf_valid(binding, sent):
        raise CsrfRefused()
    return form


def field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def refusal_sentence(exc: ApiError) -> str:
    """An API refusal to show next to the form that caused it. An expired sign-in, a role too weak or
    an outage is not the form's fault: re-raised, it gets its own page."""
    if exc.unreachable or exc.status in (401, 403) or exc.status >= 500:
        raise exc
    return explain(exc.status, exc.detail, exc.service)


def safe_next(target: str | None) -> str:
    """Only a path on this site (no scheme, no `//host`): never an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return redirect("/login?" + urllib.parse.urlencode({"next": safe_next(target)}))


def month_of(value: str | None, today: dt.date | None = None) -> str:
    """A YYYY-MM from a form, else the current month."""
    if value and len(value) == 7 and value[4] == "-" and value[:4].isdigit() and value[5:].isdigit():
        if 1 <= int(value[5:]) <= 12:
            return value
    return (today or dt.date.today()).strftime("%Y-%m")


def render(
    request: Request, template: str, person: Person | None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    locale = settings_of(request).backoffice_locale
    binding = person.csrf_binding if person else "a:" + getattr(request.state, "pre_session", "")
    html = templates.get_template(template).render(
        request=request,
        person=person,
        may=(lambda action: person is not None and person.may(Action(action))),
        csrf=sessions_of(request).csrf_token(binding),
        path=request.url.path,
        money=lambda v, c="EUR": formatting.format_money(v, c, locale),
        unit_price=lambda v, c="EUR": formatting.format_unit_price(v, c, locale),
        qty=lambda v: formatting.format_quantity(v, locale),
        rate=lambda v: formatting.format_rate(v, locale),
        date=lambda v: formatting.format_date(v, locale),
        datetime=lambda v: formatting.format_datetime(v, locale),
        duration=formatting.format_duration,
        proration=lambda p, c="EUR": formatting.format_proration(p, c, locale),
        line_unit=lambda line: formatting.line_unit(line, locale),
        **context,
    )
    # Also here: the 500 page is answered outside the middleware that adds them elsewhere.
    return HTMLResponse(
        html, status_code=status_code, headers={**SECURITY_HEADERS, "Cache-Control": "no-store"}
    )
