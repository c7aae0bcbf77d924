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
End-to-end FPS of the face pipeline, with tracking and the naive way, side by side.

Two inputs, both letterboxed to 640x480:
- ``clip``: the bundled video (test/fixtures/hamilton/short_hamilton_clip.mp4, 275 frames:
  two people on stage, then close-ups and an audience of up to 6 faces);
- ``group``: a group photo with 6 faces (test/fixtures/faceapi/bbt4.jpg) repeated as a
  static video: the hardest case for per-face cost. (bbt1.jpg, the other group photo in
  the fixtures, holds 4 faces.)

For each, in the same process and run: the pipeline with tracking (embeddings only when
a track needs one) and the naive pipeline (every face embedded in every frame), with the
median milliseconds of each stage, end-to-end FPS (frames over wall time), their ratio,
the thread settings and the peak resident memory. The gallery holds the clip's two people
and the 8 people of the face-api.js crops, so matching does real work. Prints JSON.

Time to first name: for every track that is ever named, the frames from its first frame to
the first frame that publishes its name, and that as milliseconds for a 30 Hz camera (the
frames waited times 33.3 ms plus the processing of the naming frame); median and p90. The
shipped tracker (a name needs two agreeing identifications unless one is decisive, see
``core/tracking.py``) is compared with ``confirm_votes=1`` (named on the first
identification) in the same run.

    python benchmarks/pipeline_fps.py [--group-frames 150] [--threads N] [--runtime R]

Numbers depend on the machine and on what else runs on it: compare modes within one run.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import platform
import resource
import sys
import time

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import cv2  # noqa: E402
from face_recognition_ros.cli import letterbox, measure_pipeline, thread_settings  # noqa: E402
from face_recognition_ros.core.gallery import Gallery  # noqa: E402
from face_recognition_ros.core.image_io import load_image  # noqa: E402
from face_recognition_ros.core.pipeline import FacePipeline  # noqa: E402
from face_recognition_ros.core.tracking import FaceTracker  # noqa: E402
import numpy as np  # noqa: E402

FIXTURES = REPO / 'test' / 'fixtures'
SIZE = (640, 480)


def read_clip(limit: int | None) -> list:
    capture = cv2.VideoCapture(str(FIXTURES / 'hamilton' / 'short_hamilton_clip.mp4'))
    frames = []
    while limit is None or len(frames) < limit:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(letterbox(frame, SIZE))
    capture.release()
    return frames


def build_gallery(detector, embedder) -> Gallery:
    gallery = Gallery(embedder.model_id)
    enroller = FacePipeline(detector, embedder, gallery, tracking=False)
    photos = {'lin-manuel-miranda': [FIXTURES / 'hamilton' / 'lin-manuel-miranda.png'],
              'alex-lacamoire': [FIXTURES / 'hamilton' / 'alex-lacamoire.png']}
    for folder in sorted((FIXTURES / 'faceapi').iterdir()):
        if folder.is_dir():
            photos[folder.name] = sorted(folder.glob('*.png'))
    for name, paths in photos.items():
        for path in paths:
            faces = enroller.embed_faces(load_image(path))
            if len(faces) == 1:
                gallery = gallery.with_person(name, faces[0][1])
    return gallery


def time_to_first_name(pipeline: FacePipeline, frames: list, camera_hz: float = 30.0
                       ) -> dict:
    """Frames and milliseconds from a face's first frame to its first published name."""
    first_seen, waits_frames, waits_ms = {}, [], []
    named = set()
    for index, frame in enumerate(frames):
        result = pipeline.process(frame)
        for face in result.faces:
            first_seen.setdefault(face.track_id, index)
            if face.name != 'unknown' and face.track_id not in named:
                named.add(face.track_id)
                waited = index - first_seen[face.track_id]
                waits_frames.append(waited)
                waits_ms.append(waited * 1000.0 / camera_hz + result.timings_ms['total'])
    if not waits_ms:
        return {'tracks_named': 0}
    return {'tracks_named': len(waits_ms),
            'median_frames': float(np.median(waits_frames)),
            'median_ms_at_30hz': round(float(np.median(waits_ms)), 1),
            'p90_ms_at_30hz': round(float(np.percentile(waits_ms, 90)), 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().split('\n\n')[0])
    parser.add_argument('--clip-frames', type=int, default=None,
                        help='frames of the clip to use (default: all 275)')
    parser.add_argument('--group-frames', type=int, default=150,
                        help='frames of the repeated group photo (default 150)')
    parser.add_argument('--warmup', type=int, default=10)
    parser.add_argument('--threads', type=int, default=None,
                        help='threads per model (default: all cores)')
    parser.add_argument('--runtime', choices=('onnxruntime', 'opencv'), default=None,
                        help='model runtime for both models (default: onnxruntime if '
                             'installed)')
    args = parser.parse_args()

    from face_recognition_ros.core.detection import YuNetDetector
    from face_recognition_ros.core.embedding import SFaceEmbedder

    start = time.perf_counter()
    detector = YuNetDetector(num_threads=args.threads, runtime=args.runtime)
    embedder = SFaceEmbedder(num_threads=args.threads, runtime=args.runtime)
    gallery = build_gallery(detector, embedder)
    inputs = {
        'clip': read_clip(args.clip_frames),
        'group': [letterbox(load_image(FIXTURES / 'faceapi' / 'bbt4.jpg'), SIZE)]
        * args.group_frames,
    }
    setup_s = time.perf_counter() - start
    report = {'benchmark': 'pipeline_fps', 'resolution': list(SIZE),
              'machine': {'platform': platform.platform(), 'python': platform.python_version(),
                          'opencv': cv2.__version__},
              'gallery': {'people': len(gallery), 'embeddings': gallery.num_embeddings},
              'setup_s': round(setup_s, 2), 'inputs': {}}
    for name, frames in inputs.items():
        tracked = FacePipeline(detector, embedder, gallery, tracker=FaceTracker())
        naive = FacePipeline(detector, embedder, gallery, tracking=False)
        result = {'frames': len(frames)}
        result['tracking'] = measure_pipeline(tracked, frames, warmup=args.warmup)
        result['naive'] = measure_pipeline(naive, frames, warmup=args.warmup)
        result['speedup'] = round(result['tracking']['fps'] / result['naive']['fps'], 2)
        result['time_to_first_name'] = {
            'shipped': time_to_first_name(
                FacePipeline(detector, embedder, gallery, tracker=FaceTracker()), frames),
            'confirm_votes_1': time_to_first_name(
                FacePipeline(detector, embedder, gallery,
                             tracker=FaceTracker(confirm_votes=1)), frames)}
        report['inputs'][name] = result
        report['threads'] = thread_settings(tracked)
    # ru_maxrss is in kilobytes on Linux (bytes on macOS).
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report['peak_rss_mb'] = round(peak / (2 ** 20 if sys.platform == 'darwin' else 1024), 1)
    report['target'] = '>= 30 FPS with tracking at 640x480'
    print(json.dumps(report, indent=2))
    return 0


if __name__ == '__main__':
    sys.exit(main())
