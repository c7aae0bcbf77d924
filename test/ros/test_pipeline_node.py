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
face_pipeline (face_detector + face_recognizer composed in one process) over real DDS.

The test process plays the camera only: it publishes real frames on ``image`` and checks
what the composed nodes publish: ``faces/detections`` and ``faces/identified`` with the
image's header, the clip's two people by name, a stranger as 'unknown', an empty array for
a frame without faces, both nodes visible under their own names, enrollment through
``/face_recognizer/enroll`` from the latest frame, and a clean Ctrl-C.
"""

from __future__ import annotations

import itertools
import time

from face_recognition.msg import FaceArray
from face_recognition.srv import Enroll, Forget
from face_recognition_ros.core.gallery import Gallery
from face_recognition_ros.core.types import UNKNOWN
from face_recognition_ros.ros_conversions import faces_from_identified_msg
from face_recognition_ros.tools.demo import build_demo_gallery
import numpy as np
import pytest
import ros_harness
from ros_harness import stamp_of
from sensor_msgs.msg import Image
from test_recognizer_node import ALEX, clip_frames, LIN
from vision_msgs.msg import Detection2DArray

_STAMPS = itertools.count(1_760_000_000_000_000_000, 33_333_333)


@pytest.fixture(scope='module')
def gallery_path(ros_session):
    path = ros_session.scratch / 'pipeline_test' / 'gallery.npz'
    build_demo_gallery(path)
    return path


@pytest.fixture(scope='module')
def pipeline(ros_session, gallery_path):
    process = ros_session.start_node('face_pipeline', parameters={
        'gallery_path': str(gallery_path)})
    process.wait_for_output('ready: yunet detector', timeout=60)
    yield process
    returncode = process.stop()
    print(f'--- face_pipeline output (exit code {returncode}) ---\n{process.output()}')


class Camera:
    """Publishes frames on ``image`` and waits for the composed nodes' answers."""

    def __init__(self, probe):
        self.probe = probe
        self.image_pub = probe.publisher('image', Image)
        self.detections = probe.collect('faces/detections', Detection2DArray)
        self.identified = probe.collect('faces/identified', Detection2DArray)
        self.faces = probe.collect('faces/faces', FaceArray)
        probe.wait_for_subscribers(self.image_pub)
        probe.wait_for_publishers('faces/identified')

    def frame(self, bgr, frame_id='camera', attempts=4, timeout=5.0):
        """Publish ``bgr`` under a new stamp; return (stamp, identified answer)."""
        stamp = next(_STAMPS)
        image_msg = self.probe.image_msg(bgr, stamp, frame_id=frame_id)
        for _ in range(attempts):  # the image topic is best effort: try again if lost
            self.image_pub.publish(image_msg)
            try:
                return stamp, self.identified.wait_for(lambda m: stamp_of(m) == stamp, timeout)
            except AssertionError:
                continue
        raise AssertionError(f'no faces/identified stamped {stamp} after {attempts} tries')


@pytest.fixture(scope='module')
def camera(ros_session, pipeline):
    probe = ros_harness.RosProbe('face_pipeline_test_probe')
    yield Camera(probe)
    probe.close()


def names_of(msg) -> list[str]:
    return sorted(face.name for face in faces_from_identified_msg(msg))


def test_both_nodes_run_under_their_own_names(camera):
    def node_names():
        return {name for name, _ in camera.probe.node.get_node_names_and_namespaces()}

    deadline = time.monotonic() + ros_harness.DEFAULT_TIMEOUT_S
    while not {'face_detector', 'face_recognizer'} <= node_names():
        assert time.monotonic() < deadline, f'nodes seen: {sorted(node_names())}'
        time.sleep(0.1)


def test_the_clip_people_are_named_and_detections_still_published(camera):
    tracks = set()
    for index, frame in enumerate(clip_frames(4)):
        stamp, answer = camera.frame(frame, frame_id='stage_camera')
        tracks |= {(face.name, face.track_id) for face in faces_from_identified_msg(answer)}

        assert answer.header.frame_id == 'stage_camera'
        if index == 0:
            # A close call waits for a second, agreeing identification (confirm_votes).
            assert len(answer.detections) == 2
            assert set(names_of(answer)) <= {ALEX, LIN, UNKNOWN}
            continue
        assert names_of(answer) == sorted([ALEX, LIN])
        detections = camera.detections.wait_for(lambda m: stamp_of(m) == stamp)
        assert detections.header.frame_id == 'stage_camera'
        assert len(detections.detections) == 2
    assert len({track_id for name, track_id in tracks}) == 2
    # The detector's own landmarks reach the recognizer (no topic could carry them).
    rich = camera.faces.wait_for(lambda m: stamp_of(m) == stamp)
    assert all(len(face.landmarks) == 5 for face in rich.faces)


def test_a_stranger_is_unknown_and_an_empty_frame_gives_an_empty_array(camera,
                                                                       fixture_image):
    _, answer = camera.frame(fixture_image('obama_biden/obama.jpg'))
    assert names_of(answer) == [UNKNOWN]

    stamp, answer = camera.frame(np.full((240, 320, 3), 128, np.uint8))
    assert stamp_of(answer) == stamp
    assert len(answer.detections) == 0


def test_enroll_the_face_in_the_latest_frame(camera, fixture_image, gallery_path):
    biden = fixture_image('obama_biden/biden.jpg')
    camera.frame(biden)
    try:
        response = camera.probe.call_service(Enroll, '/face_recognizer/enroll',
                                             Enroll.Request(name='Joe Biden'))

        assert response.success, response.message
        assert Gallery.load(gallery_path).counts()['Joe Biden'] == 1
        _, answer = camera.frame(biden)
        assert names_of(answer) == ['Joe Biden']
    finally:
        camera.probe.call_service(Forget, '/face_recognizer/forget',
                                  Forget.Request(name='Joe Biden'))
    assert 'Joe Biden' not in Gallery.load(gallery_path).names()


def test_ctrl_c_stops_both_nodes_cleanly(start_node, gallery_path):
    node = start_node('face_pipeline', name=None, namespace='stop_test',
                      parameters={'gallery_path': str(gallery_path)})
    node.wait_for_output('ready: yunet detector', timeout=60)
    assert node.stop() == 0
    assert 'Traceback' not in node.output()


def test_a_start_up_error_of_either_node_is_one_fatal_line_and_exit_code_1(
        start_node, gallery_path, ros_session):
    node = start_node('face_pipeline', namespace='bad_model', parameters={
        'gallery_path': str(gallery_path),
        'model_path': str(ros_session.scratch / 'missing_yunet.onnx')})
    node.popen.wait(timeout=ros_harness.DEFAULT_TIMEOUT_S)

    output = node.output()
    assert node.popen.returncode == 1
    assert 'FATAL' in output and 'missing_yunet.onnx' in output
    assert 'Traceback' not in output
