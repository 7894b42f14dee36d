"""`make run` for real (deploy/run.py, without the demo): the operator's variables reach the service
processes, make run's defaults fill the rest, and one SIGTERM to it stops everything it started: the
broker, the mail catcher, the five services and the gateway (issue 12 item 7).

Its own folder (LEDGERLINE_RUN_DIR) and ports (shifted by LEDGERLINE_TEST_PORT_OFFSET), so it runs
beside a developer's `make run` and the other test stacks. Every process it starts inherits
LEDGERLINE_RUN_DIR: that is how the test finds them all, and finds none left afterwards (nginx, which
writes its title over its environment, by its pid file).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from e2e_support import PORT_OFFSET, ROOT
from ledgerline_stack import BACKOFFICE, PYTHON, SERVICES

pytestmark = [pytest.mark.stack, pytest.mark.timeout(600)]

# Last two digits unused by the other test stacks, so no offset of another checkout lands on them.
PORTS = {name: 18141 + i + PORT_OFFSET for i, name in enumerate((*SERVICES, BACKOFFICE))}
GATEWAY_PORT = 18146 + PORT_OFFSET
MAIL_HTTP_PORT = 18147 + PORT_OFFSET
SMTP_PORT = 12546 + PORT_OFFSET
SFTP_PORT = 12246 + PORT_OFFSET
KAFKA_PORT = 19046 + PORT_OFFSET  # and its controller on the next port
PROMETHEUS_PORT = 18148 + PORT_OFFSET  # started when Debian's prometheus is installed (bootstrap does)


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _started_by(run_dir: Path) -> dict[int, str]:
    """pid -> command line of every live process whose environment names this run's folder."""
    marker = f"LEDGERLINE_RUN_DIR={run_dir}".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # gone meanwhile, or not ours to read
        if marker in environ:
            found[int(entry.name)] = cmdline
    return found


def _environ(pid: int) -> dict[str, str]:
    pairs = (Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")).split("\0")
    return dict(pair.split("=", 1) for pair in pairs if "=" in pair)


@pytest.fixture(scope="module")
def kafka_ready() -> None:
    """The broker's jars and Java: installed by deploy/bootstrap.sh, which deploy/test.sh runs."""
    if not os.environ.get("LEDGERLINE_TEST_KAFKA"):
        if os.environ.get("CI"):
            pytest.fail("LEDGERLINE_TEST_KAFKA is not set: run through make test")
        pytest.skip("needs the broker's jars: run through make test")


def test_sigterm_stops_everything_make_run_started(kafka_ready: None) -> None:
    run_dir = ROOT / "var" / "test" / f"make-run-{os.getpid()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGERLINE_")}
    env.update(
        {
            "LEDGERLINE_RUN_DIR": str(run_dir),
            "LEDGERLINE_LOCAL_KAFKA_PORT": str(KAFKA_PORT),
            "LEDGERLINE_MAIL_CATCHER_PORT": str(MAIL_HTTP_PORT),
            "LEDGERLINE_SMTP_PORT": str(SMTP_PORT),
            "LEDGERLINE_SFTP_PORT": str(SFTP_PORT),
            "LEDGERLINE_GATEWAY_PORT": str(GATEWAY_PORT),
            "LEDGERLINE_PROMETHEUS_PORT": str(PROMETHEUS_PORT),
            **{f"LEDGERLINE_{name.upper()}_PORT": str(port) for name, port in PORTS.items()},
            # An operator's choices: one make run knows (it wins over make run's "true") and one it does
            # not (passed through as it is).
            "LEDGERLINE_RUN_APPROVAL_REQUIRED": "false",
            "LEDGERLINE_SMTP_SENDER": "Test Operator <operator@example.net>",
        }
    )
    output = run_dir / "make-run.out"
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(output, "wb") as out:
        make_run = subprocess.Popen(
            [PYTHON, str(ROOT / "deploy" / "run.py"), "--no-demo"],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a SIGTERM for it alone, not for pytest's process group
        )
    try:
        deadline = time.monotonic() + 400
        while b"Ledgerline is running" not in output.read_bytes():
            assert make_run.poll() is None, output.read_text(errors="replace")[-4000:]
            assert time.monotonic() < deadline, output.read_text(errors="replace")[-4000:]
            time.sleep(1)
        banner = output.read_text(errors="replace")
        assert "LEDGERLINE_RUN_APPROVAL_REQUIRED=false" in banner  # from your environment

        started = _started_by(run_dir)
        commands = list(started.values())
        for service in (*SERVICES, BACKOFFICE):
            assert any(f"-m ledgerline_{service}" in c for c in commands), (service, commands)
        assert any("mail_catcher.py" in c for c in commands), commands
        assert any("java" in c and "kafka" in c.lower() for c in commands), commands
        # nginx writes its title over its environment: its pid file names it instead.
        nginx = int((run_dir / "gateway" / "nginx.pid").read_text())
        assert Path(f"/proc/{nginx}").exists()
        assert any(c.startswith("prometheus ") for c in commands), commands
        assert f"http://127.0.0.1:{PROMETHEUS_PORT}/alerts" in banner
        for port in (*PORTS.values(), GATEWAY_PORT, MAIL_HTTP_PORT, SMTP_PORT, KAFKA_PORT, PROMETHEUS_PORT):
            assert _listening(port), port

        invoicing = next(pid for pid, c in started.items() if "-m ledgerline_invoicing" in c)
        seen = _environ(invoicing)
        assert seen["LEDGERLINE_RUN_APPROVAL_REQUIRED"] == "false"  # set by the operator: it wins
        assert seen["LEDGERLINE_SMTP_SENDER"] == "Test Operator <operator@example.net>"
        assert seen["LEDGERLINE_DATA_DIR"] == str(run_dir / "data")  # unset: make run's default
        assert seen["LEDGERLINE_SMTP_HOST"] == "127.0.0.1"  # unset: the mail catcher

        make_run.send_signal(signal.SIGTERM)
        assert make_run.wait(timeout=120) == 0, output.read_text(errors="replace")[-4000:]
        deadline = time.monotonic() + 30
        while _started_by(run_dir) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _started_by(run_dir) == {}, "still running after make run stopped"
        assert not Path(f"/proc/{nginx}").exists()
        for port in (*PORTS.values(), GATEWAY_PORT, MAIL_HTTP_PORT, SMTP_PORT, KAFKA_PORT, PROMETHEUS_PORT):
            assert not _listening(port), port
        shutil.rmtree(run_dir)  # kept when the test fails: its logs say why
    finally:
        if make_run.poll() is None:
            make_run.kill()
        for pid in _started_by(run_dir):  # only what this test's make run started
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
