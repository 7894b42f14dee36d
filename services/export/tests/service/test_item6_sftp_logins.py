"""Issue 11 item 6: SFTP logins expire, can be revoked (by their owner or an admin), are checked at
every login, and repeated failures lock out a user and an address; every attempt is audited. Each
through a real asyncssh client over 127.0.0.1."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncssh
import pytest
from sqlalchemy import select, update

from ledgerline_export.adapters.orm import SftpLoginAttemptRow, SftpUserRow
from ledgerline_export.service import sftp_logins

from .conftest import ExportService, export_settings, running
from .test_sftp_access import connect

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[ExportService]:
    settings = export_settings(tmp_path).model_copy(
        update={
            "sftp_failure_delay_s": 0.0,
            "sftp_max_failures_per_user": 3,
            "sftp_max_failures_per_address": 5,
            "sftp_failure_window_s": 60.0,
            "sftp_lockout_s": 8.0,
        }
    )
    async with running(settings) as export:
        yield export


async def _issue(export: ExportService, sub: str) -> str:
    answer = await export.http.post("/api/v1/me/sftp/password", headers=export.token("accounting", sub=sub))
    assert answer.status_code == 200, answer.text
    return str(answer.json()["password"])


async def _can_login(export: ExportService, username: str, **auth: Any) -> bool:
    auth.setdefault("client_keys", ())  # no keys of the machine's own ~/.ssh: only what the test gives
    try:
        async with connect(export, username, **auth) as conn, conn.start_sftp_client() as sftp:
            await sftp.listdir("/production")
        return True
    except asyncssh.PermissionDenied:
        return False


async def _attempts(export: ExportService, username: str) -> list[SftpLoginAttemptRow]:
    async with export.runtime.read_sessions() as session:
        rows = await session.scalars(
            select(SftpLoginAttemptRow)
            .where(SftpLoginAttemptRow.username == username)
            .order_by(SftpLoginAttemptRow.id)
        )
        return list(rows)


async def _settle() -> None:
    await asyncio.sleep(0.2)  # a success is audited just after the session opens


async def test_item6_password_expires_after_the_configured_age(service: ExportService) -> None:
    password = await _issue(service, "alice")
    info = (await service.http.get("/api/v1/me/sftp", headers=service.token("accounting"))).json()
    expires = dt.datetime.fromisoformat(info["password_expires_at"])
    assert dt.timedelta(days=89) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(days=90)
    assert await _can_login(service, "alice", password=password)

    async with service.runtime.sessions() as session, session.begin():
        aged = dt.datetime.now(dt.UTC) - dt.timedelta(days=90, minutes=1)
        await session.execute(update(SftpUserRow).values(password_issued_at=aged))
    assert not await _can_login(service, "alice", password=password)  # the right password, too old
    await _settle()
    last = (await _attempts(service, "alice"))[-1]
    assert (last.outcome, last.reason, last.method) == ("refused", "password expired", "password")

    fresh = await _issue(service, "alice")
    assert await _can_login(service, "alice", password=fresh)


async def test_item6_the_owner_revokes_their_login(service: ExportService) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519")
    headers = service.token("accounting", sub="alice")
    password = await _issue(service, "alice")
    keys = await service.http.put(
        "/api/v1/me/sftp/keys", headers=headers, json={"keys": [key.export_public_key("openssh").decode()]}
    )
    assert keys.status_code == 200
    other = await _issue(service, "bob")
    assert await _can_login(service, "alice", password=password)
    assert await _can_login(service, "alice", client_keys=[key])

    assert (await service.http.delete("/api/v1/me/sftp", headers=headers)).status_code == 204
    # Checked at the very next login, no restart: neither the password nor the key opens it.
    assert not await _can_login(service, "alice", password=password)
    assert not await _can_login(service, "alice", client_keys=[key])
    info = (await service.http.get("/api/v1/me/sftp", headers=headers)).json()
    assert info["revoked_at"] and info["password_set"] is False and info["public_keys"] == 0
    assert await _can_login(service, "bob", password=other)  # nobody else's login changed
    # Someone with no login at all has nothing to revoke.
    nobody = await service.http.delete("/api/v1/me/sftp", headers=service.token("accounting", sub="zoe"))
    assert nobody.status_code == 404
    # With a valid token again the owner takes a new password; the old one stays dead.
    again = await _issue(service, "alice")
    assert not await _can_login(service, "alice", password=password)
    assert await _can_login(service, "alice", password=again)


async def test_item6_an_admin_revokes_anyones_login(service: ExportService) -> None:
    password = await _issue(service, "alice")
    path = "/api/v1/sftp-accounts/alice"
    for role in ("billing", "accounting", "readonly", "ops"):
        refused = await service.http.delete(path, headers=service.token(role, sub="mallory"))
        assert refused.status_code == 403, role
    assert await _can_login(service, "alice", password=password)  # the refusals changed nothing

    revoked = await service.http.delete(path, headers=service.token("admin", sub="root"))
    assert revoked.status_code == 204
    assert not await _can_login(service, "alice", password=password)
    async with service.runtime.read_sessions() as session:
        row = await session.get(SftpUserRow, "alice")
    assert row is not None and row.revoked_by == "admin:root" and row.password_hash is None
    unknown = await service.http.delete("/api/v1/sftp-accounts/nobody", headers=service.token("admin"))
    assert unknown.status_code == 404


async def test_item6_failures_lock_out_the_user_then_the_address_and_are_audited(
    service: ExportService, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = await _issue(service, "alice")
    bob = await _issue(service, "bob")
    logs: list[dict[str, Any]] = []

    class Recorder:  # the structured log line, as the gate emits it (whatever logging is configured)
        def info(self, event: str, **fields: Any) -> None:
            logs.append({"event": event, **fields})

    monkeypatch.setattr(sftp_logins, "log", Recorder())
    for _ in range(3):
        assert not await _can_login(service, "alice", password="guess")
    # Locked: even the right password is refused, without being checked.
    assert not await _can_login(service, "alice", password=alice)
    assert await _can_login(service, "bob", password=bob)  # another user is not locked
    await _settle()
    # Two more failures from this address reach its limit (5): bob is refused too now.
    for _ in range(2):
        assert not await _can_login(service, "bob", password="guess")
    assert not await _can_login(service, "bob", password=bob)

    outcomes = [(a.outcome, a.address) for a in await _attempts(service, "alice")]
    assert outcomes[:3] == [("failed", "127.0.0.1")] * 3
    assert outcomes[3][0] == "refused"
    refused = (await _attempts(service, "alice"))[3]
    assert refused.reason.startswith("user locked out until")
    bob_rows = await _attempts(service, "bob")
    assert [a.outcome for a in bob_rows] == ["success", "failed", "failed", "refused"]
    assert bob_rows[-1].reason.startswith("address locked out until")
    lines = [entry for entry in logs if entry.get("event") == "sftp login"]
    assert len(lines) == 8 and {line["outcome"] for line in lines} == {"failed", "refused", "success"}
    assert all(line["address"] == "127.0.0.1" and line["method"] == "password" for line in lines)

    await asyncio.sleep(8.2)  # the lockout (8 s here) runs out
    assert await _can_login(service, "alice", password=alice)
