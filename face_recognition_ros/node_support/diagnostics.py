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
``NodeDiagnostics``: the node's health on /diagnostics once a second.

It tells the rate, processing time, latency from the image stamp, dropped frames, errors,
and what the node adds.
"""

from __future__ import annotations

import collections
import threading
import time
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.node import Node

DIAGNOSTICS_TOPIC = '/diagnostics'


class NodeDiagnostics:
    """
    Publishes the node's health on /diagnostics every ``period_s`` seconds.

    Call ``frame_done`` after each processed frame, ``count_dropped`` for frames skipped
    because the node was busy, ``count_error`` for frames refused (bad encoding, ...).
    ``values`` holds extra key/values (e.g. ``gallery_size``). The status is WARN while no
    frame arrives and when frames are dropped or refused in the last period, else OK.
    ``idle_message``: set it while the node has no frames on purpose (the overlay while
    nobody watches), and a period without frames is OK with that message, not a WARN that
    would tell a robot monitor something is broken.
    """

    def __init__(self, node: Node, task: str, period_s: float = 1.0, window: int = 100):
        self._node = node
        self.task = task
        self._lock = threading.Lock()
        self._frame_times: collections.deque[float] = collections.deque(maxlen=window)
        self._processing_ms: collections.deque[float] = collections.deque(maxlen=window)
        self._latency_ms: collections.deque[float] = collections.deque(maxlen=window)
        self.frames = 0
        self.dropped = 0
        self.errors = 0
        self._reported = (0, 0, 0)
        self.values: dict[str, Any] = {}
        self.idle_message: str | None = None
        self.problem: str | None = None
        self.problem_level = DiagnosticStatus.WARN
        """The level ``problem`` raises the status to (ERROR: the camera is lost)."""
        """A condition that makes the status WARN whatever the frames do (the gallery
        database out of reach while the node names faces from memory)."""
        self._publisher = node.create_publisher(DiagnosticArray, DIAGNOSTICS_TOPIC, 10)
        self._timer = node.create_timer(period_s, self.publish)

    @property
    def gallery_size(self) -> Any:
        return self.values.get('gallery_size')

    @gallery_size.setter
    def gallery_size(self, size: int) -> None:
        self.values['gallery_size'] = size

    def frame_done(self, stamp_ns: int | None = None, processing_ms: float | None = None):
        """Record one processed frame; ``stamp_ns`` is its image stamp (for the latency)."""
        now = time.monotonic()
        latency = None
        if stamp_ns:
            latency = (self._node.get_clock().now().nanoseconds - stamp_ns) / 1e6
        with self._lock:
            self.frames += 1
            self._frame_times.append(now)
            if processing_ms is not None:
                self._processing_ms.append(processing_ms)
            if latency is not None:
                self._latency_ms.append(latency)

    def count_dropped(self, count: int = 1) -> None:
        with self._lock:
            self.dropped += count

    def count_error(self, count: int = 1) -> None:
        with self._lock:
            self.errors += count

    def status(self) -> DiagnosticStatus:
        """Return the current DiagnosticStatus (also what ``publish`` sends)."""
        with self._lock:
            times = list(self._frame_times)
            processing = sorted(self._processing_ms)
            latency = sorted(self._latency_ms)
            frames, dropped, errors = self.frames, self.dropped, self.errors
            new = (frames - self._reported[0], dropped - self._reported[1],
                   errors - self._reported[2])
            self._reported = (frames, dropped, errors)
        rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and \
            times[-1] > times[0] else 0.0
        status = DiagnosticStatus(name=f'{self._node.get_fully_qualified_name()}: {self.task}',
                                  hardware_id=self._node.get_fully_qualified_name())
        if new[0] == 0 and self.idle_message and not (new[1] or new[2]):
            status.level, status.message = DiagnosticStatus.OK, self.idle_message
        elif new[0] == 0:
            status.level, status.message = DiagnosticStatus.WARN, 'no frames in the last period'
        elif new[1] or new[2]:
            status.level = DiagnosticStatus.WARN
            status.message = f'{new[1]} frames dropped, {new[2]} refused in the last period'
        else:
            status.level, status.message = DiagnosticStatus.OK, f'{rate:.1f} frames/s'
        problem = self.problem
        if problem:
            status.level = max(status.level, self.problem_level)
            status.message = f'{problem}; {status.message}'
        values = {
            'rate_hz': f'{rate:.2f}',
            'processing_ms_median': _median_text(processing),
            'latency_ms_median': _median_text(latency),
            'latency_ms_max': f'{latency[-1]:.1f}' if latency else '',
            'frames': str(frames),
            'dropped_frames': str(dropped),
            'errors': str(errors),
        }
        values.update({key: str(value) for key, value in self.values.items()})
        status.values = [KeyValue(key=key, value=value) for key, value in values.items()]
        return status

    def publish(self) -> None:
        array = DiagnosticArray(status=[self.status()])
        array.header.stamp = self._node.get_clock().now().to_msg()
        self._publisher.publish(array)


def _median_text(sorted_values: list[float]) -> str:
    return f'{sorted_values[len(sorted_values) // 2]:.1f}' if sorted_values else ''
