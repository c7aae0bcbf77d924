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
One model lane: enrollment jobs and frames run on one worker thread, never side by side.

The recognizer's enrollments used to run the models in the service callback while the
worker recognised frames with the same sessions (OpenCV's runtime is not thread-safe).
Here a stand-in "model" raises if two threads ever use it at once, frames are submitted
non-stop, and jobs come from several threads at the same time, as concurrent service calls
would.
"""

from __future__ import annotations

import threading
import time

from face_recognition_ros.node_support import LatestFrameWorker


class OneThreadModel:
    """Raises when entered by a second thread while one is inside (a session in use)."""

    def __init__(self):
        self._inside = threading.Lock()
        self.threads = set()
        self.calls = 0

    def run(self, seconds: float) -> int:
        if not self._inside.acquire(blocking=False):
            raise AssertionError('two threads used the model at once')
        try:
            self.threads.add(threading.get_ident())
            time.sleep(seconds)  # releases the GIL, as onnxruntime and OpenCV do
            self.calls += 1
            return self.calls
        finally:
            self._inside.release()


class _Logger:

    def __init__(self):
        self.errors = []

    def error(self, text):
        self.errors.append(text)


def test_jobs_and_frames_share_one_thread_and_no_job_is_dropped():
    model, logger, dropped = OneThreadModel(), _Logger(), []
    worker = LatestFrameWorker(lambda frame: model.run(0.002), logger,
                               on_drop=lambda: dropped.append(1))
    stop = threading.Event()

    def camera():
        while not stop.is_set():
            worker.submit('frame')
            time.sleep(0.001)

    results, errors = [], []

    def enroll_requests():
        for _ in range(20):
            try:
                results.append(worker.run_job(lambda: model.run(0.003)).result(10))
            except Exception as error:  # noqa: BLE001 - collected and asserted below
                errors.append(error)

    feeder = threading.Thread(target=camera)
    callers = [threading.Thread(target=enroll_requests) for _ in range(3)]
    feeder.start()
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join(30)
    stop.set()
    feeder.join(5)
    worker.stop()

    assert not errors and not logger.errors
    assert len(results) == 60  # every job ran (frames may be dropped, jobs never)
    assert len(model.threads) == 1  # frames and jobs: the worker's thread only
    assert model.calls > 60  # frames were recognised meanwhile
    assert dropped  # the camera outpaced the worker: the waiting frames were replaced


def test_a_failing_job_reports_to_its_caller_and_the_worker_goes_on():
    worker = LatestFrameWorker(lambda frame: None, _Logger())
    try:
        failed = worker.run_job(lambda: 1 / 0)
        try:
            failed.result(5)
            raise AssertionError('the ZeroDivisionError should reach the caller')
        except ZeroDivisionError:
            pass
        assert worker.run_job(lambda: 'still running').result(5) == 'still running'
    finally:
        worker.stop()
