"""The Autoencoder base class: networks, the one train/test step, encode/decode/reconstruct.

Subclasses override ``loss_terms`` (and, where the embedding is not the raw code,
``embedding``; where a second network trains alongside or in a later stage, the ``stages``
table); everything else, including the gradient steps, the divergence check, metric tracking,
input checks and batched inference, lives here once.
"""

import contextlib
from collections.abc import Callable, Sequence

import keras
import numpy as np
import tensorflow as tf

from keras_ae import divergence, losses
from keras_ae.arrays import compiled, map_batches
from keras_ae.data_checks import (
    BatchChecker,
    DataError,
    check_count,
    check_seed,
    check_shape,
    checked_array,
    is_generator,
    validated_array,
    wrap_for_checks,
)
from keras_ae.models.registry import check_model_arguments, register_model
from keras_ae.models.stages import MAIN, Objective, Stage
from keras_ae.networks import build_decoder, build_encoder

LIKELIHOODS = ("bernoulli", "gaussian", "squared_error")
# Prefix of the in-graph data checks' messages, so that `fit` can tell them from other errors.
_DATA_ERROR = "keras_ae data check: "
#: The linear-probe metrics (``keras_ae.evaluation.probes``): the embedding against raw pixels.
LINEAR_PROBES = ("probe.embedding.logistic", "probe.pixels.logistic")
# The key of the noise generator's state among the model's own saved variables.
_NOISE_STATE = "noise_state"


def _as_tuple(shape) -> tuple[int, ...] | None:
    return None if shape is None else tuple(int(d) for d in shape)


@register_model(
    title="autoencoder",
    loss_summary="reconstruction NLL",
    headline_metrics=(
        "pca.squared_error",
        "corrupted_input.squared_error",
        *LINEAR_PROBES,
    ),
)
@keras.saving.register_keras_serializable(package="keras_ae")
class Autoencoder(keras.Model):
    """A plain autoencoder, and the base of every model in keras-ae.

    Build it from a built-in network::

        Autoencoder(input_shape=(28, 28, 1), latent_dim=30, architecture="mlp",
                    hidden_units=(1000, 500, 250))

    or from your own Keras models (``encoder: x -> code``, ``decoder: code -> logits/means``)::

        Autoencoder(encoder=my_encoder, decoder=my_decoder)

    The loss is the reconstruction negative log-likelihood in nats per example: summed over
    pixels, averaged over the batch. ``likelihood`` is ``"bernoulli"`` (the decoder outputs
    logits; data in [0, 1]), ``"gaussian"`` (the decoder outputs means; fixed ``sigma``) or
    ``"squared_error"`` (the plain sum of squared errors).

    ``fit(x)`` takes the data alone, since the target is ``x``: ``fit(x, y)`` is refused (labels
    in a ``tf.data`` pipeline's ``(x, y)`` elements are ignored).

    ``fit`` stops at the first step whose loss terms or weights become NaN or infinite, puts
    back the weights and optimizer state from before that step and raises
    ``keras_ae.DivergenceError`` (``compile(..., stop_on_divergence=False)`` turns that off;
    under a ``tf.distribute`` strategy the check does not run).
    """

    #: The terms ``loss_terms`` returns, each reported as a metric by ``fit``/``evaluate``. The
    #: first step refuses a mismatch (a term returned but not listed, or listed but not
    #: returned) with an error naming both sides, so no term goes unreported.
    term_names: tuple[str, ...] = ("loss", "reconstruction")
    #: How the model trains (``keras_ae.models.stages``): each stage with its fit and evaluate
    #: methods, its step counter, its terms and the objectives a step minimises (term,
    #: optimizer, variables). One stage, ``"loss"`` by the compiled optimizer, by default.
    stages: tuple[Stage, ...] = (Stage("autoencoder"),)
    #: Whether the encoder has a mean and a log-variance head (the VAE family).
    gaussian_encoder = False
    #: Attributes that only training uses (networks, their optimizers): ``encode``, ``decode``,
    #: ``reconstruct`` and ``sample`` never read them, so a preset keeps their weights apart, in
    #: an optional ``training.weights.h5`` (``keras_ae.zoo.weights_files``).
    training_only_attributes: tuple[str, ...] = ()
    #: A loaded preset's records (``keras_ae.zoo.PresetInfo``: metrics, recipe, card), set by
    #: ``keras_ae.load``; None for a model built or loaded otherwise.
    preset = None

    def __new__(cls, *args, **kwargs):
        # Every class refuses an argument it does not take in the same way, before any of its
        # constructors runs (a class that sets a base's argument itself would otherwise drop
        # it silently, or fail with "multiple values").
        check_model_arguments(cls, kwargs)
        return super().__new__(cls, *args, **kwargs)

    def __init__(
        self,
        input_shape: Sequence[int] | None = None,
        latent_dim: int | None = None,
        *,
        architecture: str = "mlp",
        hidden_units: Sequence[int] = (512,),
        activation: str = "relu",
        code_activation: str | None = None,
        likelihood: str = "bernoulli",
        sigma: float = 1.0,
        encoder: keras.Model | None = None,
        decoder: keras.Model | None = None,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"Unknown likelihood {likelihood!r}; expected one of {LIKELIHOODS}.")
        self.likelihood = likelihood
        self.sigma = float(sigma)
        self.architecture = architecture
        self.hidden_units = tuple(int(u) for u in hidden_units)
        self.activation = activation
        self.code_activation = code_activation
        self.seed = seed
        self._custom_networks = encoder is not None
        if (encoder is None) != (decoder is None):
            raise ValueError("Pass both `encoder` and `decoder`, or neither.")
        if encoder is None:
            if input_shape is None or latent_dim is None:
                raise ValueError(
                    "Give `input_shape` and `latent_dim` to use a built-in architecture, "
                    "or pass your own `encoder=` and `decoder=` Keras models."
                )
            encoder = build_encoder(
                architecture,
                input_shape,
                latent_dim,
                hidden_units=self.hidden_units,
                activation=activation,
                code_activation=code_activation,
                gaussian=self.gaussian_encoder,
            )
            decoder = build_decoder(
                architecture,
                input_shape,
                latent_dim,
                hidden_units=self.hidden_units,
                activation=activation,
            )
        self.encoder = encoder
        self.decoder = decoder
        self.data_shape = _as_tuple(encoder.input_shape[1:])
        self.latent_dim = int(decoder.input_shape[-1])
        self._check_networks(input_shape, latent_dim)
        self.seed_generator = keras.random.SeedGenerator(seed)
        # Optimizer steps taken by `fit`; schedules (k-sparse k, capacity C) read it, and it is
        # saved with the weights so that resumed training continues them.
        self.trained_steps = self.add_weight(
            shape=(),
            dtype="int64",
            initializer="zeros",
            trainable=False,
            name="trained_steps",
            aggregation="only_first_replica",
        )
        tracked = dict.fromkeys(name for stage in self.stages for name in self.stage_terms(stage))
        self.trackers = {name: keras.metrics.Mean(name=name) for name in tracked}
        self._stage = self.stages[0].name
        self.stop_on_divergence = True
        self._inference_functions: dict[str, Callable] = {}
        self.built = True

    # ----------------------------------------------------------------- construction and config
    def _check_networks(self, input_shape, latent_dim) -> None:
        if input_shape is not None and _as_tuple(input_shape) != self.data_shape:
            raise ValueError(
                f"input_shape={tuple(input_shape)} does not match the encoder's input shape "
                f"{self.data_shape}."
            )
        if latent_dim is not None and int(latent_dim) != self.latent_dim:
            raise ValueError(
                f"latent_dim={latent_dim} does not match the decoder's input size "
                f"{self.latent_dim}."
            )
        output_shape = _as_tuple(self.decoder.output_shape[1:])
        if output_shape != self.data_shape:
            raise ValueError(
                f"The decoder's output shape {output_shape} must equal the encoder's input "
                f"shape {self.data_shape}."
            )

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            input_shape=list(self.data_shape),
            latent_dim=self.latent_dim,
            architecture=self.architecture,
            hidden_units=list(self.hidden_units),
            activation=self.activation,
            code_activation=self.code_activation,
            likelihood=self.likelihood,
            sigma=self.sigma,
            seed=self.seed,
        )
        if self._custom_networks:
            config["encoder"] = keras.saving.serialize_keras_object(self.encoder)
            config["decoder"] = keras.saving.serialize_keras_object(self.decoder)
        return config

    # Keras saves a model's variables but not its SeedGenerator's state, so a reloaded model
    # would draw its training noise (VAE samples, corruption) from the start again; saved with
    # the weights, resumed training draws exactly what an uninterrupted run would have drawn.
    def save_own_variables(self, store) -> None:
        super().save_own_variables(store)
        store[_NOISE_STATE] = self.seed_generator.state.numpy()

    def load_own_variables(self, store) -> None:
        own = self._trainable_variables + self._non_trainable_variables
        numbered = [key for key in store.keys() if key != _NOISE_STATE]
        if len(numbered) != len(own):
            raise ValueError(
                f"{type(self).__name__} expected {len(own)} variables of its own, but the "
                f"weights file holds {len(numbered)}."
            )
        for index, variable in enumerate(own):
            variable.assign(store[str(index)])
        # Files written before the state was saved lack it; the generator then starts afresh.
        if _NOISE_STATE in store.keys():
            self.seed_generator.state.assign(store[_NOISE_STATE])

    def compile_from_config(self, config: dict) -> None:
        """Keras' ``compile_from_config``, but with the optimizer built on
        ``main_trainable_variables``, as ``train_step`` applies it, so that its saved state loads.
        """
        self.compile(**keras.saving.deserialize_keras_object(config))
        if self.optimizer is not None:
            self.build_optimizers()

    def build_optimizers(self) -> None:
        """Builds each optimizer of the ``stages`` table on the variables it trains (the
        compiled one on ``main_trainable_variables``), those not built yet.

        Done before training and before a saved training state is loaded, never at
        construction: a model that has not trained (a preset's copy) then carries no optimizer
        state into its weights file.
        """
        with self.distribute_strategy.scope():
            for stage in self.stages:
                for _, optimizer, variables in self.objectives(stage):
                    if optimizer is not None and not optimizer.built:
                        optimizer.build(variables)

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        for key in ("encoder", "decoder"):
            if isinstance(config.get(key), dict):
                config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)

    # --------------------------------------------------------------------------- the losses
    def reconstruction_nll(self, x: tf.Tensor, decoder_output: tf.Tensor) -> tf.Tensor:
        """The reconstruction term per example, ``(batch,)`` nats (or squared units)."""
        if self.likelihood == "bernoulli":
            return losses.bernoulli_nll(x, decoder_output)
        if self.likelihood == "gaussian":
            return losses.gaussian_nll(x, decoder_output, self.sigma)
        return losses.squared_error(x, decoder_output)

    def reconstruction_terms(self, x: tf.Tensor, code: tf.Tensor, training: bool) -> dict:
        """``{"loss", "reconstruction"}`` for decoding ``code`` back to ``x``, batch means."""
        reconstruction = tf.reduce_mean(
            self.reconstruction_nll(x, self.decoder(code, training=training))
        )
        return {"loss": reconstruction, "reconstruction": reconstruction}

    def loss_terms(self, x: tf.Tensor, training: bool = False) -> dict:
        """Every scalar term of the loss (batch means), keyed by ``term_names``.

        ``"loss"`` is the one that is minimised. Subclasses override this, and only this, to add
        their own terms.
        """
        return self.reconstruction_terms(x, self.encoder(x, training=training), training)

    # --------------------------------------------------------------------- train / test steps
    @property
    def metrics(self) -> list:
        return list(self.trackers.values())

    def _prepare_batch(self, data) -> tf.Tensor:
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        self.check_input_shape(x.shape)
        x = tf.cast(x, self.compute_dtype)
        checks = [tf.debugging.assert_all_finite(x, _DATA_ERROR + "the data holds NaN or Inf.")]
        if self.likelihood == "bernoulli":
            message = _DATA_ERROR + "a Bernoulli likelihood needs data in [0, 1]."
            in_range = tf.reduce_all((x >= 0.0) & (x <= 1.0))
            checks.append(tf.debugging.Assert(in_range, [tf.constant(message)]))
        # The loss depends on x through these checks, so a bad batch stops the step before the
        # optimizer touches any weight.
        with tf.control_dependencies(checks):
            return tf.identity(x)

    def check_terms(self, terms) -> None:
        """Raises ``ValueError`` unless ``terms`` (the keys ``loss_terms`` returned) are exactly
        the terms of one of the ``stages`` (``term_names`` for a stage that lists none).

        Run by the training and test steps as they are traced, so a misspelt or unlisted term
        stops the first step instead of vanishing from the metrics."""
        returned = list(terms)
        listed_by = {
            (f"stage {stage.name!r}'s terms" if stage.terms else "term_names"): self.stage_terms(
                stage
            )
            for stage in self.stages
        }
        if any(set(returned) == set(names) for names in listed_by.values()):
            return
        # Compared with the stage it overlaps most.
        where, listed = max(listed_by.items(), key=lambda item: len(set(item[1]) & set(returned)))
        cls = type(self).__name__
        unlisted = [name for name in returned if name not in listed]
        missing = [name for name in listed if name not in returned]
        problems = []
        if unlisted:
            problems.append(f"{unlisted} returned but not listed")
        if missing:
            problems.append(f"{missing} listed but not returned")
        raise ValueError(
            f"{cls}.loss_terms returned {returned}, but {cls}'s {where} are {list(listed)}: "
            f"{' and '.join(problems)}. Fix the spelling on one side, or list in {where} "
            "every term loss_terms (or latent_regulariser) returns: only listed terms are "
            "reported as metrics."
        )

    def _track(self, terms: dict) -> dict:
        self.check_terms(terms)
        # A model that trains in stages (VQVAE's prior) reports only the terms of the stage.
        tracked = [name for name in self.trackers if name in terms]
        for name in tracked:
            self.trackers[name].update_state(terms[name])
        return {name: self.trackers[name].result() for name in tracked}

    # ------------------------------------------------------------------ the training stages
    @classmethod
    def stage_terms(cls, stage: Stage) -> tuple[str, ...]:
        """The terms ``loss_terms`` returns in ``stage``."""
        return stage.terms if stage.terms is not None else cls.term_names

    @property
    def stage(self) -> Stage:
        """The stage the model trains and evaluates in now (the first, but while a later
        stage's ``fit``/``evaluate`` method runs)."""
        return self.stage_named(self._stage)

    def stage_named(self, name: str) -> Stage:
        """The entry of ``stages`` called ``name``; a ``ValueError`` lists the names."""
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise ValueError(
            f"{type(self).__name__} has no training stage {name!r}; its stages are "
            f"{[stage.name for stage in self.stages]}."
        )

    def _objective_variables(self, objective: Objective) -> list:
        if objective.variables is MAIN:
            return self.main_trainable_variables
        return list(getattr(self, objective.variables).trainable_variables)

    def objectives(self, stage: Stage | None = None) -> list[tuple[str, object, list]]:
        """What one ``train_step`` of ``stage`` (default: the current one) minimises:
        ``(term, optimizer, variables)`` entries, resolved from the ``stages`` table."""
        stage = self.stage if stage is None else stage
        return [
            (
                objective.term,
                getattr(self, objective.optimizer, None),
                self._objective_variables(objective),
            )
            for objective in stage.objectives
        ]

    @property
    def step_counter(self) -> keras.Variable:
        """The variable that counts the current stage's optimizer steps."""
        return getattr(self, self.stage.counter)

    @property
    def main_trainable_variables(self) -> list:
        """The trainable variables that no objective names a network for (``"loss"`` trains
        them with the compiled optimizer): all but auxiliary networks' and later stages'."""
        named = {
            id(variable)
            for stage in self.stages
            for objective in stage.objectives
            if objective.variables is not MAIN
            for variable in self._objective_variables(objective)
        }
        return [v for v in self.trainable_variables if id(v) not in named]

    @contextlib.contextmanager
    def in_stage(self, name: str):
        """Within it, ``fit`` and ``evaluate`` train and score the stage ``name``."""
        previous = self._stage
        self._set_stage(self.stage_named(name).name)
        try:
            yield
        finally:
            self._set_stage(previous)

    def _set_stage(self, name: str) -> None:
        if name != self._stage:
            self._stage = name
            # The compiled steps were traced for the other stage's objectives.
            self.train_function = self.test_function = None

    def fit_stage(self, name: str, x=None, y=None, *args, **kwargs):
        """``fit`` of the stage ``name`` (a later stage's own fit method calls this)."""
        with self.in_stage(name):
            return self.fit(x, y, *args, **kwargs)

    def evaluate_stage(self, name: str, x=None, y=None, *args, **kwargs):
        """``evaluate`` of the stage ``name``: its terms on ``x``."""
        with self.in_stage(name):
            return self.evaluate(x, y, *args, **kwargs)

    # --------------------------------------------------------------------- train / test steps
    def _guarded_variables(self) -> list:
        """What a diverging step puts back: the model's variables (weights, step counters, the
        noise generator's state) and the current stage's optimizers' variables."""
        variables = list(self.variables)
        seen = {id(variable) for variable in variables}
        for _, optimizer, _ in self.objectives():
            for variable in optimizer.variables:
                if id(variable) not in seen:
                    seen.add(id(variable))
                    variables.append(variable)
        return variables

    def train_step(self, data):
        x = self._prepare_batch(data)
        objectives = self.objectives()
        # Under a tf.distribute strategy, putting the weights back would be a synchronisation
        # inside control flow, which TensorFlow does not support: the check is off there.
        checking = self.stop_on_divergence and not tf.distribute.has_strategy()
        if checking:
            guarded = self._guarded_variables()
            saved = divergence.snapshot(guarded)
        # Every gradient is taken at the weights the terms were computed with; only then is any
        # applied, so no objective sees another's update within a step.
        with tf.GradientTape(persistent=len(objectives) > 1) as tape:
            terms = self.loss_terms(x, training=True)
            # Each replica holds a share of the global batch and the optimizer sums the
            # replicas' gradients, so dividing by the replica count gives the global batch mean.
            replicas = tf.distribute.get_strategy().num_replicas_in_sync
            scaled = [terms[name] / replicas for name, _, _ in objectives]
        gradients = [
            tape.gradient(scaled_term, variables)
            for scaled_term, (_, _, variables) in zip(scaled, objectives, strict=True)
        ]
        for (_, optimizer, variables), term_gradients in zip(objectives, gradients, strict=True):
            optimizer.apply_gradients(zip(term_gradients, variables, strict=True))
        # Counted only once the step's checks passed and its loss exists.
        with tf.control_dependencies([scaled[0]]):
            self.step_counter.assign_add(1)
        if checking:
            # The tracked metrics wait for the check, so a bad step's terms are not averaged in.
            check = divergence.restore_or_stop(
                terms, self.variables, guarded, saved, self.step_counter.value, self.stage.name
            )
            with tf.control_dependencies([check]):
                terms = {name: tf.identity(value) for name, value in terms.items()}
        return self._track(terms)

    def test_step(self, data):
        return self._track(self.loss_terms(self._prepare_batch(data), training=False))

    # ------------------------------------------------------------------ input checks for fit
    @property
    def needs_unit_range(self) -> bool:
        """Whether data must lie in [0, 1] (a Bernoulli likelihood)."""
        return self.likelihood == "bernoulli"

    def check_input_shape(self, shape) -> None:
        """Raises ``DataError`` unless ``shape`` is ``(batch, *data_shape)``."""
        check_shape(shape, self.data_shape, "inputs", batch="batch")

    def check_array(self, x, what: str = "x") -> None:
        """Refuses, before any training starts, an ``x`` that is not a non-empty array of numbers
        of shape ``(n, *data_shape)``, holds NaN/Inf or, with a Bernoulli likelihood, values
        outside [0, 1]."""
        validated_array(
            x, what, self.data_shape, self.needs_unit_range, allow_empty=False, batch="batch"
        )

    def _check_data_argument(self, data, what: str) -> None:
        if isinstance(data, tf.data.Dataset):
            spec = data.element_spec
            self.check_input_shape((spec[0] if isinstance(spec, tuple) else spec).shape)
        elif isinstance(data, tuple) and data:
            self._check_data_argument(data[0], what)
        elif not isinstance(data, keras.utils.PyDataset) and not is_generator(data):
            self.check_array(data, what)
        # Generators and PyDatasets are checked batch by batch as they are read (BatchChecker),
        # tf.data pipelines in the training step.

    def _run_checked(self, run: Callable, x, validation_data=None):
        """``run(data)``, ``data`` being ``x`` checked whole, or, for a generator or
        ``PyDataset``, wrapped to be checked batch by batch; a refusal becomes a ``DataError``."""
        self._check_data_argument(x, "x")
        if validation_data is not None:
            self._check_data_argument(validation_data, "validation_data")
        checker = BatchChecker(self.data_shape, self.needs_unit_range)
        try:
            return run(wrap_for_checks(x, checker))
        except tf.errors.OpError as error:
            if checker.failure is not None:
                # The generator's own refusal or exception, not tf.data's rewording of it.
                raise checker.failure from None
            optimizers = {
                objective.optimizer: getattr(self, objective.optimizer)
                for objective in self.stage.objectives
            }
            diverged = divergence.error_from(error, optimizers)
            if diverged is not None:
                raise diverged from None
            if not isinstance(error, tf.errors.InvalidArgumentError) or (
                _DATA_ERROR not in error.message
            ):
                raise
            # Each check's message is one sentence; TensorFlow appends its own text after it.
            rest = error.message.split(_DATA_ERROR, 1)[1]
            reason = rest[: rest.index(".") + 1]
            raise DataError(
                f"Bad batch: {reason} Training stopped at that batch; the weights were not "
                "updated with it."
            ) from None

    @staticmethod
    def _refuse_targets(y, method: str) -> None:
        if y is not None:
            raise DataError(
                f"{method}(x, y): an autoencoder's target is its input, so {method} takes the "
                f"images alone; drop y. Labels serve downstream tasks "
                "(keras_ae.evaluation.classification_probes)."
            )

    def compile(self, *args, stop_on_divergence: bool = True, **kwargs) -> None:
        """``keras.Model.compile``; ``stop_on_divergence=False`` lets ``fit`` go on through
        NaN or infinite losses and weights instead of stopping (see the class docstring).

        It is a compile argument, not a constructor one, because it is a choice about one
        training run, like ``steps_per_execution``: it stays out of the model's config (and
        the recipes' fingerprints), and a ``.keras`` file keeps it with the optimizer."""
        if not isinstance(stop_on_divergence, bool):
            raise TypeError(
                f"stop_on_divergence must be True or False, got {stop_on_divergence!r}."
            )
        super().compile(*args, **kwargs)
        self.stop_on_divergence = stop_on_divergence
        # The compiled step is traced with or without the check.
        self.train_function = None

    def get_compile_config(self) -> dict:
        config = super().get_compile_config()
        if config and not self.stop_on_divergence:
            config["stop_on_divergence"] = False
        return config

    def fit(self, x=None, y=None, *args, **kwargs):
        """``keras.Model.fit``, with the data checked first (see ``check_array``); ``y`` is
        refused, since the target is ``x``. Stops with ``DivergenceError`` at a step that
        makes a loss term or a weight NaN or infinite, with the weights and optimizer state
        from before that step put back."""
        self._refuse_targets(y, "fit")
        validation = kwargs.get("validation_data")
        # Keras would build the main optimizer on every trainable variable; built here on the
        # main ones, it holds no slots for auxiliary networks or a later stage's.
        if getattr(self, "optimizer", None) is not None:
            self.build_optimizers()
        return self._run_checked(
            lambda data: super(Autoencoder, self).fit(data, y, *args, **kwargs), x, validation
        )

    def evaluate(self, x=None, y=None, *args, **kwargs):
        """``keras.Model.evaluate``, with the data checked first; ``y`` is refused."""
        self._refuse_targets(y, "evaluate")
        return self._run_checked(
            lambda data: super(Autoencoder, self).evaluate(data, y, *args, **kwargs), x
        )

    # ---------------------------------------------------------------------------- inference
    def call(self, x, training=False):
        """Reconstructions as pixel values (probabilities for a Bernoulli likelihood)."""
        return self.output_to_pixels(self.decoder(self.embedding(x), training=training))

    def embedding(self, x: tf.Tensor) -> tf.Tensor:
        """The deterministic code of a batch, ``(batch, latent_dim)``."""
        return self.encoder(x, training=False)

    def output_to_pixels(self, decoder_output: tf.Tensor) -> tf.Tensor:
        """Decoder logits -> probabilities (Bernoulli); means pass through."""
        if self.likelihood == "bernoulli":
            return tf.sigmoid(decoder_output)
        return decoder_output

    def _compiled(self, name: str, function: Callable) -> Callable:
        """``function`` as a ``tf.function``, compiled once per model and kept under ``name``."""
        if name not in self._inference_functions:
            self._inference_functions[name] = compiled(function, reduce_retracing=True)
        return self._inference_functions[name]

    def checked_data(self, x) -> np.ndarray:
        """``x`` checked as data for this model (``data_checks.checked_array``: numbers of
        shape ``(n, *data_shape)``, finite, in [0, 1] for a Bernoulli likelihood), float32."""
        return checked_array(x, "x", self.data_shape, self.needs_unit_range)

    def _batched(self, name: str, function: Callable, x, batch_size: int, codes: bool = False):
        """Runs the compiled ``function`` over ``x`` in batches; numpy or tensors in, numpy out.

        ``x`` is checked first: data (``checked_data``), or with ``codes`` finite codes ``z``
        ``(n, latent_dim)``. An empty ``x`` gives empty outputs."""
        if codes:
            x = checked_array(x, "z", (self.latent_dim,))
        else:
            x = self.checked_data(x)
        return map_batches(self._compiled(name, function), x, batch_size)

    @staticmethod
    def sampling_rng(n, seed) -> tuple[int, np.random.Generator]:
        """``n`` (checked: a non-negative int) and a generator seeded by ``seed`` (``None`` or a
        non-negative int), for the models' ``sample``."""
        return check_count(n), np.random.default_rng(check_seed(seed))

    def encode(self, x, batch_size: int = 256) -> np.ndarray:
        """Embeds ``x`` ``(n, *data_shape)`` into ``(n, latent_dim)`` (deterministic)."""
        return self._batched("encode", self.embedding, x, batch_size)

    def decode(self, z, batch_size: int = 256) -> np.ndarray:
        """Decodes ``z`` ``(n, latent_dim)`` into pixel values ``(n, *data_shape)``, not logits."""
        return self._batched(
            "decode",
            lambda codes: self.output_to_pixels(self.decoder(codes, training=False)),
            z,
            batch_size,
            codes=True,
        )

    def reconstruct(self, x, batch_size: int = 256) -> np.ndarray:
        """``decode(encode(x))`` in one pass: ``(n, *data_shape)`` pixel values."""
        return self._batched("reconstruct", self.call, x, batch_size)
