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

"""ament_copyright: every source file carries the copyright notice and the Apache-2.0 header."""

from ament_linters import CMAKE_SOURCES, PYTHON_SOURCES, run_linter
import pytest


@pytest.mark.copyright
@pytest.mark.linter
def test_copyright():
    status, report = run_linter('ament_copyright', PYTHON_SOURCES + CMAKE_SOURCES)
    assert status == 0, f'ament_copyright found files without a valid header:\n{report}'
