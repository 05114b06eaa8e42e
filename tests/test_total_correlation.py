"""The total-correlation family: its models' training, and the discriminator's estimate of the
total correlation (its loss terms are tested in test_losses.py)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_ae
from keras_ae import losses

SMALL = dict(input_shape=(28, 28, 1), latent_dim=6, hidden_units=(64,))


def test_beta_tcvae_with_unit_weights_is_the_vae(mnist_images):
    x = tf.constant(mnist_images[0][:64])
    noise = tf.constant(np.random.default_rng(0).normal(size=(64, 6)).astype("float32"))
    keras.utils.set_random_seed(3)
    tcvae = keras_ae.BetaTCVAE(**SMALL, alpha=1.0, beta=1.0, gamma=1.0, dataset_size=4000)
    vae = keras_ae.VAE(**SMALL)
    vae.set_weights(tcvae.get_weights())
    for model in (tcvae, vae):
        model.sample_noise = lambda shape: noise
    tc_terms, vae_terms = tcvae.loss_terms(x), vae.loss_terms(x)
    np.testing.assert_allclose(tc_terms["loss"], vae_terms["loss"], rtol=1e-6)
    # Its reported decomposition sums to the one-sample KL; the analytic KL is near it.
    decomposition = tc_terms["mutual_info"] + tc_terms["tc"] + tc_terms["dimension_kl"]
    assert np.isfinite(decomposition.numpy())


def test_beta_tcvae_penalises_total_correlation_by_beta_minus_one(mnist_images):
    x = tf.constant(mnist_images[0][:64])
    noise = tf.constant(np.random.default_rng(0).normal(size=(64, 6)).astype("float32"))
    one = keras_ae.BetaTCVAE(**SMALL, beta=1.0, dataset_size=4000)
    six = keras_ae.BetaTCVAE(**SMALL, beta=6.0, dataset_size=4000)
    six.set_weights(one.get_weights())
    for model in (one, six):
        model.sample_noise = lambda shape: noise
    low, high = one.loss_terms(x), six.loss_terms(x)
    np.testing.assert_allclose(high["loss"] - low["loss"], 5.0 * low["tc"], rtol=1e-4)


def test_beta_tcvae_rejects_a_bad_dataset_size():
    with pytest.raises(ValueError, match="dataset_size"):
        keras_ae.BetaTCVAE(**SMALL, dataset_size=0)


def test_beta_tcvae_trains_with_the_stratified_estimator_and_keeps_it(mnist_images, tmp_path):
    x = mnist_images[0][:256]
    model = keras_ae.BetaTCVAE(**SMALL, dataset_size=4000, estimator="mss")
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = model.fit(x, batch_size=64, epochs=1, verbose=0).history
    assert np.isfinite(history["tc"][-1]) and np.isfinite(history["loss"][-1])
    model.save(tmp_path / "mss.keras")
    assert keras.saving.load_model(tmp_path / "mss.keras").estimator == "mss"
    # Both estimators share the decomposition's sum, not its split.
    mws = keras_ae.BetaTCVAE(**SMALL, dataset_size=4000)
    mws.set_weights(model.get_weights())
    noise = tf.constant(np.random.default_rng(0).normal(size=(64, 6)).astype("float32"))
    for each in (model, mws):
        each.sample_noise = lambda shape: noise
    stratified, weighted = (
        model.loss_terms(tf.constant(x[:64])),
        mws.loss_terms(tf.constant(x[:64])),
    )
    total = ("mutual_info", "tc", "dimension_kl")
    np.testing.assert_allclose(
        sum(stratified[name] for name in total), sum(weighted[name] for name in total), rtol=1e-4
    )
    assert abs(float(stratified["tc"] - weighted["tc"])) > 1e-3
    with pytest.raises(ValueError, match="minibatch-stratified"):
        keras_ae.BetaTCVAE(**SMALL, estimator="exact")


# ------------------------------------------------------------------------------------ FactorVAE


def _trained_discriminator_tc(z: np.ndarray, steps: int = 300) -> float:
    """The TC estimate of a small discriminator trained briefly to tell z from permute_dims(z)."""
    discriminator = keras_ae.models.total_correlation.build_discriminator(2, 2, 64)
    optimizer = keras.optimizers.Adam(1e-3)
    seed = keras.random.SeedGenerator(0)
    z = tf.constant(z, tf.float32)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            cross_entropy, _ = losses.discriminator_loss(
                discriminator(z), discriminator(losses.permute_dims(z, seed))
            )
        variables = discriminator.trainable_variables
        gradients = tape.gradient(cross_entropy, variables)
        optimizer.apply_gradients(zip(gradients, variables, strict=True))

    for _ in range(steps):
        step()
    return float(tf.reduce_mean(losses.discriminator_total_correlation(discriminator(z))))


def test_the_discriminator_estimate_is_larger_for_dependent_latents():
    rng = np.random.default_rng(4)
    first, second = rng.normal(size=(2, 512, 1))
    # Correlation 0.995, whose true TC is -log(1 - 0.995^2) / 2 = 2.3 nats; and 0 for the other.
    dependent = np.hstack([first, first + 0.1 * second])
    independent = np.hstack([first, second])
    tc_dependent = _trained_discriminator_tc(dependent)
    tc_independent = _trained_discriminator_tc(independent)
    assert tc_dependent > 1.0
    assert tc_dependent > tc_independent + 1.0


TINY_DISCRIMINATOR = dict(discriminator_layers=2, discriminator_units=32)


def _factor_vae(**kwargs):
    return keras_ae.FactorVAE(**SMALL, **TINY_DISCRIMINATOR, **kwargs)


def test_factor_vae_loss_is_the_vae_loss_plus_gamma_tc(mnist_images):
    x = tf.constant(mnist_images[0][:64])
    noise = tf.constant(np.random.default_rng(0).normal(size=(64, 6)).astype("float32"))
    factor = _factor_vae(gamma=35.0)
    vae = keras_ae.VAE(**SMALL)
    vae.encoder.set_weights(factor.encoder.get_weights())
    vae.decoder.set_weights(factor.decoder.get_weights())
    for model in (factor, vae):
        model.sample_noise = lambda shape: noise
    factor_terms, vae_terms = factor.loss_terms(x), vae.loss_terms(x)
    np.testing.assert_allclose(
        factor_terms["loss"] - vae_terms["loss"], 35.0 * factor_terms["tc"], rtol=1e-4, atol=1e-3
    )
    assert set(factor_terms) == set(factor.term_names)


def test_only_the_tc_term_reaches_the_encoder_from_the_discriminator(mnist_images):
    model = _factor_vae()
    x = tf.constant(mnist_images[0][:32])
    with tf.GradientTape(persistent=True) as tape:
        terms = model.loss_terms(x, training=True)
    encoder, decoder = model.encoder.trainable_variables, model.decoder.trainable_variables
    discriminator = model.discriminator.trainable_variables
    assert all(g is None for g in tape.gradient(terms["discriminator_loss"], encoder + decoder))
    assert all(g is not None for g in tape.gradient(terms["discriminator_loss"], discriminator))
    assert all(g is not None for g in tape.gradient(terms["tc"], encoder))
    assert all(g is None for g in tape.gradient(terms["tc"], decoder))
    # The skeleton trains "loss" on everything but the discriminator.
    main = {id(v) for v in model.main_trainable_variables}
    assert main == {id(v) for v in encoder + decoder}


def _weights_of(network) -> list[np.ndarray]:
    return [w.numpy() for w in network.weights]


@pytest.mark.parametrize("frozen", ["vae", "discriminator"])
def test_each_optimizer_moves_only_its_own_network(frozen, mnist_images):
    x = mnist_images[0][:128]
    model = _factor_vae(discriminator_learning_rate=0.0 if frozen == "discriminator" else 1e-3)
    model.compile(optimizer=keras.optimizers.Adam(0.0 if frozen == "vae" else 1e-3))
    vae_before = _weights_of(model.encoder) + _weights_of(model.decoder)
    discriminator_before = _weights_of(model.discriminator)
    model.fit(x, batch_size=32, epochs=1, verbose=0)
    vae_after = _weights_of(model.encoder) + _weights_of(model.decoder)
    discriminator_after = _weights_of(model.discriminator)
    vae_moved = any(not np.array_equal(a, b) for a, b in zip(vae_before, vae_after, strict=True))
    discriminator_moved = any(
        not np.array_equal(a, b)
        for a, b in zip(discriminator_before, discriminator_after, strict=True)
    )
    assert (vae_moved, discriminator_moved) == (frozen != "vae", frozen != "discriminator")
    assert int(model.discriminator_optimizer.iterations.numpy()) == 4


def test_factor_vae_round_trip_restores_the_discriminator_and_both_optimizers(
    mnist_images, tmp_path
):
    x = mnist_images[0][:128]
    model = _factor_vae(gamma=20.0, discriminator_learning_rate=3e-4)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = model.fit(x, batch_size=32, epochs=1, verbose=0)
    assert set(history.history) == set(model.term_names)
    # The main optimizer holds no slots for the discriminator.
    reference = keras.optimizers.Adam(1e-3)
    reference.build(model.encoder.trainable_variables + model.decoder.trainable_variables)
    assert len(model.optimizer.variables) == len(reference.variables)

    model.save(tmp_path / "factor.keras")
    reloaded = keras.saving.load_model(tmp_path / "factor.keras")
    assert reloaded.get_config() == model.get_config()
    for mine, theirs in [
        (model.discriminator.weights, reloaded.discriminator.weights),
        (model.optimizer.variables, reloaded.optimizer.variables),
        (model.discriminator_optimizer.variables, reloaded.discriminator_optimizer.variables),
    ]:
        assert len(mine) == len(theirs)
        for want, got in zip(mine, theirs, strict=True):
            np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert int(reloaded.optimizer.iterations.numpy()) == 4
    assert int(reloaded.discriminator_optimizer.iterations.numpy()) == 4
    assert float(reloaded.discriminator_optimizer.learning_rate.numpy()) == pytest.approx(3e-4)


def test_factor_vae_rejects_an_empty_discriminator():
    with pytest.raises(ValueError, match="discriminator_layers"):
        keras_ae.FactorVAE(**SMALL, discriminator_layers=0)


def test_a_factor_vae_preset_holds_no_optimizer_moments(mnist_images, tmp_path):
    import h5py

    x = mnist_images[0][:128]
    model = _factor_vae()
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.fit(x, batch_size=64, epochs=1, verbose=0)
    directory = keras_ae.save_preset(model, tmp_path / "factor_vae")
    # The discriminator's Adam is saved unbuilt: its step count and learning rate (scalars),
    # none of its moments (which would double the discriminator's 5 million numbers). Both are
    # training-only, kept in training.weights.h5.
    shapes = {}
    for name in ("model.weights.h5", "training.weights.h5"):
        with h5py.File(directory / name) as weights:
            weights.visititems(
                lambda key, item, name=name: (
                    shapes.update({f"{name}/{key}": item.shape})
                    if isinstance(item, h5py.Dataset)
                    else None
                )
            )
    assert not [key for key in shapes if key.startswith("model.weights.h5/discriminator")]
    optimizer_shapes = [shape for key, shape in shapes.items() if "optimizer" in key]
    assert optimizer_shapes and all(shape == () for shape in optimizer_shapes)
    loaded = keras_ae.load(directory)
    np.testing.assert_array_equal(loaded.encode(x), model.encode(x))
    loaded.fit(x, batch_size=64, epochs=1, verbose=0)  # both optimizers build and train
    assert int(loaded.discriminator_optimizer.iterations.numpy()) == 2
