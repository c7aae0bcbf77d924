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
Gallery stores at scale: load, enroll, forget and match with 1k / 10k / 100k people.

For each size and backend (a gallery file; a PostgreSQL database when a server is given
or can be started), fills a gallery of random unit embeddings (one per person, SFace's 128
dimensions), then prints as JSON the median milliseconds of:
- ``load``: opening the store and reading the whole gallery (what a node does at start);
- ``enroll`` / ``forget``: one person added / removed through the store (the file: lock,
  re-read check, atomic rewrite of the whole file, fsync; PostgreSQL: one transaction);
- ``apply_remote``: another store of the same location seeing that change and building
  its new value (the running node's side of an enrollment made elsewhere);
- ``match_1``: naming one face against the loaded value (in memory for both backends);
- ``derive``: the threshold of that value derived for SFace (``open_set.matching_gallery``,
  what every node and the CLI do on each change; the same work for both backends).

    python benchmarks/gallery_store.py [--sizes 1000 10000 100000] [--repeats 7]
        [--postgresql URI | --no-postgresql]

Without ``--postgresql`` a throw-away server is started as the tests do
(test/postgres_server.py: Debian's initdb/pg_ctl in a temporary folder, fsync off, so the
numbers exclude the disk flush a production server adds to each commit).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
import statistics
import sys
import tempfile
import time

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from face_recognition_ros.core import open_set  # noqa: E402
from face_recognition_ros.core.gallery import Gallery  # noqa: E402
from face_recognition_ros.core.gallery_store import open_gallery_store  # noqa: E402
import numpy as np  # noqa: E402

MODEL = 'benchmark-model:1'


def units(rng, rows: int, dimension: int = 128) -> np.ndarray:
    vectors = rng.standard_normal((rows, dimension), dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def median_ms(times: list[float]) -> float:
    return round(statistics.median(times) * 1000.0, 2)


def fill(location: str, people: int, rng) -> None:
    rows = units(rng, people)
    if location.startswith('postgresql'):
        import psycopg
        with open_gallery_store(location, MODEL):
            pass  # schema
        with psycopg.connect(location) as conn, conn.cursor() as cursor:
            with cursor.copy('COPY face_people (id, name) FROM STDIN') as copy:
                for i in range(people):
                    copy.write_row((i + 1, f'person{i}'))
            with cursor.copy('COPY face_embeddings (person_id, vector) FROM STDIN') as copy:
                for i in range(people):
                    copy.write_row((i + 1, rows[i].astype('<f4').tobytes()))
            cursor.execute("SELECT setval('face_people_id_seq', %s)", (people,))
            cursor.execute('UPDATE face_gallery SET dimension = 128')
    else:
        Gallery(MODEL, names=[f'person{i}' for i in range(people)], counts=[1] * people,
                embeddings=rows).save(location)


def measure(location: str, repeats: int, rng) -> dict:
    loads = []
    for _ in range(3):
        start = time.perf_counter()
        store = open_gallery_store(location, MODEL, create=False)
        store.load()
        loads.append(time.perf_counter() - start)
        store.close()
    writer = open_gallery_store(location, MODEL)
    reader = open_gallery_store(location, MODEL)
    enrolls, forgets, remotes, matches = [], [], [], []
    for i in range(repeats):
        one = units(rng, 1)
        start = time.perf_counter()
        writer.enroll({f'extra{i}': one})
        enrolls.append(time.perf_counter() - start)
        start = time.perf_counter()
        seen = reader.changed(timeout=5.0)
        remotes.append(time.perf_counter() - start)
        assert seen is not None and f'extra{i}' in seen
        start = time.perf_counter()
        writer.forget([f'extra{i}'])
        forgets.append(time.perf_counter() - start)
        reader.changed(timeout=5.0)
        value = reader.load()
        start = time.perf_counter()
        value.match(one)
        matches.append(time.perf_counter() - start)
    writer.close()
    reader.close()
    # The bundled SFace impostor model, on these rows: the derivation of a real gallery.
    sface = Gallery(next(iter(open_set.bundled_model_ids())), names=value.names(),
                    counts=list(value.counts().values()), embeddings=value.embeddings)
    derives = []
    for _ in range(3):
        start = time.perf_counter()
        open_set.matching_gallery(sface)
        derives.append(time.perf_counter() - start)
    return {'load_ms': median_ms(loads), 'enroll_ms': median_ms(enrolls),
            'forget_ms': median_ms(forgets), 'apply_remote_ms': median_ms(remotes),
            'match_1_ms': median_ms(matches), 'derive_ms': median_ms(derives)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().split('\n\n')[0])
    parser.add_argument('--sizes', type=int, nargs='+', default=[1000, 10000, 100000])
    parser.add_argument('--repeats', type=int, default=7)
    parser.add_argument('--postgresql', metavar='URI', help='an existing (empty) database')
    parser.add_argument('--no-postgresql', action='store_true')
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    server = None
    if not args.no_postgresql and not args.postgresql:
        sys.path.insert(0, str(ROOT / 'test'))
        import postgres_server
        bindir, problem = postgres_server.ensure_installed()
        if bindir is None:
            print(f'no PostgreSQL: {problem}', file=sys.stderr)
        else:
            server = postgres_server.PostgresServer(bindir)
    results = []
    try:
        with tempfile.TemporaryDirectory() as scratch:
            for size in args.sizes:
                file_location = os.path.join(scratch, f'g{size}.npz')
                fill(file_location, size, rng)
                results.append({'backend': 'file', 'people': size,
                                **measure(file_location, args.repeats, rng)})
                print(json.dumps(results[-1]), file=sys.stderr)
                if server is not None or args.postgresql:
                    uri = args.postgresql or server.uri(server.new_database())
                    fill(uri, size, rng)
                    results.append({'backend': 'postgresql', 'people': size,
                                    **measure(uri, args.repeats, rng)})
                    print(json.dumps(results[-1]), file=sys.stderr)
                    if args.postgresql:
                        break  # one given database holds one size
    finally:
        if server is not None:
            server.close()
    print(json.dumps({'benchmark': 'gallery_store', 'cpu_count': os.cpu_count(),
                      'results': results}, indent=2))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
