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
Runs the launch_testing test of the launch file (test/launch_testing/) with ``launch_test``.

launch_testing is the ROS convention for integration tests; it is in every apt ROS 2 and, for
the pip wheels, in the underlay built from ../shared/ros2_src. Without it the test skips
and says so. It runs in a ROS domain of its own, as ``colcon test`` runs each test, not in
the one the earlier tests of the session used: after them (nodes SIGKILLed, floods of hostile
messages), one of the three processes occasionally hung inside rclpy's destroy_node (the
native node teardown, seen through the shutdown deadline's stack dump), in 1 of 11 runs of
test_gallery_sharing, test_hostile_input, test_hostile_pipeline, test_launch_file and this
test in one session (docs/design.md, Shutdown). The node side of that hazard is covered by
run_node's shutdown deadline (test_node_support.py).
"""

from __future__ import annotations

import shutil
import subprocess

from face_recognition_ros.node_support import reserved_domain_id
import pytest
import ros_harness

LAUNCH_TEST = shutil.which('launch_test')
TEST_FILE = ros_harness.REPO / 'test' / 'launch_testing' / 'launch_file_checks.py'


@pytest.mark.skipif(LAUNCH_TEST is None, reason='no launch_test command: source an apt ROS 2, '
                    'or keep ../shared/ros2_src beside the repository for the underlay')
def test_launch_testing_test_of_the_launch_file_passes(ros_session):
    with reserved_domain_id() as domain:
        result = subprocess.run([LAUNCH_TEST, str(TEST_FILE)],
                                env=dict(ros_session.env, ROS_DOMAIN_ID=str(domain)),
                                capture_output=True, text=True, timeout=300,
                                cwd=str(ros_session.scratch))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert 'test_faces_are_published_with_the_cameras_frame' in output
    assert 'OK' in output
