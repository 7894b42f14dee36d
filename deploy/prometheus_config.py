"""Render deploy/prometheus/prometheus.yml.in with the ports of a stack (deploy/prometheus.sh, the tests).

    python deploy/prometheus_config.py OUTPUT   (reads the environment, below)

Each service's targets: LEDGERLINE_PROMETHEUS_<SERVICE>_TARGETS (comma-separated host:port, one per
instance), else 127.0.0.1:LEDGERLINE_<SERVICE>_PORT, else make run's port (8101-8105).
LEDGERLINE_PROMETHEUS_SCRAPE_INTERVAL (default 15s) sets how often every target is scraped.
Only the standard library: it runs before the virtual environment exists.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from string import Template

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "prometheus" / "prometheus.yml.in"
RULES = HERE / "prometheus" / "alerts.yml"
JOBS = ("invoicing", "rendering", "notification", "export", "backoffice")
DEFAULT_PORTS = dict(zip(JOBS, (8101, 8102, 8103, 8104, 8105), strict=True))


def render(
    targets: Mapping[str, Sequence[str]],
    *,
    scrape_interval: str = "15s",
    evaluation_interval: str | None = None,
    rules: Path = RULES,
) -> str:
    """The configuration: every job of JOBS with its targets (host:port of each instance)."""
    missing = [job for job in JOBS if not targets.get(job)]
    if missing:
        raise ValueError(f"no target for {', '.join(missing)}")
    values = {job: json.dumps(list(targets[job])) for job in JOBS}  # a YAML flow sequence
    return Template(TEMPLATE.read_text()).substitute(
        values,
        scrape_interval=scrape_interval,
        scrape_timeout=scrape_interval,  # a scrape reads memory only (operations/gauges.py)
        evaluation_interval=evaluation_interval or scrape_interval,
        rules=json.dumps(str(rules)),
    )


def targets_from_env(env: Mapping[str, str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for job in JOBS:
        given = env.get(f"LEDGERLINE_PROMETHEUS_{job.upper()}_TARGETS", "")
        listed = [t.strip() for t in given.split(",") if t.strip()]
        port = env.get(f"LEDGERLINE_{job.upper()}_PORT") or str(DEFAULT_PORTS[job])
        out[job] = listed or [f"127.0.0.1:{port}"]
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: prometheus_config.py OUTPUT", file=sys.stderr)
        return 2
    env = os.environ
    text = render(
        targets_from_env(env), scrape_interval=env.get("LEDGERLINE_PROMETHEUS_SCRAPE_INTERVAL", "15s")
    )
    Path(argv[0]).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
