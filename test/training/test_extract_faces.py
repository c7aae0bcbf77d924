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

"""Face extraction on real photos and the bundled clip: skip reasons, sorting, clustering."""

from __future__ import annotations

import json
from pathlib import Path
import shutil

import cv2
import numpy as np
import pytest
from training import extract_faces

FIXTURES = Path(__file__).resolve().parents[1] / 'fixtures'
PEOPLE = ('amy', 'howard', 'penny', 'raj')


def run(*argv):
    return extract_faces.main(extract_faces.get_args_parser().parse_args(
        [*map(str, argv), '--no-progress', '--threads', '2']))


@pytest.fixture()
def photos(tmp_path):
    """Two crops each of four people, one blurred copy, in a folder per person."""
    root = tmp_path / 'photos'
    for name in PEOPLE:
        shutil.copytree(FIXTURES / 'faceapi' / name, root / name)
    sharp = cv2.imread(str(FIXTURES / 'faceapi' / 'amy' / 'amy1.png'))
    cv2.imwrite(str(root / 'amy' / 'amy_blurred.png'), cv2.GaussianBlur(sharp, (0, 0), 6))
    return root


def test_crops_keep_the_folders_and_blurred_faces_are_counted(photos, tmp_path):
    out = tmp_path / 'crops'
    report = run(photos, '--output', out)
    assert report['photos'] == 9
    assert report['skipped_too_blurred'] == 1
    assert report['saved'] == 8
    for name in PEOPLE:
        crops = sorted((out / name).glob('*.png'))
        assert len(crops) == 2
        image = cv2.imread(str(crops[0]))
        assert image.shape == (112, 112, 3)
        assert crops[0].stat().st_mode & 0o077 == 0


def test_too_small_faces_are_skipped_and_said_so(photos, tmp_path):
    report = run(photos / 'raj', '--output', tmp_path / 'out', '--min-size', '10000')
    assert report['saved'] == 0 and report['skipped_too_small'] == 2


def test_cluster_groups_each_person_together(photos, tmp_path):
    out = tmp_path / 'clusters'
    report = run(photos, '--output', out, '--cluster')
    assert report['clusters'] == len(PEOPLE)
    for folder in out.iterdir():
        people = {png.name.split('_')[0].rstrip('0123456789') for png in folder.glob('*.png')}
        assert len(people) == 1, f'{folder.name} mixes {people}'


def test_gallery_sorts_known_people_and_leaves_strangers_unknown(photos, tmp_path, embedder):
    from face_recognition_ros.core.gallery import Gallery

    # enroll amy and raj from their first crop (aligned by a first extraction)
    first = run(photos, '--output', tmp_path / 'first')
    assert first['saved'] == 8
    gallery = Gallery(embedder.model_id)
    for name in ('amy', 'raj'):
        crop = cv2.imread(str(sorted((tmp_path / 'first' / name).glob('*.png'))[0]))
        gallery = gallery.with_person(name, embedder.embed([crop]))
    gallery_path = tmp_path / 'gallery.npz'
    gallery.save(gallery_path)

    out = tmp_path / 'sorted'
    report = run(photos, '--output', out, '--gallery', gallery_path)
    assert report['folders'] == {'amy': 2, 'raj': 2, 'unknown': 4}
    assert {p.name.split('_')[0].rstrip('12') for p in (out / 'unknown').glob('*.png')} == {
        'howard', 'penny'}


def test_video_every_nth_frame(tmp_path):
    report = run(FIXTURES / 'hamilton' / 'short_hamilton_clip.mp4', '--output', tmp_path,
                 '--every', '30', '--max-frames', '90')
    assert report['frames'] == 3
    assert report['saved'] + report.get('skipped_too_small', 0) \
        + report.get('skipped_too_blurred', 0) == report['faces_found'] >= 3
    names = sorted(p.name for p in tmp_path.glob('*.png'))
    assert names[0].startswith('short_hamilton_clip_f000000_')


def test_agglomerative_clusters_on_constructed_embeddings():
    rng = np.random.default_rng(1)
    centres = np.eye(8)[:3]
    points = np.repeat(centres, 4, axis=0) + rng.normal(0, 0.05, (12, 8))
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    labels = extract_faces.agglomerative_clusters(points.astype(np.float32), 0.5)
    assert len(set(labels)) == 3
    for k in range(3):
        assert len(set(labels[4 * k:4 * k + 4])) == 1


def test_cli_prints_json(photos, tmp_path, capsys):
    assert extract_faces.cli([str(photos / 'penny'), '--output', str(tmp_path / 'o'),
                              '--no-progress']) == 0
    assert json.loads(capsys.readouterr().out)['saved'] == 2


@pytest.mark.parametrize('damage', ['corrupt', 'other_model'])
def test_unusable_gallery_stops_before_extracting_with_a_message(photos, tmp_path, damage,
                                                                 monkeypatch):
    from face_recognition_ros.core.gallery import Gallery

    gallery_path = tmp_path / 'gallery.npz'
    if damage == 'corrupt':
        gallery_path.write_bytes(b'PK\x03\x04 a damaged gallery')
    else:  # made by another embedding model, e.g. the classifier training/export.py writes
        gallery = Gallery('classifier-0123456789abcdef', 0.9)
        gallery = gallery.with_person('amy', np.eye(1, 512, dtype=np.float32))
        gallery.save(gallery_path)

    def no_extraction(*args, **kwargs):
        raise AssertionError('extraction ran although the gallery is unusable')

    monkeypatch.setattr(extract_faces.Extractor, 'run', no_extraction)
    with pytest.raises(SystemExit) as stopped:
        run(photos, '--output', tmp_path / 'out', '--gallery', gallery_path)
    message = str(stopped.value.code)
    assert message.startswith('--gallery: ')
    assert ('unreadable' if damage == 'corrupt' else 'enroll the people again') in message
    assert not (tmp_path / 'out').exists()
