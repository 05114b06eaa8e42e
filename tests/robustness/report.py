"""The README's reliability table from a robustness log:

    KERAS_AE_ROBUSTNESS_LOG=/tmp/cases.jsonl python -m pytest tests/robustness
    python tests/robustness/report.py /tmp/cases.jsonl

One row per surface: the cases tried, how many ended as they must (every logged case did: a
case is logged only once its check passed), and the errors they ended in.
"""

import collections
import json
import sys

from _cases import SURFACES

WHAT_IS_KEPT = {
    "data": "weights unchanged by a refused batch",
    "presets": "files unchanged, no weight read",
    "hub": "the next healthy load gives the right weights; a failed publish leaves the preset",
    "interruptions": "the old state or the new one; training resumes bit-identically",
    "numerical": "the last good checkpoint",
}


def table(lines: list[str]) -> str:
    cases = [json.loads(line) for line in lines if line.strip()]
    rows = [
        "| surface | cases tried | ended as they must | what they end in | what is kept |",
        "| --- | --- | --- | --- | --- |",
    ]
    for surface in SURFACES:
        outcomes = collections.Counter(c["outcome"] for c in cases if c["surface"] == surface)
        total = sum(outcomes.values())
        ends = ", ".join(f"{name} {count}" for name, count in outcomes.most_common())
        rows.append(f"| {surface} | {total} | {total} | {ends} | {WHAT_IS_KEPT[surface]} |")
    return "\n".join(rows)


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as log:
        print(table(log.readlines()))
