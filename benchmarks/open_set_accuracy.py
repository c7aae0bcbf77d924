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
Strangers named and known people named right, on leave-people-out splits.

The table of ``docs/accuracy.md`` (section "Open set: an operating point for any gallery").

    python benchmarks/open_set_accuracy.py --data-root ../shared/data   # ~1 min, 2 cores

For every labelled folder of ``../shared/data`` with at least 5 people
(``benchmarks/open_set_data.py``; embeddings from the pipeline users run, cached), and
every gallery size it allows (5, 10, 30 people, at most all but one; 5 and 10 photos per
person, at most all but one photo), ``--seeds`` random splits: the enrolled people give K
photos each to the gallery and the rest as probes that must get their name; the photos
of everyone else are strangers that must stay ``unknown``. Columns:

- before: the fixed threshold 0.363 of the old default;
- after: the shipped default, ``open_set.operating_point`` (bundled impostor model +
  the gallery's own between-person pairs, target ``--rate``);
- held-out model: the same rule with the impostor model fitted **without this dataset**
  (``training.fit_impostor_model --leave-out``): how the rule does on a camera and people
  its constants never saw, the case that matters for users;
- calibrated: ``open_set.calibrate`` with the photos of half the strangers' people, measured
  on the other half (only where at least 4 people are left as strangers).

A second table compares simpler rules tried first, same splits, same bundled numbers (mean
and total spread of the impostor similarities, no gallery adaptation): every comparison
independent (``1 - (1 - r)^N = target`` with N = enrolled embeddings), and one independent
chance per person (N = people).
"""

from __future__ import annotations

import argparse
from pathlib import Path
import sys
import time

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / 'benchmarks'))
sys.path.insert(0, str(REPO))

from face_recognition_ros.core import open_set  # noqa: E402
import numpy as np  # noqa: E402
from open_set_data import DEFAULT_CACHE, DEFAULT_DATA_ROOT, load_embeddings  # noqa: E402

FIXED_THRESHOLD = 0.363
GALLERY_PEOPLE = (5, 10, 30)
GALLERY_PHOTOS = (5, 10)
MIN_PEOPLE = 5


class Tally:
    """Counts of one method over all splits of one configuration."""

    def __init__(self):
        self.strangers = self.strangers_named = self.known = self.known_right = 0
        self.thresholds = []

    def add(self, threshold, stranger_best, known_scores, known_best, known_truth):
        self.thresholds.append(threshold)
        self.strangers += len(stranger_best)
        self.strangers_named += int(np.sum(stranger_best >= threshold))
        self.known += len(known_truth)
        self.known_right += int(np.sum((known_scores >= threshold) & (known_best == known_truth)))

    def row(self) -> list[str]:
        if not self.strangers:
            return ['-', '-', '-']
        return [f'{100 * self.strangers_named / self.strangers:.2f} %',
                f'{100 * self.known_right / max(self.known, 1):.2f} %',
                f'{np.mean(self.thresholds):.3f}']


def split(rng, labels, people, k):
    """Enrolled people's rows (K each), their probe rows, and the strangers' rows."""
    enrolled = rng.choice(people, size=k[0], replace=False)
    gallery_rows, gallery_labels, probe_rows, probe_labels = [], [], [], []
    for index, person in enumerate(enrolled):
        rows = rng.permutation(np.flatnonzero(labels == person))
        take = min(k[1], len(rows) - 1)
        gallery_rows += list(rows[:take])
        gallery_labels += [index] * take
        probe_rows += list(rows[take:])
        probe_labels += [index] * (len(rows) - take)
    strangers = np.setdiff1d(people, enrolled)
    return (np.array(gallery_rows), np.array(gallery_labels), np.array(probe_rows),
            np.array(probe_labels), strangers)


def run_dataset(name, embeddings, labels, model_id, held_out_prior, args, rows_out,
                alternatives_out):
    bundled = open_set.bundled_impostor_model(model_id)
    flat_model = open_set.ImpostorModel(bundled.mean, 0.0, 0.0, float(np.sqrt(
        bundled.sd_probe ** 2 + bundled.sd_person ** 2 + bundled.sd_photo ** 2)))
    people = np.unique(labels)
    photos = np.bincount(labels)
    sizes = sorted({min(p, len(people) - 1) for p in GALLERY_PEOPLE})
    for num_people in sizes:
        seen = set()
        for num_photos in GALLERY_PHOTOS:
            # a person gives at most all but one photo (one is left to be recognised)
            taken = tuple(sorted({int(min(num_photos, n - 1)) for n in photos}))
            if taken in seen:
                continue  # the same galleries as the row before
            seen.add(taken)
            effective_photos = f'{taken[0]}' if len(taken) == 1 else \
                f'{taken[0]}-{taken[-1]}'
            tallies = {m: Tally() for m in ('before', 'after', 'held_out', 'calibrated',
                                            'per_embedding', 'per_person')}
            rng = np.random.default_rng(args.seed)
            for _ in range(args.seeds):
                gallery_rows, gallery_labels, probe_rows, probe_labels, strangers = split(
                    rng, labels, people, (num_people, num_photos))
                gallery = embeddings[gallery_rows]
                stranger_rows = np.flatnonzero(np.isin(labels, strangers))
                stranger_best = open_set.stranger_best_similarities(
                    gallery, embeddings[stranger_rows])
                scores = embeddings[probe_rows] @ gallery.T
                known = (scores.max(axis=1), gallery_labels[scores.argmax(axis=1)],
                         probe_labels)
                tallies['before'].add(FIXED_THRESHOLD, stranger_best, *known)
                after = open_set.operating_point(model_id, gallery, gallery_labels, args.rate)
                tallies['after'].add(after.threshold, stranger_best, *known)
                held = open_set.operating_point(model_id, gallery, gallery_labels, args.rate,
                                                prior=held_out_prior)
                tallies['held_out'].add(held.threshold, stranger_best, *known)
                for rule, chances in (('per_embedding', len(gallery_labels)),
                                      ('per_person', num_people)):
                    threshold = open_set.operating_threshold([1] * chances, args.rate,
                                                             flat_model)
                    tallies[rule].add(threshold, stranger_best, *known)
                if len(strangers) >= 4:
                    shuffled = rng.permutation(strangers)
                    calibration_people = shuffled[:len(shuffled) // 2]
                    cal_rows = np.flatnonzero(np.isin(labels, calibration_people))
                    test_rows = np.flatnonzero(np.isin(labels, shuffled[len(shuffled) // 2:]))
                    calibration = open_set.calibrate(
                        model_id, gallery, gallery_labels, embeddings[cal_rows], args.rate,
                        stranger_groups=labels[cal_rows])
                    point = open_set.operating_point(model_id, gallery, gallery_labels,
                                                     args.rate, calibration=calibration)
                    test_best = open_set.stranger_best_similarities(
                        gallery, embeddings[test_rows])
                    tallies['calibrated'].add(point.threshold, test_best, *known)
            rows_out.append([name, f'{num_people} x {effective_photos}',
                             str(tallies['before'].strangers)] +
                            tallies['before'].row()[:2] + tallies['after'].row() +
                            tallies['held_out'].row() + tallies['calibrated'].row()[:2])
            alternatives_out.append([name, f'{num_people} x {effective_photos}'] +
                                    tallies['per_embedding'].row() +
                                    tallies['per_person'].row() + tallies['after'].row())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().split('\n\n')[0])
    parser.add_argument('--data-root', type=Path, default=DEFAULT_DATA_ROOT)
    parser.add_argument('--cache', type=Path, default=DEFAULT_CACHE)
    parser.add_argument('--rate', type=float, default=open_set.DEFAULT_MAX_FALSE_NAME_RATE,
                        help='target share of strangers named (default 0.01)')
    parser.add_argument('--seeds', type=int, default=20, help='random splits per row')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--threads', type=int, default=2)
    args = parser.parse_args(argv)
    from face_recognition_ros.core.pipeline import build_pipeline
    from training.fit_impostor_model import fit_models

    start = time.perf_counter()
    model_id = build_pipeline(tracking=False, num_threads=args.threads).embedder.model_id
    if open_set.bundled_impostor_model(model_id) is None:
        print(f'no bundled impostor model for {model_id}: run training.fit_impostor_model')
        return 1
    data = load_embeddings(args.data_root, args.cache, args.threads)
    rows, alternatives = [], []
    for name, (embeddings, labels, names) in data.items():
        if len(names) < MIN_PEOPLE:
            continue
        held_out_prior, _ = fit_models(data, leave_out=(name,))
        run_dataset(name, embeddings, labels, model_id, held_out_prior, args, rows,
                    alternatives)
    header = ['dataset', 'people x photos', 'stranger decisions',
              'before: strangers named', 'before: known named right',
              'after: strangers named', 'after: known named right', 'after: threshold',
              'held-out model: strangers named', 'held-out model: known named right',
              'held-out model: threshold', 'calibrated: strangers named',
              'calibrated: known named right']
    print(f'target: {100 * args.rate:g} % of strangers named; {args.seeds} splits per row; '
          f'model {model_id}')
    print('| ' + ' | '.join(header) + ' |')
    print('|' + '---|' * len(header))
    for row in rows:
        print('| ' + ' | '.join(row) + ' |')
    print()
    print('Rules tried first (strangers named / known named right / threshold):')
    header = ['dataset', 'people x photos'] + [
        f'{rule}: {what}' for rule in ('independent embeddings', 'independent people',
                                       'shipped rule')
        for what in ('strangers named', 'known named right', 'threshold')]
    print('| ' + ' | '.join(header) + ' |')
    print('|' + '---|' * len(header))
    for row in alternatives:
        print('| ' + ' | '.join(row) + ' |')
    print(f'({time.perf_counter() - start:.0f} s)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
