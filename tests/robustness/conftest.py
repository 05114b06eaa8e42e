"""The robustness suite: attacks on every surface, each ending in one clear error with nothing
lost. Each case goes through ``refused``/``survives`` (``_cases.py``), which count it per
surface; ``KERAS_AE_ROBUSTNESS_LOG=file`` makes them append one JSON line per case, and
``python -m tests.robustness.report file`` turns the lines into the README's table.

Hypothesis profiles: ``ci`` (the default: few, derandomised examples, so CI stays within its
budget) and ``thorough`` (``KERAS_AE_HYPOTHESIS_PROFILE=thorough``: many random examples).
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=12,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile(
    "thorough",
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("KERAS_AE_HYPOTHESIS_PROFILE") or "ci")
