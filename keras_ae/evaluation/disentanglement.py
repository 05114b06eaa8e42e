"""Disentanglement metrics on ground-truth data, to google-research/disentanglement_lib's
definitions and default sizes (Locatello et al. 2019).

Every metric is ``metric(ground_truth_data, representation_function, random_state, **sizes)
-> dict``:

- ``ground_truth_data``: any object with disentanglement_lib's interface: ``factor_sizes`` (or
  disentanglement_lib's ``factors_num_values``), ``num_factors`` (derived from the sizes when
  missing), ``sample_factors(num, random_state) -> (num, num_factors)`` int and
  ``sample_observations_from_factors(factors, random_state) -> (num, *observation_shape)``.
- ``representation_function``: observations ``(n, *observation_shape)`` -> ``(n, d)`` numpy,
  deterministic: the encoder mean, e.g. ``model.encode``. A ``FactorRepresentation`` is accepted
  too, so that several metrics share one cache of representations.
- ``random_state``: an ``np.random.RandomState`` (or an int seed); the same state gives the same
  scores.

The result keys are disentanglement_lib's (``eval_accuracy``, ``discrete_mig``, ``SAP_score``...).

Where this module departs from disentanglement_lib's code, and why:

- Sampling is vectorised: a metric draws all its factors first, then encodes them in chunks. The
  random stream differs from disentanglement_lib's (so single numbers differ within the metric's
  sampling noise); the distributions are the same.
- Representations are cached per factor combination when observations are a deterministic
  function of the factors (dSprites: one image per combination). At the default sizes the five
  metrics draw about 2.9 million observations, which cover at most 737,280 distinct dSprites
  images; encoding each once is what makes the five metrics fit in minutes. See
  ``FactorRepresentation``.
- FactorVAE drops latents whose global std is below 0.05 (Kim & Mnih's pruning of collapsed
  latents). disentanglement_lib's ``_prune_dims`` has that threshold default to 0, so it prunes
  nothing and divides by a zero variance for a collapsed latent. ``num_active_dims`` counts the
  latents kept (disentanglement_lib reports the length of its mask, i.e. all latents).
- BetaVAE's logistic regression is scikit-learn's current default (lbfgs, multinomial) with
  ``max_iter=1000`` so that it converges; disentanglement_lib ran the 2019 default (liblinear,
  one-vs-rest).
- MIG skips factors with a single value (zero entropy), where disentanglement_lib divides by 0.
- DCI: see ``DCI_BOOSTING``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np
from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import mutual_info_score
from sklearn.svm import LinearSVC
from threadpoolctl import threadpool_limits

#: DCI's gradient-boosted trees, one classifier per factor: ``"estimator"`` picks
#: scikit-learn's ``HistGradientBoostingClassifier`` ("hist") or ``GradientBoostingClassifier``
#: ("exact"); the other keys go to its constructor.
#:
#: disentanglement_lib fits ``GradientBoostingClassifier()`` (``REFERENCE_BOOSTING``): 100 stages
#: of depth-3 trees on all points, one tree per class per stage, i.e. 11,300 exact trees for
#: dSprites' 113 factor classes, which took 290 to 305 s here. We keep its 100 stages, depth 3,
#: learning rate 0.1 and minimum leaf size 1, but grow the trees on histograms of the codes (255
#: bins) and read each code's importance as the total loss reduction of the splits on it (the
#: trees' ``gain``, normalised to sum to 1 per factor; exact trees report the impurity
#: reduction). Fitted single-threaded, that took 10 to 14 s on the same codes (10,000 train /
#: 5,000 test points) and moved the scores (disentanglement, completeness, test informativeness;
#: reference -> ours) by a few hundredths at most:
#:
#: - conv64 beta-VAE, 300 steps on dSprites: 0.034 -> 0.063, 0.036 -> 0.060, 0.411 -> 0.423;
#: - the same, 1,500 steps: 0.107 -> 0.117, 0.120 -> 0.139, 0.486 -> 0.517;
#: - a synthetic, partly disentangled code of dSprites' factors: 0.780 -> 0.775,
#:   0.738 -> 0.729, 0.767 -> 0.760.
#:
#: Cheaper settings moved them more: exact trees on half the points per stage cut the 1,500-step
#: disentanglement to 0.075 and still took 150 s; 30 histogram stages at learning rate 0.3 raised
#: it to 0.150 (and cut the synthetic one to 0.454). Pass ``boosting=REFERENCE_BOOSTING`` for
#: disentanglement_lib's trees.
#: ``benchmarks/disentanglement_bench.py --compare-dci`` repeats the comparison.
#:
#: One difference is by construction: between exactly equal splits (an exactly duplicated code)
#: histogram trees always take the first feature, exact trees a random one. So a factor copied
#: into two codes scores completeness 1 here and about 1 - ln2/ln10 with ``REFERENCE_BOOSTING``.
DCI_BOOSTING = {
    "estimator": "hist",
    "max_iter": 100,
    "learning_rate": 0.1,
    "max_depth": 3,
    "min_samples_leaf": 1,
}
#: disentanglement_lib's settings: ``GradientBoostingClassifier``'s defaults.
REFERENCE_BOOSTING = {
    "estimator": "exact",
    "n_estimators": 100,
    "learning_rate": 0.1,
    "max_depth": 3,
    "min_samples_leaf": 1,
}

# Observations per call of the representation function: 4,096 dSprites images are 64 MB.
_CHUNK_SIZE = 4096
# Added to importances before taking entropies, as disentanglement_lib does, so that a code with
# no importance at all has a well-defined (maximal) entropy instead of 0/0.
_ENTROPY_EPSILON = 1e-11


def as_random_state(random_state: np.random.RandomState | int | None) -> np.random.RandomState:
    """A ``RandomState`` from a state (returned as is), an int seed or None (seed 0)."""
    if isinstance(random_state, np.random.RandomState):
        return random_state
    return np.random.RandomState(0 if random_state is None else random_state)


def factor_sizes_of(ground_truth_data) -> tuple[int, ...] | None:
    """The number of values of each factor, from ``factor_sizes`` or ``factors_num_values``."""
    for name in ("factor_sizes", "factors_num_values"):
        sizes = getattr(ground_truth_data, name, None)
        if sizes is not None:
            return tuple(int(size) for size in sizes)
    return None


def num_factors_of(ground_truth_data) -> int:
    """The number of factors: ``num_factors``, else the length of the factor sizes."""
    declared = getattr(ground_truth_data, "num_factors", None)
    if declared is not None:
        return int(declared)
    sizes = factor_sizes_of(ground_truth_data)
    if sizes is None:
        raise TypeError(
            f"{type(ground_truth_data).__name__} is not a ground truth keras_ae can read: it "
            "needs `num_factors`, `factor_sizes` or `factors_num_values`, and "
            "`sample_factors` and `sample_observations_from_factors`."
        )
    return len(sizes)


def _observations_are_deterministic(ground_truth_data) -> bool:
    """Whether the same factors give the same observations under different random states.

    Uses its own random states, so the caller's random stream is untouched.
    """
    factors = ground_truth_data.sample_factors(8, np.random.RandomState(0))
    first = ground_truth_data.sample_observations_from_factors(factors, np.random.RandomState(1))
    second = ground_truth_data.sample_observations_from_factors(factors, np.random.RandomState(2))
    return np.array_equal(np.asarray(first), np.asarray(second))


class FactorRepresentation:
    """Representations of factor combinations: ``(n, num_factors)`` -> ``(n, d)`` float64.

    Observations are sampled from the factors and encoded ``chunk_size`` at a time. With
    ``cache=True`` each distinct factor combination is encoded once and remembered, across calls;
    that is exact when observations are a deterministic function of the factors and the
    representation is deterministic. ``cache=None`` decides by sampling the same 8 factor rows
    twice under different random states and comparing the observations. Caching needs the
    factor sizes (``factor_sizes`` or ``factors_num_values``).

    Pass one instance as ``representation_function`` to several metrics to share its cache.
    """

    def __init__(
        self,
        ground_truth_data,
        representation_function: Callable[[np.ndarray], np.ndarray],
        cache: bool | None = None,
        chunk_size: int = _CHUNK_SIZE,
    ):
        self.ground_truth_data = ground_truth_data
        self.representation_function = representation_function
        self.chunk_size = int(chunk_size)
        self.factor_sizes = factor_sizes_of(ground_truth_data)
        if cache is None:
            cache = self.factor_sizes is not None and _observations_are_deterministic(
                ground_truth_data
            )
        if cache and self.factor_sizes is None:
            raise ValueError(
                "Caching representations needs the factor sizes: the ground truth has neither "
                "`factor_sizes` nor `factors_num_values`. Pass cache=False."
            )
        if cache and math.prod(self.factor_sizes) >= 2**63:
            raise ValueError("Too many factor combinations to key the cache by an int64.")
        self.cache = bool(cache)
        self._cached_keys = np.zeros(0, np.int64)  # sorted
        self._cached_codes: np.ndarray | None = None
        #: Observations encoded so far (the cost that caching saves).
        self.observations_encoded = 0

    def __call__(self, factors: np.ndarray, random_state: np.random.RandomState) -> np.ndarray:
        factors = np.asarray(factors)
        if not self.cache:
            return self._encode(factors, random_state)
        keys = np.ravel_multi_index(tuple(factors.T), self.factor_sizes)
        unique_keys, first_rows, inverse = np.unique(keys, return_index=True, return_inverse=True)
        positions = np.searchsorted(self._cached_keys, unique_keys)
        clipped = np.minimum(positions, max(len(self._cached_keys) - 1, 0))
        known = (
            self._cached_keys[clipped] == unique_keys
            if len(self._cached_keys)
            else np.zeros(len(unique_keys), bool)
        )
        new_codes = self._encode(factors[first_rows[~known]], random_state)
        codes = np.empty((len(unique_keys), new_codes.shape[1]))
        codes[~known] = new_codes
        if known.any():
            codes[known] = self._cached_codes[clipped[known]]
        self._remember(unique_keys[~known], new_codes)
        return codes[inverse.reshape(-1)]

    def _remember(self, keys: np.ndarray, codes: np.ndarray) -> None:
        if not len(keys):
            return
        all_keys = np.concatenate([self._cached_keys, keys])
        all_codes = (
            codes if self._cached_codes is None else np.concatenate([self._cached_codes, codes])
        )
        order = np.argsort(all_keys, kind="stable")
        self._cached_keys, self._cached_codes = all_keys[order], all_codes[order]

    def _encode(self, factors: np.ndarray, random_state: np.random.RandomState) -> np.ndarray:
        parts = []
        for start in range(0, len(factors), self.chunk_size):
            chunk = factors[start : start + self.chunk_size]
            observations = self.ground_truth_data.sample_observations_from_factors(
                chunk, random_state
            )
            codes = np.asarray(self.representation_function(observations), dtype=np.float64)
            if codes.ndim != 2 or len(codes) != len(chunk) or codes.shape[1] < 1:
                raise ValueError(
                    f"representation_function must map {len(chunk)} observations to an array "
                    f"(n, d) = ({len(chunk)}, d) with d >= 1; it returned shape {codes.shape}."
                )
            if not np.isfinite(codes).all():
                raise ValueError(
                    "representation_function returned NaN or Inf codes; the metrics need finite "
                    "ones. Check the model's weights (a diverged model encodes to NaN)."
                )
            parts.append(codes)
        self.observations_encoded += len(factors)
        if not parts:
            width = 0 if self._cached_codes is None else self._cached_codes.shape[1]
            return np.zeros((0, width))
        return np.concatenate(parts)


def factor_representation(ground_truth_data, representation_function) -> FactorRepresentation:
    if isinstance(representation_function, FactorRepresentation):
        return representation_function
    return FactorRepresentation(ground_truth_data, representation_function)


def sample_codes(ground_truth_data, represent, num_points, random_state):
    """``num_points`` random factor rows ``(num_points, num_factors)`` and their codes."""
    factors = np.asarray(ground_truth_data.sample_factors(num_points, random_state))
    return represent(factors, random_state), factors


# ----------------------------------------------------------------------------------- BetaVAE
def _beta_vae_points(ground_truth_data, represent, batch_size, num_points, random_state):
    """BetaVAE training points: ``(num_points, d)`` features and the fixed factor of each.

    For point i, factor ``k_i`` takes the same value in both elements of ``batch_size`` pairs
    and the others are random; the feature is the mean over the pairs of ``|z1 - z2|``.
    """
    num_factors = num_factors_of(ground_truth_data)
    fixed = random_state.randint(num_factors, size=num_points)
    shape = (num_points, batch_size, num_factors)
    first = np.asarray(ground_truth_data.sample_factors(num_points * batch_size, random_state))
    second = np.asarray(ground_truth_data.sample_factors(num_points * batch_size, random_state))
    first, second = first.reshape(shape), second.reshape(shape).copy()
    points, pairs = np.arange(num_points)[:, None], np.arange(batch_size)[None, :]
    second[points, pairs, fixed[:, None]] = first[points, pairs, fixed[:, None]]
    codes_first = represent(first.reshape(-1, num_factors), random_state)
    codes_second = represent(second.reshape(-1, num_factors), random_state)
    difference = np.abs(codes_first - codes_second).reshape(num_points, batch_size, -1)
    return difference.mean(axis=1), fixed


def beta_vae_score(
    ground_truth_data,
    representation_function,
    random_state: np.random.RandomState | int,
    *,
    batch_size: int = 64,
    num_train: int = 10_000,
    num_eval: int = 5_000,
) -> dict:
    """Higgins et al.'s BetaVAE score: how well a linear classifier tells which factor was held
    fixed from the mean absolute code difference over ``batch_size`` pairs.

    Returns ``{"train_accuracy", "eval_accuracy"}`` of a logistic regression fitted on
    ``num_train`` points and evaluated on ``num_eval`` new ones.
    """
    random_state = as_random_state(random_state)
    represent = factor_representation(ground_truth_data, representation_function)
    train_x, train_y = _beta_vae_points(
        ground_truth_data, represent, batch_size, num_train, random_state
    )
    eval_x, eval_y = _beta_vae_points(
        ground_truth_data, represent, batch_size, num_eval, random_state
    )
    classifier = LogisticRegression(max_iter=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        classifier.fit(train_x, train_y)
    return {
        "train_accuracy": float(classifier.score(train_x, train_y)),
        "eval_accuracy": float(classifier.score(eval_x, eval_y)),
    }


# --------------------------------------------------------------------------------- FactorVAE
def _factor_vae_votes(
    ground_truth_data, represent, batch_size, num_points, random_state, global_variances, active
):
    """Votes ``(num_factors, num_active)``: how often fixing factor k made active latent j (the
    one of least variance after normalising by the global variance) the argmin."""
    num_factors = num_factors_of(ground_truth_data)
    fixed = random_state.randint(num_factors, size=num_points)
    factors = np.asarray(ground_truth_data.sample_factors(num_points * batch_size, random_state))
    factors = factors.reshape(num_points, batch_size, num_factors).copy()
    points = np.arange(num_points)
    factors[points[:, None], np.arange(batch_size)[None, :], fixed[:, None]] = factors[
        points, 0, fixed
    ][:, None]
    codes = represent(factors.reshape(-1, num_factors), random_state)
    codes = codes.reshape(num_points, batch_size, -1)[:, :, active]
    local_variances = codes.var(axis=1, ddof=1)
    chosen = np.argmin(local_variances / global_variances[active], axis=1)
    votes = np.zeros((num_factors, int(active.sum())), np.int64)
    np.add.at(votes, (fixed, chosen), 1)
    return votes


def factor_vae_score(
    ground_truth_data,
    representation_function,
    random_state: np.random.RandomState | int,
    *,
    batch_size: int = 64,
    num_train: int = 10_000,
    num_eval: int = 5_000,
    num_variance_estimate: int = 10_000,
    prune_threshold: float = 0.05,
) -> dict:
    """Kim & Mnih's FactorVAE score: the accuracy of a majority-vote classifier that names the
    fixed factor from the latent of least normalised variance in a batch.

    Latents whose std over ``num_variance_estimate`` points is below ``prune_threshold`` are
    dropped. Returns ``{"train_accuracy", "eval_accuracy", "num_active_dims"}``; all zero when
    no latent is active.
    """
    random_state = as_random_state(random_state)
    represent = factor_representation(ground_truth_data, representation_function)
    codes, _ = sample_codes(ground_truth_data, represent, num_variance_estimate, random_state)
    global_variances = codes.var(axis=0, ddof=1)
    active = np.sqrt(global_variances) >= prune_threshold
    if not active.any():
        return {"train_accuracy": 0.0, "eval_accuracy": 0.0, "num_active_dims": 0}
    votes_args = (represent, batch_size)
    train_votes = _factor_vae_votes(
        ground_truth_data, *votes_args, num_train, random_state, global_variances, active
    )
    eval_votes = _factor_vae_votes(
        ground_truth_data, *votes_args, num_eval, random_state, global_variances, active
    )
    # Each latent votes for the factor that most often made it the argmin.
    classifier = np.argmax(train_votes, axis=0)
    latents = np.arange(train_votes.shape[1])
    return {
        "train_accuracy": float(train_votes[classifier, latents].sum() / train_votes.sum()),
        "eval_accuracy": float(eval_votes[classifier, latents].sum() / eval_votes.sum()),
        "num_active_dims": int(active.sum()),
    }


# --------------------------------------------------------------------------------------- MIG
def histogram_discretize(codes: np.ndarray, num_bins: int = 20) -> np.ndarray:
    """Each latent of ``codes`` ``(n, d)`` into ``num_bins`` equal-width bins over its own range:
    ``(n, d)`` ints in ``[1, num_bins]`` (``np.digitize`` on ``np.histogram``'s edges)."""
    codes = np.asarray(codes)
    binned = np.empty(codes.shape, np.int64)
    for latent in range(codes.shape[1]):
        edges = np.histogram_bin_edges(codes[:, latent], num_bins)
        binned[:, latent] = np.digitize(codes[:, latent], edges[:-1])
    return binned


def discrete_mutual_information(discrete_codes: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """Mutual information in nats of each discrete latent with each factor: ``(d, num_factors)``
    from ``(n, d)`` and ``(n, num_factors)``."""
    return np.array(
        [
            [mutual_info_score(factor, code) for factor in np.asarray(factors).T]
            for code in np.asarray(discrete_codes).T
        ]
    ).reshape(discrete_codes.shape[1], factors.shape[1])


def mig_from_codes(codes: np.ndarray, factors: np.ndarray, num_bins: int = 20) -> float:
    """MIG of codes ``(n, d)`` for factors ``(n, num_factors)``: per factor, the gap between the
    largest and second-largest mutual information with a discretised latent, over the factor's
    entropy; the mean over factors (those with more than one value)."""
    information = discrete_mutual_information(histogram_discretize(codes, num_bins), factors)
    entropies = np.array([mutual_info_score(factor, factor) for factor in np.asarray(factors).T])
    return _mig_from_information(information, entropies)


def _mig_from_information(information: np.ndarray, entropies: np.ndarray) -> float:
    # A single latent has no runner-up: its gap is to zero information.
    padded = np.vstack([information, np.zeros((1, information.shape[1]))])
    top_two = -np.sort(-padded, axis=0)[:2]
    informative = entropies > 0
    return float(np.mean((top_two[0] - top_two[1])[informative] / entropies[informative]))


def mig(
    ground_truth_data,
    representation_function,
    random_state: np.random.RandomState | int,
    *,
    num_train: int = 10_000,
    num_bins: int = 20,
) -> dict:
    """Chen et al.'s Mutual Information Gap on ``num_train`` points, latents discretised into
    ``num_bins`` equal-width bins. Returns ``{"discrete_mig"}`` and, for each factor, the
    largest mutual information one latent has with it (``"information.<factor>"``, nats) and
    which latent that is (``"information_latent.<factor>"``, its index): whether a factor is
    captured at all, which the gap alone does not say."""
    random_state = as_random_state(random_state)
    represent = factor_representation(ground_truth_data, representation_function)
    codes, factors = sample_codes(ground_truth_data, represent, num_train, random_state)
    information = discrete_mutual_information(histogram_discretize(codes, num_bins), factors)
    entropies = np.array([mutual_info_score(factor, factor) for factor in np.asarray(factors).T])
    scores = {"discrete_mig": _mig_from_information(information, entropies)}
    names = getattr(ground_truth_data, "factor_names", None) or [
        f"factor{index}" for index in range(factors.shape[1])
    ]
    for index, name in enumerate(names):
        scores[f"information.{name}"] = float(information[:, index].max())
        scores[f"information_latent.{name}"] = int(information[:, index].argmax())
    return scores


# --------------------------------------------------------------------------------------- DCI
def _normalised_entropy(probabilities: np.ndarray, axis: int) -> np.ndarray:
    """Entropy along ``axis`` in base ``shape[axis]`` (so in [0, 1]) of non-negative weights,
    normalised to sum to 1 first (``scipy.stats.entropy``'s convention)."""
    weights = probabilities + _ENTROPY_EPSILON
    weights = weights / weights.sum(axis=axis, keepdims=True)
    base = probabilities.shape[axis]
    if base <= 1:
        return np.zeros(np.delete(probabilities.shape, axis))
    return -(weights * np.log(weights)).sum(axis=axis) / math.log(base)


def dci_from_importance(importance_matrix: np.ndarray) -> dict:
    """Disentanglement and completeness (Eastwood & Williams) of an importance matrix
    ``(num_codes, num_factors)``, non-negative.

    Disentanglement: 1 - each code's entropy over factors (base num_factors), weighted by the
    code's share of the total importance. Completeness: 1 - each factor's entropy over codes
    (base num_codes), weighted by the factor's share. An all-zero matrix scores 0 on both.
    Returns ``{"disentanglement", "completeness"}``.
    """
    importance = np.abs(np.asarray(importance_matrix, dtype=np.float64))
    per_code = 1.0 - _normalised_entropy(importance, axis=1)
    per_factor = 1.0 - _normalised_entropy(importance, axis=0)
    # With no importance anywhere every code and factor weighs the same (and scores 0).
    weights = importance if importance.sum() > 0 else np.ones_like(importance)
    code_share = weights.sum(axis=1) / weights.sum()
    factor_share = weights.sum(axis=0) / weights.sum()
    return {
        "disentanglement": float(np.sum(per_code * code_share)),
        "completeness": float(np.sum(per_factor * factor_share)),
    }


def _boosted_classifier(settings: dict, seed: int):
    settings = dict(settings)
    estimator = settings.pop("estimator", "exact")
    if estimator == "hist":
        # Depth-limited trees as in the exact version, on every point, for a fixed stage count.
        defaults = {"max_leaf_nodes": None, "early_stopping": False}
        return HistGradientBoostingClassifier(**{**defaults, **settings}, random_state=seed)
    if estimator == "exact":
        return GradientBoostingClassifier(**settings, random_state=seed)
    raise ValueError(f'Unknown estimator {estimator!r}; expected "hist" or "exact".')


def _feature_importances(classifier, num_features: int) -> np.ndarray:
    """Importances summing to 1 (or all 0 when no tree split): scikit-learn's impurity-based
    ones for exact trees, the total split gain per feature for histogram trees."""
    if isinstance(classifier, GradientBoostingClassifier):
        return classifier.feature_importances_
    # HistGradientBoostingClassifier exposes no importances; its trees record each split's gain.
    gains = np.zeros(num_features)
    for stage in classifier._predictors:
        for tree in stage:
            splits = tree.nodes["is_leaf"] == 0
            np.add.at(gains, tree.nodes["feature_idx"][splits], tree.nodes["gain"][splits])
    total = gains.sum()
    return gains / total if total > 0 else gains


def gbt_importance(
    train_codes: np.ndarray,
    train_factors: np.ndarray,
    test_codes: np.ndarray,
    test_factors: np.ndarray,
    random_state: np.random.RandomState | int,
    boosting: dict | None = None,
) -> tuple[np.ndarray, float, float]:
    """DCI's importance matrix ``(d, num_factors)``, from one gradient-boosted classifier per
    factor (``boosting`` settings, ``DCI_BOOSTING`` by default), and the mean train and test
    accuracies over factors."""
    random_state = as_random_state(random_state)
    settings = DCI_BOOSTING if boosting is None else boosting
    num_factors = train_factors.shape[1]
    importance = np.zeros((train_codes.shape[1], num_factors))
    train_accuracy, test_accuracy = [], []
    # One OpenMP thread: the histogram trees' threads spin-wait, and on a busy machine that
    # slowed these fits from 10 s to 180 s here; single-threaded they took 13 s steadily.
    with threadpool_limits(limits=1, user_api="openmp"):
        for factor in range(num_factors):
            labels, test_labels = train_factors[:, factor], test_factors[:, factor]
            # Seeded: tree building breaks ties (and exact trees order features) at random.
            classifier = _boosted_classifier(settings, random_state.randint(2**31 - 1))
            classifier.fit(train_codes, labels)
            importance[:, factor] = np.abs(_feature_importances(classifier, train_codes.shape[1]))
            train_accuracy.append(np.mean(classifier.predict(train_codes) == labels))
            test_accuracy.append(np.mean(classifier.predict(test_codes) == test_labels))
    return importance, float(np.mean(train_accuracy)), float(np.mean(test_accuracy))


def dci(
    ground_truth_data,
    representation_function,
    random_state: np.random.RandomState | int,
    *,
    num_train: int = 10_000,
    num_test: int = 5_000,
    boosting: dict | None = None,
) -> dict:
    """Eastwood & Williams' DCI from gradient-boosted trees (``boosting`` settings, default
    ``DCI_BOOSTING``) fitted on ``num_train`` points and tested on ``num_test``.

    Returns ``{"informativeness_train", "informativeness_test", "disentanglement",
    "completeness"}``; informativeness is the classifiers' mean accuracy over factors.
    """
    random_state = as_random_state(random_state)
    represent = factor_representation(ground_truth_data, representation_function)
    train_codes, train_factors = sample_codes(ground_truth_data, represent, num_train, random_state)
    test_codes, test_factors = sample_codes(ground_truth_data, represent, num_test, random_state)
    importance, train_accuracy, test_accuracy = gbt_importance(
        train_codes, train_factors, test_codes, test_factors, random_state, boosting
    )
    return {
        "informativeness_train": train_accuracy,
        "informativeness_test": test_accuracy,
        **dci_from_importance(importance),
    }


# --------------------------------------------------------------------------------------- SAP
def sap_score_matrix(
    train_codes: np.ndarray,
    train_factors: np.ndarray,
    test_codes: np.ndarray,
    test_factors: np.ndarray,
    continuous_factors: bool,
) -> np.ndarray:
    """SAP's score of every latent for every factor, ``(d, num_factors)``.

    Continuous factors: the squared correlation (0 for a constant latent or factor). Discrete
    factors: the test accuracy of a LinearSVC (C=0.01, balanced classes) on that latent alone.
    """
    if continuous_factors:
        codes = train_codes - train_codes.mean(axis=0)
        factors = train_factors - train_factors.mean(axis=0)
        covariance = codes.T @ factors / (len(codes) - 1)
        code_variance = codes.var(axis=0, ddof=1)[:, None]
        factor_variance = factors.var(axis=0, ddof=1)[None, :]
        defined = (code_variance > 1e-12) & (factor_variance > 0)
        denominator = np.where(defined, code_variance * factor_variance, 1.0)
        return np.where(defined, covariance**2 / denominator, 0.0)
    scores = np.zeros((train_codes.shape[1], train_factors.shape[1]))
    for latent in range(train_codes.shape[1]):
        for factor in range(train_factors.shape[1]):
            labels = train_factors[:, factor]
            if len(np.unique(labels)) < 2:
                scores[latent, factor] = np.mean(test_factors[:, factor] == labels[0])
                continue
            classifier = LinearSVC(C=0.01, class_weight="balanced")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                classifier.fit(train_codes[:, [latent]], labels)
            prediction = classifier.predict(test_codes[:, [latent]])
            scores[latent, factor] = np.mean(prediction == test_factors[:, factor])
    return scores


def sap_score(
    ground_truth_data,
    representation_function,
    random_state: np.random.RandomState | int,
    *,
    num_train: int = 10_000,
    num_test: int = 5_000,
    continuous_factors: bool = False,
) -> dict:
    """Kumar et al.'s Separated Attribute Predictability: per factor, the gap between the best
    and second-best latent's score (``sap_score_matrix``), averaged over factors.

    ``continuous_factors=False`` is the study's setting for dSprites. Returns ``{"SAP_score"}``.
    """
    random_state = as_random_state(random_state)
    represent = factor_representation(ground_truth_data, representation_function)
    train_codes, train_factors = sample_codes(ground_truth_data, represent, num_train, random_state)
    test_codes, test_factors = sample_codes(ground_truth_data, represent, num_test, random_state)
    scores = sap_score_matrix(
        train_codes, train_factors, test_codes, test_factors, continuous_factors
    )
    padded = np.vstack([scores, np.zeros((1, scores.shape[1]))])
    top_two = -np.sort(-padded, axis=0)[:2]
    return {"SAP_score": float(np.mean(top_two[0] - top_two[1]))}


# ------------------------------------------------------------------------------- all of them
#: The five metrics in the order ``disentanglement_metrics`` runs them, by result-key prefix.
METRICS: dict[str, Callable[..., dict]] = {
    "beta_vae": beta_vae_score,
    "factor_vae": factor_vae_score,
    "mig": mig,
    "dci": dci,
    "sap": sap_score,
}


def disentanglement_metrics(
    ground_truth_data,
    representation_function,
    random_state: np.random.RandomState | int,
    *,
    cache: bool | None = None,
    continuous_factors: bool = False,
    boosting: dict | None = None,
) -> dict:
    """All five metrics at their default sizes, sharing one ``FactorRepresentation`` (and its
    cache) and one random stream; one flat dict keyed ``"<metric>.<score>"``, e.g.
    ``"beta_vae.eval_accuracy"``, ``"mig.discrete_mig"``, ``"dci.disentanglement"``.

    ``cache`` goes to ``FactorRepresentation``, ``continuous_factors`` to ``sap_score`` and
    ``boosting`` to ``dci``.
    """
    random_state = as_random_state(random_state)
    represent = (
        representation_function
        if isinstance(representation_function, FactorRepresentation)
        else FactorRepresentation(ground_truth_data, representation_function, cache=cache)
    )
    options = {"sap": {"continuous_factors": continuous_factors}, "dci": {"boosting": boosting}}
    results = {}
    for prefix, metric in METRICS.items():
        scores = metric(ground_truth_data, represent, random_state, **options.get(prefix, {}))
        results.update({f"{prefix}.{key}": value for key, value in scores.items()})
    return results
