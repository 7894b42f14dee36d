"""The progress bar's state for long work (billing runs, export jobs), from the API's counters."""

from __future__ import annotations

from typing import Any

FINISHED = frozenset({"completed", "failed"})


def progress(status: str | None, done: Any, total: Any) -> dict[str, Any]:
    done_n, total_n = int(done or 0), int(total or 0)
    percent = 100 if status == "completed" else (min(100, 100 * done_n // total_n) if total_n else 0)
    return {
        "status": status,
        "done": done_n,
        "total": total_n,
        "percent": percent,
        "finished": status in FINISHED,
    }
