"""SFTP with the credentials issued through the API, through a real asyncssh client over 127.0.0.1."""

from __future__ import annotations

import asyncssh
import pytest
from sqlalchemy import select

from ledgerline_export.adapters.orm import SftpUserRow

pytestmark = pytest.mark.timeout(90)
VALID_PUBLIC_KEY = asyncssh.generate_private_key("ssh-ed25519").export_public_key("openssh").decode()


def connect(export, username: str, **auth):
    info_port = export.app.state.sftp.port
    return asyncssh.connect(
        "127.0.0.1",
        info_port,
        username=username,
        known_hosts=None,
        agent_path=None,
        client_keys=auth.pop("client_keys", None),
        **auth,
    )


async def test_a_user_downloads_the_production_tree_with_the_password_issued_to_them(january_loaded) -> None:
    export, docs = january_loaded
    headers = export.token("accounting", sub="alice")
    info = (await export.http.get("/api/v1/me/sftp", headers=headers)).json()
    assert info["host"] == "127.0.0.1" and info["username"] == "alice" and info["password_set"] is False
    assert info["port"] == export.app.state.sftp.port and info["port"] > 0

    issued = await export.http.post("/api/v1/me/sftp/password", headers=headers)
    assert issued.status_code == 200
    password = issued.json()["password"]
    assert len(password) >= 20 and issued.json()["username"] == "alice"
    async with export.runtime.sessions() as session:
        row = (await session.scalars(select(SftpUserRow))).one()
    assert row.password_hash.startswith("$argon2id$") and password not in row.password_hash
    assert (await export.http.get("/api/v1/me/sftp", headers=headers)).json()["password_set"] is True

    # A regeneration: SFTP shows the latest version only.
    latest = await export.render(docs[0], version=2, pages=2, width=777)

    async with connect(export, info["username"], password=password) as conn, conn.start_sftp_client() as sftp:
        assert sorted(await sftp.listdir("/production")) == [".", "..", "2026-01", "2026-02"]
        assert sorted(await sftp.listdir("/production/2026-01")) == [
            ".",
            "..",
            "invoices-json",
            "invoices-pdf",
            "invoices-xml",
        ]
        pdfs = sorted(n for n in await sftp.listdir("/production/2026-01/invoices-pdf") if n.endswith(".pdf"))
        assert pdfs == sorted(f"{d.number}.pdf" for d in docs if d.issue_date.month == 1)
        async with sftp.open(f"/production/2026-01/invoices-pdf/{docs[0].number}.pdf", "rb") as remote:
            assert await remote.read() == latest["pdf"]
        async with sftp.open(f"/production/2026-01/invoices-xml/{docs[0].number}.xml", "rb") as remote:
            assert await remote.read() == latest["xml"]
        async with sftp.open(f"/production/2026-01/invoices-json/{docs[0].number}.json", "rb") as remote:
            assert await remote.read() == latest["json"]
        with pytest.raises(asyncssh.SFTPPermissionDenied):
            await sftp.open("/production/2026-01/invoices-pdf/new.pdf", "wb")
        with pytest.raises(asyncssh.SFTPPermissionDenied):
            await sftp.remove(f"/production/2026-01/invoices-pdf/{docs[0].number}.pdf")
        with pytest.raises(asyncssh.SFTPNoSuchFile):
            await sftp.stat("/../db/export.sqlite3")  # nothing outside the tree

    with pytest.raises(asyncssh.PermissionDenied):
        async with connect(export, "alice", password=password + "x"):
            pass

    # A new password replaces the old one.
    again = (await export.http.post("/api/v1/me/sftp/password", headers=headers)).json()["password"]
    with pytest.raises(asyncssh.PermissionDenied):
        async with connect(export, "alice", password=password):
            pass
    async with connect(export, "alice", password=again) as conn, conn.start_sftp_client() as sftp:
        assert "2026-01" in await sftp.listdir("/production")


async def test_a_user_logs_in_with_a_public_key_they_registered(export) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519")
    public = key.export_public_key("openssh").decode()
    headers = export.token("readonly", sub="Bob.Smith@Example.com")
    answer = await export.http.put("/api/v1/me/sftp/keys", json={"keys": [public]}, headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["public_keys"] == 1 and body["password_set"] is False
    username = body["username"]
    assert username.startswith("bob.smith-example.com-")
    async with connect(export, username, client_keys=[key]) as conn, conn.start_sftp_client() as sftp:
        assert await sftp.listdir("/") == [".", "..", "production"]
    stranger = asyncssh.generate_private_key("ssh-ed25519")
    with pytest.raises(asyncssh.PermissionDenied):
        async with connect(export, username, client_keys=[stranger]):
            pass


@pytest.mark.parametrize(
    ("keys", "field"),
    [
        (["ssh-ed25519 not-base64!"], "0"),
        (["-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----"], "0"),
        ([VALID_PUBLIC_KEY, "rubbish"], "1"),
    ],
)
async def test_a_bad_public_key_is_refused_naming_it(export, keys, field) -> None:
    answer = await export.http.put(
        "/api/v1/me/sftp/keys", json={"keys": keys}, headers=export.token("billing")
    )
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "keys", field]


async def test_too_many_public_keys_are_refused(export) -> None:
    public = asyncssh.generate_private_key("ssh-ed25519").export_public_key("openssh").decode()
    answer = await export.http.put(
        "/api/v1/me/sftp/keys", json={"keys": [public] * 21}, headers=export.token("admin")
    )
    assert answer.status_code == 422 and answer.json()["detail"][0]["loc"] == ["body", "keys"]


async def test_a_username_held_by_another_subject_is_not_given_away(export) -> None:
    first = (
        await export.http.post("/api/v1/me/sftp/password", headers=export.token("billing", sub="Eve"))
    ).json()
    # This subject is literally the username derived for "Eve": it must not take over her account.
    answer = await export.http.post(
        "/api/v1/me/sftp/password", headers=export.token("billing", sub=first["username"])
    )
    assert answer.status_code == 409


async def test_sftp_access_is_for_staff_only(export) -> None:
    assert (await export.http.get("/api/v1/me/sftp")).status_code == 401
    assert (await export.http.get("/api/v1/me/sftp", headers=export.token("client:c1"))).status_code == 403
    answer = await export.http.post("/api/v1/me/sftp/password", headers=export.token("client:c1"))
    assert answer.status_code == 403
