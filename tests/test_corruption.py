"""The denoising corruptions: how much they change, and what they leave alone."""

import numpy as np
import pytest
import tensorflow as tf

from keras_ae import corruption

x = tf.constant(np.random.default_rng(0).uniform(0.2, 0.8, size=(6, 10, 10, 1)), tf.float32)


def test_masking_zeroes_an_exact_fraction_of_each_example():
    noisy = corruption.masking(x, 0.25, seed=1).numpy()
    zeroed = (noisy == 0).reshape(6, -1).sum(axis=1)
    np.testing.assert_array_equal(zeroed, 25)
    kept = noisy != 0
    np.testing.assert_array_equal(noisy[kept], x.numpy()[kept])


def test_masking_picks_different_pixels_per_example():
    zeroed = (corruption.masking(x, 0.5, seed=1).numpy() == 0).reshape(6, -1)
    assert len({row.tobytes() for row in zeroed}) == 6


def test_salt_and_pepper_sets_an_exact_fraction_to_the_extremes():
    noisy = corruption.salt_and_pepper(x, 0.3, seed=2).numpy().reshape(6, -1)
    extremes = (noisy == 0) | (noisy == 1)
    np.testing.assert_array_equal(extremes.sum(axis=1), 30)
    assert 0 < (noisy == 1).sum() < extremes.sum()


def test_gaussian_noise_has_the_requested_scale():
    big = tf.zeros((200, 28, 28, 1))
    noise = corruption.gaussian(big, 0.3, seed=3).numpy()
    assert noise.std() == pytest.approx(0.3, rel=0.02)
    assert abs(noise.mean()) < 0.01


def test_zero_level_is_the_identity():
    np.testing.assert_array_equal(corruption.masking(x, 0.0).numpy(), x.numpy())


def test_bad_levels_and_names_are_refused():
    with pytest.raises(ValueError, match=r"fraction in \[0, 1\]"):
        corruption.masking(x, 1.5)
    with pytest.raises(ValueError, match="expected one of"):
        corruption.corrupt(x, "blur", 0.1)
