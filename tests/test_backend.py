"""Importing keras_ae refuses another active backend clearly (that it selects TensorFlow when
none is chosen is checked in test_package.py's fresh interpreter)."""

import os
import subprocess
import sys


def _import_keras_ae(backend: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "KERAS_BACKEND": backend}
    code = "import keras_ae, keras; print(keras.backend.backend())"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)


def test_another_backend_is_refused_with_how_to_switch():
    result = _import_keras_ae("numpy")
    assert result.returncode != 0
    assert "needs Keras' TensorFlow backend" in result.stderr
    assert "KERAS_BACKEND=tensorflow" in result.stderr
