"""`python -m ledgerline_backoffice users add|list`: the users file make run fills with the demo people."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from ledgerline_backoffice.adapters.users_file import UsersFile
from ledgerline_backoffice.config import get_backoffice_settings
from ledgerline_backoffice.entrypoints.cli import main


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LEDGERLINE_DATA_DIR", str(tmp_path))
    get_backoffice_settings.cache_clear()
    yield tmp_path
    get_backoffice_settings.cache_clear()


def test_add_list_and_replace(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["users", "add", "--username", "bill", "--password", "first-password", "--roles", "billing",
                 "--name", "Bill Martin", "--email", "bill@operator.test"]) == 0  # fmt: skip
    assert (
        main(["users", "add", "--username", "martin", "--password", "portal-pass", "--client", "C-42"]) == 0
    )
    path = data_dir / "backoffice" / "users.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    stored = json.loads(path.read_text())["users"]
    assert [u["username"] for u in stored] == ["bill", "martin"]
    assert stored[0]["password_hash"].startswith("$argon2") and "first-password" not in path.read_text()
    assert stored[1]["roles"] == ["client:C-42"]

    assert (
        main(
            [
                "users",
                "add",
                "--username",
                "bill",
                "--password",
                "second-password",
                "--roles",
                "billing,accounting",
            ]
        )
        == 0
    )
    users = UsersFile(path)
    assert users.check_password("bill", "second-password") is not None
    assert users.check_password("bill", "first-password") is None
    assert users.get("bill").roles == ("billing", "accounting")  # type: ignore[union-attr]
    capsys.readouterr()
    assert main(["users", "list"]) == 0
    listed = capsys.readouterr().out
    assert "bill\tbill\t\tbilling,accounting" in listed and "martin" in listed and "$argon2" not in listed


def test_refusals_change_nothing(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["users", "add", "--username", "ada", "--password", "admin-password", "--roles", "admin"]) == 0
    )
    before = (data_dir / "backoffice" / "users.json").read_text()
    assert main(["users", "add", "--username", "eve", "--password", "eve-password", "--roles", "root"]) == 2
    assert main(["users", "add", "--username", "eve", "--password", "short", "--roles", "billing"]) == 2
    assert (
        main(["users", "add", "--username", "e ve", "--password", "eve-password", "--roles", "billing"]) == 2
    )
    assert main(["users", "add", "--username", "eve", "--password", "eve-password"]) == 2  # no role at all
    assert "refused" in capsys.readouterr().err
    assert (data_dir / "backoffice" / "users.json").read_text() == before


def test_a_password_beginning_with_a_dash_is_read_from_stdin(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A generated password (secrets.token_urlsafe) begins with "-" one time in 64: make run failed on one.
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("-MZVnjBZ-BSOfVJB\n"))
    assert main(["users", "add", "--username", "ro", "--password-stdin", "--roles", "readonly"]) == 0
    dashed = ["users", "add", "--username", "ro2", "--password=-dash-first-pw", "--roles", "readonly"]
    assert main(dashed) == 0
    users = UsersFile(data_dir / "backoffice" / "users.json")
    assert users.check_password("ro", "-MZVnjBZ-BSOfVJB") is not None
    assert users.check_password("ro2", "-dash-first-pw") is not None


def test_a_password_is_given_once(data_dir: Path) -> None:
    with pytest.raises(SystemExit):  # argparse: --password and --password-stdin are mutually exclusive
        main(["users", "add", "--username", "r", "--password", "x" * 9, "--password-stdin", "--roles", "ops"])
    assert not (data_dir / "backoffice" / "users.json").exists()
