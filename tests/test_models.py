"""Every model of the family: fit lowers its loss, reports its terms, and round-trips."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_ae
from keras_ae.models import model_info
from keras_ae.zoo import catalogue, preset_directory

SMALL = dict(input_shape=(28, 28, 1), latent_dim=8, hidden_units=(64,))
# Every registered model, with the small arguments its registry entry gives for tests. What
# those arguments must allow (loss and reconstruction falling over 30 steps of SMALL models on
# 640 digits, batch 64) is documented in keras_ae.models.registry.ModelInfo: keep both in step.
MODELS = {
    name: (cls, dict(model_info(cls).example_arguments))
    for name, cls in keras_ae.models.model_classes().items()
}


def _trained(name: str, x: np.ndarray, epochs: int = 3):
    cls, kwargs = MODELS[name]
    model = cls(**SMALL, **kwargs)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = model.fit(x, batch_size=64, epochs=epochs, verbose=0)
    return model, history


@pytest.mark.parametrize("name", MODELS)
def test_fit_lowers_the_loss_and_reports_every_term(name, mnist_images, tmp_path):
    x = mnist_images[0][:640]
    model, history = _trained(name, x)
    assert set(history.history) == set(model.term_names)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert history.history["reconstruction"][-1] < history.history["reconstruction"][0]
    assert int(model.trained_steps.numpy()) == 30
    results = model.evaluate(x[:128], verbose=0, return_dict=True)
    assert set(results) == set(model.term_names)

    path = tmp_path / f"{name}.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    assert type(reloaded) is type(model)
    assert reloaded.get_config() == model.get_config()
    np.testing.assert_array_equal(reloaded.encode(x[:50]), model.encode(x[:50]))
    z = np.random.default_rng(0).normal(size=(5, SMALL["latent_dim"])).astype("float32")
    np.testing.assert_array_equal(reloaded.decode(z), model.decode(z))


@pytest.mark.parametrize("name", MODELS)
def test_outputs_are_pixels_and_shapes_match(name, mnist_images):
    cls, kwargs = MODELS[name]
    model = cls(**SMALL, **kwargs)
    x = mnist_images[0][:300]
    code = model.encode(x, batch_size=128)
    assert code.shape == (300, 8) and code.dtype == np.float32
    reconstructions = model.reconstruct(tf.constant(x), batch_size=128)
    assert reconstructions.shape == x.shape
    assert 0.0 <= reconstructions.min() and reconstructions.max() <= 1.0
    assert model.decode(code[:3]).shape == (3, 28, 28, 1)


class _UnlistedTerm(keras_ae.VAE):
    """Reports a misspelt term, "klx", that term_names does not list."""

    def latent_regulariser(self, z, mean, log_var, kl):
        return {"penalty": self.beta * kl, "klx": kl}


class _UnreturnedTerm(keras_ae.VAE):
    """Lists a term, "tc", that loss_terms never returns."""

    term_names = (*keras_ae.VAE.term_names, "tc")


@pytest.mark.parametrize(
    ("cls", "problem"),
    [
        (_UnlistedTerm, r"\['klx'\] returned but not listed"),
        (_UnreturnedTerm, r"\['tc'\] listed but not returned"),
    ],
)
def test_a_term_returned_but_not_listed_or_listed_but_not_returned_stops_the_first_step(
    cls, problem, mnist_images
):
    x = mnist_images[0][:64]
    model = cls(**SMALL)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    for run in (
        lambda: model.fit(x, batch_size=64, epochs=1, verbose=0),
        lambda: model.evaluate(x, verbose=0),
    ):
        with pytest.raises(ValueError, match=problem) as error:
            run()
        # Both sides are named: what loss_terms returned and what term_names lists.
        assert f"{cls.__name__}.loss_terms returned" in str(error.value)
        assert f"{cls.__name__}'s term_names are" in str(error.value)
    assert int(model.trained_steps.numpy()) == 0


def test_vae_family_samples_and_encodes_the_mean(mnist_images):
    model = keras_ae.VAE(**SMALL)
    samples = model.sample(6, seed=1)
    assert samples.shape == (6, 28, 28, 1)
    np.testing.assert_array_equal(samples, model.sample(6, seed=1))
    x = mnist_images[0][:10]
    np.testing.assert_allclose(model.encode(x), model.posterior(x)[0].numpy(), rtol=1e-6)
    np.testing.assert_array_equal(model.encode(x), model.encode(x))


def test_capacity_ramp_continues_after_save_and_reload(mnist_images, tmp_path):
    x = mnist_images[0][:640]
    model, history = _trained("CapacityVAE", x, epochs=2)
    # C is read before each step's increment: the 20th step (index 19) of a 40-step ramp to 5.
    assert int(model.trained_steps.numpy()) == 20
    model.save(tmp_path / "capacity.keras")
    reloaded = keras.saving.load_model(tmp_path / "capacity.keras")
    assert int(reloaded.trained_steps.numpy()) == 20
    more = reloaded.fit(x, batch_size=64, epochs=1, verbose=0)
    assert int(reloaded.trained_steps.numpy()) == 30
    # The mean C over steps 20..29 of the ramp 5 * step / 40 is 5 * 24.5 / 40.
    assert more.history["capacity"][0] == pytest.approx(5 * 24.5 / 40, rel=1e-5)
    assert history.history["capacity"][-1] == pytest.approx(5 * 14.5 / 40, rel=1e-5)


def test_bring_your_own_networks(mnist_images, tmp_path):
    encoder = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(12)]
    )
    decoder = keras.Sequential(
        [keras.Input((6,)), keras.layers.Dense(784), keras.layers.Reshape((28, 28, 1))]
    )
    model = keras_ae.VAE(encoder=encoder, decoder=decoder)  # one output, split in halves
    assert model.latent_dim == 6 and model.data_shape == (28, 28, 1)
    model.compile(optimizer="adam")
    model.fit(mnist_images[0][:128], batch_size=64, epochs=1, verbose=0)
    model.save(tmp_path / "custom.keras")
    reloaded = keras.saving.load_model(tmp_path / "custom.keras")
    x = mnist_images[0][:8]
    np.testing.assert_array_equal(reloaded.encode(x), model.encode(x))


def test_encoder_and_decoder_work_as_layers_downstream(mnist_images):
    model = keras_ae.Autoencoder(**SMALL)
    inputs = keras.Input((28, 28, 1))
    model.encoder.trainable = False
    logits = keras.layers.Dense(10)(model.encoder(inputs))
    classifier = keras.Model(inputs, logits)
    classifier.compile(
        optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    images, labels = mnist_images
    before = [w.copy() for w in model.encoder.get_weights()]
    classifier.fit(images[:128], labels[:128], epochs=1, verbose=0)
    for old, new in zip(before, model.encoder.get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)


def test_mismatched_networks_are_refused():
    encoder = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(5)])
    with pytest.raises(ValueError, match="must equal the encoder's input shape"):
        keras_ae.Autoencoder(encoder=encoder, decoder=decoder)
    with pytest.raises(ValueError, match="both `encoder` and `decoder`"):
        keras_ae.Autoencoder(encoder=encoder)
    with pytest.raises(ValueError, match="input_shape` and `latent_dim"):
        keras_ae.Autoencoder(input_shape=(4,))
    with pytest.raises(ValueError, match=r"\(64, 64, channels\)"):
        keras_ae.BetaVAE(input_shape=(28, 28, 1), latent_dim=4, architecture="conv64")


@pytest.mark.parametrize("architecture", ["conv28", "conv64"])
def test_convolutional_architectures_build_and_reconstruct(architecture):
    side = 28 if architecture == "conv28" else 64
    model = keras_ae.BetaVAE(input_shape=(side, side, 3), latent_dim=10, architecture=architecture)
    x = np.random.default_rng(0).uniform(size=(4, side, side, 3)).astype("float32")
    assert model.reconstruct(x).shape == x.shape
    if architecture == "conv64":
        conv_filters = [
            layer.filters for layer in model.encoder.layers if hasattr(layer, "filters")
        ]
        assert conv_filters == [32, 32, 64, 64]


def _h5_layout(path) -> dict[str, tuple[int, ...]]:
    import h5py

    layout = {}
    with h5py.File(path) as weights:
        weights.visititems(
            lambda key, item: (
                layout.update({key: item.shape}) if isinstance(item, h5py.Dataset) else None
            )
        )
    return layout


@pytest.mark.parametrize(
    "name",
    [name for name in catalogue.PRESETS if catalogue.local_directory(name) is not None],
)
def test_a_fresh_model_writes_each_bundled_weight_layout(name, tmp_path):
    # Most bundled weights were written before models could train auxiliary networks or save
    # their noise state; today's models must still write (and so read) the same layout.
    directory = catalogue.local_directory(name)
    config = json.loads((directory / preset_directory.CONFIG_FILE).read_text())
    config.pop("compile_config", None)
    model = keras.saving.deserialize_keras_object(config)
    model.save_weights(tmp_path / "model.weights.h5")
    written = _h5_layout(tmp_path / "model.weights.h5")
    # Presets written before the noise state was saved lack that one key (optional on load).
    assert written.pop("vars/noise_state") == (2,)
    bundled = _h5_layout(directory / preset_directory.WEIGHTS_FILE)
    # A split preset keeps what only training uses (FactorVAE's discriminator) apart.
    if (directory / preset_directory.TRAINING_WEIGHTS_FILE).is_file():
        bundled.update(_h5_layout(directory / preset_directory.TRAINING_WEIGHTS_FILE))
    assert bundled.pop("vars/noise_state", (2,)) == (2,)
    assert written == bundled


def test_sampling_from_many_models_in_one_process_warns_of_no_retracing():
    import logging

    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("tensorflow")
    logger.addHandler(handler)
    try:
        for seed in range(7):  # TensorFlow warns from the fifth trace of one function's code
            model = keras_ae.VAE(input_shape=(4, 4, 1), latent_dim=2, hidden_units=(8,), seed=seed)
            model.sample(3, seed=0)
            model.encode(np.zeros((2, 4, 4, 1), "float32"))
            keras_ae.evaluation.posterior_moments(model, np.zeros((2, 4, 4, 1), "float32"))
    finally:
        logger.removeHandler(handler)
    assert not [record for record in records if "retracing" in record.getMessage()]


def _stage_optimizers(model) -> list:
    """Every stage's optimizers, each once."""
    found = []
    for stage in model.stages:
        for _, optimizer, _ in model.objectives(stage):
            if all(optimizer is not other for other in found):
                found.append(optimizer)
    return found


@pytest.mark.parametrize("name", MODELS)
def test_every_stage_resumes_exactly_from_a_keras_file(name, mnist_images, tmp_path):
    """Two epochs of each stage in one go, against one epoch, a .keras round trip and one more:
    the same weights and the same state in every stage's optimizers."""
    cls, kwargs = MODELS[name]
    x = mnist_images[0][:128]

    def fresh():
        keras.utils.set_random_seed(5)
        model = cls(**SMALL, **kwargs, seed=5)
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
        return model

    fit = dict(batch_size=64, shuffle=False, verbose=0)
    straight, resumed = fresh(), fresh()
    for stage in straight.stages:
        getattr(straight, stage.fit_method)(x, epochs=2, **fit)
        getattr(resumed, stage.fit_method)(x, epochs=1, **fit)
        resumed.save(tmp_path / f"{stage.name}.keras")
        resumed = keras.saving.load_model(tmp_path / f"{stage.name}.keras")
        getattr(resumed, stage.fit_method)(x, epochs=1, **fit)
        assert int(getattr(resumed, stage.counter).numpy()) == 4
    assert len(resumed.get_weights()) == len(straight.get_weights())
    for got, want in zip(resumed.get_weights(), straight.get_weights(), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    optimizers = list(zip(_stage_optimizers(resumed), _stage_optimizers(straight), strict=True))
    for got_optimizer, want_optimizer in optimizers:
        assert int(got_optimizer.iterations.numpy()) > 0
        for got, want in zip(got_optimizer.variables, want_optimizer.variables, strict=True):
            np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", MODELS)
def test_every_class_refuses_an_argument_it_does_not_take_alike(name):
    from keras_ae.models.registry import ModelArgumentError, model_arguments

    cls, kwargs = MODELS[name]
    with pytest.raises(ModelArgumentError, match=rf"^{name} does not take .*'lattent_dim'"):
        cls(**SMALL, **kwargs, lattent_dim=3)
    # A class that fixes a base class's argument refuses it too, instead of dropping it.
    if "beta" not in model_arguments(cls):
        with pytest.raises(ModelArgumentError, match=rf"^{name} does not take .*'beta'"):
            cls(**SMALL, **kwargs, beta=4.0)
    assert isinstance(ModelArgumentError(""), TypeError)


def test_a_subclass_defined_outside_keras_ae_keeps_its_own_arguments():
    from keras_ae.models.registry import ModelArgumentError, model_arguments

    class Centred(keras_ae.VAE):
        def __init__(self, *args, lam: float = 1.0, **kwargs):
            super().__init__(*args, **kwargs)
            self.lam = lam

    arguments = model_arguments(Centred)
    assert arguments["lam"] == 1.0 and arguments["beta"] == 1.0 and "hidden_units" in arguments
    assert Centred(**SMALL, lam=2.0).lam == 2.0
    with pytest.raises(ModelArgumentError, match="Centred does not take the argument"):
        Centred(**SMALL, lamb=2.0)
