"""Runs the launch_testing test of the launch file (test/launch_testing/) with ``launch_test``.

launch_testing is the ROS convention for integration tests; it is in every apt ROS 2 and, for
the pip wheels, in the underlay built from ../shared/ros2_src. Without it the test skips
and says so.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

import ros_harness

LAUNCH_TEST = shutil.which('launch_test')
TEST_FILE = ros_harness.REPO / 'test' / 'launch_testing' / 'launch_file_checks.py'


@pytest.mark.skipif(LAUNCH_TEST is None, reason='no launch_test command: source an apt ROS 2, '
                    'or keep ../shared/ros2_src beside the repository for the underlay')
def test_launch_testing_test_of_the_launch_file_passes(ros_session):
    result = subprocess.run([LAUNCH_TEST, str(TEST_FILE)], env=ros_session.env,
                            capture_output=True, text=True, timeout=300,
                            cwd=str(ros_session.scratch))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert 'test_faces_are_published_with_the_cameras_frame' in output
    assert 'OK' in output
