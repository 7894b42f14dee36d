"""The demo's review story: this month's traffic repeats last month's, minus the "missing" feed."""

import csv
import datetime as dt
import io

from demo.fixtures import call_records_csv
from demo.review import FEED_MISSING, standout_calls, this_month_traffic


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_this_month_repeats_last_months_calls_on_the_days_elapsed():
    clients = [{"code": "DEMO-FR01"}, {"code": FEED_MISSING}]
    last = call_records_csv(clients, dt.date(2026, 11, 1))
    today = dt.date(2026, 12, 9)
    again = rows(this_month_traffic(last, today, {FEED_MISSING}))
    before = [r for r in rows(last) if r["account"] == "DEMO-FR01"]
    assert len(again) == len(before) > 0 and {r["account"] for r in again} == {"DEMO-FR01"}
    for old, new in zip(before, again, strict=True):
        at = dt.datetime.fromisoformat(new["started_at"])
        assert (at.year, at.month) == (2026, 12) and 1 <= at.day <= 9
        assert new["cdr_id"] == f"{old['cdr_id']}-m202612" and new["callee"] == old["callee"]
        assert (new["duration_s"], new["units"]) == (old["duration_s"], old["units"])


def test_the_standout_calls_are_all_dated_this_month_and_unique():
    calls = rows(standout_calls(dt.date(2026, 12, 1)))
    assert len({c["cdr_id"] for c in calls}) == len(calls)
    assert all(c["started_at"].startswith("2026-12-") for c in calls)
    assert sum(c["account"] == "DEMO-EN06" for c in calls) == 60
