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
face_overlay node: draws the identified faces on the image, for RViz or a screen.

Subscribes ``image`` and ``faces/identified``, pairs them by stamp, and publishes
``faces/image_annotated`` (bgr8, header of the source image) with boxes, names,
confidences and track ids drawn by ``core.drawing.draw_faces``.

Rendering costs a conversion, a copy and a drawing per frame, so it is done only when
someone looks, and the node does not even subscribe to the images otherwise (it checks
four times a second): while ``faces/image_annotated`` has subscribers, or a display is on:
``show_window`` opens an OpenCV window (off by default, so the node is headless-safe), and
on a Jetson ``video_output`` renders through ``jetson_utils.videoOutput``
(``display://0``, ``rtsp://@:8554/faces``, ``webrtc://@:8554/faces``), as the original
project's glDisplay window did.
"""

from __future__ import annotations

import os
import time

import cv2
from face_recognition_ros import node_support
from face_recognition_ros.core.drawing import draw_faces
from face_recognition_ros.core.errors import ImageError
from face_recognition_ros.node_support import message_pairing
from face_recognition_ros.ros_conversions import (
    bgr_to_image_msg, faces_from_identified_msg, image_msg_to_bgr, stamp_to_ns
)
from rcl_interfaces.msg import FloatingPointRange, ParameterDescriptor
from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from vision_msgs.msg import Detection2DArray

NODE_NAME = 'face_overlay'
WATCH_PERIOD_S = 0.25
"""How often the node checks whether someone subscribes to the annotated image."""


def _import_jetson_utils():
    """jetson_utils (jetson-inference >= 2021) or its older name jetson.utils, else None."""
    try:
        import jetson_utils
        return jetson_utils
    except ImportError:
        pass
    try:
        import jetson.utils as jetson_utils
        return jetson_utils
    except ImportError:
        return None


class FaceOverlayNode(Node):
    """Renders identified faces onto their image, only while the result is wanted."""

    def __init__(self, **node_options):
        super().__init__(NODE_NAME, **node_options)
        self.declare_parameter('show_window', False, ParameterDescriptor(
            description='Show the annotated image in a local OpenCV window (needs a display '
                        'and an OpenCV build with GUI support).', read_only=True))
        self.declare_parameter('window_name', 'faces', ParameterDescriptor(
            description='Title of the OpenCV window.', read_only=True))
        self.declare_parameter('video_output', '', ParameterDescriptor(
            description='Jetson only: jetson_utils.videoOutput URI to render to, e.g. '
                        'display://0, rtsp://@:8554/faces, file://faces.mp4. Empty: off.',
            read_only=True))
        self.declare_parameter('sync_slop', 0.0, ParameterDescriptor(
            description='Seconds by which image and identified stamps may differ and still '
                        'pair; 0: exact (face_recognizer copies the image header).',
            read_only=True,
            floating_point_range=[FloatingPointRange(from_value=0.0, to_value=1.0)]))
        self._window = self._open_window()
        self._video_output, self._jetson_utils = self._open_video_output()

        # Reliable KEEP_LAST: matches RViz (reliable by default) and best-effort viewers.
        qos = QoSProfile(depth=2, history=HistoryPolicy.KEEP_LAST,
                         reliability=ReliabilityPolicy.RELIABLE)
        self._annotated_pub = self.create_publisher(Image, 'faces/image_annotated', qos)
        self._slop_s = float(self.get_parameter('sync_slop').value)
        self._pairing = None
        self._subscriptions = []
        # Subscribing only while watched: an idle overlay does not even receive the images.
        self._watch_timer = self.create_timer(WATCH_PERIOD_S, self._update_subscriptions)
        self._diagnostics = node_support.NodeDiagnostics(self, 'face overlay')
        # Each kind of bad image once per interval: rclpy's throttle of the one call site
        # hid a second, different problem (a truncated frame after a zero-size one).
        self._problems = node_support.RepeatLimitedLog(self.get_logger())
        self.rendered = 0
        self._update_subscriptions()
        self.get_logger().info(
            f'ready: {self.resolve_topic_name("image")} + '
            f'{self.resolve_topic_name("faces/identified")} -> '
            f'{self.resolve_topic_name("faces/image_annotated")} (drawn only while subscribed'
            f'{", window on" if self._window else ""}'
            f'{", video output on" if self._video_output else ""})')

    def _open_window(self) -> str | None:
        if not self.get_parameter('show_window').value:
            return None
        name = self.get_parameter('window_name').value
        if os.name == 'posix' and not (os.environ.get('DISPLAY')
                                       or os.environ.get('WAYLAND_DISPLAY')):
            self.get_logger().error('show_window is on but there is no display (DISPLAY is '
                                    'unset): no window; use RViz on faces/image_annotated')
            return None
        try:
            cv2.namedWindow(name, cv2.WINDOW_NORMAL)
        except cv2.error as error:
            self.get_logger().error(
                f'show_window is on but OpenCV cannot open a window ({error.err}): install '
                'opencv-python (not -headless) or use RViz on faces/image_annotated')
            return None
        return name

    def _open_video_output(self):
        uri = self.get_parameter('video_output').value
        if not uri:
            return None, None
        jetson_utils = _import_jetson_utils()
        if jetson_utils is None:
            self.get_logger().error(
                f'video_output {uri!r} needs jetson_utils (jetson-inference on a Jetson), '
                'which is not importable here: output off; use show_window or RViz')
            return None, None
        try:
            return jetson_utils.videoOutput(uri), jetson_utils
        except Exception as error:  # noqa: BLE001 - jetson_utils raises plain Exceptions
            self.get_logger().error(f'cannot open video_output {uri!r}: {error}')
            return None, None

    def _update_subscriptions(self) -> None:
        """
        Subscribe to image and identified while the result is wanted, else unsubscribe.

        An unwatched overlay would otherwise receive (and deserialize) every camera frame
        for nothing, on the same CPU cores the detector needs.
        """
        wanted = self._wanted()
        self._diagnostics.idle_message = None if wanted else 'idle: nobody watches ' \
            f'{self.resolve_topic_name("faces/image_annotated")}'
        if wanted and not self._subscriptions:
            self._pairing = message_pairing.StampPairing(self._on_frame, self._slop_s)
            pairing = self._pairing
            self._subscriptions = [
                node_support.create_image_subscription(
                    self, lambda msg: pairing.add(0, msg), 'image', depth=10),
                self.create_subscription(Detection2DArray, 'faces/identified',
                                         lambda msg: pairing.add(1, msg),
                                         node_support.results_qos()),
            ]
            self.get_logger().info('drawing: faces/image_annotated is watched')
        elif not wanted and self._subscriptions:
            for subscription in self._subscriptions:
                self.destroy_subscription(subscription)
            self._subscriptions, self._pairing = [], None
            self.get_logger().info('idle: nobody watches faces/image_annotated')

    def _wanted(self) -> bool:
        return bool(self._annotated_pub.get_subscription_count() or self._window
                    or self._video_output)

    def _on_frame(self, image_msg: Image, identified_msg: Detection2DArray) -> None:
        if not self._wanted():
            return  # the last viewer just left: skip the conversion and the drawing
        start = time.perf_counter()
        try:
            frame = image_msg_to_bgr(image_msg)
        except ImageError as error:
            self._diagnostics.count_error()
            self._problems.error(f'image skipped: {error}')
            return
        annotated = draw_faces(frame, faces_from_identified_msg(identified_msg), copy=False)
        if self._annotated_pub.get_subscription_count():
            self._annotated_pub.publish(bgr_to_image_msg(annotated, image_msg.header))
        self._show(annotated)
        self.rendered += 1
        self._diagnostics.frame_done(
            stamp_ns=stamp_to_ns(image_msg.header.stamp),
            processing_ms=(time.perf_counter() - start) * 1000.0)

    def _show(self, annotated) -> None:
        if self._window:
            cv2.imshow(self._window, annotated)
            cv2.waitKey(1)
        if self._video_output is not None:
            rgb = cv2.cvtColor(annotated, cv2.COLOR_BGR2RGB)
            self._video_output.Render(self._jetson_utils.cudaFromNumpy(rgb))
            if not self._video_output.IsStreaming():
                self.get_logger().info('video output closed; rendering to it stops')
                self._video_output = None

    def destroy_node(self):
        if self._window:
            cv2.destroyWindow(self._window)
        return super().destroy_node()


def main(args=None) -> int:
    """Entry point of ``ros2 run face_recognition face_overlay``."""
    return node_support.run_node(FaceOverlayNode, args=args)


if __name__ == '__main__':
    raise SystemExit(main())
