"""The hand-made baseline representations."""

import numpy as np
import pytest

from keras_ae.evaluation.baselines import image_moments


def test_image_moments_of_a_rectangle():
    image = np.zeros((1, 16, 16, 1))
    image[0, 2:6, 4:12] = 1.0  # rows 2-5, columns 4-11
    centre_x, centre_y, mass, mu_xx, mu_yy, mu_xy = image_moments(image)[0]
    assert (centre_x, centre_y, mass) == (7.5, 3.5, 32.0)
    # The variance of 8 consecutive integers is (8^2 - 1) / 12, of 4 is (4^2 - 1) / 12.
    np.testing.assert_allclose([mu_xx, mu_yy, mu_xy], [63 / 12, 15 / 12, 0.0], atol=1e-12)


def test_image_moments_of_a_diagonal_and_an_empty_image():
    images = np.zeros((2, 8, 8))
    images[0][np.arange(8), np.arange(8)] = 1.0
    moments = image_moments(images)
    assert moments[0, 5] > 0  # rows and columns grow together
    np.testing.assert_array_equal(moments[1], np.zeros(6))


def test_image_moments_refuses_colour_images():
    with pytest.raises(ValueError, match="grey images"):
        image_moments(np.zeros((2, 8, 8, 3)))
