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
face_overlay as its own process over real DDS: it draws only while someone watches.

The test publishes a real frame on ``image`` and identified faces on ``faces/identified``
with the same stamp (as face_recognizer would), and checks ``faces/image_annotated``: it
carries the image's header and size, and the boxes are drawn on it; while nobody
subscribes the overlay does not subscribe to the images either and renders nothing (its
/diagnostics frame count stays put), and it goes back to that when the last viewer leaves.
A window asked for on a headless machine is refused with a clear message while the node
keeps working.
"""

from __future__ import annotations

import itertools
import time

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from face_recognition_ros.core.types import Face
from face_recognition_ros.ros_conversions import faces_to_identified_msg, image_msg_to_bgr
import numpy as np
import pytest
import ros_harness
from ros_harness import stamp_of
from sensor_msgs.msg import Image
from vision_msgs.msg import Detection2DArray

_STAMPS = itertools.count(1_760_000_000_000_000_000, 33_333_333)
BOX = np.array([100, 60, 120, 140], np.float32)


@pytest.fixture(scope='module')
def overlay(ros_session):
    # A window on a machine without a display: refused with a message, the node carries on.
    process = ros_session.start_node('face_overlay', parameters={'show_window': True},
                                     env={'DISPLAY': '', 'WAYLAND_DISPLAY': ''})
    process.wait_for_output('ready:', timeout=60)
    yield process
    returncode = process.stop()
    print(f'--- face_overlay output (exit code {returncode}) ---\n{process.output()}')


@pytest.fixture(scope='module')
def module_probe(ros_session):
    probe = ros_harness.RosProbe()
    yield probe
    probe.close()


class Feed:
    """Publishes frame + identified pairs and reads the overlay's diagnostics."""

    def __init__(self, probe, frame):
        self.probe = probe
        self.frame = frame
        self.image_pub = probe.publisher('image', Image)
        self.identified_pub = probe.publisher('faces/identified', Detection2DArray)
        self.diagnostics = probe.collect('/diagnostics', DiagnosticArray)

    def watch(self):
        """Subscribe to the annotated image; return once the overlay listens to its inputs."""
        annotated = self.probe.collect('faces/image_annotated', Image)
        self.probe.wait_for_subscribers(self.image_pub)
        self.probe.wait_for_subscribers(self.identified_pub)
        return annotated

    def image_subscribers(self) -> int:
        return self.probe.node.count_subscribers('/image')

    def publish_until(self, make_pair, done, timeout: float = 10.0) -> list[int]:
        """
        Publish ``make_pair(stamp)`` (image, identified) every 0.2 s until ``done(stamps)``.

        The overlay subscribes to its inputs only while its output is watched. After a new
        watch the probe's publisher may still count the overlay's previous subscription, or
        the new one may not have matched it yet from its side: one message sent at once can
        reach no subscriber. Returns the stamps sent.
        """
        sent: list[int] = []
        deadline = time.monotonic() + timeout
        while True:
            stamp = next(_STAMPS)
            image_msg, identified = make_pair(stamp)
            self.image_pub.publish(image_msg)
            self.identified_pub.publish(identified)
            sent.append(stamp)
            resend_at = time.monotonic() + 0.2
            while time.monotonic() < resend_at:
                if done(sent):
                    return sent
                time.sleep(0.02)
            assert time.monotonic() < deadline, f'not done within {timeout} s ({len(sent)} sent)'

    def send_bad_until_logged(self, mutate, logged: str, overlay) -> None:
        """Send images broken by ``mutate`` until the overlay's output holds ``logged``."""
        def bad_pair(stamp):
            bad = self.probe.image_msg(self.frame, stamp)
            mutate(bad)
            return bad, faces_to_identified_msg([], bad.header)

        self.publish_until(bad_pair, lambda sent: logged in overlay.output())

    def send(self) -> int:
        stamp = next(_STAMPS)
        image_msg = self.probe.image_msg(self.frame, stamp, frame_id='overlay_camera')
        face = Face(box=BOX, score=0.9, name='Ada', confidence=0.8, track_id=3)
        self.image_pub.publish(image_msg)
        self.identified_pub.publish(faces_to_identified_msg([face], image_msg.header))
        return stamp

    def rendered(self) -> int:
        """
        How many frames the overlay has drawn, from its /diagnostics.

        The second report after now, so that it counts every frame sent before the call.
        """
        def overlay_status(msg):
            return next((s for s in msg.status if 'face_overlay' in s.name), None)

        self.diagnostics.clear()
        deadline = time.monotonic() + 6.0
        reports = []
        while len(reports) < 2:
            assert time.monotonic() < deadline, 'no /diagnostics from face_overlay'
            reports = [status for status in map(overlay_status, self.diagnostics.messages)
                       if status is not None]
            time.sleep(0.05)
        return int({kv.key: kv.value for kv in reports[-1].values}['frames'])

    def send_some(self, count: int = 5) -> None:
        for _ in range(count):
            self.send()
            time.sleep(0.05)


@pytest.fixture(scope='module')
def feed(module_probe, overlay, fixture_image):
    return Feed(module_probe, fixture_image('obama_biden/obama.jpg'))


def test_nothing_is_drawn_without_subscribers_then_drawn_while_watched(feed, overlay):
    feed.send_some()
    assert feed.image_subscribers() == 0  # nobody watches: the images are not even received
    assert feed.rendered() == 0

    annotated = feed.watch()
    deadline = time.monotonic() + 10
    sent = []
    while not annotated.messages and time.monotonic() < deadline:
        sent.append(feed.send())
        time.sleep(0.1)
    msg = annotated.wait_for(lambda m: True)
    assert stamp_of(msg) in sent  # the header of the image it was drawn on
    assert msg.header.frame_id == 'overlay_camera'
    drawn = image_msg_to_bgr(msg)
    assert drawn.shape == feed.frame.shape
    x, y, w, h = BOX.astype(int)
    edge = (drawn[y:y + h, x] != feed.frame[y:y + h, x]).any(axis=1).mean()
    assert edge > 0.9  # the box's left edge is drawn...
    inside = np.s_[y + 40:y + h - 40, x + 40:x + w - 40]
    assert np.array_equal(drawn[inside], feed.frame[inside])  # ...over an untouched face

    feed.probe.stop_collecting(annotated)
    ros_harness._wait_until(lambda: feed.image_subscribers() == 0, 5.0,
                            'the overlay to unsubscribe from /image')
    watched = feed.rendered()
    assert watched >= 1
    feed.send_some()
    assert feed.rendered() == watched  # nobody watches again: drawing stopped


def test_a_window_without_display_is_refused_and_the_node_runs(overlay):
    output = overlay.wait_for_output('show_window is on but', timeout=5)
    assert 'RViz' in output
    assert overlay.is_running()


def test_bad_images_are_logged_and_the_node_carries_on(feed, overlay):
    annotated = feed.watch()
    try:
        feed.send_bad_until_logged(lambda m: setattr(m, 'encoding', '16UC1'),
                                   "unsupported image encoding '16UC1'", overlay)
        good = feed.send()
        annotated.wait_for(lambda m: stamp_of(m) >= good, timeout=10)
    finally:
        feed.probe.stop_collecting(annotated)
    assert overlay.is_running()


def test_two_kinds_of_bad_image_in_a_row_are_both_logged(feed, overlay):
    """
    Check that two kinds of bad image in a row are both logged.

    A zero-size image and then a truncated one: the second is another problem and must
    not be hidden by the throttle of the first (rclpy throttles per line of code).
    """
    annotated = feed.watch()
    try:
        for mutate, logged in (((lambda m: setattr(m, 'width', 0)), '0x'),
                               ((lambda m: setattr(m, 'data', m.data[:1000])), 'truncated')):
            feed.send_bad_until_logged(mutate, logged, overlay)
        good = feed.send()
        annotated.wait_for(lambda m: stamp_of(m) >= good, timeout=10)
    finally:
        feed.probe.stop_collecting(annotated)
    assert overlay.is_running()


@pytest.mark.parametrize('odd_id', ['\u00b2', '9' * 5000, '-3', ' 12 ', 'abc'])
def test_odd_but_legal_track_ids_are_drawn_and_never_end_the_node(feed, overlay, odd_id):
    """Detection2D.id is any string: '²' passed isdigit() but not int() and ended the node."""
    annotated = feed.watch()
    try:
        def odd_pair(stamp):
            image_msg = feed.probe.image_msg(feed.frame, stamp, frame_id='overlay_camera')
            identified = faces_to_identified_msg(
                [Face(box=BOX, score=0.9, name='Ada', confidence=0.8, track_id=3)],
                image_msg.header)
            identified.detections[0].id = odd_id
            return image_msg, identified

        feed.publish_until(odd_pair, lambda sent: any(
            stamp_of(m) in sent for m in annotated.messages))  # drawn with the odd id
        good = feed.send()
        annotated.wait_for(lambda m: stamp_of(m) >= good, timeout=10)
    finally:
        feed.probe.stop_collecting(annotated)
    assert overlay.is_running()
    assert 'Traceback' not in overlay.output()


def test_an_unwatched_overlay_reports_ok_idle_not_a_warning(feed, overlay):
    """Idle is the overlay's normal state: a robot monitor must not show it as a fault."""
    ros_harness._wait_until(lambda: feed.image_subscribers() == 0, 5.0,
                            'the overlay to unsubscribe from /image')
    feed.rendered()  # two reports later: at least one whole period was idle
    status = next(s for msg in reversed(feed.diagnostics.messages) for s in msg.status
                  if 'face_overlay' in s.name)

    assert status.level == DiagnosticStatus.OK, status.message
    assert 'nobody watches /faces/image_annotated' in status.message
