"""`make run`: Kafka, a mail catcher, the five services, the gateway, the demo operator and its
people; Ctrl-C stops it all.

Everything lives under var/run (SQLite databases, documents, Kafka data, caught mail, the gateway's
folder, the demo logins), so a second `make run` finds the demo already loaded, loads nothing twice
and prints the same passwords.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ledgerline_stack import BACKOFFICE, PYTHON, ROOT, SERVICES, Stack, StackConfig, kafka_script

RUN = ROOT / "var" / "run"
KAFKA_PORT, KAFKA_CONTROLLER_PORT = 9092, 9093
SMTP_PORT, MAIL_HTTP_PORT, SFTP_PORT = 2525, 8025, 2222


def jwt_secret() -> str:
    path = RUN / "jwt-secret"
    if not path.exists():
        RUN.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


# The demo's people: one per role, and a portal user for the first demo client (its id added at start).
DEMO_PEOPLE = {
    "admin": ("admin", "Ada Admin"),
    "billing": ("billing", "Bill Billing"),
    "accounting": ("accounting", "Alice Accounting"),
    "readonly": ("readonly", "Rita Readonly"),
    "portal": ("", "Paul Portal"),
}


def demo_passwords() -> dict[str, str]:
    """One generated password per demo person, kept in var/run so the next `make run` prints the same."""
    path = RUN / "demo-logins.json"
    known: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    wanted = {name: known.get(name) or secrets.token_urlsafe(9) for name in DEMO_PEOPLE}
    if wanted != known:
        path.write_text(json.dumps(wanted, indent=1))
        path.chmod(0o600)
    return wanted


def first_demo_client(url: str, token: str) -> dict[str, object] | None:
    request = urllib.request.Request(
        url + "/api/v1/clients?q=DEMO-&limit=1", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        found: list[dict[str, object]] = json.loads(answer.read())
    return found[0] if found else None


def create_demo_people(stack: Stack, client: dict[str, object] | None) -> list[str]:
    """The back office's demo sign-ins (the users file under the data dir); lines for the banner."""
    passwords = demo_passwords()
    lines = []
    for username, (roles, name) in DEMO_PEOPLE.items():
        client_id = ""
        if username == "portal":
            if client is None:
                continue  # no demo client: no portal user
            client_id = str(client["id"])
        stack.add_user(
            username,
            passwords[username],
            roles,
            name=name,
            email=f"{username}@demo.ledgerline.test",
            client=client_id,
        )
        what = f"client portal of {client['name']}" if client_id and client else roles
        lines.append(f"  {username:<11} {passwords[username]:<14} {what}")
    return lines


def mint(secret: str, sub: str, roles: str) -> str:
    env = {**os.environ, "LEDGERLINE_JWT_SECRET": secret}
    out = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "ledgerline"),
            "token",
            "--sub",
            sub,
            "--roles",
            roles,
            "--hours",
            "24",
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


def post_json(url: str, token: str, body: dict[str, object] | None = None) -> dict[str, object]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body or {}).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        result: dict[str, object] = json.loads(answer.read())
        return result


def main() -> int:
    started = time.monotonic()
    secret = jwt_secret()
    kafka_dir = RUN / "kafka"
    kafka_script("start", port=KAFKA_PORT, controller_port=KAFKA_CONTROLLER_PORT, data_dir=kafka_dir)
    kafka_script("wait", "90", port=KAFKA_PORT, controller_port=KAFKA_CONTROLLER_PORT, data_dir=kafka_dir)
    kafka_script("create-topics", port=KAFKA_PORT, controller_port=KAFKA_CONTROLLER_PORT, data_dir=kafka_dir)
    catcher = subprocess.Popen(
        [
            PYTHON,
            str(ROOT / "deploy" / "mail_catcher.py"),
            "--smtp-port",
            str(SMTP_PORT),
            "--http-port",
            str(MAIL_HTTP_PORT),
            "--folder",
            str(RUN / "mail"),
        ],
        start_new_session=True,
    )
    config = StackConfig(
        kafka=f"127.0.0.1:{KAFKA_PORT}",
        data_dir=RUN / "data",
        jwt_secret=secret,
        smtp_port=SMTP_PORT,
        sftp_port=SFTP_PORT,
        extra_env={"LEDGERLINE_RUN_APPROVAL_REQUIRED": "true"},  # four eyes before production (issue 15)
        kafka_credentials=kafka_dir / "credentials",  # written by deploy/kafka.sh start
    )
    stack = Stack(config, RUN / "logs")
    stopping = False

    def stop(*_args: object) -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        print("\nstopping Ledgerline...", flush=True)
        try:
            stack.gateway("stop")
        except subprocess.CalledProcessError:
            pass  # never started
        stack.stop()
        catcher.terminate()
        catcher.wait(timeout=10)
        kafka_script("stop", port=KAFKA_PORT, controller_port=KAFKA_CONTROLLER_PORT, data_dir=kafka_dir)

    signal.signal(signal.SIGTERM, lambda *_: (stop(), sys.exit(0)))
    # Ctrl-C even when started from a shell that ignores SIGINT for background jobs.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        stack.start((*SERVICES, BACKOFFICE))
        stack.wait_ready(timeout_s=180)
        stack.gateway("start")
        ready_after = time.monotonic() - started
        admin = mint(secret, "admin", "admin")
        demo = subprocess.run(
            [
                PYTHON,
                "-m",
                "ledgerline_invoicing.entrypoints.demo",
                "--url",
                config.url("invoicing"),
                "--token",
                admin,
                "--approver-token",  # a second person approves last month's preview (four eyes)
                mint(secret, "billing-lead", "billing"),
            ],
            cwd=ROOT,
        )
        if demo.returncode != 0:
            print("warning: the demo operator did not load completely (see above)", file=sys.stderr)
        sftp = post_json(config.url("export") + "/api/v1/me/sftp/password", admin)
        people = create_demo_people(stack, first_demo_client(config.url("invoicing"), admin))
        logins = "\n".join(people)
        gateway = config.gateway_url()
        print(
            f"""
Ledgerline is running (all five services ready after {ready_after:.0f} s). Ctrl-C stops everything.

  open {gateway}/   sign in as (user, password, role):
{logins}
  API, one base URL for every service:  {gateway}/api/v1/...   operations: {gateway}/ops/invoicing/ (admin)

  invoicing     {config.url("invoicing")}/dashboard   API docs {config.url("invoicing")}/docs
  rendering     {config.url("rendering")}/dashboard
  notification  {config.url("notification")}/dashboard
  export        {config.url("export")}/dashboard
  back office   {config.url(BACKOFFICE)} (behind the gateway)
  caught mail   http://127.0.0.1:{MAIL_HTTP_PORT}
  SFTP          sftp -P {SFTP_PORT} {sftp.get("username")}@127.0.0.1   password: {sftp.get("password")}

  admin token (24 h):
  export TOKEN={admin}
  e.g.  curl -H "Authorization: Bearer $TOKEN" \\
          '{gateway}/api/v1/invoices?month={time.strftime("%Y-%m")}'

  logs: {RUN / "logs"}, gateway: {config.gateway_env()["LEDGERLINE_GATEWAY_DIR"]}/logs
""",
            flush=True,
        )
        while all(p.poll() is None for p in stack.processes.values()):
            time.sleep(1)
        print("a service stopped; see the logs", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop()


if __name__ == "__main__":
    sys.exit(main())
