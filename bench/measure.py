"""What every bench shares: interleaved raw/service runs, median-of-3 ratios, the machine's load.

Absolute times on a shared machine move 2-2.5x from one day to the next, so a figure is only ever a
ratio against a raw baseline measured in the same run, raw and service runs interleaved (raw, service,
raw, service...) so a load spike hits both, reported as the median of the runs with min and max.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"
RUNS = int(os.environ.get("LEDGERLINE_BENCH_RUNS", "3"))


def machine() -> dict[str, Any]:
    """The CPU count and the load averages (1, 5, 15 min) when the figure was taken."""
    return {
        "cpu_count": os.cpu_count(),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "python": sys.version.split()[0],
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def spread(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
    }


@dataclass(frozen=True)
class Target:
    """`ratio <= value` (a time against the raw one) or `ratio >= value` (a rate against the raw one)."""

    op: str  # "<=" or ">="
    value: float

    def met(self, ratio: float) -> bool:
        return ratio <= self.value if self.op == "<=" else ratio >= self.value

    def __str__(self) -> str:
        return f"{self.op} {self.value}"


def stage(
    name: str,
    raw_seconds: list[float],
    service_seconds: list[float],
    target: Target | None,
    *,
    rate: bool = False,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One stage's figures. Each pair (raw, service) of the same round gives one ratio; `rate=True`
    reports raw_time/service_time (the service's rate over the raw rate, higher is better), else
    service_time/raw_time (lower is better)."""
    pairs = zip(raw_seconds, service_seconds, strict=True)
    ratios = [(r / s if rate else s / r) for r, s in pairs if r > 0 and s > 0]
    ratio = spread(ratios)
    out: dict[str, Any] = {
        "stage": name,
        "ratio_kind": "service rate / raw rate" if rate else "service time / raw time",
        "ratio": ratio,
        "ratios": [round(x, 3) for x in ratios],
        "raw_seconds": [round(x, 3) for x in raw_seconds],
        "service_seconds": [round(x, 3) for x in service_seconds],
        "target": str(target) if target else None,
        "met": target.met(ratio["median"]) if target else None,
    }
    if extra:
        out.update(extra)
    return out


def interleave(
    raw: Callable[[], float], service: Callable[[], float], runs: int = RUNS
) -> tuple[list[float], list[float]]:
    """raw, service, raw, service...; each callable runs once and returns its seconds."""
    raws, services = [], []
    for _ in range(runs):
        raws.append(raw())
        services.append(service())
    return raws, services


async def interleave_async(
    raw: Callable[[], Awaitable[float]], service: Callable[[], Awaitable[float]], runs: int = RUNS
) -> tuple[list[float], list[float]]:
    raws, services = [], []
    for _ in range(runs):
        raws.append(await raw())
        services.append(await service())
    return raws, services


def process_stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, user + system CPU seconds) of a live process, from /proc/<pid>/stat; None when it
    is gone (or not on this machine)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) ": state, ppid, ...
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def cpu_and_wall(fn: Callable[[], object]) -> tuple[float, float]:
    """The process's CPU seconds (user + system) and the wall-clock seconds of one call. For a
    single-process CPU-bound stage, CPU time is what another engineer's load does not inflate."""
    cpu, wall = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - cpu, time.perf_counter() - wall


def save(bench: str, stages: list[dict[str, Any]], details: dict[str, Any] | None = None) -> Path:
    """bench/results/<bench>.json: the stages, the machine before and after (load moves in a run)."""
    out = {"bench": bench, "machine": machine(), "runs": RUNS, "stages": stages, **(details or {})}
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{bench}.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    for s in stages:
        print(row(s), flush=True)
    return path


def row(s: dict[str, Any]) -> str:
    r = s["ratio"]
    met = {True: "met", False: "NOT met", None: ""}[s["met"]]
    target = s["target"] or "-"
    return f"| {s['stage']} | {r['median']:.2f} | {r['min']:.2f}-{r['max']:.2f} | {target} {met} |"
