"""Data attacks: arrays of any shape, dtype and content; non-arrays; generators, PyDatasets and
tf.data pipelines that turn bad mid-epoch; bad sampling and loader arguments. Each ends in a
``DataError``/``ValueError`` naming the argument, and a refused batch changes no weight."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from _cases import refused, survives
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import keras_ae
import keras_ae.datasets
from keras_ae import DataError

DATA_SHAPE = (4, 4, 1)
LATENT_DIM = 2
DTYPES = (np.float32, np.float64, np.uint8, np.int64, np.bool_)


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    vae = keras_ae.VAE(input_shape=DATA_SHAPE, latent_dim=LATENT_DIM, hidden_units=(8,))
    vae.compile(optimizer=keras.optimizers.SGD(0.1))
    return vae


def _weights(model) -> list[np.ndarray]:
    return [np.array(w) for w in model.get_weights()]


def _same(before, after) -> None:
    for old, new in zip(before, after, strict=True):
        np.testing.assert_array_equal(old, new)


def _is_valid(x: np.ndarray, shape: tuple, unit_range: bool) -> bool:
    """The oracle: what the checks must accept."""
    if x.shape[1:] != shape or x.ndim != len(shape) + 1:
        return False
    values = x.astype(np.float64)
    if not np.isfinite(values).all():
        return False
    return not (unit_range and values.size and (values.min() < 0 or values.max() > 1))


def _arrays(shape_choices):
    shapes = st.sampled_from(shape_choices)
    return st.sampled_from(DTYPES).flatmap(
        lambda dtype: shapes.flatmap(lambda shape: hnp.arrays(dtype, shape))
    )


_IMAGE_SHAPES = [(0, 4, 4, 1), (3, 4, 4, 1), (2, 4, 4), (2, 4, 5, 1), (4, 16), (3,), ()]


@given(x=_arrays(_IMAGE_SHAPES))
def test_inference_accepts_exactly_the_valid_arrays(model, x):
    for method in ("encode", "reconstruct"):
        if _is_valid(x, DATA_SHAPE, unit_range=True):
            expected = (len(x), LATENT_DIM) if method == "encode" else x.shape
            survives(
                "data",
                f"{method}({x.dtype}{x.shape}) valid",
                lambda m=method, e=expected: assert_shape(getattr(model, m)(x), e),
            )
        else:
            refused(
                "data",
                f"{method}({x.dtype}{x.shape})",
                lambda m=method: getattr(model, m)(x),
                DataError,
                r"\bx\b.*(shape|NaN|\[0, 1\])|Expected x",
            )


def assert_shape(array: np.ndarray, shape: tuple) -> None:
    assert array.shape == shape and np.isfinite(array).all()


@given(z=_arrays([(0, 2), (3, 2), (3, 3), (2,), (2, 2, 1)]))
def test_decode_accepts_exactly_finite_codes_of_the_latent_size(model, z):
    if _is_valid(z, (LATENT_DIM,), unit_range=False):
        survives("data", f"decode({z.dtype}{z.shape}) valid", lambda: model.decode(z))
    else:
        refused("data", f"decode({z.dtype}{z.shape})", lambda: model.decode(z), DataError, r"\bz\b")


@settings(max_examples=6)
@given(x=_arrays([(0, 4, 4, 1), (4, 4, 4, 1), (4, 4, 5, 1)]))
def test_fit_refuses_invalid_arrays_before_any_step(model, x):
    before = _weights(model)
    if _is_valid(x, DATA_SHAPE, unit_range=True) and len(x):
        survives("data", f"fit({x.dtype}{x.shape}) valid", lambda: model.fit(x, verbose=0))
        return
    refused(
        "data",
        f"fit({x.dtype}{x.shape})",
        lambda: model.fit(x, verbose=0),
        DataError,
        r"\bx\b|inputs of shape",
    )
    _same(before, _weights(model))


_NOT_ARRAYS = {
    "None": None,
    "a dict": {"x": np.zeros((2, 4, 4, 1))},
    "a ragged list": [np.zeros((4, 4, 1)), np.zeros((3, 4, 1))],
    "strings": np.full((2, 4, 4, 1), "a"),
    "objects": np.full((2, 4, 4, 1), None, dtype=object),
    "a scalar": 3.0,
}


@pytest.mark.parametrize("method", ["fit", "evaluate", "encode", "reconstruct"])
@pytest.mark.parametrize("what", list(_NOT_ARRAYS))
def test_a_non_array_is_refused_naming_the_argument(model, method, what):
    x = _NOT_ARRAYS[what]
    action = {
        "fit": lambda: model.fit(x, verbose=0),
        "evaluate": lambda: model.evaluate(x, verbose=0),
    }.get(method, lambda: getattr(model, method)(x))
    refused("data", f"{method}({what})", action, DataError, r"\bx\b")


@pytest.mark.parametrize(
    ("n", "seed"), [(-1, 0), (2.5, 0), ("3", 0), (None, 0), (True, 0), (2, "a"), (2, -5)]
)
def test_sample_refuses_a_bad_count_or_seed(model, n, seed):
    refused(
        "data", f"sample({n!r}, seed={seed!r})", lambda: model.sample(n, seed), DataError, "n|seed"
    )


def _good(n: int = 4) -> np.ndarray:
    return np.random.default_rng(n).uniform(size=(n, *DATA_SHAPE)).astype("float32")


_BAD_BATCHES = {
    "a batch of the wrong shape": (np.zeros((4, 4, 5, 1), "float32"), "shape"),
    "a batch holding NaN": (np.full((4, *DATA_SHAPE), np.nan, "float32"), "NaN"),
    "a uint8 batch of 0..255": (np.full((4, *DATA_SHAPE), 200, "uint8"), r"\[0, 1\]"),
    "a batch of strings": (np.full((4, *DATA_SHAPE), "a"), "dtype"),
}


def _twin_trained_on(model, batches: list) -> list[np.ndarray]:
    twin = keras_ae.VAE.from_config(model.get_config())
    twin.set_weights(model.get_weights())
    twin.compile(optimizer=keras.optimizers.SGD(0.1))
    twin.seed_generator.state.assign(model.seed_generator.state)
    if batches:
        twin.fit(iter([(batch,) for batch in batches]), verbose=0)
    return _weights(twin)


@pytest.mark.parametrize("bad", list(_BAD_BATCHES))
def test_a_generator_turning_bad_mid_epoch_stops_at_that_batch(model, bad):
    batch, reason = _BAD_BATCHES[bad]
    expected = _twin_trained_on(model, [_good(), _good()])

    def batches():
        yield (_good(),)
        yield (_good(),)
        yield (batch,)
        yield (_good(),)

    refused(
        "data",
        f"generator: {bad}",
        lambda: model.fit(batches(), verbose=0),
        DataError,
        f"batch 3.*{reason}",
    )
    # The two good batches trained; the bad one and the one after it did not.
    _same(expected, _weights(model))


def test_a_generator_that_raises_gives_back_its_own_error(model):
    def batches():
        yield (_good(),)
        raise ConnectionError("the file server went away")

    refused(
        "data",
        "generator raising its own error",
        lambda: model.fit(batches(), verbose=0),
        ConnectionError,
        "file server went away",
    )


class _Batches(keras.utils.PyDataset):
    def __init__(self, items):
        super().__init__()
        self.items = items

    def __len__(self):
        return len(self.items)

    def __getitem__(self, index):
        return (self.items[index],)


@pytest.mark.parametrize("bad", ["a batch of the wrong shape", "a batch holding NaN"])
def test_a_py_dataset_turning_bad_mid_epoch_stops_at_that_batch(model, bad):
    batch, reason = _BAD_BATCHES[bad]
    goods = [_good(n) for n in range(3, 7)]
    expected = _twin_trained_on(model, goods)
    refused(
        "data",
        f"PyDataset: {bad}",
        lambda: model.fit(_Batches([*goods, batch, _good()]), shuffle=False, verbose=0),
        DataError,
        f"batch 5.*{reason}",
    )
    _same(expected, _weights(model))


@pytest.mark.parametrize("bad", ["a batch holding NaN", "a uint8 batch of 0..255"])
def test_a_tf_data_pipeline_turning_bad_mid_epoch_stops_at_that_batch(model, bad):
    batch, reason = _BAD_BATCHES[bad]
    good = _good(8)
    pipeline = tf.data.Dataset.from_tensor_slices(
        np.concatenate([good, batch.astype("float32")])
    ).batch(4)
    expected = _twin_trained_on(model, [good[:4], good[4:]])
    refused(
        "data",
        f"tf.data: {bad}",
        lambda: model.fit(pipeline, verbose=0),
        DataError,
        f"Bad batch.*{reason}",
    )
    _same(expected, _weights(model))


_LOADER_ARGUMENTS = {
    "an unknown name": (("mnsit_5k",), {}, "Unknown dataset.*mnist_5k"),
    "a name that is not a string": ((5,), {}, "Unknown dataset"),
    "an unknown split": (("mnist_5k", "validaton"), {}, "split"),
    "an unknown option": (("mnist_5k",), {"colour": True}, "unexpected options"),
    "a negative num_examples": (("mnist_5k",), {"num_examples": -3}, "num_examples"),
    "too many examples": (("mnist_5k",), {"num_examples": 10**7}, "num_examples"),
    "an unknown binarisation": (("mnist_5k",), {"binarize": "yes"}, "binarize"),
    "dynamic binarisation as arrays": (("mnist_5k",), {"binarize": "dynamic"}, "dynamic"),
    "a zero batch size": (("mnist_5k",), {"as_dataset": True, "batch_size": 0}, "batch_size"),
    "a dSprites file that is not there": (("dsprites",), {"npz_path": "/nonexistent.npz"}, "npz"),
}


@pytest.mark.parametrize("case", list(_LOADER_ARGUMENTS))
def test_a_bad_loader_argument_is_refused_naming_it(case):
    args, kwargs, match = _LOADER_ARGUMENTS[case]
    refused(
        "data",
        f"datasets.load with {case}",
        lambda: keras_ae.datasets.load(*args, **kwargs),
        (ValueError, TypeError, FileNotFoundError),
        match,
    )
