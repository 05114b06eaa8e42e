"""``import keras_ae`` is light, and everything the README calls as ``keras_ae.X`` is there after
it (imported on first use). All checks run in one fresh interpreter (starting TensorFlow costs
seconds), in an order that keeps each one's premise: nothing is imported before the first."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).parent.parent / "README.md"

# Each check assigns `result`; the driver records it, or the error it raised, under its name.
_CHECKS = {
    "light": """
import os, sys, keras_ae
assert getattr(keras_ae, '_repr_html_', None) is None  # IPython's probes
assert getattr(keras_ae, 'a.b', None) is None
result = {
    "imported": sorted(name for name in ('keras', 'tensorflow') if name in sys.modules),
    "log_level": os.environ.get('TF_CPP_MIN_LOG_LEVEL'),
    "version": keras_ae.__version__,
}
""",
    "unknown_name": """
try:
    keras_ae.lod
    result = None
except AttributeError as error:
    result = str(error)
""",
    "dir_before_star_import": """
result = 'datasets' in dir(keras_ae) and 'load' in dir(keras_ae)
""",
    "readme_names": """
import importlib
missing = []
for dotted in README_NAMES:
    parts = dotted.strip(".").split(".")
    value = getattr(keras_ae, parts[0], None)
    if value is None:
        missing.append(dotted)
        continue
    for depth, part in enumerate(parts[1:], start=2):
        if not hasattr(value, part):
            value = importlib.import_module("keras_ae." + ".".join(parts[:depth]))
result = missing
""",
    "star_import": """
exec("from keras_ae import *", namespace := {})
result = [namespace['VAE'].__name__, namespace['BetaVAE'].__name__,
          callable(namespace['load']), callable(namespace['publish'])]
""",
    "datasets": """
result = list(keras_ae.datasets.load('mnist_5k', 'test', num_examples=3).shape)
""",
    "backend": """
import keras
result = keras.backend.backend()
""",
}

_DRIVER = """
import json, traceback
README_NAMES = {names!r}
results = {{}}
for name, code in {checks!r}.items():
    try:
        exec(code)
        results[name] = {{"result": result}}
    except BaseException:
        results[name] = {{"error": traceback.format_exc()}}
print(json.dumps(results))
"""


def _readme_names() -> list[str]:
    return sorted(set(re.findall(r"\bkeras_ae((?:\.[A-Za-z_]\w*)+)", README.read_text())))


@pytest.fixture(scope="module")
def fresh_interpreter() -> dict:
    """Each check's ``result`` (or ``error``) from one new interpreter: nothing of keras_ae,
    Keras or TensorFlow imported before it, TensorFlow's log level the user's (unset), and no
    Keras backend chosen."""
    unset = ("TF_CPP_MIN_LOG_LEVEL", "KERAS_BACKEND")
    env = {key: value for key, value in os.environ.items() if key not in unset}
    code = _DRIVER.format(names=_readme_names(), checks=_CHECKS)
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _result(fresh_interpreter: dict, name: str):
    outcome = fresh_interpreter[name]
    assert "error" not in outcome, outcome.get("error")
    return outcome["result"]


def test_import_keras_ae_imports_neither_keras_nor_tensorflow(fresh_interpreter):
    light = _result(fresh_interpreter, "light")
    assert light["imported"] == []
    # TensorFlow's log level is the user's business: only the command line quietens it.
    assert light["log_level"] is None and light["version"]


def test_datasets_is_there_after_import_keras_ae(fresh_interpreter):
    assert _result(fresh_interpreter, "datasets") == [3, 28, 28, 1]


def test_every_name_the_readme_calls_on_keras_ae_is_there_after_import_keras_ae(
    fresh_interpreter,
):
    names = _readme_names()
    assert ".datasets.load" in names and ".load" in names
    # The first attribute must be there after `import keras_ae`; a deeper dotted name may be a
    # module to import (python -m keras_ae.zoo.readme_table).
    assert _result(fresh_interpreter, "readme_names") == []


def test_an_unknown_name_is_an_attribute_error(fresh_interpreter):
    assert _result(fresh_interpreter, "unknown_name") == "module 'keras_ae' has no attribute 'lod'"


def test_star_import_and_dir_give_the_public_names(fresh_interpreter):
    assert _result(fresh_interpreter, "dir_before_star_import") is True
    assert _result(fresh_interpreter, "star_import") == ["VAE", "BetaVAE", True, True]


def test_no_backend_chosen_selects_tensorflow(fresh_interpreter):
    assert _result(fresh_interpreter, "backend") == "tensorflow"
