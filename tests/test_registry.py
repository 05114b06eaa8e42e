"""The model registry (keras_ae.models.registry): every class registered with Keras, capabilities
inherited from the nearest registered base, model_info on anything, and what register_model
refuses."""

import re
from pathlib import Path

import keras
import numpy as np
import pytest
from keras.src.saving import object_registration

import keras_ae
from keras_ae.models import get_model_class, model_classes, model_info, register_model, registry


@pytest.fixture
def scratch_registry():
    """Whatever a test registers, with keras_ae or with Keras, is gone after it."""
    models = dict(registry._REGISTRY)
    keras_objects = dict(object_registration.GLOBAL_CUSTOM_OBJECTS)
    keras_names = dict(object_registration.GLOBAL_CUSTOM_NAMES)
    yield
    for store, saved in (
        (registry._REGISTRY, models),
        (object_registration.GLOBAL_CUSTOM_OBJECTS, keras_objects),
        (object_registration.GLOBAL_CUSTOM_NAMES, keras_names),
    ):
        store.clear()
        store.update(saved)


def _tiny(cls, **kwargs):
    return cls(input_shape=(6,), latent_dim=2, hidden_units=(4,), **kwargs)


@pytest.mark.parametrize("name", model_classes())
def test_every_model_class_is_registered_with_keras_under_keras_ae(name):
    cls = model_classes()[name]
    assert cls.__name__ == name
    assert keras.saving.get_registered_name(cls) == f"keras_ae>{name}"
    assert keras.saving.get_registered_object(f"keras_ae>{name}") is cls
    assert get_model_class(name) is cls and getattr(keras_ae, name) is cls
    assert model_info(name).cls is cls and model_info(name).name == name


def test_the_built_in_classes_capabilities():
    assert list(model_classes())[0] == "Autoencoder"
    assert not model_info("Autoencoder").has_posterior
    assert not model_info("DenoisingAutoencoder").can_sample
    for name in ("VAE", "BetaVAE", "CapacityVAE", "BetaTCVAE"):
        assert model_info(name).has_posterior and model_info(name).can_sample
    # BetaVAE gives only its example arguments: the rest is VAE's.
    assert model_info("BetaVAE").headline_metrics == model_info("VAE").headline_metrics
    assert dict(model_info("BetaVAE").example_arguments) == {"beta": 4.0}
    with pytest.raises(TypeError):
        model_info("BetaVAE").example_arguments["beta"] = 1.0  # read-only


def test_a_registered_subclass_inherits_and_can_override(scratch_registry):
    @register_model(headline_metrics=("kl.total",), likelihoods=["bernoulli"])
    @keras.saving.register_keras_serializable(package="keras_ae")
    class ScratchVAE(keras_ae.BetaVAE):
        pass

    info = model_info(ScratchVAE)
    beta = model_info(keras_ae.BetaVAE)
    assert info.cls is ScratchVAE and info.name == "ScratchVAE"
    # Inherited from BetaVAE (and through it from VAE).
    assert info.has_posterior and info.can_sample
    assert info.example_arguments == beta.example_arguments == {"beta": 4.0}
    # Overridden, and given as a list but stored as a tuple.
    assert info.headline_metrics == ("kl.total",) and info.likelihoods == ("bernoulli",)
    assert beta.headline_metrics == model_info("VAE").headline_metrics  # the base is untouched
    assert beta.likelihoods == ("bernoulli", "gaussian", "squared_error")
    assert model_classes()["ScratchVAE"] is ScratchVAE
    assert get_model_class("ScratchVAE") is ScratchVAE
    # Registered with Keras, so it round-trips through its config.
    model = _tiny(ScratchVAE, seed=0)
    copy = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(model))
    assert type(copy) is ScratchVAE


def test_a_subclass_of_a_registered_subclass_inherits_from_the_nearest(scratch_registry):
    @register_model(can_sample=True)
    @keras.saving.register_keras_serializable(package="keras_ae")
    class SamplingAutoencoder(keras_ae.Autoencoder):
        pass

    @register_model()
    @keras.saving.register_keras_serializable(package="keras_ae")
    class ScratchChild(SamplingAutoencoder):
        pass

    assert model_info(ScratchChild).can_sample
    assert not model_info(keras_ae.Autoencoder).can_sample


def test_model_info_on_an_instance_a_class_and_a_name():
    model = _tiny(keras_ae.VAE)
    info = model_info(keras_ae.VAE)
    assert model_info(model) is info and model_info("VAE") is info
    assert model_info(_tiny(keras_ae.Autoencoder)) is model_info("Autoencoder")


def test_an_unregistered_user_subclass_gets_its_nearest_registered_bases_info():
    class MyBetaVAE(keras_ae.BetaVAE):
        pass

    class MyOwnBetaVAE(MyBetaVAE):
        pass

    assert model_info(MyBetaVAE) is model_info("BetaVAE")
    assert model_info(MyOwnBetaVAE) is model_info("BetaVAE")  # BetaVAE's, not VAE's
    assert model_info(_tiny(MyOwnBetaVAE)) is model_info("BetaVAE")
    assert "MyBetaVAE" not in model_classes()


@pytest.mark.parametrize(
    "thing",
    [
        keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]),
        keras.Model,
        np.zeros(3),
        None,
    ],
    ids=["a keras model", "keras.Model", "an array", "None"],
)
def test_model_info_of_anything_else_is_a_type_error(thing):
    with pytest.raises(TypeError, match="is not a keras_ae model; expected an instance or"):
        model_info(thing)


def test_an_unknown_name_is_a_value_error_listing_the_names():
    with pytest.raises(ValueError, match="'Autoencodr' is not a keras_ae model") as error:
        get_model_class("Autoencodr")
    for name in model_classes():
        assert repr(name) in str(error.value)
    with pytest.raises(ValueError, match="expected one of"):
        model_info("Autoencodr")


def test_register_model_refuses_an_unknown_capability():
    with pytest.raises(TypeError, match=re.escape("Unknown capabilities ['can_fly']")):
        register_model(can_fly=True)


def test_register_model_refuses_a_class_keras_does_not_know(scratch_registry):
    class Unregistered(keras_ae.Autoencoder):
        pass

    with pytest.raises(TypeError, match="Register Unregistered with Keras first"):
        register_model()(Unregistered)

    @keras.saving.register_keras_serializable(package="my_package")
    class ElsewhereRegistered(keras_ae.Autoencoder):
        pass

    with pytest.raises(TypeError, match="Register ElsewhereRegistered with Keras first"):
        register_model()(ElsewhereRegistered)
    assert "Unregistered" not in model_classes()
    assert "ElsewhereRegistered" not in model_classes()


def test_register_model_refuses_a_second_class_of_the_same_name(scratch_registry):
    def define():
        @keras.saving.register_keras_serializable(package="keras_ae")
        class Twin(keras_ae.Autoencoder):
            pass

        return Twin

    first = register_model()(define())
    assert register_model()(first) is first  # registering the same class again is harmless
    with pytest.raises(ValueError, match="A model class named Twin is already registered"):
        register_model()(define())
    assert model_classes()["Twin"] is first


# ---------------------------------------------------------------- the README's models table
README = Path(__file__).resolve().parent.parent / "README.md"
PYPROJECT = README.parent / "pyproject.toml"


def test_readme_models_table_is_current():
    from keras_ae.zoo import readme_table

    text = README.read_text(encoding="utf-8")
    table = text.split(readme_table.MODELS_START, 1)[1].split(readme_table.MODELS_END, 1)[0]
    assert table.strip() == readme_table.models_table(), (
        "README.md's models table is out of date: run python -m keras_ae.zoo.readme_table"
    )


def _names(title: str, text: str) -> bool:
    # A whole word or hyphenated name: "sparse" is not found in "k-sparse" alone.
    return re.search(rf"(?<![\w-]){re.escape(title)}(?![\w-])", " ".join(text.split())) is not None


def test_the_readme_and_the_package_description_name_every_model():
    first_paragraph = README.read_text(encoding="utf-8").split("\n\n")[1]
    # (tomllib is Python 3.11's; the description is one line of pyproject.toml.)
    description = re.search(r'^description = "(.*)"$', PYPROJECT.read_text(), re.M).group(1)
    for name in model_classes():
        title = model_info(name).title or name
        assert _names(title, first_paragraph), f"README.md's first paragraph does not name {title}"
        assert _names(title, description), f"pyproject.toml's description does not name {title}"


def test_a_new_model_gets_its_own_row_or_shares_its_bases(scratch_registry):
    from keras_ae.zoo import readme_table

    @register_model(loss_summary="reconstruction + `|mean|`", title="scratch VAE")
    @keras.saving.register_keras_serializable(package="keras_ae")
    class ScratchVAE(keras_ae.VAE):
        term_names = (*keras_ae.VAE.term_names, "centring")

    @register_model(title="scratch child")
    @keras.saving.register_keras_serializable(package="keras_ae")
    class ScratchChild(ScratchVAE):
        pass

    table = readme_table.models_table()
    row = (
        "| `ScratchVAE`, `ScratchChild` | reconstruction + `\\|mean\\|` "
        "| + kl, active_units, centring |"
    )
    assert row in table.splitlines()
    # Rows follow the class tree: the new family right after the VAE family's last member.
    assert table.index("`FactorVAE`") < table.index("`ScratchVAE`")
    assert table.index("`ScratchVAE`") < table.index("`ContractiveAutoencoder`")

    @register_model()
    @keras.saving.register_keras_serializable(package="keras_ae")
    class ScratchSilent(keras_ae.VAE):
        def latent_regulariser(self, z, mean, log_var, kl):
            return {"penalty": 2 * kl}

    with pytest.raises(ValueError, match=r"ScratchSilent overrides \['latent_regulariser'\]"):
        readme_table.models_table()


def _readme_example() -> str:
    section = README.read_text(encoding="utf-8").split("### Adding a model", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_readme_example_model_trains_reports_its_term_and_gets_a_row(
    scratch_registry, mnist_images
):
    from keras_ae.zoo import readme_table

    namespace = {}
    exec(compile(_readme_example(), "README.md (Adding a model)", "exec"), namespace)
    cls = namespace["CentredVAE"]
    info = model_info("CentredVAE")
    assert info.cls is cls and info.has_posterior  # inherited from VAE
    # What tests/test_models.py asks of every registered class, with its example arguments.
    model = cls(input_shape=(28, 28, 1), latent_dim=8, hidden_units=(64,), **info.example_arguments)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = model.fit(mnist_images[0][:640], batch_size=64, epochs=3, verbose=0).history
    assert set(history) == {"loss", "reconstruction", "kl", "active_units", "centring"}
    assert history["loss"][-1] < history["loss"][0]
    assert history["reconstruction"][-1] < history["reconstruction"][0]
    # The penalty replaces beta * kl, and the example adds the KL back.
    x = keras.ops.convert_to_tensor(mnist_images[0][:64])
    terms = model.loss_terms(x)
    assert float(terms["loss"]) == pytest.approx(
        float(terms["reconstruction"] + model.beta * terms["kl"] + terms["centring"]), rel=1e-5
    )
    assert "| `CentredVAE` | reconstruction + `beta * KL` + `lam * \\|\\|mean\\|\\|^2` |" in (
        readme_table.models_table()
    )
