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

"""ament_xmllint: the package manifests validate against the package format 3 schema."""

from ament_linters import run_linter, XML_SOURCES
import pytest


@pytest.mark.linter
@pytest.mark.xmllint
def test_xmllint():
    status, report = run_linter('ament_xmllint', XML_SOURCES)
    assert status == 0, f'ament_xmllint found invalid XML:\n{report}'
