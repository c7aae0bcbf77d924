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
Pairing an image with the detections made from it, by header stamp.

face_detector copies the image header into its output, so a recognizer or overlay can find
the image a Detection2DArray belongs to by equal stamps; detections from another detector
may carry a slightly different stamp, hence an optional slop. message_filters does this
where it is installed (TimeSynchronizer for exact stamps, ApproximateTimeSynchronizer with
a slop); ROS 2 from pip wheels has no message_filters, so ``StampPairing`` does the same:
two bounded queues keyed by stamp, the nearest partner within the slop wins, and older
unpaired messages are discarded (and counted), so detections whose image never arrives
cannot pile up.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from face_recognition_ros.node_support.qos import image_qos, qos_overrides, results_qos
from face_recognition_ros.ros_conversions import stamp_to_ns
from rclpy.node import Node

try:  # message_filters comes with a system ROS 2, not with the pip wheels
    import message_filters
except ImportError:
    message_filters = None


class StampPairing:
    """
    Calls ``callback(first, second)`` for messages of two streams with matching stamps.

    ``slop_s`` 0 pairs equal stamps only. A message whose partner does not arrive before
    ``queue_size`` newer ones of its own stream, or before a later pair is made, is
    discarded and counted in ``unpaired`` (index 0: first stream, 1: second stream).
    """

    def __init__(self, callback: Callable[[Any, Any], None], slop_s: float = 0.0,
                 queue_size: int = 10,
                 on_unpaired: Callable[[int, Any], None] | None = None,
                 on_repeated_stamp: Callable[[int, int], None] | None = None):
        self._callback = callback
        self._slop_ns = int(round(slop_s * 1e9))
        self._queue_size = max(1, int(queue_size))
        self._on_unpaired = on_unpaired
        self._on_repeated_stamp = on_repeated_stamp
        self._queues: tuple[dict[int, Any], dict[int, Any]] = ({}, {})
        self._lock = threading.Lock()
        self.unpaired = [0, 0]
        self.paired = 0
        self.repeated_stamps = 0
        """Messages that came with the stamp of one still waiting in their own stream: the
        older is dropped (counted as unpaired), as a stamp names one frame. Every stamp 0
        (use_sim_time without /clock) looks like this: ``on_repeated_stamp`` says so."""

    def add(self, stream: int, msg: Any) -> None:
        """Offer a message of stream 0 or 1; calls the callback when it completes a pair."""
        stamp = stamp_to_ns(msg.header.stamp)
        with self._lock:
            own, other = self._queues[stream], self._queues[1 - stream]
            partner = self._nearest(other, stamp)
            if partner is None:
                if stamp in own:
                    self.repeated_stamps += 1
                    self._discard(stream, own, stamp)
                    if self._on_repeated_stamp is not None:
                        self._on_repeated_stamp(stream, stamp)
                own[stamp] = msg
                while len(own) > self._queue_size:
                    self._discard(stream, own, min(own))
                return
            partner_msg = other.pop(partner)
            # Everything older than this pair can no longer pair with anything newer.
            for index, queue in enumerate(self._queues):
                for old in [s for s in queue if s < min(stamp, partner)]:
                    self._discard(index, queue, old)
            self.paired += 1
        pair = (msg, partner_msg) if stream == 0 else (partner_msg, msg)
        self._callback(*pair)

    def _nearest(self, queue: dict[int, Any], stamp: int) -> int | None:
        if stamp in queue:
            return stamp
        if not self._slop_ns or not queue:
            return None
        best = min(queue, key=lambda s: abs(s - stamp))
        return best if abs(best - stamp) <= self._slop_ns else None

    def _discard(self, stream: int, queue: dict[int, Any], stamp: int) -> None:
        msg = queue.pop(stamp)
        self.unpaired[stream] += 1
        if self._on_unpaired is not None:
            self._on_unpaired(stream, msg)

    def pending(self) -> tuple[int, int]:
        """How many messages of each stream wait for a partner."""
        with self._lock:
            return len(self._queues[0]), len(self._queues[1])


class _ReadableStamps:
    """
    A message_filters input that passes on only messages whose stamp rclpy can read.

    message_filters' synchronizers turn each stamp into an rclpy ``Time`` while holding
    their lock and do not release it when that raises: one message stamped before 1970
    (``sec`` < 0, which ``Time`` refuses) left the lock held, and the next message then
    blocked the node's executor for good, services included. Such messages are dropped
    here (``on_refused`` is told) before the synchronizer sees them.
    """

    def __init__(self, source, on_refused: Callable[[Any], None]):
        self._callbacks: list[tuple[Callable, tuple]] = []
        self._on_refused = on_refused
        source.registerCallback(self._add)

    def registerCallback(self, callback: Callable, *args) -> None:  # noqa: N802 - its API
        self._callbacks.append((callback, args))

    def _add(self, msg: Any) -> None:
        if msg.header.stamp.sec < 0:
            self._on_refused(msg)
            return
        for callback, args in self._callbacks:
            callback(msg, *args)


class ImageDetectionsPairing:
    """
    Subscribes to an image topic and a detections topic and pairs them by stamp.

    It calls ``callback(image_msg, detections_msg)`` for each pair with matching stamps.

    The image subscription uses the sensor-data QoS overridable from the parameter file
    (image_qos, depth ``queue_size``); the detections one is reliable.
    ``uses_message_filters`` says which implementation runs. Either way unpaired messages
    are counted (``unpaired_images``, ``unpaired_detections``) and detections whose image
    never arrived are warned about, throttled: message_filters drops them without a word,
    so beside it the built-in pairing watches the same messages for that purpose alone.
    With message_filters, messages stamped before 1970 are dropped with a warning (they
    would block its synchronizer, see ``_ReadableStamps``); the built-in pairing pairs them
    like any other stamp.
    """

    def __init__(self, node: Node, callback: Callable[[Any, Any], None], detections_type: type,
                 detections_topic: str = 'faces/detections', image_topic: str = 'image',
                 slop_s: float = 0.0, queue_size: int = 10,
                 use_message_filters: bool | None = None):
        from sensor_msgs.msg import Image

        self._node = node
        self.image_topic = node.resolve_topic_name(image_topic)
        self.detections_topic = node.resolve_topic_name(detections_topic)
        if use_message_filters is None:
            use_message_filters = message_filters is not None
        self.uses_message_filters = bool(use_message_filters)
        image_profile = image_qos(queue_size)
        if self.uses_message_filters:
            self._subscribers = [
                message_filters.Subscriber(node, Image, image_topic, qos_profile=image_profile,
                                           qos_overriding_options=qos_overrides()),
                message_filters.Subscriber(node, detections_type, detections_topic,
                                           qos_profile=results_qos(queue_size)),
            ]
            inputs = [_ReadableStamps(subscriber, self._on_unreadable_stamp)
                      for subscriber in self._subscribers]
            if slop_s > 0:
                self._sync = message_filters.ApproximateTimeSynchronizer(
                    inputs, queue_size, slop_s)
            else:
                self._sync = message_filters.TimeSynchronizer(inputs, queue_size)
            self._sync.registerCallback(callback)
            self._pairing = StampPairing(lambda image, detections: None, slop_s, queue_size,
                                         self._on_unpaired, self._on_repeated_stamp)
            for stream, subscriber in enumerate(self._subscribers):
                subscriber.registerCallback(
                    lambda msg, stream=stream: self._pairing.add(stream, msg))
            return
        self._pairing = StampPairing(callback, slop_s, queue_size, self._on_unpaired,
                                     self._on_repeated_stamp)
        self._subscriptions = [
            node.create_subscription(Image, image_topic, lambda m: self._pairing.add(0, m),
                                     image_profile,
                                     qos_overriding_options=qos_overrides()),
            node.create_subscription(detections_type, detections_topic,
                                     lambda m: self._pairing.add(1, m),
                                     results_qos(queue_size)),
        ]

    @property
    def unpaired_images(self) -> int:
        return self._pairing.unpaired[0]

    @property
    def unpaired_detections(self) -> int:
        return self._pairing.unpaired[1]

    def _on_unpaired(self, stream: int, msg: Any) -> None:
        if stream == 1:
            self._node.get_logger().warning(
                f'detections stamped {msg.header.stamp.sec}.{msg.header.stamp.nanosec:09d} '
                f'on {self.detections_topic} never met their image on {self.image_topic}: '
                'check that both topics come from the same camera, or raise sync_slop if '
                'the detector does not copy the image stamp', throttle_duration_sec=5.0)

    def _on_unreadable_stamp(self, msg: Any) -> None:
        stamp = msg.header.stamp
        self._node.get_logger().warning(
            f'a message stamped {stamp.sec}.{stamp.nanosec:09d} (before 1970) on '
            f'{self.image_topic} or {self.detections_topic} was ignored: a stamp must be a '
            "time since 1970; check the publisher's clock", throttle_duration_sec=10.0)

    def _on_repeated_stamp(self, stream: int, stamp: int) -> None:
        topic = self.image_topic if stream == 0 else self.detections_topic
        why = ('every stamp is 0: is use_sim_time true without a /clock publisher?'
               if stamp == 0 else 'the publisher stamps different frames alike')
        self._node.get_logger().warning(
            f'two messages on {topic} carry the same stamp {stamp // 10**9}.'
            f'{stamp % 10**9:09d}; the older was dropped, since a stamp names one frame '
            f'({why})', throttle_duration_sec=10.0)
