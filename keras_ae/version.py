"""keras_ae's version, in a module of its own so that code can read it without importing the
package (which imports Keras and TensorFlow)."""

__version__ = "0.1.0"
