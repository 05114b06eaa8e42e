"""Training stages, declared once per model class (``Autoencoder.stages``).

A stage is one way of training the model: its ``fit`` and ``evaluate`` methods, the variable
that counts its optimizer steps, the terms ``loss_terms`` returns in it and the objectives one
step minimises. The base class derives from the table which variables the compiled optimizer
trains, which optimizers to build and which counter a step increments; ``keras_ae.zoo.train``
trains the stages in order, so a new multi-stage model needs no edit outside its class.
"""

import dataclasses

#: ``Objective.variables`` for "every trainable variable no other objective claims".
MAIN = None


@dataclasses.dataclass(frozen=True)
class Objective:
    """One term minimised in a step.

    ``term``: the key of ``loss_terms``'s result; ``optimizer``: the name of the model attribute
    holding its optimizer (``"optimizer"``, the compiled one, or one the model makes itself);
    ``variables``: the name of the model attribute (a network) whose trainable variables the
    term trains, or ``MAIN`` (None) for all those no objective of any stage names."""

    term: str
    optimizer: str = "optimizer"
    variables: str | None = MAIN


@dataclasses.dataclass(frozen=True)
class Stage:
    """One training stage of a model class.

    ``name``: the stage's name (``model.stage`` while it trains); ``fit_method`` and
    ``evaluate_method``: the model's methods that train and score it; ``counter``: the name of
    the model's int64 variable counting its optimizer steps (saved with the weights);
    ``objectives``: what one step minimises, in order; ``terms``: the terms ``loss_terms``
    returns in this stage, or None for the class's ``term_names``; ``steps_field``: the recipe's
    ``training`` field giving a later stage's length (the first stage's is ``steps``/``epochs``)."""

    name: str
    fit_method: str = "fit"
    evaluate_method: str = "evaluate"
    counter: str = "trained_steps"
    objectives: tuple[Objective, ...] = (Objective("loss"),)
    terms: tuple[str, ...] | None = None
    steps_field: str | None = None

    @property
    def objective(self) -> str:
        """The stage's first term: the one scored on validation data and reported."""
        return self.objectives[0].term

    @property
    def step_key(self) -> str:
        """The key of its step count in a training history (``step``, ``prior_step``)."""
        return "step" if self.counter == "trained_steps" else f"{self.name}_step"
