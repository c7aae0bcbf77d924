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

"""node_support helpers that every node runs at start, checked in a child process each."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from face_recognition_ros.node_support import KEEP_FRAME_BUFFERS_ENV
import pytest

# Allocates and frees four frame-sized buffers (as receiving one 640x480 image does) 100
# times and prints the page faults that took, after printing what keep_frame_buffers said.
FRAME_ALLOCATIONS = """
import resource
from face_recognition_ros.node_support import keep_frame_buffers
print(keep_frame_buffers())
def receive_one_frame():
    buffers = [bytearray(921_600) for _ in range(4)]  # zero-filled: every page touched
    del buffers
receive_one_frame()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(100):
    receive_one_frame()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _page_faults(keep: str) -> tuple[str, int]:
    env = dict(os.environ, **{KEEP_FRAME_BUFFERS_ENV: keep})
    result = subprocess.run([sys.executable, '-c', FRAME_ALLOCATIONS], env=env, check=True,
                            capture_output=True, text=True, timeout=60)
    said, faults = result.stdout.split()
    return said, int(faults)


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='glibc mallopt: Linux only')
def test_kept_frame_buffers_are_reused_without_page_faults():
    said_default, faults_default = _page_faults('0')
    said_kept, faults_kept = _page_faults('1')

    assert (said_default, said_kept) == ('False', 'True')
    # glibc's defaults hand the freed buffers back to the kernel: each new frame faults its
    # 4 x 225 pages in again. Kept, they are reused.
    assert faults_default > 100 * 225
    assert faults_kept < faults_default / 20


_FAILING_NODE = '''
import sys
from rclpy.node import Node
from face_recognition_ros.node_support import run_node


class Flaky(Node):
    """A timer that fails on its first 3 calls (a bug reached by one message), then works."""

    def __init__(self):
        super().__init__('flaky')
        self.calls = 0
        self.create_timer(0.05, self.tick)

    def tick(self):
        self.calls += 1
        if self.calls <= 3:
            raise ZeroDivisionError('one message reached a bug')
        if self.calls == 10:
            self.get_logger().info('still running after the failures')


sys.exit(run_node(Flaky))
'''


def test_a_failing_callback_is_logged_and_the_node_keeps_running(ros_session):
    """
    Check that a node survives a failing callback and keeps running.

    rclpy lets a callback's exception end spin(): the node must survive it instead.
    """
    import ros_harness

    process = ros_harness.NodeProcess('flaky', [sys.executable, '-c', _FAILING_NODE],
                                      ros_session.env, ros_session.scratch / 'flaky.log')
    try:
        output = process.wait_for_output('still running after the failures', timeout=30)
        assert process.is_running()
    finally:
        code = process.stop()
    assert code == 0, process.output()
    assert 'a callback failed and was skipped' in output
    assert 'ZeroDivisionError: one message reached a bug' in output
    # The same failure three times in a row: one traceback, the repeats counted later.
    assert output.count('Traceback') == 1


_HANGING_NODE = '''
import sys
import threading
from rclpy.node import Node
from face_recognition_ros.node_support import run_node


class HangsOnDestroy(Node):
    """A node whose cleanup never returns (a middleware call that hangs at shutdown)."""

    def __init__(self):
        super().__init__('hangs_on_destroy')
        self.get_logger().info('spinning')

    def destroy_node(self):
        threading.Event().wait()  # forever


sys.exit(run_node(HangsOnDestroy))
'''


def test_a_node_whose_cleanup_hangs_ends_by_itself_and_says_where(ros_session):
    """
    Check the shutdown deadline: a hung cleanup ends the process with each thread's stack.

    Without it, launch's SIGTERM is taken by rclpy's handler and only SIGKILL ends the node.
    """
    import ros_harness

    env = dict(ros_session.env, FACE_RECOGNITION_SHUTDOWN_DEADLINE_S='1.5')
    process = ros_harness.NodeProcess('hangs', [sys.executable, '-c', _HANGING_NODE],
                                      env, ros_session.scratch / 'hangs.log')
    try:
        process.wait_for_output('spinning', timeout=30)
        process.popen.send_signal(signal.SIGINT)
        code = process.popen.wait(10)  # the deadline, not SIGTERM or SIGKILL, ends it
    finally:
        process.stop()
    output = process.output()
    assert code == 1, output
    assert 'Timeout (0:00:01.500000)!' in output
    # Where it hung: the stack of the thread in the cleanup.
    assert 'in destroy_node' in output and 'in run_node' in output
