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
Test package.xml against the code.

Every ROS package the nodes, conversions and launch file import is declared, so
`rosdep install --from-paths src --ignore-src` on an apt ROS 2 installs what
`ros2 launch face_recognition ...` needs.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path
import xml.etree.ElementTree as ElementTree

import ros_harness

RUNTIME_SOURCES = [
    *sorted((ros_harness.REPO / 'face_recognition_ros' / 'nodes').glob('*.py')),
    ros_harness.REPO / 'face_recognition_ros' / 'ros_conversions.py',
    *sorted((ros_harness.REPO / 'launch').glob('*.py')),
]
RUN_DEPENDENCY_TAGS = ('depend', 'exec_depend', 'build_export_depend')


def _imported_top_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules |= {alias.name.split('.')[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules.add(node.module.split('.')[0])
    return modules


def _is_ros_package(name: str) -> bool:
    """Known to the ament index of the sourced ROS 2 (pip wheels or /opt/ros)."""
    return any(
        (Path(prefix) / 'share' / 'ament_index' / 'resource_index' / 'packages' / name).exists()
        for prefix in os.environ.get('AMENT_PREFIX_PATH', '').split(os.pathsep) if prefix)


def test_every_imported_ros_package_is_a_run_dependency():
    manifest = ElementTree.parse(ros_harness.REPO / 'package.xml').getroot()
    declared = {element.text.strip() for tag in RUN_DEPENDENCY_TAGS
                for element in manifest.iter(tag)}
    # Imported where installed, with a fallback in the code (see package.xml's comments).
    optional = {'cv_bridge', 'message_filters', 'launch', 'launch_ros'}
    imported = set().union(*map(_imported_top_modules, RUNTIME_SOURCES))
    ros_packages = {name for name in imported if _is_ros_package(name)}

    assert {'rclpy', 'sensor_msgs'} <= ros_packages  # the index lookup works here
    missing = sorted(ros_packages - declared - {'face_recognition'})
    assert not missing, f'imported but not in package.xml: {missing}'
    assert optional <= declared
