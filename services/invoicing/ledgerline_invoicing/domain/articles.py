"""Catalog articles: their kinds, where each kind may be used, and the sign rule (spec section 5).

The one place that says which article may stand behind a subscription, a one-time item of the client
folder or a proforma line, and that a negative amount belongs only on a credit-note article. The
folder, the proformas and the billing items all ask here.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum

from ledgerline_invoicing.domain.errors import InvalidBillingItem

NEGATIVE_REFUSED = "a negative amount is allowed only on a credit_note article"


class ArticleKind(StrEnum):
    RECURRING = "recurring"  # billed every month by a subscription, prorated by day
    ONE_TIME = "one_time"  # set-up fees, equipment: once or every cycle from the folder
    USAGE = "usage"  # priced from call records, never as an item
    CREDIT_NOTE = "credit_note"  # goodwill credits: the one kind that may carry a negative amount


class ArticlePlace(StrEnum):
    """Where an article is used."""

    SUBSCRIPTION = "subscription"
    ONE_TIME_ITEM = "one_time_item"
    PROFORMA_LINE = "proforma_line"


KINDS_ALLOWED: Mapping[ArticlePlace, frozenset[ArticleKind]] = {
    ArticlePlace.SUBSCRIPTION: frozenset({ArticleKind.RECURRING}),
    ArticlePlace.ONE_TIME_ITEM: frozenset({ArticleKind.ONE_TIME, ArticleKind.CREDIT_NOTE}),
    # A proforma is free: any catalog article may name a line (its kind and account come along).
    ArticlePlace.PROFORMA_LINE: frozenset(ArticleKind),
}


_IN_WORDS = {
    ArticlePlace.SUBSCRIPTION: "a subscription",
    ArticlePlace.ONE_TIME_ITEM: "a one-time item",
    ArticlePlace.PROFORMA_LINE: "a proforma line",
}


def check_article_place(
    place: ArticlePlace, code: str, kind: ArticleKind | str, field: str = "article_code"
) -> None:
    """Refuse an article whose kind has no place there (a usage article as a one-time item...)."""
    kind = ArticleKind(kind)
    if kind not in KINDS_ALLOWED[place]:
        raise InvalidBillingItem(field, f"article {code!r} is {kind.value}: not {_IN_WORDS[place]}")


def check_sign(kind: ArticleKind | str | None, net_amount: Decimal, field: str = "unit_price") -> None:
    """A negative amount only on a credit_note article; a line that names no article is free (None)."""
    if kind is not None and net_amount < 0 and ArticleKind(kind) is not ArticleKind.CREDIT_NOTE:
        raise InvalidBillingItem(field, NEGATIVE_REFUSED)
