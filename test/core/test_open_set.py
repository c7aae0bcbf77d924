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
The open-set operating point (core/open_set.py): the rule, its fit and its calibration.

Synthetic similarities are drawn from the three-level model the rule assumes, with known
parameters, so the tests can check the arithmetic against a simulation; the real SFace
model and photos are used where the bundled constants matter.
"""

from __future__ import annotations

import json

from face_recognition_ros.core import open_set
from face_recognition_ros.core.errors import GalleryError
from face_recognition_ros.core.open_set import ImpostorModel
import numpy as np
import pytest

MODEL = ImpostorModel(mean=0.08, sd_probe=0.02, sd_person=0.085, sd_photo=0.045)
SFACE_ID = next(iter(open_set._bundled_models()))


def simulate_best(rng, model, people, photos, strangers):
    """Best similarity of each simulated stranger photo to a P x K gallery (the model)."""
    b = rng.normal(0, model.sd_probe, (strangers, 1, 1))
    c = rng.normal(0, model.sd_person, (strangers, people, 1))
    e = rng.normal(0, model.sd_photo, (strangers, people, photos))
    return (model.mean + b + c + e).reshape(strangers, -1).max(axis=1)


def test_threshold_grows_with_people_and_photos_per_person():
    thresholds = {(p, k): open_set.operating_threshold([k] * p, 0.01, MODEL)
                  for p in (1, 5, 30, 300) for k in (1, 5, 10)}
    for k in (1, 5, 10):
        assert thresholds[(1, k)] < thresholds[(5, k)] < thresholds[(30, k)] < \
            thresholds[(300, k)]
    for p in (1, 5, 30, 300):
        assert thresholds[(p, 1)] < thresholds[(p, 5)] < thresholds[(p, 10)]
    # photos of one person are correlated: 30 x 10 is far from 300 independent chances
    assert thresholds[(30, 10)] < thresholds[(300, 1)]
    # a stricter target needs a higher threshold
    assert open_set.operating_threshold([5] * 30, 0.001, MODEL) > thresholds[(30, 5)]


@pytest.mark.parametrize('people, photos', [(5, 5), (30, 10)])
def test_simulated_strangers_are_named_at_the_target_rate(people, photos):
    rng = np.random.default_rng(people)
    threshold = open_set.operating_threshold([photos] * people, 0.01, MODEL)
    best = simulate_best(rng, MODEL, people, photos, strangers=40_000)
    rate = float(np.mean(best >= threshold))
    assert 0.008 <= rate <= 0.012  # 0.01 +- 4 binomial standard errors
    assert open_set.false_name_rate(threshold, [photos] * people, MODEL) == \
        pytest.approx(0.01, rel=1e-3)


def test_fit_recovers_the_spreads_of_simulated_impostors():
    rng = np.random.default_rng(1)
    probes, people, photos = 400, 40, 10
    truth = ImpostorModel(mean=0.1, sd_probe=0.03, sd_person=0.08, sd_photo=0.05)
    b = rng.normal(0, truth.sd_probe, (probes, 1, 1))
    c = rng.normal(0, truth.sd_person, (probes, people, 1))
    e = rng.normal(0, truth.sd_photo, (probes, people, photos))
    similarities = (truth.mean + b + c + e).reshape(probes, -1)
    columns = np.repeat(np.arange(people), photos)
    stats = open_set._similarity_statistics(similarities, columns, None, np.arange(probes))
    assert stats.mean == pytest.approx(0.1, abs=0.01)
    assert np.sqrt(stats.var_probe) == pytest.approx(0.03, abs=0.006)
    assert np.sqrt(stats.var_person) == pytest.approx(0.08, abs=0.005)
    assert np.sqrt(stats.var_photo) == pytest.approx(0.05, abs=0.002)


def _unit(rows):
    rows = np.asarray(rows, np.float64)
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def test_a_gallery_of_lookalikes_raises_its_threshold():
    """The gallery's own between-person similarities move the camera's mean."""
    rng = np.random.default_rng(2)
    labels = np.repeat(np.arange(8), 4)
    people = rng.normal(size=(8, 128))
    apart = _unit(people[labels] + 0.5 * rng.normal(size=(32, 128)))
    shared = rng.normal(size=128) * 1.2  # every person shares a component: lookalikes
    alike = _unit(people[labels] + shared + 0.5 * rng.normal(size=(32, 128)))
    prior = open_set.bundled_impostor_model(SFACE_ID)
    low = open_set.operating_point(SFACE_ID, apart, labels).threshold
    high = open_set.operating_point(SFACE_ID, alike, labels).threshold
    assert high > low + 0.05
    adapted = open_set.adapt_to_gallery(prior, alike, labels)
    assert adapted.mean > prior.mean and adapted.mean_sd < prior.mean_sd


def test_bundled_sface_model_has_provenance_and_other_embedders_keep_a_fixed_threshold():
    model = open_set.bundled_impostor_model(SFACE_ID)
    assert SFACE_ID.startswith('sface-') and model.probes > 100
    assert 'fit_impostor_model' in model.source and model.extra['datasets']
    rng = np.random.default_rng(3)
    embeddings, labels = _unit(rng.normal(size=(6, 16))), np.repeat(np.arange(3), 2)
    point = open_set.operating_point('classifier-0123', embeddings, labels,
                                     fixed_threshold=0.7)
    assert (point.threshold, point.source, point.expected_false_name_rate) == \
        (0.7, 'fixed', None)


def test_calibrate_raises_the_threshold_until_the_strangers_are_not_named():
    rng = np.random.default_rng(4)
    labels = np.repeat(np.arange(5), 5)
    people = rng.normal(size=(5, 128))
    gallery = _unit(people[labels] + 0.6 * rng.normal(size=(25, 128)))
    # strangers who resemble enrolled person 0 a lot (a sibling, the same uniform...)
    strangers = _unit(people[0] * 0.9 + rng.normal(size=(40, 128)))
    best = open_set.stranger_best_similarities(gallery, strangers)
    before = open_set.operating_point(SFACE_ID, gallery, labels).threshold
    assert np.mean(best >= before) > 0.05  # the hazard: many of them named
    calibration = open_set.calibrate(SFACE_ID, gallery, labels, strangers, 0.01)
    assert calibration['rate_before'] == pytest.approx(np.mean(best >= before))
    assert calibration['rate_after'] <= 0.01
    assert calibration['threshold_after'] > before
    assert json.loads(json.dumps(calibration)) == calibration  # stored as JSON
    point = open_set.operating_point(SFACE_ID, gallery, labels, calibration=calibration)
    assert point.source == 'calibrated'
    assert point.threshold == pytest.approx(calibration['threshold_after'])
    assert np.mean(best >= point.threshold) <= 0.01
    # enrolling more people later: the threshold is re-derived from the calibration, higher
    more_labels = np.repeat(np.arange(10), 5)
    more = np.concatenate([gallery, _unit(rng.normal(size=(5, 128))[np.repeat(
        np.arange(5), 5)] + 0.6 * rng.normal(size=(25, 128)))])
    grown = open_set.operating_point(SFACE_ID, more, more_labels, calibration=calibration)
    assert grown.threshold > point.threshold


def test_bad_rates_and_tiny_galleries_are_refused_with_what_to_do():
    with pytest.raises(GalleryError, match='between 0 and 1'):
        open_set.check_rate(1.5)
    with pytest.raises(GalleryError, match='between 0 and 1'):
        open_set.operating_threshold([5], float('nan'), MODEL)
    one_person = _unit(np.random.default_rng(5).normal(size=(3, 8)))
    with pytest.raises(GalleryError, match='at least 2 enrolled people'):
        open_set.calibrate(SFACE_ID, one_person, np.zeros(3), one_person, 0.01)
    empty = open_set.operating_point(SFACE_ID, np.zeros((0, 8), np.float32), np.zeros(0))
    assert empty.threshold == 0.363 and empty.expected_false_name_rate is None


def test_large_galleries_use_a_deterministic_subsample_of_their_own_pairs():
    rng = np.random.default_rng(6)
    labels = np.repeat(np.arange(1500), 4)
    rows = _unit(rng.normal(size=(labels.size, 16)))
    kept, kept_labels = open_set._subsample(rows, labels)
    assert len(kept) <= open_set.ADAPTATION_ROWS
    assert np.array_equal(np.unique(kept_labels), np.arange(1500))  # everyone, once
    again, _ = open_set._subsample(rows, labels)
    assert np.array_equal(kept, again)
    point = open_set.operating_point(SFACE_ID, rows, labels)
    assert point.threshold > open_set.operating_point(SFACE_ID, rows[:40],
                                                      labels[:40]).threshold
