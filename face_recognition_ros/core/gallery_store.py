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
Where a gallery lives: one small interface, a file backend, and a PostgreSQL one.

A ``GalleryStore`` hands out ``Gallery`` values and applies edits to what is stored, so
that the CLI, every node on the robot and (with PostgreSQL) every robot in a fleet see
one gallery. ``open_gallery_store(location, ...)`` picks the backend from the location:
a ``postgresql://`` (or ``postgres://``) URI is a database (``gallery_postgres``), anything
else is a gallery file.

**The file backend.** The file is the ``.npz`` archive this package always wrote (numpy,
no pickle): ``embeddings`` (N, D) float32, ``labels`` (N,) int32 (row -> person index),
and ``metadata``, a JSON string with the format version, the embedding model id, the
threshold, the calibration, the names and the creation/update times. Files written before
the calibration existed load with an empty one. Every write is atomic (a temporary file in
the same directory, fsync, ``os.replace``) and owner-only (0o600): a failed save leaves the
previous file as it was.

Every read-modify-write (``enroll``, ``forget``, ``set_calibration``) holds an exclusive
``fcntl.flock`` on ``<file>.lock`` beside the gallery, taken alike by the CLI and the
nodes, and re-reads the file first when it changed since this process last read it (its
inode, size and mtime: ``os.replace`` gives every write a new inode), so no process writes
back a gallery it read before someone else's edit. Reads take the shared lock. Running
nodes call ``changed()`` (a ``stat``, no read) every ``FILE_POLL_S`` seconds and load the
file when it changed: a person enrolled or removed with the CLI is named, or no longer,
within a second.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import json
import logging
import os
from pathlib import Path
import tempfile
import threading
import time
from typing import Iterable, Mapping
import zipfile

import numpy as np

from .errors import GalleryError, InvalidNameError
from .gallery import _as_embedding_matrix, DEFAULT_THRESHOLD, Gallery, validate_name

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
FILE_POLL_S = 0.25
"""How often a running node checks the gallery file for changes made by others."""

POSTGRESQL_SCHEMES = ('postgresql://', 'postgres://')


def is_database_location(location) -> bool:
    """Return True when ``location`` names a PostgreSQL database rather than a file."""
    return isinstance(location, str) and location.startswith(POSTGRESQL_SCHEMES)


class GalleryStore:
    """
    The interface both backends implement.

    ``load()`` returns the stored gallery (a new empty one where nothing is stored yet and
    the store was opened with ``create``); ``enroll`` and ``forget`` change what is stored
    in one atomic step each and return the new value; ``changed()`` returns a newer value
    when someone else changed the store since this process last looked, else None.
    """

    location: str
    """Where the gallery lives, fit for logs (a database password is masked)."""

    def load(self) -> Gallery:
        raise NotImplementedError

    def enroll(self, people: Mapping[str, np.ndarray]) -> Gallery:
        """Add each name's embeddings (K, D) (duplicates skipped, per-person cap kept)."""
        raise NotImplementedError

    def forget(self, names: Iterable[str]) -> tuple[Gallery, dict[str, int]]:
        """Remove every embedding of each name; also return how many each had (0: none)."""
        raise NotImplementedError

    def set_calibration(self, calibration: Mapping, threshold: float | None = None
                        ) -> Gallery:
        """Store a calibration record (and, if given, the threshold it implies)."""
        raise NotImplementedError

    def changed(self, timeout: float = 0.0) -> Gallery | None:
        """Wait up to ``timeout`` s for a change made by others; the new value or None."""
        raise NotImplementedError

    @property
    def healthy(self) -> bool:
        """Return False while the store cannot be reached (the last value stays in use)."""
        return True

    @property
    def problem(self) -> str:
        """Why the store is not healthy, '' when it is."""
        return ''

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open_gallery_store(location, model_id: str | None, *, create: bool = True,
                       threshold: float | None = None) -> GalleryStore:
    """
    Open the store at ``location`` (a file path or a ``postgresql://`` URI).

    ``model_id`` is the embedding model of the caller: a store made with another model is
    refused (``GalleryError``); None accepts any (tools that list or remove people).
    ``create``: a missing file or an empty database is a new, empty gallery with
    ``threshold`` (None: SFace's published one); otherwise an error.
    """
    if is_database_location(location):
        from .gallery_postgres import PostgreSQLGalleryStore
        return PostgreSQLGalleryStore(location, model_id, create=create, threshold=threshold)
    return FileGalleryStore(location, model_id, create=create, threshold=threshold)


# ------------------------------------------------------------------------ file format
def _now_iso() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')


def write_gallery_file(gallery: Gallery, path) -> None:
    """
    Write ``gallery`` to ``path`` atomically with owner-only permissions.

    The data go to a temporary file in the same directory (so ``os.replace`` is an atomic
    rename on the same file system), are fsynced, then replace ``path``. On any failure
    the temporary file is removed and the previous gallery file is untouched.
    """
    path = Path(path)
    metadata = {
        'format': 'face_recognition_ros.gallery',
        'format_version': FORMAT_VERSION,
        'model_id': gallery.model_id,
        'threshold': gallery.threshold,
        'calibration': gallery.calibration,
        'dimension': int(gallery.dimension or 0),
        'names': gallery.names(),
        'created': gallery.created,
        'updated': gallery.updated,
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
            _write_archive(handle, gallery.embeddings, gallery.labels, metadata)
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
    # Counts only: names are personal data and stay out of INFO logs.
    logger.info('saved gallery of %d people (%d embeddings) to %s',
                len(gallery), gallery.num_embeddings, path)


def read_gallery_file(path, expected_model_id: str | None = None) -> Gallery:
    """
    Read a gallery file; refuse it if it was made by another embedding model.

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
            handle.seek(0)
            loaded = np.load(handle, allow_pickle=False)
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
        gallery = gallery_from_arrays(embeddings, labels, metadata)
    except (GalleryError, InvalidNameError, KeyError, TypeError, ValueError) as error:
        raise GalleryError(
            f'the gallery file {path} is unreadable (inconsistent content: {error}); it '
            f'was left as it is: restore a backup or enroll again into a new file'
        ) from error
    check_model(gallery, expected_model_id, str(path))
    return gallery


def check_model(gallery: Gallery, expected_model_id: str | None, where: str) -> None:
    if expected_model_id is not None and gallery.model_id != expected_model_id:
        raise GalleryError(
            f'the gallery {where} was made with the embedding model {gallery.model_id!r} '
            f'but the pipeline uses {expected_model_id!r}: embeddings of different '
            f'models cannot be compared; enroll the people again with this model into a '
            f'new gallery, or pass the model that made it')


def gallery_from_arrays(embeddings: np.ndarray, labels: np.ndarray, metadata) -> Gallery:
    """Build a Gallery from the three parts of the file format (rows in any person order)."""
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
    if embeddings.dtype != np.float32 or embeddings.ndim != 2:
        raise GalleryError(f'embeddings have dtype {embeddings.dtype} and shape '
                           f'{embeddings.shape}, expected (N, D) float32')
    if labels.ndim != 1 or labels.shape[0] != embeddings.shape[0] or (
            labels.size and (labels.min() < 0 or labels.max() >= len(names))):
        raise GalleryError('labels do not match the embeddings and names')
    common = {'calibration': metadata.get('calibration') or {},
              'created': str(metadata.get('created') or _now_iso()),
              'updated': str(metadata.get('updated') or '') or None}
    model_id, threshold = str(metadata['model_id']), float(metadata['threshold'])
    if embeddings.shape[0] == 0:
        if names:
            raise GalleryError('names without embeddings')
        dimension = int(metadata.get('dimension', 0))
        return Gallery(model_id, threshold, embeddings=np.zeros((0, dimension), np.float32),
                       **common)
    counts = np.bincount(labels.astype(np.intp), minlength=len(names))
    if np.any(counts == 0):
        raise GalleryError('a name has no embeddings')
    # Group the rows by person (stable, so each person's order is kept).
    order = np.argsort(labels, kind='stable')
    return Gallery(model_id, threshold, names=names, counts=counts,
                   embeddings=_as_embedding_matrix(embeddings[order], 'stored embeddings'),
                   **common)


def _write_archive(handle, embeddings: np.ndarray, labels: np.ndarray, metadata: dict) -> None:
    """Write the npz archive; a separate function so tests can inject a failure here."""
    np.savez(handle, embeddings=np.asarray(embeddings, np.float32),
             labels=np.asarray(labels, np.int32),
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


# ----------------------------------------------------------------------- file store
def _signature(path: Path):
    """Return what changes whenever the file is replaced or rewritten; None when it is missing."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns)


class FileGalleryStore(GalleryStore):
    """A gallery file shared by processes through an fcntl lock (see the module text)."""

    def __init__(self, path, model_id: str | None, *, create: bool = True,
                 threshold: float | None = None):
        self.path = Path(path).expanduser()
        self.location = str(self.path)
        self.lock_path = self.path.with_name(self.path.name + '.lock')
        self.model_id = model_id
        self._create = create
        self._threshold = DEFAULT_THRESHOLD if threshold is None else float(threshold)
        self._thread_lock = threading.Lock()
        self._value: Gallery | None = None
        self._signature = None
        self._last_check = 0.0
        with self._locked(exclusive=False):
            self._refresh_locked()

    @contextlib.contextmanager
    def _locked(self, exclusive: bool):
        """Let this process's threads in one at a time, with an flock against other processes."""
        with self._thread_lock:
            if not self.lock_path.parent.is_dir():
                if not exclusive:  # nothing to read yet; the writer makes the folder
                    yield
                    return
                try:
                    self.lock_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                except OSError as error:
                    raise GalleryError(
                        f'cannot create the folder {self.lock_path.parent} for the gallery: '
                        f'{error.strerror or error}; choose a writable place') from error
            try:
                fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            except PermissionError:
                if exclusive:
                    raise GalleryError(
                        f'cannot lock {self.lock_path}: permission denied; the gallery '
                        f'folder must be writable to change the gallery') from None
                yield  # a read-only gallery folder: readers need no lock, nobody writes
                return
            except OSError as error:
                raise GalleryError(f'cannot lock {self.lock_path}: {error.strerror or error}'
                                   ) from error
            try:
                fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
                yield
            finally:
                os.close(fd)  # releases the lock

    def _refresh_locked(self) -> bool:
        """Re-read the file if it changed since last read; True when the value changed."""
        signature = _signature(self.path)
        if self._value is not None and signature == self._signature:
            return False
        if signature is None:
            if not self._create or self.model_id is None:
                read_gallery_file(self.path)  # raises the "no gallery at" error
            changed = self._value is None or len(self._value) or \
                self._value.num_embeddings
            self._value = Gallery(self.model_id, self._threshold)
        else:
            self._value = read_gallery_file(self.path, self.model_id)
            changed = True
        self._signature = signature
        return bool(changed)

    def load(self) -> Gallery:
        with self._locked(exclusive=False):
            self._refresh_locked()
            return self._value

    @property
    def value(self) -> Gallery:
        """Return the value last read or written by this store (no disk access)."""
        return self._value

    def changed(self, timeout: float = 0.0) -> Gallery | None:
        deadline = time.monotonic() + timeout
        while _signature(self.path) == self._signature:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            time.sleep(min(FILE_POLL_S, left))
        with self._locked(exclusive=False):
            return self._value if self._refresh_locked() else None

    def _update(self, edit) -> Gallery:
        with self._locked(exclusive=True):
            self._refresh_locked()  # someone else's edit must not be overwritten
            updated = edit(self._value)
            if updated is not self._value:  # nothing to forget, only repeats: no write
                write_gallery_file(updated, self.path)
                self._value = updated
                self._signature = _signature(self.path)
            return self._value

    def enroll(self, people: Mapping[str, np.ndarray]) -> Gallery:
        def edit(gallery):
            for name, embeddings in people.items():
                gallery = gallery.with_person(name, embeddings)
            return gallery
        return self._update(edit)

    def forget(self, names: Iterable[str]) -> tuple[Gallery, dict[str, int]]:
        names = [validate_name(name) for name in names]
        counts = {}

        def edit(gallery):
            counts.clear()
            for name in names:
                counts[name] = gallery.counts().get(name, 0)
                gallery = gallery.without(name)
            return gallery
        return self._update(edit), dict(counts)

    def set_calibration(self, calibration: Mapping, threshold: float | None = None
                        ) -> Gallery:
        def edit(gallery):
            gallery = gallery.with_calibration(calibration)
            return gallery if threshold is None else gallery.with_threshold(threshold)
        return self._update(edit)


__all__ = ['FILE_POLL_S', 'FileGalleryStore', 'GalleryStore', 'is_database_location',
           'open_gallery_store', 'read_gallery_file', 'write_gallery_file']
