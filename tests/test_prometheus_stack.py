"""A real Prometheus (Debian's, started by deploy/prometheus.sh on its own port) scraping the running
site (the four services and the back office): every target up, the state gauges current, and a
business metric that moves when an invoice is issued, read back through Prometheus's HTTP API."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from e2e_support import PORT_OFFSET, ROOT, RunningStack, eventually, issue_invoice
from prometheus_config import JOBS
from site_support import Site

PROMETHEUS_PORT = 19190 + PORT_OFFSET


def prometheus_script(action: str, env: dict[str, str]) -> None:
    subprocess.run(["bash", str(ROOT / "deploy" / "prometheus.sh"), action], env=env, check=True, timeout=60)


@pytest.fixture
async def prometheus(site: Site, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGERLINE_")}
    env |= {
        "LEDGERLINE_PROMETHEUS_DIR": str(tmp_path / "prometheus"),
        "LEDGERLINE_PROMETHEUS_PORT": str(PROMETHEUS_PORT),
        "LEDGERLINE_PROMETHEUS_SCRAPE_INTERVAL": "1s",
    }
    # The site's own ports, one instance each (the same names make run and a cluster would set).
    env |= {f"LEDGERLINE_{job.upper()}_PORT": str(site.stack.config.ports[job]) for job in JOBS}
    await asyncio.to_thread(prometheus_script, "start", env)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{PROMETHEUS_PORT}", timeout=10) as client:
            yield client
    finally:
        await asyncio.to_thread(prometheus_script, "stop", env)


async def query(prometheus: httpx.AsyncClient, promql: str) -> list[dict[str, Any]]:
    answer = await prometheus.get("/api/v1/query", params={"query": promql})
    assert answer.status_code == 200, answer.text
    result: list[dict[str, Any]] = answer.json()["data"]["result"]
    return result


async def test_prometheus_scrapes_every_instance_and_sees_an_invoice_issued(
    site: Site, prometheus: httpx.AsyncClient
) -> None:
    ports = {job: site.stack.config.ports[job] for job in JOBS}

    async def all_up() -> dict[str, str] | None:
        targets = (await prometheus.get("/api/v1/targets")).json()["data"]["activeTargets"]
        health = {t["labels"]["job"]: t["health"] for t in targets}
        return health if len(targets) == len(JOBS) and set(health.values()) == {"up"} else None

    health = await eventually(all_up, 60, interval=0.5)
    assert set(health) == set(JOBS)
    targets = (await prometheus.get("/api/v1/targets")).json()["data"]["activeTargets"]
    assert {t["labels"]["instance"] for t in targets} == {f"127.0.0.1:{port}" for port in ports.values()}
    rules = (await prometheus.get("/api/v1/rules")).json()["data"]["groups"]
    assert [(g["name"], {r["health"] for r in g["rules"]}) for g in rules] == [("ledgerline", {"ok"})]

    # The state gauges are there without anyone opening a dashboard, and fresh.
    async def gauges_current() -> list[dict[str, Any]] | None:
        found = await query(prometheus, 'ledgerline_gauge_age_seconds{source="database"} < 30')
        return found if len(found) == 4 else None

    fresh = await eventually(gauges_current, 60, interval=1)
    assert {r["metric"]["service"] for r in fresh} == {"invoicing", "rendering", "notification", "export"}
    backlog = await query(prometheus, "ledgerline_outbox_backlog")
    assert {r["metric"]["job"] for r in backlog} == {"invoicing", "rendering", "notification", "export"}

    async def issued() -> float:
        found = await query(prometheus, 'sum(ledgerline_documents_issued_total{type="invoice"})')
        return float(found[0]["value"][1]) if found else -1.0

    async def scraped_once() -> bool:
        return await issued() >= 0  # zero-initialised: present before any invoice

    await eventually(scraped_once, 30, interval=0.5)
    before = await issued()
    stack = RunningStack(site.stack, site.stack.config, site.mail, site.data_dir)
    number, _client = await issue_invoice(stack, period="2026-09")
    assert number

    async def counted() -> float | None:
        now = await issued()
        return now if now >= before + 1 else None

    assert await eventually(counted, 30, interval=0.5) == before + 1
