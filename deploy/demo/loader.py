"""Load the demo operator of spec section 10 through the invoicing HTTP API, idempotently.

    .venv/bin/python deploy/demo --url http://127.0.0.1:8101 --token TOKEN [--approver-token TOKEN2]

What exists is kept (clients by code, articles by code, rate plans by code; call records are
duplicates by cdr_id); what is missing is created: two rate plans, a catalog, 30 French and English
clients with their invoice contacts, subscriptions and one-time items (one of them a credit), a month
of call records for last month, then last month's production run (when run approval is required,
after a preview approved with --approver-token, a second person), then this month's folders and
traffic with two new clients (review.py: some clients trip each flag of the review), and this
month's preview, left for a second person to review and approve. The data is in fixtures.py.

A client of the API like any other (it imports nothing of the services): it lives with `make run`
(deploy/run.py) and the browser tests' site, not in the invoicing service.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from typing import Any

import httpx

from demo import review
from demo.fixtures import (
    CATALOG,
    RATE_PLANS,
    call_records_csv,
    contact_of,
    demo_clients,
    previous_month,
)


class Api:
    def __init__(self, url: str, token: str) -> None:
        self.http = httpx.Client(
            base_url=url.rstrip("/") + "/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=120
        )

    def get(self, path: str, **params: Any) -> Any:
        answer = self.http.get(path, params=params)
        answer.raise_for_status()
        return answer.json()

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        answer = (
            self.http.post(path, json=body, **kwargs) if body is not None else self.http.post(path, **kwargs)
        )
        if answer.status_code >= 400:
            raise SystemExit(f"demo: POST {path} answered {answer.status_code}: {answer.text}")
        return answer.json()

    def try_post(self, path: str, body: Any) -> tuple[int, Any]:
        """POST and answer (status, JSON), whatever the status: the caller decides."""
        answer = self.http.post(path, json=body)
        return answer.status_code, answer.json()

    def wait_run(self, run_id: str, timeout_s: float = 300) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while True:
            state: dict[str, Any] = self.get(f"/billing-runs/{run_id}")
            if state["status"] in {"completed", "failed"} or time.monotonic() > deadline:
                return state
            time.sleep(0.5)


def load(api: Api, today: dt.date, approver: Api | None = None) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    existing_plans = {p["code"] for p in api.get("/rate-plans")}
    for plan in RATE_PLANS:
        if plan["code"] not in existing_plans:
            api.post("/rate-plans", plan)
    existing_articles = {a["code"] for a in api.get("/articles")}
    for article in CATALOG:
        if article["code"] not in existing_articles:
            api.post("/articles", article)
    known = {c["code"]: c for c in api.get("/clients", q="DEMO-", limit=500)}
    created = 0
    clients: list[dict[str, Any]] = []
    last_month = previous_month(today)
    for n, body in enumerate(demo_clients()):
        client = known.get(body["code"])
        if client is None:
            client = api.post("/clients", body)
            created += 1
            for contact in contact_of(body):
                api.post(f"/clients/{client['id']}/contacts", contact)
            start = (last_month - dt.timedelta(days=90 * (n % 3))).replace(day=1)
            if n % 7 == 3:
                start = last_month.replace(day=12)  # joined mid-month: a prorated first invoice
            api.post(
                f"/clients/{client['id']}/subscriptions",
                {"article_code": "SIP-LINE", "quantity": str(1 + n % 5), "start_date": start.isoformat()},
            )
            api.post(
                f"/clients/{client['id']}/subscriptions",
                {"article_code": "MOBILE-PRO", "quantity": str(1 + n % 4), "start_date": start.isoformat()},
            )
            if n % 3 == 0:
                api.post(
                    f"/clients/{client['id']}/subscriptions",
                    {"article_code": "FIBER-1G", "quantity": "1", "start_date": start.isoformat()},
                )
            if n % 2 == 0:
                api.post(
                    f"/clients/{client['id']}/subscriptions",
                    {"article_code": "PBX-SEAT", "quantity": str(2 + n % 6), "start_date": start.isoformat()},
                )
            if n % 7 == 3:
                api.post(
                    f"/clients/{client['id']}/one-time-items", {"article_code": "SETUP", "quantity": "1"}
                )
                api.post(
                    f"/clients/{client['id']}/one-time-items", {"article_code": "HANDSET", "quantity": "2"}
                )
            if n == 4:
                # Method C of the guide: a credit through a credit-note article, billed at the next cycle.
                api.post(
                    f"/clients/{client['id']}/one-time-items",
                    {
                        "article_code": "GOODWILL",
                        "quantity": "1",
                        "unit_price": "-35.00",
                        "label": "Geste commercial : coupure du 3",
                    },
                )
        clients.append(client)
    summary["clients"] = {"total": len(clients), "created": created}

    last_month_calls = call_records_csv(clients, last_month)
    usage = api.post("/usage.csv", content=last_month_calls.encode(), headers={"Content-Type": "text/csv"})
    summary["call_records"] = {
        "accepted": usage["accepted"],
        "duplicates": usage["duplicates"],
        "kept_unrated": len(usage["rejected"]),
    }

    period = f"{last_month:%Y-%m}"
    first = clients[0]["id"]
    billed = [d for d in api.get(f"/clients/{first}/invoices", limit=50) if d["period"] == period]
    if billed:
        summary["production"] = {
            "period": period,
            "status": "already done",
            "first_invoice": billed[0]["number"],
        }
    else:
        run = review.produce(api, approver, period)
        state = api.wait_run(run["id"])
        summary["production"] = {
            "period": period,
            "run": run["id"],
            "status": state["status"],
            "invoices": len(state["documents"]),
            "errors": state["errors"],
        }
    every = known | {c["code"]: c for c in clients}
    summary["clients"]["created"] += review.prepare_this_month(api, every, today, last_month_calls)
    summary["clients"]["total"] = len(every)
    preview = api.post("/billing-runs", {"period": f"{today:%Y-%m}", "mode": "preview"})
    state = api.wait_run(preview["id"])
    summary["preview"] = {
        "period": f"{today:%Y-%m}",
        "run": preview["id"],
        "status": state["status"],
        "previews": len(state["documents"]),
        "review": review.review_summary(api, preview["id"]) if state["status"] == "completed" else "",
    }
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Load the Ledgerline demo operator through the API.")
    parser.add_argument("--url", default="http://127.0.0.1:8101")
    parser.add_argument("--token", required=True, help="a token with the admin or billing role")
    parser.add_argument(
        "--approver-token", help="a second person's billing token: approves last month's preview if required"
    )
    args = parser.parse_args(argv)
    today = dt.date.today()
    approver = Api(args.url, args.approver_token) if args.approver_token else None
    summary = load(Api(args.url, args.token), today, approver)
    production = summary["production"]
    print(
        f"demo operator: {summary['clients']['total']} clients ({summary['clients']['created']} new), "
        f"catalog of {len(CATALOG)} articles, rate plans {', '.join(p['code'] for p in RATE_PLANS)}"
    )
    print(
        f"call records of {production['period']}: {summary['call_records']['accepted']} new, "
        f"{summary['call_records']['duplicates']} already there, "
        f"{summary['call_records']['kept_unrated']} kept unrated"
    )
    if "invoices" in production:
        print(
            f"production {production['period']}: {production['status']}, {production['invoices']} invoices, "
            f"{len(production['errors'])} errors"
        )
    else:
        print(f"production {production['period']}: already done (e.g. {production['first_invoice']})")
    print(
        f"preview {summary['preview']['period']}: {summary['preview']['status']}, "
        f"{summary['preview']['previews']} previews; review: {summary['preview']['review']}"
    )
    runs = f"/api/v1/billing-runs/{summary['preview']['run']}"
    print(f"review it: GET {runs}/review; a second person (not this token) approves it: POST {runs}/approve")
    print(
        f"look at: GET /api/v1/invoices?month={today:%Y-%m}  and  GET /api/v1/previews?period={today:%Y-%m}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
