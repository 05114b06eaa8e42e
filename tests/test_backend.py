"""Importing keras_ae selects TensorFlow, and refuses another active backend clearly."""

import os
import subprocess
import sys


def _import_keras_ae(backend: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    if backend:
        env["KERAS_BACKEND"] = backend
    code = "import keras_ae, keras; print(keras.backend.backend())"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)


def test_no_backend_chosen_selects_tensorflow():
    result = _import_keras_ae(None)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("tensorflow")


def test_another_backend_is_refused_with_how_to_switch():
    result = _import_keras_ae("numpy")
    assert result.returncode != 0
    assert "needs Keras' TensorFlow backend" in result.stderr
    assert "KERAS_BACKEND=tensorflow" in result.stderr
