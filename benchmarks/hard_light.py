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
Faces found and named right under hard light: darkened, side-lit and noisy photos.

Issue 12 part 4: a person beside a window or in a dim corridor. Real face photos are
made dark (gamma), side-lit (a one-sided linear illumination gradient, the far side down
to 10 % of its light) and noisy (Gaussian sensor noise, seeded), then run through the
library's own pipeline (``build_pipeline``, ``tracking=False``) as a user would:

- ``framed``: each photo padded by half its longer side (replicated border, as
  ``evaluate --pad`` does), the way a face sits inside a camera frame;
- ``tight``: the photo as it is; for the 150 px crops the face fills the frame.

Per lighting level and framing: the share of photos in which a face is found, and the
share of probe photos named right. One photo per person is enrolled under normal light
(framed); every other photo of that person is a probe at each lighting level.

Photos: ``test/fixtures`` (face-api.js crops, 8 people x 2; Obama x 2, Biden; the two
Hamilton portraits, found-rate only); with ``--data DIR`` (e.g. ../shared/data) also
``DIR/faceapi/examples/images/<person>/*.png`` (8 x 5) and
``DIR/face_recognition_examples/examples/knn_examples/train/<person>/*``.

The same run measures ``hard_light=False`` (the detector as before) and ``True`` (the
second pass on a contrast-normalised copy, see ``YuNetDetector``), and the detector's
milliseconds per frame on normal frames (the bundled clip and the group photo, 640x480),
so before/after come from one process. Prints JSON, then a markdown table.

    python benchmarks/hard_light.py [--data ../shared/data] [--threads 1] [--timing-frames 120]
"""

from __future__ import annotations

import argparse
import inspect
import json
from pathlib import Path
import statistics
import sys
import time

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import cv2  # noqa: E402
from face_recognition_ros.cli import letterbox  # noqa: E402
from face_recognition_ros.core.image_io import load_image  # noqa: E402
from face_recognition_ros.core.pipeline import build_pipeline, FacePipeline  # noqa: E402
from face_recognition_ros.core.tracking import FaceTracker  # noqa: E402
import numpy as np  # noqa: E402
from pipeline_fps import read_clip  # noqa: E402  (the same 640x480 Hamilton frames)

FIXTURES = REPO / 'test' / 'fixtures'
SIZE = (640, 480)
IMAGE_SUFFIXES = {'.png', '.jpg', '.jpeg'}


# ------------------------------------------------------------------ lighting
def gamma(image: np.ndarray, value: float) -> np.ndarray:
    """Darken with ``out = in ** value`` (in 0..1): shadows sink, highlights stay."""
    table = (255.0 * (np.arange(256) / 255.0) ** value).round().astype(np.uint8)
    return cv2.LUT(image, table)


def side_light(image: np.ndarray, from_left: bool, floor: float = 0.1) -> np.ndarray:
    """Light falling off linearly across the image: full on one side, ``floor`` on the other."""
    width = image.shape[1]
    ramp = np.linspace(1.0, floor, width, dtype=np.float32)
    if not from_left:
        ramp = ramp[::-1]
    lit = image.astype(np.float32) * ramp[None, :, None]
    return np.clip(lit, 0, 255).astype(np.uint8)


def noise(image: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    """Gaussian sensor noise of ``sigma`` grey levels (seeded, so runs repeat)."""
    rng = np.random.default_rng(seed)
    noisy = image.astype(np.float32) + rng.normal(0.0, sigma, image.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def lighting_levels() -> dict:
    """Name -> function(image, index) making that lighting; index varies side and seed."""
    return {
        'normal': lambda image, i: image,
        'gamma 2': lambda image, i: gamma(image, 2.0),
        'gamma 3': lambda image, i: gamma(image, 3.0),
        'gamma 4': lambda image, i: gamma(image, 4.0),
        'side-lit': lambda image, i: side_light(image, i % 2 == 0),
        'side-lit, gamma 2': lambda image, i: gamma(side_light(image, i % 2 == 0), 2.0),
        'side-lit, gamma 3': lambda image, i: gamma(side_light(image, i % 2 == 1), 3.0),
        'gamma 3, noise 6': lambda image, i: noise(gamma(image, 3.0), 6.0, i),
        'side-lit, gamma 3, noise 6':
            lambda image, i: noise(gamma(side_light(image, i % 2 == 1), 3.0), 6.0, i),
    }


def frame(image: np.ndarray, framing: str) -> np.ndarray:
    """``framed``: pad by half the longer side, as ``evaluate --pad`` does; ``tight``: as is."""
    if framing == 'tight':
        return image
    border = int(round(0.5 * max(image.shape[:2])))
    return cv2.copyMakeBorder(image, border, border, border, border, cv2.BORDER_REPLICATE)


# ------------------------------------------------------------------ photos
def photo_sets(data: Path | None) -> dict[str, list[Path]]:
    """Person -> photos; the first photo of each person is the one enrolled."""
    people: dict[str, list[Path]] = {}
    for folder in sorted((FIXTURES / 'faceapi').iterdir()):
        if folder.is_dir():
            people[folder.name] = sorted(folder.glob('*.png'))
    people['obama'] = [FIXTURES / 'obama_biden' / 'obama.jpg',
                       FIXTURES / 'obama_biden' / 'obama2.jpg']
    people['biden'] = [FIXTURES / 'obama_biden' / 'biden.jpg']
    for path in sorted((FIXTURES / 'hamilton').glob('*.png')):
        people[path.stem] = [path]
    if data is not None:
        extra = [data / 'faceapi' / 'examples' / 'images',
                 data / 'face_recognition_examples' / 'examples' / 'knn_examples' / 'train']
        for root in extra:
            if not root.is_dir():
                continue
            for folder in sorted(root.iterdir()):
                if not folder.is_dir():
                    continue
                paths = sorted(p for p in folder.iterdir()
                               if p.suffix.lower() in IMAGE_SUFFIXES)
                known = {p.name for p in people.get(folder.name, [])}
                people.setdefault(folder.name, []).extend(
                    p for p in paths if p.name not in known)
    return people


# ------------------------------------------------------------------ measurement
def make_pipeline(hard_light: bool, threads: int | None):
    """Build the shipped pipeline; ``hard_light`` only where the detector has the option."""
    from face_recognition_ros.core.detection import YuNetDetector

    options = {}
    if 'hard_light' in inspect.signature(YuNetDetector.__init__).parameters:
        options['hard_light'] = hard_light
    elif hard_light:
        return None  # the code before the option: only the old behaviour exists
    return build_pipeline(tracking=False, num_threads=threads, detector_options=options)


def largest(faces):
    return max(faces, key=lambda face: float(face.box[2] * face.box[3])) if faces else None


def measure(pipeline, people: dict[str, list[Path]]) -> dict:
    """Found and named-right rates per framing and lighting level."""
    from face_recognition_ros.core.gallery import Gallery

    images = {path: load_image(path) for paths in people.values() for path in paths}
    gallery = Gallery(pipeline.embedder.model_id)
    for name, paths in people.items():
        faces = pipeline.embed_faces(frame(images[paths[0]], 'framed'))
        if faces:
            best = max(faces, key=lambda item: float(item[0].box[2] * item[0].box[3]))
            gallery = gallery.with_person(name, best[1])
    pipeline.gallery = gallery
    results = {}
    for framing in ('framed', 'tight'):
        for level, light in lighting_levels().items():
            found = photos = named = probes = 0
            for index, (path, image) in enumerate(images.items()):
                name = next(n for n, paths in people.items() if path in paths)
                face = largest(pipeline.process(frame(light(image, index), framing)).faces)
                photos += 1
                found += face is not None
                if path != people[name][0] and name in gallery:
                    probes += 1
                    named += face is not None and face.name == name
            results[f'{framing} | {level}'] = {
                'framing': framing, 'lighting': level, 'photos': photos, 'found': found,
                'found_rate': round(found / photos, 4), 'probes': probes,
                'named_right': named, 'named_right_rate': round(named / max(probes, 1), 4)}
    return results


def detector_ms(detectors: dict, frames: list[np.ndarray], rounds: int = 3) -> dict:
    """
    Median ms/frame of each detector, interleaved so load on the machine hits all alike.

    A ``FacePipeline`` works too (its ``process``: every face embedded, tracking off).
    """
    times: dict[str, list[float]] = {name: [] for name in detectors}
    counts = {name: 0 for name in detectors}

    def run(detector, image):
        if hasattr(detector, 'process'):
            return detector.process(image).faces
        return detector.detect(image)

    for detector in detectors.values():
        run(detector, frames[0])  # warm-up
    for _ in range(rounds):
        for image in frames:
            for name, detector in detectors.items():
                start = time.perf_counter()
                found = run(detector, image)
                times[name].append((time.perf_counter() - start) * 1000.0)
                counts[name] += len(found)
    return {name: {'median_ms': round(statistics.median(values), 2),
                   'faces': counts[name] // rounds}
            for name, values in times.items()}


def same_detections(first, second, frames) -> int:
    """Frames where the two detectors give different boxes (normal frames: should be 0)."""
    differ = 0
    for image in frames:
        a, b = first.detect(image), second.detect(image)
        if len(a) != len(b) or any(not np.allclose(x.box, y.box, atol=1e-3)
                                   for x, y in zip(a, b)):
            differ += 1
    return differ


def markdown(report: dict) -> str:
    modes = [mode for mode in ('before', 'after')
             if mode in report['rates'] or mode in next(iter(report.get('timing', {
                 'x': {}}).values()))]
    head = '| framing | lighting | photos | ' + ' | '.join(
        f'found {m} | named right {m}' for m in modes) + ' |'
    lines = [head, '|' + '---|' * (3 + 2 * len(modes))] if report['rates'] else []
    for key, row in (report['rates'][modes[0]].items() if report['rates'] else ()):
        cells = [row['framing'], row['lighting'], str(row['photos'])]
        for mode in modes:
            r = report['rates'][mode][key]
            cells += [f"{100 * r['found_rate']:.1f} %",
                      f"{100 * r['named_right_rate']:.1f} % of {r['probes']}"]
        lines.append('| ' + ' | '.join(cells) + ' |')
    if 'timing' in report:
        lines += ['', '| normal frames (640x480) | ' + ' | '.join(
            f'ms/frame {m}' for m in modes) + ' | frames with other boxes |',
                  '|---|' + '---|' * (len(modes) + 1)]
        for name, row in report['timing'].items():
            lines.append(f'| {name} ({row["frames"]} frames) | ' + ' | '.join(
                str(row[m]['median_ms']) for m in modes) + f" | {row.get('differ', '-')} |")
    return '\n'.join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().split('\n\n')[0])
    parser.add_argument('--data', type=Path, default=None,
                        help='also use the face folders of this data root (../shared/data)')
    parser.add_argument('--threads', type=int, default=1,
                        help='threads per model (default 1)')
    parser.add_argument('--timing-only', action='store_true',
                        help='only the normal-frame timing, not the lighting levels')
    parser.add_argument('--timing-frames', type=int, default=120,
                        help='clip frames for the normal-frame timing (0: skip timing)')
    args = parser.parse_args()

    people = photo_sets(args.data)
    report = {'benchmark': 'hard_light', 'opencv': cv2.__version__,
              'people': len(people), 'photos': sum(len(p) for p in people.values()),
              'rates': {}}
    pipelines = {'before': make_pipeline(False, args.threads),
                 'after': make_pipeline(True, args.threads)}
    pipelines = {mode: p for mode, p in pipelines.items() if p is not None}
    for mode, pipeline in pipelines.items():
        if not args.timing_only:
            report['rates'][mode] = measure(pipeline, people)
    if args.timing_frames > 0:
        detectors = {mode: p.detector for mode, p in pipelines.items()}
        clip = read_clip(args.timing_frames)
        inputs = {'clip': clip,
                  'group bbt4.jpg': [letterbox(load_image(FIXTURES / 'faceapi' / 'bbt4.jpg'),
                                               SIZE)] * 20}
        report['timing'] = {}
        for name, frames in inputs.items():
            row = {'frames': len(frames), **detector_ms(detectors, frames)}
            if len(detectors) == 2:
                row['differ'] = same_detections(detectors['before'], detectors['after'],
                                                frames)
            report['timing'][name] = row
        # The whole pipeline, every face embedded: dark faces pay for their landmarks.
        report['timing']['clip, whole pipeline'] = {'frames': len(clip),
                                                    **detector_ms(pipelines, clip, rounds=1)}
        # With tracking (the default in the nodes): only faces being embedded pay.
        tracked = {mode: FacePipeline(p.detector, p.embedder, p.gallery, tracker=FaceTracker(),
                                      hard_light=mode == 'after')
                   for mode, p in pipelines.items()}
        report['timing']['clip, pipeline with tracking'] = {
            'frames': len(clip), **detector_ms(tracked, clip, rounds=1)}
    print(json.dumps(report, indent=2))
    print()
    print(markdown(report))
    return 0


if __name__ == '__main__':
    sys.exit(main())
