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

"""The evaluate command end to end on real fixture photos (SFace gallery, no classifier)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from face_recognition_ros import evaluation
import pytest

FIXTURES = Path(__file__).resolve().parents[1] / 'fixtures'


def parse(*argv):
    parser = argparse.ArgumentParser()
    evaluation.add_arguments(parser)
    return parser.parse_args([str(a) for a in argv])


def test_evaluate_writes_a_report_with_real_numbers(tmp_path, capsys):
    pytest.importorskip('matplotlib')
    pairs = tmp_path / 'pairs.csv'
    photos = FIXTURES / 'obama_biden'
    pairs.write_text('file_x,file_y,Decision\n'
                     'obama.jpg,obama2.jpg,Yes\n'
                     'obama.jpg,obama_partial_face.jpg,Yes\n'
                     'obama.jpg,biden.jpg,No\n'
                     'obama2.jpg,biden.jpg,No\n')
    out = tmp_path / 'report'
    args = parse('--pairs', pairs, '--pairs-root', photos,
                 '--identification', FIXTURES / 'orl', '--enroll-per-person', '3',
                 '--unknown-fraction', '0.34',
                 '--group-photos', FIXTURES / 'faceapi' / 'bbt1.jpg',
                 '--group-gallery', FIXTURES / 'faceapi',
                 '--output-dir', out, '--cache-dir', tmp_path / 'cache', '--threads', '2')
    assert evaluation.run(args) == 0
    summary = json.loads(capsys.readouterr().out)

    results = json.loads((out / 'results.json').read_text())
    verification = results['verification'][0]
    assert verification['same_pairs'] == 2 and verification['different_pairs'] == 2
    assert verification['roc_auc'] == 1.0  # Obama matches himself better than Biden
    ident = results['identification']
    assert ident['known_people'] == 2 and len(ident['unknown_people']) == 1
    gallery = ident['methods']['gallery']
    assert gallery['closed_set_top1'] == 1.0  # 2 ORL people, 3 photos each to recognise
    # the report uses the operating point derived for this gallery, and says what 0.363 gave
    point = gallery['operating_point']
    assert point['source'] == 'impostor model' and point['target_false_name_rate'] == 0.01
    assert gallery['at_deployed_threshold']['threshold'] == point['threshold'] != 0.363
    assert 'at_fixed_0363' in gallery
    # bbt1: four faces, enrolled from other photos of them; no name given twice
    photo = results['group_photos']['photos'][0]
    assert photo['faces'] == 4
    assert photo['duplicate_names'] == []
    assert summary['identification']['gallery']['top1'] == 1.0
    for name in ('report.md', 'roc_verification.png', 'roc_identification.png'):
        assert (out / name).stat().st_size > 0
    assert (out / 'results.json').stat().st_mode & 0o077 == 0
    assert 'TPIR @ FPIR 1 %' in (out / 'report.md').read_text()
    assert 'at the old fixed 0.363' in (out / 'report.md').read_text()

    # a second run reads detections and embeddings from the cache and agrees
    assert evaluation.run(args) == 0
    again = json.loads((out / 'results.json').read_text())
    assert again['identification']['methods']['gallery']['closed_set_top1'] == 1.0
    assert list((tmp_path / 'cache').glob('cache_*.npz'))


def test_read_pairs_resolves_prefixed_names_and_decisions(tmp_path):
    (tmp_path / 'a.jpg').write_bytes(b'')
    (tmp_path / 'b.jpg').write_bytes(b'')
    csv_path = tmp_path / 'p.csv'
    csv_path.write_text('file_x,file_y,decision,other\n'
                        'deepface/tests/dataset/a.jpg,b.jpg,Yes,1\n'
                        'a.jpg,b.jpg,No ,2\n')
    pairs = evaluation.read_pairs(csv_path)
    assert [p[2] for p in pairs] == [True, False]
    assert pairs[0][0] == tmp_path / 'a.jpg'
    csv_path.write_text('file_x,file_y,decision\na.jpg,b.jpg,maybe\n')
    with pytest.raises(ValueError, match='maybe'):
        evaluation.read_pairs(csv_path)


def test_nothing_to_evaluate_is_an_error(tmp_path):
    assert evaluation.run(parse('--output-dir', tmp_path)) == 2


@pytest.mark.parametrize('content', [b'\x89PNG\r\n\x1a\n\x00\xff\xfe binary', b'', None])
def test_a_file_that_is_no_pairs_csv_is_a_user_error(tmp_path, content):
    from face_recognition_ros.core.errors import FaceRecognitionError

    path = tmp_path / 'pairs.csv'
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(FaceRecognitionError, match=r'^--pairs .*give a CSV'):
        evaluation.read_pairs(path)


def test_group_gallery_without_faces_stops_with_a_message(tmp_path):
    (tmp_path / 'gallery' / 'nobody').mkdir(parents=True)
    args = parse('--group-photos', FIXTURES / 'faceapi' / 'bbt1.jpg',
                 '--group-gallery', tmp_path / 'gallery', '--output-dir', tmp_path / 'out',
                 '--no-cache')
    with pytest.raises(SystemExit, match='--group-gallery .*no face found'):
        evaluation.run(args)


def test_an_unreadable_photo_is_skipped_and_reported(tmp_path):
    import shutil

    dataset = tmp_path / 'orl'
    shutil.copytree(FIXTURES / 'orl', dataset)
    broken = dataset / 's2' / '7.pgm'
    broken.write_bytes(b'P5 not really an image')
    out = tmp_path / 'report'
    args = parse('--identification', dataset, '--enroll-per-person', '3',
                 '--unknown-fraction', '0.34', '--output-dir', out, '--no-cache',
                 '--threads', '2')

    assert evaluation.run(args) == 0
    ident = json.loads((out / 'results.json').read_text())['identification']
    assert ident['unreadable_photos'] == [str(broken)]
    assert ident['methods']['gallery']['closed_set_top1'] > 0
    assert 'unreadable, skipped' in (out / 'report.md').read_text()


def test_evaluate_embeds_faces_the_way_the_users_pipeline_does(tmp_path):
    """
    Check that evaluate measures the pipeline users run (issue 12).

    Same detector, landmark handling, alignment and embedder, so the report follows any
    change to them.
    """
    from face_recognition_ros.core.image_io import load_image
    import numpy as np

    args = parse('--output-dir', tmp_path, '--no-cache', '--threads', '2')
    source = evaluation.FaceSource(args)
    photos = [FIXTURES / 'obama_biden' / name for name in ('obama.jpg', 'biden.jpg')] + \
        sorted((FIXTURES / 'orl' / 's1').iterdir())[:2]
    found, embeddings = source.embeddings(photos)
    assert found.all()
    for photo, embedding in zip(photos, embeddings):
        faces = source.pipeline.embed_faces(load_image(photo))
        largest = max(faces, key=lambda face: float(face[0].box[2] * face[0].box[3]))
        np.testing.assert_allclose(embedding, largest[1], atol=1e-5)
    assert source.embedder is source.pipeline.embedder
    assert source.detector is source.pipeline.detector
