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
ImageDetectionsPairing over real DDS, with message_filters as a system ROS 2 has it.

The real upstream message_filters is used wherever it is importable: every apt ROS 2 has
it, and scripts/build_ros_underlay.sh builds it from ../shared/ros2_src for the pip wheels
(which lack it). Only on a machine with neither does the message_filters path run against
a stand-in of the part of its API the pairing uses (Subscriber, TimeSynchronizer,
registerCallback). What is checked: pairs reach the callback, detections whose image never
comes are counted and reported (message_filters itself drops them silently), and the
built-in ``StampPairing`` pairs exactly what the real synchronizers pair, on the same
messages (exact stamps, and within a slop).
"""

from __future__ import annotations

import threading
import time
import types

from face_recognition_ros.node_support import message_pairing
from face_recognition_ros.ros_conversions import ns_to_stamp, stamp_to_ns
import pytest
import ros_harness
from sensor_msgs.msg import Image
from vision_msgs.msg import Detection2DArray


class _StandInSubscriber:
    """message_filters.Subscriber: a subscription that passes messages to callbacks."""

    def __init__(self, node, msg_type, topic, qos_profile=None, **options):
        self._callbacks = []
        self.subscription = node.create_subscription(msg_type, topic, self._deliver,
                                                     qos_profile)

    def registerCallback(self, callback):  # noqa: N802 - message_filters' name
        self._callbacks.append(callback)

    def _deliver(self, msg):
        for callback in self._callbacks:
            callback(msg)


class _StandInTimeSynchronizer:
    """message_filters.TimeSynchronizer: exact stamps; drops the unpaired without a word."""

    def __init__(self, subscribers, queue_size):
        self._queues = [{} for _ in subscribers]
        self._queue_size = queue_size
        self._callbacks = []
        for index, subscriber in enumerate(subscribers):
            subscriber.registerCallback(lambda msg, index=index: self._add(index, msg))

    def registerCallback(self, callback):  # noqa: N802
        self._callbacks.append(callback)

    def _add(self, index, msg):
        stamp = stamp_to_ns(msg.header.stamp)
        self._queues[index][stamp] = msg
        while len(self._queues[index]) > self._queue_size:
            del self._queues[index][min(self._queues[index])]
        if all(stamp in queue for queue in self._queues):
            pair = [queue.pop(stamp) for queue in self._queues]
            for callback in self._callbacks:
                callback(*pair)


@pytest.fixture
def stand_in_message_filters(monkeypatch):
    """Return the real message_filters where installed, else the stand-in above."""
    if message_pairing.message_filters is not None:
        return message_pairing.message_filters
    module = types.SimpleNamespace(Subscriber=_StandInSubscriber,
                                   TimeSynchronizer=_StandInTimeSynchronizer)
    monkeypatch.setattr(message_pairing, 'message_filters', module)
    return module


def _real_message_filters():
    if message_pairing.message_filters is None:
        pytest.skip('message_filters is not installed (no system ROS 2, and no underlay '
                    'built from ../shared/ros2_src): nothing to compare with')
    return message_pairing.message_filters


# Images (stream 0) and detections (stream 1) as a camera and a detector send them: most
# pair exactly, one detection's image is lost, one image has no detections, one pair
# arrives detections first.
_BASE = 1_700_000_000_000_000_000
_PERIOD = 33_333_333
_ARRIVALS = [(0, 0), (1, 0), (0, 1), (1, 1), (0, 2), (0, 3), (1, 3), (1, 4), (0, 4),
             (1, 5), (0, 6), (1, 6), (0, 7), (1, 7)]


def _pairs_of(feed, arrivals, jitter_ns: int = 0) -> list[tuple[int, int]]:
    """
    Feed (stream, frame) arrivals to ``feed(stream, msg)``.

    The detections of frame k are stamped ``jitter_ns`` later than its image (another
    detector's own clock).
    """
    for stream, frame in arrivals:
        stamp = _BASE + frame * _PERIOD + (jitter_ns if stream == 1 else 0)
        feed(stream, (_image if stream == 0 else _detections)(stamp))


def _run_both(slop_s: float, jitter_ns: int):
    real = _real_message_filters()
    paired_real, paired_ours = [], []

    def record(into):
        return lambda image, detections: into.append(
            (stamp_to_ns(image.header.stamp), stamp_to_ns(detections.header.stamp)))
    inputs = [real.SimpleFilter(), real.SimpleFilter()]
    if slop_s > 0:
        sync = real.ApproximateTimeSynchronizer(inputs, 10, slop_s)
    else:
        sync = real.TimeSynchronizer(inputs, 10)
    sync.registerCallback(record(paired_real))
    ours = message_pairing.StampPairing(record(paired_ours), slop_s, 10)
    _pairs_of(lambda stream, msg: inputs[stream].signalMessage(msg), _ARRIVALS, jitter_ns)
    _pairs_of(ours.add, _ARRIVALS, jitter_ns)
    return paired_real, paired_ours


def test_built_in_pairing_pairs_what_message_filters_pairs_on_exact_stamps():
    paired_real, paired_ours = _run_both(0.0, 0)
    assert paired_real, 'message_filters paired nothing'
    assert paired_ours == paired_real


def test_built_in_pairing_pairs_what_message_filters_pairs_within_a_slop():
    # Detections stamped 5 ms after their image, a slop of 10 ms: every frame that has
    # both pairs, in both implementations, with the same partner.
    paired_real, paired_ours = _run_both(0.010, 5_000_000)
    assert paired_real, 'message_filters paired nothing'
    assert sorted(paired_ours) == sorted(paired_real)


def _image(stamp_ns: int) -> Image:
    msg = Image(height=2, width=2, encoding='bgr8', step=6, data=bytes(12))
    msg.header.stamp = ns_to_stamp(stamp_ns)
    return msg


def _detections(stamp_ns: int) -> Detection2DArray:
    msg = Detection2DArray()
    msg.header.stamp = ns_to_stamp(stamp_ns)
    return msg


def test_with_message_filters_unpaired_detections_are_counted_and_reported(
        ros_session, stand_in_message_filters, capfd):
    receiver = ros_harness.RosProbe('pairing_receiver')
    sender = ros_harness.RosProbe('pairing_sender')
    pairs, lock = [], threading.Lock()

    def on_pair(image, detections):
        with lock:
            pairs.append((stamp_to_ns(image.header.stamp),
                          stamp_to_ns(detections.header.stamp)))
    try:
        pairing = message_pairing.ImageDetectionsPairing(
            receiver.node, on_pair, detections_type=Detection2DArray,
            detections_topic='pairing/detections', image_topic='pairing/image')
        assert pairing.uses_message_filters
        images = sender.publisher('pairing/image', Image, sender.reliable_qos())
        detections = sender.publisher('pairing/detections', Detection2DArray)
        sender.wait_for_subscribers(images)
        sender.wait_for_subscribers(detections)

        base = 1_700_000_000_000_000_000
        for offset, with_image in ((0, True), (1, False), (2, False), (3, True)):
            if with_image:
                images.publish(_image(base + offset))
            detections.publish(_detections(base + offset))
            time.sleep(0.1)
        deadline = time.monotonic() + ros_harness.DEFAULT_TIMEOUT_S
        while time.monotonic() < deadline:
            with lock:
                if len(pairs) == 2 and pairing.unpaired_detections == 2:
                    break
            time.sleep(0.05)

        assert pairs == [(base, base), (base + 3, base + 3)]
        assert pairing.unpaired_detections == 2 and pairing.unpaired_images == 0
        assert 'never met their image on /pairing/image' in capfd.readouterr().err
    finally:
        sender.close()
        receiver.close()


def test_a_stamp_before_1970_does_not_block_the_pairing(ros_session, stand_in_message_filters,
                                                        capfd):
    """
    Check that a stamp before 1970 does not block the pairing.

    message_filters' TimeSynchronizer raised on a negative stamp with its lock held, and
    the next message blocked the node's executor for good (found by test_hostile_input.py:
    the recognizer then answered no frame and no service).
    """
    receiver = ros_harness.RosProbe('pairing_receiver_1970')
    sender = ros_harness.RosProbe('pairing_sender_1970')
    pairs = []
    try:
        pairing = message_pairing.ImageDetectionsPairing(
            receiver.node, lambda image, detections: pairs.append(
                stamp_to_ns(image.header.stamp)), detections_type=Detection2DArray,
            detections_topic='pairing_1970/detections', image_topic='pairing_1970/image')
        images = sender.publisher('pairing_1970/image', Image, sender.reliable_qos())
        detections = sender.publisher('pairing_1970/detections', Detection2DArray)
        sender.wait_for_subscribers(images)
        sender.wait_for_subscribers(detections)
        before_1970 = _image(0)
        before_1970.header.stamp.sec = -5
        images.publish(before_1970)
        time.sleep(0.2)
        base = 1_700_000_000_000_000_000
        images.publish(_image(base))
        detections.publish(_detections(base))
        ros_harness._wait_until(lambda: pairs == [base], ros_harness.DEFAULT_TIMEOUT_S,
                                'the pair after the stamp before 1970')
        assert receiver._thread.is_alive()
        if pairing.uses_message_filters:
            assert 'before 1970' in capfd.readouterr().err
    finally:
        sender.close()
        receiver.close()
