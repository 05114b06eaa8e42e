"""Building a model without allocating its variables, to learn how much memory it would take.

``variable_bytes(build)`` runs ``build`` in a ``keras.StatelessScope`` that defers every
variable's initial value, and sums the sizes. The scope keeps its deferred variables in Keras'
global state, which is private API; it is used here alone, behind these two functions.
"""

import contextlib
from collections.abc import Callable, Iterator, Sequence

import keras
import numpy as np
from keras.src.backend.common import global_state

_SCOPE = "stateless_scope"
_DEFERRED = "uninitialized_variables"


def variable_bytes(build: Callable[[], keras.Model], leave_out: Sequence[str] = ()) -> int:
    """The bytes of the variables of ``build()``'s model, none of them allocated, without those
    of the model's attributes named in ``leave_out``."""
    # A later scope would initialise (allocate) the deferred variables; the queue is put back.
    queued = list(global_state.get_global_attribute(_DEFERRED, []) or [])
    try:
        with keras.StatelessScope(initialize_variables=False):
            model = build()
            left_out = {
                id(variable) for name in leave_out for variable in getattr(model, name).variables
            }
            return sum(
                int(np.prod(variable.shape, dtype=np.int64))
                * np.dtype(keras.backend.standardize_dtype(variable.dtype)).itemsize
                for variable in model.weights
                if id(variable) not in left_out
            )
    finally:
        global_state.set_global_attribute(_DEFERRED, queued)


@contextlib.contextmanager
def allocated_even_when_sizing() -> Iterator[None]:
    """Creates what is built inside it outside any ``StatelessScope``: a Keras optimizer's step
    counter cannot be deferred, so a model that makes its own optimizer in ``__init__`` makes
    it here (a few bytes) while ``variable_bytes`` sizes the model."""
    scope = global_state.get_global_attribute(_SCOPE)
    global_state.set_global_attribute(_SCOPE, None)
    try:
        yield
    finally:
        global_state.set_global_attribute(_SCOPE, scope)
