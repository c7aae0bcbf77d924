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
Test the package as an apt ROS 2 user drives it.

The user runs ``ros2 launch``, ``ros2 node list``, ``ros2 topic echo``,
``ros2 service call``, ``ros2 param describe``, then Ctrl-C.

These are the real upstream command-line tools: an apt ROS 2 has them, and for the pip
wheels scripts/build_ros_underlay.sh builds them from ../shared/ros2_src. Where neither is
there (a clone without ../shared on a machine without ROS 2) the tests skip and say so; the
launch file is then still checked by test_launch_file.py with stand-ins.
Each launch runs in the test session's own ROS domain; the CLI is used with --no-daemon
(a daemon would outlive the test and answer from a stale graph).
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time

import pytest
import ros_harness

CLIP = ros_harness.REPO / 'test' / 'fixtures' / 'hamilton' / 'short_hamilton_clip.mp4'
ROS2 = shutil.which('ros2')
pytestmark = pytest.mark.skipif(
    ROS2 is None, reason='no ros2 command: source an apt ROS 2, or keep ../shared/ros2_src '
                         'beside the repository so scripts/build_ros.sh builds the tools')


def ros2(session, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess:
    return subprocess.run([ROS2, *args], env=session.env, capture_output=True, text=True,
                          timeout=timeout)


def until(session, args, predicate, limit: float = 90.0) -> subprocess.CompletedProcess:
    """Run ``ros2 args`` until its result satisfies ``predicate`` (start-up takes a while)."""
    deadline = time.monotonic() + limit
    while True:
        result = ros2(session, *args)
        if predicate(result) or time.monotonic() > deadline:
            return result
        time.sleep(1.0)


def launch(session, name: str, **arguments: str) -> ros_harness.NodeProcess:
    args = [ROS2, 'launch', 'face_recognition', 'face_recognition.launch.py']
    args += [f'{key}:={value}' for key, value in arguments.items()]
    return ros_harness.NodeProcess(f'ros2 launch ({name})', args, session.env,
                                   session.scratch / f'ros2_launch_{name}.log')


def stop_launch(process: ros_harness.NodeProcess) -> int:
    """Ctrl-C as in a terminal: ros2 launch passes SIGINT on to every node it started."""
    process.popen.send_signal(signal.SIGINT)
    try:
        return process.popen.wait(30)
    finally:
        process.stop()


@pytest.mark.parametrize('use_composition', ['true', 'false'])
def test_ros2_launch_runs_the_pipeline_and_the_cli_sees_it(ros_session, use_composition):
    namespace = f'cli_{use_composition}'
    process = launch(ros_session, namespace, video_source=str(CLIP), namespace=namespace,
                     use_composition=use_composition, detector_backend='yunet')
    try:
        wanted = {f'/{namespace}/{node}' for node in
                  ('video_source', 'face_detector', 'face_recognizer', 'face_overlay')}
        nodes = until(ros_session, ('node', 'list', '--no-daemon', '--spin-time', '2'),
                      lambda r: wanted <= set(r.stdout.split()))
        assert wanted <= set(nodes.stdout.split()), nodes.stdout + process.output()

        echo = ros2(ros_session, 'topic', 'echo', '--once', '--no-daemon',
                    f'/{namespace}/faces/identified', 'vision_msgs/msg/Detection2DArray',
                    timeout=90)
        assert echo.returncode == 0, echo.stderr + process.output()
        assert 'frame_id: camera' in echo.stdout and 'detections:' in echo.stdout

        people = until(ros_session, ('service', 'call',
                                     f'/{namespace}/face_recognizer/list_people',
                                     'face_recognition/srv/ListPeople'),
                       lambda r: 'response:' in r.stdout, limit=60)
        assert 'face_recognition.srv.ListPeople_Response(names=[' in people.stdout, \
            people.stdout + people.stderr

        described = ros2(ros_session, 'param', 'describe', '--no-daemon', '--timeout', '15',
                         f'/{namespace}/face_detector', 'score_threshold')
        assert 'Type: double' in described.stdout, described.stdout + described.stderr
        assert 'Min value' in described.stdout  # the descriptor's range
    finally:
        returncode = stop_launch(process)
        output = process.output()
        print(output)
    assert returncode == 0, output
    assert 'Traceback' not in output
    # every node ended by itself after Ctrl-C, none had to be killed
    assert 'SIGTERM' not in output and 'SIGKILL' not in output


def test_ros2_launch_with_facedetect_off_a_jetson_says_what_to_do(ros_session):
    """The Jetson backend on a machine without jetson-inference: one clear FATAL line."""
    process = launch(ros_session, 'facedetect', namespace='cli_facedetect',
                     detector_backend='facedetect', use_composition='false')
    try:
        output = process.wait_for_output('jetson', timeout=90)
    finally:
        stop_launch(process)
        print(process.output())
    assert 'FATAL' in output and 'Traceback' not in output
