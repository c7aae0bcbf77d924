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
How long gallery matching takes with 1,000 / 10,000 / 100,000 enrolled embeddings.

Matching is one (Q, D) x (D, N) matrix product and an arg-max; this prints the median
milliseconds of ``Gallery.match`` for a single face and for a batch of 8 (a crowded frame),
and of ``person_similarities`` (the per-person maximum with np.maximum.reduceat), as JSON.
Embeddings are random unit vectors: the cost does not depend on their values.

    python benchmarks/gallery_match.py [--sizes 1000 10000 100000] [--repeats 50]
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
import statistics
import sys
import time

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from face_recognition_ros.core.gallery import Gallery  # noqa: E402
import numpy as np  # noqa: E402


def median_ms(function, repeats: int) -> float:
    function()  # warm-up: first call allocates
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000.0)
    return round(statistics.median(times), 3)


def random_units(rng, rows: int, dimension: int) -> np.ndarray:
    vectors = rng.standard_normal((rows, dimension), dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().split('\n\n')[0])
    parser.add_argument('--sizes', type=int, nargs='+', default=[1000, 10000, 100000])
    parser.add_argument('--per-person', type=int, default=5,
                        help='embeddings per enrolled person (default 5)')
    parser.add_argument('--dimension', type=int, default=128)
    parser.add_argument('--repeats', type=int, default=50)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    results = []
    for size in args.sizes:
        people = max(1, size // args.per_person)
        embeddings = random_units(rng, people * args.per_person, args.dimension)
        start = time.perf_counter()
        gallery = Gallery('benchmark-model', names=[f'person{p}' for p in range(people)],
                          counts=[args.per_person] * people, embeddings=embeddings)
        fill_s = time.perf_counter() - start
        one = random_units(rng, 1, args.dimension)
        batch = random_units(rng, 8, args.dimension)
        results.append({
            'embeddings': int(embeddings.shape[0]),
            'people': people,
            'match_1_ms': median_ms(lambda: gallery.match(one), args.repeats),
            'match_8_ms': median_ms(lambda: gallery.match(batch), args.repeats),
            'person_similarities_8_ms': median_ms(lambda: gallery.person_similarities(batch),
                                                  max(5, args.repeats // 5)),
            'add_one_person_ms': median_ms(
                lambda: gallery.with_person('extra', one).without('extra'),
                max(5, args.repeats // 5)),
            'matrix_mb': round(embeddings.nbytes / 2 ** 20, 1),
            'fill_s': round(fill_s, 3),
        })
    print(json.dumps({'benchmark': 'gallery_match', 'dimension': args.dimension,
                      'cpu_count': os.cpu_count(), 'numpy': np.__version__,
                      'results': results}, indent=2))
    return 0


if __name__ == '__main__':
    sys.exit(main())
