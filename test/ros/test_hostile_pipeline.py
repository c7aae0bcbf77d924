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
No input kills face_pipeline, the launch file's default layout.

test_hostile_input.py sends generated messages to the three-process layout. face_pipeline
runs the same two nodes in one process, but its recognizer takes each frame the detector
has already converted, with the detections, straight from memory: a code path the
three-process test never takes. So, over real DDS to a running face_pipeline:
- generated ``sensor_msgs/Image`` of any size, encoding, step, data length and stamp
  (test_hostile_input's strategy);
- real faces in odd frames: a photo of Lin-Manuel Miranda scaled to 24-900 px, in every
  encoding the nodes convert (colour, grey, alpha, 16 bit), with and without padded rows,
  so the detector finds a face and hands a frame of that shape and origin to the
  recognizer;
- generated requests of the composed recognizer's ``~/enroll`` (any name, none or any
  image), ``~/forget`` and ``~/list_people``.

Afterwards the process still runs, names a real photo, no callback failed and each kind of
problem was logged at most once per interval. About 40 s on 2 cores.
"""

from __future__ import annotations

import array
from collections import Counter
import time

import cv2
from face_recognition_ros.core.image_io import load_image
from face_recognition_ros.ros_conversions import faces_from_identified_msg
from face_recognition_ros.tools.demo import build_demo_gallery, DEMO_PEOPLE
from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
import pytest
import ros_harness
from ros_harness import stamp_of
from sensor_msgs.msg import Image
from test_hostile_input import (check_alive, GENERATED, images, LIN, LOG_PERIOD_S, odd_text,
                                problem_lines, RecognizerServices, TIMED_LOG)
from vision_msgs.msg import Detection2DArray

IMAGES, FACES, SERVICE_CALLS = 400, 150, 80
"""Generated examples: any images, real faces in odd frames, service requests."""
_STAMPS = iter(range(1_770_000_000_000_000_000, 2**62, 1_000_000))
FACE_ENCODINGS = {'bgr8': (3, 1), 'rgb8': (3, 1), 'mono8': (1, 1), 'bgra8': (4, 1),
                  'rgba8': (4, 1), 'bgr16': (3, 2), 'rgb16': (3, 2), 'mono16': (1, 2)}
"""Encodings of the real-face frames: (channels, bytes per channel)."""


@pytest.fixture(scope='module')
def pipeline(ros_session):
    gallery = ros_session.scratch / 'hostile_pipeline' / 'gallery.npz'
    build_demo_gallery(gallery)
    process = ros_session.start_node(
        'face_pipeline', parameters={'gallery_path': str(gallery)}, env=TIMED_LOG)
    process.wait_for_output('ready: yunet detector', timeout=90)
    nodes = {'face_pipeline': process}
    yield nodes
    code = process.stop()
    print(f'--- face_pipeline (exit code {code}) ---\n{process.output()}')


@pytest.fixture(scope='module')
def wire(pipeline):
    probe = ros_harness.RosProbe('hostile_pipeline_probe')
    wire = type('Wire', (), {})()
    wire.probe = probe
    wire.image = probe.publisher('image', Image, probe.reliable_qos(depth=100))
    wire.detected = probe.collect('faces/detections', Detection2DArray)
    wire.identified = probe.collect('faces/identified', Detection2DArray)
    probe.wait_for_subscribers(wire.image)
    probe.wait_for_publishers('faces/identified')
    wire.sent = Counter()
    yield wire
    probe.close()


@st.composite
def faces_in_odd_frames(draw):
    """Return a real face as sensor_msgs/Image: any size, encoding and row padding."""
    photo = _photo()
    longest = draw(st.integers(24, 900))
    scale = longest / max(photo.shape[:2])
    size = (max(1, round(photo.shape[1] * scale)), max(1, round(photo.shape[0] * scale)))
    bgr = cv2.resize(photo, size)
    encoding = draw(st.sampled_from(sorted(FACE_ENCODINGS)))
    channels, depth = FACE_ENCODINGS[encoding]
    pixels = {1: cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), 3: bgr,
              4: cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA)}[channels]
    if encoding.startswith(('rgb', 'rgba')):
        pixels = pixels[..., [2, 1, 0] + ([3] if channels == 4 else [])]
    if depth == 2:
        pixels = pixels.astype(np.uint16) * 257
    pixels = np.ascontiguousarray(pixels).reshape(pixels.shape[0], -1)
    rows = pixels.view(np.uint8).reshape(pixels.shape[0], -1)
    padding = draw(st.sampled_from([0, 0, 1, 3, 64]))
    rows = np.pad(rows, ((0, 0), (0, padding)))
    msg = Image(height=rows.shape[0], width=size[0], encoding=encoding,
                step=rows.shape[1], is_bigendian=0)
    msg.data = array.array('B', rows.tobytes())
    return msg


def test_generated_images_and_odd_face_frames_reach_face_pipeline(pipeline, wire):
    @settings(GENERATED, max_examples=IMAGES)
    @given(msg=images())
    def send_any(msg):
        wire.image.publish(msg)
        wire.sent['image'] += 1
        if wire.sent['image'] % 50 == 0:
            time.sleep(0.1)
            check_alive(pipeline, f'{wire.sent["image"]} images, the last {msg!r:.2000}')

    @settings(GENERATED, max_examples=FACES)
    @given(msg=faces_in_odd_frames())
    def send_faces(msg):
        msg.header.stamp = wire.probe.image_msg(np.zeros((1, 1, 3), np.uint8),
                                                next(_STAMPS)).header.stamp
        wire.image.publish(msg)
        wire.sent['face'] += 1
        time.sleep(0.03)  # a camera's pace: most frames get detected, not dropped
        if wire.sent['face'] % 25 == 0:
            check_alive(pipeline, f'{wire.sent["face"]} face frames, the last '
                        f'{msg.width}x{msg.height} {msg.encoding} step {msg.step}')

    send_any()
    send_faces()
    time.sleep(1.0)
    check_alive(pipeline, 'the generated images')
    named = [face.name for msg in wire.identified.messages
             for face in faces_from_identified_msg(msg)]
    # The odd face frames went the in-process way: many were detected, embedded and named.
    assert named.count(LIN) >= 10, f'{len(named)} faces identified, names: {set(named)}'


def test_generated_service_requests_to_the_composed_recognizer(pipeline, wire):
    services = RecognizerServices(wire.probe.node, wire.sent)

    @settings(GENERATED, max_examples=SERVICE_CALLS)
    @given(name=odd_text, image=st.one_of(st.just(None), images(), faces_in_odd_frames()),
           forget=odd_text)
    def send(name, image, forget):
        services.enroll_then_forget(name, image, forget, pipeline)

    send()
    services.close()
    check_alive(pipeline, 'the generated service requests')


def test_afterwards_face_pipeline_names_a_real_photo_and_logged_no_bug(pipeline, wire):
    print(f'sent: {wire.sent}; answered {len(wire.identified.messages)} frames')
    photo = load_image(DEMO_PEOPLE[LIN])
    for _ in range(5):  # a frame may be dropped for a newer one: try again
        stamp = next(_STAMPS)
        wire.image.publish(wire.probe.image_msg(photo, stamp, frame_id='after_the_storm'))
        try:
            identified = wire.identified.wait_for(lambda m: stamp_of(m) == stamp, 10.0)
        except AssertionError:
            continue
        names = [face.name for face in faces_from_identified_msg(identified)]
        if names == [LIN]:
            break
    else:
        raise AssertionError('face_pipeline named none of 5 real photos')
    output = pipeline['face_pipeline'].output()
    for bug in ('a callback failed', 'frame processing failed', 'unexpected error',
                'Traceback', 'Exception in thread'):
        assert bug not in output, f'{bug}:\n{output[output.find(bug) - 200:][:3000]}'
    times: dict[str, list[float]] = {}
    for logged_at, kind in problem_lines(output):
        times.setdefault(kind, []).append(logged_at)
    too_soon = {kind: len(logged) for kind, logged in times.items()
                if any(later - earlier < LOG_PERIOD_S - 0.5
                       for earlier, later in zip(logged, logged[1:]))}
    assert not too_soon, f'logged more than once per {LOG_PERIOD_S} s: {too_soon}'


def _photo() -> np.ndarray:
    global _PHOTO
    if _PHOTO is None:
        _PHOTO = load_image(DEMO_PEOPLE[LIN])
    return _PHOTO


_PHOTO = None
