"""The SFTP server's logins, sessions, host key and shutdown (adapters/sftp_server.py), through a real
asyncssh client over 127.0.0.1."""

from __future__ import annotations

import stat
from pathlib import Path

import asyncssh
import pytest
from sftp_test_server import ALICE_PASSWORD, BOB_KEY, MONTH, Server, Store, connect, lookup_from, names

from ledgerline_export.adapters.sftp_server import (
    SftpHostKeyExposed,
    load_or_create_host_key,
    start_sftp_server,
    stop_sftp_server,
)
from ledgerline_export.domain.sftp_credentials import CredentialRecord

pytestmark = pytest.mark.timeout(60)


# ---- what is served --------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_public_key_login_works(server: Server, store: Store) -> None:
    async with (
        await connect(server, "bob", client_keys=[BOB_KEY]) as conn,
        conn.start_sftp_client() as client,
    ):
        path = f"/production/{MONTH}/invoices-xml/F2026-000002.xml"
        async with client.open(path, "rb") as remote:
            data = await remote.read()
        assert isinstance(data, bytes) and data == store.files[path]


# ---- authentication refusals -----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_wrong_password_is_refused(server: Server) -> None:
    with pytest.raises(asyncssh.PermissionDenied):
        await connect(server, "alice", password=ALICE_PASSWORD.password + "x")


@pytest.mark.asyncio
async def test_unknown_user_is_refused(server: Server) -> None:
    with pytest.raises(asyncssh.PermissionDenied):
        await connect(server, "mallory", password=ALICE_PASSWORD.password)


@pytest.mark.asyncio
async def test_user_without_password_cannot_log_in_by_password(server: Server) -> None:
    with pytest.raises(asyncssh.PermissionDenied):
        await connect(server, "bob", password="")
    with pytest.raises(asyncssh.PermissionDenied):
        await connect(server, "bob", password=ALICE_PASSWORD.password)


@pytest.mark.asyncio
async def test_unlisted_public_key_is_refused(server: Server) -> None:
    with pytest.raises(asyncssh.PermissionDenied):
        await connect(server, "bob", client_keys=[asyncssh.generate_private_key("ssh-ed25519")])
    with pytest.raises(asyncssh.PermissionDenied):
        await connect(server, "alice", client_keys=[BOB_KEY])  # bob's key is not alice's


@pytest.mark.asyncio
async def test_failing_lookup_refuses_login(store: Store, tmp_path: Path) -> None:
    async def broken(username: str) -> CredentialRecord | None:
        raise RuntimeError("credential database down")

    acceptor = await start_sftp_server("127.0.0.1", 0, store.root, tmp_path / "hk", broken)
    try:
        with pytest.raises(asyncssh.PermissionDenied):
            await connect(Server(acceptor.get_port(), acceptor, tmp_path / "hk"))
    finally:
        await stop_sftp_server(acceptor)


# ---- sessions: SFTP only ---------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_no_shell_no_exec_no_port_forwarding(server: Server) -> None:
    async with await connect(server) as conn:
        with pytest.raises(asyncssh.ChannelOpenError):
            await conn.run("cat /etc/passwd", check=True)
        with pytest.raises(asyncssh.ChannelOpenError):
            await conn.create_process(term_type=None)
        with pytest.raises(asyncssh.ChannelOpenError):
            await conn.open_connection("127.0.0.1", server.port)
        with pytest.raises(asyncssh.ChannelListenError):
            await conn.forward_remote_port("127.0.0.1", 0, "127.0.0.1", server.port)


# ---- host key and shutdown -------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_host_key_is_created_0600_and_reused(server: Server, store: Store) -> None:
    assert stat.S_IMODE(server.host_key_path.stat().st_mode) == 0o600
    async with await connect(server) as conn:
        first = conn.get_server_host_key()
    await stop_sftp_server(server.acceptor)
    acceptor = await start_sftp_server("127.0.0.1", 0, store.root, server.host_key_path, lookup_from({}))
    try:
        with pytest.raises(asyncssh.PermissionDenied):
            await connect(Server(acceptor.get_port(), acceptor, server.host_key_path))
        again = load_or_create_host_key(server.host_key_path)
        assert first is not None and again.public_data == first.public_data
    finally:
        await stop_sftp_server(acceptor)


def test_host_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "hk"
    load_or_create_host_key(path)
    path.chmod(0o644)
    with pytest.raises(SftpHostKeyExposed):
        load_or_create_host_key(path)


@pytest.mark.asyncio
async def test_stop_closes_open_sessions(server: Server) -> None:
    conn = await connect(server)
    client = await conn.start_sftp_client()
    assert names(await client.listdir("/")) == ["production"]
    await stop_sftp_server(server.acceptor)
    with pytest.raises((asyncssh.SFTPConnectionLost, asyncssh.SFTPError, OSError, asyncssh.Error)):
        await client.listdir("/")
    with pytest.raises(OSError):
        await connect(server)
    conn.close()
