"""Prints the table of every stage from bench/results/*.json (the end of `make bench`)."""

from __future__ import annotations

import json

from measure import RESULTS_DIR, row  # bench/ is the script's folder, so on sys.path


def main() -> None:
    print("| stage | ratio (median) | spread (min-max) | target |")
    print("|---|---|---|---|")
    loads = []
    for path in sorted(RESULTS_DIR.glob("*.json")):
        data = json.loads(path.read_text())
        for s in data.get("stages", []):
            print(row(s))
        if "machine" in data and "loadavg" in data["machine"]:
            m = data["machine"]
            loads.append(f"{path.stem}: {m['at']}, {m['cpu_count']} CPUs, load {m['loadavg']}")
    for line in loads:
        print(f"- {line}")


if __name__ == "__main__":
    main()
