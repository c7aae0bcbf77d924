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
Extract aligned face crops from photos, a video file or a camera, for training or enrollment.

    python -m training.extract_faces photos/ --output crops/
    python -m training.extract_faces clip.mp4 --every 5 --output crops/ --gallery g.npz
    python -m training.extract_faces 0 --max-frames 300 --output crops/ --cluster

Every face YuNet finds is aligned with the core's 5-point template (``align_face``) and
written as a PNG (owner-only), unless it is too small (``--min-size``: the shorter side of
its box, in pixels of the source) or too blurred (``--min-sharpness``: the variance of
the Laplacian of the aligned crop in gray, a standard focus measure; motion blur and
out-of-focus frames score low). The final report counts the faces skipped for each reason.

Sorting, the painful manual step of the seed's flow:
- ``--gallery G``: each crop is matched against an enrolled gallery (SFace, the gallery's
  own threshold) and written to ``OUTPUT/<name>/``, strangers to ``OUTPUT/unknown/``;
- ``--cluster``: the crops that no gallery named are grouped by similarity
  (average-linkage agglomerative clustering on cosine similarity of SFace embeddings,
  merging while the average similarity of two groups is at least the gallery's default
  threshold, so a group is "the same person" by the same rule the recognizer uses) and
  written to ``OUTPUT/cluster_001/``... for the user to rename to the person's name.

Folders of photos keep their sub-folder structure under ``OUTPUT`` when neither option is
given, so a folder-per-person photo collection becomes a folder-per-person crop dataset.
"""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import dataclass
import json
import logging
import os
from pathlib import Path
import sys

if __package__ in (None, ''):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2
import numpy as np
from tqdm import tqdm

LOG = logging.getLogger('training.extract_faces')
IMAGE_SUFFIXES = {'.jpg', '.jpeg', '.png', '.bmp', '.pgm', '.ppm', '.tif', '.tiff', '.webp'}
VIDEO_SUFFIXES = {'.mp4', '.avi', '.mov', '.mkv', '.webm', '.m4v', '.mpg', '.mpeg'}


@dataclass
class Crop:
    image: np.ndarray
    """The aligned crop at ``--size``."""
    name: str
    """File name stem: source, frame and face index."""
    subdir: str
    """Sub-folder the source photo was in (kept when not sorting)."""
    embedding: np.ndarray | None = None


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description='Save aligned face crops from photos, '
                                                 'videos or a camera.')
    parser.add_argument('sources', nargs='+',
                        help='image files, folders of images (searched recursively), video '
                             'files, or a camera index (0) / device (/dev/video0)')
    parser.add_argument('--output', required=True, help='folder for the crops')
    parser.add_argument('--size', type=int, default=112, help='side of the aligned crop')
    parser.add_argument('--min-size', type=float, default=40,
                        help='skip faces whose box is smaller than this (pixels)')
    parser.add_argument('--min-sharpness', type=float, default=30.0,
                        help='skip crops whose Laplacian variance (gray, 112x112) is below '
                             'this: blurred faces teach a classifier nothing')
    parser.add_argument('--score-threshold', type=float, default=0.8,
                        help='YuNet confidence needed to keep a face')
    parser.add_argument('--every', type=int, default=5,
                        help='video/camera: use every N-th frame (neighbours are near copies)')
    parser.add_argument('--max-frames', type=int, default=None,
                        help='video/camera: stop after this many frames (a camera needs it)')
    parser.add_argument('--gallery', default=None,
                        help='sort crops into OUTPUT/<name>/ by matching this gallery file')
    parser.add_argument('--cluster', action='store_true',
                        help='group the crops no gallery named by similarity into '
                             'OUTPUT/cluster_NNN/ for you to name')
    parser.add_argument('--cluster-threshold', type=float, default=None,
                        help="cosine similarity to merge groups (default: the gallery's "
                             'default threshold)')
    parser.add_argument('--threads', type=int, default=None)
    parser.add_argument('--no-progress', action='store_true')
    return parser


def sharpness(crop: np.ndarray) -> float:
    """
    Variance of the Laplacian of the face's centre in gray at 112x112 (higher: sharper).

    Only the box around the template's eyes, nose and mouth counts: the aligned crop's
    corners can be black fill (a face near the photo's edge), whose hard edge would make
    any blurred face look sharp.
    """
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    if gray.shape[:2] != (112, 112):
        gray = cv2.resize(gray, (112, 112), interpolation=cv2.INTER_AREA)
    centre = gray[36:104, 28:84]
    return float(cv2.Laplacian(centre, cv2.CV_64F).var())


def expand_sources(sources: list[str]):
    """Yield ('image', path, subdir) / ('video', path_or_index, '') items in order."""
    for source in sources:
        if source.isdigit():
            yield 'video', int(source), ''
            continue
        path = Path(source)
        if path.is_dir():
            for file in sorted(path.rglob('*')):
                if file.suffix.lower() in IMAGE_SUFFIXES:
                    yield 'image', file, str(file.parent.relative_to(path))
                elif file.suffix.lower() in VIDEO_SUFFIXES:
                    yield 'video', file, ''
        elif path.suffix.lower() in VIDEO_SUFFIXES or str(path).startswith('/dev/video'):
            yield 'video', path, ''
        elif path.is_file():
            yield 'image', path, ''
        else:
            raise SystemExit(f'{source}: no such file, folder or camera')


def video_frames(source, every: int, max_frames: int | None):
    """(frame_index, frame) of every ``every``-th frame of a video or camera."""
    capture = cv2.VideoCapture(str(source) if isinstance(source, Path) else source)
    if not capture.isOpened():
        raise SystemExit(f'cannot open video source {source}: check the path or camera index')
    index = 0
    try:
        while max_frames is None or index < max_frames:
            ok, frame = capture.read()
            if not ok:
                break
            if index % every == 0:
                yield index, frame
            index += 1
    finally:
        capture.release()


class Extractor:

    def __init__(self, args):
        from face_recognition_ros.core.detection import YuNetDetector
        self.detector = YuNetDetector(score_threshold=args.score_threshold,
                                      min_face_size=1, num_threads=args.threads)
        self.args = args
        self.counts = Counter()

    def faces(self, image: np.ndarray, stem: str, subdir: str) -> list[Crop]:
        from face_recognition_ros.core.alignment import align_face
        detections = self.detector.detect(image)
        if not detections:
            self.counts['photos_or_frames_without_face'] += 1
        crops = []
        for i, detection in enumerate(detections):
            self.counts['faces_found'] += 1
            if min(detection.box[2], detection.box[3]) < self.args.min_size:
                self.counts['skipped_too_small'] += 1
                continue
            crop = align_face(image, detection.landmarks, self.args.size)
            if sharpness(crop) < self.args.min_sharpness:
                self.counts['skipped_too_blurred'] += 1
                continue
            crops.append(Crop(crop, f'{stem}_{i}', subdir))
        return crops

    def run(self, sources: list[str]) -> list[Crop]:
        from face_recognition_ros.core.errors import ImageError
        from face_recognition_ros.core.image_io import load_image
        crops = []
        items = list(expand_sources(sources))
        progress = not self.args.no_progress
        for kind, source, subdir in tqdm(items, desc='sources', disable=progress is False
                                         or len(items) < 2):
            if kind == 'image':
                try:
                    image = load_image(source)
                except ImageError as error:
                    LOG.warning('skipping %s: %s', source, error)
                    self.counts['unreadable_files'] += 1
                    continue
                self.counts['photos'] += 1
                crops += self.faces(image, Path(source).stem, subdir)
            else:
                stem = Path(str(source)).stem if isinstance(source, Path) else f'camera{source}'
                frames = video_frames(source, self.args.every, self.args.max_frames)
                for index, frame in tqdm(frames, desc=stem, leave=False,
                                         disable=not progress, unit='frame'):
                    self.counts['frames'] += 1
                    crops += self.faces(frame, f'{stem}_f{index:06d}', '')
        return crops


def agglomerative_clusters(embeddings: np.ndarray, threshold: float) -> np.ndarray:
    """
    Average-linkage clustering on cosine similarity: labels (N,) from 0, biggest first.

    Merges the two most similar groups while their average pairwise similarity is at
    least ``threshold`` (Lance-Williams update, O(N^2) memory; fine for a few thousand
    crops). Pure numpy: no scipy needed.
    """
    n = len(embeddings)
    if n == 0:
        return np.zeros(0, dtype=int)
    sims = embeddings @ embeddings.T
    np.fill_diagonal(sims, -np.inf)
    sizes = np.ones(n)
    active = np.ones(n, dtype=bool)
    members = {i: [i] for i in range(n)}
    while active.sum() > 1:
        masked = np.where(active[:, None] & active[None, :], sims, -np.inf)
        flat = int(np.argmax(masked))
        a, b = divmod(flat, n)
        if masked[a, b] < threshold:
            break
        merged = (sizes[a] * sims[a] + sizes[b] * sims[b]) / (sizes[a] + sizes[b])
        sims[a], sims[:, a] = merged, merged
        sims[a, a] = -np.inf
        sizes[a] += sizes[b]
        active[b] = False
        sims[b, :], sims[:, b] = -np.inf, -np.inf
        members[a] += members.pop(b)
    groups = sorted(members.values(), key=lambda m: (-len(m), min(m)))
    labels = np.empty(n, dtype=int)
    for label, group in enumerate(groups):
        labels[group] = label
    return labels


def write_png(path: Path, image: np.ndarray) -> None:
    """Owner-only PNG (face crops are personal data), written atomically."""
    ok, data = cv2.imencode('.png', image)
    if not ok:
        raise SystemExit(f'could not encode {path}')
    tmp = path.with_name(path.name + '.tmp')
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'wb') as handle:
        handle.write(data.tobytes())
    os.replace(tmp, path)


def load_sorting_gallery(args):
    """
    Return the SFace embedder and the ``--gallery`` to sort by, or SystemExit saying why not.

    Called before extraction starts, so a corrupt gallery or one of another model stops
    the run at once rather than after a whole video or camera session.
    """
    from face_recognition_ros.core.embedding import SFaceEmbedder
    from face_recognition_ros.core.errors import FaceRecognitionError
    from face_recognition_ros.core.gallery import Gallery
    embedder = SFaceEmbedder(num_threads=args.threads)
    try:
        return embedder, Gallery.load(args.gallery, expected_model_id=embedder.model_id)
    except FaceRecognitionError as error:
        raise SystemExit(f'--gallery: {error}') from None


def sort_and_write(crops: list[Crop], args, embedder=None, gallery=None) -> dict:
    """Decide each crop's folder (gallery name, cluster, source sub-folder) and write it."""
    output = Path(args.output)
    folders = [crop.subdir for crop in crops]
    summary = {}
    if args.gallery and gallery is None:
        embedder, gallery = load_sorting_gallery(args)
    if args.gallery or args.cluster:
        from face_recognition_ros.core.embedding import SFaceEmbedder
        from face_recognition_ros.core.gallery import DEFAULT_THRESHOLD
        embedder = embedder or SFaceEmbedder(num_threads=args.threads)
        for start in range(0, len(crops), 32):
            chunk = crops[start:start + 32]
            faces = [c.image if c.image.shape[0] == 112 else
                     cv2.resize(c.image, (112, 112), interpolation=cv2.INTER_AREA)
                     for c in chunk]
            for crop, embedding in zip(chunk, embedder.embed(faces)):
                crop.embedding = embedding
        unnamed = list(range(len(crops)))
        if args.gallery:
            matches = gallery.match(np.stack([c.embedding for c in crops])) if crops else []
            unnamed = []
            for i, match in enumerate(matches):
                folders[i] = match.name
                if match.name == 'unknown':
                    unnamed.append(i)
            summary['by_gallery'] = dict(Counter(folders))
        if args.cluster and unnamed:
            threshold = (DEFAULT_THRESHOLD if args.cluster_threshold is None
                         else args.cluster_threshold)
            labels = agglomerative_clusters(np.stack([crops[i].embedding for i in unnamed]),
                                            threshold)
            for i, label in zip(unnamed, labels):
                folders[i] = f'cluster_{label + 1:03d}'
            summary['clusters'] = int(labels.max() + 1)
            summary['cluster_threshold'] = threshold
    for crop, folder in zip(crops, folders):
        target = output / folder
        target.mkdir(parents=True, exist_ok=True)
        write_png(target / f'{crop.name}.png', crop.image)
    summary['folders'] = dict(Counter(folders))
    return summary


def main(args: argparse.Namespace) -> dict:
    if args.every < 1:
        raise SystemExit('--every must be at least 1')
    embedder, gallery = load_sorting_gallery(args) if args.gallery else (None, None)
    extractor = Extractor(args)
    crops = extractor.run(args.sources)
    summary = sort_and_write(crops, args, embedder, gallery)
    report = {'saved': len(crops), **dict(extractor.counts), **summary,
              'output': str(args.output)}
    return report


def cli(argv=None) -> int:
    logging.basicConfig(level=logging.INFO, format='%(message)s')
    report = main(get_args_parser().parse_args(argv))
    print(json.dumps(report))
    return 0


if __name__ == '__main__':
    sys.exit(cli())
