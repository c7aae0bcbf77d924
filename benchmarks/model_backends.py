#!/usr/bin/env python3
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
Find which runtime runs each bundled model faster here: onnxruntime or OpenCV's DNN.

Times the library's own entry points, so pre- and post-processing count too:
``YuNetDetector.detect`` on a 640x480 photo, and ``SFaceEmbedder.embed`` on aligned
crops in batches of 1 and 4, for each runtime and thread count. Prints one JSON object:
median and 90th-percentile milliseconds per call (and per face for SFace), the thread
settings, the machine, and the faster runtime per model. The library's default runtime
(``runtime=None``) is onnxruntime; rerun this after changing versions or hardware.

    .venv/bin/python benchmarks/model_backends.py [--repeat 30] [--threads 1,2]

OpenCV's thread count is process-wide (``cv2.setNumThreads``); onnxruntime's is per
model (``intra_op_num_threads``, spinning off, see ``core/model_files.py``). The other
runtime's setting is put back after each measurement. Cases are timed in turns of 5
calls, so that load from other processes on a shared machine affects all of them alike.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
import platform
import statistics
import sys
import time

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import cv2  # noqa: E402
from face_recognition_ros.core.alignment import align_face  # noqa: E402
from face_recognition_ros.core.detection import YuNetDetector  # noqa: E402
from face_recognition_ros.core.embedding import SFaceEmbedder  # noqa: E402
from face_recognition_ros.core.image_io import load_image  # noqa: E402
import numpy as np  # noqa: E402

DEFAULT_IMAGE = REPO / 'test' / 'fixtures' / 'obama_biden' / 'two_people.jpg'
RUNTIMES = ('onnxruntime', 'opencv')


def _summary(times: list[float], per_face: int | None = None) -> dict:
    ordered = sorted(times)
    summary = {
        'median_ms': round(statistics.median(ordered), 2),
        'p90_ms': round(ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))], 2),
    }
    if per_face:
        summary['per_face_median_ms'] = round(statistics.median(ordered) / per_face, 2)
    return summary


def _run_interleaved(cases: list[dict], repeat: int, warmup: int, chunk: int = 5) -> None:
    """
    Time every case in turns of ``chunk`` calls.

    Turns make a load change on a shared machine hit all cases alike instead of whichever
    happened to run at that moment.
    """
    for case in cases:
        case['times'] = []
        cv2.setNumThreads(case['cv_threads'])
        for _ in range(warmup):
            case['call']()
    while any(len(case['times']) < repeat for case in cases):
        for case in cases:
            cv2.setNumThreads(case['cv_threads'])
            for _ in range(min(chunk, repeat - len(case['times']))):
                start = time.perf_counter()
                case['call']()
                case['times'].append((time.perf_counter() - start) * 1000.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().split('\n\n')[0])
    parser.add_argument('--image', type=Path, default=DEFAULT_IMAGE,
                        help='photo with at least one face, resized to 640x480')
    parser.add_argument('--repeat', type=int, default=30, help='timed calls per case')
    parser.add_argument('--warmup', type=int, default=3, help='untimed calls first')
    parser.add_argument('--threads', default=None,
                        help='comma-separated thread counts (default: 1 and all cores)')
    args = parser.parse_args(argv)
    cores = os.cpu_count() or 1
    thread_counts = (sorted({int(t) for t in args.threads.split(',')}) if args.threads
                     else sorted({1, cores}))

    frame = cv2.resize(load_image(args.image), (640, 480), interpolation=cv2.INTER_AREA)
    probe = YuNetDetector(runtime='opencv').detect(frame)
    if not probe:
        parser.error(f'no face found in {args.image}; pass a photo with a face')
    crop = align_face(frame, probe[0].landmarks)
    crops = {1: [crop], 4: [crop, crop[:, ::-1].copy(), crop, crop[:, ::-1].copy()]}

    default_cv_threads = cv2.getNumThreads()
    cases = []
    for runtime in RUNTIMES:
        for threads in thread_counts:
            cv_threads = threads if runtime == 'opencv' else default_cv_threads
            cv2.setNumThreads(cv_threads)
            detector = YuNetDetector(runtime=runtime, num_threads=threads)
            cases.append({'row': {'model': 'yunet', 'runtime': runtime, 'threads': threads,
                                  'input': '640x480', 'faces': len(probe)},
                          'cv_threads': cv_threads,
                          'call': lambda detector=detector: detector.detect(frame)})
            embedder = SFaceEmbedder(runtime=runtime, num_threads=threads)
            for batch, batch_crops in crops.items():
                cases.append({
                    'row': {'model': 'sface', 'runtime': runtime, 'threads': threads,
                            'input': f'batch {batch} x 112x112', 'batch': batch},
                    'cv_threads': cv_threads, 'per_face': batch,
                    'call': lambda e=embedder, c=batch_crops: e.embed(c)})
    _run_interleaved(cases, args.repeat, args.warmup)
    cv2.setNumThreads(default_cv_threads)
    results = [{**case['row'], **_summary(case['times'], case.get('per_face'))}
               for case in cases]

    fastest = {}
    for model in ('yunet', 'sface'):
        rows = [row for row in results if row['model'] == model]
        best = min(rows, key=lambda row: row.get('per_face_median_ms', row['median_ms']))
        fastest[model] = {'runtime': best['runtime'], 'threads': best['threads'],
                          'input': best['input']}
    import onnxruntime

    report = {
        'command': 'python benchmarks/model_backends.py ' + ' '.join(argv or sys.argv[1:]),
        'machine': {
            'platform': platform.platform(), 'processor': platform.machine(),
            'cpu_count': cores, 'python': platform.python_version(),
            'opencv': cv2.__version__, 'onnxruntime': onnxruntime.__version__,
            'numpy': np.__version__,
        },
        'settings': {
            'repeat': args.repeat, 'warmup': args.warmup, 'thread_counts': thread_counts,
            'opencv_threads': 'cv2.setNumThreads (process-wide)',
            'onnxruntime_threads': 'intra_op_num_threads per model, inter_op 1, no spinning',
        },
        'results': results,
        'fastest': fastest,
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == '__main__':
    sys.exit(main())
