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

"""ament_pep257 (docstring conventions with ament's selection of checks)."""

from ament_linters import PYTHON_SOURCES, run_linter
import pytest


@pytest.mark.linter
@pytest.mark.pep257
def test_pep257():
    status, report = run_linter('ament_pep257', PYTHON_SOURCES)
    assert status == 0, f'ament_pep257 found docstring problems:\n{report}'
