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
The gallery value: who is enrolled, and open-set matching of embeddings against them.

A ``Gallery`` is an immutable value: an (N, D) float32 matrix of unit embeddings, N rows
grouped by person, the person names, the embedding model id, the threshold and a
calibration dict. Edits build the next value (``with_person``, ``without``) by slicing the
matrix, O(rows) and never O(people x rows); whoever holds a value reads one consistent
gallery, so matching needs no lock and can never see a half-made edit. Where a gallery
lives (a file, a PostgreSQL database) and how edits of several processes are serialised
is the business of ``gallery_store``; enrolling photos is ``enrollment``'s.

Matching a batch of query embeddings is one matrix product followed by an arg-max, so it
stays in the low milliseconds with 100,000 enrolled faces (``benchmarks/gallery_match.py``).

**Open set.** A query takes the name of the enrolled person whose best embedding is most
similar (cosine similarity) when that similarity is at least the gallery's threshold, and
``UNKNOWN`` otherwise: a stranger is never given the nearest name.

**Threshold rule.** ``DEFAULT_THRESHOLD = 0.363`` is the cosine threshold OpenCV Zoo
publishes for SFace, chosen by the model's authors on LFW. It was not tuned on this
project's data, and must not be: a different embedding model needs its own published or
separately calibrated threshold, which a gallery stores with itself (``threshold``, and
whatever a calibration needs in ``calibration``, a JSON object kept by every store).

**Confidence.** ``confidence = 1 / (1 + exp(-(similarity - threshold) / CONFIDENCE_SCALE))``
with ``CONFIDENCE_SCALE = 0.05``: it is monotonic in the similarity, exactly 0.5 at the
threshold, about 0.88 at 0.1 above it and 0.12 at 0.1 below. It is the confidence that the
face is the best-matching enrolled person, so a named match has confidence >= 0.5 and an
``UNKNOWN`` one < 0.5.

**Per-person cap.** A person keeps at most ``MAX_EMBEDDINGS_PER_PERSON`` embeddings; when
a new one would exceed it, the oldest are replaced (more views help up to a point, and an
unbounded pile of a frequently enrolled person would slow matching and hold more personal
data than recognition needs).
"""

from __future__ import annotations

import datetime
import json
import logging
import math
import os
from typing import Iterable, Mapping
import unicodedata

import numpy as np

from .errors import GalleryError, InvalidNameError
from .types import Match, UNKNOWN

logger = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 0.363
"""OpenCV Zoo's published SFace cosine-similarity threshold (chosen by its authors on LFW)."""

CONFIDENCE_SCALE = 0.05
"""Similarity distance from the threshold over which the confidence moves by e (logistic)."""

DUPLICATE_SIMILARITY = 0.9999
"""Cosine at or above which a new embedding of a person is the same photo enrolled again
(the same pixels give the same vector; two photos of one person stay far below 0.99)."""

MAX_EMBEDDINGS_PER_PERSON = 20
"""Embeddings kept per person; enrolling more replaces the oldest (see the module text)."""

MAX_NAME_LENGTH = 64

_PATH_SEPARATORS = ('/', '\\', os.sep) + ((os.altsep,) if os.altsep else ())


def validate_name(name: str) -> str:
    """
    Return the name in NFC, stripped of surrounding whitespace, or raise InvalidNameError.

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
    """
    Map cosine similarity to a confidence in [0, 1] that is exactly 0.5 at ``threshold``.

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


def _check_threshold(value) -> float:
    # A value outside [-1, 1] silently names everyone (below -1) or nobody (above 1).
    threshold = float(value)
    if not -1.0 <= threshold <= 1.0 or math.isnan(threshold):
        raise GalleryError(
            f'threshold {threshold} is not a cosine similarity: use a value in [-1, 1]')
    return threshold


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


class Gallery:
    """
    Enrolled people and their embeddings, matched open-set by cosine similarity.

    Immutable: every edit returns a new Gallery and leaves this one as it was, so a value
    can be shared between threads (frames are matched on one while a store builds the
    next) without a lock.
    """

    __slots__ = ('model_id', 'threshold', 'calibration', 'created', 'updated',
                 '_names', '_embeddings', '_counts', '_starts', '_labels')

    def __init__(self, model_id: str, threshold: float | None = None, *,
                 calibration: Mapping | None = None, created: str | None = None,
                 updated: str | None = None, names: Iterable[str] = (),
                 embeddings=None, counts: Iterable[int] = (), _checked: bool = False):
        """
        Build an empty gallery, or one of ``names`` with its rows grouped by person.

        The rows ``embeddings`` are grouped by person in ``names`` order, ``counts[i]`` rows
        each (what stores rebuild values from).
        """
        if not isinstance(model_id, str) or not model_id:
            raise GalleryError('a gallery needs the id of the embedding model that fills it')
        names = tuple(names)
        counts = np.asarray(counts if isinstance(counts, np.ndarray) else list(counts),
                            dtype=np.intp)
        if embeddings is None:
            embeddings = np.zeros((0, 0), dtype=np.float32)
        embeddings = np.asarray(embeddings, dtype=np.float32)
        if embeddings.ndim != 2:
            raise GalleryError(f'embeddings must be an (N, D) matrix, not {embeddings.shape}')
        if len(names) != counts.shape[0] or int(counts.sum()) != embeddings.shape[0] or \
                (counts.size and counts.min() < 1):
            raise GalleryError('names, counts and embeddings of the gallery do not agree')
        # Edits (_checked) keep names distinct by construction; skipping the set costs
        # nothing in correctness and saves tens of ms per edit at 100,000 people.
        if not _checked and len(set(names)) != len(names):
            raise GalleryError('the names of a gallery must be distinct')
        set_ = object.__setattr__
        set_(self, 'model_id', model_id)
        set_(self, 'threshold', DEFAULT_THRESHOLD if threshold is None
             else _check_threshold(threshold))
        set_(self, 'calibration', _frozen_dict(calibration))
        set_(self, 'created', created or _now_iso())
        set_(self, 'updated', updated or self.created)
        set_(self, '_names', names)
        set_(self, '_embeddings', _frozen(embeddings))
        set_(self, '_counts', _frozen(counts))
        starts = np.zeros(len(names), dtype=np.intp)
        if len(names) > 1:
            np.cumsum(counts[:-1], out=starts[1:])
        set_(self, '_starts', _frozen(starts))
        set_(self, '_labels', _frozen(np.repeat(np.arange(len(names), dtype=np.int32),
                                                counts)))

    def __setattr__(self, name, value):
        raise AttributeError(f'a Gallery is immutable: build a new one (with_person, '
                             f'without, with_threshold) instead of setting {name}')

    def __repr__(self) -> str:
        return (f'Gallery({self.model_id!r}, {len(self)} people, {self.num_embeddings} '
                f'embeddings, threshold {self.threshold:.3f})')

    def _replace(self, **changes) -> 'Gallery':
        fields = {'model_id': self.model_id, 'threshold': self.threshold,
                  'calibration': self.calibration, 'created': self.created,
                  'updated': self.updated, 'names': self._names,
                  'embeddings': self._embeddings, 'counts': self._counts}
        fields.update(changes)
        return Gallery(fields.pop('model_id'), fields.pop('threshold'), _checked=True,
                       **fields)

    def _person(self, name: str) -> int | None:
        """
        Return the index of ``name`` (already validated), or None.

        A scan in C (about a millisecond at 100,000 people): lookups come with edits, and a
        dict per value would cost more.
        """
        try:
            return self._names.index(name)
        except ValueError:
            return None

    # ---------------------------------------------------------------- inspection
    @property
    def dimension(self) -> int | None:
        """Embedding dimension, or None while the gallery is empty and new."""
        return self._embeddings.shape[1] or None

    def names(self) -> list[str]:
        """Enrolled names, in enrollment order."""
        return list(self._names)

    def counts(self) -> dict[str, int]:
        """Return the number of enrolled embeddings per name."""
        return dict(zip(self._names, (int(c) for c in self._counts)))

    def __len__(self) -> int:
        """Return the number of enrolled people (not embeddings)."""
        return len(self._names)

    def __contains__(self, name) -> bool:
        return isinstance(name, str) and self._person(name.strip()) is not None

    @property
    def num_embeddings(self) -> int:
        return int(self._embeddings.shape[0])

    @property
    def embeddings(self) -> np.ndarray:
        """All rows (N, D), grouped by person in ``names()`` order; read-only."""
        return self._embeddings

    @property
    def labels(self) -> np.ndarray:
        """Row -> person index (N,) int32; read-only."""
        return self._labels

    def embeddings_of(self, name: str) -> np.ndarray:
        """Return the embeddings enrolled for ``name`` (K, D), oldest first; read-only."""
        name = validate_name(name)
        i = self._person(name)
        if i is None:
            # The names of the others are not listed: whoever asks about one person is
            # not thereby entitled to learn who else is enrolled.
            raise GalleryError(f'{name!r} is not enrolled')
        return self._embeddings[self._starts[i]:self._starts[i] + self._counts[i]]

    # ------------------------------------------------------------------ editing
    def with_person(self, name: str, embeddings, *,
                    max_per_person: int = MAX_EMBEDDINGS_PER_PERSON,
                    replace: bool = False) -> 'Gallery':
        """
        Return the gallery with ``embeddings`` (D,) or (K, D) added to ``name``.

        Adding to an enrolled name extends it (more views make matching more robust); an
        embedding identical to one the person has (the same photo again) is skipped; past
        ``max_per_person`` the oldest embeddings are dropped. ``replace``: the person's
        embeddings become exactly ``embeddings`` (stores applying a change made elsewhere).
        O(rows): one concatenation of three slices of the matrix.
        """
        name = validate_name(name)
        matrix = _as_embedding_matrix(embeddings, f'the embeddings of {name!r}')
        if self._embeddings.shape[0] and matrix.shape[1] != self._embeddings.shape[1]:
            raise GalleryError(
                f'embeddings of {name!r} have {matrix.shape[1]} dimensions but the gallery '
                f'holds {self._embeddings.shape[1]}: use the embedding model that made the '
                f'gallery ({self.model_id})')
        if max_per_person < 1:
            raise GalleryError(f'max_per_person must be at least 1, not {max_per_person}')
        names, counts = list(self._names), self._counts.copy()
        rows = self._embeddings if self._embeddings.shape[0] else \
            np.zeros((0, matrix.shape[1]), dtype=np.float32)
        i = self._person(name)
        if i is None:
            start = end = rows.shape[0]
            known = rows[:0]
            names.append(name)
            counts = np.append(counts, 0)
            i = len(names) - 1
        else:
            start = int(self._starts[i])
            end = start + int(counts[i])
            known = rows[start:end]
        if replace:
            person = matrix
        else:
            if known.shape[0]:
                # The same photo enrolled again (a folder enrolled twice) would weigh
                # double and inflate the counts without adding a view.
                matrix = matrix[(matrix @ known.T).max(axis=1) < DUPLICATE_SIMILARITY]
            person = np.concatenate([known, matrix])
        person = person[-max_per_person:]
        if person.shape[0] == 0:
            return self  # only repeats of what the person already has
        counts[i] = person.shape[0]
        return self._replace(names=names, counts=counts, updated=_now_iso(),
                             embeddings=np.concatenate([rows[:start], person, rows[end:]]))

    def without(self, name: str) -> 'Gallery':
        """Return the gallery without ``name`` (itself when ``name`` is not enrolled)."""
        name = validate_name(name)
        i = self._person(name)
        if i is None:
            return self
        start, end = int(self._starts[i]), int(self._starts[i] + self._counts[i])
        return self._replace(
            names=self._names[:i] + self._names[i + 1:],
            counts=np.delete(self._counts, i), updated=_now_iso(),
            embeddings=np.concatenate([self._embeddings[:start], self._embeddings[end:]]))

    def with_threshold(self, threshold: float) -> 'Gallery':
        """Return the same people matched at another cosine threshold."""
        return self._replace(threshold=_check_threshold(threshold))

    def with_calibration(self, calibration: Mapping) -> 'Gallery':
        """Return the same people with another calibration record (a JSON object)."""
        return self._replace(calibration=calibration)

    # ----------------------------------------------------------------- matching
    def person_similarities(self, embeddings) -> np.ndarray:
        """
        Best cosine similarity of each query to each person: (Q, P) float32.

        One matrix product, then the per-person maximum with ``np.maximum.reduceat`` over
        the person-grouped rows; for ranking and evaluation (``match`` needs only the best).
        """
        queries = _as_embedding_matrix(embeddings, 'the query embeddings')
        self._check_query_dimension(queries)
        if not self._names:
            return np.zeros((queries.shape[0], 0), dtype=np.float32)
        # (N, Q): the layout that lets BLAS stream the big matrix once.
        similarities = self._embeddings @ queries.T
        return np.ascontiguousarray(
            np.maximum.reduceat(similarities, self._starts, axis=0).T)

    def match(self, embeddings) -> list[Match]:
        """
        Name each query embedding (D,) or (N, D): the best person, or ``UNKNOWN``.

        The best person is the one owning the single most similar enrolled embedding,
        which equals the arg-max of ``person_similarities`` but needs no per-person pass;
        ``nearest_name`` is that person also when the face is ``UNKNOWN``.

        A query that is not a usable vector (NaN, infinite, all zero: a broken crop or
        model output) is ``UNKNOWN``: one bad face must not cost the frame its other faces.
        """
        raw = np.asarray(embeddings, dtype=np.float32)
        if raw.ndim == 2 and raw.shape[0] and raw.shape[1]:
            usable = np.all(np.isfinite(raw), axis=1)
            usable[usable] = np.linalg.norm(raw[usable], axis=1) >= 1e-6
            if not np.all(usable):
                logger.warning('%d of %d face embeddings are not usable vectors (NaN or zero):'
                               ' those faces are unknown', int(np.sum(~usable)), len(usable))
                matches = [Match(UNKNOWN, 0.0, -1.0)] * len(usable)
                if np.any(usable):
                    for index, match in zip(np.flatnonzero(usable), self.match(raw[usable])):
                        matches[index] = match
                return matches
        queries = _as_embedding_matrix(embeddings, 'the query embeddings')
        self._check_query_dimension(queries)
        if not self._names:
            return [Match(UNKNOWN, 0.0, -1.0) for _ in range(queries.shape[0])]
        similarities = self._embeddings @ queries.T
        best_rows = np.argmax(similarities, axis=0)
        best = similarities[best_rows, np.arange(queries.shape[0])]
        threshold = self.threshold
        confidences = similarity_to_confidence(best, threshold)
        matches = []
        for row, similarity, confidence in zip(best_rows, best, np.atleast_1d(confidences)):
            nearest = self._names[self._labels[row]]
            name = nearest if similarity >= threshold else UNKNOWN
            matches.append(Match(name, float(confidence), float(similarity), nearest))
        return matches

    def _check_query_dimension(self, queries: np.ndarray) -> None:
        dimension = self._embeddings.shape[1]
        if dimension and queries.shape[1] != dimension:
            raise GalleryError(
                f'query embeddings have {queries.shape[1]} dimensions but the gallery holds '
                f'{dimension}: use the embedding model that made it ({self.model_id})')

    # ------------------------------------------------------- files (convenience)
    def save(self, path) -> None:
        """
        Write to a gallery file atomically, owner-only (``gallery_store.write_gallery_file``).

        A plain write without the store's lock: for new files and tools. Edits of a gallery
        that others may use go through a ``GalleryStore``.
        """
        from .gallery_store import write_gallery_file
        write_gallery_file(self, path)

    @classmethod
    def load(cls, path, expected_model_id: str | None = None) -> 'Gallery':
        """Read a gallery file (``gallery_store.read_gallery_file``); refuse another model's."""
        from .gallery_store import read_gallery_file
        return read_gallery_file(path, expected_model_id)


def _frozen_dict(calibration: Mapping | None) -> dict:
    """Return a JSON-safe copy of ``calibration`` (stores write it as JSON)."""
    if calibration is None:
        return {}
    if not isinstance(calibration, Mapping):
        raise GalleryError('the calibration of a gallery must be a JSON object (a dict)')
    try:
        return json.loads(json.dumps(dict(calibration)))
    except (TypeError, ValueError) as error:
        raise GalleryError(f'the calibration is not JSON: {error}') from error


__all__ = [
    'CONFIDENCE_SCALE', 'DEFAULT_THRESHOLD', 'MAX_EMBEDDINGS_PER_PERSON', 'Gallery',
    'similarity_to_confidence', 'validate_name',
]
