"""The read-only SFTP server, exercised through a real asyncssh client over 127.0.0.1."""

from __future__ import annotations

import io
import json
import os
import pwd
import stat
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncssh
import pytest
import pytest_asyncio
from pypdf import PdfReader, PdfWriter

from ledgerline_export.adapters.sftp_server import (
    SftpHostKeyExposed,
    load_or_create_host_key,
    start_sftp_server,
    stop_sftp_server,
)
from ledgerline_export.domain.sftp_credentials import CredentialRecord, issue_sftp_password

pytestmark = pytest.mark.timeout(60)

MONTH = "2026-01"
NUMBERS = ("F2026-000001", "F2026-000002", "AV2026-000001")
FOLDERS = {"invoices-pdf": "pdf", "invoices-json": "json", "invoices-xml": "xml"}

ALICE_PASSWORD = issue_sftp_password()  # one argon2 hash for the whole module
BOB_KEY = asyncssh.generate_private_key("ssh-ed25519")


def _pdf_bytes(number: str) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": number})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _ubl_bytes(number: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">'
        f"<ID>{number}</ID></Invoice>\n"
    ).encode()


@dataclass
class Store:
    root: Path
    month: Path
    outside_secret: Path
    files: dict[str, bytes]  # remote path -> stored bytes


@pytest.fixture
def store(tmp_path: Path) -> Store:
    root = tmp_path / "documents"
    month = root / "production" / MONTH
    files: dict[str, bytes] = {}
    for folder, ext in FOLDERS.items():
        (month / folder).mkdir(parents=True)
        for number in NUMBERS:
            if ext == "pdf":
                data = _pdf_bytes(number)
            elif ext == "json":
                data = json.dumps({"number": number, "totals": {"payable": "120.00"}}).encode()
            else:
                data = _ubl_bytes(number)
            (month / folder / f"{number}.{ext}").write_bytes(data)
            files[f"/production/{MONTH}/{folder}/{number}.{ext}"] = data
    # Larger than one SFTP read block, so a download takes several requests.
    big = os.urandom(300_000)
    (month / "invoices-pdf" / "F2026-000003.pdf").write_bytes(big)
    files[f"/production/{MONTH}/invoices-pdf/F2026-000003.pdf"] = big
    # Other store folders must stay invisible.
    (root / "versions" / "F2026-000001" / "v1").mkdir(parents=True)
    (root / "versions" / "F2026-000001" / "v1" / "F2026-000001.pdf").write_bytes(b"old version")
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.txt"
    secret.write_bytes(b"TOP SECRET, not in the store")
    return Store(root=root, month=month, outside_secret=secret, files=files)


def _lookup_from(records: dict[str, CredentialRecord]) -> Callable[[str], Awaitable[CredentialRecord | None]]:
    async def lookup(username: str) -> CredentialRecord | None:
        return records.get(username)

    return lookup


@dataclass
class Server:
    port: int
    acceptor: asyncssh.SSHAcceptor
    host_key_path: Path


@pytest_asyncio.fixture
async def server(store: Store, tmp_path: Path) -> AsyncIterator[Server]:
    records = {
        "alice": CredentialRecord("alice", password_hash=ALICE_PASSWORD.password_hash),
        "bob": CredentialRecord(
            "bob",
            password_hash=None,
            authorized_keys=("not a key at all", BOB_KEY.export_public_key("openssh").decode()),
        ),
    }
    host_key_path = tmp_path / "keys" / "sftp_host_ed25519"
    acceptor = await start_sftp_server("127.0.0.1", 0, store.root, host_key_path, _lookup_from(records))
    try:
        yield Server(port=acceptor.get_port(), acceptor=acceptor, host_key_path=host_key_path)
    finally:
        await stop_sftp_server(acceptor)


async def _connect(server: Server, username: str = "alice", **auth: object) -> asyncssh.SSHClientConnection:
    if not auth:
        auth = {"password": ALICE_PASSWORD.password}
    return await asyncssh.connect(
        "127.0.0.1",
        server.port,
        username=username,
        known_hosts=None,
        agent_path=None,
        client_keys=auth.pop("client_keys", None),
        config=None,
        **auth,
    )


@pytest_asyncio.fixture
async def sftp(server: Server) -> AsyncIterator[asyncssh.SFTPClient]:
    async with await _connect(server) as conn, conn.start_sftp_client() as client:
        yield client


def _names(listing: Sequence[str]) -> list[str]:
    return sorted(n for n in listing if n not in (".", ".."))


# ---- what is served --------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_root_lists_only_production(sftp: asyncssh.SFTPClient) -> None:
    assert _names(await sftp.listdir("/")) == ["production"]
    assert _names(await sftp.listdir(".")) == ["production"]
    assert await sftp.realpath(".") == "/"
    assert _names(await sftp.listdir("/production")) == [MONTH]
    assert _names(await sftp.listdir(f"/production/{MONTH}")) == sorted(FOLDERS)


@pytest.mark.asyncio
@pytest.mark.parametrize("folder", sorted(FOLDERS))
async def test_month_folder_lists_and_downloads_each_stored_file(
    sftp: asyncssh.SFTPClient, store: Store, folder: str, tmp_path: Path
) -> None:
    remote_dir = f"/production/{MONTH}/{folder}"
    expected = {
        p.rsplit("/", 1)[1]: data for p, data in store.files.items() if p.startswith(remote_dir + "/")
    }
    assert _names(await sftp.listdir(remote_dir)) == sorted(expected)
    download = tmp_path / "download"
    download.mkdir()
    for name, data in expected.items():
        await sftp.get(f"{remote_dir}/{name}", download / name)
        assert (download / name).read_bytes() == data
        assert (await sftp.stat(f"{remote_dir}/{name}")).size == len(data)


@pytest.mark.asyncio
async def test_downloaded_pdf_is_a_readable_pdf(sftp: asyncssh.SFTPClient) -> None:
    async with sftp.open(f"/production/{MONTH}/invoices-pdf/F2026-000001.pdf", "rb") as remote:
        data = await remote.read()
    assert isinstance(data, bytes)
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1
    assert reader.metadata is not None and reader.metadata.title == "F2026-000001"


@pytest.mark.asyncio
async def test_attributes_are_read_only_and_carry_no_owner(sftp: asyncssh.SFTPClient) -> None:
    attrs = await sftp.stat(f"/production/{MONTH}/invoices-json/F2026-000001.json")
    assert attrs.permissions is not None and attrs.permissions & 0o222 == 0
    assert attrs.uid is None and attrs.gid is None
    owner = pwd.getpwuid(os.getuid()).pw_name  # who owns the store files on this host
    names = await sftp.readdir(f"/production/{MONTH}/invoices-json")
    assert len(names) == 5
    for name in names:
        assert isinstance(name.longname, str) and name.longname.startswith(("-r--r--r--", "dr-xr-xr-x"))
        assert owner not in name.longname.split()


@pytest.mark.asyncio
async def test_public_key_login_works(server: Server, store: Store) -> None:
    async with (
        await _connect(server, "bob", client_keys=[BOB_KEY]) as conn,
        conn.start_sftp_client() as client,
    ):
        path = f"/production/{MONTH}/invoices-xml/F2026-000002.xml"
        async with client.open(path, "rb") as remote:
            data = await remote.read()
        assert isinstance(data, bytes) and data == store.files[path]


@pytest.mark.asyncio
async def test_symlink_inside_the_tree_is_followed(sftp: asyncssh.SFTPClient, store: Store) -> None:
    (store.month / "invoices-pdf" / "latest.pdf").symlink_to(
        store.month / "invoices-pdf" / "F2026-000001.pdf"
    )
    path = f"/production/{MONTH}/invoices-pdf/latest.pdf"
    assert "latest.pdf" in await sftp.listdir(f"/production/{MONTH}/invoices-pdf")
    async with sftp.open(path, "rb") as remote:
        data = await remote.read()
    assert isinstance(data, bytes)
    assert data == store.files[f"/production/{MONTH}/invoices-pdf/F2026-000001.pdf"]
    assert await sftp.readlink(path) == f"/production/{MONTH}/invoices-pdf/F2026-000001.pdf"


# ---- authentication refusals -----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_wrong_password_is_refused(server: Server) -> None:
    with pytest.raises(asyncssh.PermissionDenied):
        await _connect(server, "alice", password=ALICE_PASSWORD.password + "x")


@pytest.mark.asyncio
async def test_unknown_user_is_refused(server: Server) -> None:
    with pytest.raises(asyncssh.PermissionDenied):
        await _connect(server, "mallory", password=ALICE_PASSWORD.password)


@pytest.mark.asyncio
async def test_user_without_password_cannot_log_in_by_password(server: Server) -> None:
    with pytest.raises(asyncssh.PermissionDenied):
        await _connect(server, "bob", password="")
    with pytest.raises(asyncssh.PermissionDenied):
        await _connect(server, "bob", password=ALICE_PASSWORD.password)


@pytest.mark.asyncio
async def test_unlisted_public_key_is_refused(server: Server) -> None:
    with pytest.raises(asyncssh.PermissionDenied):
        await _connect(server, "bob", client_keys=[asyncssh.generate_private_key("ssh-ed25519")])
    with pytest.raises(asyncssh.PermissionDenied):
        await _connect(server, "alice", client_keys=[BOB_KEY])  # bob's key is not alice's


@pytest.mark.asyncio
async def test_failing_lookup_refuses_login(store: Store, tmp_path: Path) -> None:
    async def broken(username: str) -> CredentialRecord | None:
        raise RuntimeError("credential database down")

    acceptor = await start_sftp_server("127.0.0.1", 0, store.root, tmp_path / "hk", broken)
    try:
        with pytest.raises(asyncssh.PermissionDenied):
            await _connect(Server(acceptor.get_port(), acceptor, tmp_path / "hk"))
    finally:
        await stop_sftp_server(acceptor)


# ---- sessions: SFTP only ---------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_no_shell_no_exec_no_port_forwarding(server: Server) -> None:
    async with await _connect(server) as conn:
        with pytest.raises(asyncssh.ChannelOpenError):
            await conn.run("cat /etc/passwd", check=True)
        with pytest.raises(asyncssh.ChannelOpenError):
            await conn.create_process(term_type=None)
        with pytest.raises(asyncssh.ChannelOpenError):
            await conn.open_connection("127.0.0.1", server.port)
        with pytest.raises(asyncssh.ChannelListenError):
            await conn.forward_remote_port("127.0.0.1", 0, "127.0.0.1", server.port)


# ---- writes are refused ----------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_put_is_refused(sftp: asyncssh.SFTPClient, store: Store, tmp_path: Path) -> None:
    local = tmp_path / "upload.pdf"
    local.write_bytes(b"forged invoice")
    with pytest.raises(asyncssh.SFTPPermissionDenied):
        await sftp.put(local, f"/production/{MONTH}/invoices-pdf/F2026-999999.pdf")
    assert not (store.month / "invoices-pdf" / "F2026-999999.pdf").exists()


@pytest.mark.asyncio
@pytest.mark.parametrize("mode", ["wb", "ab", "r+b", "xb"])
async def test_opening_an_existing_file_for_writing_is_refused(
    sftp: asyncssh.SFTPClient, store: Store, mode: str
) -> None:
    path = f"/production/{MONTH}/invoices-json/F2026-000001.json"
    with pytest.raises(asyncssh.SFTPPermissionDenied):
        await sftp.open(path, mode)
    assert (store.month / "invoices-json" / "F2026-000001.json").read_bytes() == store.files[path]


@pytest.mark.asyncio
async def test_remove_is_refused(sftp: asyncssh.SFTPClient, store: Store) -> None:
    with pytest.raises(asyncssh.SFTPPermissionDenied):
        await sftp.remove(f"/production/{MONTH}/invoices-pdf/F2026-000001.pdf")
    assert (store.month / "invoices-pdf" / "F2026-000001.pdf").exists()


@pytest.mark.asyncio
async def test_rename_is_refused(sftp: asyncssh.SFTPClient, store: Store) -> None:
    src = f"/production/{MONTH}/invoices-pdf/F2026-000001.pdf"
    with pytest.raises(asyncssh.SFTPPermissionDenied):
        await sftp.rename(src, f"/production/{MONTH}/invoices-pdf/renamed.pdf")
    with pytest.raises(asyncssh.SFTPPermissionDenied):
        await sftp.posix_rename(src, f"/production/{MONTH}/invoices-pdf/renamed.pdf")
    assert (store.month / "invoices-pdf" / "F2026-000001.pdf").exists()
    assert not (store.month / "invoices-pdf" / "renamed.pdf").exists()


@pytest.mark.asyncio
async def test_mkdir_and_rmdir_are_refused(sftp: asyncssh.SFTPClient, store: Store) -> None:
    with pytest.raises(asyncssh.SFTPPermissionDenied):
        await sftp.mkdir("/production/2026-02")
    assert not (store.root / "production" / "2026-02").exists()
    with pytest.raises(asyncssh.SFTPPermissionDenied):
        await sftp.rmdir(f"/production/{MONTH}/invoices-xml")
    assert (store.month / "invoices-xml").is_dir()


@pytest.mark.asyncio
async def test_setstat_symlink_and_link_are_refused(sftp: asyncssh.SFTPClient, store: Store) -> None:
    path = f"/production/{MONTH}/invoices-pdf/F2026-000001.pdf"
    before = (store.month / "invoices-pdf" / "F2026-000001.pdf").stat().st_mode
    with pytest.raises(asyncssh.SFTPPermissionDenied):
        await sftp.chmod(path, 0o777)
    with pytest.raises(asyncssh.SFTPPermissionDenied):
        await sftp.setstat(path, asyncssh.SFTPAttrs(size=0))
    assert (store.month / "invoices-pdf" / "F2026-000001.pdf").stat().st_mode == before
    with pytest.raises(asyncssh.SFTPPermissionDenied):
        await sftp.symlink("/etc/passwd", f"/production/{MONTH}/passwd")
    with pytest.raises(asyncssh.SFTPPermissionDenied):
        await sftp.link(path, f"/production/{MONTH}/hard.pdf")
    assert not (store.month / "passwd").exists() and not (store.month / "hard.pdf").exists()


# ---- escapes are refused ---------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_dot_dot_stays_inside_the_tree(sftp: asyncssh.SFTPClient, tmp_path: Path) -> None:
    await sftp.chdir("..")
    assert await sftp.getcwd() == "/"
    assert _names(await sftp.listdir("..")) == ["production"]
    assert _names(await sftp.listdir("/production/../../..")) == ["production"]
    await sftp.chdir(f"/production/{MONTH}")
    await sftp.chdir("../../../..")
    assert await sftp.getcwd() == "/"
    for path in ("../../etc/passwd", f"/production/{MONTH}/../../../etc/passwd", "/production/../versions"):
        with pytest.raises(asyncssh.SFTPNoSuchFile):
            await sftp.get(path, tmp_path / "stolen")
    assert not (tmp_path / "stolen").exists()


@pytest.mark.asyncio
async def test_absolute_paths_outside_the_tree_are_not_found(sftp: asyncssh.SFTPClient, store: Store) -> None:
    for path in ("/etc/passwd", "/etc", "/root", str(store.outside_secret), "/versions", "//etc/passwd"):
        with pytest.raises(asyncssh.SFTPNoSuchFile):
            await sftp.stat(path)
    with pytest.raises(asyncssh.SFTPNoSuchFile):
        await sftp.open("/etc/passwd", "rb")
    with pytest.raises(asyncssh.SFTPNoSuchFile):
        await sftp.listdir("/etc")
    # The store's own path, as the server sees it, means nothing to the client either.
    with pytest.raises(asyncssh.SFTPNoSuchFile):
        await sftp.stat(str(store.month / "invoices-pdf" / "F2026-000001.pdf"))


@pytest.mark.asyncio
@pytest.mark.parametrize("target", ["secret", "/etc/passwd"])
async def test_symlink_in_store_pointing_outside_cannot_be_read_or_followed(
    sftp: asyncssh.SFTPClient, store: Store, target: str, tmp_path: Path
) -> None:
    outside = store.outside_secret if target == "secret" else Path(target)
    (store.month / "invoices-pdf" / "leak.pdf").symlink_to(outside)
    path = f"/production/{MONTH}/invoices-pdf/leak.pdf"
    assert "leak.pdf" not in await sftp.listdir(f"/production/{MONTH}/invoices-pdf")
    with pytest.raises(asyncssh.SFTPNoSuchFile):
        await sftp.open(path, "rb")
    with pytest.raises(asyncssh.SFTPNoSuchFile):
        await sftp.get(path, tmp_path / "stolen")
    with pytest.raises(asyncssh.SFTPNoSuchFile):
        await sftp.stat(path)
    with pytest.raises(asyncssh.SFTPNoSuchFile):
        await sftp.lstat(path)
    with pytest.raises(asyncssh.SFTPNoSuchFile):
        await sftp.readlink(path)
    with pytest.raises(asyncssh.SFTPNoSuchFile):
        await sftp.realpath(path)
    assert not (tmp_path / "stolen").exists()


@pytest.mark.asyncio
async def test_directory_symlink_pointing_outside_cannot_be_listed_or_entered(
    sftp: asyncssh.SFTPClient, store: Store
) -> None:
    (store.month / "escape").symlink_to(store.outside_secret.parent)
    (store.root / "production" / "etc").symlink_to("/etc")
    assert _names(await sftp.listdir(f"/production/{MONTH}")) == sorted(FOLDERS)
    assert _names(await sftp.listdir("/production")) == [MONTH]
    for directory in (f"/production/{MONTH}/escape", "/production/etc"):
        with pytest.raises(asyncssh.SFTPNoSuchFile):
            await sftp.listdir(directory)
        with pytest.raises(asyncssh.SFTPNoSuchFile):
            await sftp.chdir(directory)
    with pytest.raises(asyncssh.SFTPNoSuchFile):
        await sftp.open(f"/production/{MONTH}/escape/secret.txt", "rb")
    with pytest.raises(asyncssh.SFTPNoSuchFile):
        await sftp.open("/production/etc/passwd", "rb")


@pytest.mark.asyncio
async def test_temp_files_and_fifos_in_the_store_are_invisible(
    sftp: asyncssh.SFTPClient, store: Store
) -> None:
    (store.month / "invoices-pdf" / ".tmp-abc123").write_bytes(b"half a pdf")
    os.mkfifo(store.month / "invoices-pdf" / "pipe.pdf")
    listing = await sftp.listdir(f"/production/{MONTH}/invoices-pdf")
    assert ".tmp-abc123" not in listing and "pipe.pdf" not in listing
    for name in (".tmp-abc123", "pipe.pdf"):
        with pytest.raises(asyncssh.SFTPNoSuchFile):
            await sftp.open(f"/production/{MONTH}/invoices-pdf/{name}", "rb")


# ---- host key and shutdown -------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_host_key_is_created_0600_and_reused(server: Server, store: Store) -> None:
    assert stat.S_IMODE(server.host_key_path.stat().st_mode) == 0o600
    async with await _connect(server) as conn:
        first = conn.get_server_host_key()
    await stop_sftp_server(server.acceptor)
    acceptor = await start_sftp_server("127.0.0.1", 0, store.root, server.host_key_path, _lookup_from({}))
    try:
        with pytest.raises(asyncssh.PermissionDenied):
            await _connect(Server(acceptor.get_port(), acceptor, server.host_key_path))
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
    conn = await _connect(server)
    client = await conn.start_sftp_client()
    assert _names(await client.listdir("/")) == ["production"]
    await stop_sftp_server(server.acceptor)
    with pytest.raises((asyncssh.SFTPConnectionLost, asyncssh.SFTPError, OSError, asyncssh.Error)):
        await client.listdir("/")
    with pytest.raises(OSError):
        await _connect(server)
    conn.close()


@pytest.mark.asyncio
async def test_directories_cannot_be_opened_as_files(sftp: asyncssh.SFTPClient) -> None:
    for path in ("/", "/production", f"/production/{MONTH}/invoices-pdf"):
        with pytest.raises(asyncssh.SFTPFailure):
            await sftp.open(path, "rb")
