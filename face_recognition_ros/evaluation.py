"""Accuracy evaluation: ``python -m face_recognition_ros evaluate``.

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

The metric functions at the top of this module are pure numpy and have unit tests.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import logging
import os
import random
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from face_recognition_ros.core.errors import FaceRecognitionError, ImageError

LOG = logging.getLogger(__name__)
IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.pgm', '.ppm', '.tif', '.tiff', '.webp')


# =============================================================== metrics (pure numpy)
def threshold_at_fpir(negative_scores, rate: float) -> float:
    """Lowest threshold t with mean(negative_scores >= t) <= rate.

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
    """(far, tar, thresholds) for every distinct score, from strictest to loosest.

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
    """LFW-style k-fold accuracy: threshold from k-1 folds, accuracy on the held-out one.

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


# ======================================================================= face data
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
    """Per-photo detections and embeddings on disk: npz, no pickle, owner-only.

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
    """Detect, align and embed photos for evaluation, with caching.

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
        """The largest face of a photo, cached (landmarks in the prepared image)."""
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


# ================================================================== verification
class PairsFileError(FaceRecognitionError, ValueError):
    """A pairs file that cannot be read as one (the CLI prints it as a user error)."""


def _pairs_file_error(csv_path, problem: str) -> PairsFileError:
    return PairsFileError(f'--pairs {csv_path}: {problem}; give a CSV whose first two columns '
                          'are image files and whose decision column says Yes/No (deepface '
                          'master.csv)')


def read_pairs(csv_path: Path, image_root: Path | None = None):
    """(path_a, path_b, is_same) rows from a pairs CSV.

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


def evaluate_verification(source: FaceSource, pairs_csv: Path, image_root, far: float
                          ) -> dict:
    pairs = read_pairs(pairs_csv, image_root)
    missing = sorted({str(p) for a, b, _ in pairs for p in (a, b) if not p.is_file()})
    if missing:
        raise SystemExit(f'{len(missing)} files named in {pairs_csv} are missing, e.g. '
                         f'{missing[0]}: give their folder with --pairs-root')
    photos = sorted({p for a, b, _ in pairs for p in (a, b)})
    index = {p: i for i, p in enumerate(photos)}
    found, embeddings = source.embeddings(photos)
    scores, same = [], []
    for a, b, is_same in pairs:
        ia, ib = index[a], index[b]
        # a pair with an undetected face gets the lowest possible similarity: a miss
        score = float(embeddings[ia] @ embeddings[ib]) if found[ia] and found[ib] else -1.0
        scores.append(score)
        same.append(is_same)
    scores, same = np.array(scores), np.array(same)
    from face_recognition_ros.core.gallery import DEFAULT_THRESHOLD
    far_curve, tar_curve, _ = roc_curve(scores, same)
    result = {
        'pairs_file': str(pairs_csv), 'pairs': int(len(pairs)),
        'same_pairs': int(same.sum()), 'different_pairs': int((~same).sum()),
        'photos': len(photos), 'photos_without_face': int((~found).sum()),
        'photos_without_face_list': [p.name for p, f in zip(photos, found) if not f],
        'pairs_with_missing_face': int(sum(1 for a, b, _ in pairs
                                           if not (found[index[a]] and found[index[b]]))),
        'kfold_accuracy': kfold_accuracy(scores, same, 10),
        'roc_auc': roc_auc(scores, same),
        'tar_at_far': tar_at_far(scores, same, far),
        'at_default_threshold': {
            'threshold': DEFAULT_THRESHOLD,
            'tar': float(np.mean(scores[same] >= DEFAULT_THRESHOLD)),
            'far': float(np.mean(scores[~same] >= DEFAULT_THRESHOLD)),
            'accuracy': float(np.mean((scores >= DEFAULT_THRESHOLD) == same))},
        'roc': {'far': far_curve.tolist(), 'tar': tar_curve.tolist()},
    }
    return result


# ================================================================ identification
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


def evaluate_identification(source: FaceSource, dataset: Path, args) -> dict:
    people = list_people(dataset)
    if len(people) < 3:
        raise SystemExit(f'{dataset}: needs at least 3 person folders, found {len(people)}')
    split = split_identification(people, args.enroll_per_person, args.unknown_fraction,
                                 args.seed)
    enroll_paths = [p for n in split.known for p in split.enroll[n]]
    enroll_labels = np.array([i for i, n in enumerate(split.known) for _ in split.enroll[n]])
    probe_paths = [p for n in split.known for p in split.probes[n]]
    probe_labels = np.array([i for i, n in enumerate(split.known) for _ in split.probes[n]])
    stranger_paths = split.stranger_photos
    all_paths = enroll_paths + probe_paths + stranger_paths
    found_all = np.array([source.record(p).landmarks is not None for p in all_paths])
    n_e, n_p = len(enroll_paths), len(probe_paths)
    result = {
        'dataset': str(dataset), 'people': len(people), 'known_people': len(split.known),
        'unknown_people': split.unknown, 'enroll_per_person': args.enroll_per_person,
        'enroll_photos': n_e, 'known_probes': n_p, 'stranger_probes': len(stranger_paths),
        'unreadable_photos': sorted(str(p) for p in source.unreadable if p in set(all_paths)),
        'photos_without_face': {
            'enroll': int((~found_all[:n_e]).sum()),
            'known_probes': int((~found_all[n_e:n_e + n_p]).sum()),
            'strangers': int((~found_all[n_e + n_p:]).sum())},
        'methods': {},
    }
    if args.save_enroll_crops:
        save_crops(source, split, Path(args.save_enroll_crops))
        result['enroll_crops_dir'] = str(args.save_enroll_crops)

    from face_recognition_ros.core.gallery import DEFAULT_THRESHOLD
    found_e, emb_e = source.embeddings(enroll_paths)
    found_p, emb_p = source.embeddings(probe_paths)
    found_s, emb_s = source.embeddings(stranger_paths)
    known_scores = _scores_or_miss(found_p, emb_p, emb_e[found_e], enroll_labels[found_e],
                                   len(split.known))
    unknown_scores = _scores_or_miss(found_s, emb_s, emb_e[found_e], enroll_labels[found_e],
                                     len(split.known))
    # The threshold the gallery users build from these photos would use (issue 12): derived
    # from the target rate of strangers named and the gallery as it is.
    from face_recognition_ros.core import open_set
    point = open_set.operating_point(
        source.embedder.model_id, emb_e[found_e], enroll_labels[found_e],
        getattr(args, 'max_false_name_rate', None) or open_set.DEFAULT_MAX_FALSE_NAME_RATE,
        fixed_threshold=DEFAULT_THRESHOLD)
    method = identification_metrics(known_scores, probe_labels, unknown_scores,
                                    point.threshold)
    method['operating_point'] = point.to_dict()
    method['at_fixed_0363'] = {
        'tpir': tpir_at_threshold(known_scores, probe_labels, DEFAULT_THRESHOLD),
        'fpir': fpir_at_threshold(unknown_scores, DEFAULT_THRESHOLD)}
    method['name'] = f'gallery ({source.embedder.model_id}, cosine)'
    method['curve'] = [c.tolist() for c in tpir_fpir_curve(known_scores, probe_labels,
                                                           unknown_scores)]
    result['methods']['gallery'] = method

    if source.classifier is not None:
        classifier = source.classifier
        missing = [n for n in split.known if n not in classifier.class_names]
        extra = [n for n in classifier.class_names if n in split.unknown]
        if missing or extra:
            raise SystemExit(
                f'--classifier {args.classifier} was not trained on this split (known people '
                f'missing from it: {missing[:5]}; held-out people in it: {extra[:5]}). Train '
                'it on the crops that --save-enroll-crops writes for the same --seed, '
                '--enroll-per-person and --unknown-fraction.')
        order = [classifier.class_names.index(n) for n in split.known]
        found_p, prob_p = source.probabilities(probe_paths)
        found_s, prob_s = source.probabilities(stranger_paths)
        known_c = np.where(found_p[:, None], prob_p[:, order], -np.inf)
        unknown_c = np.where(found_s[:, None], prob_s[:, order], -np.inf)
        method = identification_metrics(known_c, probe_labels, unknown_c,
                                         classifier.threshold)
        method['name'] = f'classifier ({Path(args.classifier).name}, top softmax)'
        method['curve'] = [c.tolist() for c in tpir_fpir_curve(known_c, probe_labels,
                                                               unknown_c)]
        result['methods']['classifier'] = method
        if classifier.provides_embedding:
            found_e2, emb_e2 = source.embeddings(enroll_paths, classifier)
            found_p2, emb_p2 = source.embeddings(probe_paths, classifier)
            found_s2, emb_s2 = source.embeddings(stranger_paths, classifier)
            ks = _scores_or_miss(found_p2, emb_p2, emb_e2[found_e2], enroll_labels[found_e2],
                                 len(split.known))
            us = _scores_or_miss(found_s2, emb_s2, emb_e2[found_e2], enroll_labels[found_e2],
                                 len(split.known))
            method = identification_metrics(ks, probe_labels, us,
                                            classifier.embedding_threshold)
            method['name'] = 'gallery on the classifier\'s embedding (cosine)'
            method['curve'] = [c.tolist() for c in tpir_fpir_curve(ks, probe_labels, us)]
            result['methods']['classifier_embedding'] = method
    return result


def _scores_or_miss(found, probes, gallery, labels, num_people) -> np.ndarray:
    scores = np.full((len(found), num_people), -np.inf, dtype=np.float32)
    if found.any() and len(gallery):
        scores[found] = person_scores(probes[found], gallery, labels, num_people)
    return scores


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


# ================================================================== group photos
def evaluate_group_photos(source: FaceSource, photos: list[Path], gallery_dir: Path) -> dict:
    """Enroll per-person crops, identify every face in each group photo, list the names.

    Faces are found, aligned and embedded by the pipeline's own ``embed_faces``; the
    threshold is the gallery's derived operating point (``core/open_set.py``).
    """
    from face_recognition_ros.core import open_set
    from face_recognition_ros.core.gallery import DEFAULT_THRESHOLD
    people = list_people(gallery_dir)
    names = list(people)
    paths = [p for n in names for p in people[n]]
    labels = np.array([i for i, n in enumerate(names) for _ in people[n]])
    found, embeddings = source.embeddings(paths)
    if not found.any():
        raise SystemExit(f'--group-gallery {gallery_dir}: no face found to enroll in '
                         f'{len(paths)} photos of {len(names)} people; give a folder with '
                         'one sub-folder of face photos per person')
    point = open_set.operating_point(source.embedder.model_id, embeddings[found],
                                     labels[found], fixed_threshold=DEFAULT_THRESHOLD)
    threshold = point.threshold
    report = {'gallery_dir': str(gallery_dir), 'people': names,
              'enrolled_photos': int(found.sum()), 'enroll_without_face': int((~found).sum()),
              'threshold': round(threshold, 4), 'operating_point': point.to_dict(),
              'photos': []}
    for photo in photos:
        image, _, _ = source.prepare(photo)
        embedded = source.pipeline.embed_faces(image)
        faces = []
        if embedded:
            emb = np.stack([vector for _, vector in embedded])
            scores = person_scores(emb, embeddings[found], labels[found], len(names))
            for (det, _), row in zip(embedded, scores):
                best = int(np.argmax(row))
                faces.append({'box': [round(float(v), 1) for v in det.box],
                              'name': names[best] if row[best] >= threshold else 'unknown',
                              'best_person': names[best],
                              'similarity': round(float(row[best]), 3)})
        named = [f['name'] for f in faces if f['name'] != 'unknown']
        duplicates = sorted({n for n in named if named.count(n) > 1})
        report['photos'].append({'photo': photo.name, 'faces': len(faces),
                                 'named': len(named), 'unknown': len(faces) - len(named),
                                 'names': sorted(named), 'duplicate_names': duplicates,
                                 'details': faces})
    return report


# ======================================================================== output
def plot_results(results: dict, out_dir: Path) -> list[str]:
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot as plt
    written = []
    if results.get('verification'):
        fig, ax = plt.subplots(figsize=(5, 4))
        for v in results['verification']:
            ax.plot(v['roc']['far'], v['roc']['tar'], '-', drawstyle='steps-post',
                    label=f'{Path(v["pairs_file"]).name}: {v["same_pairs"]} same + '
                          f'{v["different_pairs"]} different (AUC {v["roc_auc"]:.3f})')
        ax.set_xscale('symlog', linthresh=1e-2)
        ax.set_xlabel('false accept rate')
        ax.set_ylabel('true accept rate')
        ax.set_title('Verification ROC, SFace cosine similarity', fontsize=9)
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(loc='lower right', fontsize=7)
        fig.tight_layout()
        path = out_dir / 'roc_verification.png'
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path.name)
    if 'identification' in results:
        ident = results['identification']
        fig, ax = plt.subplots(figsize=(5, 4))
        for key, method in ident['methods'].items():
            fpir, tpir = method['curve']
            ax.plot(fpir, tpir, '-', drawstyle='steps-post', label=method['name'])
        ax.set_xlabel('FPIR (strangers given a name)')
        ax.set_ylabel('TPIR (known people named correctly)')
        ax.set_title(f'Open-set identification, {Path(ident["dataset"]).name}, '
                     f'k={ident["enroll_per_person"]}', fontsize=9)
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(loc='lower right', fontsize=7)
        fig.tight_layout()
        path = out_dir / 'roc_identification.png'
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path.name)
    return written


def _pct(value) -> str:
    return 'n/a' if value is None or not np.isfinite(value) else f'{100 * value:.1f} %'


def markdown_report(results: dict, plots: list[str]) -> str:
    lines = ['# Accuracy report', '', f'Command: `{results["command"]}`  ',
             f'Machine: {results["machine"]}  ', f'Date: {results["date"]}', '']
    for v in results.get('verification', []):
        t = v['tar_at_far']
        k = v['kfold_accuracy']
        lines += [f'## Verification: {Path(v["pairs_file"]).name}', '',
                  f'`{v["pairs_file"]}`: {v["pairs"]} pairs ({v["same_pairs"]} same, '
                  f'{v["different_pairs"]} different) over {v["photos"]} photos; '
                  f'{v["photos_without_face"]} photos without a detected face '
                  f'({v["pairs_with_missing_face"]} pairs scored as misses).', '',
                  '| metric | value |', '|---|---|',
                  f'| 10-fold accuracy | {_pct(k["mean"])} ± {100 * k["std"]:.1f} |',
                  f'| ROC AUC | {v["roc_auc"]:.4f} |',
                  f'| TAR @ FAR {t["target_far"]:g} | {_pct(t["tar"])} (measured FAR '
                  f'{t["far"]:.4f}, resolution {t["far_resolution"]:.4f}) |',
                  f'| at the gallery default threshold {v["at_default_threshold"]["threshold"]}'
                  f' | TAR {_pct(v["at_default_threshold"]["tar"])}, FAR '
                  f'{_pct(v["at_default_threshold"]["far"])}, accuracy '
                  f'{_pct(v["at_default_threshold"]["accuracy"])} |', '']
        if t['far_resolution'] > t['target_far']:
            lines += [f'With {v["different_pairs"]} different pairs the smallest FAR that can '
                      f'be measured is {t["far_resolution"]:.4f}, so "TAR @ FAR '
                      f'{t["target_far"]:g}" here is TAR with zero false accepts.', '']
    if 'identification' in results:
        ident = results['identification']
        nf = ident['photos_without_face']
        lines += ['## Identification', '',
                  f'`{ident["dataset"]}`: {ident["people"]} people, '
                  f'{ident["known_people"]} known, {len(ident["unknown_people"])} held out as '
                  f'strangers ({", ".join(ident["unknown_people"])}); '
                  f'{ident["enroll_per_person"]} photos enrolled per known person '
                  f'({ident["enroll_photos"]}), {ident["known_probes"]} known probes, '
                  f'{ident["stranger_probes"]} stranger probes. Photos without a detected '
                  f'face: {nf["enroll"]} enroll, {nf["known_probes"]} known probes, '
                  f'{nf["strangers"]} strangers'
                  + (f' (of them unreadable, skipped: '
                     f'{", ".join(ident["unreadable_photos"])})'
                     if ident.get('unreadable_photos') else '') + '.', '',
                  '| method | closed-set top-1 | TPIR @ FPIR 1 % | TPIR @ FPIR 10 % | '
                  'deployed threshold: TPIR / FPIR |', '|---|---|---|---|---|']
        for method in ident['methods'].values():
            d = method['at_deployed_threshold']
            lines.append(f'| {method["name"]} | {_pct(method["closed_set_top1"])} | '
                         f'{_pct(method["tpir_at_fpir_0.01"]["tpir"])} | '
                         f'{_pct(method["tpir_at_fpir_0.1"]["tpir"])} | '
                         f'{_pct(d["tpir"])} / {_pct(d["fpir"])} (t = {d["threshold"]:.3f}) |')
        fixed = ident['methods'].get('gallery', {}).get('at_fixed_0363')
        if fixed:
            point = ident['methods']['gallery']['operating_point']
            lines += ['', f'The gallery\'s threshold is derived ({point["source"]}) for a '
                      f'target of {100 * point["target_false_name_rate"]:g} % of strangers '
                      f'named with this gallery (core/open_set.py); at the old fixed 0.363 '
                      f'it would be TPIR {_pct(fixed["tpir"])} / FPIR {_pct(fixed["fpir"])}.']
        resolution = 1.0 / max(ident['stranger_probes'], 1)
        lines += ['', f'FPIR resolution: 1/{ident["stranger_probes"]} = {resolution:.3f}; '
                  '"TPIR @ FPIR x" uses the threshold set on the strangers themselves (the '
                  'best possible at that FPIR), the last column the threshold the method '
                  'ships with.', '']
    if 'group_photos' in results:
        g = results['group_photos']
        lines += ['## Group photos', '',
                  f'Enrolled {g["enrolled_photos"]} crops of {len(g["people"])} people from '
                  f'`{g["gallery_dir"]}` (threshold {g["threshold"]}). No per-face labels '
                  'exist for these photos, so this lists what was found; a name given twice '
                  'in one photo is an error for sure.', '',
                  '| photo | faces | named | unknown | names | names given twice |',
                  '|---|---|---|---|---|---|']
        for p in g['photos']:
            lines.append(f'| {p["photo"]} | {p["faces"]} | {p["named"]} | {p["unknown"]} | '
                         f'{", ".join(p["names"])} | {", ".join(p["duplicate_names"]) or "-"} |')
        lines.append('')
    for plot in plots:
        lines += [f'![{plot}]({plot})', '']
    return '\n'.join(lines)


# ========================================================================= CLI
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--pairs', type=Path, nargs='+', default=[],
                        help='verification pairs CSV file(s) (e.g. deepface master.csv: '
                             'file_x,file_y,Decision)')
    parser.add_argument('--pairs-root', type=Path, default=None,
                        help='folder of the pair images (default: the CSV\'s folder)')
    parser.add_argument('--far', type=float, default=1e-3, help='FAR for TAR@FAR')
    parser.add_argument('--identification', type=Path,
                        help='folder with one sub-folder of photos per person (e.g. ORL)')
    parser.add_argument('--enroll-per-person', type=int, default=5,
                        help='photos enrolled per known person (the first k by name)')
    parser.add_argument('--unknown-fraction', type=float, default=0.25,
                        help='fraction of people held out as strangers (chosen by --seed)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--max-false-name-rate', type=float, default=None, metavar='RATE',
                        help='target share of strangers named that sets the gallery\'s '
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


def _atomic_write_text(path: Path, text: str) -> None:
    """Reports name people: owner-only, and never half-written."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix='.tmp')
    try:
        with os.fdopen(fd, 'w') as handle:
            handle.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _summary(results: dict) -> dict:
    out = {'report': 'report.md', 'seconds': results.get('seconds')}
    if results.get('verification'):
        out['verification'] = {
            Path(v['pairs_file']).name: {'kfold_accuracy': v['kfold_accuracy']['mean'],
                                         'roc_auc': v['roc_auc'],
                                         'tar_at_far': v['tar_at_far']['tar']}
            for v in results['verification']}
    if 'identification' in results:
        out['identification'] = {
            key: {'top1': m['closed_set_top1'],
                  'tpir_at_fpir_0.01': m['tpir_at_fpir_0.01']['tpir'],
                  'tpir_at_fpir_0.1': m['tpir_at_fpir_0.1']['tpir']}
            for key, m in results['identification']['methods'].items()}
    if 'group_photos' in results:
        out['group_photos'] = {p['photo']: p['names'] for p in
                               results['group_photos']['photos']}
    return out


def main(argv=None) -> int:
    """Standalone entry (cli.py wires the same functions as the ``evaluate`` command)."""
    logging.basicConfig(level=logging.INFO, format='%(message)s')
    parser = argparse.ArgumentParser(prog='python -m face_recognition_ros evaluate',
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == '__main__':
    sys.exit(main())
