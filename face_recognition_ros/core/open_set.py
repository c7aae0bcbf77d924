# Copyright 2026 face_recognition maintainers
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""
The open-set operating point: a threshold that names at most a target share of strangers.

A stranger's face is compared with every enrolled embedding and takes the name of the best
one when that similarity reaches the threshold. With a fixed threshold the share of
strangers given a name grows with the gallery (the maximum of 300 impostor similarities is
much higher than the maximum of 15), so the threshold here follows from a **target rate of
strangers named** (``max_false_name_rate``, per face decision) and the gallery as it is.

**The impostor model.** The similarity of a stranger's photo ``x`` to photo ``k`` of
enrolled person ``j`` is modelled as

    s = mean + b_x + c_xj + e_xjk,   b ~ N(0, sd_probe^2), c ~ N(0, sd_person^2),
                                     e ~ N(0, sd_photo^2), all independent,

``b_x`` is how "generic" this stranger photo is (shared by all its comparisons), ``c_xj``
how much the stranger resembles person ``j``, ``e_xjk`` the photo-to-photo spread within
one enrolled person. The three levels matter: the K photos of one person are strongly
correlated (same face), so a gallery of P people x K photos is not P*K independent
chances; treating it as such sets the threshold too high and costs known people their
names, treating it as P chances sets it too low. The rate of strangers named at threshold
``t`` for a gallery with ``K_j`` photos of person ``j`` is

    rate(t) = E_b[ 1 - prod_j (1 - q_Kj(t - mean - b)) ],
    q_K(u)  = 1 - E_c[ Phi((u - c) / sd_photo)^K ],

computed with Gauss-Hermite quadrature, and the threshold is the ``t`` with
``rate(t) = target`` (bisection; ``rate`` decreases in ``t``).

**Where the numbers come from.** ``fit_impostor_model`` estimates mean and the three
spreads (nested analysis of variance) from labelled photos of many people; the model
shipped for the bundled SFace (``models/impostor_models.json``) was fitted that way by
``training/fit_impostor_model.py`` on every labelled folder of ``../shared/data``, and
records how. Cameras differ in their mean impostor similarity (datasets range over
0.04-0.14), so the model also carries ``mean_sd``, the uncertainty of its mean for a new
camera, and every gallery updates the mean with **its own between-person pairs**
(``adapt_to_gallery``, a normal-normal update); what uncertainty is left widens
``sd_probe``. ``calibrate`` does the same with photos of people who are not enrolled
(ideally from the user's camera), refits the spreads from them, and adds a margin when the
model still names more of those strangers than the target.

An embedder without a fitted model (a trained classifier, any other file) keeps a fixed
threshold (its own calibrated one) until ``calibrate`` gives its gallery a model.

Everything here is plain numpy and JSON-serialisable dicts, so the gallery can store a
calibration in its metadata and re-derive the threshold on every enroll and forget:

    point = operating_point(model_id, embeddings, labels, max_false_name_rate,
                            calibration=metadata.get('calibration'),
                            fixed_threshold=<the embedder's own threshold>)
    threshold = point.threshold

Until the gallery format has a place for it, the command line keeps the calibration in a
JSON file beside the gallery (``calibration_path``). Cost, measured on the 2-core
development machine: 15 ms for 10 people x 10 photos, 46 ms for 100 x 10, 0.36 s for
10,000 x 10 (the gallery's own pairs are subsampled to 2000 rows): once per enroll or
forget, never per frame.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import lru_cache
import json
import math
from pathlib import Path
from typing import Sequence

import numpy as np

from .errors import GalleryError

DEFAULT_MAX_FALSE_NAME_RATE = 0.01
"""Default target share of stranger face decisions that end in a name."""

IMPOSTOR_MODELS_FILE = Path(__file__).resolve().parent.parent / 'models' / \
    'impostor_models.json'
"""Fitted impostor models of the bundled embedders, keyed by model id, with provenance."""

CALIBRATION_VERSION = 1
_QUADRATURE_NODES = 48
_MIN_SD = 1e-4


@dataclass(frozen=True)
class ImpostorModel:
    """Cosine similarities between different people, as the module docstring models them."""

    mean: float
    sd_probe: float
    sd_person: float
    sd_photo: float
    mean_sd: float = 0.0
    """Uncertainty of ``mean`` for the camera at hand (0: known exactly)."""
    probes: int = 0
    """How many probe photos the spreads were estimated from (weighs them when pooling)."""
    source: str = ''
    extra: dict = field(default_factory=dict, compare=False)
    """Provenance and anything else carried along (JSON)."""

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> 'ImpostorModel':
        try:
            model = cls(mean=float(data['mean']), sd_probe=float(data['sd_probe']),
                        sd_person=float(data['sd_person']), sd_photo=float(data['sd_photo']),
                        mean_sd=float(data.get('mean_sd', 0.0)),
                        probes=int(data.get('probes', 0)), source=str(data.get('source', '')),
                        extra=dict(data.get('extra', {})))
        except (KeyError, TypeError, ValueError) as error:
            raise GalleryError(f'an impostor model needs mean, sd_probe, sd_person and '
                               f'sd_photo as numbers ({error})') from None
        values = (model.mean, model.sd_probe, model.sd_person, model.sd_photo, model.mean_sd)
        if not all(math.isfinite(v) for v in values) or min(values[1:]) < 0 or \
                not -1.0 <= model.mean <= 1.0:
            raise GalleryError(f'the impostor model {data} is not valid: spreads must be '
                               f'finite and >= 0, the mean a cosine similarity')
        return model


# ------------------------------------------------------------------ the rate of a threshold
@lru_cache(maxsize=1)
def _standard_normal_quadrature() -> tuple[np.ndarray, np.ndarray]:
    nodes, weights = np.polynomial.hermite_e.hermegauss(_QUADRATURE_NODES)
    return nodes, weights / weights.sum()


_TABLE_STEP = 1e-3
_TABLE_LIMIT = 12.0


@lru_cache(maxsize=1)
def _normal_tail_table() -> np.ndarray:
    """
    Return 1 - Phi(z) on a 0.001 grid over [-12, 12].

    math.erfc once, then linear interpolation (error below 1e-10 relative to the tail
    values used here, and ~100x faster).
    """
    grid = np.arange(-_TABLE_LIMIT, _TABLE_LIMIT + _TABLE_STEP / 2, _TABLE_STEP)
    return np.array([0.5 * math.erfc(z / math.sqrt(2.0)) for z in grid])


def _normal_cdf(x: np.ndarray) -> np.ndarray:
    table = _normal_tail_table()
    grid_x = (np.clip(np.asarray(x, np.float64), -_TABLE_LIMIT, _TABLE_LIMIT) +
              _TABLE_LIMIT) / _TABLE_STEP
    low = np.minimum(grid_x.astype(np.intp), table.size - 2)
    fraction = grid_x - low
    tail = table[low] * (1.0 - fraction) + table[low + 1] * fraction
    return 1.0 - tail


def _counts_histogram(counts: Sequence[int]) -> dict[int, int]:
    """{embeddings per person: people with that many}; vectorised (galleries of 10^5)."""
    counts = np.asarray(counts, dtype=np.int64).reshape(-1)
    if counts.size and counts.min() < 1:
        raise GalleryError(f'every enrolled person needs at least one embedding, got '
                           f'{int(counts.min())}')
    values, people = np.unique(counts, return_counts=True)
    return dict(zip(values.tolist(), people.tolist()))


def false_name_rate(threshold: float, counts_per_person: Sequence[int],
                    model: ImpostorModel) -> float:
    """
    Modelled share of stranger faces that get a name at ``threshold``.

    ``counts_per_person``: how many embeddings each enrolled person has.
    """
    histogram = _counts_histogram(counts_per_person)
    if not histogram:
        return 0.0
    nodes, weights = _standard_normal_quadrature()
    sd_probe = math.sqrt(model.sd_probe ** 2 + model.mean_sd ** 2)
    sd_photo = max(model.sd_photo, _MIN_SD)
    # u[b]: threshold minus the stranger photo's own level; c[k]: person-level deviations.
    u = threshold - model.mean - sd_probe * nodes
    c = model.sd_person * nodes
    cdf = _normal_cdf((u[:, None] - c[None, :]) / sd_photo)  # (b, c)
    log_not_named = np.zeros_like(u)
    for count, people in histogram.items():
        below = (np.clip(cdf, 0.0, 1.0) ** count) @ weights  # P(max of K < u | b)
        log_not_named += people * np.log(np.clip(below, 1e-300, 1.0))
    return float(np.clip(weights @ -np.expm1(log_not_named), 0.0, 1.0))


def operating_threshold(counts_per_person: Sequence[int], target_false_name_rate: float,
                        model: ImpostorModel) -> float:
    """
    Return the cosine threshold at which ``model`` names ``target_false_name_rate`` of strangers.

    Grows with the number of people and of embeddings per person; in [-1, 1].
    """
    target = check_rate(target_false_name_rate)
    if not list(counts_per_person):
        return 1.0
    low, high = -1.0, 1.0
    if false_name_rate(high, counts_per_person, model) > target:
        return 1.0
    for _ in range(32):  # 2 / 2^32: far below any meaningful similarity difference
        middle = 0.5 * (low + high)
        if false_name_rate(middle, counts_per_person, model) > target:
            low = middle
        else:
            high = middle
    return float(high)


def check_rate(rate) -> float:
    """Return ``rate`` as a float in (0, 1), or raise GalleryError saying what to give."""
    try:
        value = float(rate)
    except (TypeError, ValueError):
        value = float('nan')
    if not 0.0 < value < 1.0:
        raise GalleryError(f'max_false_name_rate {rate!r} is not a rate: give a share of '
                           f'strangers, between 0 and 1 exclusive (e.g. 0.01 for 1 %)')
    return value


# ------------------------------------------------------------------------ fitting
@dataclass
class _Statistics:
    mean: float
    var_probe: float
    var_person: float
    var_photo: float
    probes: int
    units: int
    """Independent units behind the mean (people, for its uncertainty)."""


def _similarity_statistics(similarities: np.ndarray, person_of_column: np.ndarray,
                           own_person: np.ndarray | None, unit_of_probe: np.ndarray
                           ) -> _Statistics:
    """
    Nested analysis of variance of probe x enrolled-photo impostor similarities.

    ``similarities`` (Q, N); ``person_of_column`` (N,) person index of each enrolled photo;
    ``own_person`` (Q,) person of each probe among those columns (-1 or None: none), whose
    columns are left out; ``unit_of_probe`` groups probes that are one independent unit
    (photos of one person) for the uncertainty of the mean.
    """
    num_people = int(person_of_column.max()) + 1
    # Per-person sums over the columns: sort the columns by person, then add.reduceat
    # (memory Q x N, not the Q x N x P of a one-hot product).
    order = np.argsort(person_of_column, kind='stable')
    counts = np.bincount(person_of_column, minlength=num_people).astype(np.float64)
    if np.any(counts == 0):
        raise GalleryError('every person needs at least one embedding')
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.intp)
    grouped = similarities[:, order].astype(np.float64)
    sums = np.add.reduceat(grouped, starts, axis=1)
    squares = np.add.reduceat(grouped ** 2, starts, axis=1)
    means = sums / counts
    valid = np.ones_like(means, dtype=bool)
    if own_person is not None:
        rows = np.flatnonzero(own_person >= 0)
        valid[rows, own_person[rows]] = False
    keep = valid.sum(axis=1) >= 2  # a probe needs two people to compare between
    if keep.sum() < 2:
        raise GalleryError('too few comparisons between different people to estimate how '
                           'similar strangers look: use at least 2 enrolled people and a few '
                           'photos of strangers')
    means, valid = means[keep], valid[keep]
    within = (squares[keep] - counts * means ** 2)
    dof = np.where(valid, counts - 1, 0).sum()
    var_photo = float(np.where(valid, within, 0).sum() / dof) if dof > 0 else 0.0
    var_photo = max(var_photo, 0.0)
    inverse_counts = np.where(valid, 1.0 / counts, 0).sum(axis=1) / valid.sum(axis=1)
    probe_means = np.where(valid, means, 0).sum(axis=1) / valid.sum(axis=1)
    between_people = np.where(valid, (means - probe_means[:, None]) ** 2, 0).sum(axis=1) / \
        (valid.sum(axis=1) - 1)
    var_person = max(float(np.mean(between_people - var_photo * inverse_counts)), 0.0)
    people_per_probe = valid.sum(axis=1)
    var_probe = float(np.var(probe_means, ddof=1) - np.mean(
        (var_person + var_photo * inverse_counts) / people_per_probe))
    units = len(np.unique(unit_of_probe[keep]))
    return _Statistics(float(np.mean(probe_means)), max(var_probe, 0.0), var_person,
                       var_photo, int(keep.sum()), units)


def fit_impostor_model(embeddings: np.ndarray, labels: np.ndarray, source: str = '',
                       extra: dict | None = None) -> ImpostorModel:
    """Impostor model of one camera/dataset: every photo against every other person's."""
    embeddings = np.asarray(embeddings, np.float32)
    labels = _dense_labels(labels)
    stats = _similarity_statistics(embeddings @ embeddings.T, labels, labels, labels)
    return ImpostorModel(stats.mean, math.sqrt(stats.var_probe), math.sqrt(stats.var_person),
                         math.sqrt(stats.var_photo), 0.0, stats.probes, source,
                         dict(extra or {}))


def pool_models(models: Sequence[ImpostorModel], source: str = '', extra: dict | None = None
                ) -> ImpostorModel:
    """
    One model for a camera not seen yet, from models of several cameras/datasets.

    Spreads: variances averaged with the probes as weights (within-camera spreads). Mean:
    the weighted mean, with ``mean_sd`` the spread of the cameras' means around it, i.e.
    how far a new camera's mean may lie (each dataset counts once there, however large).
    """
    if not models:
        raise GalleryError('no impostor models to pool')
    weights = np.array([max(m.probes, 1) for m in models], np.float64)
    weights /= weights.sum()

    def pooled(name: str) -> float:
        return float(math.sqrt(weights @ np.array([getattr(m, name) ** 2 for m in models])))

    means = np.array([m.mean for m in models])
    mean = float(weights @ means)
    mean_sd = float(np.std(means, ddof=1)) if len(models) > 1 else 0.0
    return ImpostorModel(mean, pooled('sd_probe'), pooled('sd_person'), pooled('sd_photo'),
                         mean_sd, int(sum(m.probes for m in models)), source, dict(extra or {}))


def _dense_labels(labels) -> np.ndarray:
    _, dense = np.unique(np.asarray(labels), return_inverse=True)
    return dense.astype(np.intp).reshape(-1)


def _update_mean(prior: ImpostorModel, observed_mean: float, observed_var: float
                 ) -> tuple[float, float]:
    """Normal-normal update of the camera's mean; returns (mean, its remaining sd)."""
    prior_var = prior.mean_sd ** 2
    if prior_var <= 0.0:
        return prior.mean, 0.0
    if observed_var <= 0.0:
        return observed_mean, 0.0
    posterior_var = 1.0 / (1.0 / prior_var + 1.0 / observed_var)
    mean = posterior_var * (prior.mean / prior_var + observed_mean / observed_var)
    return float(mean), float(math.sqrt(posterior_var))


ADAPTATION_ROWS = 2000
"""At most this many enrolled rows go into the gallery's own statistics (an N x N product):
the first photos of each person, so the cost stops growing with the gallery (measured by
benchmarks/gallery_store.py, ``derive``; docs/benchmarks.md)."""


def _subsample(embeddings: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """
    Return the first ``ADAPTATION_ROWS // people`` rows of each person.

    At least one each, and at most ``ADAPTATION_ROWS`` people; deterministic, so a threshold
    is reproducible.
    """
    if labels.size <= ADAPTATION_ROWS:
        return embeddings, labels
    people = int(labels.max()) + 1
    per_person = max(1, ADAPTATION_ROWS // people)
    rank = np.zeros(labels.size, np.intp)
    order = np.argsort(labels, kind='stable')
    first = np.r_[0, np.flatnonzero(np.diff(labels[order])) + 1]
    positions = np.arange(labels.size) - np.repeat(first, np.diff(np.r_[first, labels.size]))
    rank[order] = positions
    keep = (rank < per_person) & (labels < ADAPTATION_ROWS)
    return embeddings[keep], _dense_labels(labels[keep])


def adapt_to_gallery(model: ImpostorModel, embeddings: np.ndarray, labels: np.ndarray
                     ) -> ImpostorModel:
    """
    ``model`` with its mean moved towards the gallery's own between-person similarities.

    The enrolled people are strangers to each other, photographed by the user's camera, so
    their similarities say where this camera's impostor mean lies. Each person counts as one
    independent unit for the uncertainty of that estimate (their photos are correlated):
    ``var = (sd_probe^2 + sd_person^2) / people``. Fewer than 2 people: no change.
    """
    labels = _dense_labels(labels)
    if model.mean_sd <= 0.0 or labels.size == 0 or labels.max() < 1:
        return model
    embeddings, labels = _subsample(np.asarray(embeddings, np.float32), labels)
    try:
        stats = _similarity_statistics(embeddings @ embeddings.T, labels, labels, labels)
    except GalleryError:
        return model
    observed_var = (model.sd_probe ** 2 + model.sd_person ** 2) / stats.units
    mean, mean_sd = _update_mean(model, stats.mean, observed_var)
    return ImpostorModel(mean, model.sd_probe, model.sd_person, model.sd_photo, mean_sd,
                         model.probes, model.source, model.extra)


# ------------------------------------------------------------------- bundled models
@lru_cache(maxsize=1)
def _bundled_models() -> dict:
    try:
        with open(IMPOSTOR_MODELS_FILE, encoding='utf-8') as handle:
            return json.load(handle).get('models', {})
    except (OSError, ValueError):
        return {}


def bundled_model_ids() -> list[str]:
    """Return the embedding models that come with a fitted impostor model."""
    return sorted(_bundled_models())


def bundled_impostor_model(model_id: str) -> ImpostorModel | None:
    """Return the shipped impostor model of embedder ``model_id``, or None when none was fitted."""
    data = _bundled_models().get(str(model_id))
    return None if data is None else ImpostorModel.from_dict(data)


# ------------------------------------------------------------- the gallery's threshold
@dataclass(frozen=True)
class OperatingPoint:
    """The threshold a gallery uses, and why."""

    threshold: float
    source: str
    """'calibrated' (from strangers), 'impostor model' (bundled), or 'fixed' (no model)."""
    target_false_name_rate: float
    expected_false_name_rate: float | None
    """What the model predicts at ``threshold`` for this gallery (None without a model)."""

    def to_dict(self) -> dict:
        return asdict(self)


def operating_point(model_id: str, embeddings: np.ndarray, labels: np.ndarray,
                    target_false_name_rate: float = DEFAULT_MAX_FALSE_NAME_RATE,
                    calibration: dict | None = None, fixed_threshold: float = 0.363,
                    prior: ImpostorModel | None = None) -> OperatingPoint:
    """
    Return the threshold of a gallery as it is: the call to re-make on every enroll and forget.

    ``embeddings`` (N, D) and ``labels`` (N,) are the enrolled rows and their person;
    ``calibration`` the dict ``calibrate`` returned (stored in the gallery) or None (a dict
    with only ``fixed_threshold``: the user fixed the threshold, nothing is derived);
    ``fixed_threshold`` what to use when neither a calibration nor a bundled model exists
    for ``model_id`` (the embedder's own threshold); ``prior`` replaces the bundled model
    (benchmarks use it to test a model fitted without the data they measure on).
    """
    target = check_rate(target_false_name_rate)
    margin = 0.0
    if calibration and calibration.get('fixed_threshold') is not None:
        return OperatingPoint(float(calibration['fixed_threshold']), 'fixed', target, None)
    if calibration:
        model = calibration_model(calibration, model_id)
        margin = float(calibration.get('margin', 0.0))
        source = 'calibrated'
    else:
        model = prior if prior is not None else bundled_impostor_model(model_id)
        source = 'impostor model'
    if model is None:
        return OperatingPoint(float(fixed_threshold), 'fixed', target, None)
    labels = _dense_labels(labels)
    counts = np.bincount(labels).tolist() if labels.size else []
    if not counts:
        return OperatingPoint(float(fixed_threshold), source, target, None)
    model = adapt_to_gallery(model, embeddings, labels)
    threshold = operating_threshold(counts, target, model)
    threshold = float(min(threshold + margin, 1.0))
    return OperatingPoint(threshold, source, target,
                          false_name_rate(threshold, counts, model))


def calibration_model(calibration: dict, model_id: str) -> ImpostorModel:
    """
    Return the impostor model stored in a calibration.

    Refuses one made for another embedder.
    """
    if not isinstance(calibration, dict) or 'impostor_model' not in calibration:
        raise GalleryError('the stored calibration has no impostor model: run calibrate again')
    if calibration.get('model_id') not in (None, model_id):
        raise GalleryError(
            f'the stored calibration was made for {calibration.get("model_id")!r}, not '
            f'{model_id!r}: run calibrate again with photos of strangers')
    return ImpostorModel.from_dict(calibration['impostor_model'])


# ------------------------------------------------------------------------ calibrate
def stranger_best_similarities(embeddings: np.ndarray, stranger_embeddings: np.ndarray
                               ) -> np.ndarray:
    """Best similarity of each stranger to any enrolled embedding: named when >= threshold."""
    if len(embeddings) == 0 or len(stranger_embeddings) == 0:
        return np.zeros(len(stranger_embeddings), np.float32)
    return (np.asarray(stranger_embeddings, np.float32) @
            np.asarray(embeddings, np.float32).T).max(axis=1)


def empirical_rate(best_similarities: np.ndarray, threshold: float) -> float:
    best = np.asarray(best_similarities)
    return float(np.mean(best >= threshold)) if best.size else 0.0


def calibrate(model_id: str, embeddings: np.ndarray, labels: np.ndarray,
              stranger_embeddings: np.ndarray,
              target_false_name_rate: float = DEFAULT_MAX_FALSE_NAME_RATE,
              stranger_groups: np.ndarray | None = None,
              prior: ImpostorModel | None = None, threshold_before: float | None = None
              ) -> dict:
    """
    Build a calibration (JSON dict) from photos of people who are not enrolled.

    The strangers' similarities to the enrolled people give this camera's impostor model:
    the mean updates the prior's (the bundled model, when there is one) with each stranger
    group counting as a unit; the spreads pool the prior's with the strangers' (weighted by
    probe photos). If that model still names more than the target share of these strangers
    with this gallery, ``margin`` raises every future threshold by what it takes. The
    calibration stays valid when people are enrolled or forgotten later: the threshold is
    re-derived from it by ``operating_point``.

    ``stranger_groups``: the person of each stranger photo when known (photos of one person
    are not independent); None treats each photo as its own person. ``prior`` replaces
    the bundled model; ``threshold_before`` the threshold the gallery used until now (for
    the report; default: the one ``operating_point`` derives without a calibration).
    """
    target = check_rate(target_false_name_rate)
    embeddings = np.asarray(embeddings, np.float32)
    strangers = np.asarray(stranger_embeddings, np.float32)
    labels = _dense_labels(labels)
    if strangers.ndim != 2 or strangers.shape[0] < 2:
        raise GalleryError('calibrate needs photos of at least 2 faces of people who are not '
                           'enrolled (better: 50 or more, of several people)')
    if labels.size == 0 or labels.max() < 1:
        raise GalleryError('calibrate needs a gallery of at least 2 enrolled people: enroll '
                           'them first')
    groups = np.arange(len(strangers)) if stranger_groups is None else \
        _dense_labels(stranger_groups)
    if threshold_before is None:
        threshold_before = operating_point(model_id, embeddings, labels, target,
                                           prior=prior).threshold
    stats = _similarity_statistics(strangers @ embeddings.T, labels, None, groups)
    prior = prior if prior is not None else bundled_impostor_model(model_id)
    observed_var = (stats.var_probe + stats.var_person) / stats.units
    if prior is None:
        model = ImpostorModel(stats.mean, math.sqrt(stats.var_probe),
                              math.sqrt(stats.var_person), math.sqrt(stats.var_photo),
                              math.sqrt(observed_var), stats.probes, 'calibrate')
    else:
        mean, mean_sd = _update_mean(prior, stats.mean, max(observed_var, 1e-12))
        weight = stats.probes / (stats.probes + max(prior.probes, 1))

        def pooled(prior_sd: float, observed: float) -> float:
            return math.sqrt((1 - weight) * prior_sd ** 2 + weight * observed)

        model = ImpostorModel(mean, pooled(prior.sd_probe, stats.var_probe),
                              pooled(prior.sd_person, stats.var_person),
                              pooled(prior.sd_photo, stats.var_photo), mean_sd,
                              prior.probes + stats.probes, 'calibrate')
    counts = np.bincount(labels).tolist()
    adapted = adapt_to_gallery(model, embeddings, labels)
    model_threshold = operating_threshold(counts, target, adapted)
    best = stranger_best_similarities(embeddings, strangers)
    # The smallest threshold that names at most the target share of these strangers.
    allowed = int(math.floor(target * len(best)))
    ordered = np.sort(best)[::-1]
    empirical_threshold = float(np.nextafter(ordered[allowed], np.float32(2.0))) \
        if allowed < len(ordered) else -1.0
    margin = max(0.0, empirical_threshold - model_threshold)
    threshold = min(model_threshold + margin, 1.0)
    return {
        'version': CALIBRATION_VERSION,
        'model_id': model_id,
        'impostor_model': model.to_dict(),
        'margin': margin,
        'target_false_name_rate': target,
        'strangers': int(len(strangers)),
        'stranger_people': int(len(np.unique(groups))),
        'people_at_calibration': int(len(counts)),
        'embeddings_at_calibration': int(len(labels)),
        'threshold_before': threshold_before,
        'rate_before': empirical_rate(best, threshold_before),
        'threshold_after': threshold,
        'rate_after': empirical_rate(best, threshold),
    }


# ------------------------------------------------------------------- gallery glue
def gallery_rows(gallery) -> tuple[np.ndarray, np.ndarray]:
    """(embeddings (N, D), person index (N,)) of a gallery: its own matrix, no copy."""
    if not len(gallery):
        return np.zeros((0, 0), np.float32), np.zeros(0, np.intp)
    return gallery.embeddings, np.asarray(gallery.labels, np.intp)


def gallery_operating_point(gallery, target_false_name_rate: float | None = None,
                            calibration: dict | None = None,
                            fixed_threshold: float = 0.363) -> OperatingPoint:
    """
    ``operating_point`` of a ``Gallery`` as it is (its rows, people and model id).

    ``target_false_name_rate`` None: the calibration's target, else the default 1 %.
    """
    if target_false_name_rate is None:
        target_false_name_rate = (calibration or {}).get(
            'target_false_name_rate', DEFAULT_MAX_FALSE_NAME_RATE)
    embeddings, labels = gallery_rows(gallery)
    return operating_point(gallery.model_id, embeddings, labels, target_false_name_rate,
                           calibration, fixed_threshold)


def describe_operating_point(point: OperatingPoint) -> str:
    """Describe the threshold and where it comes from, in one line for logs and the CLI."""
    if point.expected_false_name_rate is None:
        return f'threshold {point.threshold:.4f} ({point.source})'
    return (f'threshold {point.threshold:.4f} ({point.source}; about '
            f'{100 * point.expected_false_name_rate:.2g} % of strangers named, target '
            f'{100 * point.target_false_name_rate:g} %)')


def matching_gallery(gallery, target_false_name_rate: float | None = None,
                     fixed_threshold: float | None = None):
    """
    Return the stored ``gallery`` at its operating point, for matching; and that point.

    Every store keeps the embedder's own threshold and the calibration (``calibrate``)
    inside the gallery; the threshold used to name faces is derived from both and from the
    gallery as it is, by whoever loads it (the CLI, each node, each robot of a fleet), so
    they all agree and an enroll or forget anywhere moves it everywhere. Deriving is pure:
    nothing is written. ``fixed_threshold`` (the CLI's ``--threshold``, the node's
    ``match_threshold``) skips the derivation for this run.
    """
    if fixed_threshold is not None:
        target = check_rate(DEFAULT_MAX_FALSE_NAME_RATE if target_false_name_rate is None
                            else target_false_name_rate)
        point = OperatingPoint(float(fixed_threshold), 'fixed', target, None)
    else:
        if target_false_name_rate is not None:
            check_rate(target_false_name_rate)
        point = gallery_operating_point(gallery, target_false_name_rate,
                                        dict(gallery.calibration) or None, gallery.threshold)
    return gallery.with_threshold(point.threshold), point


__all__ = [
    'DEFAULT_MAX_FALSE_NAME_RATE', 'ImpostorModel', 'OperatingPoint', 'adapt_to_gallery',
    'bundled_impostor_model', 'bundled_model_ids', 'calibrate', 'calibration_model', 'check_rate',
    'describe_operating_point', 'empirical_rate', 'false_name_rate', 'fit_impostor_model',
    'gallery_operating_point', 'gallery_rows', 'matching_gallery', 'operating_point',
    'operating_threshold', 'pool_models', 'stranger_best_similarities',
]
