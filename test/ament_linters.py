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
What the package's lint tests check, and where each ament linter comes from.

The four tests (test_flake8.py, test_pep257.py, test_copyright.py, test_xmllint.py) are the
ones `ros2 pkg create` writes, run on the package's own sources only: build/, install/ and
log/ sit inside the repository when it is built in place, and generated code is not ours.

Where the linters come from differs by setup, so each test finds its tool the same way:
- an apt ROS 2 (`ros-<distro>-ament-*`, pulled in by rosdep from the test_depends): the
  Python modules are importable and used directly;
- ROS 2 from pip wheels: `ament_flake8` and `ament_pep257` are wheels
  (requirements/ros_pip.txt, with flake8's plugins pinned to the versions of Ubuntu 24.04,
  which an apt Jazzy uses). `ament_copyright` and `ament_xmllint` have no wheel; Debian
  packages them (`python3-ament-copyright`, `python3-ament-xmllint`, with the package.xml
  schemas in a local catalog, so nothing downloads). The tests run Debian's command with
  the system Python, installing the package with apt-get when running as root, as the
  PostgreSQL and browser tests do. Elsewhere they skip, saying what to install.
"""

from __future__ import annotations

from contextlib import redirect_stderr, redirect_stdout
import importlib
import io
import os
from pathlib import Path
import shutil
import subprocess

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[1]

PYTHON_SOURCES = [
    PACKAGE_DIR / name for name in (
        'face_recognition_ros', 'test', 'benchmarks', 'training', 'launch', 'setup.py')
] + sorted((PACKAGE_DIR / 'scripts' / 'nodes').iterdir())
"""Every Python file of the package: folders are searched for *.py, the node launchers in
scripts/nodes have no suffix and are named one by one."""

CMAKE_SOURCES = [PACKAGE_DIR / 'CMakeLists.txt', PACKAGE_DIR / 'compat']
XML_SOURCES = [PACKAGE_DIR / 'package.xml',
               PACKAGE_DIR / 'compat' / 'vision_msgs' / 'package.xml']


def run_linter(name: str, paths: list[Path]) -> tuple[int, str]:
    """
    Run ament linter `name` on paths; return its exit status and its report.

    The module's own main() when it is importable (apt ROS 2, or a wheel); otherwise the
    Debian command, with the system Python and without this environment's PYTHONPATH,
    which points at another Python's packages.
    """
    arguments = [str(path) for path in paths]
    try:
        module = importlib.import_module(f'{name}.main')
    except ImportError:
        return _run_debian_command(name, arguments)
    report = io.StringIO()
    with redirect_stdout(report), redirect_stderr(report):
        status = module.main(argv=arguments)
    return status, report.getvalue()


def _run_debian_command(name: str, arguments: list[str]) -> tuple[int, str]:
    debian_package = 'python3-' + name.replace('_', '-')
    command = Path('/usr/bin') / name
    if not command.exists() and os.geteuid() == 0 and shutil.which('apt-get'):
        subprocess.run(['apt-get', 'install', '-y', '-q', '--no-install-recommends',
                        debian_package], capture_output=True, check=False,
                       env=dict(os.environ, DEBIAN_FRONTEND='noninteractive'))
    if not command.exists():
        pytest.skip(f'{name} is not installed: with an apt ROS 2, install '
                    f'ros-$ROS_DISTRO-{name.replace("_", "-")}; on Debian, '
                    f'apt-get install {debian_package}')
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith('PYTHON')}
    result = subprocess.run([str(command), *arguments], capture_output=True, text=True,
                            cwd=PACKAGE_DIR, env=environment, check=False)
    return result.returncode, result.stdout + result.stderr
