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
What every node of the package does the same way, one module per concern.

- ``qos``: images use the sensor-data profile (best effort, keep last), which a user can
  change from the parameter file through ``qos_overrides``; results (detections,
  identities) are reliable with depth 10, so a subscriber sees every frame's answer,
  including the empty ones.
- ``diagnostics``: ``NodeDiagnostics`` publishes the node's health on /diagnostics.
- ``worker``: ``LatestFrameWorker``, the one thread that uses a node's models.
- ``message_pairing``: an image and the detections made from it, paired by stamp
  (message_filters where installed, a built-in equivalent where not).
- ``logs``: ``RepeatLimitedLog`` and the routing of the core's logging to ROS.
- ``runner``: ``run_node``, start-up, spinning through failing callbacks, shutdown.
- ``frame_buffers``: ``keep_frame_buffers``, cheaper image reception on glibc.
- ``domain``: ``reserved_domain_id`` for demos, benchmarks and tests.

The names below are re-exported so nodes write ``node_support.image_qos(...)``.
"""

from face_recognition_ros.node_support.diagnostics import DIAGNOSTICS_TOPIC, NodeDiagnostics
from face_recognition_ros.node_support.domain import reserved_domain_id
from face_recognition_ros.node_support.frame_buffers import (
    FRAME_BUFFER_MMAP_THRESHOLD, FRAME_BUFFER_TRIM_THRESHOLD, keep_frame_buffers,
    KEEP_FRAME_BUFFERS_ENV
)
from face_recognition_ros.node_support.logs import (
    problem_kind, RepeatLimitedLog, route_core_logging
)
from face_recognition_ros.node_support.qos import (
    create_image_publisher, create_image_subscription, image_qos, qos_overrides, results_qos
)
from face_recognition_ros.node_support.runner import (
    CALLBACK_ERROR_LOG_PERIOD_S, run_node, spin_through_callback_errors
)
from face_recognition_ros.node_support.worker import LatestFrameWorker

__all__ = [
    'CALLBACK_ERROR_LOG_PERIOD_S', 'DIAGNOSTICS_TOPIC', 'FRAME_BUFFER_MMAP_THRESHOLD',
    'FRAME_BUFFER_TRIM_THRESHOLD', 'KEEP_FRAME_BUFFERS_ENV', 'LatestFrameWorker',
    'NodeDiagnostics', 'RepeatLimitedLog', 'create_image_publisher',
    'create_image_subscription', 'image_qos', 'keep_frame_buffers', 'problem_kind',
    'qos_overrides',
    'reserved_domain_id', 'results_qos', 'route_core_logging', 'run_node',
    'spin_through_callback_errors',
]
