"""Golden tests of the disentanglement metrics, after disentanglement_lib's own: a ground truth of
10 factors with 10 values each whose observations are the factors themselves."""

import inspect
import math

import numpy as np
import pytest

from keras_ae import evaluation
from keras_ae.evaluation import disentanglement

ONE_CODE_TWO_FACTORS = 1.0 - math.log(2) / math.log(10)
# Fewer boosting stages than the default keep the DCI tests fast; the golden bounds hold at both.
FAST_BOOSTING = {**disentanglement.DCI_BOOSTING, "max_iter": 20}


class IdentityObservations:
    """disentanglement_lib's ``IdentityObservationsData``: observations are the factors."""

    num_factors = 10
    factor_sizes = (10,) * 10
    factor_names = tuple(f"factor_{index}" for index in range(10))
    observation_shape = (10,)

    def sample_factors(self, num, random_state):
        return random_state.randint(10, size=(num, self.num_factors))

    def sample_observations_from_factors(self, factors, random_state):
        return np.asarray(factors, dtype=np.float64)

    def sample(self, num, random_state):
        factors = self.sample_factors(num, random_state)
        return factors, self.sample_observations_from_factors(factors, random_state)


class NoisyObservations(IdentityObservations):
    """The factors plus noise drawn from the random state: not a function of the factors."""

    def sample_observations_from_factors(self, factors, random_state):
        return factors + 0.1 * random_state.standard_normal(np.shape(factors))


def identity(observations):
    return np.asarray(observations, dtype=np.float64)


def zeros(observations):
    return np.zeros_like(observations, dtype=np.float64)


def duplicated(observations):
    return np.hstack([identity(observations), identity(observations)])


def run(metric, representation, **sizes):
    return metric(IdentityObservations(), representation, np.random.RandomState(0), **sizes)


BETA_VAE_SIZES = {"batch_size": 5, "num_train": 2000, "num_eval": 2000}
FACTOR_VAE_SIZES = {
    "batch_size": 5,
    "num_train": 3000,
    "num_eval": 2000,
    "num_variance_estimate": 2500,
}
SAP_SIZES = {"num_train": 3000, "num_test": 3000, "continuous_factors": True}


# ------------------------------------------------------------------------------- golden values
def test_identity_scores_high_on_every_metric():
    beta_vae = run(evaluation.beta_vae_score, identity, **BETA_VAE_SIZES)
    factor_vae = run(evaluation.factor_vae_score, identity, **FACTOR_VAE_SIZES)
    mig = run(evaluation.mig, identity, num_train=3000)
    sap = run(evaluation.sap_score, identity, **SAP_SIZES)
    dci = run(evaluation.dci, identity, num_train=1000, num_test=1000)  # default boosting
    for score in (
        beta_vae["train_accuracy"],
        beta_vae["eval_accuracy"],
        factor_vae["train_accuracy"],
        factor_vae["eval_accuracy"],
        mig["discrete_mig"],
        sap["SAP_score"],
        dci["disentanglement"],
        dci["completeness"],
    ):
        assert 0.9 <= score <= 1.0
    assert factor_vae["num_active_dims"] == 10
    assert dci["informativeness_test"] > 0.9


def test_all_zeros_representation_scores_low_on_every_metric():
    beta_vae = run(evaluation.beta_vae_score, zeros, **BETA_VAE_SIZES)
    factor_vae = run(evaluation.factor_vae_score, zeros, **FACTOR_VAE_SIZES)
    mig = run(evaluation.mig, zeros, num_train=3000)
    sap = run(evaluation.sap_score, zeros, **SAP_SIZES)
    dci = run(evaluation.dci, zeros, num_train=500, num_test=500)
    for score in (
        beta_vae["eval_accuracy"],
        factor_vae["eval_accuracy"],
        mig["discrete_mig"],
        sap["SAP_score"],
        dci["disentanglement"],
        dci["completeness"],
    ):
        assert 0.0 <= score <= 0.2
    # Every latent is collapsed, so FactorVAE prunes them all.
    assert factor_vae["num_active_dims"] == 0


def test_mig_names_for_each_factor_the_latent_that_holds_it_and_how_much():
    # Latent j is factor 9 - j: each factor's best latent is the mirrored one, holding its whole
    # entropy (log 10 nats: ten equally likely values, one bin each).
    mirrored = run(evaluation.mig, lambda x: x[:, ::-1], num_train=3000)
    for index in range(10):
        assert mirrored[f"information_latent.factor_{index}"] == 9 - index
        assert abs(mirrored[f"information.factor_{index}"] - np.log(10)) < 0.01
    collapsed = run(evaluation.mig, zeros, num_train=3000)
    assert all(collapsed[f"information.factor_{index}"] < 1e-6 for index in range(10))


def test_duplicated_latent_space():
    assert run(evaluation.mig, duplicated, num_train=3000)["discrete_mig"] <= 0.1
    assert run(evaluation.sap_score, duplicated, **SAP_SIZES)["SAP_score"] <= 0.2
    # Exact trees break the ties between the two copies at random, so each factor's importance
    # is split over two codes: completeness near 1 - ln2 / ln10, as in disentanglement_lib.
    reference = {**evaluation.REFERENCE_BOOSTING, "n_estimators": 10}
    dci = run(evaluation.dci, duplicated, num_train=500, num_test=200, boosting=reference)
    assert dci["disentanglement"] >= 0.9
    assert abs(dci["completeness"] - ONE_CODE_TWO_FACTORS) < 0.1
    # Histogram trees always take the first copy (see DCI_BOOSTING).
    dci = run(evaluation.dci, duplicated, num_train=500, num_test=200, boosting=FAST_BOOSTING)
    assert dci["disentanglement"] >= 0.9 and dci["completeness"] >= 0.9


def test_discrete_sap_is_low_even_for_the_identity():
    # A linear SVM on one feature cannot separate 10 classes (references.md: about 0.18).
    sap = run(evaluation.sap_score, identity, num_train=2000, num_test=1000)
    assert 0.05 < sap["SAP_score"] < 0.4


# ------------------------------------------------------------------------ importance matrices
def test_dci_of_a_diagonal_matrix_is_one():
    scores = evaluation.dci_from_importance(np.diag(5.0 * np.ones(5)))
    assert scores["disentanglement"] == pytest.approx(1.0, abs=1e-6)
    assert scores["completeness"] == pytest.approx(1.0, abs=1e-6)


def test_dci_of_one_code_carrying_two_factors():
    importance = np.hstack([np.diag(5.0 * np.ones(5))] * 2)  # 5 codes, 10 factors
    scores = evaluation.dci_from_importance(importance)
    assert scores["disentanglement"] == pytest.approx(ONE_CODE_TWO_FACTORS, abs=1e-6)
    assert scores["completeness"] == pytest.approx(1.0, abs=1e-6)


def test_dci_of_two_codes_sharing_each_factor():
    importance = np.vstack([np.diag(5.0 * np.ones(5))] * 2)  # 10 codes, 5 factors
    scores = evaluation.dci_from_importance(importance)
    assert scores["disentanglement"] == pytest.approx(1.0, abs=1e-6)
    assert scores["completeness"] == pytest.approx(ONE_CODE_TWO_FACTORS, abs=1e-6)


def test_dci_ignores_empty_codes_and_missed_factors():
    assert evaluation.dci_from_importance(np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])) == (
        pytest.approx({"disentanglement": 1.0, "completeness": 1.0}, abs=1e-6)
    )
    missed = evaluation.dci_from_importance(np.diag(5.0 * np.ones(5))[:2])
    assert missed == pytest.approx({"disentanglement": 1.0, "completeness": 1.0}, abs=1e-6)


def test_dci_of_a_zero_matrix_is_zero():
    assert evaluation.dci_from_importance(np.zeros((10, 10))) == pytest.approx(
        {"disentanglement": 0.0, "completeness": 0.0}, abs=1e-6
    )


# ------------------------------------------------------------------ the machinery around them
def test_same_random_state_gives_the_same_scores():
    first = run(evaluation.factor_vae_score, identity, **FACTOR_VAE_SIZES)
    second = run(evaluation.factor_vae_score, identity, **FACTOR_VAE_SIZES)
    assert first == second
    with_seed = evaluation.mig(IdentityObservations(), identity, 0, num_train=500)
    assert with_seed == run(evaluation.mig, identity, num_train=500)


def test_cache_encodes_each_factor_combination_once_and_changes_nothing():
    ground_truth = IdentityObservations()
    ground_truth.factor_sizes = (2,) * 10  # 1,024 combinations, so draws repeat
    ground_truth.sample_factors = lambda num, random_state: random_state.randint(2, size=(num, 10))
    cached = evaluation.FactorRepresentation(ground_truth, identity, cache=True)
    uncached = evaluation.FactorRepresentation(ground_truth, identity, cache=False)
    scores_cached = evaluation.beta_vae_score(
        ground_truth, cached, np.random.RandomState(1), **BETA_VAE_SIZES
    )
    scores_uncached = evaluation.beta_vae_score(
        ground_truth, uncached, np.random.RandomState(1), **BETA_VAE_SIZES
    )
    assert scores_cached == scores_uncached
    assert cached.observations_encoded <= 1024 < uncached.observations_encoded


def test_cache_is_chosen_only_for_deterministic_observations():
    assert evaluation.FactorRepresentation(IdentityObservations(), identity).cache
    assert not evaluation.FactorRepresentation(NoisyObservations(), identity).cache


def test_noisy_ground_truth_still_scores_the_identity_high():
    scores = evaluation.mig(NoisyObservations(), identity, np.random.RandomState(0), num_train=2000)
    assert scores["discrete_mig"] > 0.8


def test_bad_representation_shape_is_reported():
    with pytest.raises(ValueError, match=r"\(n, d\)"):
        run(evaluation.mig, lambda x: np.zeros(len(x)), num_train=100)


def test_default_sizes_are_disentanglement_libs():
    def defaults(function):
        return {
            name: parameter.default
            for name, parameter in inspect.signature(function).parameters.items()
            if parameter.kind is inspect.Parameter.KEYWORD_ONLY
        }

    assert defaults(evaluation.beta_vae_score) == {
        "batch_size": 64,
        "num_train": 10_000,
        "num_eval": 5_000,
    }
    factor_vae = defaults(evaluation.factor_vae_score)
    assert factor_vae["batch_size"] == 64
    assert (factor_vae["num_train"], factor_vae["num_eval"]) == (10_000, 5_000)
    assert factor_vae["num_variance_estimate"] == 10_000
    assert factor_vae["prune_threshold"] == 0.05
    assert defaults(evaluation.mig) == {"num_train": 10_000, "num_bins": 20}
    assert defaults(evaluation.dci)["num_train"] == 10_000
    assert defaults(evaluation.dci)["num_test"] == 5_000
    assert defaults(evaluation.sap_score) == {
        "num_train": 10_000,
        "num_test": 5_000,
        "continuous_factors": False,
    }


def test_disentanglement_metrics_returns_one_flat_dict(monkeypatch):
    # The convenience function at small sizes: shrink the defaults, keep its plumbing.
    small = {
        "beta_vae": {"batch_size": 5, "num_train": 300, "num_eval": 200},
        "factor_vae": {"batch_size": 5, "num_train": 300, "num_eval": 200},
        "mig": {"num_train": 500},
        "dci": {"num_train": 300, "num_test": 200},
        "sap": {"num_train": 300, "num_test": 200},
    }
    for prefix, metric in list(disentanglement.METRICS.items()):
        monkeypatch.setitem(
            disentanglement.METRICS,
            prefix,
            lambda *args, _metric=metric, _sizes=small[prefix], **kwargs: _metric(
                *args, **{**_sizes, **kwargs}
            ),
        )
    scores = evaluation.disentanglement_metrics(
        IdentityObservations(),
        identity,
        np.random.RandomState(0),
        continuous_factors=True,
        boosting=FAST_BOOSTING,
    )
    information = {key for key in scores if key.startswith("mig.information")}
    assert len(information) == 2 * IdentityObservations.num_factors
    assert set(scores) - information == {
        "beta_vae.train_accuracy",
        "beta_vae.eval_accuracy",
        "factor_vae.train_accuracy",
        "factor_vae.eval_accuracy",
        "factor_vae.num_active_dims",
        "mig.discrete_mig",
        "dci.informativeness_train",
        "dci.informativeness_test",
        "dci.disentanglement",
        "dci.completeness",
        "sap.SAP_score",
    }
    assert all(
        0.85 <= scores[key] <= 1.0
        for key in scores
        if key != "factor_vae.num_active_dims" and key not in information
    )


class SizesOnly:
    """A ground truth that declares only ``factors_num_values`` (no ``num_factors``)."""

    factors_num_values = (10,) * 10

    def sample_factors(self, num, random_state):
        return random_state.randint(10, size=(num, 10))

    def sample_observations_from_factors(self, factors, random_state):
        return np.asarray(factors, dtype=np.float64)


def test_num_factors_is_derived_from_the_factor_sizes():
    # The two metrics that vote over factors need their number; small sizes suffice.
    factor_vae = disentanglement.factor_vae_score(
        SizesOnly(), identity, 0, num_train=200, num_eval=200, num_variance_estimate=1000
    )
    beta_vae = disentanglement.beta_vae_score(
        SizesOnly(), identity, 0, num_train=200, num_eval=200, batch_size=16
    )
    assert factor_vae["eval_accuracy"] >= 0.9
    assert beta_vae["eval_accuracy"] >= 0.9


def test_a_ground_truth_without_sizes_is_refused_clearly():
    class Bare:
        def sample_factors(self, num, random_state):
            return random_state.randint(3, size=(num, 2))

        def sample_observations_from_factors(self, factors, random_state):
            return np.asarray(factors, dtype=np.float64)

    with pytest.raises(TypeError, match="factor_sizes"):
        disentanglement.factor_vae_score(Bare(), identity, 0)
