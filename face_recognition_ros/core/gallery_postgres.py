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
A gallery in a PostgreSQL database, shared by a fleet of robots.

Chosen by ``open_gallery_store`` for a ``postgresql://`` URI (libpq syntax, e.g.
``postgresql://robot@db.example/faces`` or ``postgresql:///faces?host=/run/postgresql``).
The password comes from ``~/.pgpass`` or ``PGPASSWORD`` as libpq reads them; one written
into the URI works too but is masked (``***``) wherever the URI is shown, errors included.
Needs psycopg 3 (``pip install psycopg[binary]``, the ``postgresql`` extra).

**Tables** (schema version in ``face_gallery_schema``; ``_MIGRATIONS`` upgrades older ones
in one transaction, and a newer schema than this code knows is refused):
- ``face_gallery``: one row: the embedding model id, threshold, calibration (jsonb),
  dimension, created/updated, and ``revision``, incremented by every change;
- ``face_people``: one row per person (``name`` unique);
- ``face_embeddings``: the embeddings (float32 little-endian ``bytea``), each with its
  person (``ON DELETE CASCADE``) and when it was added.

**Changes.** Every ``enroll`` / ``forget`` is one transaction that locks the
``face_gallery`` row (so writers from all robots queue up, and revisions are gapless),
edits the person's rows, bumps ``revision`` and sends ``NOTIFY face_gallery`` with the
revision and the names changed; PostgreSQL delivers it at commit. Each running store
LISTENs on its own connection and applies a change by reading only the changed people's
rows (a full reload when it missed a revision), so a change reaches every robot within
a second whatever the gallery's size. Matching stays in memory: no query per frame.

**Outages.** When the server goes away, the last value stays in use (robots keep naming),
``healthy`` turns False with the reason in ``problem``, edits fail with a clear error and
leave nothing half done, and the listener reconnects every ``RECONNECT_S`` seconds; once
back it reloads everything it may have missed.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from typing import Iterable, Mapping
from urllib.parse import urlsplit

import numpy as np

from .errors import GalleryError
from .gallery import _as_embedding_matrix, DEFAULT_THRESHOLD, Gallery, validate_name
from .gallery_store import GalleryStore

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
CHANNEL = 'face_gallery'
RECONNECT_S = 1.0
CONNECT_TIMEOUT_S = 5
EVERYTHING = frozenset({'*'})
"""What an edit returns when listeners must reload all (the gallery row changed)."""
NOTIFY_PAYLOAD_LIMIT = 7000
"""Bytes of names a notification carries at most (PostgreSQL's limit is 8000); a larger
batch notifies without names and the listeners reload everything."""

_MIGRATIONS = {
    # version reached -> statements (run in one transaction with the version update)
    1: [
        """CREATE TABLE IF NOT EXISTS face_gallery (
               singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
               model_id text NOT NULL,
               threshold double precision NOT NULL,
               calibration jsonb NOT NULL DEFAULT '{}'::jsonb,
               dimension integer NOT NULL DEFAULT 0,
               created timestamptz NOT NULL DEFAULT now(),
               updated timestamptz NOT NULL DEFAULT now(),
               revision bigint NOT NULL DEFAULT 0)""",
        """CREATE TABLE IF NOT EXISTS face_people (
               id bigserial PRIMARY KEY,
               name text NOT NULL UNIQUE,
               enrolled timestamptz NOT NULL DEFAULT now())""",
        """CREATE TABLE IF NOT EXISTS face_embeddings (
               id bigserial PRIMARY KEY,
               person_id bigint NOT NULL REFERENCES face_people (id) ON DELETE CASCADE,
               vector bytea NOT NULL,
               added timestamptz NOT NULL DEFAULT now())""",
        'CREATE INDEX IF NOT EXISTS face_embeddings_person ON face_embeddings (person_id, id)',
    ],
}


def mask_password(text: str, password: str | None = None) -> str:
    """``text`` with any password (URI ``user:secret@``, ``password=...``) as ``***``."""
    text = re.sub(r'(postgres(?:ql)?://[^:/@\s]*):[^@\s]*@', r'\1:***@', str(text))
    text = re.sub(r'(password\s*=\s*)(\'[^\']*\'|\S+)', r'\1***', text, flags=re.I)
    if password:
        text = text.replace(password, '***')
    return text


def _import_psycopg():
    try:
        import psycopg
    except ImportError:
        raise GalleryError(
            'a postgresql:// gallery needs psycopg 3: pip install "psycopg[binary]" (or '
            'the postgresql extra of face_recognition_ros)') from None
    return psycopg


def _password_of(uri: str) -> str | None:
    try:
        return urlsplit(uri).password
    except ValueError:
        return None


class PostgreSQLGalleryStore(GalleryStore):
    """A gallery in PostgreSQL (see the module text); a ``GalleryStore``."""

    def __init__(self, uri: str, model_id: str | None, *, create: bool = True,
                 threshold: float | None = None):
        self._psycopg = _import_psycopg()
        self.uri = uri
        self._password = _password_of(uri)
        self.location = mask_password(uri, self._password)
        self.model_id = model_id
        self._create = create
        self._threshold = DEFAULT_THRESHOLD if threshold is None else float(threshold)
        self._lock = threading.RLock()
        self._conn = None      # edits and loads
        self._listener = None  # LISTEN face_gallery, autocommit
        self._value: Gallery | None = None
        self._revision = -1
        self._problem = ''
        self._next_reconnect = 0.0
        self._conn = self._connect()
        self._prepare_schema()
        self._listener = self._connect(autocommit=True)
        self._listener.execute(f'LISTEN {CHANNEL}')
        with self._lock, self._conn.transaction():
            self._reload_locked()

    # ------------------------------------------------------------------ plumbing
    def _error(self, action: str, error: Exception) -> GalleryError:
        reason = mask_password(str(error).strip() or type(error).__name__, self._password)
        return GalleryError(f'{action} the PostgreSQL gallery {self.location}: {reason}')

    def _connect(self, autocommit: bool = False):
        psycopg = self._psycopg
        try:
            # connect_timeout: a wrong host fails in seconds, not after TCP's minutes.
            return psycopg.connect(self.uri, autocommit=autocommit,
                                   connect_timeout=CONNECT_TIMEOUT_S)
        except (psycopg.Error, ValueError) as error:
            raise self._error('cannot connect to', error) from None

    def _prepare_schema(self) -> None:
        """Create or migrate the tables; refuse a newer schema or another model's gallery."""
        psycopg = self._psycopg
        try:
            with self._conn.transaction():
                # One preparer at a time: robots starting together must not both migrate.
                self._conn.execute('SELECT pg_advisory_xact_lock(hashtext(%s))',
                                   ('face_gallery_schema',))
                exists = self._conn.execute(
                    "SELECT to_regclass('face_gallery_schema') IS NOT NULL").fetchone()[0]
                if not exists:  # checked first: a read-only role may not create tables
                    self._conn.execute('CREATE TABLE face_gallery_schema '
                                       '(version integer NOT NULL)')
                row = self._conn.execute('SELECT version FROM face_gallery_schema').fetchone()
                version = row[0] if row else 0
                if version > SCHEMA_VERSION:
                    raise GalleryError(
                        f'the PostgreSQL gallery {self.location} has schema version '
                        f'{version}, newer than this version knows ({SCHEMA_VERSION}): '
                        f'update face_recognition on this robot')
                for target in range(version + 1, SCHEMA_VERSION + 1):
                    for statement in _MIGRATIONS[target]:
                        self._conn.execute(statement)
                if version == 0:
                    self._conn.execute('INSERT INTO face_gallery_schema VALUES (%s)',
                                       (SCHEMA_VERSION,))
                elif version < SCHEMA_VERSION:
                    self._conn.execute('UPDATE face_gallery_schema SET version = %s',
                                       (SCHEMA_VERSION,))
                row = self._conn.execute('SELECT model_id FROM face_gallery').fetchone()
                if row is None:
                    if not self._create or self.model_id is None:
                        raise GalleryError(
                            f'the PostgreSQL gallery {self.location} is empty: enroll people '
                            f'first (python -m face_recognition_ros enroll --gallery URI DIR)')
                    self._conn.execute(
                        'INSERT INTO face_gallery (model_id, threshold) VALUES (%s, %s)',
                        (self.model_id, self._threshold))
                elif self.model_id is not None and row[0] != self.model_id:
                    raise GalleryError(
                        f'the PostgreSQL gallery {self.location} was made with the embedding '
                        f'model {row[0]!r} but this pipeline uses {self.model_id!r}: '
                        f'embeddings of different models cannot be compared; use another '
                        f'database for this model, or the model that made it')
        except psycopg.Error as error:
            raise self._error('cannot prepare', error) from None

    def _reload_locked(self) -> None:
        """Read the whole gallery (in the caller's transaction)."""
        cursor = self._conn.cursor(binary=True)
        meta = cursor.execute(
            'SELECT model_id, threshold, calibration, dimension, created, updated, revision '
            'FROM face_gallery').fetchone()
        rows = cursor.execute(
            'SELECT p.name, e.vector FROM face_embeddings e JOIN face_people p '
            'ON p.id = e.person_id ORDER BY p.id, e.id').fetchall()
        names, counts = [], []
        for name, _ in rows:
            if names and names[-1] == name:
                counts[-1] += 1
            else:
                names.append(name)
                counts.append(1)
        dimension = meta[3]
        if rows:
            matrix = np.frombuffer(b''.join(bytes(row[1]) for row in rows), dtype='<f4')
            matrix = matrix.reshape(len(rows), -1).astype(np.float32)
        else:
            matrix = np.zeros((0, dimension), dtype=np.float32)
        calibration = meta[2] if isinstance(meta[2], dict) else json.loads(meta[2] or '{}')
        self._value = Gallery(meta[0], meta[1], calibration=calibration,
                              created=meta[4].isoformat(timespec='seconds'),
                              updated=meta[5].isoformat(timespec='seconds'),
                              names=names, counts=counts, embeddings=matrix)
        self._revision = meta[6]

    def _rows_of(self, name: str) -> np.ndarray:
        rows = self._conn.cursor(binary=True).execute(
            'SELECT e.vector FROM face_embeddings e JOIN face_people p ON p.id = e.person_id '
            'WHERE p.name = %s ORDER BY e.id', (name,)).fetchall()
        if not rows:
            return np.zeros((0, 0), np.float32)
        return np.frombuffer(b''.join(bytes(r[0]) for r in rows), '<f4').reshape(
            len(rows), -1).astype(np.float32)

    def _ensure_connection(self) -> None:
        if self._conn is None or self._conn.closed or self._conn.broken:
            if self._conn is not None:
                self._conn.close()
            self._conn = None
            self._conn = self._connect()

    # -------------------------------------------------------------------- reads
    def load(self) -> Gallery:
        return self._value

    @property
    def value(self) -> Gallery:
        return self._value

    @property
    def healthy(self) -> bool:
        return not self._problem

    @property
    def problem(self) -> str:
        return self._problem

    def changed(self, timeout: float = 0.0) -> Gallery | None:
        """Apply notifications that arrive within ``timeout``; the new value, or None."""
        psycopg = self._psycopg
        deadline = time.monotonic() + timeout
        while True:
            if self._listener is None or self._listener.closed or self._listener.broken:
                return self._reconnect(max(0.0, deadline - time.monotonic()))
            names = set()
            try:
                for notify in self._listener.notifies(
                        timeout=max(0.0, deadline - time.monotonic()), stop_after=1):
                    self._collect(notify, names)
                # Whatever else is queued already, without waiting.
                for notify in self._listener.notifies(timeout=0.0):
                    self._collect(notify, names)
            except psycopg.Error as error:
                self._lost(error)
                return None
            if names:
                with self._lock:
                    value = self._apply_locked(names)
                if value is not None:
                    return value
            if time.monotonic() >= deadline:
                return None

    @staticmethod
    def _collect(notify, names: set) -> None:
        try:
            payload = json.loads(notify.payload)
            names.add((int(payload['revision']), tuple(payload['names'])
                       if payload.get('names') is not None else None))
        except (ValueError, KeyError, TypeError):
            names.add((-1, None))

    def _apply_locked(self, changes: set) -> Gallery | None:
        psycopg = self._psycopg
        before = self._value
        try:
            self._ensure_connection()
            with self._conn.transaction():
                revisions = sorted(r for r, _ in changes)
                contiguous = revisions and revisions[0] <= self._revision + 1 and \
                    all(b == a + 1 for a, b in zip(revisions, revisions[1:])) and \
                    all(n is not None for _, n in changes)
                if revisions and revisions[-1] <= self._revision:
                    return None  # our own change, already applied
                if not contiguous:
                    self._reload_locked()
                else:
                    value = self._value
                    for name in sorted({n for _, ns in changes for n in ns}):
                        rows = self._rows_of(name)
                        value = value.with_person(name, rows, replace=True,
                                                  max_per_person=max(1, len(rows))) \
                            if rows.shape[0] else value.without(name)
                    self._value = value
                    self._revision = revisions[-1]
        except (psycopg.Error, GalleryError) as error:
            self._lost(error)
            return None
        self._problem = ''
        return self._value if self._value is not before else None

    def _lost(self, error: Exception) -> None:
        problem = mask_password(f'database unreachable: {str(error).strip()}', self._password)
        if problem != self._problem:
            logger.warning('%s: %s; naming goes on with the %d people last loaded',
                           self.location, problem, len(self._value or ()))
        self._problem = problem
        for conn in (self._listener,):
            try:
                if conn is not None:
                    conn.close()
            except Exception:  # noqa: BLE001 - a broken connection may fail to close
                pass
        self._listener = None

    def _reconnect(self, timeout: float) -> Gallery | None:
        now = time.monotonic()
        if now < self._next_reconnect:
            time.sleep(min(timeout, self._next_reconnect - now))
            return None
        self._next_reconnect = now + RECONNECT_S
        try:
            listener = self._connect(autocommit=True)
            listener.execute(f'LISTEN {CHANNEL}')
            with self._lock:
                if self._conn is not None:
                    self._conn.close()
                self._conn = self._connect()
                with self._conn.transaction():
                    self._reload_locked()  # whatever happened meanwhile
        except (GalleryError, self._psycopg.Error) as error:
            self._problem = mask_password(f'database unreachable: {error}', self._password)
            return None
        self._listener = listener
        if self._problem:
            logger.warning('%s: reachable again; %d people reloaded', self.location,
                           len(self._value))
        self._problem = ''
        return self._value

    # -------------------------------------------------------------------- edits
    def _edit(self, action: str, change) -> Gallery:
        """Run ``change(cursor, gallery_row) -> names`` in one transaction and notify."""
        psycopg = self._psycopg
        with self._lock:
            try:
                self._ensure_connection()
                with self._conn.transaction():
                    cursor = self._conn.cursor(binary=True)
                    revision = cursor.execute(
                        'SELECT revision FROM face_gallery FOR UPDATE').fetchone()[0]
                    if revision != self._revision:
                        self._reload_locked()  # behind: start from what is stored
                    names = change(cursor)
                    if names is None:
                        return self._value
                    everything = names == EVERYTHING
                    revision += 1
                    cursor.execute(
                        'UPDATE face_gallery SET revision = %s, updated = now()',
                        (revision,))
                    payload = json.dumps({'revision': revision, 'names': None if everything
                                          else sorted(names)})
                    if len(payload.encode()) > NOTIFY_PAYLOAD_LIMIT:
                        payload = json.dumps({'revision': revision, 'names': None})
                    cursor.execute('SELECT pg_notify(%s, %s)', (CHANNEL, payload))
                    if everything:
                        self._reload_locked()
                    else:
                        self._reload_people_locked(names, revision)
            except psycopg.Error as error:
                raise self._error(f'{action} failed, nothing was changed in', error) from None
            return self._value

    def _reload_people_locked(self, names, revision: int) -> None:
        value = self._value
        for name in names:
            rows = self._rows_of(name)
            value = value.with_person(name, rows, replace=True,
                                      max_per_person=max(1, len(rows))) \
                if rows.shape[0] else value.without(name)
        self._value = value
        self._revision = revision

    def enroll(self, people: Mapping[str, np.ndarray]) -> Gallery:
        people = {validate_name(name): _as_embedding_matrix(emb, f'the embeddings of {name!r}')
                  for name, emb in people.items()}

        def change(cursor):
            changed = set()
            value = self._value
            for name, matrix in people.items():
                # The person's new rows, computed on a one-person gallery: O(their rows),
                # not a copy of the whole gallery per enrollment.
                known = value.embeddings_of(name) if name in value else None
                alone = Gallery(value.model_id) if known is None else Gallery(
                    value.model_id, names=[name], counts=[len(known)], embeddings=known)
                updated = alone.with_person(name, matrix)
                if updated is alone:
                    continue  # only repeats of what the person has
                person_id = cursor.execute(
                    'INSERT INTO face_people (name) VALUES (%s) ON CONFLICT (name) '
                    'DO UPDATE SET name = EXCLUDED.name RETURNING id', (name,)).fetchone()[0]
                # The person's rows become what the value computed (repeats skipped, the
                # oldest beyond the cap dropped): at most MAX_EMBEDDINGS_PER_PERSON rows,
                # rewritten in their order, so ids keep saying which is oldest.
                cursor.execute('DELETE FROM face_embeddings WHERE person_id = %s',
                               (person_id,))
                cursor.executemany(
                    'INSERT INTO face_embeddings (person_id, vector) VALUES (%s, %s)',
                    [(person_id, np.ascontiguousarray(row, '<f4').tobytes())
                     for row in updated.embeddings_of(name)])
                if value.dimension is None:
                    cursor.execute('UPDATE face_gallery SET dimension = %s',
                                   (int(matrix.shape[1]),))
                changed.add(name)
            return changed or None
        return self._edit('enroll', change)

    def forget(self, names: Iterable[str]) -> tuple[Gallery, dict[str, int]]:
        names = [validate_name(name) for name in names]
        counts: dict[str, int] = {}

        def change(cursor):
            counts.clear()
            for name in names:
                row = cursor.execute(
                    'WITH gone AS (DELETE FROM face_people WHERE name = %s RETURNING id) '
                    'SELECT count(e.id) FROM gone LEFT JOIN face_embeddings e '
                    'ON e.person_id = gone.id', (name,)).fetchone()
                counts[name] = int(row[0]) if row else 0
            return {name for name, count in counts.items() if count} or None
        return self._edit('forget', change), dict(counts)

    def set_calibration(self, calibration: Mapping, threshold: float | None = None
                        ) -> Gallery:
        value = self._value.with_calibration(calibration)
        if threshold is not None:
            value = value.with_threshold(threshold)

        def change(cursor):
            cursor.execute('UPDATE face_gallery SET calibration = %s::jsonb, threshold = %s',
                           (json.dumps(value.calibration), value.threshold))
            return EVERYTHING
        return self._edit('calibration', change)

    def close(self) -> None:
        with self._lock:
            for conn in (self._conn, self._listener):
                if conn is not None:
                    try:
                        conn.close()
                    except Exception:  # noqa: BLE001
                        pass
            self._conn = self._listener = None


__all__ = ['PostgreSQLGalleryStore', 'SCHEMA_VERSION', 'mask_password']
