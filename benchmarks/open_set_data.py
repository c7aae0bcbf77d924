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
The labelled face folders of ``../shared/data`` as embeddings, for the open-set work.

Shared by ``benchmarks/open_set_accuracy.py`` (the leave-people-out table) and
``training/fit_impostor_model.py`` (the impostor model shipped for SFace). Every photo goes
through ``FacePipeline.embed_faces``, the path ``enroll`` and ``identify`` use, and the
largest face is kept. The embeddings are cached in an npz file outside the repository
(owner-only, no pickle), keyed by the embedder's model id, so a second run takes seconds.

Datasets (one identity per sub-folder unless said otherwise; README of ``../shared/data``
gives sources and licences):
- ``orl``: ``orl_faces/s*/`` (40 people x 10, grayscale 92x112);
- ``faceapi``: ``faceapi/examples/images/<person>/`` (8 x 5 crops);
- ``ros4hri``: ``ros4hri_sequences/person_*/scene_*/`` (5 people, webcam crops);
- ``dlib_johns``: ``dlib/johns/<person>/`` (5 x 11 chips);
- ``fr_knn``: ``face_recognition_examples/examples/knn_examples/train/<person>/``;
- ``deepface``: identities joined from the ``Yes`` pairs of ``master.csv`` and
  ``face-recognition-pivot.csv`` (photos in no ``Yes`` pair are left out).
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
import sys

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.pgm', '.bmp')
DEFAULT_DATA_ROOT = REPO.parent / 'shared' / 'data'
DEFAULT_CACHE = Path(os.environ.get('XDG_CACHE_HOME', Path.home() / '.cache')) / \
    'face_recognition_ros' / 'open_set_embeddings.npz'


def _images(folder: Path, recursive: bool = False) -> list[Path]:
    pattern = '**/*' if recursive else '*'
    return sorted(p for p in folder.glob(pattern)
                  if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _folders(root: Path, recursive: bool = False) -> dict[str, list[Path]]:
    if not root.is_dir():
        return {}
    return {p.name: _images(p, recursive) for p in sorted(root.iterdir()) if p.is_dir()}


def _deepface(root: Path) -> dict[str, list[Path]]:
    """Identities of the deepface photos: connected components of the 'same' pairs."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for name in ('master.csv', 'face-recognition-pivot.csv'):
        path = root / name
        if not path.exists():
            continue
        with open(path, newline='') as handle:
            for row in csv.DictReader(handle):
                if str(row.get('Decision', '')).strip().lower() == 'yes':
                    parent[find(row['file_x'])] = find(row['file_y'])
    groups: dict[str, list[Path]] = {}
    for image in parent:
        if (root / image).exists():
            groups.setdefault(find(image), []).append(root / image)
    return {f'id_{i}': sorted(paths) for i, (_, paths) in
            enumerate(sorted(groups.items())) if len(paths) >= 2}


def list_datasets(data_root: Path) -> dict[str, dict[str, list[Path]]]:
    """Return dataset name -> {person -> photos}; datasets missing under data_root are left out."""
    data_root = Path(data_root)
    datasets = {
        'orl': _folders(data_root / 'orl_faces'),
        'faceapi': _folders(data_root / 'faceapi' / 'examples' / 'images'),
        'ros4hri': _folders(data_root / 'ros4hri_sequences', recursive=True),
        'dlib_johns': _folders(data_root / 'dlib' / 'johns'),
        'fr_knn': _folders(data_root / 'face_recognition_examples' / 'examples' /
                           'knn_examples' / 'train'),
        'deepface': _deepface(data_root / 'deepface'),
    }
    return {name: {person: photos for person, photos in people.items() if photos}
            for name, people in datasets.items() if people}


def load_embeddings(data_root: Path, cache_path: Path = DEFAULT_CACHE, threads: int = 2
                    ) -> dict[str, tuple[np.ndarray, np.ndarray, list[str]]]:
    """
    Return dataset -> (embeddings (N, D), person index per row (N,), person names).

    Photos in which the pipeline finds no face are left out (and counted on stderr).
    """
    from face_recognition_ros.core.image_io import load_image
    from face_recognition_ros.core.pipeline import build_pipeline

    pipeline = build_pipeline(tracking=False, num_threads=threads)
    model_id = pipeline.embedder.model_id
    cache: dict[str, np.ndarray] = {}
    cache_path = Path(cache_path)
    if cache_path.exists():
        with np.load(cache_path, allow_pickle=False) as archive:
            if str(archive['model_id']) == model_id:
                cache = dict(zip((str(k) for k in archive['keys']), archive['vectors']))
    changed = False
    result = {}
    for dataset, people in list_datasets(data_root).items():
        rows, labels, names, missed = [], [], [], 0
        for person, photos in people.items():
            vectors = []
            for photo in photos:
                key = str(photo.resolve())
                if key not in cache:
                    faces = pipeline.embed_faces(load_image(photo))
                    if faces:
                        box_area = [float(d.box[2] * d.box[3]) for d, _ in faces]
                        cache[key] = faces[int(np.argmax(box_area))][1]
                    else:
                        cache[key] = np.zeros(pipeline.embedder.dimension, np.float32)
                    changed = True
                vector = cache[key]
                if np.any(vector):
                    vectors.append(vector)
                else:
                    missed += 1
            if len(vectors) >= 2:
                labels.extend([len(names)] * len(vectors))
                names.append(person)
                rows.extend(vectors)
        if missed:
            print(f'{dataset}: no face found in {missed} photo(s), left out', file=sys.stderr)
        if len(names) >= 2:
            result[dataset] = (np.asarray(rows, np.float32), np.asarray(labels, np.int32),
                               names)
    if changed:
        cache_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temp = cache_path.with_suffix('.tmp.npz')
        keys = sorted(cache)
        np.savez(temp, model_id=np.array(model_id), keys=np.array(keys),
                 vectors=np.stack([cache[k] for k in keys]).astype(np.float32))
        os.chmod(temp, 0o600)
        os.replace(temp, cache_path)
    return result


if __name__ == '__main__':
    for name, (rows, labels, names) in load_embeddings(DEFAULT_DATA_ROOT).items():
        counts = np.bincount(labels)
        print(f'{name}: {len(names)} people, {rows.shape[0]} photos '
              f'({counts.min()}-{counts.max()} per person)')
