"""Start and stop the services as separate processes: used by `make run` and the cross-service tests.

Each service gets the same LEDGERLINE_* names (deploy/local-env.names) with the values of its stack:
the dev stack (ports 8101-8105, SQLite under var/run, the gateway on 8080) or a test stack (its own
ports, PostgreSQL databases and data folder). The back office (`backoffice`) and the gateway (nginx, by
deploy/gateway.sh) start only when asked: most tests need the four APIs alone.

Whose LEDGERLINE_* variables count: a test stack is hermetic (the caller's LEDGERLINE_* variables are
dropped, so a developer's settings never change a test), whereas `make run` sets
`inherit_environment`: the operator's LEDGERLINE_* variables reach every process and win over the
stack's values, which only fill the gaps (deploy/run_config.py, docs/operations.md).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("invoicing", "rendering", "notification", "export")
BACKOFFICE = "backoffice"
PYTHON = str(ROOT / ".venv" / "bin" / "python")


@dataclass
class StackConfig:
    kafka: str
    data_dir: Path
    jwt_secret: str
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 2525
    sftp_port: int = 2222
    ports: dict[str, int] = field(
        default_factory=lambda: dict(
            zip((*SERVICES, BACKOFFICE), (8101, 8102, 8103, 8104, 8105), strict=True)
        )
    )
    gateway_port: int = 8080
    gateway_dir: Path | None = None  # default: <data_dir>/../gateway
    database_urls: dict[str, str] = field(default_factory=dict)  # empty: SQLite under data_dir
    extra_env: dict[str, str] = field(default_factory=dict)
    kafka_credentials: Path | None = None  # deploy/kafka.sh's credentials folder: each service its principal
    # False (tests, benchmarks): the caller's LEDGERLINE_* variables are dropped. True (make run): they
    # are kept and win over this config's values.
    inherit_environment: bool = False

    def caller_env(self) -> dict[str, str]:
        """The caller's environment, with or without its LEDGERLINE_* variables (inherit_environment).

        A test stack also drops OTEL_* (a developer's collector never receives a test's spans)."""
        if self.inherit_environment:
            return dict(os.environ)
        return {k: v for k, v in os.environ.items() if not k.startswith(("LEDGERLINE_", "OTEL_"))}

    def _merged(self, own: dict[str, str]) -> dict[str, str]:
        """The caller's environment plus this stack's values; an inherited LEDGERLINE_* variable wins."""
        env = self.caller_env()
        for name, value in own.items():
            if not (self.inherit_environment and name.startswith("LEDGERLINE_") and name in env):
                env[name] = value
        return env

    def env(self, service: str) -> dict[str, str]:
        env: dict[str, str] = {}
        env.update(
            {
                "LEDGERLINE_KAFKA_BOOTSTRAP_SERVERS": self.kafka,
                "LEDGERLINE_JWT_SECRET": self.jwt_secret,
                "LEDGERLINE_DATA_DIR": str(self.data_dir),
                "LEDGERLINE_SMTP_HOST": self.smtp_host,
                "LEDGERLINE_SMTP_PORT": str(self.smtp_port),
                "LEDGERLINE_SFTP_PORT": str(self.sftp_port),
                f"LEDGERLINE_{service.upper()}_PORT": str(self.ports[service]),
                "PYTHONUNBUFFERED": "1",
            }
        )
        if service in self.database_urls:
            env[f"LEDGERLINE_{service.upper()}_DATABASE_URL"] = self.database_urls[service]
        if service == BACKOFFICE:  # a client of the four APIs
            env.update({f"LEDGERLINE_BACKOFFICE_{api.upper()}_URL": self.url(api) for api in SERVICES})
        env.update(self.extra_env)
        env = self._merged(env)
        if service in SERVICES:  # the back office speaks HTTP only: it has no Kafka principal
            # The principals of the broker this stack started: nothing else can sign in to it.
            env.update(kafka_credentials_env(self.kafka_credentials, service))
        return env

    def gateway_env(self) -> dict[str, str]:
        """What deploy/gateway.sh reads: its folder, its port and the port of each upstream."""
        env = {f"LEDGERLINE_{name.upper()}_PORT": str(port) for name, port in self.ports.items()}
        env["LEDGERLINE_GATEWAY_PORT"] = str(self.gateway_port)
        env["LEDGERLINE_GATEWAY_DIR"] = str(self.gateway_dir or self.data_dir.parent / "gateway")
        env.update({k: v for k, v in self.extra_env.items() if k.startswith("LEDGERLINE_GATEWAY_")})
        return self._merged(env)

    def gateway_url(self) -> str:
        scheme = "https" if self.extra_env.get("LEDGERLINE_GATEWAY_TLS_CERT") else "http"
        return f"{scheme}://127.0.0.1:{self.gateway_port}"

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"


class Stack:
    def __init__(self, config: StackConfig, log_dir: Path) -> None:
        self.config = config
        self.log_dir = log_dir
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, services: tuple[str, ...] = SERVICES) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        for service in services:
            log = open(self.log_dir / f"{service}.log", "ab")
            self.processes[service] = subprocess.Popen(
                [PYTHON, "-m", f"ledgerline_{service}"],
                env=self.config.env(service),
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C in the terminal is ours to forward, in order
            )

    def gateway(self, action: str) -> None:
        """deploy/gateway.sh start|stop|status for this stack's gateway (nginx, its own pid file)."""
        subprocess.run(
            ["bash", str(ROOT / "deploy" / "gateway.sh"), action], env=self.config.gateway_env(), check=True
        )

    def add_user(
        self, username: str, password: str, roles: str, *, name: str = "", email: str = "", client: str = ""
    ) -> None:
        """A back-office sign-in (users file under the data dir); adding the same user twice is harmless."""
        command = [PYTHON, "-m", "ledgerline_backoffice", "users", "add", "--username", username]
        # On stdin: a generated password may begin with "-" (argparse would take it for an option), and a
        # command line is visible to every local user in the process list.
        command += ["--password-stdin", "--roles", roles]
        for option, value in (("--name", name), ("--email", email), ("--client", client)):
            if value:
                command += [option, value]
        subprocess.run(
            command,
            input=password + "\n",
            text=True,
            env=self.config.env(BACKOFFICE),
            cwd=ROOT,
            check=True,
            capture_output=True,
        )

    def ready(self, service: str) -> int:
        try:
            with urllib.request.urlopen(self.config.url(service) + "/health/ready", timeout=5) as answer:
                return int(answer.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)
        except (urllib.error.URLError, OSError):
            return 0

    def wait_ready(self, timeout_s: float = 120, services: tuple[str, ...] | None = None) -> None:
        waiting = list(services or self.processes)
        deadline = time.monotonic() + timeout_s
        while waiting and time.monotonic() < deadline:
            for service in list(waiting):
                proc = self.processes.get(service)
                if proc is not None and proc.poll() is not None:
                    tail = (self.log_dir / f"{service}.log").read_text(errors="replace")[-3000:]
                    raise RuntimeError(f"{service} exited with {proc.returncode}:\n{tail}")
                if self.ready(service) == 200:
                    waiting.remove(service)
            time.sleep(0.3)
        if waiting:
            raise TimeoutError(f"not ready after {timeout_s:.0f} s: {', '.join(waiting)}")

    def stop(self, service: str | None = None, *, hard: bool = False) -> None:
        names = [service] if service else list(self.processes)
        for name in names:
            proc = self.processes.get(name)
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGKILL if hard else signal.SIGTERM)
        for name in names:
            proc = self.processes.pop(name, None)
            if proc is None:
                continue
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


def kafka_credentials_env(credentials: Path | None, principal: str) -> dict[str, str]:
    """LEDGERLINE_KAFKA_* settings of a principal whose password deploy/kafka.sh keeps in `credentials`."""
    if credentials is None:
        return {}
    return {
        "LEDGERLINE_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "LEDGERLINE_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "LEDGERLINE_KAFKA_USERNAME": principal,
        "LEDGERLINE_KAFKA_PASSWORD": (credentials / principal).read_text().strip(),
    }


def kafka_script(*args: str, port: int, controller_port: int, data_dir: Path) -> None:
    env = {
        **os.environ,
        "KAFKA_PORT": str(port),
        "KAFKA_CONTROLLER_PORT": str(controller_port),
        "KAFKA_DATA_DIR": str(data_dir),
    }
    subprocess.run(["bash", str(ROOT / "deploy" / "kafka.sh"), *args], env=env, check=True)


if __name__ == "__main__":
    print("use deploy/run.py (make run) or the test fixtures", file=sys.stderr)
    sys.exit(2)
