"""How a robustness case is judged and counted.

``refused(surface, case, action, error, match)``: ``action()`` must raise ``error`` whose message
matches ``match`` (it says what was expected); ``survives(surface, case, check)``: ``check()``
must hold (the defined value, or nothing lost). Each call is one case of its surface.
"""

import json
import os
import re
from collections.abc import Callable

import pytest

SURFACES = ("data", "presets", "hub", "interruptions", "numerical")


def _record(surface: str, case: str, outcome: str) -> None:
    assert surface in SURFACES, surface
    log = os.environ.get("KERAS_AE_ROBUSTNESS_LOG")
    if log:
        line = json.dumps({"surface": surface, "case": case, "outcome": outcome})
        # One short append per case: safe from several pytest-xdist workers at once.
        with open(log, "a", encoding="utf-8") as file:
            file.write(line + "\n")


def refused(
    surface: str,
    case: str,
    action: Callable,
    error: type[BaseException] | tuple[type[BaseException], ...],
    match: str,
) -> BaseException:
    """Asserts ``action()`` raises ``error`` with a message matching ``match``; returns it."""
    with pytest.raises(error) as caught:
        action()
    message = str(caught.value)
    assert re.search(match, message), f"{case}: {type(caught.value).__name__}: {message}"
    _record(surface, case, type(caught.value).__name__)
    return caught.value


def survives(surface: str, case: str, check: Callable[[], object], outcome: str = "ok") -> None:
    """Runs ``check`` (which asserts what must hold) and counts the case."""
    check()
    _record(surface, case, outcome)
