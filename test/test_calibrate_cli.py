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
``calibrate`` and the derived threshold on real photos, run as users run the CLI.

The face-api.js crops (test/fixtures/faceapi, 8 people x 2) give a gallery of 4 people and
4 strangers; the gallery's threshold must follow its size, and calibrate must store a
threshold that names at most the target share of the strangers it was given, also when
they resemble the enrolled people (here: the photos of an enrolled person filed as a
stranger, the worst case of a lookalike).
"""

import json
import shutil
import stat

import pytest
from test_cli import FIXTURES, run_cli

PEOPLE = ('amy', 'bernadette', 'howard', 'leonard')
STRANGERS = ('penny', 'raj', 'sheldon', 'stuart')


@pytest.fixture(scope='module')
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp('calibrate')
    for group, names in (('people', PEOPLE), ('strangers', STRANGERS)):
        for name in names:
            shutil.copytree(FIXTURES / 'faceapi' / name, root / group / name)
    run_cli('enroll', '-g', root / 'g.npz', root / 'people', '--people', *PEOPLE[:2],
            '--threads', '2')
    return root


def listing(path, *extra):
    return json.loads(run_cli('list', '-g', path, '--json', *extra).stdout)


def test_the_threshold_follows_the_gallery_and_the_target_rate(folders):
    path = folders / 'g.npz'
    two = listing(path)
    run_cli('enroll', '-g', path, folders / 'people', '--threads', '2')
    four = listing(path)
    assert len(four['people']) == 4 and four['threshold'] != two['threshold']
    # re-derived for the gallery as it is now: the model's rate at it is the target (that
    # the threshold grows with size for one camera is tested in core/test_open_set.py;
    # here the gallery's own pairs also move the camera's estimated mean)
    for point in (two['operating_point'], four['operating_point']):
        assert point['expected_false_name_rate'] == pytest.approx(0.01, rel=0.01)
    strict = listing(path, '--max-false-name-rate', '0.001')
    assert strict['threshold'] > four['threshold']
    bad = run_cli('list', '-g', path, '--max-false-name-rate', '5', check=False)
    assert bad.returncode == 2 and 'between 0 and 1' in bad.stderr


def test_calibrate_stores_a_threshold_that_meets_the_target_on_the_strangers(folders,
                                                                             tmp_path):
    path = tmp_path / 'g.npz'
    run_cli('enroll', '-g', path, folders / 'people', '--threads', '2')
    (tmp_path / 'more' / 'obama').mkdir(parents=True)
    shutil.copy(FIXTURES / 'obama_biden' / 'obama.jpg', tmp_path / 'more' / 'obama')
    run_cli('enroll', '-g', path, tmp_path / 'more', '--threads', '2')
    before = listing(path)['threshold']
    strangers = tmp_path / 'strangers'
    shutil.copytree(folders / 'strangers', strangers)
    # a lookalike: other photos of an enrolled person, among the strangers, are named at
    # first; an enrolled photo filed there by mistake is left out with a warning
    (strangers / 'lookalike').mkdir()
    for photo in ('obama2.jpg', 'obama_partial_face.jpg'):
        shutil.copy(FIXTURES / 'obama_biden' / photo, strangers / 'lookalike')
    shutil.copytree(folders / 'people' / 'amy', strangers / 'amy_again')
    result = run_cli('calibrate', '-g', path, '--strangers', strangers, '--json',
                     '--threads', '2')
    assert 'enrolled photos' in result.stderr
    report = json.loads(result.stdout)
    assert report['enrolled_photos_left_out'] == 2
    assert report['strangers'] == 10 and report['stranger_people'] == 5
    assert report['before']['threshold'] == pytest.approx(before, abs=1e-4)
    assert report['before']['strangers_named'] >= 0.2  # the 2 lookalike photos of 10
    assert report['after']['strangers_named'] <= 0.01
    assert report['after']['threshold'] > before
    # kept inside the gallery file (owner-only), so every node and robot derives the same
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not list(tmp_path.glob('*.calibration.json'))
    saved = listing(path)
    assert saved['calibration']['target_false_name_rate'] == 0.01
    assert saved['operating_point']['source'] == 'calibrated'
    assert saved['threshold'] == pytest.approx(report['after']['threshold'], abs=1e-4)
    # identify uses it: the lookalike is no longer named
    lines = [json.loads(line) for line in run_cli(
        'identify', '-g', path, strangers / 'lookalike').stdout.splitlines()]
    assert all(face['name'] == 'unknown' for line in lines for face in line['faces'])
    # forgetting people re-derives the threshold from the stored calibration
    run_cli('remove', '-g', path, 'howard', 'leonard', 'bernadette')
    assert listing(path)['threshold'] < saved['threshold']
    assert listing(path)['operating_point']['source'] == 'calibrated'


def test_calibrate_without_strangers_says_what_to_give(folders, tmp_path):
    empty = tmp_path / 'none'
    empty.mkdir()
    result = run_cli('calibrate', '-g', folders / 'g.npz', '--strangers', empty, check=False)
    assert result.returncode == 2 and 'not enrolled' in result.stderr


def test_a_gallery_saved_with_the_old_fixed_threshold_gets_the_derived_one(folders,
                                                                           tmp_path):
    """Galleries of older versions hold 0.363; they load unchanged and are re-derived."""
    from face_recognition_ros.core.gallery import Gallery

    old = tmp_path / 'old.npz'
    Gallery.load(folders / 'g.npz').with_threshold(0.363).save(old)
    listed = listing(old)
    assert listed['operating_point']['source'] == 'impostor model'
    assert listed['threshold'] != pytest.approx(0.363, abs=1e-3)
    # deriving writes nothing: the stored threshold stays the embedder's own
    run_cli('remove', '-g', old, 'amy')
    assert Gallery.load(old).threshold == pytest.approx(0.363)
    assert listing(old)['stored_threshold'] == pytest.approx(0.363)
