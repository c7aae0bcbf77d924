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
GalleryStore: one contract, run against both backends (a file, a real PostgreSQL).

Each test gets a fresh store location: a new file, or a new database on the session's
PostgreSQL server (test/postgres_server.py). Several store objects on one location stand
for the CLI, nodes and robots sharing a gallery; the concurrency tests run real processes.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import stat

from face_recognition_ros.core.errors import GalleryError
from face_recognition_ros.core.gallery import Gallery, MAX_EMBEDDINGS_PER_PERSON
from face_recognition_ros.core.gallery_store import (
    FileGalleryStore, open_gallery_store, write_gallery_file
)
import numpy as np
import pytest

MODEL = 'test-model:1'


def unit(rng, rows, dimension=32):
    vectors = rng.normal(size=(rows, dimension)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.fixture(params=['file', 'postgresql'])
def location(request, tmp_path):
    if request.param == 'file':
        return str(tmp_path / 'gallery.npz')
    server = request.getfixturevalue('postgres_server')
    return server.uri(server.new_database())


def open_store(location, model=MODEL, **options):
    return open_gallery_store(location, model, **options)


def test_enroll_forget_and_reopen(location):
    rng = np.random.default_rng(1)
    ada, bob = unit(rng, 3), unit(rng, 2)
    with open_store(location) as store:
        assert len(store.load()) == 0
        gallery = store.enroll({'ada': ada, 'bob': bob})
        assert gallery.counts() == {'ada': 3, 'bob': 2}
    with open_store(location) as again:
        loaded = again.load()
        assert loaded.counts() == {'ada': 3, 'bob': 2} and loaded.model_id == MODEL
        np.testing.assert_array_equal(loaded.embeddings_of('ada'), ada)
        assert loaded.match(bob[1])[0].name == 'bob'
        gallery, counts = again.forget(['ada', 'nobody'])
        assert counts == {'ada': 3, 'nobody': 0} and gallery.names() == ['bob']
    with open_store(location) as third:
        assert third.load().names() == ['bob']
        assert third.forget(['ada'])[1] == {'ada': 0}


def test_threshold_and_calibration_round_trip(location):
    with open_store(location, threshold=0.4) as store:
        assert store.load().threshold == 0.4
        store.enroll({'ada': unit(np.random.default_rng(2), 1)})
        store.set_calibration({'impostor_scores': [0.1, 0.2], 'size': 1}, threshold=0.45)
    with open_store(location) as again:
        loaded = again.load()
        assert loaded.threshold == 0.45
        assert loaded.calibration == {'impostor_scores': [0.1, 0.2], 'size': 1}


def test_another_models_gallery_is_refused(location):
    with open_store(location) as store:
        store.enroll({'ada': unit(np.random.default_rng(3), 1)})
    with pytest.raises(GalleryError, match='embedding model'):
        open_store(location, model='another-model:2')


def test_the_per_person_cap_replaces_the_oldest(location):
    rows = unit(np.random.default_rng(4), MAX_EMBEDDINGS_PER_PERSON + 3)
    with open_store(location) as store:
        store.enroll({'ada': rows[:MAX_EMBEDDINGS_PER_PERSON]})
        store.enroll({'ada': rows[MAX_EMBEDDINGS_PER_PERSON:]})
    with open_store(location) as again:
        np.testing.assert_array_equal(again.load().embeddings_of('ada'), rows[3:])


def test_a_change_reaches_the_other_stores_and_no_edit_is_lost(location):
    rng = np.random.default_rng(5)
    node_a, node_b = open_store(location), open_store(location)
    try:
        node_a.enroll({'ada': unit(rng, 1)})
        changed = node_b.changed(timeout=2.0)
        assert changed is not None and 'ada' in changed
        # node_b edits from the stored gallery, not from what it held before: ada stays.
        node_b.enroll({'bob': unit(rng, 1)})
        assert sorted(node_b.load().names()) == ['ada', 'bob']
        assert sorted(node_a.changed(timeout=2.0).names()) == ['ada', 'bob']
        node_b.forget(['ada'])
        assert node_a.changed(timeout=2.0).names() == ['bob']
        # A later edit of node_a must not bring the forgotten person back.
        node_a.enroll({'cy': unit(rng, 1)})
    finally:
        node_a.close()
        node_b.close()
    with open_store(location) as check:
        assert sorted(check.load().names()) == ['bob', 'cy']


def _enroll_many(location, prefix, count, seed):
    rng = np.random.default_rng(seed)
    with open_store(location) as store:
        for i in range(count):
            store.enroll({f'{prefix}{i}': unit(rng, 1)})


def test_parallel_enrollments_from_several_processes_are_all_kept(location):
    context = multiprocessing.get_context('spawn')  # no shared connection or lock state
    workers = [context.Process(target=_enroll_many, args=(location, f'p{k}_', 10, k))
               for k in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    with open_store(location) as store:
        gallery = store.load()
    assert len(gallery) == 40 and gallery.num_embeddings == 40


# ------------------------------------------------------------------- file only
def test_the_file_stays_owner_only_and_old_files_load(tmp_path):
    path = tmp_path / 'gallery.npz'
    # A file as the previous version wrote it: no calibration in the metadata.
    rows = unit(np.random.default_rng(6), 2)
    metadata = {'format': 'face_recognition_ros.gallery', 'format_version': 1,
                'model_id': MODEL, 'threshold': 0.363, 'dimension': 32, 'names': ['ada'],
                'created': '2026-01-01T00:00:00+00:00', 'updated': '2026-01-01T00:00:00+00:00'}
    with open(path, 'wb') as handle:
        np.savez(handle, embeddings=rows, labels=np.zeros(2, np.int32),
                 metadata=np.array(json.dumps(metadata)))
    with FileGalleryStore(path, MODEL) as store:
        assert store.load().counts() == {'ada': 2} and store.load().calibration == {}
        store.enroll({'bob': unit(np.random.default_rng(7), 1)})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / 'gallery.npz.lock').stat().st_mode) == 0o600


def test_a_writer_waits_for_the_lock_and_then_rereads(tmp_path):
    """An edit blocked by another process's lock applies to what that process wrote."""
    import fcntl
    import threading

    path = tmp_path / 'gallery.npz'
    rng = np.random.default_rng(8)
    store = FileGalleryStore(path, MODEL)
    store.enroll({'ada': unit(rng, 1)})
    lock = os.open(path.with_name('gallery.npz.lock'), os.O_RDWR)
    fcntl.flock(lock, fcntl.LOCK_EX)  # another process in the middle of its edit
    done = threading.Event()
    thread = threading.Thread(target=lambda: (store.enroll({'bob': unit(rng, 1)}), done.set()))
    thread.start()
    assert not done.wait(0.5)  # blocked
    # ... which meanwhile writes its own change:
    current = Gallery.load(path).with_person('cy', unit(rng, 1))
    write_gallery_file(current, path)
    fcntl.flock(lock, fcntl.LOCK_UN)
    os.close(lock)
    thread.join(10)
    assert sorted(Gallery.load(path).names()) == ['ada', 'bob', 'cy']


# ------------------------------------------------------------- PostgreSQL only
def test_refused_login_and_wrong_uri_say_so_with_the_password_masked(postgres_server):
    database = postgres_server.new_database()
    uri = postgres_server.uri(database, user='robot', password='wrong-Pass-1')
    with pytest.raises(GalleryError) as refused:
        open_store(uri)
    assert 'password authentication failed' in str(refused.value)
    assert 'wrong-Pass-1' not in str(refused.value) and '***' in str(refused.value)
    with pytest.raises(GalleryError, match='cannot connect') as missing:
        open_store(postgres_server.uri('no_such_database', password='s3cret-x'))
    assert 's3cret-x' not in str(missing.value)


def test_password_from_pgpassword_is_used(postgres_server, monkeypatch):
    from postgres_server import ROBOT_PASSWORD

    database = postgres_server.new_database(owner='robot')
    monkeypatch.setenv('PGPASSWORD', ROBOT_PASSWORD)
    with open_store(postgres_server.uri(database, user='robot')) as store:
        assert len(store.enroll({'ada': unit(np.random.default_rng(9), 1)})) == 1
        assert ROBOT_PASSWORD not in store.location


def test_a_newer_schema_is_refused(postgres_server):
    database = postgres_server.new_database()
    uri = postgres_server.uri(database)
    open_store(uri).close()
    postgres_server.sql(database, 'UPDATE face_gallery_schema SET version = 99')
    with pytest.raises(GalleryError, match='schema version 99'):
        open_store(uri)


def test_forget_leaves_no_row_of_the_person(postgres_server):
    database = postgres_server.new_database()
    with open_store(postgres_server.uri(database)) as store:
        store.enroll({'ada': unit(np.random.default_rng(10), 4)})
        store.forget(['ada'])
    assert postgres_server.sql(database, 'SELECT count(*) FROM face_embeddings') == [(0,)]
    assert postgres_server.sql(database, 'SELECT count(*) FROM face_people') == [(0,)]


def test_a_read_only_role_loads_and_follows_but_cannot_change(postgres_server, monkeypatch):
    """Follow README's advice: robots that only recognise get SELECT, operators may edit."""
    from postgres_server import ROBOT_PASSWORD

    database = postgres_server.new_database()
    uri = postgres_server.uri(database)
    rng = np.random.default_rng(11)
    with open_store(uri) as operator:
        operator.enroll({'ada': unit(rng, 1)})
    postgres_server.sql(database, 'GRANT SELECT ON face_gallery_schema, face_gallery, '
                                  'face_people, face_embeddings TO robot')
    monkeypatch.setenv('PGPASSWORD', ROBOT_PASSWORD)
    with open_store(postgres_server.uri(database, user='robot')) as robot, \
            open_store(uri) as operator:
        assert robot.load().names() == ['ada']
        with pytest.raises(GalleryError, match='permission denied.*nothing was changed|'
                                               'nothing was changed.*permission denied'):
            robot.enroll({'bob': unit(rng, 1)})
        operator.enroll({'cy': unit(rng, 1)})
        assert sorted(robot.changed(timeout=2.0).names()) == ['ada', 'cy']
