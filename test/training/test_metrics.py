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

"""The evaluation metrics on scores and embeddings built to have known answers."""

from face_recognition_ros.evaluation import (
    closed_set_top1, kfold_accuracy, open_set_tpir, person_scores, roc_auc, roc_curve,
    split_identification, tar_at_far, threshold_at_fpir, threshold_keeping, tpir_fpir_curve
)
import numpy as np
import pytest


def unit(vectors):
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_roc_auc_perfect_inverted_and_ties():
    same = np.array([1, 1, 0, 0], bool)
    assert roc_auc([0.9, 0.8, 0.1, 0.2], same) == 1.0
    assert roc_auc([0.1, 0.2, 0.9, 0.8], same) == 0.0
    # every score equal: a coin flip
    assert roc_auc([0.5] * 4, same) == 0.5
    # one of the 4 (pos, neg) orderings wrong: 3/4
    assert roc_auc([0.9, 0.3, 0.5, 0.1], same) == pytest.approx(0.75)


def test_roc_curve_steps_through_every_distinct_score():
    far, tar, thresholds = roc_curve([0.9, 0.7, 0.7, 0.2], [True, True, False, False])
    assert thresholds[0] == np.inf
    # at 0.9: 1 of 2 same accepted; at 0.7 (a tie of a same and a different): both move
    np.testing.assert_allclose(tar, [0, 0.5, 1.0, 1.0])
    np.testing.assert_allclose(far, [0, 0.0, 0.5, 1.0])


def test_threshold_at_fpir_never_exceeds_the_rate_even_with_ties():
    negatives = np.array([0.9, 0.9, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0, -0.1, -0.2])
    t = threshold_at_fpir(negatives, 0.1)  # one of ten may pass, but the top two tie
    assert np.mean(negatives >= t) == 0.0
    t = threshold_at_fpir(negatives, 0.2)  # two may pass: the tied pair
    assert np.mean(negatives >= t) == pytest.approx(0.2)
    assert t > 0.5
    assert threshold_at_fpir(negatives, 1.0) == -np.inf


def test_threshold_keeping_keeps_at_least_the_fraction():
    scores = np.linspace(0, 1, 101)
    t = threshold_keeping(scores, 0.95)
    assert np.mean(scores >= t) >= 0.95
    assert np.mean(scores >= t + 0.011) < 0.95  # and is the highest such threshold


def test_tar_at_far_on_separable_and_overlapping_scores():
    same = np.r_[np.ones(5, bool), np.zeros(1000, bool)]
    negatives = np.linspace(-0.5, 0.5, 1000)
    result = tar_at_far(np.r_[[0.9, 0.8, 0.7, 0.45, 0.2], negatives], same, 1e-3)
    # 1 of 1000 negatives may pass: the threshold sits just above the 2nd highest (~0.499)
    assert result['far'] <= 1e-3
    assert result['tar'] == pytest.approx(3 / 5)


def test_kfold_accuracy_separable_is_perfect_and_noise_is_not():
    rng = np.random.default_rng(0)
    same = np.arange(200) % 4 == 0
    scores = np.where(same, 0.8, 0.1) + rng.normal(0, 0.05, 200)
    assert kfold_accuracy(scores, same)['mean'] == 1.0
    noise = kfold_accuracy(rng.normal(0, 1, 200), same)['mean']
    assert noise < 0.85  # the majority class alone gives 0.75


def test_identification_on_constructed_embeddings():
    # 3 people along orthogonal axes, probes near their own axis, one probe of person 2
    # placed nearer person 0; strangers along a fourth axis with a little leakage.
    gallery = unit(np.eye(4)[[0, 0, 1, 2]] + 0.01)
    labels = np.array([0, 0, 1, 2])
    probes = unit([[1, 0.1, 0, 0], [0, 1, 0.1, 0], [0, 0.1, 1, 0], [1, 0, 0.8, 0]])
    probe_labels = np.array([0, 1, 2, 2])
    strangers = unit([[0.1, 0, 0, 1], [0, 0.5, 0, 1]])
    known = person_scores(probes, gallery, labels, 3)
    unknown = person_scores(strangers, gallery, labels, 3)
    assert known.shape == (4, 3)
    assert closed_set_top1(known, probe_labels) == pytest.approx(3 / 4)
    # strangers' best scores: ~0.1 and ~0.45; at FPIR 0 the threshold clears 0.45, and
    # the three correctly ranked probes all score > 0.99, so TPIR is 3/4
    result = open_set_tpir(known, probe_labels, unknown, 0.0)
    assert result['fpir'] == 0.0
    assert result['tpir'] == pytest.approx(3 / 4)
    fpir, tpir = tpir_fpir_curve(known, probe_labels, unknown)
    assert fpir[0] == 0 and tpir[0] == 0 and fpir[-1] == 1.0
    assert tpir.max() == pytest.approx(3 / 4)


def test_a_probe_without_a_face_is_a_miss():
    scores = np.array([[0.9, 0.1], [-np.inf, -np.inf]])
    assert closed_set_top1(scores, [0, 1]) == 0.5


def test_split_identification_is_seeded_and_disjoint(tmp_path):
    people = {f'p{i}': [tmp_path / f'{i}_{j}.png' for j in range(4)] for i in range(8)}
    a = split_identification(people, 2, 0.25, seed=3)
    b = split_identification(people, 2, 0.25, seed=3)
    assert a.unknown == b.unknown and len(a.unknown) == 2
    assert not set(a.unknown) & set(a.known)
    assert all(len(a.enroll[n]) == 2 and len(a.probes[n]) == 2 for n in a.known)
    assert len(a.stranger_photos) == 8
