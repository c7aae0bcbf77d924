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
ROS 2 nodes: one file each, thin adapters over face_recognition_ros.core.

- ``video_source``: camera, video file, image folder or jetson_utils URI -> ``image``;
- ``face_detector``: ``image`` -> ``faces/detections`` (vision_msgs/Detection2DArray);
- ``face_recognizer``: ``image`` + ``faces/detections`` -> ``faces/identified`` and
  ``faces/faces``, plus the enroll / forget / list_people services;
- ``face_overlay``: ``image`` + ``faces/identified`` -> ``faces/image_annotated``.

- ``face_web``: the operator page in a browser; ``face_pipeline``: face_detector and
  face_recognizer in one process.

What they share is in ``face_recognition_ros.node_support`` (QoS, diagnostics, the
newest-frame worker, message pairing, ``run_node``), one module per concern. Conversions
between core types and messages live in ``face_recognition_ros.ros_conversions``. Each node
module has a ``main()``; CMakeLists.txt installs a launcher per node into
lib/face_recognition.
"""
