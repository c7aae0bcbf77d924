"""The gallery: who is enrolled, and open-set matching of embeddings against them.

A gallery is an in-memory (N, D) float32 matrix of unit embeddings, N rows grouped by
person, plus the list of person names. Matching a batch of query embeddings is one matrix
product followed by an arg-max, so it stays in the low milliseconds with 100,000 enrolled
faces (``benchmarks/gallery_match.py`` measures it).

**Open set.** A query takes the name of the enrolled person whose best embedding is most
similar (cosine similarity) when that similarity is at least the gallery's threshold, and
``UNKNOWN`` otherwise: a stranger is never given the nearest name.

**Threshold rule.** ``DEFAULT_THRESHOLD = 0.363`` is the cosine threshold OpenCV Zoo
publishes for SFace, chosen by the model's authors on LFW. It was not tuned on this
project's data, and must not be: a different embedding model needs its own published or
separately calibrated threshold, which a gallery stores with itself.

**Confidence.** ``confidence = 1 / (1 + exp(-(similarity - threshold) / CONFIDENCE_SCALE))``
with ``CONFIDENCE_SCALE = 0.05``: it is monotonic in the similarity, exactly 0.5 at the
threshold, about 0.88 at 0.1 above it and 0.12 at 0.1 below. It is the confidence that the
face is the best-matching enrolled person, so a named match has confidence >= 0.5 and an
``UNKNOWN`` one < 0.5.

**Persistence.** A gallery file is one ``.npz`` archive written with numpy (no pickle):
``embeddings`` (N, D) float32, ``labels`` (N,) int32 (row -> person index), and
``metadata``, a JSON string with the format version, the embedding model id, the threshold,
the names and the creation/update times. Saving is atomic (a temporary file in the same
directory, fsync, ``os.replace``) and owner-only (mode 0o600): a failed save leaves the
previous file as it was. A gallery records which embedding model made it and refuses to
be used with another one, because embeddings of different models are not comparable.
"""

from __future__ import annotations

import datetime
import json
import logging
import math
import os
import tempfile
import threading
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np

from .errors import GalleryError, ImageError, InvalidNameError
from .types import UNKNOWN, Match

logger = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 0.363
"""OpenCV Zoo's published SFace cosine-similarity threshold (chosen by its authors on LFW)."""

CONFIDENCE_SCALE = 0.05
"""Similarity distance from the threshold over which the confidence moves by e (logistic)."""

DUPLICATE_SIMILARITY = 0.9999
"""Cosine at or above which a new embedding of a person is the same photo enrolled again
(the same pixels give the same vector; two photos of one person stay far below 0.99)."""

FORMAT_VERSION = 1
MAX_NAME_LENGTH = 64
IMAGE_SUFFIXES = frozenset(
    {'.jpg', '.jpeg', '.png', '.bmp', '.gif', '.pgm', '.ppm', '.pbm', '.tif', '.tiff', '.webp'})

_PATH_SEPARATORS = ('/', '\\', os.sep) + ((os.altsep,) if os.altsep else ())


def validate_name(name: str) -> str:
    """Return the name in NFC, stripped of surrounding whitespace, or raise InvalidNameError.

    Names end up in file names (extracted crops), JSON and ROS messages, so they must be
    short, printable and free of path separators; ``unknown`` is reserved for strangers.
    """
    if not isinstance(name, str):
        raise InvalidNameError(f'a name must be text, not {type(name).__name__}')
    # NFC: 'José' typed on Linux and a folder named on macOS (decomposed, NFD) must be one
    # person, or enroll makes two and remove cannot find the one it was given.
    stripped = unicodedata.normalize('NFC', name).strip()
    if not stripped:
        raise InvalidNameError('the name is empty: give the person a name')
    if len(stripped) > MAX_NAME_LENGTH:
        raise InvalidNameError(
            f'the name {stripped[:20]!r}... has {len(stripped)} characters: '
            f'use at most {MAX_NAME_LENGTH}')
    if any(sep in stripped for sep in _PATH_SEPARATORS):
        raise InvalidNameError(
            f'the name {stripped!r} holds a path separator: use a name without / or \\')
    if any(unicodedata.category(ch) in ('Cc', 'Cf', 'Cs', 'Co', 'Zl', 'Zp')
           for ch in stripped):
        raise InvalidNameError(
            f'the name {stripped!r} holds control characters: use printable text')
    if stripped in ('.', '..'):
        raise InvalidNameError(f'{stripped!r} is not a name: choose another one')
    if stripped.casefold() == UNKNOWN:
        raise InvalidNameError(
            f'{UNKNOWN!r} is reserved for faces that match nobody: choose another name')
    return stripped


def similarity_to_confidence(similarity, threshold: float):
    """Map cosine similarity to a confidence in [0, 1] that is exactly 0.5 at ``threshold``.

    A logistic with scale ``CONFIDENCE_SCALE``; works on scalars and numpy arrays.
    """
    z = (np.asarray(similarity, dtype=np.float64) - threshold) / CONFIDENCE_SCALE
    # Clip so exp never overflows for similarity -1 and a high threshold.
    confidence = 1.0 / (1.0 + np.exp(-np.clip(z, -500.0, 500.0)))
    return float(confidence) if np.ndim(confidence) == 0 else confidence


def _now_iso() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')


def _as_embedding_matrix(embeddings, what: str) -> np.ndarray:
    """Return embeddings as a finite, L2-normalised (N, D) float32 matrix."""
    matrix = np.asarray(embeddings, dtype=np.float32)
    if matrix.ndim == 1:
        matrix = matrix[None, :]
    if matrix.ndim != 2 or matrix.shape[1] == 0:
        raise GalleryError(
            f'{what} must be an (N, D) array of embeddings, got shape {matrix.shape}')
    if not np.all(np.isfinite(matrix)):
        raise GalleryError(f'{what} contain NaN or infinite values: recompute them')
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    if np.any(norms < 1e-6):
        raise GalleryError(f'{what} contain an all-zero vector: recompute them')
    # Embedders return unit vectors already; renormalising the rows that are not guards
    # against foreign callers, and leaving the others alone keeps a save/load round trip
    # bit-exact.
    off = np.abs(norms[:, 0] - 1.0) > 1e-5
    if np.any(off):
        matrix = matrix.copy()
        matrix[off] /= norms[off]
    return np.ascontiguousarray(matrix, dtype=np.float32)


class Gallery:
    """Enrolled people and their embeddings, matched open-set by cosine similarity.

    Thread-safe: the ROS recognizer enrolls from a service callback while frames are
    matched, so every method takes an internal lock.
    """

    def __init__(self, model_id: str, threshold: float | None = None):
        if not isinstance(model_id, str) or not model_id:
            raise GalleryError('a gallery needs the id of the embedding model that fills it')
        self.model_id = model_id
        self.threshold = DEFAULT_THRESHOLD if threshold is None else threshold
        self.created = _now_iso()
        self.updated = self.created
        self._lock = threading.RLock()
        self._names: list[str] = []
        # Rows are kept grouped by person in the order of self._names, so the rows of
        # person i are self._embeddings[self._starts[i]:self._starts[i + 1]].
        self._embeddings = np.zeros((0, 0), dtype=np.float32)
        self._counts: list[int] = []
        self._labels_cache: np.ndarray | None = None

    @property
    def threshold(self) -> float:
        """Cosine similarity a face needs for a name."""
        return self._threshold

    @threshold.setter
    def threshold(self, value: float) -> None:
        # Checked on every assignment, not only in __init__: run-time overrides (the CLI's
        # --threshold, a node parameter) set it directly, and a value outside [-1, 1]
        # silently names everyone (below -1) or nobody (above 1).
        threshold = float(value)
        if not -1.0 <= threshold <= 1.0 or math.isnan(threshold):
            raise GalleryError(
                f'threshold {threshold} is not a cosine similarity: use a value in [-1, 1]')
        self._threshold = threshold

    # ---------------------------------------------------------------- inspection
    @property
    def dimension(self) -> int | None:
        """Embedding dimension, or None while the gallery is empty and new."""
        with self._lock:
            return self._embeddings.shape[1] or None

    def names(self) -> list[str]:
        """Enrolled names, in enrollment order."""
        with self._lock:
            return list(self._names)

    def counts(self) -> dict[str, int]:
        """Number of enrolled embeddings per name."""
        with self._lock:
            return dict(zip(self._names, self._counts))

    def __len__(self) -> int:
        """Number of enrolled people (not embeddings)."""
        with self._lock:
            return len(self._names)

    def __contains__(self, name: str) -> bool:
        with self._lock:
            return isinstance(name, str) and name.strip() in self._names

    @property
    def num_embeddings(self) -> int:
        with self._lock:
            return int(self._embeddings.shape[0])

    def embeddings_of(self, name: str) -> np.ndarray:
        """A copy of the embeddings enrolled for ``name`` (K, D)."""
        with self._lock:
            index = self._index_of(validate_name(name))
            start = sum(self._counts[:index])
            return self._embeddings[start:start + self._counts[index]].copy()

    def _index_of(self, name: str) -> int:
        try:
            return self._names.index(name)
        except ValueError:
            raise GalleryError(
                f'{name!r} is not enrolled; enrolled: {", ".join(self._names) or "nobody"}'
            ) from None

    def _starts(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self._counts)[:-1]]).astype(np.intp)

    def _labels(self) -> np.ndarray:
        """Row -> person index; cached, as matching needs it per frame and edits are rare."""
        if self._labels_cache is None or self._labels_cache.shape[0] != \
                self._embeddings.shape[0]:
            self._labels_cache = np.repeat(np.arange(len(self._names), dtype=np.int32),
                                           np.asarray(self._counts, dtype=np.intp))
        return self._labels_cache

    # ------------------------------------------------------------------ editing
    def add(self, name: str, embeddings) -> int:
        """Enroll ``embeddings`` (D,) or (K, D) under ``name``; return the person's count.

        Adding to an existing name extends it: more views make matching more robust. An
        embedding identical to one the person already has (the same photo again) is skipped.
        """
        name = validate_name(name)
        matrix = _as_embedding_matrix(embeddings, f'the embeddings of {name!r}')
        with self._lock:
            if self._embeddings.shape[0] and matrix.shape[1] != self._embeddings.shape[1]:
                raise GalleryError(
                    f'embeddings of {name!r} have {matrix.shape[1]} dimensions but the '
                    f'gallery holds {self._embeddings.shape[1]}: use the embedding model '
                    f'that made the gallery ({self.model_id})')
            if self._embeddings.shape[0] == 0:
                self._embeddings = np.zeros((0, matrix.shape[1]), dtype=np.float32)
            if name in self._names:
                index = self._names.index(name)
                end = int(sum(self._counts[:index + 1]))
                known = self._embeddings[end - self._counts[index]:end]
                repeats = (matrix @ known.T).max(axis=1) >= DUPLICATE_SIMILARITY
                if repeats.any():
                    # The same photo enrolled again (a folder enrolled twice) would weigh
                    # double and inflate the counts without adding a view.
                    logger.info('%s: %d embedding(s) already enrolled, not added again',
                              name, int(repeats.sum()))
                    matrix = matrix[~repeats]
                self._embeddings = np.concatenate(
                    [self._embeddings[:end], matrix, self._embeddings[end:]])
                self._counts[index] += matrix.shape[0]
            else:
                self._names.append(name)
                self._counts.append(matrix.shape[0])
                self._embeddings = np.concatenate([self._embeddings, matrix])
            self._labels_cache = None
            self.updated = _now_iso()
            return self._counts[self._names.index(name)]

    def remove(self, name: str) -> int:
        """Forget ``name``; return how many embeddings were removed (0 if not enrolled)."""
        name = validate_name(name)
        with self._lock:
            if name not in self._names:
                return 0
            index = self._names.index(name)
            start = int(sum(self._counts[:index]))
            count = self._counts[index]
            self._embeddings = np.concatenate(
                [self._embeddings[:start], self._embeddings[start + count:]])
            del self._names[index]
            del self._counts[index]
            self._labels_cache = None
            self.updated = _now_iso()
            return count

    # ----------------------------------------------------------------- matching
    def person_similarities(self, embeddings) -> np.ndarray:
        """Best cosine similarity of each query to each person: (Q, P) float32.

        One matrix product, then the per-person maximum with ``np.maximum.reduceat`` over
        the person-grouped rows; for ranking and evaluation (``match`` needs only the best).
        """
        queries = _as_embedding_matrix(embeddings, 'the query embeddings')
        with self._lock:
            self._check_query_dimension(queries)
            if not self._names:
                return np.zeros((queries.shape[0], 0), dtype=np.float32)
            # (N, Q): the layout that lets BLAS stream the big matrix once.
            similarities = self._embeddings @ queries.T
            return np.ascontiguousarray(
                np.maximum.reduceat(similarities, self._starts(), axis=0).T)

    def match(self, embeddings) -> list[Match]:
        """Name each query embedding (D,) or (N, D): the best person, or ``UNKNOWN``.

        The best person is the one owning the single most similar enrolled embedding,
        which equals the arg-max of ``person_similarities`` but needs no per-person pass.
        """
        queries = _as_embedding_matrix(embeddings, 'the query embeddings')
        with self._lock:
            self._check_query_dimension(queries)
            if not self._names:
                return [Match(UNKNOWN, 0.0, -1.0) for _ in range(queries.shape[0])]
            similarities = self._embeddings @ queries.T
            best_rows = np.argmax(similarities, axis=0)
            best = similarities[best_rows, np.arange(queries.shape[0])]
            labels = self._labels()
            names = self._names
            threshold = self.threshold
        confidences = similarity_to_confidence(best, threshold)
        matches = []
        for row, similarity, confidence in zip(best_rows, best, np.atleast_1d(confidences)):
            name = names[labels[row]] if similarity >= threshold else UNKNOWN
            matches.append(Match(name, float(confidence), float(similarity)))
        return matches

    def _check_query_dimension(self, queries: np.ndarray) -> None:
        dimension = self._embeddings.shape[1]
        if dimension and queries.shape[1] != dimension:
            raise GalleryError(
                f'query embeddings have {queries.shape[1]} dimensions but the gallery holds '
                f'{dimension}: use the embedding model that made it ({self.model_id})')

    # -------------------------------------------------------------- persistence
    def save(self, path) -> None:
        """Write the gallery to ``path`` atomically with owner-only permissions.

        The data go to a temporary file in the same directory (so ``os.replace`` is an
        atomic rename on the same file system), are fsynced, then replace ``path``. On any
        failure the temporary file is removed and the previous gallery file is untouched.
        """
        path = Path(path)
        with self._lock:
            embeddings = self._embeddings.copy()
            labels = self._labels()
            metadata = {
                'format': 'face_recognition_ros.gallery',
                'format_version': FORMAT_VERSION,
                'model_id': self.model_id,
                'threshold': self.threshold,
                'dimension': int(embeddings.shape[1]),
                'names': list(self._names),
                'created': self.created,
                'updated': self.updated,
            }
        directory = path.parent if str(path.parent) else Path('.')
        if not directory.is_dir():
            raise GalleryError(
                f'cannot save the gallery to {path}: the folder {directory} does not exist')
        try:
            # mkstemp creates the file with os.open(..., 0o600): owner-only from the start.
            fd, temp_name = tempfile.mkstemp(
                prefix=f'.{path.name}.', suffix='.tmp', dir=str(directory))
        except OSError as error:
            raise GalleryError(
                f'cannot save the gallery to {path}: {error.strerror or error}; check that '
                f'the folder is writable') from error
        try:
            with os.fdopen(fd, 'wb') as handle:
                _write_archive(handle, embeddings, labels, metadata)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temp_name, 0o600)
            os.replace(temp_name, path)
        except BaseException as error:
            try:
                os.unlink(temp_name)
            except OSError:
                pass
            if isinstance(error, Exception):
                reason = error.strerror if isinstance(error, OSError) else None
                raise GalleryError(
                    f'cannot save the gallery to {path}: {reason or error}; the previous '
                    f'file, if any, is unchanged') from error
            raise
        _fsync_directory(directory)
        logger.info('saved gallery of %d people (%d embeddings) to %s',
                    len(metadata['names']), embeddings.shape[0], path)

    @classmethod
    def load(cls, path, expected_model_id: str | None = None) -> 'Gallery':
        """Read a gallery file; refuse it if it was made by another embedding model.

        Raises ``GalleryError`` for a missing, unreadable, corrupt or foreign file, and never
        modifies the file.
        """
        path = Path(path)
        if not path.exists():
            raise GalleryError(
                f'no gallery at {path}: enroll people first (python -m face_recognition_ros '
                f'enroll --gallery {path} DIR) or check the path')
        try:
            with open(path, 'rb') as handle:
                # Checked first: for a file that is no archive, numpy's own error says the
                # file holds pickled data and suggests loading it unsafely, which is wrong
                # advice for a gallery.
                if not zipfile.is_zipfile(handle):
                    raise ValueError('not an .npz archive: damaged, truncated or not a gallery')
            loaded = np.load(path, allow_pickle=False)
            if not isinstance(loaded, np.lib.npyio.NpzFile):  # a bare .npy array
                raise ValueError('not an .npz archive')
            with loaded as archive:
                embeddings = np.asarray(archive['embeddings'])
                labels = np.asarray(archive['labels'])
                metadata = json.loads(str(archive['metadata']))
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile,
                UnicodeDecodeError, TypeError) as error:
            raise GalleryError(
                f'the gallery file {path} is unreadable ({type(error).__name__}: {error}); '
                f'it was left as it is: restore a backup or enroll again into a new file'
            ) from error
        try:
            gallery = cls._from_arrays(embeddings, labels, metadata)
        except (GalleryError, InvalidNameError, KeyError, TypeError, ValueError) as error:
            raise GalleryError(
                f'the gallery file {path} is unreadable (inconsistent content: {error}); it '
                f'was left as it is: restore a backup or enroll again into a new file'
            ) from error
        if expected_model_id is not None and gallery.model_id != expected_model_id:
            raise GalleryError(
                f'the gallery {path} was made with the embedding model {gallery.model_id!r} '
                f'but the pipeline uses {expected_model_id!r}: embeddings of different '
                f'models cannot be compared; enroll the people again with this model into a '
                f'new gallery, or pass the model that made it')
        return gallery

    @classmethod
    def load_or_create(cls, path, model_id: str, threshold: float | None = None) -> 'Gallery':
        """Load ``path`` if it exists (checking the model), else return a new empty gallery."""
        if Path(path).exists():
            gallery = cls.load(path, expected_model_id=model_id)
            if threshold is not None:
                gallery.threshold = float(threshold)
            return gallery
        return cls(model_id, threshold)

    @classmethod
    def _from_arrays(cls, embeddings: np.ndarray, labels: np.ndarray,
                     metadata: dict) -> 'Gallery':
        if not isinstance(metadata, dict):
            raise GalleryError('metadata is not a JSON object')
        if metadata.get('format_version') != FORMAT_VERSION:
            raise GalleryError(
                f'format version {metadata.get("format_version")!r} is not supported '
                f'(this version reads {FORMAT_VERSION})')
        names = metadata['names']
        if not isinstance(names, list):
            raise GalleryError('the names are not a list of distinct names')
        names = [validate_name(name) for name in names]
        if len(set(names)) != len(names):
            raise GalleryError('the names are not a list of distinct names')
        gallery = cls(str(metadata['model_id']), float(metadata['threshold']))
        gallery.created = str(metadata.get('created', gallery.created))
        gallery.updated = str(metadata.get('updated', gallery.updated))
        if embeddings.dtype != np.float32 or embeddings.ndim != 2:
            raise GalleryError(f'embeddings have dtype {embeddings.dtype} and shape '
                               f'{embeddings.shape}, expected (N, D) float32')
        if labels.ndim != 1 or labels.shape[0] != embeddings.shape[0] or (
                labels.size and (labels.min() < 0 or labels.max() >= len(names))):
            raise GalleryError('labels do not match the embeddings and names')
        if embeddings.shape[0] == 0:
            dimension = int(metadata.get('dimension', 0))
            gallery._embeddings = np.zeros((0, dimension), dtype=np.float32)
            if names:
                raise GalleryError('names without embeddings')
            return gallery
        counts = np.bincount(labels.astype(np.intp), minlength=len(names))
        if np.any(counts == 0):
            raise GalleryError('a name has no embeddings')
        # Group the rows by person (stable, so each person's order is kept).
        order = np.argsort(labels, kind='stable')
        gallery._embeddings = _as_embedding_matrix(embeddings[order], 'stored embeddings')
        gallery._names = names
        gallery._counts = [int(count) for count in counts]
        return gallery


def _write_archive(handle, embeddings: np.ndarray, labels: np.ndarray, metadata: dict) -> None:
    """Write the npz archive; a separate function so tests can inject a failure here."""
    np.savez(handle, embeddings=embeddings.astype(np.float32), labels=labels.astype(np.int32),
             metadata=np.array(json.dumps(metadata, ensure_ascii=False)))


def _fsync_directory(directory: Path) -> None:
    """Persist the rename itself; best effort, as some file systems refuse directory fds."""
    try:
        fd = os.open(str(directory), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---------------------------------------------------------------------- enrollment
SKIP_NO_FACE = 'no face'
SKIP_SEVERAL_FACES = 'several faces'
SKIP_UNREADABLE = 'unreadable'


@dataclass
class PersonEnrollment:
    """What ``enroll_folder`` did with one person's photos."""

    name: str
    used: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(photo path, reason) for each photo that was not enrolled."""
    error: str | None = None
    """Why the whole person was skipped (an invalid folder name), else None."""


@dataclass
class EnrollmentReport:
    """Per-person outcome of ``enroll_folder``."""

    people: list[PersonEnrollment] = field(default_factory=list)

    @property
    def photos_used(self) -> int:
        return sum(len(person.used) for person in self.people)

    @property
    def photos_skipped(self) -> int:
        return sum(len(person.skipped) for person in self.people)

    @property
    def people_enrolled(self) -> list[str]:
        return [person.name for person in self.people if person.used]

    def to_dict(self) -> dict:
        return {
            'people': [{'name': p.name, 'used': p.used,
                        'skipped': [{'photo': photo, 'reason': reason}
                                    for photo, reason in p.skipped],
                        'error': p.error} for p in self.people],
            'photos_used': self.photos_used,
            'photos_skipped': self.photos_skipped,
            'people_enrolled': self.people_enrolled,
        }


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                  and not p.name.startswith('.'))


def enroll_folder(gallery: Gallery, folder, pipeline, people: Iterable[str] | None = None
                  ) -> EnrollmentReport:
    """Enroll ``folder/<person>/*.jpg`` into ``gallery``: one embedding per usable photo.

    ``pipeline`` is anything with ``embed_faces(image) -> [(Detection, embedding)]`` (a
    ``FacePipeline``). A photo is used only when it holds exactly one face: with several
    faces nobody can tell which one is the person, so such photos are skipped and
    reported, as are photos with no face and unreadable files. The gallery is changed in
    memory only; saving it is the caller's choice, so a failed enrollment never touches
    the saved file. ``people`` limits enrollment to those sub-folder names.
    """
    from .image_io import load_image  # lazy: keeps gallery importable without OpenCV

    folder = Path(folder)
    if not folder.is_dir():
        raise GalleryError(
            f'{folder} is not a folder: give a folder with one sub-folder of photos per person')
    wanted = None if people is None else set(people)
    report = EnrollmentReport()
    subfolders = sorted(p for p in folder.iterdir()
                        if p.is_dir() and not p.name.startswith('.'))
    if wanted is not None:
        # A mistyped --people name would otherwise end as "nothing could be enrolled".
        missing = sorted(wanted - {p.name for p in subfolders})
        if missing:
            raise GalleryError(
                f'no sub-folder {", ".join(repr(m) for m in missing)} in {folder}; its '
                f'sub-folders are: {", ".join(p.name for p in subfolders) or "none"}')
    loose = _image_files(folder)
    if loose:
        logger.warning('%d photos lie directly in %s and are ignored: put each person\'s '
                       'photos in a sub-folder named after them', len(loose), folder)
    for subfolder in subfolders:
        if wanted is not None and subfolder.name not in wanted:
            continue
        try:
            name = validate_name(subfolder.name)
        except InvalidNameError as error:
            report.people.append(PersonEnrollment(subfolder.name, error=str(error)))
            continue
        person = PersonEnrollment(name)
        report.people.append(person)
        embeddings = []
        for photo in _image_files(subfolder):
            try:
                image = load_image(photo)
            except ImageError as error:
                logger.warning('skipping %s: %s', photo, error)
                person.skipped.append((str(photo), SKIP_UNREADABLE))
                continue
            faces = pipeline.embed_faces(image)
            if not faces:
                person.skipped.append((str(photo), SKIP_NO_FACE))
            elif len(faces) > 1:
                person.skipped.append((str(photo), f'{SKIP_SEVERAL_FACES} ({len(faces)})'))
            else:
                embeddings.append(faces[0][1])
                person.used.append(str(photo))
        if not embeddings and not person.skipped:
            person.error = 'no photos in the folder'
        if embeddings:
            gallery.add(name, np.stack(embeddings))
    return report


__all__ = [
    'CONFIDENCE_SCALE', 'DEFAULT_THRESHOLD', 'EnrollmentReport', 'Gallery', 'PersonEnrollment',
    'enroll_folder', 'similarity_to_confidence', 'validate_name',
]
