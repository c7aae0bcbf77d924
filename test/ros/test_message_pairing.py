"""ImageDetectionsPairing over real DDS, with message_filters as a system ROS 2 has it.

message_filters cannot be installed here (no pip wheel: ../shared/ROS2_FROM_PIP.md), so
the message_filters path runs against a stand-in of the part of its API the pairing uses
(Subscriber, TimeSynchronizer, registerCallback), the second test double of the project
after jetson-inference's. What is checked: pairs reach the callback, and detections whose
image never comes are counted and reported, which message_filters itself does silently.
The built-in path is covered by the recognizer tests, which run without message_filters.
"""

from __future__ import annotations

import threading
import time
import types

import pytest
from sensor_msgs.msg import Image
from vision_msgs.msg import Detection2DArray

from face_recognition_ros.nodes import message_pairing
from face_recognition_ros.ros_conversions import ns_to_stamp, stamp_to_ns
import ros_harness


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
    module = types.SimpleNamespace(Subscriber=_StandInSubscriber,
                                   TimeSynchronizer=_StandInTimeSynchronizer)
    monkeypatch.setattr(message_pairing, 'message_filters', module)
    return module


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
