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
QoS of the package's topics.

Sensor-data images (overridable from the parameter file through ``qos_overrides``),
reliable results with depth 10 so every frame's answer arrives, the empty ones included.
"""

from __future__ import annotations

from typing import Callable

from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.qos_overriding_options import QoSOverridingOptions


def image_qos(depth: int = 1) -> QoSProfile:
    """
    Return the sensor-data QoS for image topics.

    Best effort, volatile, keep last ``depth``, as rclpy's qos_profile_sensor_data.

    Depth 1 by default: a perception node wants the newest frame, never a backlog.
    """
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth,
                      reliability=ReliabilityPolicy.BEST_EFFORT,
                      durability=DurabilityPolicy.VOLATILE)


def results_qos(depth: int = 10) -> QoSProfile:
    """Reliable QoS for detections and identities: every frame's answer arrives."""
    return QoSProfile(depth=depth, reliability=ReliabilityPolicy.RELIABLE)


def qos_overrides() -> QoSOverridingOptions:
    """
    Lets the parameter file change reliability, history and depth of a topic, e.g.

    ``qos_overrides./image.subscription.reliability: reliable``.
    """
    return QoSOverridingOptions.with_default_policies()


def create_image_subscription(node: Node, callback: Callable, topic: str = 'image',
                              depth: int = 1):
    """Subscribe to an image topic with the overridable sensor-data QoS."""
    from sensor_msgs.msg import Image

    return node.create_subscription(Image, topic, callback, image_qos(depth),
                                    qos_overriding_options=qos_overrides())


def create_image_publisher(node: Node, topic: str, depth: int = 1):
    """Publish images with the overridable sensor-data QoS."""
    from sensor_msgs.msg import Image

    return node.create_publisher(Image, topic, image_qos(depth),
                                 qos_overriding_options=qos_overrides())
