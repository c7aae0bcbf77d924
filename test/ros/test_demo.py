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
The README's first command: the demo runs the whole ROS pipeline and says what it saw.

Runs ``python -m face_recognition_ros.tools.demo --max-frames 30`` (the first second of the
bundled clip, where both enrolled people are on stage) as the user would, in this test
run's ROS domain, and checks that it exits by itself and that its outputs hold what the
clip shows: both people by name, one JSON line per identified frame with the image stamp,
an annotated video, and a printed summary.
"""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
from face_recognition_ros.tools.demo import DEMO_PEOPLE, REPO
import pytest

MAX_FRAMES = 30


@pytest.mark.parametrize('layout', [[], ['--separate-processes']],
                         ids=['composed', 'separate_processes'])
def test_demo_runs_the_pipeline_on_the_clip_and_reports(ros_session, tmp_path, layout):
    output = tmp_path / 'demo'
    result = subprocess.run(
        [sys.executable, '-m', 'face_recognition_ros.tools.demo', '--max-frames',
         str(MAX_FRAMES), '--output', str(output)] + layout,
        env=ros_session.env, cwd=REPO, capture_output=True, text=True, timeout=150,
        check=False)
    print(result.stdout, result.stderr)

    assert result.returncode == 0
    records = [json.loads(line) for line in
               (output / 'identified.jsonl').read_text().splitlines()]
    assert 5 <= len(records) <= MAX_FRAMES  # the detector may skip frames it had no time for
    stamps = [record['stamp_ns'] for record in records]
    assert len(set(stamps)) == len(stamps)
    named = {face['name'] for record in records for face in record['faces']}
    assert set(DEMO_PEOPLE) <= named
    for record in records:
        assert record['frame_id'] == 'hamilton_clip'
        assert record['latency_ms'] > 0
        for face in record['faces']:
            assert face['track_id'] is not None and len(face['box']) == 4

    summary = json.loads((output / 'summary.json').read_text())
    expected = {'face_detector', 'face_recognizer'} if layout else {'face_pipeline'}
    assert expected | {'face_overlay', 'video_source'} == set(summary['exit_codes'])
    assert summary['frames_identified'] == len(records)
    assert summary['frames'] == MAX_FRAMES
    assert set(DEMO_PEOPLE) <= set(summary['faces_per_name'])
    assert 'Faces per name: ' in result.stdout and 'FPS' in result.stdout
    for name in DEMO_PEOPLE:
        assert name in result.stdout

    video = cv2.VideoCapture(str(output / 'annotated.mp4'))
    frames = int(video.get(cv2.CAP_PROP_FRAME_COUNT))
    width, height = video.get(cv2.CAP_PROP_FRAME_WIDTH), video.get(cv2.CAP_PROP_FRAME_HEIGHT)
    video.release()
    assert frames == summary['frames_annotated'] >= 1
    assert (width, height) == (640, 360)
    assert not (output / 'gallery.npz').stat().st_mode & 0o077  # face data: owner only
