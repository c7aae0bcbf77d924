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
face_pipeline: face_detector and face_recognizer composed into one process.

C++ nodes are composed into one process with a component container, where intra-process
communication passes each message by pointer. rclpy has neither, and two Python nodes in
one process still copy every image through DDS, so this executable composes the two nodes
by hand: face_detector publishes ``faces/detections`` as always and then hands the frame
it already converted, with its detections (landmarks included), straight to
face_recognizer, which does not subscribe to the image or the detections at all.

What stays the same: both nodes, their names, parameters (the same YAML sections),
topics, services and diagnostics; ``ros2 node list`` shows both. What it saves against
the two separate executables: one image deserialisation and one Detection2DArray hop per
frame, one Python process with its own rclpy, numpy and OpenCV (about 90 MB of peak RSS
for the pipeline), and the recognizer's landmark search in detector boxes (measured:
docs/ros_benchmark.md).

Each node keeps its own worker thread, so face_detector detects the next frame while
face_recognizer names this one (the models release Python's GIL), as two processes would;
up to three detected frames wait for recognition, beyond that the oldest is dropped and
counted on the recognizer's diagnostics.
Run: ``ros2 run face_recognition face_pipeline --ros-args --params-file <yaml> -r image:=...``
or ``ros2 launch face_recognition face_recognition.launch.py use_composition:=true``.
"""

from __future__ import annotations

from face_recognition_ros import node_support
from face_recognition_ros.nodes.face_detector import FaceDetectorNode
from face_recognition_ros.nodes.face_recognizer import FaceRecognizerNode
from rclpy.node import Node

NODE_NAME = 'face_pipeline'


def create_composed_nodes(**node_options) -> list[Node]:
    """face_detector and face_recognizer, the detector feeding the recognizer in memory."""
    recognizer = FaceRecognizerNode(detections_in_process=True, **node_options)
    try:
        detector = FaceDetectorNode(on_detected=recognizer.recognize_detected, **node_options)
    except BaseException:
        recognizer.destroy_node()  # run_node only cleans up the nodes it was given
        raise
    return [detector, recognizer]


def main(args=None) -> int:
    """Entry point of ``ros2 run face_recognition face_pipeline``."""
    return node_support.run_node(create_composed_nodes, args=args)


if __name__ == '__main__':
    raise SystemExit(main())
