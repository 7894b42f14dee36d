"""The lease rule of work claimed outside Kafka (billing runs, export jobs): pure, the clock is the caller's.

A job's row carries who holds it (`owner`, an instance id) and until when (`expires_at`). The holder
renews the expiry while it works (its heartbeat); an instance that dies stops renewing, and once the
expiry has passed any instance may take the job over. The repositories claim and renew with
conditional UPDATEs that say the same as `may_take` and `held_by` below, in SQL, so two instances
racing for one job never both get it.

Times are the instances' own clocks (UTC): they must agree to well within a lease (NTP); a lease of a
minute and a heartbeat of a quarter of it leave room for a paused process and some skew.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from dataclasses import dataclass


def default_instance_id() -> str:
    """This process's name for the leases it holds: host and process id (LEDGERLINE_INSTANCE_ID
    overrides it; it must differ between instances alive at the same time)."""
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True)
class Lease:
    """Who holds a job, and until when (None: nobody, e.g. a job never started)."""

    owner: str | None
    expires_at: dt.datetime | None

    def expired(self, now: dt.datetime) -> bool:
        """Expired: its holder did not renew it in time (it died, or lost the database)."""
        return self.expires_at is None or _utc(self.expires_at) <= now

    def may_take(self, claimant: str, now: dt.datetime) -> bool:
        """A claimant may take a job nobody holds, one whose lease expired, or its own."""
        return self.owner is None or self.owner == claimant or self.expired(now)

    def held_by(self, claimant: str) -> bool:
        """The claimant may go on working on the job: nobody took it over. An expired lease alone
        does not stop its holder (a slow heartbeat is not a death); a takeover does, and the
        repositories make a takeover wait for the holder's transaction in flight."""
        return self.owner == claimant


def lease_until(now: dt.datetime, lease_s: float) -> dt.datetime:
    """The expiry of a lease claimed or renewed at `now`."""
    return now + dt.timedelta(seconds=lease_s)


def check_lease_settings(lease_s: float, heartbeat_s: float) -> None:
    """A heartbeat must renew the lease several times before it expires, or a live holder loses it."""
    if heartbeat_s <= 0 or lease_s < 2 * heartbeat_s:
        raise ValueError(
            f"job_lease_s ({lease_s}) must be at least twice job_heartbeat_s ({heartbeat_s}), both positive"
        )


def _utc(value: dt.datetime) -> dt.datetime:
    """SQLite gives naive datetimes back; every stored time is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
