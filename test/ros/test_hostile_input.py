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
No input kills a node: generated messages and service requests, sent over real DDS.

face_detector, face_recognizer and face_overlay run as three processes (the two-process
layout, so every subscription the nodes have is exercised), with the installed parameter
file and a gallery of the clip's two people. Hypothesis, in this process, generates:
- ``sensor_msgs/Image``: any size (0, tiny, 2**32 - 1), any encoding (camera ones, depth,
  float, Bayer, YUV, any string), any step and any data length, right and wrong, any stamp,
  each with an empty Detection2DArray of its stamp, so that all three nodes decode it;
- ``vision_msgs/Detection2DArray`` on ``faces/detections`` (recognizer) and on
  ``faces/identified`` (overlay), each with a small real image of the same stamp (or a
  mismatched one) so that they pair: any strings in ids and class ids, NaN, infinite, huge,
  negative and zero boxes and scores, empty and large arrays;
- requests of ``~/enroll`` (any name, an empty or any generated image), ``~/forget`` (any
  name) and ``~/list_people``.

A few thousand messages reach each node. Afterwards every node still runs, answers a real
photo correctly (the detector finds the face, the recognizer names Lin-Manuel Miranda, the
overlay draws the frame), every service call was answered, no callback failed (the nodes'
safety net for bugs logs "a callback failed" / "frame processing failed"), and each kind of
problem was logged at most once per interval, not once per message.

Runs in about a minute and a half on 2 cores; the node processes' logs are printed at the end.
"""

from __future__ import annotations

import array
from collections import Counter
import itertools
import re
import time

from face_recognition.srv import Enroll, Forget, ListPeople
from face_recognition_ros.core.image_io import load_image
from face_recognition_ros.ros_conversions import faces_from_identified_msg
from face_recognition_ros.tools.demo import build_demo_gallery, DEMO_PEOPLE
from hypothesis import given, HealthCheck, Phase, settings
from hypothesis import strategies as st
import pytest
import ros_harness
from ros_harness import stamp_of
from sensor_msgs.msg import Image
from vision_msgs.msg import Detection2D, Detection2DArray, ObjectHypothesisWithPose

LIN = 'Lin-Manuel Miranda'
CLIP_FRAME = ros_harness.REPO / 'test' / 'fixtures' / 'hamilton' / 'short_hamilton_clip.mp4'
IMAGES, ARRAYS, SERVICE_CALLS = 1500, 1200, 300
"""Generated examples: images (to all three nodes), detection arrays (each sent to the
recognizer and to the overlay, with an image each), service requests (per service)."""
LOG_PERIOD_S = 5.0
"""The shortest interval after which a node logs the same kind of problem again."""
TIMED_LOG = {'RCUTILS_CONSOLE_OUTPUT_FORMAT': '[{severity}] [{time}] [{name}]: {message}'}
"""The nodes' log lines carry their time, so the test can see how often a kind repeats."""
_STAMPS = itertools.count(1_760_000_000_000_000_000, 1_000_000)

GENERATED = settings(max_examples=IMAGES, deadline=None, database=None,
                     phases=[Phase.generate],  # a dead node cannot be shrunk against
                     suppress_health_check=list(HealthCheck))


# --- Strategies ---------------------------------------------------------------------------------

ENCODINGS = ['bgr8', 'rgb8', 'mono8', 'bgra8', 'rgba8', 'bgr16', 'rgb16', 'mono16', 'rgba16',
             'bayer_rggb8', 'bayer_grbg16', 'yuv422', 'uyvy', 'yuyv', 'yuv422_yuy2',
             '32FC1', '16UC1', '8UC3', '8SC1', '64FC4', 'nv21', 'jpeg', '']
BYTES_PER_PIXEL = {'bgr8': 3, 'rgb8': 3, 'mono8': 1, 'bgra8': 4, 'rgba8': 4, 'bgr16': 6,
                   'rgb16': 6, 'mono16': 2, 'rgba16': 8, 'bayer_rggb8': 1, 'bayer_grbg16': 2,
                   'yuv422': 2, 'uyvy': 2, 'yuyv': 2, 'yuv422_yuy2': 2, '32FC1': 4,
                   '16UC1': 2, '8UC3': 3, '8SC1': 1, '64FC4': 32}
UINT32_EDGES = [0, 1, 2, 3, 2**16, 2**31 - 1, 2**31, 2**32 - 1]
text = st.text(max_size=40)
odd_text = st.one_of(text, st.sampled_from(
    ['\u00b2', '9' * 5000, '-1', ' 12 ', '0x10', '1e9', 'unknown', 'face', '\u0000',
     '\u202e', 'a' * 10000, '../../etc/passwd']))
any_float = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                      st.sampled_from([0.0, -0.0, 1e308, -1e308, 1e-308, 3.4e38, 2.0**53]),
                      st.floats(-100.0, 400.0))


@st.composite
def stamps(draw):
    """Draw a stamp as any publisher may set it: real, zero, negative, nanoseconds >= 1e9."""
    from builtin_interfaces.msg import Time

    return Time(sec=draw(st.integers(-2**31, 2**31 - 1)),
                nanosec=draw(st.integers(0, 2**32 - 1)))


@st.composite
def images(draw):
    """sensor_msgs/Image: the fields mostly consistent (so conversion gets far), else any."""
    msg = Image()
    msg.header.stamp = draw(stamps())
    msg.header.frame_id = draw(text)
    msg.encoding = draw(st.one_of(st.sampled_from(ENCODINGS), text))
    small = st.integers(0, 40)
    msg.width = draw(st.one_of(small, small, st.sampled_from(UINT32_EDGES)))
    msg.height = draw(st.one_of(small, small, st.sampled_from(UINT32_EDGES)))
    row = msg.width * BYTES_PER_PIXEL.get(msg.encoding, draw(st.integers(0, 8)))
    msg.step = min(2**32 - 1, draw(st.one_of(
        st.just(row), st.just(row + draw(st.integers(1, 7))), st.integers(0, 2**32 - 1),
        st.just(max(0, row - 1)))))
    size = msg.height * msg.step
    length = draw(st.one_of(st.just(size), st.integers(0, 4096), st.just(max(0, size - 1)),
                            st.just(size + 1)))
    msg.is_bigendian = draw(st.integers(0, 255))
    if length > 64 * 1024:  # a wrong header with a huge claim: the data stays small
        length = draw(st.integers(0, 4096))
    data = draw(st.binary(min_size=length, max_size=length)) if length < 512 else \
        bytes([draw(st.integers(0, 255))]) * length
    msg.data = array.array('B', data)  # rclpy checks a bytes object byte by byte
    return msg


@st.composite
def detections(draw):
    item = Detection2D()
    item.header.stamp = draw(stamps())
    item.header.frame_id = draw(text)
    item.id = draw(odd_text)
    item.bbox.center.position.x = draw(any_float)
    item.bbox.center.position.y = draw(any_float)
    item.bbox.center.theta = draw(any_float)
    item.bbox.size_x = draw(any_float)
    item.bbox.size_y = draw(any_float)
    for _ in range(draw(st.integers(0, 3))):
        result = ObjectHypothesisWithPose()
        result.hypothesis.class_id = draw(odd_text)
        result.hypothesis.score = draw(any_float)
        item.results.append(result)
    return item


@st.composite
def detection_arrays(draw):
    """(Detection2DArray, whether its stamp is the image's): empty, small, or large."""
    msg = Detection2DArray()
    msg.header.frame_id = draw(text)
    size = draw(st.sampled_from(['empty', 'small', 'small', 'small', 'large']))
    if size == 'small':
        msg.detections = draw(st.lists(detections(), min_size=1, max_size=8))
    elif size == 'large':  # a few generated items repeated: building 1000 is slow in rclpy
        pattern = draw(st.lists(detections(), min_size=1, max_size=3))
        msg.detections = pattern * (draw(st.integers(100, 1000)) // len(pattern))
    return msg, draw(st.sampled_from(['same', 'same', 'same', 'other']))


# --- Fixtures -----------------------------------------------------------------------------------

@pytest.fixture(scope='module')
def nodes(ros_session):
    gallery = ros_session.scratch / 'hostile_input' / 'gallery.npz'
    build_demo_gallery(gallery)
    started = {
        # Its output goes elsewhere, so the recognizer gets only the generated detections.
        'face_detector': ros_session.start_node(
            'face_detector', remappings={'faces/detections': 'detector/detections'},
            env=TIMED_LOG),
        'face_recognizer': ros_session.start_node(
            'face_recognizer', parameters={'gallery_path': str(gallery)}, env=TIMED_LOG),
        'face_overlay': ros_session.start_node('face_overlay', env=TIMED_LOG),
    }
    for process in started.values():
        process.wait_for_output('ready:', timeout=90)
    yield started
    for name, process in started.items():
        code = process.stop()
        print(f'--- {name} (exit code {code}) ---\n{process.output()}')


@pytest.fixture(scope='module')
def wire(nodes):
    """Return the probe with a publisher on every input and a collector on every output."""
    probe = ros_harness.RosProbe('hostile_input_probe')
    reliable = probe.reliable_qos(depth=100)
    wire = type('Wire', (), {})()
    wire.probe = probe
    wire.image = probe.publisher('image', Image, reliable)
    wire.detections = probe.publisher('faces/detections', Detection2DArray, reliable)
    wire.identified_in = probe.publisher('faces/identified', Detection2DArray, reliable)
    wire.detected = probe.collect('detector/detections', Detection2DArray)
    wire.identified = probe.collect('faces/identified', Detection2DArray)
    wire.annotated = probe.collect('faces/image_annotated', Image, probe.reliable_qos(50))
    probe.wait_for_subscribers(wire.image, 3)  # detector, recognizer, overlay (watched)
    probe.wait_for_subscribers(wire.detections)
    probe.wait_for_subscribers(wire.identified_in)
    wire.sent = Counter()
    yield wire
    probe.close()


def check_alive(nodes, what) -> None:
    for name, process in nodes.items():
        assert process.is_running(), f'{name} died after {what}:\n{process.output()[-4000:]}'


# --- The generated input ------------------------------------------------------------------------

def test_generated_images_reach_every_node(nodes, wire):
    @GENERATED
    @given(msg=images())
    def send(msg):
        # An empty array of the image's stamp each: recognizer and overlay pair it with
        # the image, so they decode the generated image too.
        answer = Detection2DArray(header=msg.header)
        wire.image.publish(msg)
        wire.detections.publish(answer)
        wire.identified_in.publish(answer)
        wire.sent['image'] += 1
        if wire.sent['image'] % 100 == 0:
            time.sleep(0.05)  # let the nodes' readers keep up a little (best effort anyway)
            check_alive(nodes, f'{wire.sent["image"]} images, the last {msg!r:.2000}')

    send()
    check_alive(nodes, 'the generated images')


def test_generated_detections_reach_recognizer_and_overlay(nodes, wire):
    frame = small_real_frame()

    @settings(GENERATED, max_examples=ARRAYS)
    @given(array=detection_arrays())
    def send(array):
        msg, stamp_kind = array
        stamp = next(_STAMPS)
        image = wire.probe.image_msg(frame, stamp)
        msg.header.stamp = image.header.stamp if stamp_kind == 'same' else \
            wire.probe.image_msg(frame, stamp + 1).header.stamp
        wire.image.publish(image)
        wire.detections.publish(msg)
        wire.identified_in.publish(msg)
        wire.sent['arrays'] += 1
        if wire.sent['arrays'] % 50 == 0:
            time.sleep(0.05)
            check_alive(nodes, f'{wire.sent["arrays"]} arrays, the last {msg!r:.2000}')

    send()
    check_alive(nodes, 'the generated detections')


class RecognizerServices:
    """Clients of face_recognizer's enroll, forget and list_people; answers counted in sent."""

    def __init__(self, node, sent: Counter):
        self._node, self._sent = node, sent
        self._clients = {kind: node.create_client(kind, f'/face_recognizer/{name}')
                         for kind, name in ((Enroll, 'enroll'), (Forget, 'forget'),
                                            (ListPeople, 'list_people'))}
        for client in self._clients.values():
            assert client.wait_for_service(timeout_sec=20)

    def call(self, kind, request):
        """Return the answer of the service of ``kind``; fail after 40 s without one."""
        future = self._clients[kind].call_async(request)
        ros_harness._wait_until(future.done, 40.0, f'an answer of {kind.__name__}')
        self._sent[kind.__name__] += 1
        return future.result()

    def enroll_then_forget(self, name, image, forget, nodes) -> None:
        """One generated round: enroll (a refusal says why), forget, now and then list."""
        request = Enroll.Request(name=name)
        if image is not None:
            request.image = image
        response = self.call(Enroll, request)
        assert response.message, 'every refusal says why'
        assert not response.success or name.strip(), response.message
        self.call(Forget, Forget.Request(name=forget))
        if self._sent['Enroll'] % 20 == 0:
            assert LIN in self.call(ListPeople, ListPeople.Request()).names
            check_alive(nodes, f'{self._sent["Enroll"]} enrollments')

    def close(self) -> None:
        for client in self._clients.values():
            self._node.destroy_client(client)


def test_generated_service_requests_are_all_answered(nodes, wire):
    services = RecognizerServices(wire.probe.node, wire.sent)

    @settings(GENERATED, max_examples=SERVICE_CALLS)
    @given(name=odd_text, image=st.one_of(st.just(None), images()), forget=odd_text)
    def send(name, image, forget):
        services.enroll_then_forget(name, image, forget, nodes)

    send()
    services.close()
    check_alive(nodes, 'the generated service requests')


# --- Afterwards ---------------------------------------------------------------------------------

def test_afterwards_every_node_answers_a_real_photo(nodes, wire):
    print(f'sent: {dict(wire.sent)}; the detector answered {len(wire.detected.messages)} '
          f'images, the overlay drew {len(wire.annotated.messages)} frames')
    assert wire.sent['image'] >= IMAGES and wire.sent['arrays'] >= ARRAYS
    # The generated arrays were drawn, not only received (each has an image of its stamp).
    assert len(wire.annotated.messages) >= 100
    check_alive(nodes, 'everything')
    photo = load_image(DEMO_PEOPLE[LIN])
    for attempt in range(5):  # the image topic is best effort: resend if one is lost
        stamp = next(_STAMPS)
        image = wire.probe.image_msg(photo, stamp, frame_id='after_the_storm')
        wire.image.publish(image)
        try:
            detected = wire.detected.wait_for(lambda m: stamp_of(m) == stamp, 10.0)
        except AssertionError:
            continue
        assert len(detected.detections) == 1, detected
        wire.detections.publish(detected)  # the recognizer names what the detector found
        identified = wire.identified.wait_for(lambda m: stamp_of(m) == stamp, 10.0)
        assert [face.name for face in faces_from_identified_msg(identified)] == [LIN]
        annotated = wire.annotated.wait_for(lambda m: stamp_of(m) == stamp, 10.0)
        assert (annotated.width, annotated.height) == (image.width, image.height)
        assert annotated.header.frame_id == 'after_the_storm'
        break
    else:
        raise AssertionError('the detector answered none of 5 real photos')


def test_afterwards_no_callback_failed_and_each_problem_was_logged_once_per_interval(
        nodes, wire):
    messages = sum(wire.sent.values())
    for name, process in nodes.items():
        output = process.output()
        for bug in ('a callback failed', 'frame processing failed', 'unexpected error',
                    'Traceback', 'Exception in thread'):
            assert bug not in output, f'{name}: {bug}:\n{output[output.find(bug) - 200:][:3000]}'
        times: dict[str, list[float]] = {}
        for logged_at, kind in problem_lines(output):
            times.setdefault(kind, []).append(logged_at)
        print(f'{name}: {sum(map(len, times.values()))} warnings and errors for {messages} '
              f'messages, {len(times)} kinds:')
        too_soon = {}
        for kind, logged in sorted(times.items(), key=lambda item: -len(item[1])):
            print(f'  {len(logged):4d} x {kind[:150]}')
            gaps = [later - earlier for earlier, later in zip(logged, logged[1:])]
            if gaps and min(gaps) < LOG_PERIOD_S - 0.5:
                too_soon[kind] = f'{len(logged)} lines, {min(gaps):.2f} s apart'
        assert not too_soon, f'{name} logged these more than once per {LOG_PERIOD_S} s: ' \
            f'{too_soon}'


# --- Helpers ------------------------------------------------------------------------------------

def small_real_frame():
    """Return a 160x90 frame of the clip: real pixels, cheap to send 1000 times."""
    import cv2

    capture = cv2.VideoCapture(str(CLIP_FRAME))
    ok, frame = capture.read()
    capture.release()
    assert ok
    return cv2.resize(frame, (160, 90))


_LEVEL = re.compile(r'^\[(WARN|ERROR|FATAL)\] \[(\d+\.\d+)\] \[[^\]]*\]: ')


def problem_lines(output: str) -> list[tuple[float, str]]:
    """(time, kind) of the WARN, ERROR and FATAL lines of a node's output."""
    found = []
    for line in output.splitlines():
        match = _LEVEL.match(line)
        if match:
            found.append((float(match.group(2)), problem_kind(line[match.end():])))
    return found


def problem_kind(message: str) -> str:
    """
    Return what stays of a log message when the values in it go.

    The values are numbers, quoted strings and lists (as node_support.logs.problem_kind
    sees it).
    """
    message = re.sub(r'\(and \d+ more times\)', '', message)
    message = re.sub(r"'[^']*'|\"[^\"]*\"|\[[^\]]*\]", '<v>', message)
    return re.sub(r'-?\d+(\.\d+)?(e[+-]?\d+)?', '#', message).strip()[:120]
