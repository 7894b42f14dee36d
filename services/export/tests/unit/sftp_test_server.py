"""The SFTP server under test: a document store with a month of files, a server on 127.0.0.1 with two
users (alice by password, bob by public key), and a real asyncssh client. Shared by test_sftp_tree.py
and test_sftp_server.py; the fixtures are in conftest.py."""

from __future__ import annotations

import io
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncssh
from pypdf import PdfWriter

from ledgerline_export.adapters.sftp_server import start_sftp_server, stop_sftp_server
from ledgerline_export.domain.sftp_credentials import CredentialRecord, issue_sftp_password

MONTH = "2026-01"
NUMBERS = ("F2026-000001", "F2026-000002", "AV2026-000001")
FOLDERS = {"invoices-pdf": "pdf", "invoices-json": "json", "invoices-xml": "xml"}

ALICE_PASSWORD = issue_sftp_password()  # one argon2 hash for the whole test run
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


def make_store(tmp_path: Path) -> Store:
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


def lookup_from(records: dict[str, CredentialRecord]) -> Callable[[str], Awaitable[CredentialRecord | None]]:
    async def lookup(username: str) -> CredentialRecord | None:
        return records.get(username)

    return lookup


@dataclass
class Server:
    port: int
    acceptor: asyncssh.SSHAcceptor
    host_key_path: Path


@asynccontextmanager
async def serving(store: Store, tmp_path: Path) -> AsyncIterator[Server]:
    records = {
        "alice": CredentialRecord("alice", password_hash=ALICE_PASSWORD.password_hash),
        "bob": CredentialRecord(
            "bob",
            password_hash=None,
            authorized_keys=("not a key at all", BOB_KEY.export_public_key("openssh").decode()),
        ),
    }
    host_key_path = tmp_path / "keys" / "sftp_host_ed25519"
    acceptor = await start_sftp_server("127.0.0.1", 0, store.root, host_key_path, lookup_from(records))
    try:
        yield Server(port=acceptor.get_port(), acceptor=acceptor, host_key_path=host_key_path)
    finally:
        await stop_sftp_server(acceptor)


async def connect(server: Server, username: str = "alice", **auth: object) -> asyncssh.SSHClientConnection:
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


def names(listing: Sequence[str]) -> list[str]:
    return sorted(n for n in listing if n not in (".", ".."))
