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
face_detector node: finds faces in camera images.

Subscribes ``image`` (sensor_msgs/Image; sensor-data QoS, overridable from the parameter
file) and publishes ``faces/detections`` (vision_msgs/Detection2DArray, reliable, depth 10):
one Detection2D per face, ``class_id`` 'face', ``score`` the detector confidence, box centre
and size in pixels of the input image. The output carries the image's header (stamp and
frame_id) and an empty array is published for a frame without faces, so subscribers can
pair results with images and clear stale ones.

Frames are processed in a worker thread, newest first: when the detector is slower than
the camera, waiting frames are replaced by newer ones (counted as dropped on /diagnostics)
instead of queueing up latency. An image that cannot be read (unsupported encoding,
truncated data) is logged and skipped; the node keeps running.

``face_pipeline`` runs this node and face_recognizer in one process and gives each frame
and its detections to the recognizer in memory (``on_detected``), besides publishing them.

Backends: 'yunet' (bundled ONNX model, any CPU, 5 landmarks used downstream for alignment)
or 'facedetect' (NVIDIA FaceDetect through jetson-inference on a Jetson, boxes only).
"""

from __future__ import annotations

import time
from typing import Callable, Sequence

from face_recognition_ros import node_support
from face_recognition_ros.core.detection import create_detector
from face_recognition_ros.core.errors import FaceRecognitionError, ImageError
from face_recognition_ros.core.types import Detection
from face_recognition_ros.ros_conversions import detections_to_msg, image_msg_to_bgr, stamp_to_ns
import numpy as np
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
import rclpy
from rclpy.node import Node
from std_msgs.msg import Header
from vision_msgs.msg import Detection2DArray

NODE_NAME = 'face_detector'

DetectedFrameListener = Callable[[Header, np.ndarray, Sequence[Detection]], None]
"""Called with (image header, BGR frame, detections) after each frame's detections are
published; the frame is only valid for reading."""


class FaceDetectorNode(Node):
    """image -> faces/detections, one Detection2DArray per image (empty when no face)."""

    def __init__(self, *, on_detected: DetectedFrameListener | None = None, **node_options):
        super().__init__(NODE_NAME, **node_options)
        self._on_detected = on_detected
        self._declare_parameters()
        value = {name: self.get_parameter(name).value for name in self._parameter_names}
        self.detector = create_detector(value['backend'], **_backend_options(value))
        self._publisher = self.create_publisher(Detection2DArray, 'faces/detections',
                                                node_support.results_qos())
        self._diagnostics = node_support.NodeDiagnostics(self, 'face detection')
        self._diagnostics.values['backend'] = value['backend']
        self._problems = node_support.RepeatLimitedLog(self.get_logger())
        self._worker = node_support.LatestFrameWorker(
            self._process, self.get_logger(), name='face_detector',
            on_drop=self._diagnostics.count_dropped,
            context_ok=lambda: rclpy.ok(context=self.context))
        self._subscription = node_support.create_image_subscription(
            self, self._worker.submit, 'image')
        self.get_logger().info(
            f"ready: {value['backend']} detector, {self.resolve_topic_name('image')} -> "
            f"{self.resolve_topic_name('faces/detections')}")

    # ------------------------------------------------------------------ parameters
    _parameter_names = ('backend', 'model_path', 'score_threshold', 'nms_threshold',
                        'min_face_size', 'top_k', 'num_threads', 'hard_light')

    def _declare_parameters(self) -> None:
        def describe(text, **extra):
            return ParameterDescriptor(description=text, read_only=True, **extra)

        unit = [FloatingPointRange(from_value=0.0, to_value=1.0)]
        self.declare_parameter('backend', 'yunet', describe(
            "Detector: 'yunet' (bundled ONNX model, any CPU, gives landmarks) or 'facedetect' "
            '(NVIDIA FaceDetect via jetson-inference, Jetson only, boxes only).'))
        self.declare_parameter('model_path', '', describe(
            "Model of the backend: an ONNX file for 'yunet' (empty: the bundled one), a "
            "jetson-inference model name or path for 'facedetect' (empty: 'facedetect')."))
        self.declare_parameter('score_threshold', 0.6, describe(
            'Minimum detector confidence of a face.', floating_point_range=unit))
        self.declare_parameter('nms_threshold', 0.3, describe(
            "Overlap (IoU) above which the weaker of two boxes is dropped ('yunet').",
            floating_point_range=unit))
        self.declare_parameter('min_face_size', 20.0, describe(
            'Faces whose shorter box side is smaller than this many pixels are ignored.',
            floating_point_range=[FloatingPointRange(from_value=0.0, to_value=10000.0)]))
        self.declare_parameter('top_k', 50, describe(
            "At most this many faces per frame, best first ('yunet').",
            integer_range=[IntegerRange(from_value=1, to_value=1000, step=1)]))
        self.declare_parameter('num_threads', 0, describe(
            'CPU threads of the model runtime; 0: the runtime decides.',
            integer_range=[IntegerRange(from_value=0, to_value=64, step=1)]))
        self.declare_parameter('hard_light', True, describe(
            'Look again on a contrast-normalised copy when a dark or flat frame gave no '
            "face ('yunet'; docs/accuracy.md, Hard light)."))

    # ---------------------------------------------------------------------- frames
    def _process(self, msg) -> None:
        start = time.perf_counter()
        try:
            frame = image_msg_to_bgr(msg)
        except ImageError as error:
            self._diagnostics.count_error()
            self._problems.error(f'image skipped: {error}')
            return
        try:
            detections = self.detector.detect(frame)
        except FaceRecognitionError as error:
            self._diagnostics.count_error()
            self._problems.error(f'detection failed: {error}')
            return
        try:
            self._publisher.publish(detections_to_msg(detections, msg.header))
        except Exception:  # noqa: BLE001
            if self.context.ok():
                raise
            return  # Ctrl-C arrived while this frame was processed: nothing left to tell
        self._diagnostics.frame_done(stamp_ns=stamp_to_ns(msg.header.stamp),
                                     processing_ms=(time.perf_counter() - start) * 1000.0)
        if self._on_detected is not None:
            self._on_detected(msg.header, frame, detections)

    def destroy_node(self):
        self._worker.stop()
        return super().destroy_node()


def _backend_options(value: dict) -> dict:
    """Return the constructor options of the chosen backend from the node's parameters."""
    threads = value['num_threads'] or None
    if value['backend'].strip().lower() == 'facedetect':
        options = {'threshold': value['score_threshold'],
                   'min_face_size': value['min_face_size']}
        if value['model_path']:
            options['model'] = value['model_path']
        return options
    return {'model_path': value['model_path'] or None,
            'score_threshold': value['score_threshold'],
            'nms_threshold': value['nms_threshold'],
            'min_face_size': value['min_face_size'], 'top_k': value['top_k'],
            'num_threads': threads, 'hard_light': bool(value['hard_light'])}


def main(args=None) -> int:
    """Entry point of ``ros2 run face_recognition face_detector``."""
    return node_support.run_node(FaceDetectorNode, args=args)


if __name__ == '__main__':
    raise SystemExit(main())
