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
Fixtures of the ROS 2 integration tests: real node processes over real DDS.

The tests run against the colcon install space that scripts/build_ros.sh makes (CI runs it
first); importing this file puts it on the paths, so a plain ``python -m pytest test/ros``
works afterwards, with pip-installed or system ROS 2. Without a build (or with one older
than the sources) each test file here turns into one test that FAILS and says to run
scripts/build_ros.sh: a missing build must never look like a pass, nor be skipped.

Fixtures:
- ``ros_session`` (session): a ros_harness.RosSession (unique ROS_DOMAIN_ID, localhost-only
  discovery, the shared-memory Fast DDS profile, ROS_HOME/TMPDIR in a scratch folder).
- ``start_node`` (function): ``start_node('face_detector', parameters={...}, remappings=
  {...}, namespace=...)`` -> NodeProcess, stopped after the test; its output is printed at
  teardown, so a failing test shows what the node logged.
- ``probe`` (function): a ros_harness.RosProbe to publish, collect and call services.
- ``fixture_image(relative_path)`` (session): a BGR test photo from test/fixtures.
"""

from __future__ import annotations

from pathlib import Path
import sys

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # any --import-mode finds the harness
import ros_harness  # noqa: E402

try:
    CHILD_ENV = ros_harness.activate_install_space()
    BUILD_PROBLEM = None
except ros_harness.RosBuildMissingError as error:
    CHILD_ENV = None
    BUILD_PROBLEM = str(error)

FIXTURES = Path(__file__).resolve().parents[1] / 'fixtures'


class _BuildMissingItem(pytest.Item):
    """Stands for a test file that cannot be imported without the build, and fails."""

    def runtest(self):
        pytest.fail(BUILD_PROBLEM, pytrace=False)

    def reportinfo(self):
        return self.path, None, f'{self.name}: the ROS 2 package must be built'


class _BuildMissingModule(pytest.File):

    def collect(self):
        yield _BuildMissingItem.from_parent(self, name='ros_package_is_built')


def pytest_pycollect_makemodule(module_path, parent):
    """
    Turn each test file here into one failing test when the package is not built.

    Without a build, each test file here becomes one test that fails with the build hint
    (importing it would fail on the missing messages with a less helpful message).
    """
    if BUILD_PROBLEM is None:
        return None
    return _BuildMissingModule.from_parent(parent, path=module_path)


@pytest.fixture(scope='session')
def ros_session():
    if BUILD_PROBLEM is not None:
        pytest.fail(BUILD_PROBLEM, pytrace=False)
    with ros_harness.ros_session(CHILD_ENV) as session:
        yield session


@pytest.fixture
def start_node(ros_session):
    started = []

    def start(executable: str, **options) -> ros_harness.NodeProcess:
        process = ros_session.start_node(executable, **options)
        started.append(process)
        return process

    yield start
    for process in reversed(started):
        process.stop()
        print(f'--- output of {process.executable} (exit code {process.returncode}) ---')
        print(process.output())


@pytest.fixture
def probe(ros_session):
    ros_probe = ros_harness.RosProbe()
    yield ros_probe
    ros_probe.close()


@pytest.fixture(scope='session')
def fixture_image():
    from face_recognition_ros.core.image_io import load_image

    cache = {}

    def load(relative_path: str):
        if relative_path not in cache:
            cache[relative_path] = load_image(FIXTURES / relative_path)
        return cache[relative_path].copy()

    return load


def pytest_configure(config):
    # rosidl's parser (lark) imports sre_parse, deprecated since Python 3.11: not ours to fix.
    config.addinivalue_line('filterwarnings', 'ignore::DeprecationWarning:lark.*')
