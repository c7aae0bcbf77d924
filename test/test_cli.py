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

"""The command line, run as users run it: subprocesses, JSON parsed, exit codes checked."""

import json
import os
from pathlib import Path
import shutil
import stat
import subprocess
import sys

import cv2
import numpy as np
import pytest

FIXTURES = Path(__file__).resolve().parent / 'fixtures'
REPO = Path(__file__).resolve().parents[1]


def run_cli(*args, cwd=None, check=True, python_code=None):
    command = [sys.executable]
    command += ['-c', python_code] if python_code else ['-m', 'face_recognition_ros']
    command += [str(arg) for arg in args]
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get('PYTHONPATH', ''))
    result = subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=env,
                            timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f'{args} exited {result.returncode}:\n{result.stderr}')
    return result


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture(scope='module')
def people_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp('people')
    source = FIXTURES / 'obama_biden'
    (root / 'obama').mkdir()
    (root / 'biden').mkdir()
    shutil.copy(source / 'obama.jpg', root / 'obama')
    shutil.copy(source / 'two_people.jpg', root / 'obama')  # two faces: skipped
    shutil.copy(source / 'biden.jpg', root / 'biden')
    (root / 'biden' / 'notes.jpg').write_bytes(b'not a photo')  # unreadable: skipped
    return root


@pytest.fixture(scope='module')
def gallery_path(people_dir, tmp_path_factory):
    path = tmp_path_factory.mktemp('gallery') / 'people.npz'
    result = run_cli('enroll', '--gallery', path, people_dir)
    assert 'obama: 1 photo(s) enrolled, 1 skipped' in result.stdout
    assert 'several faces (2)' in result.stdout and 'unreadable' in result.stdout
    assert 'holds 2 people' in result.stdout
    return path


@pytest.mark.parametrize('command', ['enroll', 'remove', 'list', 'calibrate', 'identify',
                                     'embed', 'video', 'bench', 'evaluate'])
def test_every_command_has_help(command):
    result = run_cli(command, '--help')
    assert result.stdout.startswith('usage: python -m face_recognition_ros ' + command)


def test_enroll_makes_owner_only_gallery_and_list_shows_it(gallery_path):
    assert stat.S_IMODE(gallery_path.stat().st_mode) == 0o600
    listing = json.loads(run_cli('list', '--gallery', gallery_path, '--json').stdout)
    assert listing['people'] == {'biden': 1, 'obama': 1}
    # derived from the target rate and the gallery (issue 12), no longer a fixed 0.363
    assert listing['operating_point']['source'] == 'impostor model'
    assert listing['threshold'] == pytest.approx(listing['operating_point']['threshold'])
    assert 0.3 < listing['threshold'] < 0.5
    assert listing['model_id'].startswith('sface')


def test_enroll_with_nothing_usable_fails_and_keeps_gallery(gallery_path, tmp_path):
    (tmp_path / 'nobody').mkdir()
    cv2.imwrite(str(tmp_path / 'nobody' / 'wall.png'), np.full((120, 160, 3), 90, np.uint8))
    copy = tmp_path / 'copy.npz'
    shutil.copy(gallery_path, copy)
    before = copy.read_bytes()
    result = run_cli('enroll', '--gallery', copy, tmp_path, check=False)
    assert result.returncode == 2
    assert 'nothing could be enrolled' in result.stderr and 'Traceback' not in result.stderr
    assert copy.read_bytes() == before
    fresh = tmp_path / 'fresh.npz'
    assert run_cli('enroll', '-g', fresh, tmp_path, check=False).returncode == 2
    assert not fresh.exists()


def test_identify_prints_the_contract(gallery_path):
    images = [FIXTURES / 'obama_biden' / 'two_people.jpg',
              FIXTURES / 'obama_biden' / 'obama2.jpg',
              FIXTURES / 'faceapi' / 'penny' / 'penny1.png']
    lines = json_lines(run_cli('identify', '--gallery', gallery_path, *images).stdout)
    assert [line['image'] for line in lines] == [str(path) for path in images]
    for line in lines:
        assert set(line) == {'image', 'faces'}
        for face in line['faces']:
            assert set(face) == {'box', 'score', 'landmarks', 'name', 'confidence'}
            assert len(face['box']) == 4 and 0 <= face['score'] <= 1
            assert np.array(face['landmarks']).shape == (5, 2)
            assert 0 <= face['confidence'] <= 1
    assert sorted(face['name'] for face in lines[0]['faces']) == ['biden', 'obama']
    assert [face['name'] for face in lines[1]['faces']] == ['obama']
    assert [face['name'] for face in lines[2]['faces']] == ['unknown']


def test_identify_goes_on_after_a_bad_image_and_exits_2(gallery_path, tmp_path):
    broken = tmp_path / 'broken.jpg'
    broken.write_bytes((FIXTURES / 'obama_biden' / 'obama.jpg').read_bytes()[:400])
    result = run_cli('identify', '-g', gallery_path, broken,
                     FIXTURES / 'obama_biden' / 'biden.jpg', check=False)
    assert result.returncode == 2 and 'Traceback' not in result.stderr
    first, second = json_lines(result.stdout)
    assert first['faces'] == [] and 'truncated' in first['error']
    assert [face['name'] for face in second['faces']] == ['biden']


def test_embed_prints_unit_vectors():
    line, = json_lines(run_cli('embed', FIXTURES / 'obama_biden' / 'obama.jpg').stdout)
    face, = line['faces']
    assert set(face) == {'box', 'score', 'embedding'}
    assert len(face['embedding']) == 128
    assert np.linalg.norm(face['embedding']) == pytest.approx(1.0, abs=1e-4)


def test_remove_and_user_errors(gallery_path, tmp_path):
    path = tmp_path / 'g.npz'
    shutil.copy(gallery_path, path)
    result = run_cli('remove', '-g', path, 'biden', 'nobody', check=False)
    assert result.returncode == 2 and 'not enrolled: nobody' in result.stderr
    assert 'Nothing was removed' in result.stderr
    result = run_cli('remove', '-g', path, 'a/b', check=False)
    assert result.returncode == 2 and 'path separator' in result.stderr
    assert 'removed biden' in run_cli('remove', '-g', path, 'biden').stdout
    assert json.loads(run_cli('list', '-g', path, '--json').stdout)['people'] == {'obama': 1}
    path.write_bytes(b'PK\x03\x04 broken')
    result = run_cli('list', '-g', path, check=False)
    assert result.returncode == 2 and 'unreadable' in result.stderr
    assert 'Traceback' not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_video_writes_annotated_video_and_jsonl(tmp_path):
    people = tmp_path / 'people'
    for name, photo in (('lin', 'lin-manuel-miranda.png'), ('alex', 'alex-lacamoire.png')):
        (people / name).mkdir(parents=True)
        shutil.copy(FIXTURES / 'hamilton' / photo, people / name)
    gallery = tmp_path / 'hamilton.npz'
    run_cli('enroll', '-g', gallery, people)
    output, jsonl = tmp_path / 'out.mp4', tmp_path / 'out.jsonl'
    result = run_cli('video', '-g', gallery, FIXTURES / 'hamilton' / 'short_hamilton_clip.mp4',
                     '--output', output, '--jsonl', jsonl, '--max-frames', 15,
                     '--resize', '640x480')
    summary = json.loads(result.stdout)
    assert summary['frames'] == 15 and summary['fps'] > 0
    assert summary['faces_per_name'].get('lin', 0) >= 12
    assert summary['faces_per_name'].get('alex', 0) >= 12
    assert 'frame/s' in result.stderr  # the progress bar
    records = json_lines(jsonl.read_text())
    assert [record['frame'] for record in records] == list(range(15))
    assert {'box', 'score', 'landmarks', 'name', 'confidence', 'track_id'} == set(
        records[0]['faces'][0])
    capture = cv2.VideoCapture(str(output))
    frames = 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        assert frame.shape == (480, 640, 3)
        frames += 1
    assert frames == 15


def test_bench_compares_tracking_with_naive():
    result = run_cli('bench', FIXTURES / 'faceapi' / 'bbt4.jpg', '--frames', 4, '--warmup', 1,
                     '--compare')
    report = json.loads(result.stdout)
    assert report['resolution'] == [640, 480]
    for mode in ('tracking', 'naive'):
        assert set(report[mode]['stage_median_ms']) == {
            'detect', 'landmarks', 'align', 'embed', 'match', 'track', 'total'}
        assert report[mode]['faces_per_frame'] == 6
    assert report['naive']['embeddings_per_frame'] == 6
    assert report['tracking']['embeddings_per_frame'] < 6
    assert report['speedup'] > 0 and report['threads']['cpu_count'] >= 1


def test_cli_works_without_the_evaluation_module(gallery_path):
    code = ('import sys; sys.modules["face_recognition_ros.evaluation"] = None; '
            'from face_recognition_ros.cli import main; rc = main(sys.argv[1:]); '
            'assert "torch" not in sys.modules, "list must not import torch"; sys.exit(rc)')
    assert run_cli('list', '-g', gallery_path, python_code=code).returncode == 0
    result = run_cli('evaluate', python_code=code, check=False)
    assert result.returncode == 2 and 'evaluate is unavailable' in result.stderr


def test_video_reads_an_image_folder_of_mixed_sizes(gallery_path, tmp_path):
    frames = tmp_path / 'frames'
    frames.mkdir()
    shutil.copy(FIXTURES / 'obama_biden' / 'two_people.jpg', frames / '0001.jpg')
    shutil.copy(FIXTURES / 'obama_biden' / 'obama.jpg', frames / '0002.jpg')
    output = tmp_path / 'out.mp4'
    result = run_cli('video', '-g', gallery_path, frames, '-o', output, '--quiet')
    summary = json.loads(result.stdout)
    assert summary['frames'] == 2
    assert summary['faces_per_name'] == {'obama': 2, 'biden': 1}
    capture = cv2.VideoCapture(str(output))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 2
    capture.release()
    result = run_cli('video', '-g', gallery_path, tmp_path / 'nothing-here', check=False)
    assert result.returncode == 2 and 'camera index' in result.stderr


def test_reader_closing_the_pipe_is_not_an_error():
    # `identify ... | head -1`: once head exits, the next line meets a closed pipe. That
    # is the reader's choice, not a failure: status 0 and nothing on stderr.
    command = [sys.executable, '-m', 'face_recognition_ros', 'embed']
    command += [str(FIXTURES / 'obama_biden' / 'obama.jpg')] * 30
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get('PYTHONPATH', ''))
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=env, text=True)
    assert json.loads(process.stdout.readline())['faces']
    process.stdout.close()
    stderr = process.stderr.read()
    assert process.wait(timeout=120) == 0, stderr
    assert 'error' not in stderr.lower() and 'Traceback' not in stderr


def test_enroll_creates_the_gallery_folder_of_the_readme_command(people_dir, tmp_path):
    # README: enroll --gallery ~/.ros/face_recognition/gallery.npz, where the folder is
    # usually missing on a fresh machine.
    path = tmp_path / '.ros' / 'face_recognition' / 'gallery.npz'
    result = run_cli('enroll', '--gallery', path, people_dir, check=False)
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert json.loads(run_cli('list', '-g', path, '--json').stdout)['people'] == {
        'biden': 1, 'obama': 1}


def test_identify_reports_a_folder_without_images(gallery_path, tmp_path):
    empty = tmp_path / 'frames'
    empty.mkdir()
    (empty / 'notes.txt').write_text('no photos here')
    result = run_cli('identify', '-g', gallery_path, empty,
                     FIXTURES / 'obama_biden' / 'biden.jpg', check=False)
    assert result.returncode == 2 and 'Traceback' not in result.stderr
    assert f'no images in the folder {empty}' in result.stderr
    line, = json_lines(result.stdout)
    assert [face['name'] for face in line['faces']] == ['biden']


def test_enroll_threshold_is_saved_and_identify_threshold_is_for_the_run(people_dir,
                                                                         tmp_path):
    # docs/cli.md: --threshold overrides the gallery's for a run; enroll saves it.
    path = tmp_path / 'calibrated.npz'
    run_cli('enroll', '-g', path, '--threshold', '0.5', people_dir)
    assert json.loads(run_cli('list', '-g', path, '--json').stdout)['threshold'] == 0.5
    before = path.read_bytes()
    line, = json_lines(run_cli('identify', '-g', path, '--threshold', '0.99',
                               FIXTURES / 'obama_biden' / 'obama2.jpg').stdout)
    assert [face['name'] for face in line['faces']] == ['unknown']
    assert path.read_bytes() == before


@pytest.mark.parametrize('args', [
    ('bench', FIXTURES / 'obama_biden' / 'obama.jpg', '--frames', '0'),
    ('video', FIXTURES / 'obama_biden' / 'obama.jpg', '--max-frames', '-3'),
    ('embed', '--threads', '0', FIXTURES / 'obama_biden' / 'obama.jpg'),
])
def test_counts_below_one_are_usage_errors(args):
    # bench --frames 0 used to measure 1 frame; video --max-frames -3 said that no frames
    # could be read from a good file.
    result = run_cli(*args, check=False)
    assert result.returncode == 2 and 'Traceback' not in result.stderr
    assert 'is not a whole number of at least' in result.stderr
    assert result.stdout == ''


READ_ONLY_FOLDER = (
    # What a read-only folder does to the gallery's temporary file and to a new folder
    # (root ignores permissions, so it is simulated).
    'import os, sys, tempfile\n'
    'def refuse(*args, **kwargs):\n'
    '    raise OSError(30, "Read-only file system")\n'
    'tempfile.mkstemp = refuse\n'
    'os.mkdir = refuse\n'
    'from face_recognition_ros.cli import main\n'
    'sys.exit(main(sys.argv[1:]))\n')


def test_read_only_gallery_folder_claims_no_removal_and_says_what_to_do(gallery_path,
                                                                        people_dir,
                                                                        tmp_path):
    path = tmp_path / 'g.npz'
    shutil.copy(gallery_path, path)
    before = path.read_bytes()
    result = run_cli('remove', '-g', path, 'biden', python_code=READ_ONLY_FOLDER,
                     check=False)
    assert result.returncode == 2 and 'Read-only file system' in result.stderr
    assert 'removed' not in result.stdout
    assert path.read_bytes() == before
    result = run_cli('enroll', '-g', tmp_path / 'new' / 'g.npz', people_dir,
                     python_code=READ_ONLY_FOLDER, check=False)
    assert result.returncode == 2 and 'Traceback' not in result.stderr
    assert 'choose a writable place' in result.stderr


def test_video_without_readable_frames_keeps_the_previous_jsonl(gallery_path, tmp_path):
    broken = tmp_path / 'frame.jpg'
    broken.write_bytes(b'not a photo')
    jsonl = tmp_path / 'faces.jsonl'
    jsonl.write_text('{"frame": 0, "faces": []}\n')
    result = run_cli('video', '-q', '-g', gallery_path, broken, '--jsonl', jsonl,
                     check=False)
    assert result.returncode == 2 and 'no frames could be read' in result.stderr
    assert result.stdout == ''  # no summary of a run that did not happen
    assert jsonl.read_text() == '{"frame": 0, "faces": []}\n'


def test_enroll_people_names_a_missing_sub_folder(people_dir, tmp_path):
    path = tmp_path / 'g.npz'
    result = run_cli('enroll', '-g', path, people_dir, '--people', 'obama', 'obamma',
                     check=False)
    assert result.returncode == 2 and 'Traceback' not in result.stderr
    assert "no sub-folder 'obamma'" in result.stderr
    assert 'biden, obama' in result.stderr
    assert not path.exists()
