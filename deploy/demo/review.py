"""The demo's review story (issue 15): last month produced through a second person's approval, and
this month's folders such that its preview trips every anomaly flag of the review.

This month's traffic repeats last month's for each client (same calls, on the days elapsed so far),
so an ordinary client changes little; then a few clients are made to stand out:

| client | what happens this month | flag |
|---|---|---|
| DEMO-FR05 | four fibre accesses added from the 1st | total_change |
| DEMO-EN06 | sixty long calls to Morocco | usage_spike |
| DEMO-FR07 | no call record arrives (its feed is "missing") | no_call_records |
| DEMO-FR09 | a 900.00 credit for a billing dispute | non_positive_total (and total_change) |
| DEMO-FR24 | a new client whose only contact is not an invoice recipient | no_invoice_recipient |
| DEMO-FR02 | calls to Germany, which its rate plan does not price | unrated_call_records |
| DEMO-FR11 | a loyalty credit entered as "every cycle" | every_cycle_credit |
| DEMO-FR23 | a new client's first invoice, over 500.00 | large_first_invoice |

Clients that joined mid-month last month (a prorated first invoice, set-up fees) change too: a
reviewer sees them flagged as well, as they would be. Every step is idempotent.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any, Protocol
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")

NEW_CLIENTS: list[dict[str, Any]] = [
    {
        "code": "DEMO-FR23",
        "name": "Groupe Hospitalier Saint-Luc",
        "language": "fr",
        "currency": "EUR",
        "address": {"line1": "8 avenue de la Gare", "postcode": "57000", "city": "Metz", "country": "FR"},
        "rate_plan_code": "PRO-FR",
        "payment_terms_days": 45,
    },
    {
        "code": "DEMO-FR24",
        "name": "Association Les Amis du Quartier",
        "language": "fr",
        "currency": "EUR",
        "address": {"line1": "3 place du Marché", "postcode": "86000", "city": "Poitiers", "country": "FR"},
        "rate_plan_code": "PRO-FR",
        "payment_terms_days": 30,
    },
]
NEW_FOLDERS: dict[str, list[dict[str, str]]] = {
    "DEMO-FR23": [
        {"article_code": "FIBER-1G", "quantity": "3"},
        {"article_code": "SIP-LINE", "quantity": "12"},
        {"article_code": "PBX-SEAT", "quantity": "20"},
    ],
    "DEMO-FR24": [{"article_code": "SIP-LINE", "quantity": "1"}],
}
NEW_CONTACTS: dict[str, dict[str, Any]] = {
    "DEMO-FR23": {
        "name": "Direction financière",
        "email": "dfin@fr23.example.com",
        "invoice_recipient": True,
    },
    # Nobody flagged as invoice recipient: the invoice could not be e-mailed.
    "DEMO-FR24": {"name": "Président", "email": "president@fr24.example.com", "invoice_recipient": False},
}
FEED_MISSING = "DEMO-FR07"
CREDITS: dict[str, dict[str, str]] = {
    "DEMO-FR09": {
        "article_code": "GOODWILL",
        "quantity": "1",
        "unit_price": "-900.00",
        "label": "Avoir litige facturation",
    },
    "DEMO-FR11": {
        "article_code": "GOODWILL",
        "quantity": "1",
        "unit_price": "-10.00",
        "label": "Remise fidélité",
        "repeat": "every_cycle",
    },
}


class DemoApi(Protocol):
    def get(self, path: str, **params: Any) -> Any: ...
    def post(self, path: str, body: Any = None, **kwargs: Any) -> Any: ...
    def try_post(self, path: str, body: Any) -> tuple[int, Any]: ...
    def wait_run(self, run_id: str, timeout_s: float = 300) -> dict[str, Any]: ...


def produce(api: DemoApi, approver: DemoApi | None, period: str) -> dict[str, Any]:
    """Last month's production; with approval required, first a preview approved by a second person."""
    status, answer = api.try_post("/billing-runs", {"period": period, "mode": "production"})
    if status == 409:
        if approver is None:
            raise SystemExit(f"demo: production refused and no approver token given: {answer}")
        preview = api.post("/billing-runs", {"period": period, "mode": "preview"})
        api.wait_run(preview["id"])
        approver.post(
            f"/billing-runs/{preview['id']}/approve",
            {"comment": "Demo: last month's previews checked by the billing lead."},
        )
        status, answer = api.try_post("/billing-runs", {"period": period, "mode": "production"})
    if status >= 400:
        raise SystemExit(f"demo: POST /billing-runs answered {status}: {answer}")
    run: dict[str, Any] = answer
    return run


def this_month_traffic(last_month_csv: str, today: dt.date, skip: set[str]) -> str:
    """Last month's calls again, dated this month (on the days elapsed so far), except `skip`'s."""
    out = io.StringIO()
    rows = csv.reader(io.StringIO(last_month_csv))
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(next(rows))
    for cdr_id, account, started_at, *rest in rows:
        if account in skip or not account.startswith("DEMO-") or account == "DEMO-UNKNOWN":
            continue
        at = dt.datetime.fromisoformat(started_at)
        day = today.replace(day=min(at.day, today.day))
        moved = dt.datetime.combine(day, at.time(), PARIS)
        writer.writerow([f"{cdr_id}-m{today:%Y%m}", account, moved.isoformat(), *rest])
    return out.getvalue()


def standout_calls(today: dt.date) -> str:
    """The spike to Morocco, the unpriced calls to Germany and the new clients' first calls."""
    at = dt.datetime.combine(today.replace(day=1), dt.time(10), PARIS)
    lines = ["cdr_id,account,started_at,kind,duration_s,units,caller,callee"]
    month = f"{today:%Y%m}"
    for i in range(60):
        lines.append(
            f"demo-{month}-spike-{i:03d},DEMO-EN06,{(at + dt.timedelta(minutes=10 * i)).isoformat()},"
            f"voice,1500,,+33140000006,+212522{i:06d}"
        )
    for i in range(2):
        lines.append(f"demo-{month}-de-{i},DEMO-FR02,{at.isoformat()},voice,300,,+33140000002,+4930{i:08d}")
    for code in NEW_FOLDERS:
        for i in range(12):
            lines.append(
                f"demo-{month}-{code}-{i:03d},{code},{(at + dt.timedelta(hours=i)).isoformat()},"
                f"voice,{60 + 30 * i},,+33140000099,+3314{i:08d}"
            )
    return "\n".join(lines) + "\n"


def prepare_this_month(
    api: DemoApi, known: dict[str, dict[str, Any]], today: dt.date, last_month_csv: str
) -> int:
    """This month's folders and traffic (see the table above); answers how many new clients were made."""
    first = today.replace(day=1).isoformat()
    created = 0
    for body in NEW_CLIENTS:
        if body["code"] in known:
            continue
        client = api.post("/clients", body)
        created += 1
        known[body["code"]] = client
        api.post(f"/clients/{client['id']}/contacts", NEW_CONTACTS[body["code"]])
        for subscription in NEW_FOLDERS[body["code"]]:
            api.post(f"/clients/{client['id']}/subscriptions", subscription | {"start_date": first})
    fr05 = known["DEMO-FR05"]["id"]
    subscriptions = api.get(f"/clients/{fr05}/subscriptions")
    if not any(s["article_code"] == "FIBER-1G" and s["start_date"] == first for s in subscriptions):
        api.post(
            f"/clients/{fr05}/subscriptions",
            {"article_code": "FIBER-1G", "quantity": "4", "start_date": first},
        )
    for code, item in CREDITS.items():
        client_id = known[code]["id"]
        if not any(i["label"] == item["label"] for i in api.get(f"/clients/{client_id}/one-time-items")):
            api.post(f"/clients/{client_id}/one-time-items", item)
    for content in (this_month_traffic(last_month_csv, today, {FEED_MISSING}), standout_calls(today)):
        api.post("/usage.csv", content=content.encode(), headers={"Content-Type": "text/csv"})
    return created


def review_summary(api: DemoApi, run_id: str) -> str:
    review = api.get(f"/billing-runs/{run_id}/review")
    counts = ", ".join(f"{code} {n}" for code, n in review["counts"].items() if n)
    return f"{review['flagged_previews']} of {review['previews']} previews flagged ({counts})"
