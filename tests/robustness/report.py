"""The README's reliability table from the robustness logs of the ``ci`` and ``thorough``
hypothesis profiles:

    KERAS_AE_ROBUSTNESS_LOG=/tmp/ci.jsonl python -m pytest tests/robustness
    KERAS_AE_ROBUSTNESS_LOG=/tmp/thorough.jsonl KERAS_AE_HYPOTHESIS_PROFILE=thorough \
        python -m pytest tests/robustness
    python tests/robustness/report.py /tmp/ci.jsonl [/tmp/thorough.jsonl]

One row per surface: the cases each profile tried, how many ended as they must (every logged
case did: a case is logged only once its check passed), and the errors they ended in (the
thorough run's when given). Without a thorough log its column says it was not run.
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
    "numerical": "the weights and optimizer state from before the bad step; the last good "
    "checkpoint",
}


NOT_RUN = "not run"


def _outcomes(lines: list[str] | None, surface: str) -> collections.Counter | None:
    if lines is None:
        return None
    cases = (json.loads(line) for line in lines if line.strip())
    return collections.Counter(c["outcome"] for c in cases if c["surface"] == surface)


def _counts(outcomes: collections.Counter | None) -> str:
    if outcomes is None:
        return NOT_RUN
    total = sum(outcomes.values())
    # Every logged case ended as it must: a case is logged once its check passed.
    return f"{total} / {total}"


def table(ci_lines: list[str], thorough_lines: list[str] | None = None) -> str:
    """The Markdown table: for each surface, cases ended as they must / tried under each
    profile, and what they end in (under the thorough profile when its log is given)."""
    rows = [
        "| surface | ci: as they must / tried | thorough: as they must / tried "
        "| what they end in | what is kept |",
        "| --- | --- | --- | --- | --- |",
    ]
    for surface in SURFACES:
        ci = _outcomes(ci_lines, surface)
        thorough = _outcomes(thorough_lines, surface)
        shown = thorough if thorough is not None else ci
        ends = ", ".join(f"{name} {count}" for name, count in shown.most_common())
        rows.append(
            f"| {surface} | {_counts(ci)} | {_counts(thorough)} | {ends} "
            f"| {WHAT_IS_KEPT[surface]} |"
        )
    return "\n".join(rows)


def _read(path: str) -> list[str]:
    with open(path, encoding="utf-8") as log:
        return log.readlines()


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: report.py CI_LOG [THOROUGH_LOG]")
    print(table(_read(sys.argv[1]), _read(sys.argv[2]) if len(sys.argv) == 3 else None))
