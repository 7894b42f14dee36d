"""Prometheus's configuration, its alerting rules and the Grafana dashboard, checked by promtool and
against the metrics the services export (no stack needed: `make test` runs them first).

- `promtool check rules` and `promtool test rules` (deploy/prometheus/alerts_test.yml: every alert
  firing, and not firing when it must not);
- the configuration rendered from the template passes `promtool check config`, one job per service;
- every metric name in the rules and in the dashboard is one the services export (or a recording
  rule of alerts.yml): a renamed metric cannot leave an alert that never fires or an empty panel.
"""

from __future__ import annotations

import importlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import REGISTRY
from prometheus_config import JOBS, RULES, render

ROOT = Path(__file__).resolve().parents[1]
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
DASHBOARD = ROOT / "deploy" / "grafana" / "ledgerline.json"
# Every module that defines metrics of a service process (the shared ones come with each service).
SERVICE_MODULES = [
    "ledgerline_invoicing.entrypoints.app",
    "ledgerline_rendering.entrypoints.app",
    "ledgerline_notification.entrypoints.app",
    "ledgerline_export.entrypoints.app",
    "ledgerline_backoffice.entrypoints.app",
]
METRIC = re.compile(r"\bledgerline[_:][a-z0-9_:]*[a-z0-9]\b")
PROMETHEUS_OWN = {"up"}  # what Prometheus records about each target itself


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:  # deploy/bootstrap.sh installs Debian's prometheus package, which brings it
        pytest.fail("promtool is not installed: run deploy/bootstrap.sh (apt package prometheus)")
    return found


def run_promtool(*args: str, cwd: Path = PROMETHEUS_DIR) -> str:
    done = subprocess.run([promtool(), *args], cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_alerting_rules_pass_promtool_check() -> None:
    out = run_promtool("check", "rules", str(RULES))
    assert "SUCCESS" in out


def test_every_alert_fires_and_stays_quiet_as_its_promtool_tests_say() -> None:
    out = run_promtool("test", "rules", "alerts_test.yml")
    assert "SUCCESS" in out


def test_every_alert_has_a_firing_test_and_a_section_in_the_operations_guide() -> None:
    alerts = {
        rule["alert"]
        for group in yaml.safe_load(RULES.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }
    tests = yaml.safe_load((PROMETHEUS_DIR / "alerts_test.yml").read_text())["tests"]
    firing = {
        case["alertname"]
        for test in tests
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    quiet = {
        case["alertname"]
        for test in tests
        for case in test.get("alert_rule_test", [])
        if not case.get("exp_alerts")
    }
    assert alerts == firing == quiet
    guide = (ROOT / "docs" / "operations.md").read_text()
    assert [a for a in sorted(alerts) if f"`{a}`" not in guide] == []


def test_the_rendered_configuration_scrapes_every_instance_and_passes_promtool(tmp_path: Path) -> None:
    targets = {job: [f"127.0.0.1:{18000 + n}"] for n, job in enumerate(JOBS)}
    targets["invoicing"] = ["127.0.0.1:18101", "127.0.0.1:18111"]  # two instances
    config = tmp_path / "prometheus.yml"
    config.write_text(render(targets, scrape_interval="5s"))
    out = run_promtool("check", "config", str(config), cwd=tmp_path)
    assert "SUCCESS" in out
    jobs = {job["job_name"]: job for job in yaml.safe_load(config.read_text())["scrape_configs"]}
    assert set(jobs) == set(JOBS)
    assert jobs["invoicing"]["static_configs"][0]["targets"] == ["127.0.0.1:18101", "127.0.0.1:18111"]
    with pytest.raises(ValueError, match="backoffice"):
        render({job: t for job, t in targets.items() if job != "backoffice"})


def exported_metric_names() -> set[str]:
    """Every sample name the services' registry can expose (a labelled metric with no child yet
    exposes none: its names are derived from its type)."""
    for module in SERVICE_MODULES:
        importlib.import_module(module)
    suffixes = {
        "counter": ("_total", "_created"),
        "histogram": ("_bucket", "_count", "_sum", "_created"),
        "summary": ("_count", "_sum", "_created"),
        "gauge": ("",),
        "info": ("_info",),
    }
    names: set[str] = set()
    for family in REGISTRY.collect():
        names.update(family.name + suffix for suffix in suffixes.get(family.type, ("",)))
        names.update(sample.name for sample in family.samples)
    return names


def recorded_names() -> set[str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return {rule["record"] for group in groups for rule in group["rules"] if "record" in rule}


def rule_expressions() -> list[str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule["expr"] for group in groups for rule in group["rules"]]


def dashboard_expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert panels, "the dashboard has no panel"
    for panel in panels:
        assert panel["targets"], f"panel {panel['title']!r} queries nothing"
        assert panel["datasource"]["type"] == "prometheus"
    return [target["expr"] for panel in panels for target in panel["targets"]]


@pytest.mark.parametrize("where", ["alerts.yml", "ledgerline.json"])
def test_every_metric_named_is_one_the_services_export(where: str) -> None:
    expressions = rule_expressions() if where == "alerts.yml" else dashboard_expressions()
    named = {name for expr in expressions for name in METRIC.findall(expr)}
    assert named, "no metric found: the pattern is wrong"
    known = exported_metric_names() | recorded_names()
    assert sorted(named - known) == []


def test_the_name_check_catches_a_misspelt_metric() -> None:
    known = exported_metric_names()
    assert "ledgerline_outbox_oldest_age_seconds" in known
    assert "ledgerline_render_seconds_bucket" in known  # a histogram not observed yet in this process
    assert "ledgerline_outbox_oldest_age" not in known
