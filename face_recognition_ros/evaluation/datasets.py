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
The photos ``evaluate`` measures on: folder-per-person datasets, pairs files, splits.

``FaceSource`` turns a photo into its largest face's embedding through the pipeline users
run (``build_pipeline``), with an on-disk cache (npz, no pickle, owner-only).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
import hashlib
import logging
import os
from pathlib import Path
import random
import tempfile

from face_recognition_ros.core.errors import FaceRecognitionError, ImageError
import numpy as np

LOG = logging.getLogger('face_recognition_ros.evaluation')


IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.pgm', '.ppm', '.tif', '.tiff', '.webp')


def natural_key(text: str):
    import re
    return [(0, int(p)) if p.isdigit() else (1, p) for p in re.split(r'(\d+)', text) if p]


def list_people(root: Path) -> dict[str, list[Path]]:
    people = {}
    for folder in sorted((p for p in Path(root).iterdir() if p.is_dir()),
                         key=lambda p: natural_key(p.name)):
        files = sorted((f for f in folder.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES),
                       key=lambda f: natural_key(f.name))
        if files:
            people[folder.name] = files
    return people


@dataclass
class FaceRecord:
    """The largest face of one photo: its landmarks (None: no face found)."""

    landmarks: np.ndarray | None
    box: np.ndarray | None = None
    score: float = 0.0
    faces_found: int = 0


def _atomic_savez(path: Path, **arrays) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as handle:
            np.savez(handle, **arrays)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class EmbeddingCache:
    """
    Per-photo detections and embeddings on disk: npz, no pickle, owner-only.

    Keys are hashes of (absolute path, size, mtime, preprocessing settings[, model id]),
    so a changed photo or other settings never reuse a stale entry.
    """

    def __init__(self, directory: Path | None, signature: str):
        self.directory = Path(directory) if directory else None
        self.signature = signature
        self.entries: dict[str, np.ndarray] = {}
        self.dirty = False
        if self.directory:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            self.path = self.directory / f'cache_{signature}.npz'
            if self.path.is_file():
                with np.load(self.path, allow_pickle=False) as data:
                    self.entries = {k: data[k] for k in data.files}

    @staticmethod
    def key(path: Path, *parts: str) -> str:
        stat = path.stat()
        text = '|'.join([str(path.resolve()), str(stat.st_size), str(stat.st_mtime_ns),
                         *parts])
        return 'k' + hashlib.sha1(text.encode()).hexdigest()

    def get(self, key: str):
        return self.entries.get(key)

    def put(self, key: str, value: np.ndarray) -> None:
        self.entries[key] = np.asarray(value)
        self.dirty = True

    def save(self) -> None:
        if self.directory and self.dirty:
            _atomic_savez(self.path, **self.entries)
            self.dirty = False


class FaceSource:
    """
    Detect, align and embed photos for evaluation, with caching.

    Detection, landmark checks and alignment are the ones of the pipeline users run
    (``build_pipeline``: the same detector object, ``FacePipeline._align_all`` and
    ``_align``), so a change there reaches this report; only ``--pad`` and ``--max-side``
    are evaluation's own (documented) preparation of the photo.
    """

    def __init__(self, args, embedder=None, classifier=None):
        from face_recognition_ros.core.pipeline import build_pipeline
        self.pipeline = build_pipeline(tracking=False, num_threads=args.threads)
        self.detector = self.pipeline.detector
        self.embedder = embedder or self.pipeline.embedder
        self.classifier = classifier
        self.pad = args.pad
        self.max_side = args.max_side
        # The models are part of the cache key: another detector must not reuse old boxes.
        settings = (f'pad={self.pad}|max_side={self.max_side}|'
                    f'detector={getattr(self.detector, "model_id", type(self.detector))}')
        # The hard-light passes change which faces are found and their landmarks.
        settings += f'|hard_light={getattr(self.pipeline, "hard_light", False)}'
        self.settings = settings
        self.cache = EmbeddingCache(None if args.no_cache else Path(args.cache_dir),
                                    hashlib.sha1(settings.encode()).hexdigest()[:12])
        self.records: dict[Path, FaceRecord] = {}
        self.unreadable: list[Path] = []  # photos skipped as unreadable, reported

    # -- image preparation -------------------------------------------------
    def prepare(self, path: Path) -> tuple[np.ndarray, float, int]:
        """Load, shrink and pad a photo; return (image, scale, border) to undo it."""
        import cv2
        from face_recognition_ros.core.image_io import load_image
        image = load_image(path)
        scale = 1.0
        if self.max_side and max(image.shape[:2]) > self.max_side:
            scale = self.max_side / max(image.shape[:2])
            image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        border = 0
        if self.pad and min(image.shape[:2]) < self.pad:
            border = int(round(0.5 * max(image.shape[:2])))
            image = cv2.copyMakeBorder(image, border, border, border, border,
                                       cv2.BORDER_REPLICATE)
        return image, scale, border

    def faces_in(self, path: Path):
        """All detections in a (prepared) photo: (image, detections)."""
        image, _, _ = self.prepare(path)
        return image, self.detector.detect(image)

    def record(self, path: Path) -> FaceRecord:
        """Return the largest face of a photo, cached (landmarks in the prepared image)."""
        if path in self.records:
            return self.records[path]
        key = self.cache.key(path, 'det')
        cached = self.cache.get(key)
        if cached is not None:
            count = int(cached[0])
            record = FaceRecord(cached[1:11].reshape(5, 2).astype(np.float32) if count else
                                None, cached[11:15].astype(np.float32) if count else None,
                                float(cached[15]), count)
        else:
            try:
                image, detections = self.faces_in(path)
            except ImageError as error:
                # One broken file in a dataset of thousands must not stop the evaluation:
                # it counts as a photo without a face, is reported, and is not cached.
                LOG.warning('skipped: %s', error)
                self.unreadable.append(path)
                self.records[path] = FaceRecord(None)
                return self.records[path]
            # The faces the pipeline would embed: landmarks found (or located) and aligned.
            from face_recognition_ros.core.pipeline import STAGES
            usable, _ = self.pipeline._align_all(image, list(detections),
                                                 dict.fromkeys(STAGES, 0.0))
            if usable:
                best = max(usable, key=lambda d: float(d.box[2] * d.box[3]))
                record = FaceRecord(np.asarray(best.landmarks, np.float32),
                                    np.asarray(best.box, np.float32), float(best.score),
                                    len(detections))
                packed = np.r_[len(detections), record.landmarks.ravel(), record.box,
                               record.score]
            else:
                record = FaceRecord(None)
                packed = np.zeros(16)
            self.cache.put(key, packed.astype(np.float64))
        self.records[path] = record
        return record

    def aligned(self, path: Path) -> np.ndarray | None:
        record = self.record(path)
        if record.landmarks is None:
            return None
        image, _, _ = self.prepare(path)
        return self.pipeline._align(image, record.landmarks)

    def _model_outputs(self, paths, model_id: str, compute) -> tuple[np.ndarray, np.ndarray]:
        """(found mask, stacked outputs) for paths, computing only uncached ones."""
        results: list[np.ndarray | None] = [None] * len(paths)
        todo = []
        for i, path in enumerate(paths):
            if self.record(path).landmarks is None:
                continue
            cached = self.cache.get(self.cache.key(path, model_id))
            if cached is not None:
                results[i] = cached
            else:
                todo.append(i)
        for start in range(0, len(todo), 32):
            chunk = todo[start:start + 32]
            crops = [self.aligned(paths[i]) for i in chunk]
            outputs = compute(crops)
            for i, output in zip(chunk, outputs):
                results[i] = output
                self.cache.put(self.cache.key(paths[i], model_id), output)
        found = np.array([r is not None for r in results], dtype=bool)
        width = next((len(r) for r in results if r is not None), 0)
        stacked = np.stack([r if r is not None else np.full(width, np.nan)
                            for r in results]) if paths else np.zeros((0, width))
        return found, stacked.astype(np.float32)

    def embeddings(self, paths, embedder=None) -> tuple[np.ndarray, np.ndarray]:
        """(found mask, embeddings) of the largest face of each photo (NaN rows: none)."""
        embedder = embedder or self.embedder
        return self._model_outputs(paths, embedder.model_id, embedder.embed)

    def probabilities(self, paths) -> tuple[np.ndarray, np.ndarray]:
        return self._model_outputs(paths, self.classifier.model_id + '|prob',
                                   self.classifier.probabilities)


class PairsFileError(FaceRecognitionError, ValueError):
    """A pairs file that cannot be read as one (the CLI prints it as a user error)."""


def _pairs_file_error(csv_path, problem: str) -> PairsFileError:
    return PairsFileError(f'--pairs {csv_path}: {problem}; give a CSV whose first two columns '
                          'are image files and whose decision column says Yes/No (deepface '
                          'master.csv)')


def read_pairs(csv_path: Path, image_root: Path | None = None):
    """
    (path_a, path_b, is_same) rows from a pairs CSV.

    Columns: the first two are image files, the same/different column is named
    ``decision``/``Decision``/``same``/``label`` (Yes/No, 1/0, true/false) or is the third.
    File names are resolved against ``image_root`` (default: the CSV's folder), falling
    back to the base name (deepface's pivot file prefixes ``deepface/tests/dataset/``).
    """
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise _pairs_file_error(csv_path, 'no such file')
    try:
        return _read_pairs(csv_path, image_root)
    except (UnicodeDecodeError, csv.Error, StopIteration) as error:
        # An image, a binary or an empty file given by mistake.
        problem = 'it is empty' if isinstance(error, StopIteration) else f'not a CSV ({error})'
        raise _pairs_file_error(csv_path, problem) from None


def _read_pairs(csv_path: Path, image_root: Path | None):
    root = Path(image_root) if image_root else csv_path.parent
    pairs = []
    with open(csv_path, newline='') as handle:
        reader = csv.reader(handle)
        header = [h.strip().lower() for h in next(reader)]
        decision_col = next((header.index(n) for n in ('decision', 'same', 'label', 'match')
                             if n in header), 2)
        for row in reader:
            if len(row) <= decision_col:
                continue
            value = row[decision_col].strip().lower()
            if value in ('yes', '1', 'true', 'same'):
                same = True
            elif value in ('no', '0', 'false', 'different'):
                same = False
            else:
                raise _pairs_file_error(csv_path,
                                        f'cannot read same/different value {value!r}')
            files = []
            for name in row[:2]:
                candidate = root / name.strip()
                if not candidate.is_file():
                    candidate = root / Path(name.strip()).name
                files.append(candidate)
            pairs.append((files[0], files[1], same))
    return pairs


@dataclass
class IdentificationSplit:
    known: list[str]
    unknown: list[str]
    enroll: dict[str, list[Path]] = field(default_factory=dict)
    probes: dict[str, list[Path]] = field(default_factory=dict)
    stranger_photos: list[Path] = field(default_factory=list)


def split_identification(people: dict[str, list[Path]], k: int, unknown_fraction: float,
                         seed: int) -> IdentificationSplit:
    """Seeded choice of unknown people; first k photos (natural order) of the others enroll."""
    names = list(people)
    n_unknown = int(round(unknown_fraction * len(names)))
    unknown = sorted(random.Random(seed).sample(names, n_unknown), key=natural_key)
    known = [n for n in names if n not in unknown]
    split = IdentificationSplit(known, unknown)
    for name in known:
        if len(people[name]) <= k:
            raise SystemExit(f'person {name!r} has {len(people[name])} photos: with '
                             f'--enroll-per-person {k} none is left to test; lower it')
        split.enroll[name] = people[name][:k]
        split.probes[name] = people[name][k:]
    split.stranger_photos = [p for name in unknown for p in people[name]]
    return split


def save_crops(source: FaceSource, split: IdentificationSplit, out_dir: Path) -> None:
    """Aligned crops of the enrolled photos, one folder per known person (PNG, 0o600)."""
    import cv2
    for name in split.known:
        folder = out_dir / name
        folder.mkdir(parents=True, exist_ok=True)
        for path in split.enroll[name]:
            crop = source.aligned(path)
            if crop is None:
                continue
            target = folder / (path.stem + '.png')
            ok, data = cv2.imencode('.png', crop)
            if ok:
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, 'wb') as handle:
                    handle.write(data.tobytes())
