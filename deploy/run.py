"""`make run`: Kafka, a mail catcher, the five services, the gateway, the demo operator and its
people; Ctrl-C or SIGTERM stops everything it started. `make run-cluster` (--kafka-cluster 3): the same on
a local Kafka cluster of 3 brokers and 3 controllers (deploy/kafka.sh cluster) instead of one broker.

Configuration (deploy/run_config.py, docs/operations.md): the operator's LEDGERLINE_* variables win;
make run's values are defaults for what is unset. LEDGERLINE_KAFKA_BOOTSTRAP_SERVERS replaces the local
broker, LEDGERLINE_SMTP_HOST the mail catcher, LEDGERLINE_<SERVICE>_DATABASE_URL that service's SQLite.

Everything else lives under var/run (LEDGERLINE_RUN_DIR): SQLite databases, documents, Kafka data,
caught mail, the gateway's folder, the demo logins; so a second `make run` finds the demo already
loaded, loads nothing twice and prints the same passwords.

    .venv/bin/python deploy/run.py [--no-demo] [--kafka-cluster N]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ledgerline_stack import BACKOFFICE, PYTHON, ROOT, SERVICES, Stack, kafka_script
from run_config import DEFAULT_RUN_DIR, LocalKafka, MailCatcher, RunConfig, run_config

RUN = Path(os.environ.get("LEDGERLINE_RUN_DIR") or DEFAULT_RUN_DIR)


def jwt_secret() -> str:
    """make run's own token key (kept in its folder): used only when LEDGERLINE_JWT_SECRET is unset."""
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


def local_kafka(kafka: LocalKafka, *args: str) -> None:
    """deploy/kafka.sh for make run's own broker (or `deploy/kafka.sh cluster` for its cluster)."""
    if kafka.cluster:
        args = ("cluster", *args)
    kafka_script(*args, port=kafka.port, controller_port=kafka.controller_port, data_dir=kafka.data_dir)


def start_kafka(kafka: LocalKafka) -> None:
    local_kafka(kafka, "start", *((str(kafka.cluster),) if kafka.cluster else ()))
    local_kafka(kafka, "wait", "90")
    local_kafka(kafka, "create-topics")


def start_mail_catcher(mail: MailCatcher) -> subprocess.Popen[bytes]:
    command = [PYTHON, str(ROOT / "deploy" / "mail_catcher.py"), "--smtp-port", str(mail.smtp_port)]
    command += ["--http-port", str(mail.http_port), "--folder", str(mail.folder)]
    return subprocess.Popen(command, start_new_session=True)


def load_demo(config: RunConfig, secret: str, admin: str) -> None:
    demo = subprocess.run(
        [
            PYTHON,
            str(ROOT / "deploy" / "demo"),
            "--url",
            config.stack.url("invoicing"),
            "--token",
            admin,
            "--approver-token",  # a second person approves last month's preview (four eyes)
            mint(secret, "billing-lead", "billing"),
        ],
        cwd=ROOT,
    )
    if demo.returncode != 0:
        print("warning: the demo operator did not load completely (see above)", file=sys.stderr)


def prometheus(config: RunConfig, action: str) -> str | None:
    """deploy/prometheus.sh for this stack (its ports, a folder under the run dir); its URL once started.

    Only when Debian's `prometheus` is installed (deploy/bootstrap.sh installs it): make run works without.
    """
    if shutil.which("prometheus") is None:
        return None
    port = os.environ.get("LEDGERLINE_PROMETHEUS_PORT") or "9190"
    env = {
        **os.environ,
        "LEDGERLINE_PROMETHEUS_DIR": str(config.run_dir / "prometheus"),
        "LEDGERLINE_PROMETHEUS_PORT": port,
        **{f"LEDGERLINE_{name.upper()}_PORT": str(p) for name, p in config.stack.ports.items()},
    }
    done = subprocess.run(["bash", str(ROOT / "deploy" / "prometheus.sh"), action], env=env)
    if done.returncode != 0:
        print(f"warning: prometheus {action} failed (see {config.run_dir / 'prometheus'})", file=sys.stderr)
        return None
    return f"http://127.0.0.1:{port}"


def banner(
    config: RunConfig,
    ready_after: float,
    logins: str,
    sftp: dict[str, object],
    admin: str,
    prometheus_url: str | None = None,
) -> str:
    stack = config.stack
    gateway = stack.gateway_url()
    if config.mail is not None:
        mail = f"caught mail   http://127.0.0.1:{config.mail.http_port}"
    else:
        mail = f"mail          sent through {stack.smtp_host}:{stack.smtp_port} (LEDGERLINE_SMTP_HOST)"
    if config.kafka is None:
        kafka = "your cluster"
    elif config.kafka.cluster:
        kafka = f"a local cluster of {config.kafka.cluster} brokers, {config.kafka.bootstrap}"
    else:
        kafka = "the local broker"
    if prometheus_url is not None:
        metrics = f"prometheus    {prometheus_url}/alerts   (its targets: {prometheus_url}/targets)"
    else:
        metrics = "prometheus    not installed (apt-get install prometheus): /metrics of each service"
    given = "\n".join(f"    {name}={value}" for name, value in config.from_environment.items())
    settings = (
        f"  from your environment (these win over make run's defaults):\n{given}"
        if given
        else "  no LEDGERLINE_* variable set: make run's defaults everywhere (docs/operations.md)"
    )
    return f"""
Ledgerline is running (all five services ready after {ready_after:.0f} s, Kafka: {kafka}).
Ctrl-C (or SIGTERM to pid {os.getpid()}) stops everything.

  open {gateway}/   sign in as (user, password, role):
{logins}
  API, one base URL for every service:  {gateway}/api/v1/...   operations: {gateway}/ops/invoicing/ (admin)

  invoicing     {stack.url("invoicing")}/dashboard   API docs {stack.url("invoicing")}/docs
  rendering     {stack.url("rendering")}/dashboard
  notification  {stack.url("notification")}/dashboard
  export        {stack.url("export")}/dashboard
  back office   {stack.url(BACKOFFICE)} (behind the gateway)
  {mail}
  {metrics}
  SFTP          sftp -P {stack.sftp_port} {sftp.get("username")}@127.0.0.1   password: {sftp.get("password")}

{settings}

  admin token (24 h):
  export TOKEN={admin}
  e.g.  curl -H "Authorization: Bearer $TOKEN" \\
          '{gateway}/api/v1/invoices?month={time.strftime("%Y-%m")}'

  logs: {config.run_dir / "logs"}, gateway: {stack.gateway_env()["LEDGERLINE_GATEWAY_DIR"]}/logs
"""


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM takes Ctrl-C's way out: the `finally` that stops everything


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run Ledgerline locally (make run).")
    parser.add_argument("--no-demo", action="store_true", help="do not load the demo operator")
    parser.add_argument(
        "--kafka-cluster",
        type=int,
        default=0,
        metavar="N",
        help="a local Kafka cluster of N brokers (make run-cluster: 3) instead of one broker",
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    # Before anything starts: a SIGTERM while the broker is starting must stop the broker too.
    signal.signal(signal.SIGTERM, _interrupt)
    # Ctrl-C even when started from a shell that ignores SIGINT for background jobs.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    config = run_config(
        os.environ,
        None if os.environ.get("LEDGERLINE_JWT_SECRET") else jwt_secret(),
        kafka_cluster=args.kafka_cluster,
    )
    secret = config.stack.jwt_secret
    stack = Stack(config.stack, config.run_dir / "logs")
    catcher: subprocess.Popen[bytes] | None = None
    kafka_begun = False
    prometheus_url: str | None = None
    prometheus_begun = False

    def stop() -> None:
        # Once stopping, a second Ctrl-C or SIGTERM must not cut the stopping short.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        print("\nstopping Ledgerline...", flush=True)
        try:
            stack.gateway("stop")
        except subprocess.CalledProcessError:
            pass  # never started
        if prometheus_begun:
            prometheus(config, "stop")
        stack.stop()
        if catcher is not None:
            catcher.terminate()
            try:
                catcher.wait(timeout=10)
            except subprocess.TimeoutExpired:
                catcher.kill()
                catcher.wait(timeout=5)
        if config.kafka is not None and kafka_begun:
            local_kafka(config.kafka, "stop")

    try:
        if config.kafka is not None:
            kafka_begun = True
            start_kafka(config.kafka)
        if config.mail is not None:
            catcher = start_mail_catcher(config.mail)
        stack.start((*SERVICES, BACKOFFICE))
        stack.wait_ready(timeout_s=180)
        stack.gateway("start")
        prometheus_begun = True  # a signal while it starts must stop it too
        prometheus_url = prometheus(config, "start")
        ready_after = time.monotonic() - started
        admin = mint(secret, "admin", "admin")
        if not args.no_demo:
            load_demo(config, secret, admin)
        sftp = post_json(config.stack.url("export") + "/api/v1/me/sftp/password", admin)
        people = create_demo_people(stack, first_demo_client(config.stack.url("invoicing"), admin))
        print(banner(config, ready_after, "\n".join(people), sftp, admin, prometheus_url), flush=True)
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
