"""The read-only production tree served over SFTP (adapters/sftp_tree.py), through a real asyncssh
client over 127.0.0.1: what is served, every write refused, no escape from the tree."""

from __future__ import annotations

import io
import os
import pwd
from pathlib import Path

import asyncssh
import pytest
from pypdf import PdfReader
from sftp_test_server import FOLDERS, MONTH, Store, names

pytestmark = pytest.mark.timeout(60)


# ---- what is served --------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_root_lists_only_production(sftp: asyncssh.SFTPClient) -> None:
    assert names(await sftp.listdir("/")) == ["production"]
    assert names(await sftp.listdir(".")) == ["production"]
    assert await sftp.realpath(".") == "/"
    assert names(await sftp.listdir("/production")) == [MONTH]
    assert names(await sftp.listdir(f"/production/{MONTH}")) == sorted(FOLDERS)


@pytest.mark.asyncio
@pytest.mark.parametrize("folder", sorted(FOLDERS))
async def test_month_folder_lists_and_downloads_each_stored_file(
    sftp: asyncssh.SFTPClient, store: Store, folder: str, tmp_path: Path
) -> None:
    remote_dir = f"/production/{MONTH}/{folder}"
    expected = {
        p.rsplit("/", 1)[1]: data for p, data in store.files.items() if p.startswith(remote_dir + "/")
    }
    assert names(await sftp.listdir(remote_dir)) == sorted(expected)
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
    assert names(await sftp.listdir("..")) == ["production"]
    assert names(await sftp.listdir("/production/../../..")) == ["production"]
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
    assert names(await sftp.listdir(f"/production/{MONTH}")) == sorted(FOLDERS)
    assert names(await sftp.listdir("/production")) == [MONTH]
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
async def test_directories_cannot_be_opened_as_files(sftp: asyncssh.SFTPClient) -> None:
    for path in ("/", "/production", f"/production/{MONTH}/invoices-pdf"):
        with pytest.raises(asyncssh.SFTPFailure):
            await sftp.open(path, "rb")
