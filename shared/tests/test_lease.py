"""The lease rule of billing runs and export jobs (shared/ledgerline_shared/lease.py), and its settings."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from ledgerline_shared.lease import Lease, lease_until
from ledgerline_shared.settings import Settings

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


def test_a_job_nobody_holds_may_be_taken_by_anyone() -> None:
    assert Lease(None, None).may_take("b", NOW)
    assert Lease(None, None).expired(NOW)


def test_a_live_lease_is_its_holders_alone() -> None:
    lease = Lease("a", lease_until(NOW, 60))
    assert lease.may_take("a", NOW) and lease.held_by("a")
    assert not lease.may_take("b", NOW) and not lease.held_by("b")
    assert not lease.may_take("b", NOW + dt.timedelta(seconds=59))


def test_an_expired_lease_may_be_taken_over() -> None:
    lease = Lease("a", lease_until(NOW, 60))
    assert lease.expired(NOW + dt.timedelta(seconds=60))
    assert lease.may_take("b", NOW + dt.timedelta(seconds=60))
    assert lease.held_by("a")  # until someone actually takes it over, its holder goes on


def test_a_naive_expiry_from_sqlite_is_utc() -> None:
    lease = Lease("a", (NOW + dt.timedelta(seconds=5)).replace(tzinfo=None))
    assert not lease.expired(NOW) and lease.expired(NOW + dt.timedelta(seconds=5))


def test_the_defaults_name_this_process_and_hold_four_heartbeats() -> None:
    settings = Settings()
    assert settings.instance_id and settings.job_lease_s == 60 and settings.job_heartbeat_s == 15


@pytest.mark.parametrize(("lease_s", "heartbeat_s"), [(10.0, 10.0), (10.0, 6.0), (60.0, 0.0)])
def test_a_lease_shorter_than_two_heartbeats_is_refused(lease_s: float, heartbeat_s: float) -> None:
    with pytest.raises(ValidationError, match=r"at least twice|greater than 0"):
        Settings(job_lease_s=lease_s, job_heartbeat_s=heartbeat_s)
