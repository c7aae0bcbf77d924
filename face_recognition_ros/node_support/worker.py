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
``LatestFrameWorker``: the one thread of a node that uses its models.

It processes only the newest frame and counts the ones it skipped (a detector slower than
the camera then answers the freshest image instead of falling behind), and runs jobs
(enrollments) between frames, so no two threads ever use one model session.
"""

from __future__ import annotations

import collections
import concurrent.futures
import threading
from typing import Any, Callable

from face_recognition_ros.node_support.logs import RepeatLimitedLog


class LatestFrameWorker:
    """
    Runs ``process(item)`` in one worker thread, on the newest submitted items.

    ``submit`` never blocks the executor: at most ``capacity`` items wait (1: only the
    newest); a newer one pushes out the oldest waiting, calling ``on_drop`` for it, and
    wakes the worker. Exceptions of ``process`` are logged, never fatal.

    ``run_job(function)`` queues other work for the same thread (never dropped, run before
    the waiting frames) and returns a ``concurrent.futures.Future``: work that uses the
    frames' models (an enrollment) then never runs beside them in a second thread.
    """

    def __init__(self, process: Callable[[Any], None], logger, name: str = 'frame_worker',
                 on_drop: Callable[[], None] | None = None, capacity: int = 1,
                 context_ok: Callable[[], bool] = lambda: True):
        self._process = process
        self._context_ok = context_ok  # False once the node's ROS context is shut down
        self._logger = RepeatLimitedLog(logger, period_s=10.0)  # not once per frame
        self._on_drop = on_drop
        self._condition = threading.Condition()
        self._pending: collections.deque = collections.deque()
        self._jobs: collections.deque = collections.deque()
        self._capacity = max(1, int(capacity))
        self._running = True
        self._busy = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, item: Any) -> None:
        with self._condition:
            if len(self._pending) >= self._capacity:
                self._pending.popleft()
                if self._on_drop is not None:
                    self._on_drop()
            self._pending.append(item)
            self._condition.notify()

    def run_job(self, function: Callable[[], Any]) -> concurrent.futures.Future:
        """Run ``function()`` on the worker thread; its result or exception in the future."""
        future: concurrent.futures.Future = concurrent.futures.Future()
        with self._condition:
            if not self._running:
                future.set_exception(RuntimeError('the worker has stopped'))
                return future
            self._jobs.append((function, future))
            self._condition.notify()
        return future

    def idle(self) -> bool:
        """Return True when nothing waits and nothing is being processed."""
        with self._condition:
            return not self._pending and not self._jobs and not self._busy

    def _run(self) -> None:
        while True:
            with self._condition:
                while self._running and not self._pending and not self._jobs:
                    self._condition.wait()
                if not self._running:
                    for _, future in self._jobs:
                        future.set_exception(RuntimeError('the worker has stopped'))
                    self._jobs.clear()
                    return
                job = self._jobs.popleft() if self._jobs else None
                item = None if job else self._pending.popleft()
                self._busy = True
            if job is not None:
                function, future = job
                try:
                    if future.set_running_or_notify_cancel():
                        future.set_result(function())
                except BaseException as error:  # noqa: BLE001 - handed to the waiting caller
                    future.set_exception(error)
                finally:
                    with self._condition:
                        self._busy = False
                continue
            try:
                self._process(item)
            except Exception as error:  # noqa: BLE001 - one bad frame must not stop the node
                with self._condition:
                    stopping = not self._running
                # A frame still in work at Ctrl-C may fail to publish once the context is
                # shut down ("publisher's context is invalid"): that is the shutdown, not a
                # problem of the frame, and is not reported as one.
                if not stopping and self._context_ok():
                    self._logger.error(
                        f'frame processing failed: {type(error).__name__}: {error}')
            finally:
                with self._condition:
                    self._busy = False

    def stop(self, timeout: float = 5.0) -> None:
        with self._condition:
            self._running = False
            self._condition.notify()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)
