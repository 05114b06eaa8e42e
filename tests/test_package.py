"""``import keras_ae`` is light, and everything the README calls as ``keras_ae.X`` is there after
it (imported on first use)."""

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).parent.parent / "README.md"


def _run(code: str) -> subprocess.CompletedProcess:
    # A fresh interpreter: nothing of keras_ae, Keras or TensorFlow imported yet.
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600
    )


def test_import_keras_ae_imports_neither_keras_nor_tensorflow():
    result = _run(
        "import os, sys, keras_ae\n"
        "assert getattr(keras_ae, '_repr_html_', None) is None  # IPython's probes\n"
        "assert getattr(keras_ae, 'a.b', None) is None\n"
        "print(sorted(name for name in ('keras', 'tensorflow') if name in sys.modules))\n"
        "print(os.environ.get('TF_CPP_MIN_LOG_LEVEL'), keras_ae.__version__)"
    )
    assert result.returncode == 0, result.stderr
    imported, environment = result.stdout.strip().splitlines()
    assert imported == "[]"
    # TensorFlow's log level is the user's business: only the command line quietens it.
    assert environment.startswith("None ")


def test_datasets_is_there_after_import_keras_ae():
    result = _run(
        "import keras_ae\n"
        "x = keras_ae.datasets.load('mnist_5k', 'test', num_examples=3)\n"
        "print(x.shape)"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "(3, 28, 28, 1)"


def test_every_name_the_readme_calls_on_keras_ae_is_there_after_import_keras_ae():
    names = sorted(set(re.findall(r"\bkeras_ae((?:\.[A-Za-z_]\w*)+)", README.read_text())))
    assert ".datasets.load" in names and ".load" in names
    # The first attribute must be there after `import keras_ae`; a deeper dotted name may be a
    # module to import (python -m keras_ae.zoo.readme_table).
    code = f"""
import importlib, keras_ae
missing = []
for dotted in {names!r}:
    parts = dotted.strip(".").split(".")
    value = getattr(keras_ae, parts[0], None)
    if value is None:
        missing.append(dotted)
        continue
    for depth, part in enumerate(parts[1:], start=2):
        if not hasattr(value, part):
            value = importlib.import_module("keras_ae." + ".".join(parts[:depth]))
print("missing:", missing)
"""
    result = _run(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "missing: []"


def test_an_unknown_name_is_an_attribute_error():
    result = _run(
        "import keras_ae\ntry:\n    keras_ae.lod\nexcept AttributeError as error:\n    print(error)"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "module 'keras_ae' has no attribute 'lod'"


def test_star_import_and_dir_give_the_public_names():
    result = _run(
        "import keras_ae\n"
        "light = 'datasets' in dir(keras_ae) and 'load' in dir(keras_ae)\n"
        "from keras_ae import *\n"
        "print(light, VAE.__name__, BetaVAE.__name__, callable(load), callable(publish))"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "True VAE BetaVAE True True"
