"""Divergence: a training step whose loss or weights become NaN or infinite.

``Autoencoder.train_step`` keeps the values of the model's variables and of the stage's
optimizers from before each step (``snapshot``); when a loss term or a weight of the step comes
out NaN or infinite, it assigns them back and stops ``fit`` with an in-graph assertion
(``restore_or_stop``), which ``fit`` turns into a ``DivergenceError``. Nothing is saved: the
check holds no variable of its own, so presets and ``.keras`` files load as before.

The snapshot costs little: reading a variable shares its buffer, and TensorFlow copies a shared
buffer only when the step updates it (copy on write), a copy of each updated variable per step
(measured in ``benchmarks/training_bench.py``'s ``divergence_check_cost``).
"""

import math
import re
from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

# Marks the assertion's message, so that `fit` can tell it from other errors.
_MARKER = "keras_ae divergence: "


class DivergenceError(FloatingPointError):
    """A training step made a loss term or a weight NaN or infinite; the weights and optimizer
    state from before that step were put back.

    Attributes: ``step`` (the stage's optimizer step that went bad, counted from 1), ``stage``,
    ``terms`` (the loss terms that were NaN or infinite; empty when only a weight was) and
    ``learning_rates`` (each optimizer of the stage by name)."""

    def __init__(
        self,
        message: str,
        *,
        step: int | None = None,
        stage: str | None = None,
        terms: Sequence[str] = (),
        learning_rates: dict | None = None,
    ):
        super().__init__(message)
        self.step = step
        self.stage = stage
        self.terms = tuple(terms)
        self.learning_rates = dict(learning_rates or {})


ADVICE = (
    "Try a lower learning rate, gradient clipping (e.g. the optimizer's clipnorm=1.0), or check "
    "the data (its range and scale)."
)


def snapshot(variables: Sequence) -> list[tf.Tensor]:
    """The values of ``variables`` now, to be assigned back by ``restore_or_stop``."""
    return [tf.identity(_value(variable)) for variable in variables]


def _value(variable):
    return variable.value if isinstance(variable, keras.Variable) else variable


def _all_finite(tensors: Sequence) -> tf.Tensor:
    checks = [
        tf.reduce_all(tf.math.is_finite(tensor)) for tensor in tensors if tensor.dtype.is_floating
    ]
    return tf.reduce_all(tf.stack(checks)) if checks else tf.constant(True)


def restore_or_stop(
    terms: dict,
    weights: Sequence,
    variables: Sequence,
    saved: Sequence[tf.Tensor],
    step: tf.Tensor,
    stage: str,
):
    """After a step's updates: when a value of ``terms`` or of the floating ``weights`` (the
    model's variables) is not finite, assigns ``saved`` back to ``variables`` (the weights and
    the optimizers' state) and then fails the step with an ``InvalidArgumentError`` whose
    message ``error_from`` reads. Returns the check's op. (The optimizers' moments are not
    checked: they are not the model, and checking them would triple the check's reads.)"""
    step = tf.identity(step)
    names = list(terms)
    terms_finite = tf.stack([tf.reduce_all(tf.math.is_finite(terms[name])) for name in names])
    weights_finite = _all_finite([_value(weight) for weight in weights])
    healthy = tf.logical_and(tf.reduce_all(terms_finite), weights_finite)

    def restore():
        for variable, value in zip(variables, saved, strict=True):
            variable.assign(value)
        return tf.constant(False)

    restored = tf.cond(healthy, lambda: tf.constant(True), restore)
    bad_terms = tf.strings.reduce_join(
        tf.boolean_mask(tf.constant(names), tf.logical_not(terms_finite)), separator=","
    )
    # The counter is read before any restoring, so it names the step that went bad.
    message = tf.strings.format(
        _MARKER + "stage=" + stage + " step={} terms={} weights_finite={}",
        (step, bad_terms, tf.cast(weights_finite, tf.int32)),
    )
    with tf.control_dependencies([restored]):
        return tf.debugging.Assert(healthy, [message])


def error_from(exception: Exception, optimizers: dict) -> DivergenceError | None:
    """The ``DivergenceError`` that ``exception`` (a failed ``restore_or_stop`` check) stands
    for, or None when it is another error. ``optimizers`` maps names to the stage's
    optimizers, whose learning rates the message gives."""
    if not isinstance(exception, tf.errors.InvalidArgumentError):
        return None
    found = re.search(
        re.escape(_MARKER) + r"stage=(\S*) step=(\d+) terms=(.*?) weights_finite=(\d)",
        exception.message,
    )
    if found is None:
        return None
    # TensorFlow quotes the string tensor, and escapes the quotes in the error's message.
    stage, step, terms, weights_finite = (re.sub(r'[\\"]', "", part) for part in found.groups())
    step = int(step)
    terms = [name for name in terms.split(",") if name]
    rates = {name: learning_rate(optimizer) for name, optimizer in optimizers.items()}
    if terms:
        what = f"the loss term(s) {', '.join(terms)} became NaN or infinite"
        if weights_finite == "0":
            what += ", and so did a weight"
    else:
        what = "a weight became NaN or infinite"
    rate_text = ", ".join(f"{name} {rate:g}" for name, rate in rates.items())
    return DivergenceError(
        f"Training diverged at step {step} (stage {stage}): {what}. The weights and optimizer "
        "state from before that step were put back, and fit stopped. "
        f"Learning rate(s): {rate_text}. {ADVICE} "
        "(compile(stop_on_divergence=False) turns this check off.)",
        step=step,
        stage=stage,
        terms=terms,
        learning_rates=rates,
    )


def learning_rate(optimizer) -> float:
    """``optimizer``'s current learning rate (a schedule's value at its current step)."""
    try:
        return float(keras.ops.convert_to_numpy(optimizer.learning_rate))
    except (TypeError, ValueError):
        return math.nan


def check_finite_weights(model, what: str) -> None:
    """Raises ``DivergenceError`` when a weight of ``model`` is NaN or infinite: ``what`` (a
    metric) would be NaN or meaningless on it."""
    bad = [
        weight.path
        for weight in model.weights
        if np.issubdtype(np.dtype(weight.dtype), np.floating)
        and not np.isfinite(keras.ops.convert_to_numpy(weight)).all()
    ]
    if bad:
        shown = ", ".join(bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
        raise DivergenceError(
            f"{what} needs a model with finite weights, but {type(model).__name__} has NaN or "
            f"infinite values in {shown}: its training diverged, or the weights were damaged. "
            "Load the last good checkpoint or preset, and train again with a lower learning "
            "rate or gradient clipping."
        )
