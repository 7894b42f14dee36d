"""Prints how each stage's ratio moved between two checkouts (the output of bench/compare.sh).

Each stage's ratio against its raw baseline is taken from every round of both passes of each checkout
(before-1, before-2; after-1, after-2); the change is the median after over the median before, written
so that a positive percentage is always "slower than before"."""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path


def ratios(folder: Path, label: str) -> dict[str, tuple[str, list[float]]]:
    out: dict[str, tuple[str, list[float]]] = {}
    for path in sorted(folder.glob(f"{label}-*.json")):
        for s in json.loads(path.read_text()).get("stages", []):
            _kind, values = out.setdefault(s["stage"], (s["ratio_kind"], []))
            values.extend(s.get("ratios") or [s["ratio"]["median"]])
    return out


def main() -> None:
    folder = Path(sys.argv[1])
    before = {}
    after = {}
    for n in (1, 2):
        for stage, (kind, values) in ratios(folder, f"before-{n}").items():
            before.setdefault(stage, (kind, []))[1].extend(values)
        for stage, (kind, values) in ratios(folder, f"after-{n}").items():
            after.setdefault(stage, (kind, []))[1].extend(values)
    print("| stage | ratio before (median, min-max) | ratio after (median, min-max) | change |")
    print("|---|---|---|---|")
    for stage, (kind, b) in before.items():
        if stage not in after or not b or not after[stage][1]:
            continue
        a = after[stage][1]
        mb, ma = statistics.median(b), statistics.median(a)
        # A rate ratio (higher is better) gets slower when it falls; a time ratio when it rises.
        slower = (mb / ma - 1) if kind.startswith("service rate") else (ma / mb - 1)
        print(
            f"| {stage} | {mb:.3f} ({min(b):.3f}-{max(b):.3f}) | {ma:.3f} ({min(a):.3f}-{max(a):.3f}) "
            f"| {slower * 100:+.1f}% {'slower' if slower > 0 else 'faster'} |"
        )


if __name__ == "__main__":
    main()
