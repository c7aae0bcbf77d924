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
Check that compat/vision_msgs defines exactly what upstream vision_msgs does.

compat/vision_msgs (the stand-in for machines without ../shared) defines exactly what
upstream vision_msgs defines for the messages it carries, so the two cannot drift.

Upstream is read from the pinned Jazzy sources in ../shared/ros2_src (the same archive
scripts/build_ros_underlay.sh builds); without them the test is skipped, and says why.
"""

from __future__ import annotations

import ast
from pathlib import Path
import re
import tarfile

import pytest

REPO = Path(__file__).resolve().parents[1]
COMPAT = REPO / 'compat' / 'vision_msgs' / 'msg'
ARCHIVE = REPO.parent / 'shared' / 'ros2_src' / 'ros2-jazzy-src.tar.gz'
UPSTREAM_MSG_DIR = 'vision_msgs/vision_msgs/msg/'


def fields(text: str) -> list[tuple[str, str]]:
    """(type, name) of every field and constant line, comments and blank lines left out."""
    result = []
    for line in text.splitlines():
        line = line.split('#', 1)[0].strip()
        if not line:
            continue
        type_, name = re.split(r'\s+', line, maxsplit=1)
        # 'vision_msgs/Point2D' and 'Point2D' name the same type inside the package.
        result.append((type_.removeprefix('vision_msgs/'), name.replace(' ', '')))
    return result


def upstream_messages() -> dict[str, str]:
    if not ARCHIVE.is_file():
        pytest.skip(f'{ARCHIVE} is absent (a clone without ../shared): nothing to compare')
    messages = {}
    with tarfile.open(ARCHIVE) as archive:
        for member in archive.getmembers():
            path = member.name.removeprefix('./')
            if path.startswith(UPSTREAM_MSG_DIR) and path.endswith('.msg'):
                messages[Path(path).name] = archive.extractfile(member).read().decode()
    return messages


def test_every_compat_message_has_upstreams_fields_and_types():
    upstream = upstream_messages()
    compat = sorted(COMPAT.glob('*.msg'))
    assert compat, f'no messages in {COMPAT}'
    for path in compat:
        assert path.name in upstream, f'{path.name} is not an upstream vision_msgs message'
        assert fields(path.read_text()) == fields(upstream[path.name]), \
            f'compat/vision_msgs/msg/{path.name} differs from upstream'


def test_compat_carries_every_message_the_package_uses():
    """What the nodes import from vision_msgs must exist in the stand-in too."""
    used = set()
    for source in (REPO / 'face_recognition_ros').rglob('*.py'):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == 'vision_msgs.msg':
                used |= {alias.name for alias in node.names}
    assert used, 'the package imports nothing from vision_msgs?'
    missing = {name for name in used if not (COMPAT / f'{name}.msg').is_file()}
    assert not missing, f'compat/vision_msgs lacks {sorted(missing)}'
