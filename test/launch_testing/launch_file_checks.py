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
launch_testing test of the launch file: the ROS convention for integration tests.

Run by test/ros/test_launch_testing.py (``launch_test`` on this file, in the test session's
ROS domain), or by hand with ``launch_test test/launch_testing/launch_file_checks.py``
after ``source scripts/ros_env.sh``. It includes the installed face_recognition.launch.py
with the bundled clip, waits for named faces on /lt/faces/identified while the processes
run, and after shutdown checks that every process exited cleanly. Its name matches none of
pytest's test file patterns on purpose: launch_testing's pytest plugin would import it as
a module of its own, outside the test session's ROS domain.
"""

import os
import unittest

from ament_index_python.packages import get_package_share_directory
import launch
from launch.actions import IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
import launch_testing
import launch_testing.actions
import launch_testing.asserts
import pytest
import rclpy
from vision_msgs.msg import Detection2DArray

CLIP = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures', 'hamilton',
                    'short_hamilton_clip.mp4')


@pytest.mark.launch_test
def generate_test_description():
    launch_file = os.path.join(get_package_share_directory('face_recognition'), 'launch',
                               'face_recognition.launch.py')
    pipeline = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(launch_file),
        launch_arguments={'video_source': os.path.abspath(CLIP), 'namespace': 'lt'}.items())
    return launch.LaunchDescription([pipeline, launch_testing.actions.ReadyToTest()])


class TestPipelineAnswers(unittest.TestCase):

    def test_faces_are_published_with_the_cameras_frame(self):
        rclpy.init()
        node = rclpy.create_node('launch_testing_listener')
        received = []
        node.create_subscription(Detection2DArray, '/lt/faces/identified',
                                 lambda msg: received.append(msg), 10)
        try:
            end = node.get_clock().now().nanoseconds + 120 * 10**9
            while node.get_clock().now().nanoseconds < end and not any(
                    msg.detections for msg in received):
                rclpy.spin_once(node, timeout_sec=0.2)
        finally:
            node.destroy_node()
            rclpy.shutdown()
        with_faces = [msg for msg in received if msg.detections]
        self.assertTrue(with_faces, 'no faces on /lt/faces/identified within 120 s')
        self.assertEqual(with_faces[0].header.frame_id, 'camera')


@launch_testing.post_shutdown_test()
class TestCleanShutdown(unittest.TestCase):

    def test_every_process_exited_cleanly(self, proc_info):
        # SIGINT from launch at shutdown: 0 from our nodes; -2 (killed by the signal) is
        # how a Python process that has no handler yet reports it, and is refused here too.
        launch_testing.asserts.assertExitCodes(proc_info)
