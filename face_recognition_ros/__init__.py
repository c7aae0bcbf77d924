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
face_recognition_ros: face detection, alignment and recognition, with or without ROS 2.

``face_recognition_ros.core`` is the ROS-free pipeline; ``face_recognition_ros.nodes`` holds
the ROS 2 nodes, thin adapters over it.
"""

__version__ = '0.1.0'
