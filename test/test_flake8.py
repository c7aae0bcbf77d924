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

"""ament_flake8: flake8 with ament's settings (99 columns, single quotes, import order)."""

from ament_linters import PYTHON_SOURCES, run_linter
import pytest


@pytest.mark.flake8
@pytest.mark.linter
def test_flake8():
    status, report = run_linter('ament_flake8', PYTHON_SOURCES)
    assert status == 0, f'ament_flake8 found code style problems:\n{report}'
