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
Reproduce docs/accuracy.md: SFace gallery vs a ResNet-18 trained here, on real photos.

    python benchmarks/accuracy_report.py [--data-root ../shared/data] [--epochs 15]

Steps (each one a command a user could type, printed as it runs):
1. ``evaluate --identification ORL --save-enroll-crops``: the aligned crops of the photos
   the gallery enrolls (first 5 per known person; 10 of 40 people held out as strangers);
2. ``training.train`` on exactly those crops, ``--weights none`` (no pretrained weights
   exist offline), 1 validation photo per person;
3. ``training.export`` to ONNX, threshold calibrated by the documented rule;
4. ``evaluate`` on deepface's two pairs files, ORL with the classifier side by side, and
   the face-api.js group photos, writing ``docs/accuracy/`` (report.md, results.json,
   ROC plots) and copying the training curves there.
The last line printed is the evaluation's JSON summary. About 2-3 minutes on 2 CPU cores,
most of it training; nothing is tuned to the results.
"""

from __future__ import annotations

import argparse
from pathlib import Path
import shlex
import shutil
import subprocess
import sys

REPO = Path(__file__).resolve().parents[1]


def step(argv: list[str]) -> None:
    print('+ ' + shlex.join(argv), file=sys.stderr, flush=True)
    subprocess.run(argv, cwd=REPO, check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().split('\n')[0])
    parser.add_argument('--data-root', type=Path, default=REPO.parent / 'shared' / 'data')
    parser.add_argument('--work-dir', type=Path, default=Path('/tmp/face_recognition_accuracy'))
    parser.add_argument('--output-dir', type=Path, default=REPO / 'docs' / 'accuracy')
    parser.add_argument('--epochs', type=int, default=15)
    parser.add_argument('--threads', type=int, default=2)
    args = parser.parse_args()
    data, work = args.data_root.resolve(), args.work_dir
    if not (data / 'orl_faces').is_dir():
        raise SystemExit(f'{data} has no orl_faces/: give the shared data folder with '
                         '--data-root')
    python = sys.executable
    threads = ['--threads', str(args.threads)]
    cache = ['--cache-dir', str(work / 'cache')]
    orl = str(data / 'orl_faces')
    crops = work / 'orl_enroll_crops'
    if crops.exists():
        shutil.rmtree(crops)
    step([python, '-m', 'face_recognition_ros', 'evaluate', '--identification', orl,
          '--save-enroll-crops', str(crops), '--output-dir', str(work / 'split'),
          *cache, *threads])
    step([python, '-m', 'training.train', str(crops), '--output-dir', str(work / 'train'),
          '--epochs', str(args.epochs), '--val-per-person', '1', '--weights', 'none',
          '--seed', '0', '--no-progress', *threads])
    model = work / 'orl_resnet18.onnx'
    step([python, '-m', 'training.export', str(work / 'train' / 'best.pth'), '--output',
          str(model), *threads])
    images = data / 'faceapi' / 'examples' / 'images'
    step([python, '-m', 'face_recognition_ros', 'evaluate',
          '--pairs', str(data / 'deepface' / 'master.csv'),
          str(data / 'deepface' / 'face-recognition-pivot.csv'),
          '--identification', orl, '--classifier', str(model),
          '--group-photos', *[str(images / f'bbt{i}.jpg') for i in range(1, 6)],
          '--group-gallery', str(images), '--output-dir', str(args.output_dir),
          *cache, *threads])
    shutil.copy(work / 'train' / 'curves.png', args.output_dir / 'orl_training_curves.png')
    shutil.copy(work / 'train' / 'metrics.json', args.output_dir / 'orl_training_metrics.json')
    return 0


if __name__ == '__main__':
    sys.exit(main())
