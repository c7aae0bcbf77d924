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
face_recognizer as its own process over real DDS: images + detections in, names out.

The test process plays camera and detector: it publishes real frames on ``image`` and the
boxes the real YuNet detector finds in them on ``faces/detections`` (boxes only, as the
detector node sends them, so the node must locate landmarks itself), then checks
``faces/identified``: the clip's two people by name, a stranger as 'unknown', the image's
stamp and frame_id, an empty array for a frame without faces. Enrollment by service (with
an image, and from the latest frame), refusals that leave the gallery file untouched, and
bad input (unsupported encoding, truncated data, NaN and off-image boxes, detections whose
image never comes) that is logged while the node carries on.
"""

from __future__ import annotations

import itertools
import time

import cv2
from face_recognition.msg import FaceArray
from face_recognition.srv import Enroll, Forget, ListPeople
from face_recognition_ros.core.gallery import Gallery
from face_recognition_ros.core.types import Detection, UNKNOWN
from face_recognition_ros.ros_conversions import detections_to_msg, faces_from_identified_msg
from face_recognition_ros.tools.demo import build_demo_gallery, DEFAULT_CLIP
import numpy as np
import pytest
import ros_harness
from ros_harness import stamp_of
from sensor_msgs.msg import Image
from vision_msgs.msg import Detection2DArray

BASE_STAMP_NS = 1_750_000_000_000_000_000
LIN, ALEX = 'Lin-Manuel Miranda', 'Alex Lacamoire'
SERVICE = '/face_recognizer/{}'
_STAMPS = itertools.count(BASE_STAMP_NS + 33_333_333, 33_333_333)
"""Stamps of the frames, increasing over the whole module as a camera's would."""


@pytest.fixture(scope='module')
def gallery_path(ros_session):
    path = ros_session.scratch / 'recognizer_test' / 'gallery.npz'
    build_demo_gallery(path)
    return path


@pytest.fixture(scope='module')
def recognizer(ros_session, gallery_path):
    process = ros_session.start_node('face_recognizer', parameters={
        'gallery_path': str(gallery_path), 'publish_embeddings': True})
    process.wait_for_output('ready:', timeout=60)
    yield process
    returncode = process.stop()
    print(f'--- face_recognizer output (exit code {returncode}) ---\n{process.output()}')


class Camera:
    """Publishes a frame and its detections, and waits for the recognizer's answer."""

    def __init__(self, probe, detector):
        self.probe = probe
        self.detector = detector
        self.image_pub = probe.publisher('image', Image)
        self.detections_pub = probe.publisher('faces/detections', Detection2DArray)
        self.identified = probe.collect('faces/identified', Detection2DArray)
        self.faces = probe.collect('faces/faces', FaceArray)
        probe.wait_for_subscribers(self.image_pub)
        probe.wait_for_subscribers(self.detections_pub)
        probe.wait_for_publishers('faces/identified')

    def send(self, image_msg, detections_msg):
        self.image_pub.publish(image_msg)
        self.detections_pub.publish(detections_msg)

    def frame(self, bgr, detections=None, frame_id='camera', attempts=4, timeout=5.0):
        """Publish ``bgr`` (and its YuNet boxes) under a new stamp; return (stamp, answer)."""
        stamp = next(_STAMPS)
        image_msg = self.probe.image_msg(bgr, stamp, frame_id=frame_id)
        if detections is None:
            detections = [Detection(d.box, d.score) for d in self.detector.detect(bgr)]
        detections_msg = detections_to_msg(detections, image_msg.header)
        for _ in range(attempts):  # the image topic is best effort: try again if lost
            self.send(image_msg, detections_msg)
            try:
                answer = self.identified.wait_for(lambda m: stamp_of(m) == stamp, timeout)
                return stamp, answer
            except AssertionError:
                continue
        raise AssertionError(f'no faces/identified stamped {stamp} after {attempts} tries')


@pytest.fixture(scope='module')
def module_probe(ros_session):
    """One in-test node for the module: discovery is paid once, not per test."""
    probe = ros_harness.RosProbe()
    yield probe
    probe.close()


@pytest.fixture(scope='module')
def module_camera(module_probe, detector, recognizer):
    return Camera(module_probe, detector)


@pytest.fixture
def camera(module_camera):
    module_camera.identified.clear()
    module_camera.faces.clear()
    return module_camera


@pytest.fixture
def probe(module_camera):
    return module_camera.probe


def names_of(msg) -> list[str]:
    return sorted(face.name for face in faces_from_identified_msg(msg))


def clip_frames(count: int) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(DEFAULT_CLIP))
    frames = []
    while len(frames) < count:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


def enroll(probe, name, image_msg=None) -> Enroll.Response:
    request = Enroll.Request(name=name)
    if image_msg is not None:
        request.image = image_msg
    return probe.call_service(Enroll, SERVICE.format('enroll'), request)


def test_the_clip_people_come_out_by_name_with_the_image_header(camera):
    tracks = set()
    for index, frame in enumerate(clip_frames(4)):
        stamp, answer = camera.frame(frame, frame_id='stage_camera')
        tracks |= {(face.name, face.track_id) for face in faces_from_identified_msg(answer)}

        assert stamp_of(answer) == stamp
        assert answer.header.frame_id == 'stage_camera'
        if index == 0:  # a close call waits for a second identification (confirm_votes)
            assert set(names_of(answer)) <= {ALEX, LIN, UNKNOWN}
        else:
            assert names_of(answer) == sorted([ALEX, LIN])
        for item in answer.detections:
            assert stamp_of(item) == stamp
            assert item.id.isdigit()  # the track id
            assert 0.5 <= item.results[0].hypothesis.score <= 1.0
    # The same two tracks all along, and the rich FaceArray with landmarks and embeddings.
    assert len({track_id for _, track_id in tracks}) == 2
    camera.faces.wait_for(lambda m: stamp_of(m) == stamp)
    rich = [face for msg in camera.faces.messages for face in msg.faces]
    assert {face.name for face in rich} - {UNKNOWN} == {ALEX, LIN}  # first frame: pending
    embedded = [face for face in rich if len(face.embedding)]
    assert embedded  # tracking: only new or stale tracks are embedded in a frame
    for face in embedded:
        assert len(face.landmarks) == 5  # located inside the box: the boxes had none
        assert abs(np.linalg.norm(face.embedding) - 1.0) < 1e-3


def test_a_stranger_is_unknown(camera, fixture_image):
    _, answer = camera.frame(fixture_image('obama_biden/obama.jpg'))

    assert names_of(answer) == [UNKNOWN]
    # the score is the confidence in 'unknown' itself: that the face is nobody enrolled
    assert answer.detections[0].results[0].hypothesis.score > 0.5


def test_a_frame_without_faces_gives_an_empty_array(camera, fixture_image):
    empty_wall = np.full((240, 320, 3), 128, np.uint8)
    stamp, answer = camera.frame(empty_wall)

    assert stamp_of(answer) == stamp
    assert len(answer.detections) == 0


def test_enroll_with_an_image_then_recognised_and_saved(camera, probe, fixture_image,
                                                        gallery_path):
    obama_msg = probe.image_msg(fixture_image('obama_biden/obama.jpg'), 1)
    try:
        response = enroll(probe, 'Barack Obama', obama_msg)

        assert response.success, response.message
        assert response.samples == 1
        assert 'Barack Obama' in Gallery.load(gallery_path).names()
        _, answer = camera.frame(fixture_image('obama_biden/obama2.jpg'))  # another photo
        assert names_of(answer) == ['Barack Obama']
        people = probe.call_service(ListPeople, SERVICE.format('list_people'),
                                    ListPeople.Request())
        assert sorted(people.names) == sorted([ALEX, 'Barack Obama', LIN])
        assert list(people.counts) == [1, 1, 1]
    finally:
        forgotten = probe.call_service(Forget, SERVICE.format('forget'),
                                       Forget.Request(name='Barack Obama'))
    assert forgotten.success, forgotten.message
    assert 'Barack Obama' not in Gallery.load(gallery_path).names()
    _, answer = camera.frame(fixture_image('obama_biden/obama2.jpg'))
    assert names_of(answer) == [UNKNOWN]


def test_enroll_the_face_in_the_latest_frame(camera, probe, fixture_image, gallery_path):
    biden = fixture_image('obama_biden/biden.jpg')
    _, answer = camera.frame(biden)
    assert names_of(answer) == [UNKNOWN]
    try:
        response = enroll(probe, 'Joe Biden')  # empty image: the latest frame

        assert response.success, response.message
        assert 'latest frame' in response.message
        assert Gallery.load(gallery_path).counts()['Joe Biden'] == 1
        _, answer = camera.frame(biden)  # the next frame: named at once
        assert names_of(answer) == ['Joe Biden']
    finally:
        probe.call_service(Forget, SERVICE.format('forget'), Forget.Request(name='Joe Biden'))


@pytest.mark.parametrize('name,photo,reason', [
    ('un/known', 'obama_biden/obama.jpg', 'path separator'),
    ('unknown', 'obama_biden/obama.jpg', 'reserved'),
    ('  ', 'obama_biden/obama.jpg', 'empty'),
    ('Two People', 'obama_biden/two_people.jpg', '2 faces'),
    ('Nobody', None, 'no usable face'),
])
def test_refused_enrollments_leave_the_gallery_file_untouched(
        camera, probe, fixture_image, gallery_path, name, photo, reason):
    before = gallery_path.read_bytes()
    image = fixture_image(photo) if photo else np.full((200, 200, 3), 90, np.uint8)

    response = enroll(probe, name, probe.image_msg(image, 7))

    assert not response.success
    assert reason in response.message
    assert gallery_path.read_bytes() == before
    assert sorted(Gallery.load(gallery_path).names()) == sorted([ALEX, LIN])


def test_an_enrollment_image_over_the_size_limit_is_refused_before_decoding(
        probe, gallery_path, recognizer):
    before = gallery_path.read_bytes()
    huge = probe.image_msg(np.zeros((8, 8, 3), np.uint8), 9)
    huge.width, huge.height, huge.step = 5000, 5000, 15000  # claims 75 MB, holds 192 bytes

    response = enroll(probe, 'Big Picture', huge)

    assert not response.success and 'scale it down' in response.message
    assert gallery_path.read_bytes() == before
    assert 'Big Picture' not in recognizer.output()  # names only at DEBUG


def test_bad_input_is_logged_and_the_node_carries_on(camera, probe, recognizer, gallery_path):
    before = gallery_path.read_bytes()
    frame = clip_frames(1)[0]

    # An encoding the node cannot read, then data shorter than height x step.
    # One at a time: the node recognises the newest frame, so a frame that waits while a
    # newer one arrives is dropped (and counted) without being looked at.
    for mutate, logged in (((lambda m: setattr(m, 'encoding', '32FC1')), '32FC1'),
                           ((lambda m: setattr(m, 'data', m.data[:1000])), 'truncated')):
        bad = camera.probe.image_msg(frame, next(_STAMPS))
        mutate(bad)
        camera.send(bad, detections_to_msg([], bad.header))
        recognizer.wait_for_output(logged, timeout=10)
    # Detections whose image never comes.
    orphan = camera.probe.image_msg(frame, next(_STAMPS))
    camera.detections_pub.publish(detections_to_msg([], orphan.header))
    # A NaN box and a box off the image next to a real face.
    real = [Detection(d.box, d.score) for d in camera.detector.detect(frame)]
    nan_box = Detection(np.array([np.nan, 10, 50, 50], np.float32), 0.9)
    off_image = Detection(np.array([5000, 5000, 60, 60], np.float32), 0.9)
    _, answer = camera.frame(frame, detections=real + [nan_box, off_image])

    assert len(answer.detections) == len(real)
    assert set(names_of(answer)) <= {ALEX, LIN, UNKNOWN} and LIN in names_of(answer)
    output = recognizer.wait_for_output('never met their image', timeout=10)
    assert "unsupported image encoding '32FC1'" in output
    assert 'truncated' in output
    assert 'NaN' in output and 'outside' in output
    assert recognizer.is_running()
    assert gallery_path.read_bytes() == before


def test_the_gallery_size_is_on_diagnostics(camera, probe):
    from diagnostic_msgs.msg import DiagnosticArray

    diagnostics = probe.collect('/diagnostics', DiagnosticArray)
    camera.frame(clip_frames(1)[0])
    try:
        msg = diagnostics.wait_for(lambda m: any(
            s.hardware_id.endswith('face_recognizer') for s in m.status), timeout=5)
    finally:
        probe.stop_collecting(diagnostics)
    status = next(s for s in msg.status if s.hardware_id.endswith('face_recognizer'))
    values = {kv.key: kv.value for kv in status.values}
    assert values['gallery_size'] == '2'
    assert {'rate_hz', 'latency_ms_median', 'dropped_frames', 'unpaired_images',
            'unpaired_detections'} <= set(values)


def test_slop_pairing_and_a_threshold_override_that_is_not_saved(ros_session, gallery_path,
                                                                 module_probe, detector):
    """
    Check slop pairing and a threshold override that is not saved.

    A second recognizer (namespace 'strict'): stamps 4 ms apart pair with sync_slop, and
    match_threshold 0.99 makes everyone unknown for this run without changing the file.
    """
    own_gallery = gallery_path.parent / 'strict_gallery.npz'
    own_gallery.write_bytes(gallery_path.read_bytes())
    process = ros_session.start_node('face_recognizer', namespace='strict', parameters={
        'gallery_path': str(own_gallery), 'sync_slop': 0.01, 'match_threshold': 0.99})
    try:
        process.wait_for_output('ready:', timeout=60)
        probe = module_probe
        image_pub = probe.publisher('/strict/image', Image)
        detections_pub = probe.publisher('/strict/faces/detections', Detection2DArray)
        identified = probe.collect('/strict/faces/identified', Detection2DArray)
        probe.wait_for_subscribers(image_pub)
        probe.wait_for_subscribers(detections_pub)
        probe.wait_for_publishers('/strict/faces/identified')
        frame = clip_frames(1)[0]
        boxes = [Detection(d.box, d.score) for d in detector.detect(frame)]
        for _ in range(4):
            stamp = next(_STAMPS)
            image_msg = probe.image_msg(frame, stamp)
            late = probe.image_msg(frame, stamp + 4_000_000).header  # 4 ms later
            image_pub.publish(image_msg)
            detections_pub.publish(detections_to_msg(boxes, late))
            try:
                answer = identified.wait_for(lambda m, s=stamp: stamp_of(m) == s, timeout=4)
                break
            except AssertionError:
                continue
        else:
            raise AssertionError('nothing paired within the slop')
        assert names_of(answer) == [UNKNOWN, UNKNOWN]  # 0.99: nobody is that similar

        response = probe.call_service(Enroll, '/strict/face_recognizer/enroll',
                                      Enroll.Request(name='Ada', image=probe.image_msg(
                                          fixture_photo('obama_biden/obama.jpg'), 1)))
        assert response.success, response.message
        saved = Gallery.load(own_gallery)
        assert saved.threshold == Gallery.load(gallery_path).threshold  # not 0.99
        assert 'Ada' in saved.names()
    finally:
        process.stop()
        print(f'--- strict face_recognizer output ---\n{process.output()}')


def test_an_unreadable_gallery_stops_the_node_with_a_clear_message(ros_session, gallery_path):
    broken = gallery_path.parent / 'broken_gallery.npz'
    broken.write_bytes(b'not a gallery')
    process = ros_session.start_node('face_recognizer', namespace='broken',
                                     parameters={'gallery_path': str(broken)})
    try:
        process.popen.wait(timeout=60)
    finally:
        process.stop()
    assert process.returncode == 1
    assert 'unreadable' in process.output() and 'FATAL' in process.output()
    assert broken.read_bytes() == b'not a gallery'


def fixture_photo(relative_path: str):
    from face_recognition_ros.core.image_io import load_image

    return load_image(ros_harness.REPO / 'test' / 'fixtures' / relative_path)


def test_enroll_refuses_a_latest_frame_that_is_too_old(camera, probe, fixture_image,
                                                       gallery_path):
    from face_recognition_ros.nodes.face_recognizer import LATEST_FRAME_MAX_AGE_S

    before = gallery_path.read_bytes()
    camera.frame(fixture_image('obama_biden/biden.jpg'))
    time.sleep(LATEST_FRAME_MAX_AGE_S + 0.5)  # the camera stopped; the person may be gone

    response = enroll(probe, 'Joe Biden')

    assert not response.success
    assert 's old' in response.message
    assert gallery_path.read_bytes() == before


def _set_publish_embeddings(probe, value: bool) -> None:
    from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
    from rcl_interfaces.srv import SetParameters

    request = SetParameters.Request(parameters=[Parameter(
        name='publish_embeddings',
        value=ParameterValue(type=ParameterType.PARAMETER_BOOL, bool_value=value))])
    response = probe.call_service(SetParameters, SERVICE.format('set_parameters'), request)
    assert response.results[0].successful, response.results[0].reason


def test_publish_embeddings_can_be_switched_while_running(camera, probe, fixture_image):
    """The one parameter that is not read-only: `ros2 param set` must take effect."""
    def rich_faces_of(bgr):
        camera.frame(clip_frames(1)[0])  # another scene first: the next face is embedded anew
        stamp, _ = camera.frame(bgr)
        msg = camera.faces.wait_for(lambda m: stamp_of(m) == stamp)
        embedded = [face for face in msg.faces if len(face.landmarks) == 5]
        assert embedded, 'the new face was not embedded in its first frame'
        return embedded

    try:
        _set_publish_embeddings(probe, False)
        assert all(len(face.embedding) == 0
                   for face in rich_faces_of(fixture_image('obama_biden/obama.jpg')))
        _set_publish_embeddings(probe, True)
        assert all(len(face.embedding) == 128
                   for face in rich_faces_of(fixture_image('obama_biden/biden.jpg')))
    finally:
        _set_publish_embeddings(probe, True)  # the module's recognizer publishes them
