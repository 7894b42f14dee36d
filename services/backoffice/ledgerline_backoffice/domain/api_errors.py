"""An API's refusal as a sentence that says what to do, never raw JSON or a stack trace."""

from __future__ import annotations

import re
from typing import Any

GENERIC = {
    400: "The request was not understood. Check the form and try again.",
    401: "Your sign-in has expired. Sign in again to continue.",
    403: "Your role does not allow this action. Ask an administrator if you need it.",
    404: "That document or record does not exist, or you may not see it. Check the number and try again.",
    409: "This conflicts with the document's current state. Reload the page to see where it stands.",
    413: "That is too large to send at once. Send a smaller file or fewer records.",
    422: "Some information was refused. Correct it and try again.",
    429: "Too many requests. Wait a moment and try again.",
}
UNAVAILABLE = (
    "The {service} service is not answering. Try again in a minute; if it persists, tell operations."
)
SERVER = "The {service} service could not do this ({status}). Try again; if it persists, tell operations."

# Field names as the screens call them.
FIELDS = {
    "reason": "Reason",
    "lines": "Lines",
    "label": "Label",
    "quantity": "Quantity",
    "unit_price": "Unit price",
    "vat_rate": "VAT rate",
    "article_code": "Article",
    "period": "Period",
    "from": "From",
    "to": "To",
    "format": "Format",
    "kind": "Kind",
    "month": "Month",
    "email": "E-mail",
    "name": "Name",
    "number": "Number",
}


def readable_failure(error: str | None) -> str:
    """A job's recorded error without the program's exception name (`ForeignCurrencyDocument: ...`)."""
    text = (error or "").strip()
    text = re.sub(r"^[A-Z][A-Za-z0-9_.]*: ", "", text)
    return _clean(text)[:400] if text else ""


def _field_name(loc: Any) -> str:
    if not isinstance(loc, list | tuple):
        return ""
    parts = [str(p) for p in loc if p not in ("body", "query", "path") and not isinstance(p, int)]
    if not parts:
        return ""
    return FIELDS.get(parts[-1], parts[-1].replace("_", " ").capitalize())


def _clean(message: str) -> str:
    message = message.strip().removeprefix("Value error, ")
    if not message:
        return ""
    message = message[0].upper() + message[1:]
    return message if message.endswith((".", "!", "?")) else message + "."


def explain(status: int, detail: Any, service: str = "invoicing") -> str:
    """One sentence for a person from an API's status and `detail` (a string or FastAPI's list)."""
    if status >= 500:
        return SERVER.format(service=service, status=status)
    if status in (401, 403, 404, 413, 429):
        # 404 says nothing of what was asked: a portal user learns no other client's number from it.
        return GENERIC[status]
    sentences: list[str] = []
    if isinstance(detail, str) and detail:
        sentences.append(_clean(detail))
    elif isinstance(detail, list):
        for item in detail[:3]:
            if isinstance(item, dict):
                field = _field_name(item.get("loc"))
                message = _clean(str(item.get("msg", "")))
                sentences.append(f"{field}: {message}" if field else message)
    text = " ".join(s for s in sentences if s)[:400]
    fallback = GENERIC.get(status, GENERIC[400])
    if not text:
        return fallback
    if status == 409:
        return f"{text} Reload the page to see where it stands."
    return f"{text} Correct it and try again."


def first_message(detail: Any) -> str:
    """The API's own sentence (`detail[0].msg`, or a plain `detail`), for a refusal the API words for
    a person: a production without approval (409), approving one's own preview (403)."""
    if isinstance(detail, str):
        return _clean(detail)
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        return _clean(str(detail[0].get("msg", "")))
    return ""
