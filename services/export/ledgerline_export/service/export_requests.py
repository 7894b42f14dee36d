"""An export request (spec 8, `POST /api/v1/exports`) and the checks it must pass before it is queued."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ledgerline_export.config import ExportSettings
from ledgerline_export.service.accounting_files import ACCOUNTING_FORMATS, accounting_format
from ledgerline_export.service.errors import Refused

KINDS = ("excel", "grouped_pdf", "accounting")
# The one format each file kind is written in; naming it in a request is allowed, any other refused.
OWN_FORMAT = {"excel": "xlsx", "grouped_pdf": "pdf"}


@dataclass(frozen=True)
class ExportRequest:
    """The command: which file, over which issue dates (inclusive), and whether to e-mail the report."""

    kind: str
    date_from: dt.date
    date_to: dt.date
    format: str | None = None
    notify: bool = False


def check_request(request: ExportRequest, settings: ExportSettings, requester_email: str) -> ExportRequest:
    """The request as it will run, or Refused naming the field at fault."""
    if request.kind not in KINDS:
        raise Refused("kind", f"unknown export kind {request.kind!r}; one of {', '.join(KINDS)}")
    if request.date_from > request.date_to:
        raise Refused("from", f"from ({request.date_from}) is after to ({request.date_to})")
    days = (request.date_to - request.date_from).days + 1
    if days > settings.max_range_days:
        raise Refused("to", f"the range covers {days} days; at most {settings.max_range_days}")
    fmt = request.format.strip().lower() if request.format else None
    if request.kind == "accounting":
        if not fmt:
            raise Refused("format", f"an accounting export needs a format: {', '.join(ACCOUNTING_FORMATS)}")
        if fmt not in ACCOUNTING_FORMATS:
            known = ", ".join(ACCOUNTING_FORMATS)
            raise Refused("format", f"unknown accounting format {fmt!r}; one of {known}")
        # Built once here so that a range the format refuses (DATEV across fiscal years) is a 422 now.
        accounting_format(settings, fmt, request.date_from, request.date_to, dt.datetime.now(dt.UTC))
    elif fmt is not None and fmt != OWN_FORMAT[request.kind]:
        own = OWN_FORMAT[request.kind]
        raise Refused("format", f"a {request.kind} export is written as {own}, not {fmt!r}")
    else:
        fmt = None
    if (request.kind == "accounting" or request.notify) and "@" not in requester_email:
        raise Refused("notify", "the token carries no e-mail address to send the export report to")
    return ExportRequest(request.kind, request.date_from, request.date_to, fmt, request.notify)
