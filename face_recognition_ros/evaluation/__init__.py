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
Accuracy evaluation: ``python -m face_recognition_ros evaluate``.

Three measurements, each optional, written as ``report.md`` + ``results.json`` + PNG plots:

- **Verification** on a pairs file (CSV with two image columns and a same/different
  column, e.g. deepface's ``master.csv``): 10-fold accuracy (LFW protocol: the threshold is
  chosen on nine folds and tested on the tenth; folds interleave the pairs, ``i % 10``, so
  every fold holds both kinds when the file lists all same pairs first), ROC AUC, and TAR
  at FAR 1e-3 (with fewer than 1000 different pairs this is TAR at zero false accepts;
  the report says so).
- **Identification** on a folder-per-person dataset: people are split into *known* and
  *unknown* (a seeded fraction is held out); the first ``k`` photos of each known person
  (natural name order) are enrolled, their other photos are known probes, every photo of
  an unknown person is a stranger probe. Reported: closed-set top-1 on known probes and
  open-set TPIR (known probes named correctly above the threshold) at FPIR 1 % and 10 %
  (fraction of strangers given any name), with the threshold set on the strangers
  themselves, i.e. the best the method can do at that FPIR; plus the rates at the
  method's own deployed threshold (the gallery's ``DEFAULT_THRESHOLD``, the classifier's
  calibrated one), which is what a user gets.
  Methods: the gallery (SFace embeddings, cosine to the best enrolled photo) and, with
  ``--classifier model.onnx``, the trained classifier (top softmax probability) side by
  side. ``--save-enroll-crops DIR`` writes the aligned crops of the enrolled photos so the
  classifier can be trained on exactly the gallery's enrollment set.
- **Group photos** (``--group-photos`` + ``--group-gallery``): enroll from per-person
  crops, identify every face of each group photo and list what was found. Group photos
  carry no per-face labels here, so this is a report, plus one label-free error check: a
  name given to two faces in the same photo is certainly wrong once.

Faces: YuNet finds faces, the largest one per photo is used, aligned with the 5-point
template. Small, tight crops (ORL's 92x112 faces fill the frame) are padded with a
replicated border before detection (``--pad``), because YuNet was trained on faces inside
scenes and misses a face that touches every edge; large photos are shrunk to at most
``--max-side`` pixels first. A photo without a detected face counts as a failure: it is
never enrolled, a known probe without a face is a miss, a stranger without a face is not
counted as a false acceptance (reported separately).

Detections and embeddings are cached (``--cache-dir``, npz, no pickle, owner-only) keyed by
file path, size, mtime and model, so re-running the report takes seconds.

The pieces, each in a file named after it: ``datasets`` (photos, pairs, splits, the cached
``FaceSource``), ``metrics`` (pure numpy, unit-tested), ``protocols`` (the three
measurements) and ``report`` (markdown, plots, summary); this module is the command.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path
import shlex
import sys
import time

from face_recognition_ros.evaluation.datasets import (
    EmbeddingCache, FaceSource, IdentificationSplit, list_people, PairsFileError, read_pairs,
    split_identification
)
from face_recognition_ros.evaluation.metrics import (
    best_accuracy_threshold, closed_set_top1, fpir_at_threshold, identification_metrics,
    kfold_accuracy, open_set_tpir, person_scores, roc_auc, roc_curve, tar_at_far,
    threshold_at_fpir, threshold_keeping, tpir_at_threshold, tpir_fpir_curve
)
from face_recognition_ros.evaluation.protocols import (
    evaluate_group_photos, evaluate_identification, evaluate_verification
)
from face_recognition_ros.evaluation.report import (
    _atomic_write_text, _summary, markdown_report, plot_results
)

LOG = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--pairs', type=Path, nargs='+', default=[],
                        help='verification pairs CSV file(s) (e.g. deepface master.csv: '
                             'file_x,file_y,Decision)')
    parser.add_argument('--pairs-root', type=Path, default=None,
                        help="folder of the pair images (default: the CSV's folder)")
    parser.add_argument('--far', type=float, default=1e-3, help='FAR for TAR@FAR')
    parser.add_argument('--identification', type=Path,
                        help='folder with one sub-folder of photos per person (e.g. ORL)')
    parser.add_argument('--enroll-per-person', type=int, default=5,
                        help='photos enrolled per known person (the first k by name)')
    parser.add_argument('--unknown-fraction', type=float, default=0.25,
                        help='fraction of people held out as strangers (chosen by --seed)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--max-false-name-rate', type=float, default=None, metavar='RATE',
                        help="target share of strangers named that sets the gallery's "
                             'threshold (default 0.01; core/open_set.py)')
    parser.add_argument('--classifier', type=Path, default=None,
                        help='exported classifier .onnx (training/export.py) to compare')
    parser.add_argument('--save-enroll-crops', type=Path, default=None,
                        help='write aligned crops of the enrolled photos here (train the '
                             'classifier on them)')
    parser.add_argument('--group-photos', type=Path, nargs='*', default=[],
                        help='group photos to identify (e.g. faceapi bbt1.jpg..bbt5.jpg)')
    parser.add_argument('--group-gallery', type=Path, default=None,
                        help='folder of per-person crops to enroll for --group-photos')
    parser.add_argument('--output-dir', type=Path, default=Path('evaluation'),
                        help='where report.md, results.json and the plots go')
    parser.add_argument('--cache-dir', type=Path,
                        default=Path.home() / '.cache' / 'face_recognition_ros' / 'evaluation',
                        help='detections and embeddings cache (npz, owner-only)')
    parser.add_argument('--no-cache', action='store_true')
    parser.add_argument('--pad', type=int, default=0,
                        help='photos whose shorter side is below this many pixels get a '
                             'replicated border before detection (0: never)')
    parser.add_argument('--max-side', type=int, default=0,
                        help='shrink larger photos to this longest side before detection and '
                             'alignment (0: keep them; the detector shrinks its own input)')
    parser.add_argument('--threads', type=int, default=None)


def run(args: argparse.Namespace) -> int:
    if not (args.pairs or args.identification or args.group_photos):
        LOG.error('nothing to evaluate: give --pairs, --identification and/or --group-photos')
        return 2
    if args.group_photos and not args.group_gallery:
        LOG.error('--group-photos needs --group-gallery (a folder of per-person crops)')
        return 2
    classifier = None
    if args.classifier:
        from face_recognition_ros.core.classifier_embedding import ClassifierRecognizer
        classifier = ClassifierRecognizer(args.classifier, num_threads=args.threads)
    source = FaceSource(args, None, classifier)  # the pipeline's own embedder
    out_dir = Path(args.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    import platform
    argv = sys.argv[1:]
    if argv[:1] != ['evaluate']:
        argv = ['evaluate'] + argv
    results = {'command': 'python -m face_recognition_ros ' + shlex.join(argv),
               'machine': f'{platform.machine()}, {os.cpu_count()} CPU cores, '
                          f'{platform.python_implementation()} {platform.python_version()}',
               'date': time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()),
               'settings': source.settings}
    started = time.monotonic()
    try:
        if args.pairs:
            results['verification'] = [evaluate_verification(source, pairs, args.pairs_root,
                                                             args.far)
                                       for pairs in args.pairs]
            source.cache.save()
        if args.identification:
            results['identification'] = evaluate_identification(source, args.identification,
                                                                args)
            source.cache.save()
        if args.group_photos:
            results['group_photos'] = evaluate_group_photos(source, list(args.group_photos),
                                                            args.group_gallery)
    finally:
        source.cache.save()
    results['seconds'] = round(time.monotonic() - started, 1)
    plots = plot_results(results, out_dir)
    _atomic_write_text(out_dir / 'results.json', json.dumps(results, indent=1))
    _atomic_write_text(out_dir / 'report.md', markdown_report(results, plots))
    # the command's output, like the other commands' JSON lines (not logging)
    sys.stdout.write(json.dumps(_summary(results)) + '\n')
    return 0


def main(argv=None) -> int:
    """Standalone entry (cli.py wires the same functions as the ``evaluate`` command)."""
    logging.basicConfig(level=logging.INFO, format='%(message)s')
    parser = argparse.ArgumentParser(prog='python -m face_recognition_ros evaluate',
                                     description=__doc__.strip(),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return run(parser.parse_args(argv))


__all__ = [
    'EmbeddingCache', 'FaceSource', 'IdentificationSplit', 'PairsFileError', 'add_arguments',
    'best_accuracy_threshold', 'closed_set_top1', 'evaluate_group_photos',
    'evaluate_identification', 'evaluate_verification', 'fpir_at_threshold',
    'identification_metrics', 'kfold_accuracy', 'list_people', 'main', 'open_set_tpir',
    'person_scores', 'read_pairs', 'roc_auc', 'roc_curve', 'run', 'split_identification',
    'tar_at_far', 'threshold_at_fpir', 'threshold_keeping', 'tpir_at_threshold',
    'tpir_fpir_curve',
]
