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
Accuracy metrics of ``evaluate``: pure numpy on scores, with unit tests.

Verification (ROC, TAR at FAR, k-fold accuracy) and open-set identification (closed-set
top-1, TPIR at FPIR, the rates at a deployed threshold).
"""

from __future__ import annotations

import numpy as np


def threshold_at_fpir(negative_scores, rate: float) -> float:
    """
    Lowest threshold t with mean(negative_scores >= t) <= rate.

    Accepting means ``score >= t``. With n negatives, at most floor(rate * n) of them may
    pass; t is placed just above the next one, so ties can never push the rate over.
    Without negatives there is nothing to bound: returns -inf.
    """
    negatives = np.sort(np.asarray(negative_scores, dtype=np.float64))[::-1]
    negatives = negatives[np.isfinite(negatives)] if negatives.size else negatives
    if negatives.size == 0:
        return float('-inf')
    allowed = int(np.floor(rate * len(negatives) + 1e-9))
    if allowed >= len(negatives):
        return float('-inf')
    return float(np.nextafter(negatives[allowed], np.inf))


def threshold_keeping(scores, keep: float) -> float:
    """Highest threshold t with mean(scores >= t) >= keep (e.g. keep 95 % of genuine scores)."""
    values = np.sort(np.asarray(scores, dtype=np.float64))
    if values.size == 0:
        raise ValueError('no scores to calibrate a threshold on')
    index = int(np.floor((1.0 - keep) * len(values) + 1e-9))
    return float(values[min(index, len(values) - 1)])


def roc_curve(scores, is_same):
    """
    (far, tar, thresholds) for every distinct score, from strictest to loosest.

    The first point is (0, 0) at threshold +inf; accepting means ``score >= threshold``.
    """
    scores = np.asarray(scores, dtype=np.float64)
    is_same = np.asarray(is_same, dtype=bool)
    n_pos, n_neg = int(is_same.sum()), int((~is_same).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError('a ROC needs both same and different pairs')
    order = np.argsort(-scores, kind='stable')
    sorted_scores, sorted_same = scores[order], is_same[order]
    tp = np.cumsum(sorted_same)
    fp = np.cumsum(~sorted_same)
    # keep the last index of each run of equal scores: a threshold accepts all ties
    last = np.r_[np.diff(sorted_scores) != 0, True]
    far = np.r_[0.0, fp[last] / n_neg]
    tar = np.r_[0.0, tp[last] / n_pos]
    thresholds = np.r_[np.inf, sorted_scores[last]]
    return far, tar, thresholds


def roc_auc(scores, is_same) -> float:
    """P(score of a same pair > score of a different pair), ties counting one half."""
    scores = np.asarray(scores, dtype=np.float64)
    is_same = np.asarray(is_same, dtype=bool)
    positives, negatives = scores[is_same], np.sort(scores[~is_same])
    if positives.size == 0 or negatives.size == 0:
        raise ValueError('ROC AUC needs both same and different pairs')
    below = np.searchsorted(negatives, positives, side='left')
    equal = np.searchsorted(negatives, positives, side='right') - below
    return float((below + 0.5 * equal).sum() / (positives.size * negatives.size))


def tar_at_far(scores, is_same, far: float) -> dict:
    """TAR at the lowest threshold whose FAR is <= ``far``, and what FAR that really is."""
    scores = np.asarray(scores, dtype=np.float64)
    is_same = np.asarray(is_same, dtype=bool)
    threshold = threshold_at_fpir(scores[~is_same], far)
    return {'tar': float(np.mean(scores[is_same] >= threshold)),
            'far': float(np.mean(scores[~is_same] >= threshold)),
            'threshold': threshold, 'target_far': far,
            'far_resolution': 1.0 / max(int((~is_same).sum()), 1)}


def best_accuracy_threshold(scores, is_same) -> float:
    """Threshold maximising accuracy (accept ``score >= t``), among midpoints of scores."""
    values = np.unique(np.asarray(scores, dtype=np.float64))
    candidates = np.r_[values[0] - 1e-6, (values[:-1] + values[1:]) / 2, values[-1] + 1e-6]
    accepted = np.asarray(scores)[None, :] >= candidates[:, None]
    accuracy = (accepted == np.asarray(is_same, dtype=bool)[None, :]).mean(axis=1)
    return float(candidates[int(np.argmax(accuracy))])


def kfold_accuracy(scores, is_same, folds: int = 10) -> dict:
    """
    LFW-style k-fold accuracy: threshold from k-1 folds, accuracy on the held-out one.

    Fold of pair i is ``i % folds`` (deterministic; interleaving keeps same pairs in every
    fold when the file lists them first).
    """
    scores = np.asarray(scores, dtype=np.float64)
    is_same = np.asarray(is_same, dtype=bool)
    fold_of = np.arange(len(scores)) % folds
    accuracies, thresholds = [], []
    for fold in range(folds):
        test = fold_of == fold
        if not test.any():
            continue
        threshold = best_accuracy_threshold(scores[~test], is_same[~test])
        accuracies.append(float(((scores[test] >= threshold) == is_same[test]).mean()))
        thresholds.append(threshold)
    return {'mean': float(np.mean(accuracies)), 'std': float(np.std(accuracies)),
            'folds': accuracies, 'thresholds': thresholds}


def person_scores(probe_embeddings, gallery_embeddings, gallery_labels, num_people: int):
    """(Q, P) best cosine similarity of each probe to each person's enrolled embeddings."""
    probes = np.asarray(probe_embeddings, dtype=np.float32)
    gallery = np.asarray(gallery_embeddings, dtype=np.float32)
    labels = np.asarray(gallery_labels)
    sims = probes @ gallery.T
    out = np.full((probes.shape[0], num_people), -np.inf, dtype=np.float32)
    for person in range(num_people):
        columns = labels == person
        if columns.any():
            out[:, person] = sims[:, columns].max(axis=1)
    return out


def closed_set_top1(scores, labels) -> float:
    """Fraction of probes whose best-scoring person is their own (rows of -inf miss)."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels)
    if scores.shape[0] == 0:
        return float('nan')
    hit = (scores.argmax(axis=1) == labels) & np.isfinite(scores.max(axis=1))
    return float(hit.mean())


def tpir_at_threshold(known_scores, known_labels, threshold: float) -> float:
    """Fraction of known probes named correctly: own person best AND score >= threshold."""
    scores = np.asarray(known_scores, dtype=np.float64)
    if scores.shape[0] == 0:
        return float('nan')
    best = scores.max(axis=1)
    return float(((scores.argmax(axis=1) == np.asarray(known_labels)) & (best >= threshold)
                  & np.isfinite(best)).mean())


def fpir_at_threshold(unknown_scores, threshold: float) -> float:
    """Fraction of stranger probes given a name (best score >= threshold)."""
    scores = np.asarray(unknown_scores, dtype=np.float64)
    if scores.shape[0] == 0:
        return float('nan')
    best = scores.max(axis=1)
    return float(((best >= threshold) & np.isfinite(best)).mean())


def open_set_tpir(known_scores, known_labels, unknown_scores, fpir: float) -> dict:
    """TPIR at the lowest threshold that names at most ``fpir`` of the strangers."""
    unknown_best = np.asarray(unknown_scores, dtype=np.float64).max(axis=1)
    threshold = threshold_at_fpir(unknown_best[np.isfinite(unknown_best)], fpir)
    return {'tpir': tpir_at_threshold(known_scores, known_labels, threshold),
            'fpir': fpir_at_threshold(unknown_scores, threshold), 'target_fpir': fpir,
            'threshold': threshold, 'fpir_resolution': 1.0 / max(len(unknown_best), 1)}


def tpir_fpir_curve(known_scores, known_labels, unknown_scores):
    """(fpir, tpir) over every threshold, for the open-set plot."""
    known = np.asarray(known_scores, dtype=np.float64)
    unknown_best = np.asarray(unknown_scores, dtype=np.float64).max(axis=1)
    thresholds = np.unique(np.r_[known.max(axis=1), unknown_best])
    thresholds = np.r_[np.inf, thresholds[np.isfinite(thresholds)][::-1]]
    fpir = np.array([fpir_at_threshold(unknown_scores, t) for t in thresholds])
    tpir = np.array([tpir_at_threshold(known, known_labels, t) for t in thresholds])
    return fpir, tpir


def identification_metrics(known_scores, known_labels, unknown_scores, deployed_threshold,
                           fpirs=(0.01, 0.1)) -> dict:
    result = {'closed_set_top1': closed_set_top1(known_scores, known_labels)}
    for rate in fpirs:
        result[f'tpir_at_fpir_{rate:g}'] = open_set_tpir(known_scores, known_labels,
                                                         unknown_scores, rate)
    result['at_deployed_threshold'] = {
        'threshold': deployed_threshold,
        'tpir': tpir_at_threshold(known_scores, known_labels, deployed_threshold),
        'fpir': fpir_at_threshold(unknown_scores, deployed_threshold)}
    return result
