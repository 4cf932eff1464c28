"""Summarize the runs of ``bench/ab_tiny.sh``: cpu_ms per request by cell, client and label.

    python bench/ab_summary.py runs.jsonl [LABEL]

Prints the median (min-max) of each group; for LABEL (default: the last label seen), also
the ratio of its median to each other label's.
"""

from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict


def main() -> None:
    """Print the summary of the runs file named on the command line."""
    runs: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    label = ""
    with open(sys.argv[1], encoding="utf-8") as lines:
        for line in lines:
            run = json.loads(line)
            runs[run["cell"], run["client"], run["label"]].append(run["cpu_ms"])
            label = run["label"] if run["label"] != "raw" else label
    mine = sys.argv[2] if len(sys.argv) > 2 else label
    for (cell, client, name), values in sorted(runs.items()):
        median = statistics.median(values)
        text = (
            f"{cell:8} {client:17} {name:6} n={len(values)} "
            f"median {median:.3f} ms ({min(values):.3f}-{max(values):.3f})"
        )
        if name == mine:
            for other, others in sorted(runs.items()):
                if other[:2] == (cell, client) and other[2] != mine:
                    text += f"  /{other[2]} {median / statistics.median(others):.3f}"
        print(text)


if __name__ == "__main__":
    main()
