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
ros_conversions: images and faces to and from ROS messages, on real photos.

The image tests build messages by hand the way cameras send them (each encoding, rows padded
to a larger step) and compare with what OpenCV makes of the same photo; the face tests go
through real YuNet detections and through CDR serialisation, as on a real topic.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
from face_recognition.msg import FaceArray
from face_recognition_ros import ros_conversions as conv
from face_recognition_ros.core.errors import ImageError
from face_recognition_ros.core.types import Face, name_score, UNKNOWN
import numpy as np
import pytest
from rclpy.serialization import deserialize_message, serialize_message
from sensor_msgs.msg import Image
from std_msgs.msg import Header
from vision_msgs.msg import Detection2D, Detection2DArray

BRIDGE_MODES = [False] + ([True] if conv.cv_bridge_available() else [])
"""The built-in conversion always; cv_bridge's too where it is installed."""

# vision_msgs/msg/Detection2DArray in vision_msgs 4.x on Jazzy (rosidl-generated hash).
UPSTREAM_DETECTION2D_ARRAY_HASH = (
    'RIHS01_214274120007f4a683866481336b70310268cfa107aebe9d594a6acf75bda968')


def _header(stamp_ns=1_700_000_000_123_456_789, frame_id='camera_optical'):
    return Header(stamp=conv.ns_to_stamp(stamp_ns), frame_id=frame_id)


def _image_msg(pixels: np.ndarray, encoding: str, padding: int = 0) -> Image:
    """Build an Image the way a driver with row padding would send it."""
    height, width = pixels.shape[:2]
    rows = pixels.reshape(height, -1)
    step = rows.shape[1] + padding
    padded = np.full((height, step), 0xAB, dtype=np.uint8)
    padded[:, :rows.shape[1]] = rows
    return Image(height=height, width=width, encoding=encoding, is_bigendian=0, step=step,
                 data=padded.tobytes())


@pytest.fixture(scope='module')
def photo(fixture_image):
    return fixture_image('obama_biden/obama.jpg')


@pytest.mark.parametrize('use_cv_bridge', BRIDGE_MODES)
@pytest.mark.parametrize('encoding,to_encoding', [
    ('bgr8', None), ('rgb8', cv2.COLOR_BGR2RGB), ('mono8', cv2.COLOR_BGR2GRAY),
    ('bgra8', cv2.COLOR_BGR2BGRA), ('rgba8', cv2.COLOR_BGR2RGBA)])
@pytest.mark.parametrize('padding', [0, 13])
def test_image_encodings_convert_to_bgr(photo, encoding, to_encoding, padding, use_cv_bridge):
    pixels = photo if to_encoding is None else cv2.cvtColor(photo, to_encoding)
    msg = _image_msg(pixels, encoding, padding)

    bgr = conv.image_msg_to_bgr(msg, use_cv_bridge=use_cv_bridge)

    expected = photo if encoding != 'mono8' else cv2.cvtColor(pixels, cv2.COLOR_GRAY2BGR)
    assert bgr.dtype == np.uint8 and bgr.shape == photo.shape
    np.testing.assert_array_equal(bgr, expected)
    assert bgr.flags.writeable and bgr.flags.c_contiguous


@pytest.mark.parametrize('use_cv_bridge', BRIDGE_MODES)
@pytest.mark.parametrize('padding', [0, 13])
def test_big_endian_flag_on_8_bit_images_changes_nothing(photo, padding, use_cv_bridge):
    """
    Check that the big-endian flag on 8-bit images changes nothing.

    Some drivers set is_bigendian on 8-bit images, where it means nothing: the built-in
    conversion ignores it, and cv_bridge (whose byte swap breaks on NumPy 2) must too.
    """
    msg = _image_msg(photo, 'bgr8', padding)
    msg.is_bigendian = 1
    np.testing.assert_array_equal(conv.image_msg_to_bgr(msg, use_cv_bridge=use_cv_bridge), photo)


@pytest.mark.skipif(not conv.cv_bridge_available(),
                    reason='16-bit images need cv_bridge (the built-in conversion refuses them)')
@pytest.mark.parametrize('encoding', ['mono16', 'bgr16'])
@pytest.mark.parametrize('padding', [0, 13])
def test_big_endian_16_bit_images_read_like_little_endian_ones(photo, encoding, padding):
    pixels = cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY) if encoding == 'mono16' else photo
    samples = pixels.astype(np.uint16) * 257  # the whole 16-bit range
    little = _image_msg(samples.astype('<u2').view(np.uint8), encoding, padding)
    big = _image_msg(samples.astype('>u2').view(np.uint8), encoding, padding)
    big.is_bigendian = 1
    little.width = big.width = pixels.shape[1]  # two bytes a sample

    expected = conv.image_msg_to_bgr(little, use_cv_bridge=True)
    np.testing.assert_array_equal(conv.image_msg_to_bgr(big, use_cv_bridge=True), expected)
    gray_or_colour = pixels if encoding == 'bgr16' else cv2.cvtColor(pixels, cv2.COLOR_GRAY2BGR)
    assert np.abs(expected.astype(int) - gray_or_colour).max() <= 1  # 16 to 8 bits rounds


def test_converted_image_does_not_share_memory_with_message(photo):
    msg = conv.bgr_to_image_msg(photo, _header())
    bgr = conv.image_msg_to_bgr(msg, use_cv_bridge=False)
    bgr[:] = 0  # drawing on the frame must not change the message others may still hold
    assert conv.image_msg_to_bgr(msg, use_cv_bridge=False).any()


def test_bgr_round_trip_keeps_pixels_and_header(photo):
    header = _header()
    msg = conv.bgr_to_image_msg(photo, header)
    assert (msg.encoding, msg.width, msg.height, msg.step) == (
        'bgr8', photo.shape[1], photo.shape[0], photo.shape[1] * 3)
    assert msg.header.stamp == header.stamp and msg.header.frame_id == 'camera_optical'
    received = deserialize_message(serialize_message(msg), Image)
    np.testing.assert_array_equal(conv.image_msg_to_bgr(received), photo)


def test_gray_array_becomes_mono8(photo):
    gray = cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY)
    msg = conv.bgr_to_image_msg(gray)
    assert msg.encoding == 'mono8' and msg.step == gray.shape[1]
    np.testing.assert_array_equal(conv.image_msg_to_bgr(msg)[:, :, 1], gray)


def test_non_image_arrays_are_refused():
    with pytest.raises(ImageError, match='expected'):
        conv.bgr_to_image_msg(np.zeros((4, 4, 3), dtype=np.float32))
    with pytest.raises(ImageError, match='expected'):
        conv.bgr_to_image_msg(np.zeros((0, 4, 3), dtype=np.uint8))


@pytest.mark.parametrize('use_cv_bridge', BRIDGE_MODES)
@pytest.mark.parametrize('encoding,dtype', [('16UC1', '<u2'), ('32FC1', '<f4')])
def test_unsupported_encoding_is_refused_with_advice(photo, encoding, dtype, use_cv_bridge):
    """
    Check that an unsupported encoding is refused with advice.

    Depth and float images are refused the same way with and without cv_bridge (which
    would otherwise turn a depth map into a grey picture).
    """
    msg = _image_msg(photo[:, :, 0].astype(dtype), encoding)
    msg.width = photo.shape[1]
    with pytest.raises(ImageError, match=rf"unsupported image encoding '{encoding}'.*bgr8"):
        conv.image_msg_to_bgr(msg, use_cv_bridge=use_cv_bridge)


@pytest.mark.parametrize('use_cv_bridge', BRIDGE_MODES)
def test_zero_size_image_is_refused(use_cv_bridge):
    with pytest.raises(ImageError, match='0x0 pixels'):
        conv.image_msg_to_bgr(Image(encoding='bgr8'), use_cv_bridge=use_cv_bridge)
    assert conv.image_is_empty(Image())


@pytest.mark.parametrize('use_cv_bridge', BRIDGE_MODES)
def test_truncated_data_is_refused(photo, use_cv_bridge):
    msg = _image_msg(photo, 'bgr8', padding=4)
    msg.data = msg.data[:len(msg.data) - 10]
    with pytest.raises(ImageError, match='truncated'):
        conv.image_msg_to_bgr(msg, use_cv_bridge=use_cv_bridge)


def test_step_shorter_than_a_row_is_refused(photo):
    msg = _image_msg(photo, 'bgr8')
    msg.step = photo.shape[1] * 2
    with pytest.raises(ImageError, match='shorter than one row'):
        conv.image_msg_to_bgr(msg, use_cv_bridge=False)


def test_stamp_nanoseconds_round_trip():
    stamp = conv.ns_to_stamp(1_700_000_000_999_999_999)
    assert (stamp.sec, stamp.nanosec) == (1_700_000_000, 999_999_999)
    assert conv.stamp_to_ns(stamp) == 1_700_000_000_999_999_999


def test_real_detections_to_detection_array_and_back(photo, detector):
    detections = detector.detect(photo)
    assert len(detections) == 1
    header = _header()

    msg = deserialize_message(serialize_message(conv.detections_to_msg(detections, header)),
                              Detection2DArray)

    assert msg.header.stamp == header.stamp and msg.header.frame_id == header.frame_id
    (item,) = msg.detections
    assert item.header.stamp == header.stamp
    assert item.results[0].hypothesis.class_id == 'face'
    assert item.results[0].hypothesis.score == pytest.approx(detections[0].score)
    x, y, w, h = detections[0].box
    assert item.bbox.center.position.x == pytest.approx(x + w / 2, abs=1e-3)
    assert item.bbox.center.position.y == pytest.approx(y + h / 2, abs=1e-3)
    assert (item.bbox.size_x, item.bbox.size_y) == pytest.approx((w, h), abs=1e-3)
    assert item.id == ''

    back, rejected = conv.detections_from_msg(msg, image_size=(photo.shape[1], photo.shape[0]))
    assert rejected == []
    np.testing.assert_allclose(back[0].box, detections[0].box, atol=1e-3)
    assert back[0].landmarks is None


def test_no_faces_gives_an_empty_array_with_the_header():
    msg = conv.detections_to_msg([], _header(frame_id='cam'))
    assert list(msg.detections) == [] and msg.header.frame_id == 'cam'
    assert list(conv.faces_to_identified_msg([], _header()).detections) == []


def test_bad_received_boxes_are_dropped_or_clipped_with_reasons():
    def item(cx, cy, w, h):
        detection = Detection2D()
        detection.bbox.center.position.x, detection.bbox.center.position.y = cx, cy
        detection.bbox.size_x, detection.bbox.size_y = w, h
        return detection

    msg = Detection2DArray(detections=[
        item(50, 50, 20, 20),              # fine, no results: score 0
        item(float('nan'), 50, 20, 20),    # NaN
        item(50, 50, 0, 20),               # no area
        item(500, 50, 20, 20),             # outside a 100x100 image
        item(95, 50, 20, 20)])             # partly outside: clipped
    detections, rejected = conv.detections_from_msg(msg, image_size=(100, 100))

    assert len(detections) == 2 and len(rejected) == 3
    assert 'NaN' in rejected[0] and 'no area' in rejected[1] and 'outside' in rejected[2]
    assert detections[0].score == 0.0
    np.testing.assert_allclose(detections[1].box, [85, 40, 15, 20])


def test_identified_faces_carry_name_confidence_and_track_id():
    faces = [
        Face(box=np.array([10, 20, 30, 40], np.float32), score=0.9, name='alice',
             confidence=0.8, track_id=7),
        Face(box=np.array([50, 60, 30, 40], np.float32), score=0.7, name=UNKNOWN,
             confidence=0.1, track_id=None)]
    msg = deserialize_message(serialize_message(conv.faces_to_identified_msg(faces, _header())),
                              Detection2DArray)

    assert [d.results[0].hypothesis.class_id for d in msg.detections] == ['alice', 'unknown']
    assert [d.id for d in msg.detections] == ['7', '']
    assert msg.detections[0].results[0].hypothesis.score == pytest.approx(0.8)
    # 'unknown' scores the confidence that it is nobody enrolled, not the nearest person's
    assert msg.detections[1].results[0].hypothesis.score == pytest.approx(0.9)

    back = conv.faces_from_identified_msg(msg)
    assert [(f.name, f.track_id) for f in back] == [('alice', 7), (UNKNOWN, None)]
    assert [f.confidence for f in back] == pytest.approx([0.8, 0.1])
    np.testing.assert_allclose(back[1].box, faces[1].box)


def test_an_unknown_face_with_a_nearest_person_gets_a_second_hypothesis():
    face = Face(box=np.array([10, 20, 30, 40], np.float32), score=0.9, name=UNKNOWN,
                confidence=0.3, similarity=0.33, nearest_name='alice')
    msg = deserialize_message(
        serialize_message(conv.faces_to_identified_msg([face], _header())), Detection2DArray)
    results = [(r.hypothesis.class_id, r.hypothesis.score) for r in msg.detections[0].results]
    assert results == [('unknown', pytest.approx(0.7)), ('alice', pytest.approx(0.3))]
    back = conv.faces_from_identified_msg(msg)[0]
    assert (back.name, back.nearest_name) == (UNKNOWN, 'alice')
    assert back.confidence == pytest.approx(0.3)
    # a named face has one hypothesis only: its name is the best person already
    named = Face(box=face.box, score=0.9, name='alice', confidence=0.8, nearest_name='alice')
    assert len(conv.faces_to_identified_msg([named], _header()).detections[0].results) == 1


def test_scores_of_real_faces_mean_confidence_in_their_class(obama_biden_dir):
    """
    Check that the scores of real faces mean confidence in their class.

    A real stranger's face is published as 'unknown' with a score near 1 (before: the
    nearest person's confidence, about 0.01), a real known face with its name above 0.5.
    """
    from face_recognition_ros.core.gallery import Gallery
    from face_recognition_ros.core.image_io import load_image
    from face_recognition_ros.core.pipeline import build_pipeline

    pipeline = build_pipeline(tracking=False, num_threads=2)
    obama = pipeline.embed_faces(load_image(obama_biden_dir / 'obama.jpg'))[0][1]
    gallery = Gallery(pipeline.embedder.model_id).with_person('obama', obama[None])
    pipeline.gallery = gallery
    known = pipeline.process(load_image(obama_biden_dir / 'obama2.jpg')).faces
    stranger = pipeline.process(load_image(obama_biden_dir / 'biden.jpg')).faces
    msg = conv.faces_to_identified_msg(known + stranger, _header())
    (known_hypothesis,), (stranger_hypothesis, *_) = [
        [r.hypothesis for r in d.results] for d in msg.detections]
    assert known_hypothesis.class_id == 'obama' and known_hypothesis.score > 0.5
    assert stranger_hypothesis.class_id == 'unknown' and stranger_hypothesis.score > 0.9
    face_array = conv.faces_to_face_array_msg(known + stranger, _header())
    assert face_array.faces[1].confidence == pytest.approx(stranger_hypothesis.score)
    # Face.msg keeps the raw cosine similarity
    assert face_array.faces[1].similarity == pytest.approx(stranger[0].similarity)
    assert -1.0 <= face_array.faces[1].similarity < gallery.threshold


def test_name_score_is_clipped_and_treats_nan_as_no_confidence():
    assert name_score('alice', 1.5) == 1.0 and name_score(UNKNOWN, -0.2) == 1.0
    assert name_score('alice', float('nan')) == 0.0


def test_face_array_round_trip_with_and_without_landmarks():
    landmarks = np.arange(10, dtype=np.float32).reshape(5, 2) + 100
    embedding = np.ones(128, np.float32) / np.sqrt(128)
    faces = [
        Face(box=np.array([1, 2, 30, 40], np.float32), score=0.95, landmarks=landmarks,
             track_id=3, name='bob', confidence=0.75, similarity=0.5, embedding=embedding),
        Face(box=np.array([5, 6, 7, 8], np.float32), score=0.6)]
    header = _header()

    msg = deserialize_message(
        serialize_message(conv.faces_to_face_array_msg(faces, header)), FaceArray)
    assert msg.header.stamp == header.stamp
    assert len(msg.faces[0].landmarks) == 5 and len(msg.faces[1].landmarks) == 0
    assert msg.faces[1].track_id == conv.NO_TRACK and msg.faces[1].name == 'unknown'

    first, second = conv.faces_from_face_array_msg(msg)
    np.testing.assert_allclose(first.landmarks, landmarks)
    np.testing.assert_allclose(first.embedding, embedding, rtol=1e-6)
    assert (first.name, first.track_id, first.similarity) == ('bob', 3, pytest.approx(0.5))
    assert second.landmarks is None and second.embedding is None and second.track_id is None


def test_vision_msgs_type_hash_matches_upstream():
    """Our vision_msgs stand-in must be wire- and hash-compatible with the real package."""
    from ament_index_python.packages import get_package_share_directory

    description = Path(get_package_share_directory('vision_msgs')) / 'msg/Detection2DArray.json'
    if not description.is_file():
        pytest.skip('this ROS 2 distribution (Humble) has no interface type hashes')
    hashes = json.loads(description.read_text())['type_hashes']
    own = next(h for h in hashes if h['type_name'] == 'vision_msgs/msg/Detection2DArray')
    assert own['hash_string'] == UPSTREAM_DETECTION2D_ARRAY_HASH


# --- Pairing by stamp and the node helpers (no DDS needed) --------------------------------------

def _stamped(tag: str, stamp_ns: int):
    from types import SimpleNamespace

    return SimpleNamespace(tag=tag, header=_header(stamp_ns))


def test_stamp_pairing_pairs_equal_stamps_in_any_arrival_order():
    from face_recognition_ros.node_support.message_pairing import StampPairing

    pairs = []
    pairing = StampPairing(lambda image, dets: pairs.append((image.tag, dets.tag)))
    pairing.add(0, _stamped('image1', 100))
    pairing.add(1, _stamped('dets2', 200))   # detections before their image
    pairing.add(1, _stamped('dets1', 100))
    pairing.add(0, _stamped('image2', 200))
    assert pairs == [('image1', 'dets1'), ('image2', 'dets2')]
    assert pairing.pending() == (0, 0) and pairing.unpaired == [0, 0]


def test_stamp_pairing_counts_and_reports_repeated_stamps():
    """
    Check that stamp pairing counts and reports repeated stamps.

    Stamps all 0 (use_sim_time without /clock): the older image is dropped and counted,
    and the caller is told, instead of one image silently standing for another.
    """
    from face_recognition_ros.node_support.message_pairing import StampPairing

    pairs, repeated = [], []
    pairing = StampPairing(lambda image, dets: pairs.append((image.tag, dets.tag)),
                           on_repeated_stamp=lambda stream, stamp: repeated.append(
                               (stream, stamp)))
    pairing.add(0, _stamped('image1', 0))
    pairing.add(0, _stamped('image2', 0))
    pairing.add(1, _stamped('dets', 0))
    assert pairs == [('image2', 'dets')]
    assert repeated == [(0, 0)] and pairing.repeated_stamps == 1
    assert pairing.unpaired == [1, 0]


def test_stamp_pairing_discards_what_never_pairs_and_says_so():
    from face_recognition_ros.node_support.message_pairing import StampPairing

    pairs, lost = [], []
    pairing = StampPairing(lambda image, dets: pairs.append((image.tag, dets.tag)),
                           queue_size=2, on_unpaired=lambda stream, msg: lost.append(msg.tag))
    pairing.add(1, _stamped('orphan_dets', 50))  # its image never arrives
    pairing.add(0, _stamped('image_dropped', 60))  # the detector skipped this one
    pairing.add(0, _stamped('image', 70))
    pairing.add(1, _stamped('dets', 70))
    assert pairs == [('image', 'dets')]
    assert sorted(lost) == ['image_dropped', 'orphan_dets'] and pairing.unpaired == [1, 1]
    for stamp in (80, 90, 100):  # a bounded queue: old images go when no detections come
        pairing.add(0, _stamped(f'image{stamp}', stamp))
    assert pairing.pending() == (2, 0) and 'image80' in lost


def test_stamp_pairing_with_slop_takes_the_nearest_partner():
    from face_recognition_ros.node_support.message_pairing import StampPairing

    pairs = []
    pairing = StampPairing(lambda image, dets: pairs.append((image.tag, dets.tag)),
                           slop_s=0.010)
    pairing.add(0, _stamped('image_a', 1_000_000_000))
    pairing.add(0, _stamped('image_b', 1_008_000_000))
    pairing.add(1, _stamped('dets', 1_006_000_000))
    pairing.add(1, _stamped('dets_far', 2_000_000_000))  # 1 s away: no partner
    assert pairs == [('image_b', 'dets')]


def test_repeat_limited_log_shows_each_problem_once_then_counts_repeats():
    from face_recognition_ros.node_support import RepeatLimitedLog

    lines = []
    logger = type('Logger', (), {'error': lambda self, text: lines.append(text),
                                 'warning': lambda self, text: lines.append(text)})()
    log = RepeatLimitedLog(logger, period_s=60.0)
    for _ in range(3):
        log.error('unsupported encoding')
    log.error('truncated')
    assert lines == ['unsupported encoding', 'truncated']
    log = RepeatLimitedLog(logger, period_s=0.0)
    lines.clear()
    log.error('x')
    log.error('x')
    assert lines == ['x', 'x']


def test_repeat_limited_log_counts_a_problem_with_other_values_as_the_same_kind():
    """
    Check that a problem with other values counts as the same kind.

    A publisher sending ever other wrong sizes logged one line per message: the key was
    the whole text, numbers and all. Found by test_hostile_input.py.
    """
    from face_recognition_ros.node_support import RepeatLimitedLog

    lines = []
    logger = type('Logger', (), {'error': lambda self, text: lines.append(text),
                                 'warning': lambda self, text: lines.append(text)})()
    log = RepeatLimitedLog(logger, period_s=60.0)
    for width in range(1, 50):
        log.error(f'image skipped: image is {width}x0 pixels: nothing to process')
        log.error(f"image skipped: unsupported image encoding '{width}UC9'")
    log.warning('bad boxes: detection 3: box [nan, 1.0, 2.0, 3.0] holds NaN or infinity')
    log.warning('bad boxes: detection 0: box [1e+30, inf, -2.0, 3.0] holds NaN or infinity')
    log.warning('bad boxes: 1 | 2 | 3', kind='bad boxes')
    log.warning('bad boxes: 4 | 5', kind='bad boxes')
    assert lines == ['image skipped: image is 1x0 pixels: nothing to process',
                     "image skipped: unsupported image encoding '1UC9'",
                     'bad boxes: detection 3: box [nan, 1.0, 2.0, 3.0] holds NaN or infinity',
                     'bad boxes: 1 | 2 | 3']


def test_repeat_limited_log_on_a_ros_logger_logs_warnings_and_errors_alike(capfd):
    """
    Check that warnings and errors alike are logged on a ROS logger.

    rclpy refuses two severities from one line of code: a warning and then an error
    through RepeatLimitedLog raised ValueError and killed the recognizer's frame thread
    (a refused enrollment, then an image of a wrong encoding).
    """
    from face_recognition_ros.node_support import RepeatLimitedLog
    import rclpy

    log = RepeatLimitedLog(rclpy.logging.get_logger('two_severities_test'))
    for _ in range(2):
        log.warning('enroll refused: the name is empty')
        log.error("image skipped: unsupported image encoding '32FC1'")
    err = capfd.readouterr().err
    assert err.count('enroll refused') == 1 and err.count('image skipped') == 1


def test_core_warnings_reach_the_ros_log_once_per_kind_and_interval(capfd):
    """
    Check that core warnings reach the ROS log once per kind and interval.

    The core warns once per bad box it drops: 1311 lines came from one recognizer in a
    minute of generated detections (test_hostile_input.py).
    """
    import logging

    from face_recognition_ros.node_support import logs

    core = logging.getLogger('face_recognition_ros.flood_test')
    core.addHandler(logs._RosLogHandler('flood_test', period_s=60.0))
    core.propagate = False
    core.setLevel(logging.INFO)
    for index in range(50):
        core.warning('dropping a detection outside the %dx%d image: %s', 160, 90 + index,
                     [float(index), 2.0, 1.5, 1.0])
    core.info('an info line is never limited')
    core.info('an info line is never limited')
    err = capfd.readouterr().err
    assert err.count('dropping a detection outside the 160x90 image') == 1
    assert err.count('dropping a detection') == 1
    assert err.count('an info line is never limited') == 2


def test_latest_frame_worker_processes_the_newest_and_counts_the_skipped():
    import threading
    import time

    from face_recognition_ros.node_support import LatestFrameWorker

    started, release, processed, dropped = threading.Event(), threading.Event(), [], []

    def process(item):
        if item == 'first':
            started.set()
            release.wait(5.0)  # busy while the next frames arrive
        if item == 'boom':
            raise RuntimeError('bad frame')
        processed.append(item)

    errors = []
    logger = type('Logger', (), {'error': lambda self, text: errors.append(text)})()
    worker = LatestFrameWorker(process, logger, on_drop=lambda: dropped.append(1))
    worker.submit('first')
    assert started.wait(5.0)
    for item in ('second', 'third', 'newest'):
        worker.submit(item)
    release.set()
    deadline = time.monotonic() + 5.0
    while not worker.idle() and time.monotonic() < deadline:
        time.sleep(0.01)
    worker.submit('boom')
    while not errors and time.monotonic() < deadline:
        time.sleep(0.01)
    worker.stop()
    assert processed == ['first', 'newest'] and len(dropped) == 2
    assert errors and 'bad frame' in errors[0]


def test_latest_frame_worker_logs_a_failing_frame_once_per_interval():
    """A bug that fails every frame of a 30 Hz camera logged an error per frame."""
    import time

    from face_recognition_ros.node_support import LatestFrameWorker

    def process(item):
        raise ValueError(f'cannot handle a box of width {item}')

    errors = []
    logger = type('Logger', (), {'error': lambda self, text: errors.append(text)})()
    worker = LatestFrameWorker(process, logger, capacity=100)
    for width in range(30):
        worker.submit(width)
    deadline = time.monotonic() + 5.0
    while not worker.idle() and time.monotonic() < deadline:
        time.sleep(0.01)
    worker.stop()
    assert worker.idle()
    assert errors == ['frame processing failed: ValueError: cannot handle a box of width 0']


def test_frame_worker_with_capacity_keeps_the_newest_few_in_order():
    """face_pipeline's recognizer queue: a slow frame delays, and only an overflow drops."""
    import threading
    import time

    from face_recognition_ros.node_support import LatestFrameWorker

    started, release, processed, dropped = threading.Event(), threading.Event(), [], []

    def process(item):
        if item == 0:
            started.set()
            release.wait(5.0)
        processed.append(item)

    logger = type('Logger', (), {'error': lambda self, text: None})()
    worker = LatestFrameWorker(process, logger, on_drop=lambda: dropped.append(1), capacity=3)
    worker.submit(0)
    assert started.wait(5.0)
    for item in range(1, 6):  # 5 frames arrive while frame 0 is slow: room for 3
        worker.submit(item)
    release.set()
    deadline = time.monotonic() + 5.0
    while not worker.idle() and time.monotonic() < deadline:
        time.sleep(0.01)
    worker.stop()
    assert processed == [0, 3, 4, 5] and len(dropped) == 2
